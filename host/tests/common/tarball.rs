//! Builds .tar.gz packages byte by byte, including the malicious ones the tar crate's own
//! builder would refuse to write.
#![allow(dead_code)]

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use tar::{EntryType, Header};

/// One entry of a hand-made archive.
pub struct Raw {
    pub name: Vec<u8>,
    pub kind: EntryType,
    pub data: Vec<u8>,
    pub link: Option<Vec<u8>>,
    pub mode: u32,
}

pub fn file(name: &str, data: &[u8]) -> Raw {
    Raw {
        name: name.into(),
        kind: EntryType::Regular,
        data: data.to_vec(),
        link: None,
        mode: 0o644,
    }
}

pub fn dir(name: &str) -> Raw {
    Raw {
        name: name.into(),
        kind: EntryType::Directory,
        data: vec![],
        link: None,
        mode: 0o755,
    }
}

pub fn symlink(name: &str, target: &str) -> Raw {
    Raw {
        name: name.into(),
        kind: EntryType::Symlink,
        data: vec![],
        link: Some(target.into()),
        mode: 0o777,
    }
}

pub fn special(name: &str, kind: EntryType) -> Raw {
    Raw {
        name: name.into(),
        kind,
        data: vec![],
        link: Some(b"pkg/a".to_vec()),
        mode: 0o644,
    }
}

/// The uncompressed tar bytes.
pub fn tar_bytes(entries: &[Raw]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = Header::new_old();
        let name = &mut h.as_old_mut().name;
        assert!(e.name.len() <= name.len(), "test names fit the old header");
        name[..e.name.len()].copy_from_slice(&e.name);
        h.set_entry_type(e.kind);
        h.set_mode(e.mode);
        h.set_size(e.data.len() as u64);
        h.set_mtime(0);
        if let Some(link) = &e.link {
            let field = &mut h.as_old_mut().linkname;
            field[..link.len()].copy_from_slice(link);
        }
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(&e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

pub fn tgz(entries: &[Raw]) -> Vec<u8> {
    gzip(&tar_bytes(entries))
}

/// `n` incompressible bytes (xorshift from `seed`, which must not be 0): file contents that
/// fill gzip members instead of vanishing into them.
pub fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
