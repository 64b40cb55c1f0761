//! Confinement for every program a setup plan starts: `run` steps, probes, and the host's own
//! `ldd` over the tree's ELF files (an ELF can name its own loader, so `ldd` runs plan code).
//!
//! A plan comes from a plugin and a manifest, both hostile until checked, and jrt runs as root
//! on fleets. So a program never sees the host: it starts in new user, mount, PID, IPC, UTS and
//! (unless the step declared network) network namespaces, as an unprivileged uid/gid that is
//! never host root ([`SANDBOX_ID`] when jrt is root, the caller's own ids otherwise), with no
//! capabilities, `PR_SET_NO_NEW_PRIVS`, rlimits, a seccomp filter ([`seccomp`]) and a Landlock
//! ruleset ([`fence`]). Its filesystem is a read-only tmpfs holding only: the staging tree at
//! its own path (read-write for steps, read-only for probes), a private `/tmp` and
//! `/dev/shm` (POSIX semaphores: Python's multiprocessing), the host's
//! `/usr`, `/bin`, `/sbin`, `/lib*`, `/etc/ssl`, `/etc/pki` and `/etc/ld.so.*` read-only,
//! name-resolution files only with network, a fresh `/proc`, and `/dev/{null,zero,full,random,
//! urandom}`. Paths the user passed through (`PIP_FIND_LINKS`, a CA bundle) are bound read-only.
//!
//! How it is set up, in a few steps (the order matters; see [`child`]):
//! 1. the parent prepares everything that allocates: paths, mount list, seccomp program,
//!    Landlock ruleset, the cgroup;
//! 2. the child unshares the namespaces; a parent thread writes its uid/gid maps;
//! 3. the child forks, so the program is PID 1 of the new PID namespace; the middle process
//!    only waits and passes the exit status on;
//! 4. the grandchild builds the new root, pivots into it, drops every capability, sets
//!    rlimits, NO_NEW_PRIVS, Landlock and seccomp, and execs.
//!
//! `jrt run` runs a job through the same steps ([`run_job`]) with a job's view instead of a
//! plan's ([`Job`]): the runtime.yml mounts at their targets (read-only unless they say
//! otherwise) over the same read-only system directories plus `/etc`, the same minimal
//! `/dev` and fresh `/proc`, the host's network, the terminal, and no timeout.
//!
//! As root where the kernel refuses a user namespace (every chroot, such as Joblet's build
//! chroot, and machines with `user.max_user_namespaces=0`), the program runs without one:
//! the other namespaces are made with root's own capabilities, the child drops to
//! [`SANDBOX_ID`] with none left, and enters its root with `chroot` where `pivot_root` cannot
//! work (a chroot's `/` is not a mount).
//!
//! When the machine cannot make the namespaces, nothing runs: the error says why. Landlock and
//! the cgroup are layers on top; where the kernel lacks them the namespaces still hold and
//! [`layers`] (shown by `jrt detect --json`) says what is active.
//!
//! The crate also holds [`process`], the one place jrt waits on a child (capped output, a
//! timeout, the whole group killed), which confined and host programs alike go through. It
//! knows nothing of plans, plugins or registries: callers say what to run and with what view.

mod cgroup;
mod child;
mod fence;
pub mod layers;
pub mod process;
mod seccomp;
mod view;

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub use layers::{Layers, layers, layers_recorded};

use crate::process::{Finished, Keep};

/// The uid and gid plan programs run as when jrt runs as root: owned by nobody on the host,
/// so the program has no rights there beyond what world permissions give. (`jrt` in ASCII.)
pub const SANDBOX_ID: u32 = 0x6a72_7400;

/// Who may reach what over the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network {
    /// An empty network namespace: not even loopback is up.
    None,
    /// The host's network, TCP connect only to these ports where Landlock can enforce it.
    Ports(Vec<u16>),
    /// The host's network, unrestricted (a job's, as Joblet's host-network mode gives it).
    Host,
}

