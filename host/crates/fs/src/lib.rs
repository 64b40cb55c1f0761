//! The files jrt keeps, and how it keeps them: changing user files atomically; opening files
//! jrt keeps (caches, locks, state) or reads from a `file://` URL without being led elsewhere
//! by a planted link, FIFO or device; [`lock`]s; where things live by default ([`paths`]) and
//! inside the cache ([`cache::Cache`]); and
//! the timestamps written into them ([`time`]).
//!
//! The lowest layer of the host: it depends on no other jrt crate, and does no network I/O.

pub mod cache;
pub mod lock;
pub mod paths;
pub mod time;

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Opens `path` with `options`, refusing a symbolic link at its last component (a link
/// planted where jrt keeps a lock, a `.part` file or its trust state would turn jrt's write
/// into a write wherever it points), and refusing anything but a regular file.
pub fn open_no_follow(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    let file = options
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "it is a symbolic link, and jrt does not follow links where it keeps its files",
                )
            } else {
                e
            }
        })?;
    regular(file)
}

/// Reads a file jrt keeps (a cache entry, its trust state) whole: without following a link,
/// and refusing one over `cap` bytes (it may have been planted, or torn).
pub fn read_no_follow(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let file = open_no_follow(path, OpenOptions::new().read(true))?;
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::other(format!("it is over {cap} bytes")));
    }
    Ok(bytes)
}

/// Opens `path` for reading only when it is a regular file (links followed): a FIFO or a
/// device behind a `file://` URL would block jrt or feed it without end.
pub fn open_regular(path: &Path) -> io::Result<File> {
    // O_NONBLOCK so opening a FIFO does not wait for a writer before the check below.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)?;
    regular(file)
}

fn regular(file: File) -> io::Result<File> {
    if file.metadata()?.is_file() {
        Ok(file)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file (jrt reads no FIFOs, devices or directories here)",
        ))
    }
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory, fsync, rename,
/// then fsync of the directory so the rename survives a crash. The file keeps the mode of
/// the one it replaces, or gets 0644 (temp files start private; a manifest or a published
/// registry.json must stay readable).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    let mut tmp = tempfile::Builder::new()
        .prefix(".jrt-tmp-")
        .tempfile_in(dir)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// fsyncs a directory (its entries, such as a rename into it).
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// An I/O failure on a path, saying what jrt was doing: the one shape every crate's error
/// carries (`Io(#[from] IoError)`), so such messages read the same everywhere. The OS error is
/// part of the message, not a separate source, so it is printed once.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}: {error}", path.display())]
pub struct IoError {
    pub action: &'static str,
    pub path: PathBuf,
    pub error: io::Error,
}

/// `.map_err(jrt_fs::io("cannot read", &path))?`: an `io::Error` on `path` as an [`IoError`].
pub fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> IoError {
    let path = path.to_path_buf();
    move |error| IoError {
        action,
        path,
        error,
    }
}

/// Counts and sha256-hashes what is read through it: a file streamed once, however large, for
/// both its contents and its checksum.
pub struct Hashed<R> {
    inner: R,
    hasher: sha2::Sha256,
    len: u64,
}

impl<R: io::Read> Hashed<R> {
    pub fn new(inner: R) -> Self {
        use sha2::Digest;
        Hashed {
            inner,
            hasher: sha2::Sha256::new(),
            len: 0,
        }
    }

    /// The lower-case hex sha256 and the length of everything read so far.
    pub fn finish(self) -> (String, u64) {
        use sha2::Digest;
        (hex::encode(self.hasher.finalize()), self.len)
    }
}

impl<R: io::Read> io::Read for Hashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// The lower-case hex sha256 and the length of the file at `path`, streamed.
pub fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    let mut hashed = Hashed::new(File::open(path)?);
    io::copy(&mut hashed, &mut io::sink())?;
    Ok(hashed.finish())
}

/// Whether `text` is a sha256 written as 64 hex digits (of either case).
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Visits `root` and everything below it without following symbolic links (a link is
/// visited, never entered), depth first. `visit` sees each path with its `lstat` metadata; a
/// directory's entries are listed after it was visited, so `visit` may first change the
/// directory's owner or mode. `io_err` turns a failure to read a path into the caller's error.
pub fn walk<E>(
    root: &Path,
    io_err: impl Fn(&'static str, &Path, io::Error) -> E,
    mut visit: impl FnMut(&Path, &std::fs::Metadata) -> Result<(), E>,
) -> Result<(), E> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io_err("cannot read", &path, e))?;
        visit(&path, &meta)?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).map_err(|e| io_err("cannot read", &path, e))? {
                stack.push(entry.map_err(|e| io_err("cannot read", &path, e))?.path());
            }
        }
    }
    Ok(())
}
