//! The code between `fork` and `exec`: it enters the namespaces, builds the root, drops every
//! privilege and applies the filters, in that order.
//!
//! It runs in the child of a multi-threaded process, so it only makes system calls on memory
//! the parent prepared ([`Prepared`]); a failure writes which stage failed to a pipe the
//! parent reads, and returns the errno (which `std` passes back from `spawn`).

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{OwnedFd, RawFd};

use super::view::Op;

/// rlimits for the program and everything it starts.
pub struct Rlimits {
    pub processes: u64,
    pub open_files: u64,
    pub file_size: u64,
    pub cpu_seconds: u64,
}

/// Everything the child needs, made before the fork.
pub struct Prepared {
    pub from_root: bool,
    /// Enter a new user namespace (all but `--privileged` jobs).
    pub user_ns: bool,
    /// Keep root's capabilities (a `--privileged` job).
    pub privileged: bool,
    /// jrt runs as root where the kernel gives it no user namespace (a chroot, such as
    /// Joblet's build chroot): there `/` may not be a mount (so it cannot be made private, and
    /// `pivot_root` cannot leave it), and the root is entered with `chroot` instead (the
    /// program, without capabilities, cannot leave it).
    pub chrooted: bool,
    /// In a chroot, `/` is not a mount that can be made private: these mount points (every
    /// one visible from the chroot) are, instead.
    pub private_mounts: Vec<CString>,
    pub uid: u32,
    pub gid: u32,
    /// Keep the host's network namespace (the step declared network).
    pub network: bool,
    pub hostname: &'static [u8],
    /// Where the new root's tmpfs is mounted, and its options.
    pub root: CString,
    pub root_options: CString,
    /// What builds the root, relative to it.
    pub ops: Vec<Op>,
    /// The cloned bind sources, one per `Op::Bind` slot (filled by the child).
    pub clones: Vec<RawFd>,
    /// The working directory inside.
    pub tree: CString,
    pub limits: Rlimits,
    /// `cgroup.procs` of the sandbox's cgroup, opened for writing.
    pub cgroup_procs: Option<RawFd>,
    /// Where the child writes its pid once it has unshared.
    pub report_pid: RawFd,
    /// Where it waits for the parent's "maps written".
    pub wait_maps: RawFd,
    /// Where it writes the stage that failed.
    pub why: RawFd,
    pub filters: &'static [seccompiler::BpfProgram],
    pub ruleset: Option<landlock::RulesetCreated>,
}

/// The parent's side of the id maps: waits for the child's pid, writes its `uid_map` and
/// `gid_map` (a process cannot map another uid for itself), then lets it go on.
pub fn write_maps(
    pid_from: OwnedFd,
    go: OwnedFd,
    uid: u32,
    gid: u32,
    user_ns: bool,
) -> io::Result<()> {
    use std::io::{Read, Write};
    let mut from = std::fs::File::from(pid_from);
    let mut go = std::fs::File::from(go);
    let mut result = Ok(());
    // One pid per child that got this far (a retried spawn makes another); the end of the
    // pipe means every child has exec'd or failed.
    let mut pid = [0u8; 4];
    while from.read_exact(&mut pid).is_ok() {
        let proc = format!("/proc/{}", i32::from_ne_bytes(pid));
        let written = (|| {
            if !user_ns {
                return Ok(());
            }
            std::fs::write(format!("{proc}/setgroups"), "deny")?;
            std::fs::write(format!("{proc}/uid_map"), format!("{uid} {uid} 1\n"))?;
            std::fs::write(format!("{proc}/gid_map"), format!("{gid} {gid} 1\n"))
        })();
        let _ = go.write_all(if written.is_ok() { b"1" } else { b"0" });
        if written.is_err() {
            result = written;
        }
    }
    result
}

