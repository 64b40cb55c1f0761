//! Reading host files for `copy-from-host` and `copy-libraries`, race-free: every source is
//! opened beneath the allowed prefix it falls under with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_MAGICLINKS)`, and a directory is walked by descriptor (`openat` with
//! `O_NOFOLLOW`), so no symlink (planted, or swapped in while jrt copies) can lead out of the
//! prefix. Only what every user may read is copied: a private file or directory is refused,
//! never turned into a world-readable copy. Nothing is written through an existing entry.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::StepError;
use super::check::Refusal;
use jrt_fs::io as io_err;

/// Opens the directory holding `source` beneath the allowed prefix it is under, and returns
/// it with `source`'s own name (not followed: it may be a symlink, copied as one).
fn open_parent(source: &str, prefixes: &[String]) -> Result<(OwnedFd, OsString), StepError> {
    let path = Path::new(source);
    let name = path
        .file_name()
        .ok_or_else(|| Refusal::NoFileName(source.to_string()))?
        .to_os_string();
    for prefix in prefixes {
        let (base, rel_parent) = if prefix.ends_with('/') {
            let Ok(rel) = path.strip_prefix(prefix) else {
                continue;
            };
            if rel.as_os_str().is_empty() {
                // The allowed directory itself: beneath its own parent, by its real name.
                let real = Path::new(prefix)
                    .canonicalize()
                    .map_err(io_err("cannot open", Path::new(prefix)))?;
                let (Some(parent), Some(real_name)) = (real.parent(), real.file_name()) else {
                    return Err(Refusal::NoFileName(source.to_string()).into());
                };
                let dir = open(parent, libc::O_PATH | libc::O_DIRECTORY)
                    .map_err(io_err("cannot open", parent))?;
                return Ok((dir, real_name.to_os_string()));
            }
            let parent = rel.parent().unwrap_or(Path::new("")).to_path_buf();
            (PathBuf::from(prefix), parent)
        } else if prefix == source {
            // An exact file: beneath its own directory.
            let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
            (dir, PathBuf::new())
        } else {
            continue;
        };
        // The prefix itself is the host's (`/lib` may be a link to `/usr/lib`): resolve it,
        // then stay beneath what it resolved to.
        let base = base.canonicalize().map_err(io_err("cannot open", &base))?;
        let base_fd =
            open(&base, libc::O_PATH | libc::O_DIRECTORY).map_err(io_err("cannot open", &base))?;
        let rel = if rel_parent.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            rel_parent
        };
        let dir =
            openat2_beneath(&base_fd, &rel, libc::O_PATH | libc::O_DIRECTORY).map_err(|error| {
                StepError::NotBeneath {
                    source_path: source.to_string(),
                    prefix: prefix.clone(),
                    error,
                }
            })?;
        return Ok((dir, name));
    }
    Err(Refusal::NotAllowed {
        what: "the source",
        path: source.to_string(),
        allowed: prefixes.to_vec(),
    }
    .into())
}

/// Copies `source` (a file, directory or symlink) to `dest`, skipping the absolute paths in
/// `exclude`.
pub fn copy_tree(
    source: &str,
    dest: &Path,
    exclude: &[PathBuf],
    prefixes: &[String],
) -> Result<(), StepError> {
    let (dir, name) = open_parent(source, prefixes)?;
    copy_at(&dir, &name, Path::new(source), dest, exclude)
}

/// Copies one host file beneath the allowed prefixes to `dest` (which must not exist).
pub fn copy_file(source: &str, dest: &Path, prefixes: &[String]) -> Result<(), StepError> {
    let (dir, name) = open_parent(source, prefixes)?;
    let stat = stat_at(&dir, &name).map_err(io_err("cannot read", Path::new(source)))?;
    if stat.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(StepError::WrongKind {
            path: PathBuf::from(source),
            what: "regular file",
        });
    }
    copy_file_at(&dir, &name, Path::new(source), dest, stat.st_mode)
}

