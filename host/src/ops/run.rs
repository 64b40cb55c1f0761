//! `jrt run <spec> -- <cmd>...`: runs a command inside an installed runtime the way Joblet
//! does, so a runtime can be proven without a Joblet server.
//!
//! In a new mount namespace (a user namespace too when not root) a tmpfs becomes the job's
//! root. The host's system directories (`/usr`, `/bin`, `/lib*`, `/etc`, ...) are bound into
//! it read-only, `/dev`, `/proc` and `/sys` are bound, `/tmp` is fresh, and then the
//! runtime.yml mounts are bound over them, read-only or read-write as they say. Then chroot,
//! the runtime.yml environment, and exec: the command's exit status is jrt's.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::{Component, Path, PathBuf};

use crate::install::layout::Layout;
use crate::ops::installed::{installed, matching};
use crate::registry::Spec;

/// Host directories a job root gets, read-only, as Joblet gives them (not `/opt`: runtimes
/// such as the JDK ones mount there).
const HOST_DIRS: [&str; 8] = [
    "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc",
];

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0} is not installed (see `jrt list`)")]
    NotInstalled(String),
    #[error("{}: cannot read runtime.yml: {reason}", dir.display())]
    RuntimeYml { dir: PathBuf, reason: String },
    #[error(
        "jrt run needs a private mount namespace, and this system does not permit one: \
         {0}. Run it as root, or allow unprivileged user namespaces \
         (sysctl kernel.unprivileged_userns_clone=1, or in a container: --privileged)"
    )]
    NotPermitted(std::io::Error),
    #[error("jrt run: {action} {}: {source}", path.display())]
    Mount {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot run `{program}` in {runtime}: {source}")]
    Exec {
        program: String,
        runtime: String,
        source: std::io::Error,
    },
}

pub use crate::runtime_yml::{MountYml, RuntimeYml};

/// The installed runtime a spec names (the highest matching version) and its runtime.yml,
/// with every mount checked: sources inside the runtime, targets absolute without `..`.
pub fn find(layout: &Layout, spec: &Spec) -> Result<(PathBuf, RuntimeYml), RunError> {
    let all = installed(layout);
    let dir = matching(&all, spec)
        .last()
        .map(|i| i.path.clone())
        .ok_or_else(|| {
            RunError::NotInstalled(match spec.req {
                crate::registry::VersionReq::Latest => spec.name.clone(),
                _ => spec.to_string(),
            })
        })?;
    let bad = |reason: String| RunError::RuntimeYml {
        dir: dir.clone(),
        reason,
    };
    let yml = RuntimeYml::read(&dir).map_err(bad)?;
    let real_dir = dir.canonicalize().map_err(|e| bad(e.to_string()))?;
    for m in &yml.mounts {
        let rel = Path::new(&m.source);
        if rel.is_absolute() || rel.components().any(|c| c == Component::ParentDir) {
            return Err(bad(format!(
                "mount source '{}' leaves the runtime",
                m.source
            )));
        }
        let real = dir
            .join(rel)
            .canonicalize()
            .map_err(|e| bad(format!("mount source '{}': {e}", m.source)))?;
        if !real.starts_with(&real_dir) {
            return Err(bad(format!(
                "mount source '{}' resolves outside the runtime",
                m.source
            )));
        }
        let target = Path::new(&m.target);
        if !target.is_absolute() || target.components().any(|c| c == Component::ParentDir) {
            return Err(bad(format!(
                "mount target '{}' is not an absolute path without '..'",
                m.target
            )));
        }
    }
    Ok((dir, yml))
}

fn cstr(path: &Path) -> CString {
    use std::os::unix::ffi::OsStrExt;
    // Paths here come from the file system or runtime.yml, which serde keeps free of NULs;
    // an interior NUL would only make the call fail with a clear error below.
    CString::new(path.as_os_str().as_bytes()).unwrap_or_default()
}