/// Runs in the forked child; returning `Ok` lets `std` exec the program.
pub fn enter(p: &mut Prepared) -> io::Result<()> {
    if let Some(fd) = p.cgroup_procs {
        // "0" moves the writer itself; everything it starts stays in the cgroup.
        check(p, c"joining the sandbox's cgroup", unsafe {
            libc::write(fd, b"0".as_ptr().cast(), 1) as i32
        })?;
    }
    if p.from_root {
        // Root's supplementary groups (gid 0 among them) must not come along.
        check(p, c"dropping supplementary groups", unsafe {
            libc::setgroups(0, std::ptr::null())
        })?;
    }
    let mut flags =
        libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS;
    if p.user_ns {
        flags |= libc::CLONE_NEWUSER;
    }
    if !p.network {
        flags |= libc::CLONE_NEWNET;
    }
    check(p, c"creating the namespaces", unsafe {
        libc::unshare(flags)
    })?;
    let pid = unsafe { libc::getpid() }.to_ne_bytes();
    if unsafe { libc::write(p.report_pid, pid.as_ptr().cast(), 4) } != 4 {
        return fail(p, c"reporting to the parent", errno());
    }
    let mut go = [0u8; 1];
    let n = unsafe { libc::read(p.wait_maps, go.as_mut_ptr().cast(), 1) };
    if n != 1 || go[0] != b'1' {
        return fail(p, c"waiting for the id maps", libc::EPERM);
    }

    clone_sources(p)?;
    enter_root(p)?;

    // Become the sandbox user now (so what the setup makes is owned by a mapped id), keeping
    // the namespace's capabilities just long enough to build the root.
    check(p, c"keeping capabilities", unsafe {
        libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0)
    })?;
    check(p, c"setting the gid", unsafe {
        libc::setresgid(p.gid, p.gid, p.gid)
    })?;
    check(p, c"setting the uid", unsafe {
        libc::setresuid(p.uid, p.uid, p.uid)
    })?;
    check(p, c"restoring capabilities", capset(!0))?;
    // Dies with jrt (the flag is cleared by the id change above, so set it after).
    check(p, c"setting the parent-death signal", unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0)
    })?;

    // PID 1 of the new PID namespace must be a child: this process waits for it.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return fail(p, c"forking into the PID namespace", errno());
    }
    if child > 0 {
        relay(child);
    }
    check(p, c"setting the parent-death signal", unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0)
    })?;

    build_root(p)?;
    check(p, c"setting the host name", unsafe {
        libc::sethostname(p.hostname.as_ptr().cast(), p.hostname.len())
    })?;
    set_limits(p)?;
    if p.privileged {
        // Root keeps its capabilities; it still may not gain more by exec.
        check(p, c"setting no-new-privileges", unsafe {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        })?;
    } else {
        drop_privileges(p)?;
    }
    if let Some(ruleset) = p.ruleset.take()
        && ruleset.restrict_self().is_err()
    {
        return fail(p, c"applying the Landlock ruleset", errno());
    }
    for filter in p.filters {
        if seccompiler::apply_filter(filter).is_err() {
            return fail(p, c"applying the seccomp filter", errno());
        }
    }
    Ok(())
}

/// The middle process: waits for PID 1 and exits as it did. Never returns.
fn relay(child: libc::pid_t) -> ! {
    // Only PID 1 holds the pipes std watches; this process must not keep them open.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    let mut status = 0;
    loop {
        let r = unsafe { libc::waitpid(child, &mut status, 0) };
        if r == child {
            break;
        }
        if r < 0 && errno() != libc::EINTR {
            unsafe { libc::_exit(125) };
        }
    }
    unsafe {
        if libc::WIFEXITED(status) {
            libc::_exit(libc::WEXITSTATUS(status));
        }
        let signal = libc::WTERMSIG(status);
        // Die of the same signal, so the parent sees how the program ended.
        libc::signal(signal, libc::SIG_DFL);
        libc::kill(libc::getpid(), signal);
        libc::_exit(128 + signal)
    }
}

/// Clones every bind source into a detached mount while the child still has jrt's ids (and
/// the new namespace's capabilities): the sandbox user may not be able to reach them.
fn clone_sources(p: &mut Prepared) -> io::Result<()> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    for op in &p.ops {
        if let Op::Bind {
            from,
            slot,
            recursive,
            flags,
            ..
        } = op
        {
            let deep = if *recursive {
                libc::AT_RECURSIVE as libc::c_uint
            } else {
                0
            };
            let fd = unsafe {
                libc::syscall(
                    libc::SYS_open_tree,
                    libc::AT_FDCWD,
                    from.as_ptr(),
                    OPEN_TREE_CLONE | deep | libc::O_CLOEXEC as libc::c_uint,
                )
            };
            if fd < 0 {
                say(p.why, b"cloning the mount of ");
                say(p.why, from.to_bytes());
                return Err(io::Error::from_raw_os_error(errno()));
            }
            if *recursive && flags & libc::MS_RDONLY != 0 {
                // The remount after attaching reaches only the top mount; make the whole
                // cloned tree read-only (and nosuid, nodev) while it is still detached.
                #[repr(C)]
                struct MountAttr {
                    attr_set: u64,
                    attr_clr: u64,
                    propagation: u64,
                    userns_fd: u64,
                }
                const MOUNT_ATTR_RDONLY: u64 = 0x1;
                const MOUNT_ATTR_NOSUID: u64 = 0x2;
                const MOUNT_ATTR_NODEV: u64 = 0x4;
                let attr = MountAttr {
                    attr_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                    attr_clr: 0,
                    propagation: 0,
                    userns_fd: 0,
                };
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_mount_setattr,
                        fd as libc::c_int,
                        c"".as_ptr(),
                        (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
                        &attr as *const MountAttr,
                        size_of::<MountAttr>(),
                    )
                };
                if r != 0 {
                    say(p.why, b"making read-only every mount below ");
                    say(p.why, from.to_bytes());
                    return Err(io::Error::from_raw_os_error(errno()));
                }
            }
            if let Some(place) = p.clones.get_mut(*slot) {
                *place = fd as RawFd;
            }
        }
    }
    Ok(())
}

