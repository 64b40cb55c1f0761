//! Running a child process to completion: both pipes drained as it runs (each kept to a cap,
//! so a chatty program neither blocks nor fills memory), a wall-clock timeout, and the whole
//! process group killed when it ends, so nothing it started outlives it.
//!
//! The one place jrt waits on a program. What the program may do is decided by whoever
//! builds the [`Command`]: [`crate::sandbox`] confines plan programs, [`crate::facts`] runs
//! the host's own tools.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one program printed, and how it ended.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    /// The exit code; none when it was killed by a signal or timed out.
    pub code: Option<i32>,
    /// The signal that killed it, when one did.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

/// Whether to keep the first or the last bytes of a stream past its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The first `n` bytes (a report that is parsed: its start matters).
    Head(usize),
    /// The last `n` bytes (a log shown on failure: its end matters).
    Tail(usize),
}

/// Spawns `cmd` in its own process group with stdin closed and both outputs piped, then
/// waits up to `timeout`. `spawn` is what starts it (a retry loop, a sandbox's bookkeeping);
/// an error from it is returned as is.
pub fn run<E>(
    cmd: &mut Command,
    keep: Keep,
    timeout: Duration,
    spawn: impl FnOnce(&mut Command) -> Result<std::process::Child, E>,
) -> Result<Finished, E> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout kills what it started too.
        .process_group(0);
    let mut child = spawn(cmd)?;
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _), keep);
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _), keep);
    let deadline = Instant::now() + timeout;
    let exited = Exit::watch(&child);
    let (status, timed_out) = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                // Anything it left running in its group would hold the output pipes open
                // (and outlive it): stop it.
                kill_group(&child);
                break (Some(status), false);
            }
            Ok(None) if Instant::now() < deadline => exited.wait(deadline),
            _ => {
                kill_group(&child);
                let _ = child.wait();
                break (None, true);
            }
        }
    };
    use std::os::unix::process::ExitStatusExt;
    Ok(Finished {
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        timed_out,
    })
}

/// Waits for a child to exit without reaping it: on a pidfd, which the kernel wakes the moment
/// the child exits (Linux 5.3 and later), else by sleeping a little. Short programs (probes,
/// the sandbox check of `jrt detect`) are then seen to end when they end, not at the next tick.
struct Exit(Option<OwnedFd>);

impl Exit {
    fn watch(child: &std::process::Child) -> Exit {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1. The
        // child is ours and not yet reaped, so its pid cannot have been reused.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
        let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0);
        // SAFETY: a descriptor just returned to us, owned by nothing else.
        Exit(fd.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Returns once the child may have exited, or at `deadline`, or a little before.
    fn wait(&self, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        match &self.0 {
            Some(fd) => {
                let mut poll = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                let ms = i32::try_from(left.as_millis() + 1).unwrap_or(i32::MAX);
                // SAFETY: one pollfd of our own; an interrupted poll only returns early.
                unsafe { libc::poll(&mut poll, 1, ms) };
            }
            None => std::thread::sleep(left.min(Duration::from_millis(5))),
        }
    }
}

fn kill_group(child: &std::process::Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: signalling the process group we created; ESRCH when it is empty.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}

/// Reads a pipe to its end on a thread of its own, keeping what `keep` says.
fn drain(pipe: Option<Box<dyn Read + Send>>, keep: Keep) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut kept: Vec<u8> = Vec::new();
        if let Some(mut pipe) = pipe {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                match keep {
                    Keep::Head(cap) => {
                        let room = cap.saturating_sub(kept.len());
                        kept.extend_from_slice(&buf[..n.min(room)]);
                    }
                    Keep::Tail(cap) => {
                        kept.extend_from_slice(&buf[..n]);
                        if kept.len() > cap {
                            kept.drain(..kept.len() - cap);
                        }
                    }
                }
            }
        }
        String::from_utf8_lossy(&kept).into_owned()
    })
}