/// Resource caps for one program and everything it starts.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Processes (and threads) of the sandbox user inside the sandbox.
    pub processes: u64,
    pub open_files: u64,
    /// The largest file it may write, in bytes.
    pub file_size: u64,
    /// CPU seconds per process; 0 derives it from the timeout and the cores.
    pub cpu_seconds: u64,
    /// Memory of the whole sandbox (a cgroup v2 limit, when jrt can make one).
    pub memory_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            processes: 1024,
            open_files: 4096,
            // CUDA wheels are several GiB, and pip writes them whole before unpacking.
            file_size: 16 << 30,
            cpu_seconds: 0,
            memory_bytes: 16 << 30,
        }
    }
}

/// What a program may see and do.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The staging tree (absolute, resolved); seen at the same path inside.
    pub tree: PathBuf,
    /// Steps may write the tree; probes and `ldd` may not.
    pub writable: bool,
    pub network: Network,
    /// Host paths bound read-only at their own path (what the user passed through).
    pub read_only: Vec<PathBuf>,
    pub limits: Limits,
    /// A job's view instead of the tree's (`jrt run`): the tree is then not seen at all.
    pub job: Option<Job>,
}

/// What a job (`jrt run`) sees and who it runs as.
#[derive(Debug, Clone)]
pub struct Job {
    /// The runtime's mounts, parents before children.
    pub mounts: Vec<JobMount>,
    /// Where the job's scratch directories (its root's mount point, `/tmp`) are made: a
    /// directory only jrt's user may write.
    pub scratch: PathBuf,
    /// The uid and gid it runs as (`--user`); none: [`Ids::current`]'s.
    pub user: Option<(u32, u32)>,
    /// `--privileged` (jrt as root only): root with its capabilities, no user namespace, no
    /// seccomp filter or Landlock ruleset. The PID and mount namespaces, the fresh `/proc`
    /// and the minimal `/dev` stay.
    pub privileged: bool,
}

/// One runtime.yml mount, resolved.
#[derive(Debug, Clone)]
pub struct JobMount {
    /// The host path, inside the runtime.
    pub source: PathBuf,
    /// Where the job sees it (absolute).
    pub target: PathBuf,
    pub readonly: bool,
}

/// How a confined program ended, and what the sandbox could not do this time.
#[derive(Debug, Clone)]
pub struct Ran {
    pub finished: Finished,
    /// Such as "no cgroup v2 memory controller for jrt: the memory limit is not enforced".
    pub notes: Vec<String>,
}

/// Why a program could not be run confined.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot confine setup programs on this machine: {stage}: {source}{}", hint(.stage, .source))]
    Unsupported {
        stage: String,
        source: std::io::Error,
    },
    #[error("cannot prepare the sandbox: {0}")]
    Prepare(jrt_fs::IoError),
    #[error("the sandbox's seccomp filter cannot be built: {0}")]
    Seccomp(String),
    #[error("the sandbox's Landlock ruleset cannot be built: {0}")]
    Landlock(String),
    #[error("cannot start {}: {source}", program.display())]
    Start {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not a valid path or argument (it contains a NUL byte)")]
    Nul(String),
}

fn hint(stage: &str, e: &std::io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) | Some(libc::ENOSPC)
            if stage.starts_with("creating the namespaces") =>
        {
            "; setup programs need user namespaces (sysctl user.max_user_namespaces > 0, \
             kernel.unprivileged_userns_clone=1, or in a container: a seccomp profile that \
             allows unshare); nothing was run"
        }
        _ => "; nothing was run",
    }
}

