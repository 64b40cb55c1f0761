//! The sandbox's filesystem view: the ordered list of operations that builds its root, worked
//! out in the parent (where allocating is safe) and replayed by the child with bare system
//! calls.
//!
//! The root is a tmpfs, made read-only once built. The child mounts it and enters it while it
//! still has jrt's ids (the staging area may sit below directories only root may walk), so
//! every path here is relative to it. Everything in it is either a directory
//! made for a mount point, or a bind of something the issue allows: system directories and
//! the user's pass-through paths read-only, the tree and the private `/tmp` as the spec says,
//! five device nodes, and a `/proc` of the new PID namespace. A job's view (`jrt run`) has
//! all of `/etc` read-only and the runtime's mounts instead of the tree.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use super::{Network, SandboxError, Spec, cstring};

/// Host directories every program sees, read-only (symlinks such as a merged-/usr `/bin` are
/// recreated as symlinks).
const SYSTEM: [&str; 7] = ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"];
/// Below `/etc`: certificates and the dynamic loader's configuration.
const ETC: [&str; 5] = ["ssl", "pki", "ld.so.cache", "ld.so.conf", "ld.so.conf.d"];
/// Below `/etc`, only for steps with network: name resolution.
const ETC_NETWORK: [&str; 4] = ["resolv.conf", "hosts", "nsswitch.conf", "gai.conf"];
const DEVICES: [&str; 5] = ["null", "zero", "full", "random", "urandom"];

/// One step of building the root.
#[derive(Debug)]
pub enum Op {
    /// A directory for a mount point (one that exists already is fine).
    Mkdir(CString),
    /// An empty file to bind a file onto.
    Touch(CString),
    Symlink {
        target: CString,
        link: CString,
    },
    Tmpfs {
        at: CString,
        options: CString,
    },
    /// A bind mount, then a remount of it with `flags` (`MS_RDONLY`, `MS_NOSUID`, ...).
    /// The source is cloned (`open_tree`) into clone number `slot` while the child still has
    /// jrt's ids, since the sandbox user may not be able to walk to it (a host interpreter
    /// under `/root`), and attached once the root is built.
    Bind {
        from: CString,
        to: CString,
        flags: libc::c_ulong,
        slot: usize,
        /// With every mount below `from`, each made read-only too when `flags` say so (a
        /// job's view: what the host mounted inside `/etc` or a runtime stays visible, and
        /// never writable through a read-only bind).
        recursive: bool,
    },
    Proc(CString),
    /// Makes the root tmpfs read-only, once everything is mounted in it.
    Seal(CString),
}

/// The tmpfs options of the root and `/dev`: owned by the sandbox user, who makes the mount
/// points in them.
pub fn tmpfs_options(size: &str, uid: u32, gid: u32) -> CString {
    c(&format!("mode=0755,size={size},uid={uid},gid={gid}"))
}