/// Mounts the new root's tmpfs and makes it the working directory, while the child still
/// has jrt's ids: the staging area may be below directories only root may walk. Everything
/// after this resolves relative to it.
fn enter_root(p: &Prepared) -> io::Result<()> {
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    if r != 0 && p.chrooted && errno() == libc::EINVAL {
        for at in &p.private_mounts {
            check(p, c"making mounts private", unsafe {
                libc::mount(
                    std::ptr::null(),
                    at.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                )
            })?;
        }
    } else {
        check(p, c"making mounts private", r)?;
    }
    let r = unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            p.root.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            p.root_options.as_ptr().cast(),
        )
    };
    if r != 0 {
        return fail_at(p, c"mounting the new root at ", &p.root, errno());
    }
    check(p, c"entering the new root", unsafe {
        libc::chdir(p.root.as_ptr())
    })
}

fn build_root(p: &Prepared) -> io::Result<()> {
    for op in &p.ops {
        match op {
            Op::Mkdir(path) => {
                let r = unsafe { libc::mkdir(path.as_ptr(), 0o755) };
                if r != 0 && errno() != libc::EEXIST {
                    return fail_at(p, c"making the mount point ", path, errno());
                }
            }
            Op::Touch(path) => {
                let fd = unsafe {
                    libc::open(
                        path.as_ptr(),
                        libc::O_RDONLY | libc::O_CREAT | libc::O_CLOEXEC | libc::O_NOFOLLOW,
                        0o644,
                    )
                };
                if fd < 0 {
                    return fail_at(p, c"making the mount point ", path, errno());
                }
                unsafe { libc::close(fd) };
            }
            Op::Symlink { target, link } => {
                let r = unsafe { libc::symlink(target.as_ptr(), link.as_ptr()) };
                if r != 0 && errno() != libc::EEXIST {
                    return fail_at(p, c"making the link ", link, errno());
                }
            }
            Op::Tmpfs { at, options } => {
                let r = unsafe {
                    libc::mount(
                        c"tmpfs".as_ptr(),
                        at.as_ptr(),
                        c"tmpfs".as_ptr(),
                        libc::MS_NOSUID | libc::MS_NODEV,
                        options.as_ptr().cast(),
                    )
                };
                if r != 0 {
                    return fail_at(p, c"mounting a tmpfs at ", at, errno());
                }
            }
            Op::Bind {
                from,
                to,
                flags,
                slot,
                ..
            } => {
                const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;
                let clone = p.clones.get(*slot).copied().unwrap_or(-1);
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_move_mount,
                        clone,
                        c"".as_ptr(),
                        libc::AT_FDCWD,
                        to.as_ptr(),
                        MOVE_MOUNT_F_EMPTY_PATH,
                    ) as i32
                };
                if r != 0 {
                    return fail_at(p, c"binding ", from, errno());
                }
                let r = unsafe {
                    libc::mount(
                        std::ptr::null(),
                        to.as_ptr(),
                        std::ptr::null(),
                        libc::MS_BIND | libc::MS_REMOUNT | flags,
                        std::ptr::null(),
                    )
                };
                if r != 0 {
                    return fail_at(p, c"restricting the bind of ", from, errno());
                }
            }
            Op::Proc(at) => {
                let r = unsafe {
                    libc::mount(
                        c"proc".as_ptr(),
                        at.as_ptr(),
                        c"proc".as_ptr(),
                        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                        std::ptr::null(),
                    )
                };
                if r != 0 {
                    return fail_at(p, c"mounting a fresh /proc at ", at, errno());
                }
            }
            Op::Seal(at) => {
                let r = unsafe {
                    libc::mount(
                        std::ptr::null(),
                        at.as_ptr(),
                        std::ptr::null(),
                        libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
                        std::ptr::null(),
                    )
                };
                if r != 0 {
                    return fail_at(p, c"making the new root read-only: ", at, errno());
                }
            }
        }
    }
    // pivot_root(".", ".") stacks the old root under the new one (the working directory);
    // detaching it leaves only the new root (pivot_root(2), "NOTES").
    let r = unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) as i32 };
    if r != 0 && p.chrooted && errno() == libc::EINVAL {
        // In a chroot, whose root is not a mount, pivot_root cannot work. chroot holds a
        // process without CAP_SYS_CHROOT (dropped below), with `chroot` and the mount calls
        // refused by seccomp; the old root is left unreachable by any path.
        check(p, c"entering the new root", unsafe {
            libc::chroot(c".".as_ptr())
        })?;
    } else {
        check(p, c"pivoting into the new root", r)?;
        check(p, c"detaching the host's root", unsafe {
            libc::umount2(c".".as_ptr(), libc::MNT_DETACH)
        })?;
    }
    check(p, c"entering the tree", unsafe {
        libc::chdir(c"/".as_ptr())
    })?;
    check(p, c"entering the tree", unsafe {
        libc::chdir(p.tree.as_ptr())
    })?;
    Ok(())
}

