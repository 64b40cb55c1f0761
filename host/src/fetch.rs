//! Getting package bytes, verified while they stream.
//!
//! A package is read once: source → [`Verifier`] (size and sha256, and a copy into the cache)
//! → gzip → tar → files. Nothing is trusted until the last byte has been counted and hashed;
//! the caller discards what it extracted when [`Verifier::finish`] fails. Verified packages
//! live in a content-addressed cache, `<cache>/packages/<sha256>.tar.gz`, so a second install
//! reads them from disk.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use url::Url;

use crate::fsutil;
use crate::registry::Checksum;

/// Why a package could not be fetched or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: the download is larger than the {declared} bytes the registry declares")]
    TooLarge { url: String, declared: u64 },
    #[error("{url}: the download ended after {got} of the {declared} bytes the registry declares")]
    TooShort {
        url: String,
        got: u64,
        declared: u64,
    },
    #[error("{url}: checksum mismatch: the registry says {expected}, the download is {actual}")]
    Checksum {
        url: String,
        expected: Checksum,
        actual: Checksum,
    },
    #[error("{url}: {message}")]
    Transfer { url: String, message: String },
    #[error("{url} is not in the cache and --offline forbids downloading it")]
    Offline { url: String },
    #[error("{url}: unsupported URL scheme '{scheme}' (jrt reads https, http and file URLs)")]
    Scheme { url: String, scheme: String },
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

/// The content-addressed package cache.
#[derive(Debug, Clone)]
pub struct PackageCache {
    dir: PathBuf,
}

impl PackageCache {
    pub fn new(cache_root: &Path) -> Self {
        PackageCache {
            dir: cache_root.join("packages"),
        }
    }

    /// Where a verified package with this checksum lives.
    pub fn path(&self, checksum: &Checksum) -> PathBuf {
        self.dir.join(format!("{}.tar.gz", checksum.hex()))
    }