fn check(rc: libc::c_int, action: &'static str, path: &Path) -> Result<(), RunError> {
    if rc == 0 {
        Ok(())
    } else {
        Err(RunError::Mount {
            action,
            path: path.to_path_buf(),
            source: std::io::Error::last_os_error(),
        })
    }
}

/// Bind-mounts `src` at `dst`, read-only when asked (keeping the flags the kernel locks).
fn bind(src: &Path, dst: &Path, readonly: bool) -> Result<(), RunError> {
    let (s, d) = (cstr(src), cstr(dst));
    // SAFETY: valid NUL-terminated paths; null fstype and data are allowed for binds.
    let rc = unsafe {
        libc::mount(
            s.as_ptr(),
            d.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REC,
            std::ptr::null(),
        )
    };
    check(rc, "cannot bind-mount onto", dst)?;
    if readonly {
        // SAFETY: statvfs fills the zeroed struct.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        let locked = if unsafe { libc::statvfs(d.as_ptr(), &mut st) } == 0 {
            let f = st.f_flag;
            let mut flags = 0;
            for (st_flag, ms_flag) in [
                (libc::ST_NOSUID, libc::MS_NOSUID),
                (libc::ST_NODEV, libc::MS_NODEV),
                (libc::ST_NOEXEC, libc::MS_NOEXEC),
                (libc::ST_NOATIME, libc::MS_NOATIME),
                (libc::ST_RELATIME, libc::MS_RELATIME),
            ] {
                if f & st_flag != 0 {
                    flags |= ms_flag;
                }
            }
            flags
        } else {
            0
        };
        // SAFETY: as above.
        let rc = unsafe {
            libc::mount(
                std::ptr::null(),
                d.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | locked,
                std::ptr::null(),
            )
        };
        check(rc, "cannot make read-only", dst)?;
    }
    Ok(())
}

