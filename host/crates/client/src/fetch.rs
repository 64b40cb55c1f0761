//! Getting downloads' bytes, verified while they stream: the one download path, for packages
//! and for the builds setup plans pin.
//!
//! A download is read once: source (teed into a `.part` file) → [`Verifier`] (size and
//! sha256) → the caller (gzip → tar → files, for a package). Nothing is trusted until the last
//! byte has been counted and hashed; the caller discards what it made of the bytes when
//! [`Verifier::finish`] fails. Verified downloads live in a content-addressed [`Store`]
//! (`<cache>/packages/<sha256>.tar.gz`, `<cache>/fetched/<sha256>`), so a second install reads
//! them from disk, verified again on the way.

use jrt_fs::cache::Cache;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use url::Url;

use jrt_extract::buffers::Recycler;

use crate::http::{Body, Http, HttpError};
use crate::pin::{Checksum, Size};

/// Why a package could not be fetched or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: the download is larger than {size}")]
    TooLarge { url: String, size: Size },
    #[error("{url}: the download ended after {got} of the {declared} bytes the registry declares")]
    TooShort {
        url: String,
        got: u64,
        declared: u64,
    },
    #[error("{url}: checksum mismatch: it is pinned as {expected}, the download is {actual}")]
    Checksum {
        url: String,
        expected: Checksum,
        actual: Checksum,
    },
    #[error("{url}: {message}")]
    Transfer { url: String, message: String },
    #[error(transparent)]
    Http(HttpError),
    #[error("{url} is not in the cache and --offline forbids downloading it")]
    Offline { url: String },
    #[error("{url}: unsupported URL scheme '{scheme}' (jrt reads https, http and file URLs)")]
    Scheme { url: String, scheme: String },
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
}

/// A content-addressed directory of verified downloads.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    /// What follows the checksum in an entry's name.
    suffix: &'static str,
}

impl Store {
    /// Packages: `<cache>/packages/<sha256>.tar.gz`.
    pub fn packages(cache: &Cache) -> Self {
        Store {
            dir: cache.packages(),
            suffix: ".tar.gz",
        }
    }

    /// The builds setup plans pin (interpreters, JDKs): `<cache>/fetched/<sha256>`.
    pub fn builds(cache: &Cache) -> Self {
        Store {
            dir: cache.fetched(),
            suffix: "",
        }
    }

    /// Where a verified download with this checksum lives.
    pub fn path(&self, checksum: &Checksum) -> PathBuf {
        self.dir.join(format!("{}{}", checksum.hex(), self.suffix))
    }

    /// Where a download of it is collected; named by the checksum, so a resumed download can
    /// only ever continue the same bytes.
    pub fn part_path(&self, checksum: &Checksum) -> PathBuf {
        self.dir
            .join(format!("{}{}.part", checksum.hex(), self.suffix))
    }

    /// The lock that makes concurrent fetches of the same entry download it once.
    pub fn lock_path(&self, checksum: &Checksum) -> PathBuf {
        self.dir.join(format!("{}.lock", checksum.hex()))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Counts and hashes bytes as they pass, and refuses more than the size allows.
pub struct Verifier<R> {
    inner: R,
    url: String,
    /// Hashing runs on a thread of its own, fed copies of the bytes: the reader's thread is
    /// the one inflating the package, and an install is only as fast as that thread.
    hashing: Option<Hashing>,
    count: u64,
    size: Size,
    expected: Checksum,
    /// Set once more bytes than allowed arrived; sticks, whatever happens after.
    overflowed: bool,
}

impl<R: Read> Verifier<R> {
    /// Verifies `inner` against `size` and `expected`.
    pub fn new(inner: R, url: &str, size: Size, expected: &Checksum) -> Self {
        Verifier {
            inner,
            url: url.to_string(),
            hashing: Some(Hashing::start()),
            count: 0,
            size,
            expected: expected.clone(),
            overflowed: false,
        }
    }

    /// Reads whatever is left, then checks size and checksum.
    pub fn finish(mut self) -> Result<(), FetchError> {
        let mut buf = vec![0u8; 64 << 10];
        let drained = loop {
            match self.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        let digest = self.hashing.take().map(Hashing::finish);
        if self.overflowed {
            return self.check(digest);
        }
        drained.map_err(|e| self.error_from_io(e))?;
        self.check(digest)
    }

    fn check(&self, digest: Option<[u8; 32]>) -> Result<(), FetchError> {
        if self.overflowed {
            return Err(FetchError::TooLarge {
                url: self.url.clone(),
                size: self.size,
            });
        }
        if let Size::Declared(declared) = self.size
            && self.count < declared
        {
            return Err(FetchError::TooShort {
                url: self.url.clone(),
                got: self.count,
                declared,
            });
        }
        let actual = Checksum::from_digest(digest.unwrap_or_default());
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
                size: self.size,
            },
            None => FetchError::Transfer {
                url: self.url.clone(),
                message: e.to_string(),
            },
        }
    }
}

/// Marker for "more bytes than allowed", carried inside an `io::Error`.
#[derive(Debug)]
struct Overflow;

impl std::fmt::Display for Overflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("more bytes than allowed")
    }
}

