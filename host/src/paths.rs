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

/// `$XDG_CACHE_HOME/jrt`.
pub fn default_cache() -> Option<PathBuf> {
    xdg("XDG_CACHE_HOME", ".cache").map(|d| d.join("jrt"))
}

/// The directory under a root where added plugins live.
pub fn plugins_dir(root: &std::path::Path) -> PathBuf {
    root.join(".jrt").join("plugins")
}

/// The directory under the cache where compiled plugin code lives.
pub fn compiled_dir(cache: &std::path::Path) -> PathBuf {
    cache.join("compiled")
}