    /// Where a download of it is collected; named by the checksum, so a resumed download can
    /// only ever continue the same bytes.
    pub fn part_path(&self, checksum: &Checksum) -> PathBuf {
        self.dir.join(format!("{}.tar.gz.part", checksum.hex()))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Counts and hashes bytes as they pass, refuses more than the declared size, and optionally
/// copies them to a `.part` file that becomes the cache entry once everything checks out.
pub struct Verifier<R> {
    inner: R,
    url: String,
    hasher: Sha256,
    count: u64,
    declared: u64,
    expected: Checksum,
    copy: Option<(File, PathBuf, PathBuf)>,
    /// Set once more bytes than declared arrived; sticks, whatever happens after.
    overflowed: bool,
}

impl<R: Read> Verifier<R> {
    /// Verifies `inner` against `declared` bytes and `expected`.
    pub fn new(inner: R, url: &str, declared: u64, expected: &Checksum) -> Self {
        Verifier {
            inner,
            url: url.to_string(),
            hasher: Sha256::new(),
            count: 0,
            declared,
            expected: expected.clone(),
            copy: None,
            overflowed: false,
        }
    }

    /// Also writes every byte to `part`, which is renamed to `dest` once verified.
    pub fn copy_to(mut self, part: &Path, dest: &Path) -> Result<Self, FetchError> {
        if let Some(dir) = part.parent() {
            std::fs::create_dir_all(dir).map_err(|e| FetchError::Io {
                action: "cannot create",
                path: dir.to_path_buf(),
                source: e,
            })?;
        }
        let file = File::create(part).map_err(|e| FetchError::Io {
            action: "cannot create",
            path: part.to_path_buf(),
            source: e,
        })?;
        self.copy = Some((file, part.to_path_buf(), dest.to_path_buf()));
        Ok(self)
    }

    /// Reads whatever is left, then checks size and checksum. On success the copy (if any)
    /// becomes the cache entry; on failure it is deleted.
    pub fn finish(mut self) -> Result<(), FetchError> {
        let mut buf = vec![0u8; 64 << 10];
        let drained = loop {
            match self.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        let result = if self.overflowed {
            self.check()
        } else {
            drained
                .map_err(|e| self.error_from_io(e))
                .and_then(|()| self.check())
        };
        match (result, self.copy.take()) {
            (Ok(()), Some((file, part, dest))) => {
                file.sync_all().map_err(|e| FetchError::Io {
                    action: "cannot write",
                    path: part.clone(),
                    source: e,
                })?;
                drop(file);
                std::fs::rename(&part, &dest).map_err(|e| FetchError::Io {
                    action: "cannot store",
                    path: dest.clone(),
                    source: e,
                })?;
                if let Some(dir) = dest.parent() {
                    let _ = fsutil::sync_dir(dir);
                }
                Ok(())
            }
            (Ok(()), None) => Ok(()),
            (Err(e), copy) => {
                if let Some((_, part, _)) = copy {
                    let _ = std::fs::remove_file(part);
                }
                Err(e)
            }
        }
    }

    fn check(&self) -> Result<(), FetchError> {
        if self.overflowed {
            return Err(FetchError::TooLarge {
                url: self.url.clone(),
                declared: self.declared,
            });
        }
        if self.count < self.declared {
            return Err(FetchError::TooShort {
                url: self.url.clone(),
                got: self.count,
                declared: self.declared,
            });
        }
        let actual = Checksum::from_digest(self.hasher.clone().finalize().into());
        if actual != self.expected {
            return Err(FetchError::Checksum {
                url: self.url.clone(),
                expected: self.expected.clone(),
                actual,
            });
        }
        Ok(())
    }

    /// Turns an I/O error raised while reading into the fetch error it stands for.
    pub fn error_from_io(&self, e: io::Error) -> FetchError {
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Overflow>())
        {
            Some(_) => FetchError::TooLarge {
                url: self.url.clone(),
                declared: self.declared,
            },
            None => FetchError::Transfer {
                url: self.url.clone(),
                message: e.to_string(),
            },
        }
    }
}

/// Marker for "more bytes than declared", carried inside an `io::Error`.
#[derive(Debug)]
struct Overflow;

impl std::fmt::Display for Overflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("more bytes than the registry declares")
    }
}

impl std::error::Error for Overflow {}

impl<R: Read> Read for Verifier<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.overflowed {
            return Err(io::Error::other(Overflow));
        }
        let n = self.inner.read(buf)?;
        if self.count + n as u64 > self.declared {
            self.overflowed = true;
            return Err(io::Error::other(Overflow));
        }
        self.count += n as u64;
        self.hasher.update(&buf[..n]);
        if let Some((file, _, _)) = &mut self.copy {
            file.write_all(&buf[..n])?;
        }
        Ok(n)
    }
}

/// Opens a package for reading: the verified cache entry when there is one, else the source.
/// Returns the reader and whether it must be copied into the cache.
pub fn open(
    cache: &PackageCache,
    url: &Url,
    checksum: &Checksum,
    offline: bool,
) -> Result<(Box<dyn Read + Send>, bool), FetchError> {
    let cached = cache.path(checksum);
    if let Ok(file) = File::open(&cached) {
        return Ok((Box::new(file), false));
    }
    match url.scheme() {
        "file" => {
            let path = url.to_file_path().map_err(|()| FetchError::Transfer {
                url: url.to_string(),
                message: "not a local path".into(),
            })?;
            let file = File::open(&path).map_err(|e| FetchError::Io {
                action: "cannot read",
                path,
                source: e,
            })?;
            Ok((Box::new(file), true))
        }
        "http" | "https" if offline => Err(FetchError::Offline {
            url: url.to_string(),
        }),
        "http" | "https" => Err(FetchError::Transfer {
            url: url.to_string(),
            message: "HTTP downloads are not wired in yet".into(),
        }),
        other => Err(FetchError::Scheme {
            url: url.to_string(),
            scheme: other.to_string(),
        }),
    }
}