impl std::error::Error for Overflow {}

impl<R: Read> Read for Verifier<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.overflowed {
            return Err(io::Error::other(Overflow));
        }
        let n = self.inner.read(buf)?;
        if self.count + n as u64 > self.size.limit() {
            self.overflowed = true;
            return Err(io::Error::other(Overflow));
        }
        self.count += n as u64;
        if n > 0
            && let Some(h) = self.hashing.as_mut()
        {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// A sha256 computed on its own thread from copies of the bytes, batched into 1 MiB blocks so
/// small reads cost one channel message per MiB. The blocks come back for reuse: a fresh
/// 1 MiB allocation per block page-faulted its way through every package.
struct Hashing {
    /// The block being filled: `pending[..filled]`.
    pending: Vec<u8>,
    filled: usize,
    tx: Option<std::sync::mpsc::SyncSender<(Vec<u8>, usize)>>,
    thread: Option<std::thread::JoinHandle<[u8; 32]>>,
    recycler: std::sync::Arc<Recycler>,
    /// Used instead when the thread could not be started.
    inline: Sha256,
}

impl Hashing {
    const BLOCK: usize = 1 << 20;

    fn start() -> Hashing {
        // The channel holds 8 blocks; one more is being filled and one hashed.
        let recycler = std::sync::Arc::new(Recycler::new(10));
        let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<u8>, usize)>(8);
        let thread = {
            let recycler = recycler.clone();
            std::thread::Builder::new()
                .name("jrt-sha256".into())
                .spawn(move || {
                    let mut hasher = Sha256::new();
                    for (block, len) in rx {
                        hasher.update(&block[..len]);
                        recycler.put(block);
                    }
                    hasher.finalize().into()
                })
                .ok()
        };
        Hashing {
            pending: recycler.get(Self::BLOCK),
            filled: 0,
            tx: thread.as_ref().map(|_| tx),
            thread,
            recycler,
            inline: Sha256::new(),
        }
    }

    fn update(&mut self, mut bytes: &[u8]) {
        let Some(tx) = &self.tx else {
            self.inline.update(bytes);
            return;
        };
        while !bytes.is_empty() {
            let n = bytes.len().min(Self::BLOCK - self.filled);
            self.pending[self.filled..self.filled + n].copy_from_slice(&bytes[..n]);
            self.filled += n;
            bytes = &bytes[n..];
            if self.filled == Self::BLOCK {
                let next = self.recycler.get(Self::BLOCK);
                let block = std::mem::replace(&mut self.pending, next);
                // The thread only stops when the channel closes, so a send cannot fail; if
                // it did, the digest would be wrong and the download refused, never accepted.
                let _ = tx.send((block, Self::BLOCK));
                self.filled = 0;
            }
        }
    }

    fn finish(mut self) -> [u8; 32] {
        let Some(tx) = self.tx.take() else {
            return self.inline.finalize().into();
        };
        let _ = tx.send((std::mem::take(&mut self.pending), self.filled));
        drop(tx);
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(digest)) => digest,
            // A hashing thread that panicked: no digest to trust, so none that matches.
            _ => [0u8; 32],
        }
    }
}

