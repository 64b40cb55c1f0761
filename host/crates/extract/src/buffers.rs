//! Byte buffers handed back for reuse by the install pipeline's threads, and filling them.
//!
//! Buffers of a few hundred KiB and more are mapped afresh by the allocator each time, and
//! every page then faults and is zeroed; freed on another thread, they are often unmapped
//! again. Across the few hundred MB of an install that cost about 0.05 s of 0.65 (measured
//! with the install benchmark). A recycled buffer's length is how much of it is initialised,
//! so reusing it zeroes nothing.

use std::io::{self, Read};
use std::sync::Mutex;

/// Reads until `buf` is full or the input ends; returns how much was read. Filling a
/// recycled buffer this way zeroes nothing (`read_to_end` would zero its spare room first).
pub fn read_full(r: &mut (impl Read + ?Sized), buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A stack of spare buffers, shared between threads.
pub struct Recycler {
    spare: Mutex<Vec<Vec<u8>>>,
    /// At most this many are kept; more are freed.
    keep: usize,
}

impl Recycler {
    pub fn new(keep: usize) -> Recycler {
        Recycler {
            spare: Mutex::new(Vec::new()),
            keep,
        }
    }

    /// A buffer at least `len` long (its extra length is left over from earlier use): the
    /// smallest spare one that is long enough, else a fresh one (zeroed by the kernel, not
    /// copied from a spare that was too short).
    pub fn get(&self, len: usize) -> Vec<u8> {
        self.spare
            .lock()
            .ok()
            .and_then(|mut spare| {
                let fits = spare
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.len() >= len)
                    .min_by_key(|(_, b)| b.len())
                    .map(|(i, _)| i)?;
                Some(spare.swap_remove(fits))
            })
            .unwrap_or_else(|| vec![0; len])
    }

    /// Hands `buf` back for reuse.
    pub fn put(&self, buf: Vec<u8>) {
        if let Ok(mut v) = self.spare.lock() {
            if v.len() < self.keep {
                v.push(buf);
            } else if let Some(smallest) = v.iter_mut().min_by_key(|b| b.len())
                && smallest.len() < buf.len()
            {
                // Full: keep the longer one, which fits more requests.
                *smallest = buf;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_long_enough_and_the_stack_is_bounded() {
        let r = Recycler::new(1);
        let a = r.get(10);
        assert_eq!(a.len(), 10);
        r.put(vec![7; 100]);
        r.put(vec![8; 100]); // over the bound: freed
        let b = r.get(50);
        assert_eq!((b.len(), b[0]), (100, 7), "reused as it was, not zeroed");
        assert_eq!(r.get(200), vec![0; 200], "a fresh one");

        // The smallest that fits; else a fresh one.
        let r = Recycler::new(8);
        for (len, fill) in [(10, 1), (300, 3), (100, 2)] {
            r.put(vec![fill; len]);
        }
        assert_eq!(r.get(50)[0], 2);
        assert_eq!(r.get(1000), vec![0; 1000]);
        assert_eq!(r.get(5)[0], 1);
        assert_eq!(r.get(5)[0], 3);
    }
}
