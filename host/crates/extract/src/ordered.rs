//! A pool of threads that work through jobs in parallel and hand the results back in the
//! order the jobs were sent: what inflating and compressing gzip members both need.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex, mpsc};

/// Threads applying a worker function to jobs; [`Ordered::next_result`] returns results in order.
pub struct Ordered<I, O> {
    jobs: Option<mpsc::Sender<(u64, I)>>,
    results: mpsc::Receiver<(u64, O)>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// Results that arrived before their turn.
    early: BTreeMap<u64, O>,
    sent: u64,
    received: u64,
    /// What the threads do, for errors ("inflating").
    what: &'static str,
}

impl<I: Send + 'static, O: Send + 'static> Ordered<I, O> {
    /// Starts `n` threads named `jrt-<name>`; each runs a worker that `make` returns, so a
    /// worker can own state of its own (an inflater, say).
    pub fn start<F>(
        n: usize,
        name: &str,
        what: &'static str,
        make: impl Fn() -> io::Result<F>,
    ) -> io::Result<Self>
    where
        F: FnMut(I) -> O + Send + 'static,
    {
        let (jobs, queue) = mpsc::channel::<(u64, I)>();
        let queue = Arc::new(Mutex::new(queue));
        let (done, results) = mpsc::channel();
        let mut threads = Vec::with_capacity(n);
        for _ in 0..n.max(1) {
            let (queue, done) = (queue.clone(), done.clone());
            let mut work = make()?;
            threads.push(
                std::thread::Builder::new()
                    .name(format!("jrt-{name}"))
                    .spawn(move || {
                        loop {
                            let job = match queue.lock() {
                                Ok(q) => q.recv(),
                                Err(_) => return,
                            };
                            let Ok((seq, input)) = job else { return };
                            if done.send((seq, work(input))).is_err() {
                                return;
                            }
                        }
                    })?,
            );
        }
        Ok(Ordered {
            jobs: Some(jobs),
            results,
            threads,
            early: BTreeMap::new(),
            sent: 0,
            received: 0,
            what,
        })
    }

    pub fn send(&mut self, job: I) -> io::Result<()> {
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send((self.sent, job)).is_ok());
        if !sent {
            return Err(self.stopped());
        }
        self.sent += 1;
        Ok(())
    }

    /// How many jobs were sent whose results have not been taken yet.
    pub fn in_flight(&self) -> u64 {
        self.sent - self.received
    }

    /// How many jobs were sent in all.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// The result of the oldest job not taken yet, waiting for it; an error when there is
    /// none or the threads stopped.
    pub fn next_result(&mut self) -> io::Result<O> {
        if self.in_flight() == 0 {
            return Err(io::Error::other(format!("no {} job is pending", self.what)));
        }
        let want = self.received;
        let result = loop {
            if let Some(r) = self.early.remove(&want) {
                break r;
            }
            match self.results.recv() {
                Ok((seq, r)) if seq == want => break r,
                Ok((seq, r)) => {
                    self.early.insert(seq, r);
                }
                Err(_) => return Err(self.stopped()),
            }
        };
        self.received += 1;
        Ok(result)
    }

    fn stopped(&self) -> io::Error {
        io::Error::other(format!("the {} threads stopped", self.what))
    }
}

impl<I, O> Drop for Ordered<I, O> {
    fn drop(&mut self) {
        self.jobs = None; // the threads stop once the queue is empty
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_whatever_finishes_first() {
        let mut pool = Ordered::start(4, "test", "testing", || {
            Ok(|ms: u64| {
                std::thread::sleep(std::time::Duration::from_millis(ms));
                ms
            })
        })
        .unwrap();
        let delays = [30, 1, 20, 2, 10, 0];
        for d in delays {
            pool.send(d).unwrap();
        }
        assert_eq!(pool.in_flight(), 6);
        let got: Vec<u64> = (0..6).map(|_| pool.next_result().unwrap()).collect();
        assert_eq!(got, delays);
        assert_eq!((pool.in_flight(), pool.sent()), (0, 6));
        assert!(pool.next_result().is_err(), "nothing pending");
    }
}