/// A package opened for reading, and where its bytes are being collected for the cache.
pub struct Opened {
    pub reader: Box<dyn Read + Send>,
    /// Whether the bytes come from the cache.
    pub cached: bool,
    /// The cache entry being read, removed if its bytes turn out wrong.
    entry: Option<PathBuf>,
    part: Option<Part>,
    /// Whether a later run can resume from the `.part` file (downloads, not local copies).
    resumable: bool,
}

/// A `.part` file being filled, and the cache entry it becomes.
struct Part {
    path: PathBuf,
    dest: PathBuf,
}

impl Opened {
    /// The download verified: its `.part` file becomes the cache entry.
    ///
    /// Not fsynced (on a slow disk that cost a third of an install): every read of a cache
    /// entry is verified again, and an entry a crash left torn is removed when that check
    /// fails ([`Opened::discard`]), so the next attempt downloads it afresh.
    pub fn commit(self) -> Result<(), FetchError> {
        let Some(part) = self.part else {
            return Ok(());
        };
        drop(self.reader); // flushes and closes our handle on the part file
        std::fs::rename(&part.path, &part.dest).map_err(jrt_fs::io("cannot store", &part.dest))?;
        Ok(())
    }

    /// The bytes are wrong (checksum or size): never resume from them, and drop a cache
    /// entry that held them.
    pub fn discard(self) {
        drop(self.reader);
        if let Some(part) = self.part {
            let _ = std::fs::remove_file(part.path);
        }
        if let Some(entry) = self.entry {
            let _ = std::fs::remove_file(entry);
        }
    }

    /// Streams the package through `consume` behind the size and sha256 check (counting bytes
    /// into `task`), reads whatever `consume` left, then settles the `.part` file: it becomes
    /// the cache entry when the bytes verify, is deleted when they are wrong, and is kept for
    /// a resume when the transfer failed. The verification error wins over whatever `consume`
    /// returned: a bad download explains a broken archive better than the archive's own error.
    pub fn verified<T>(
        mut self,
        url: &str,
        size: Size,
        checksum: &Checksum,
        task: &dyn crate::progress::Task,
        consume: impl FnOnce(&mut dyn Read) -> T,
    ) -> Result<T, FetchError> {
        let counted = crate::progress::Counted {
            inner: &mut self.reader,
            task,
        };
        let mut verifier = Verifier::new(counted, url, size, checksum);
        let result = consume(&mut verifier);
        match verifier.finish() {
            Ok(()) => {
                self.commit()?;
                Ok(result)
            }
            Err(e @ (FetchError::Checksum { .. } | FetchError::TooLarge { .. })) => {
                self.discard();
                Err(e)
            }
            Err(e) => {
                self.keep();
                Err(e)
            }
        }
    }

    /// The transfer failed: keep a download's `.part` file so the next attempt resumes
    /// from it (a local copy is simply dropped).
    pub fn keep(self) {
        if !self.resumable {
            self.discard();
        }
    }
}

/// Copies what passes through into a file, in large writes (the reads are often small).
/// Plan fetches collect their downloads through it too.
pub(crate) struct Tee<R, W: Write = File> {
    inner: R,
    file: io::BufWriter<W>,
}

impl<R, W: Write> Tee<R, W> {
    pub(crate) fn new(inner: R, file: W) -> Self {
        Tee {
            inner,
            file: io::BufWriter::with_capacity(1 << 20, file),
        }
    }
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.file.write_all(&buf[..n])?;
        if n == 0 {
            // The end: what is buffered must be in the file before it is renamed.
            self.file.flush()?;
        }
        Ok(n)
    }
}

/// Opens a download for reading: the store's entry when there is one (the caller verifies it
/// again), else the source, teed into a `.part` file. An http(s) download resumes a `.part`
/// left by an earlier run.
pub fn open(
    cache: &Store,
    http: Option<&Http>,
    url: &Url,
    checksum: &Checksum,
    size: Size,
    offline: bool,
) -> Result<Opened, FetchError> {
    open_with(cache, http, url, &[], checksum, size, offline)
}

