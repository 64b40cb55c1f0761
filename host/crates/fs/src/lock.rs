//! Advisory file locks (flock), the one lock mechanism: per runtime version (a second
//! install of the same runtime waits for the first, then finds it installed), on the cache
//! as a whole (shared by installs, exclusive for `jrt cache prune`), on the plugin
//! catalog, on the registry serials, and on each build a plan fetches into the cache. The
//! kernel drops a lock when its holder dies, so a killed run never leaves a stale lock behind.
//! Lock files are opened without following a symbolic link: one planted there would make jrt
//! create or open a file wherever it points.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// A held lock; released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

fn open(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::open_no_follow(
        path,
        File::options().create(true).truncate(false).write(true),
    )
}

/// Waits for and takes the lock at `path` in `mode` (`LOCK_EX` or `LOCK_SH`), again after
/// a signal interrupts the wait.
fn wait_for(path: &Path, mode: libc::c_int) -> io::Result<Lock> {
    let file = open(path)?;
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), mode) } == 0 {
            return Ok(Lock { _file: file });
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Waits for and takes the exclusive lock at `path`.
pub fn exclusive(path: &Path) -> io::Result<Lock> {
    wait_for(path, libc::LOCK_EX)
}

/// Waits for and takes a shared lock at `path`: many holders at once, none while someone
/// holds it exclusively (the cache: installs share it, `jrt cache prune` excludes them).
pub fn shared(path: &Path) -> io::Result<Lock> {
    wait_for(path, libc::LOCK_SH)
}

/// Takes the exclusive lock at `path` if nobody holds it.
pub fn try_exclusive(path: &Path) -> io::Result<Option<Lock>> {
    let file = open(path)?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(Some(Lock { _file: file }));
    }
    let err = io::Error::last_os_error();
    if err.kind() == io::ErrorKind::WouldBlock {
        Ok(None)
    } else {
        Err(err)
    }
}