fn copy_at(
    dir: &OwnedFd,
    name: &OsStr,
    shown: &Path,
    dest: &Path,
    exclude: &[PathBuf],
) -> Result<(), StepError> {
    if exclude.iter().any(|e| e == shown) {
        return Ok(());
    }
    let stat = stat_at(dir, name).map_err(io_err("cannot read", shown))?;
    let mode = stat.st_mode;
    match mode & libc::S_IFMT {
        libc::S_IFLNK => {
            let target = readlink_at(dir, name).map_err(io_err("cannot read", shown))?;
            std::os::unix::fs::symlink(target, dest).map_err(io_err("cannot create", dest))?;
            Ok(())
        }
        libc::S_IFDIR => {
            if mode & 0o005 != 0o005 {
                return Err(StepError::NotPublicDirectory {
                    path: shown.to_path_buf(),
                    mode: mode & 0o7777,
                });
            }
            let sub = open_at(dir, name, libc::O_RDONLY | libc::O_DIRECTORY)
                .map_err(io_err("cannot open", shown))?;
            std::fs::create_dir(dest).map_err(io_err("cannot create", dest))?;
            // Listed through the descriptor: the directory jrt opened, whatever its path
            // names now.
            let listing = format!("/proc/self/fd/{}", sub.as_raw_fd());
            let mut names: Vec<OsString> = std::fs::read_dir(&listing)
                .map_err(io_err("cannot list", shown))?
                .flatten()
                .map(|e| e.file_name())
                .collect();
            names.sort();
            for child in names {
                copy_at(
                    &sub,
                    &child,
                    &shown.join(&child),
                    &dest.join(&child),
                    exclude,
                )?;
            }
            Ok(())
        }
        libc::S_IFREG => copy_file_at(dir, name, shown, dest, mode),
        _ => Err(StepError::WrongKind {
            path: shown.to_path_buf(),
            what: "file, directory or symlink",
        }),
    }
}

fn copy_file_at(
    dir: &OwnedFd,
    name: &OsStr,
    shown: &Path,
    dest: &Path,
    mode: libc::mode_t,
) -> Result<(), StepError> {
    if mode & 0o004 == 0 {
        return Err(StepError::NotWorldReadable {
            path: shown.to_path_buf(),
            mode: mode & 0o7777,
        });
    }
    let fd = open_at(dir, name, libc::O_RDONLY).map_err(io_err("cannot read", shown))?;
    let mut from = File::from(fd);
    let mut to = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(jrt_extract::normalise_mode(mode))
        .open(dest)
        .map_err(io_err("cannot create", dest))?;
    io::copy(&mut from, &mut to).map_err(io_err("cannot copy", shown))?;
    // The mode requested at creation is cut by the umask; set it exactly.
    to.set_permissions(std::fs::Permissions::from_mode(
        jrt_extract::normalise_mode(mode),
    ))
    .map_err(io_err("cannot set the mode of", dest))?;
    Ok(())
}

fn c(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn open(path: &Path, flags: libc::c_int) -> io::Result<OwnedFd> {
    let p = c(path.as_os_str().as_bytes())?;
    // SAFETY: a valid C string; the descriptor returned is ours.
    let fd = unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC) };
    owned(fd)
}

fn open_at(dir: &OwnedFd, name: &OsStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    let n = c(name.as_bytes())?;
    // SAFETY: a valid directory descriptor and C string.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            n.as_ptr(),
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    owned(fd)
}

fn openat2_beneath(dir: &OwnedFd, rel: &Path, flags: libc::c_int) -> io::Result<OwnedFd> {
    let p = c(rel.as_os_str().as_bytes())?;
    // SAFETY: `open_how` is plain data; zeroed is its documented default.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: valid descriptor, C string and `open_how` of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            p.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    owned(fd as RawFd)
}

fn owned(fd: RawFd) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn stat_at(dir: &OwnedFd, name: &OsStr) -> io::Result<libc::stat> {
    let n = c(name.as_bytes())?;
    // SAFETY: `st` is written by fstatat before it is read.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid descriptor, C string and out-pointer.
    let r = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            n.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

fn readlink_at(dir: &OwnedFd, name: &OsStr) -> io::Result<PathBuf> {
    let n = c(name.as_bytes())?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: valid descriptor, C string and buffer of the length passed.
    let len = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            n.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if len < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(len as usize);
    Ok(PathBuf::from(OsString::from_vec(buf)))
}