/// Runs `program` confined by `spec`, with exactly `env`, for at most `timeout`; its output
/// is kept to `keep`.
pub fn run(
    spec: &Spec,
    program: &Path,
    args: &[String],
    env: &[(String, String)],
    timeout: Duration,
    keep: Keep,
) -> Result<Ran, SandboxError> {
    let mut confined = Confined::prepare(spec, program, args, env, Some(timeout))?;
    let result = crate::process::run(&mut confined.cmd, keep, timeout, |cmd| {
        // A script the plan just wrote can be briefly "busy" (ETXTBSY): a child that another
        // thread forked meanwhile holds its write descriptor until it execs.
        let mut attempt = 0;
        loop {
            match cmd.spawn() {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && attempt < 20 => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(10 * attempt));
                }
                other => return other,
            }
        }
    });
    let notes = confined.notes.clone();
    let finished = confined.finish(result)?;
    Ok(Ran { finished, notes })
}

/// Runs a job (`spec.job` set) confined by `spec` with the caller's terminal and no
/// timeout, as `jrt run` does; returns how it ended.
pub fn run_job(
    spec: &Spec,
    program: &Path,
    args: &[String],
    env: &[(String, String)],
) -> Result<std::process::ExitStatus, SandboxError> {
    let mut confined = Confined::prepare(spec, program, args, env, None)?;
    let result = confined.cmd.spawn().and_then(|mut child| child.wait());
    confined.finish(result)
}

/// A program set up to start confined, and what has to be settled once it has run.
struct Confined {
    cmd: Command,
    program: PathBuf,
    notes: Vec<String>,
    mapper: std::thread::JoinHandle<std::io::Result<()>>,
    /// Our copies of the child's pipe ends, closed once it has started.
    child_ends: [OwnedFd; 3],
    why_read: OwnedFd,
    cgroup: cgroup::Cgroup,
    /// The root's mount point and the private `/tmp`; removed when this is dropped.
    _scratch: tempfile::TempDir,
}

