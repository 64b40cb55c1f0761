//! The cgroup v2 layer: a child cgroup of jrt's own with `memory.max` (and `pids.max`) for the
//! sandbox, when the machine delegates those controllers to jrt. When it does not (a login
//! shell's session scope, cgroup v1), the namespaces and rlimits still hold and the install
//! says the memory limit was not enforced.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::Limits;

/// Why the sandbox gets no cgroup of its own here.
#[derive(Debug, thiserror::Error)]
enum Unavailable {
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
    #[error("this machine has no cgroup v2 hierarchy")]
    NoHierarchy,
    #[error("jrt is not in a cgroup v2 group")]
    NotInGroup,
    #[error("jrt cannot create a cgroup below {} ({error})", .base.display())]
    CannotCreate {
        base: PathBuf,
        error: std::io::Error,
    },
    #[error("the memory controller is not enabled for {} (cgroup.subtree_control)", .0.display())]
    NoMemoryController(PathBuf),
}

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
fn own() -> Result<PathBuf, Unavailable> {
    let read = |path: &str| {
        std::fs::read_to_string(path).map_err(|e| jrt_fs::io("cannot read", Path::new(path))(e))
    };
    let mountinfo = read("/proc/self/mountinfo")?;
    // `... <mount point> <options> - cgroup2 <source> <options>`
    let mount = mountinfo
        .lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            right
                .starts_with("cgroup2 ")
                .then(|| left.split(' ').nth(4).map(PathBuf::from))?
        })
        .ok_or(Unavailable::NoHierarchy)?;
    let own = read("/proc/self/cgroup")?;
    let path = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or(Unavailable::NotInGroup)?;
    Ok(mount.join(path.trim_start_matches('/')))
}

fn make(limits: &Limits) -> Result<(PathBuf, File), Unavailable> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let base = own()?;
    let dir = base.join(format!(
        "jrt-setup-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&dir).map_err(|error| Unavailable::CannotCreate {
        base: base.clone(),
        error,
    })?;
    let made = (|| {
        let memory = dir.join("memory.max");
        if !memory.exists() {
            return Err(Unavailable::NoMemoryController(base.clone()));
        }
        write(&memory, &limits.memory_bytes.to_string())?;
        let pids = dir.join("pids.max");
        if pids.exists() {
            write(&pids, &limits.processes.to_string())?;
        }
        let procs = dir.join("cgroup.procs");
        Ok(std::fs::OpenOptions::new()
            .write(true)
            .open(&procs)
            .map_err(jrt_fs::io("cannot open", &procs))?)
    })();
    match made {
        Ok(procs) => Ok((dir, procs)),
        Err(e) => {
            let _ = std::fs::remove_dir(&dir);
            Err(e)
        }
    }
}

fn write(path: &Path, value: &str) -> Result<(), Unavailable> {
    std::fs::write(path, value).map_err(jrt_fs::io("cannot write", path))?;
    Ok(())
}
