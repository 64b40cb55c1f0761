//! The cgroup v2 layer: a child cgroup of jrt's own with `memory.max` (and `pids.max`) for the
//! sandbox, when the machine delegates those controllers to jrt. When it does not (a login
//! shell's session scope, cgroup v1), the namespaces and rlimits still hold and the install
//! says the memory limit was not enforced.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::Limits;

/// A cgroup made for one confined program, removed by [`Cgroup::remove`].
pub struct Cgroup {
    /// Its `cgroup.procs`, open for writing: the child writes itself into it.
    pub procs: Option<File>,
    dir: Option<PathBuf>,
    /// Why there is none.
    pub unavailable: Option<String>,
}

impl Cgroup {
    pub fn create(limits: &Limits) -> Cgroup {
        match make(limits) {
            Ok((dir, procs)) => Cgroup {
                procs: Some(procs),
                dir: Some(dir),
                unavailable: None,
            },
            Err(why) => Cgroup {
                procs: None,
                dir: None,
                unavailable: Some(format!("the setup's memory limit is not enforced: {why}")),
            },
        }
    }

    /// No cgroup: a job's (`jrt run`) resources are Joblet's to limit, not jrt's.
    pub fn none() -> Cgroup {
        Cgroup {
            procs: None,
            dir: None,
            unavailable: None,
        }
    }

    /// Removes the cgroup once its processes are gone (they die with the sandbox's PID 1, which
    /// can take a moment).
    pub fn remove(self) {
        drop(self.procs);
        if let Some(dir) = self.dir {
            for _ in 0..50 {
                if std::fs::remove_dir(&dir).is_ok() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

/// jrt's own cgroup v2 directory.
fn own() -> Result<PathBuf, String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    // `... <mount point> <options> - cgroup2 <source> <options>`
    let mount = mountinfo
        .lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            right
                .starts_with("cgroup2 ")
                .then(|| left.split(' ').nth(4).map(PathBuf::from))?
        })
        .ok_or("this machine has no cgroup v2 hierarchy")?;
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
    let path = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or("jrt is not in a cgroup v2 group")?;
    Ok(mount.join(path.trim_start_matches('/')))
}

fn make(limits: &Limits) -> Result<(PathBuf, File), String> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let base = own()?;
    let dir = base.join(format!(
        "jrt-setup-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&dir)
        .map_err(|e| format!("jrt cannot create a cgroup below {} ({e})", base.display()))?;
    let made = (|| {
        let memory = dir.join("memory.max");
        if !memory.exists() {
            return Err(format!(
                "the memory controller is not enabled for {} (cgroup.subtree_control)",
                base.display()
            ));
        }
        write(&memory, &limits.memory_bytes.to_string())?;
        let pids = dir.join("pids.max");
        if pids.exists() {
            write(&pids, &limits.processes.to_string())?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.procs"))
            .map_err(|e| format!("cannot open {}/cgroup.procs: {e}", dir.display()))
    })();
    match made {
        Ok(procs) => Ok((dir, procs)),
        Err(e) => {
            let _ = std::fs::remove_dir(&dir);
            Err(e)
        }
    }
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