impl Confined {
    /// Prepares `program` for `timeout` (none: a job, which runs as long as it runs).
    fn prepare(
        spec: &Spec,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        timeout: Option<Duration>,
    ) -> Result<Confined, SandboxError> {
        let job = spec.job.as_ref();
        let privileged = job.is_some_and(|j| j.privileged);
        let ids = match job.and_then(|j| j.user) {
            Some((uid, gid)) => Ids {
                uid,
                gid,
                from_root: Ids::current().from_root,
            },
            None if privileged => Ids {
                uid: 0,
                gid: 0,
                from_root: true,
            },
            None => Ids::current(),
        };
        let mut notes = Vec::new();
        // The new root's mount point and the private /tmp, next to the tree (same
        // filesystem, a place jrt may write), or in the job's scratch directory.
        let beside = match job {
            Some(j) => j.scratch.clone(),
            None => spec.tree.parent().unwrap_or(Path::new("/")).to_path_buf(),
        };
        let scratch = tempfile::Builder::new()
            .prefix(".jrt-sandbox-")
            .tempdir_in(&beside)
            .map_err(|e| {
                SandboxError::Prepare(jrt_fs::IoError {
                    action: "cannot create a scratch directory in",
                    path: beside.clone(),
                    error: e,
                })
            })?;
        let tmp = scratch.path().join("tmp");
        let shm = scratch.path().join("shm");
        let root = scratch.path().join("root");
        for dir in [&tmp, &shm, &root] {
            std::fs::create_dir(dir).map_err(|e| {
                SandboxError::Prepare(jrt_fs::IoError {
                    action: "cannot create",
                    path: dir.clone(),
                    error: e,
                })
            })?;
        }
        if ids.from_root {
            // The program's user must be able to write what it may write; the caller takes
            // the tree back ([`reclaim`]) before it is placed.
            let mut mine = vec![tmp.as_path(), shm.as_path()];
            if spec.writable && job.is_none() {
                mine.push(&spec.tree);
            }
            for path in mine {
                hand_over(path, ids.uid, ids.gid).map_err(|e| {
                    SandboxError::Prepare(jrt_fs::IoError {
                        action: "cannot hand over",
                        path: path.to_path_buf(),
                        error: e,
                    })
                })?;
            }
        }
        let (ops, binds) = view::plan(spec, (ids.uid, ids.gid), &tmp, &shm)?;
        let (filters, ruleset) = if privileged {
            (&[][..], None)
        } else {
            (seccomp::programs()?, fence::ruleset(spec, &[&tmp, &shm])?)
        };
        let cgroup = match job {
            Some(_) => cgroup::Cgroup::none(),
            None => cgroup::Cgroup::create(&spec.limits),
        };
        if let Some(why) = &cgroup.unavailable {
            notes.push(why.clone());
        }

        let cpu = match timeout {
            _ if spec.limits.cpu_seconds > 0 => spec.limits.cpu_seconds,
            Some(timeout) => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
                timeout.as_secs().max(60).saturating_mul(cores)
            }
            // A job runs as long as it runs (capped by jrt's own hard limit).
            None => u64::MAX,
        };
        let workdir = match job {
            Some(_) => PathBuf::from("/"),
            None => spec.tree.clone(),
        };
        let (map_read, map_write) = pipe()?; // child -> parent: its pid, once unshared
        let (go_read, go_write) = pipe()?; // parent -> child: maps written
        let (why_read, why_write) = pipe()?; // child -> parent: which stage failed
        // A chrooted root (Joblet's build chroot) gets no user namespace from the kernel
        // (user_namespaces(7): EPERM): as root, the other namespaces and the drop to the
        // sandbox's ids confine as well without one.
        let chrooted = ids.from_root && !privileged && user_namespaces_refused();
        let user_ns = !privileged && !chrooted;
        let mut prepared = child::Prepared {
            from_root: ids.from_root,
            user_ns,
            privileged,
            chrooted,
            private_mounts: if chrooted {
                visible_mounts()?
            } else {
                Vec::new()
            },
            uid: ids.uid,
            gid: ids.gid,
            network: spec.network != Network::None,
            hostname: if job.is_some() {
                b"jrt-run"
            } else {
                b"jrt-setup"
            },
            root: cstring(&root)?,
            root_options: view::tmpfs_options("1m", ids.uid, ids.gid),
            ops,
            clones: vec![-1; binds],
            tree: cstring(&workdir)?,
            limits: child::Rlimits {
                processes: spec.limits.processes,
                open_files: spec.limits.open_files,
                file_size: spec.limits.file_size,
                cpu_seconds: cpu,
            },
            cgroup_procs: cgroup.procs.as_ref().map(|f| f.as_raw_fd()),
            report_pid: map_write.as_raw_fd(),
            wait_maps: go_read.as_raw_fd(),
            why: why_write.as_raw_fd(),
            filters,
            ruleset,
        };

        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        // SAFETY: the closure runs between fork and exec; it only makes system calls on
        // memory prepared above (see `child::enter`).
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(move || child::enter(&mut prepared));
        }
        let (uid, gid) = (ids.uid, ids.gid);
        let mapper =
            std::thread::spawn(move || child::write_maps(map_read, go_write, uid, gid, user_ns));
        Ok(Confined {
            cmd,
            program: program.to_path_buf(),
            notes,
            mapper,
            child_ends: [map_write, go_read, why_write],
            why_read,
            cgroup,
            _scratch: scratch,
        })
    }

    /// Settles what `result` (the program's run) left: our pipe ends, the id-map thread,
    /// the cgroup; a failure to start is explained by the stage the child reported.
    fn finish<T>(self, result: std::io::Result<T>) -> Result<T, SandboxError> {
        let Confined {
            cmd,
            program,
            mapper,
            child_ends,
            why_read,
            cgroup,
            _scratch,
            ..
        } = self;
        // The closure (and with it our copies of the child's pipe ends) goes with `cmd`.
        drop(cmd);
        drop(child_ends);
        let mapped = mapper.join().unwrap_or(Ok(()));
        let stage = read_all(why_read);
        cgroup.remove();
        match result {
            Ok(done) => Ok(done),
            Err(source) => {
                if let Err(e) = mapped {
                    return Err(SandboxError::Unsupported {
                        stage: "writing the user namespace's id maps".into(),
                        source: e,
                    });
                }
                if !stage.is_empty() {
                    return Err(SandboxError::Unsupported { stage, source });
                }
                Err(SandboxError::Start { program, source })
            }
        }
    }
}