/// The operations for `spec`, run inside the new root (relative paths), with `tmp` as its
/// `/tmp` and `shm` as its `/dev/shm`, and how many bind sources they clone.
pub fn plan(
    spec: &Spec,
    ids: (u32, u32),
    tmp: &Path,
    shm: &Path,
) -> Result<(Vec<Op>, usize), SandboxError> {
    let mut b = Builder {
        ops: Vec::new(),
        made: BTreeSet::new(),
        binds: 0,
        recursive: spec.job.is_some(),
    };
    let read_only = (libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV) as libc::c_ulong;
    for name in SYSTEM {
        let host = Path::new("/").join(name);
        match std::fs::symlink_metadata(&host) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&host).map_err(prepare(&host))?;
                b.push(Op::Symlink {
                    target: cstring(&target)?,
                    link: cstring(&b.inside(&host))?,
                });
                b.made.insert(host);
            }
            Ok(m) if m.is_dir() => b.bind(&host, &host, true, read_only)?,
            _ => {}
        }
    }
    let etc = Path::new("/etc");
    b.mkdirs(etc)?;
    let network = spec.network != Network::None;
    let names = ETC.iter().chain(ETC_NETWORK.iter().filter(|_| network));
    if spec.job.is_some() {
        // A job gets the host's /etc as Joblet gives it (users, time zone, name service).
        b.bind(etc, etc, true, read_only)?;
    }
    for name in names.filter(|_| spec.job.is_none()) {
        let host = etc.join(name);
        // `/etc/resolv.conf` is often a link into `/run`: bind what it points to.
        let Ok(real) = host.canonicalize() else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(&real) else {
            continue;
        };
        b.bind(&real, &host, meta.is_dir(), read_only)?;
    }

    let dev = Path::new("/dev");
    b.mkdirs(dev)?;
    b.push(Op::Tmpfs {
        at: cstring(&b.inside(dev))?,
        options: tmpfs_options("64k", ids.0, ids.1),
    });
    for name in DEVICES {
        let host = dev.join(name);
        if host.exists() {
            // Device nodes need a mount without `nodev`; they are the host's own nodes.
            let flags = (libc::MS_NOSUID | libc::MS_NOEXEC) as libc::c_ulong;
            b.bind(&host, &host, false, flags)?;
        }
    }
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        b.push(Op::Symlink {
            target: c(target),
            link: cstring(&b.inside(&dev.join(name)))?,
        });
    }

    let writable = (libc::MS_NOSUID | libc::MS_NODEV) as libc::c_ulong;
    b.bind(shm, &dev.join("shm"), true, writable)?;

    let proc = Path::new("/proc");
    b.mkdirs(proc)?;
    b.push(Op::Proc(cstring(&b.inside(proc))?));

    b.bind(tmp, Path::new("/tmp"), true, writable)?;

    // What the user passed through (a wheel directory, a CA bundle), unless already visible.
    let mut extra: Vec<&PathBuf> = spec.read_only.iter().collect();
    extra.sort();
    extra.dedup();
    for path in extra {
        let Ok(real) = path.canonicalize() else {
            continue;
        };
        if real.starts_with(&spec.tree) || b.covered(&real) {
            continue;
        }
        let Ok(meta) = std::fs::metadata(&real) else {
            continue;
        };
        b.bind(&real, &real, meta.is_dir(), read_only)?;
    }

    if let Some(job) = &spec.job {
        for m in &job.mounts {
            let flags = if m.readonly { read_only } else { writable };
            check_target(&job.mounts, &m.target)?;
            let dir = std::fs::metadata(&m.source)
                .map_err(prepare(&m.source))?
                .is_dir();
            b.bind(&m.source, &m.target, dir, flags)?;
        }
        b.push(Op::Seal(c(".")));
        return Ok((b.ops, b.binds));
    }
    let tree_flags = if spec.writable { writable } else { read_only };
    if b.covered(&spec.tree) {
        return Err(SandboxError::Prepare(jrt_fs::IoError {
            action: "the staging tree must not be below a system directory:",
            path: spec.tree.clone(),
            error: std::io::Error::from(std::io::ErrorKind::InvalidInput),
        }));
    }
    b.bind(&spec.tree, &spec.tree, true, tree_flags)?;
    b.push(Op::Seal(c(".")));
    Ok((b.ops, b.binds))
}

/// Refuses a job mount `target` whose path goes through a symbolic link: in a runtime mounted
/// earlier, or in a host system directory. The mounts are made before the root is entered, so
/// a link would resolve against the host's root and put the mount (or its mount point) there.
fn check_target(mounts: &[super::JobMount], target: &Path) -> Result<(), SandboxError> {
    let refuse = |via: &Path| {
        SandboxError::Prepare(jrt_fs::IoError {
            action: "refusing a mount target that goes through a symbolic link:",
            path: target.to_path_buf(),
            error: std::io::Error::other(format!("{} is a link", via.display())),
        })
    };
    let mut at = PathBuf::from("/");
    for part in target.components().skip(1) {
        at.push(part);
        if at == target {
            break;
        }
        // What provides `at`: the deepest mount at or above it; else the host, below a
        // system directory or /etc; else the root's own tmpfs, which holds no links.
        let mount = mounts
            .iter()
            .filter(|m| at.starts_with(&m.target))
            .max_by_key(|m| m.target.components().count());
        let host = match mount {
            Some(m) => m
                .source
                .join(at.strip_prefix(&m.target).unwrap_or(Path::new(""))),
            None if SYSTEM
                .iter()
                .chain(["etc"].iter())
                .any(|d| at.starts_with(Path::new("/").join(d))) =>
            {
                at.clone()
            }
            None => continue,
        };
        if std::fs::symlink_metadata(&host).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(refuse(&at));
        }
    }
    Ok(())
}

