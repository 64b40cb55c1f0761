//! Where jrt keeps things when the user does not say: the runtime root (SPEC §2) and the
//! cache, following the XDG base-directory rules.

use std::path::PathBuf;

/// Joblet's `runtime.base_path`, the root when jrt runs as root.
pub const SYSTEM_ROOT: &str = "/opt/joblet/runtimes";

fn xdg(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))
}

/// `/opt/joblet/runtimes` for root, else `$XDG_DATA_HOME/jrt/runtimes`.
pub fn default_root() -> Option<PathBuf> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return Some(PathBuf::from(SYSTEM_ROOT));
    }
    xdg("XDG_DATA_HOME", ".local/share").map(|d| d.join("jrt").join("runtimes"))
}

/// Where jrt keeps what holds until the next boot (the sandbox check `jrt detect` shows):
/// `/run/jrt` for root, else `$XDG_RUNTIME_DIR/jrt`; none when there is no such directory.
pub fn runtime_dir() -> Option<PathBuf> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return Some(PathBuf::from("/run/jrt"));
    }
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_dir())
        .map(|d| d.join("jrt"))
}

/// `$XDG_CACHE_HOME/jrt`.
pub fn default_cache() -> Option<PathBuf> {
    xdg("XDG_CACHE_HOME", ".cache").map(|d| d.join("jrt"))
}

/// The directory under a root where added plugins live.
pub fn plugins_dir(root: &std::path::Path) -> PathBuf {
    root.join(".jrt").join("plugins")
}

/// A directory jrt will not trust when running as root.
#[derive(Debug, thiserror::Error)]
pub enum UntrustedDir {
    #[error(
        "{} is owned by uid {uid}, not root: that user could plant plugins or swap a runtime \
         while it is installed. Fix: chown root {}",
        path.display(),
        path.display()
    )]
    NotRoots { path: PathBuf, uid: u32 },
    #[error(
        "{} is writable by {who} (mode {mode:04o}): they could plant plugins or swap a runtime \
         while it is installed. Fix: chmod go-w {}",
        path.display(),
        path.display()
    )]
    Writable {
        path: PathBuf,
        who: &'static str,
        mode: u32,
    },
    #[error(transparent)]
    Io(#[from] crate::IoError),
}

/// When jrt runs as root, refuses `dirs` (the root, `<root>/.jrt`, the cache) unless each,
/// and every directory above it, is owned by root and not writable by group or others. An
/// ancestor with the sticky bit (`/tmp`) may be writable by all: nobody else can rename what
/// root owns in it. A directory that does not exist yet is checked through the ancestors it
/// will be made in. As another user there is nobody to guard against but that user.
pub fn check_trusted(dirs: &[&std::path::Path]) -> Result<(), UntrustedDir> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    for dir in dirs {
        let dir = std::path::absolute(dir).map_err(crate::io("cannot check", dir))?;
        // The deepest part that exists, with links resolved: what a link points into is
        // what has to be safe.
        let Some((i, real)) = dir
            .ancestors()
            .enumerate()
            .find_map(|(i, p)| std::fs::canonicalize(p).ok().map(|r| (i, r)))
        else {
            continue;
        };
        for (j, path) in real.ancestors().enumerate() {
            let meta = std::fs::metadata(path).map_err(crate::io("cannot check", path))?;
            check_one(path, &meta, i == 0 && j == 0)?;
        }
    }
    Ok(())
}

fn check_one(
    path: &std::path::Path,
    meta: &std::fs::Metadata,
    itself: bool,
) -> Result<(), UntrustedDir> {
    use std::os::unix::fs::MetadataExt;
    if meta.uid() != 0 {
        return Err(UntrustedDir::NotRoots {
            path: path.to_path_buf(),
            uid: meta.uid(),
        });
    }
    let mode = meta.mode() & 0o7777;
    let sticky = mode & 0o1000 != 0;
    if mode & 0o022 != 0 && (itself || !sticky) {
        let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
            (true, true) => "group and others",
            (true, false) => "its group",
            _ => "others",
        };
        return Err(UntrustedDir::Writable {
            path: path.to_path_buf(),
            who,
            mode,
        });
    }
    Ok(())
}