fn set_limits(p: &Prepared) -> io::Result<()> {
    let limits = [
        (libc::RLIMIT_NPROC, p.limits.processes),
        (libc::RLIMIT_NOFILE, p.limits.open_files),
        (libc::RLIMIT_FSIZE, p.limits.file_size),
        (libc::RLIMIT_CPU, p.limits.cpu_seconds),
        (libc::RLIMIT_CORE, 0),
    ];
    for (resource, want) in limits {
        let mut current = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        unsafe { libc::getrlimit(resource, &mut current) };
        // Never above the hard limit jrt itself has (raising it needs privileges).
        let value = want.min(current.rlim_max);
        let new = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        check(p, c"setting the resource limits", unsafe {
            libc::setrlimit(resource, &new)
        })?;
    }
    Ok(())
}

/// No capabilities left in any set, none to regain, and no gaining privileges by exec.
fn drop_privileges(p: &Prepared) -> io::Result<()> {
    for cap in 0..64 {
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
        if r != 0 && errno() != libc::EINVAL {
            return fail(p, c"dropping the capability bounding set", errno());
        }
    }
    check(p, c"clearing ambient capabilities", unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    })?;
    check(p, c"clearing keep-capabilities", unsafe {
        libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0)
    })?;
    check(p, c"dropping capabilities", capset(0))?;
    check(p, c"setting no-new-privileges", unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    })
}

/// Sets the effective and permitted capability sets to `mask` (all or none).
fn capset(mask: u32) -> i32 {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let data = [Data {
        effective: mask,
        permitted: mask,
        inheritable: 0,
    }; 2];
    if mask != 0 {
        // Ask for what we hold: the kernel refuses a permitted set beyond it.
        let mut held = [Data {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        }; 2];
        let got = unsafe {
            libc::syscall(
                libc::SYS_capget,
                &header as *const Header,
                held.as_mut_ptr(),
            )
        };
        if got != 0 {
            return -1;
        }
        for d in &mut held {
            d.effective = d.permitted;
            d.inheritable = 0;
        }
        return unsafe { libc::syscall(libc::SYS_capset, &header as *const Header, held.as_ptr()) }
            as i32;
    }
    unsafe { libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) as i32 }
}

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `r` (a system call's return: negative on failure) as a result, saying `stage` on failure.
fn check(p: &Prepared, stage: &CStr, r: i32) -> io::Result<()> {
    if r < 0 {
        fail(p, stage, errno())
    } else {
        Ok(())
    }
}

fn fail(p: &Prepared, stage: &CStr, code: i32) -> io::Result<()> {
    say(p.why, stage.to_bytes());
    Err(io::Error::from_raw_os_error(code))
}

fn fail_at(p: &Prepared, stage: &CStr, path: &CStr, code: i32) -> io::Result<()> {
    say(p.why, stage.to_bytes());
    say(p.why, path.to_bytes());
    Err(io::Error::from_raw_os_error(code))
}

fn say(fd: RawFd, bytes: &[u8]) {
    unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
}