/// Whether the kernel refuses this process a user namespace (EPERM), as it does to every
/// chrooted process (user_namespaces(7)): tried once, in a forked child that does nothing
/// else.
fn user_namespaces_refused() -> bool {
    static REFUSED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REFUSED.get_or_init(|| {
        // SAFETY: the child makes two system calls and exits; it touches no memory the
        // parent's other threads could hold locked.
        unsafe {
            let pid = libc::fork();
            if pid == 0 {
                let code = if libc::unshare(libc::CLONE_NEWUSER) == 0 {
                    0
                } else if *libc::__errno_location() == libc::EPERM {
                    1
                } else {
                    2
                };
                libc::_exit(code);
            }
            if pid < 0 {
                return false;
            }
            let mut status = 0;
            while libc::waitpid(pid, &mut status, 0) < 0 && *libc::__errno_location() == libc::EINTR
            {
            }
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 1
        }
    })
}

/// Every mount point this process can see, from `/proc/self/mountinfo` (paths there are
/// relative to the process's root; mounts outside a chroot are not listed).
fn visible_mounts() -> Result<Vec<CString>, SandboxError> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| {
        SandboxError::Prepare(jrt_fs::IoError {
            action: "cannot read",
            path: PathBuf::from("/proc/self/mountinfo"),
            error: e,
        })
    })?;
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        // Octal escapes (`\040` for a space) are the kernel's; such mounts are left as they are.
        .filter(|p| !p.contains('\\'))
        .map(str::to_string)
        .collect();
    points.sort();
    points.dedup();
    points.iter().map(|p| cstring(Path::new(p))).collect()
}

/// Who the program runs as.
#[derive(Debug, Clone, Copy)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    /// jrt is root: the ids are [`SANDBOX_ID`], and the tree must be handed over.
    pub from_root: bool,
}

impl Ids {
    pub fn current() -> Self {
        // SAFETY: these never fail.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if euid == 0 {
            Ids {
                uid: SANDBOX_ID,
                gid: SANDBOX_ID,
                from_root: true,
            }
        } else {
            Ids {
                uid: euid,
                gid: egid,
                from_root: false,
            }
        }
    }
}

/// Gives the tree back to jrt's own user after a setup: what the sandbox made belongs to
/// [`SANDBOX_ID`] until then. A no-op unless jrt is root.
pub fn reclaim(tree: &Path) -> std::io::Result<()> {
    if Ids::current().from_root {
        hand_over(tree, 0, 0)?;
    }
    Ok(())
}

/// Gives every entry of `tree` (not following symlinks) to `uid:gid`.
fn hand_over(tree: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    jrt_fs::walk(
        tree,
        |_, _, e| e,
        |path, meta| {
            if meta.uid() != uid || meta.gid() != gid {
                chown(path, uid, gid)?;
            }
            Ok(())
        },
    )
}

fn chown(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
}

fn cstring(path: &Path) -> Result<CString, SandboxError> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| SandboxError::Nul(path.display().to_string()))
}

fn pipe() -> Result<(OwnedFd, OwnedFd), SandboxError> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 returns.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(SandboxError::Prepare(jrt_fs::IoError {
            action: "cannot create a pipe for",
            path: PathBuf::from("the sandbox"),
            error: std::io::Error::last_os_error(),
        }));
    }
    // SAFETY: both descriptors are fresh and ours.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn read_all(fd: OwnedFd) -> String {
    use std::io::Read;
    let mut text = String::new();
    let _ = std::fs::File::from(fd).take(4096).read_to_string(&mut text);
    text.trim().to_string()
}