/// Enters a private mount namespace: a user namespace mapping the caller to root first when
/// jrt is not root.
fn unshare() -> Result<(), RunError> {
    // SAFETY: plain syscalls on this process.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if uid == 0 {
        if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
            return Err(RunError::NotPermitted(std::io::Error::last_os_error()));
        }
    } else {
        if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) } != 0 {
            return Err(RunError::NotPermitted(std::io::Error::last_os_error()));
        }
        let write = |file: &str, text: String| {
            std::fs::write(file, text).map_err(|source| RunError::Mount {
                action: "cannot write",
                path: PathBuf::from(file),
                source,
            })
        };
        write("/proc/self/setgroups", "deny".into())?;
        write("/proc/self/uid_map", format!("0 {uid} 1"))?;
        write("/proc/self/gid_map", format!("0 {gid} 1"))?;
    }
    let root = Path::new("/");
    // SAFETY: valid path; stops our mounts from propagating back to the host.
    let rc = unsafe {
        libc::mount(
            std::ptr::null(),
            cstr(root).as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    check(rc, "cannot make private", root)
}

fn mkdirs(path: &Path) -> Result<(), RunError> {
    std::fs::create_dir_all(path).map_err(|source| RunError::Mount {
        action: "cannot create the mount point",
        path: path.to_path_buf(),
        source,
    })
}

/// Builds the job root for the runtime in `dir` and execs `command` in it. Returns only on
/// failure. Call it before jrt starts any thread (user namespaces need a single thread).
pub fn exec(
    layout: &Layout,
    dir: &Path,
    yml: &RuntimeYml,
    command: &[String],
) -> Result<std::convert::Infallible, RunError> {
    use std::os::unix::process::CommandExt;
    let runtime = format!("{}@{}", yml.name, yml.version);
    let program = command.first().cloned().unwrap_or_default();
    let dir = dir.canonicalize().map_err(|e| RunError::RuntimeYml {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    // The mount point lives under the root's own metadata directory; it stays empty on the
    // host, since everything mounted on it is private to this process.
    let new_root = layout.meta().join("run");
    mkdirs(&new_root)?;
    // Never through a link: mounting onto one would mount wherever it points. (Nobody but
    // this user, or root, can write `.jrt`: `paths::check_trusted` saw to that.)
    match std::fs::symlink_metadata(&new_root) {
        Ok(m) if m.is_dir() => {}
        _ => {
            return Err(RunError::Mount {
                action: "refusing to mount on",
                path: new_root,
                source: std::io::Error::other("it is not a directory (a symbolic link?)"),
            });
        }
    }
    unshare()?;

    let tmpfs = CString::new("tmpfs").unwrap_or_default();
    let r = cstr(&new_root);
    // SAFETY: valid strings; mounts a fresh tmpfs, private to our namespace.
    let rc = unsafe {
        libc::mount(
            tmpfs.as_ptr(),
            r.as_ptr(),
            tmpfs.as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            std::ptr::null(),
        )
    };
    check(rc, "cannot mount a tmpfs on", &new_root)?;

    for name in HOST_DIRS {
        let host = Path::new("/").join(name);
        let inside = new_root.join(name);
        match std::fs::symlink_metadata(&host) {
            Ok(m) if m.file_type().is_symlink() => {
                // Merged /usr: /bin -> usr/bin stays a link.
                let target = std::fs::read_link(&host).map_err(|source| RunError::Mount {
                    action: "cannot read",
                    path: host.clone(),
                    source,
                })?;
                std::os::unix::fs::symlink(target, &inside).map_err(|source| RunError::Mount {
                    action: "cannot create",
                    path: inside.clone(),
                    source,
                })?;
            }
            Ok(m) if m.is_dir() => {
                mkdirs(&inside)?;
                bind(&host, &inside, true)?;
            }
            _ => {}
        }
    }
    for (name, readonly) in [("dev", false), ("proc", false), ("sys", true)] {
        let inside = new_root.join(name);
        mkdirs(&inside)?;
        bind(&Path::new("/").join(name), &inside, readonly)?;
    }
    let tmp = new_root.join("tmp");
    mkdirs(&tmp)?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777));

    // Parents before children, so a mount inside another one lands on top of it.
    let mut mounts = yml.mounts.clone();
    mounts.sort_by_key(|m| Path::new(&m.target).components().count());
    let real_root = new_root.canonicalize().map_err(|source| RunError::Mount {
        action: "cannot resolve",
        path: new_root.clone(),
        source,
    })?;
    for m in &mounts {
        let target = new_root.join(m.target.trim_start_matches('/'));
        // A runtime mounted earlier may hold symlinks along this target's path; it must
        // still land inside the job root, before anything is created there.
        let mut existing = target.as_path();
        while !existing.exists() {
            existing = existing.parent().unwrap_or(&new_root);
        }
        let escapes = |p: &Path| !p.canonicalize().is_ok_and(|r| r.starts_with(&real_root));
        if escapes(existing) {
            return Err(RunError::Mount {
                action: "refusing a mount target that resolves outside the job root:",
                path: PathBuf::from(&m.target),
                source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
            });
        }
        if !target.exists() {
            mkdirs(&target)?;
        }
        if escapes(&target) {
            return Err(RunError::Mount {
                action: "refusing a mount target that resolves outside the job root:",
                path: PathBuf::from(&m.target),
                source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
            });
        }
        bind(&dir.join(&m.source), &target, m.readonly)?;
    }

    let r = cstr(&new_root);
    // SAFETY: valid path; we are root in our namespace.
    check(
        unsafe { libc::chroot(r.as_ptr()) },
        "cannot chroot into",
        &new_root,
    )?;
    std::env::set_current_dir("/").map_err(|source| RunError::Mount {
        action: "cannot enter",
        path: PathBuf::from("/"),
        source,
    })?;

    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into());
    env.insert("HOME".into(), "/tmp".into());
    if let Ok(term) = std::env::var("TERM") {
        env.insert("TERM".into(), term);
    }
    env.extend(yml.environment.clone());
    let err = std::process::Command::new(&program)
        .args(&command[1..])
        .env_clear()
        .envs(&env)
        .exec();
    Err(RunError::Exec {
        program,
        runtime,
        source: err,
    })
}