/// [`open`], sending `headers` with every request of the download (an OCI registry's
/// `Authorization`).
pub fn open_with(
    cache: &Store,
    http: Option<&Http>,
    url: &Url,
    headers: &[(reqwest::header::HeaderName, String)],
    checksum: &Checksum,
    size: Size,
    offline: bool,
) -> Result<Opened, FetchError> {
    let cached = cache.path(checksum);
    // Not through a link: a link planted in the cache could make jrt read any file as the
    // package (its checksum would still catch it, but the read itself could block on a FIFO).
    if let Ok(file) = jrt_fs::open_no_follow(&cached, File::options().read(true)) {
        return Ok(Opened {
            reader: Box::new(file),
            cached: true,
            entry: Some(cached),
            part: None,
            resumable: false,
        });
    }
    let part_path = cache.part_path(checksum);
    std::fs::create_dir_all(cache.dir()).map_err(jrt_fs::io("cannot create", cache.dir()))?;
    let part = Some(Part {
        path: part_path.clone(),
        dest: cached,
    });
    match url.scheme() {
        "file" => {
            let path = url.to_file_path().map_err(|()| FetchError::Transfer {
                url: url.to_string(),
                message: "not a local path".into(),
            })?;
            let source = jrt_fs::open_regular(&path).map_err(jrt_fs::io("cannot read", &path))?;
            let file = jrt_fs::open_no_follow(
                &part_path,
                File::options().write(true).create(true).truncate(true),
            )
            .map_err(jrt_fs::io("cannot create", &part_path))?;
            Ok(Opened {
                reader: Box::new(Tee::new(source, file)),
                cached: false,
                entry: None,
                part,
                resumable: false,
            })
        }
        "http" | "https" if offline => Err(FetchError::Offline {
            url: url.to_string(),
        }),
        "http" | "https" => {
            let http = http.ok_or_else(|| FetchError::Transfer {
                url: url.to_string(),
                message: "no HTTP client".into(),
            })?;
            // Resume what an earlier run collected, unless it cannot be a prefix.
            let have = std::fs::symlink_metadata(&part_path)
                .ok()
                .filter(|m| m.is_file())
                .map_or(0, |m| m.len());
            let have = if have > size.limit() { 0 } else { have };
            if size == Size::Declared(have) && have > 0 {
                // An earlier run got every byte but stopped before settling them: check them
                // as they are (a range starting at the end would only earn a 416).
                let file = jrt_fs::open_no_follow(&part_path, File::options().read(true))
                    .map_err(jrt_fs::io("cannot read", &part_path))?;
                return Ok(Opened {
                    reader: Box::new(file),
                    cached: false,
                    entry: None,
                    part,
                    resumable: true,
                });
            }
            // The server first: a refusal (404) must not leave an empty `.part` behind.
            let body = Body::open(http, url, headers, have, size).map_err(FetchError::Http)?;
            let file =
                jrt_fs::open_no_follow(&part_path, File::options().create(true).append(true))
                    .map_err(jrt_fs::io("cannot open", &part_path))?;
            // Truncate only a `.part` that holds something: ext4 writes out (and allocates)
            // a whole file when it is closed after a truncation to zero, which cost 25 ms
            // of a 0.65 s install for a 95 MB package.
            let stale = file.metadata().map(|m| m.len()).unwrap_or(0);
            if have == 0 && stale > 0 {
                file.set_len(0)
                    .map_err(jrt_fs::io("cannot truncate", &part_path))?;
            }
            let earlier = jrt_fs::open_no_follow(&part_path, File::options().read(true))
                .map_err(jrt_fs::io("cannot read", &part_path))?;
            let reader = earlier.take(have).chain(Tee::new(body, file));
            Ok(Opened {
                reader: Box::new(reader),
                cached: false,
                entry: None,
                part,
                resumable: true,
            })
        }
        other => Err(FetchError::Scheme {
            url: url.to_string(),
            scheme: other.to_string(),
        }),
    }
}