struct Builder {
    ops: Vec<Op>,
    /// Paths (as seen inside) already made or mounted.
    made: BTreeSet<PathBuf>,
    binds: usize,
    /// Binds take their submounts along ([`Op::Bind`]).
    recursive: bool,
}

impl Builder {
    fn push(&mut self, op: Op) {
        self.ops.push(op);
    }

    /// `path` (absolute, as seen inside) relative to the new root.
    fn inside(&self, path: &Path) -> PathBuf {
        path.strip_prefix("/").unwrap_or(path).to_path_buf()
    }

    /// Whether `path` is at or below something bound or linked already (system directories):
    /// it is visible, or made read-only, and needs no mount of its own.
    fn covered(&self, path: &Path) -> bool {
        SYSTEM
            .iter()
            .map(|n| Path::new("/").join(n))
            .chain([PathBuf::from("/dev"), PathBuf::from("/proc")])
            .any(|top| path.starts_with(&top) && self.made.contains(&top))
    }

    /// Mount points for `path` and its parents.
    fn mkdirs(&mut self, path: &Path) -> Result<(), SandboxError> {
        let mut at = PathBuf::from("/");
        for part in path.components().skip(1) {
            at.push(part);
            if self.made.insert(at.clone()) {
                let dir = cstring(&self.inside(&at))?;
                self.push(Op::Mkdir(dir));
            }
        }
        Ok(())
    }

    /// Binds host `from` at `to` (inside), a directory or a file, then remounts it with `flags`
    /// plus the flags the source mount has locked.
    fn bind(
        &mut self,
        from: &Path,
        to: &Path,
        dir: bool,
        flags: libc::c_ulong,
    ) -> Result<(), SandboxError> {
        if dir {
            self.mkdirs(to)?;
        } else {
            if let Some(parent) = to.parent() {
                self.mkdirs(parent)?;
            }
            if self.made.insert(to.to_path_buf()) {
                let file = cstring(&self.inside(to))?;
                self.push(Op::Touch(file));
            }
        }
        let flags = flags | locked_flags(from).map_err(prepare(from))?;
        let op = Op::Bind {
            from: cstring(from)?,
            to: cstring(&self.inside(to))?,
            flags,
            slot: self.binds,
            recursive: self.recursive,
        };
        self.binds += 1;
        self.push(op);
        Ok(())
    }
}

/// The flags of the mount `path` is on that a user namespace may not clear on a bind
/// remount (`nosuid`, `nodev`, `noexec`, read-only, the atime mode).
fn locked_flags(path: &Path) -> std::io::Result<libc::c_ulong> {
    let c_path =
        cstring(path).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: `st` is written by statvfs before it is read.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a valid out-pointer.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let pairs: [(libc::c_ulong, libc::c_ulong); 7] = [
        (libc::ST_RDONLY, libc::MS_RDONLY),
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ];
    Ok(pairs
        .iter()
        .filter(|(st_flag, _)| st.f_flag & st_flag != 0)
        .fold(0, |acc, (_, ms)| acc | ms))
}

fn c(text: &str) -> CString {
    // Only called with literals, which have no NUL.
    CString::new(text).unwrap_or_default()
}

fn prepare(path: &Path) -> impl FnOnce(std::io::Error) -> SandboxError {
    let path = path.to_path_buf();
    move |error| {
        SandboxError::Prepare(jrt_fs::IoError {
            action: "cannot read",
            path,
            error,
        })
    }
}
