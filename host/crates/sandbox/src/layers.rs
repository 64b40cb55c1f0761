//! Which layers of the sandbox this machine enforces, for `jrt detect --json` and
//! docs/security.md: found by trying them, not by reading version numbers alone.
//!
//! Trying the namespaces means running a confined `true`, which takes several milliseconds,
//! most of `jrt detect`. Its success can be kept in a record for the rest of the boot
//! ([`layers_recorded`]), under a key of everything that decides it: the boot, the kernel,
//! the user, this sandbox's version and the sysctls that allow user namespaces. Any change,
//! and any failure, tries again. Only what `jrt detect` shows is kept: every setup is
//! confined for real and stops when that fails.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Ids, Limits, Network, SandboxError, Spec};

/// One layer's state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Layer {
    pub active: bool,
    pub detail: String,
}

/// The sandbox's layers on this machine.
#[derive(Debug, Clone, Serialize)]
pub struct Layers {
    /// User, mount, PID, IPC, UTS and network namespaces, tried by running `true` confined.
    pub namespaces: Layer,
    pub seccomp: Layer,
    /// Landlock's filesystem rules (writes only below the tree).
    pub landlock: Layer,
    /// Landlock's TCP port rules (ABI 4 and later).
    pub landlock_network: Layer,
    /// The cgroup v2 memory limit.
    pub memory_limit: Layer,
    /// The uid/gid programs run as.
    pub runs_as: String,
}

/// Finds out which layers hold here, trying each.
pub fn layers() -> Layers {
    layers_recorded(None)
}

/// [`layers`], the namespaces taken from `record` when an earlier success this boot is kept
/// there under the current key, and kept there after a success.
pub fn layers_recorded(record: Option<&Path>) -> Layers {
    let ids = Ids::current();
    let namespaces = namespaces(record);
    let seccomp = match super::seccomp::programs() {
        // SAFETY: a query without side effects.
        Ok(_) if unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) } >= 0 => Layer {
            active: true,
            detail: "filter refusing mount, ptrace, kexec, modules, bpf, keyctl, namespaces, personality".into(),
        },
        Ok(_) => Layer {
            active: false,
            detail: "the kernel has no seccomp".into(),
        },
        Err(e) => Layer {
            active: false,
            detail: e.to_string(),
        },
    };
    let abi = landlock_abi();
    let landlock = Layer {
        active: abi > 0,
        detail: if abi > 0 {
            format!("ABI {abi}: writes only below the staging tree")
        } else {
            "the kernel has no Landlock (or it is not enabled at boot)".into()
        },
    };
    let landlock_network = Layer {
        active: abi >= 4,
        detail: if abi >= 4 {
            "TCP connect only to a step's declared ports".into()
        } else {
            "needs Landlock ABI 4 (Linux 6.7): ports are not enforced, the network namespace still is".into()
        },
    };
    let cgroup = super::cgroup::Cgroup::create(&Limits::default());
    let memory_limit = Layer {
        active: cgroup.unavailable.is_none(),
        detail: cgroup
            .unavailable
            .clone()
            .unwrap_or_else(|| "a cgroup v2 memory.max per setup program".into()),
    };
    cgroup.remove();
    Layers {
        namespaces,
        seccomp,
        landlock,
        landlock_network,
        memory_limit,
        runs_as: if ids.from_root {
            format!("uid {} gid {} (jrt runs as root)", ids.uid, ids.gid)
        } else {
            format!("uid {} gid {} (jrt's own)", ids.uid, ids.gid)
        },
    }
}

/// What a record holds: the key it was made under and the namespaces' state then.
#[derive(Serialize, Deserialize)]
struct Record {
    key: String,
    namespaces: Layer,
}

/// The most a record may be; real ones are a few hundred bytes.
const MAX_RECORD: u64 = 16 << 10;

fn namespaces(record: Option<&Path>) -> Layer {
    let Some(path) = record else {
        return try_namespaces();
    };
    let key = record_key();
    if let Ok(bytes) = jrt_fs::read_no_follow(path, MAX_RECORD)
        && let Ok(kept) = serde_json::from_slice::<Record>(&bytes)
        && kept.key == key
        && kept.namespaces.active
    {
        return kept.namespaces;
    }
    let layer = try_namespaces();
    if layer.active
        && let Ok(bytes) = serde_json::to_vec(&Record {
            key,
            namespaces: layer.clone(),
        })
    {
        // Only a speed-up: a record that cannot be written is tried again next time.
        if let Some(dir) = path.parent() {
            let _ = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir);
        }
        let _ = jrt_fs::write_atomic(path, &bytes);
    }
    layer
}

/// Runs a confined `true` now.
fn try_namespaces() -> Layer {
    match try_confined() {
        Ok(()) => Layer {
            active: true,
            detail: "user, mount, PID, IPC, UTS and network namespaces".into(),
        },
        Err(e) => Layer {
            active: false,
            detail: e.to_string(),
        },
    }
}

/// Everything the namespaces' answer depends on, as one line: this boot, the kernel, the user,
/// this sandbox's version, and the sysctls that allow or limit user namespaces.
fn record_key() -> String {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .map(|t| t.trim().to_string())
            .unwrap_or_else(|_| "-".into())
    };
    let mut key = vec![
        read("/proc/sys/kernel/random/boot_id"),
        read("/proc/sys/kernel/osrelease"),
        read("/proc/sys/kernel/version"),
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() }.to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    ];
    for sysctl in [
        "/proc/sys/kernel/unprivileged_userns_clone",
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        "/proc/sys/user/max_user_namespaces",
        "/proc/sys/user/max_mnt_namespaces",
        "/proc/sys/user/max_pid_namespaces",
        "/proc/sys/user/max_net_namespaces",
        "/proc/sys/user/max_ipc_namespaces",
        "/proc/sys/user/max_uts_namespaces",
    ] {
        key.push(read(sysctl));
    }
    key.join(" ")
}

/// The Landlock ABI version, 0 without Landlock.
fn landlock_abi() -> i64 {
    const VERSION: libc::c_uint = 1;
    // SAFETY: the version query takes no attributes.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            VERSION,
        )
    };
    v.max(0)
}

/// Why a confined `true` could not run here.
#[derive(Debug, thiserror::Error)]
enum TryError {
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
    #[error("this machine has no `true` to try the sandbox with")]
    NoTrue,
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("`true` did not succeed in the sandbox: {0}")]
    Failed(String),
}

fn try_confined() -> Result<(), TryError> {
    let tmp = tempfile::tempdir().map_err(jrt_fs::io("cannot create", &std::env::temp_dir()))?;
    let tree = tmp.path().join("tree");
    std::fs::create_dir(&tree).map_err(jrt_fs::io("cannot create", &tree))?;
    let tree = tree
        .canonicalize()
        .map_err(jrt_fs::io("cannot resolve", &tree))?;
    let spec = Spec {
        tree,
        writable: false,
        network: Network::None,
        read_only: Vec::new(),
        limits: Limits::default(),
        job: None,
    };
    let program = ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .map(std::path::Path::new)
        .find(|p| p.exists())
        .ok_or(TryError::NoTrue)?;
    let ran = super::run(
        &spec,
        program,
        &[],
        &[],
        Duration::from_secs(10),
        crate::process::Keep::Tail(4096),
    )?;
    if ran.finished.code == Some(0) {
        Ok(())
    } else {
        Err(TryError::Failed(ran.finished.stderr.trim().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record made under the current key is taken; one made under another key (another
    /// boot, kernel or sysctl) or that says the namespaces failed is not.
    #[test]
    fn a_record_is_taken_only_under_its_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/sandbox.json");
        let write = |key: String, active: bool| {
            let record = Record {
                key,
                namespaces: Layer {
                    active,
                    detail: "kept".into(),
                },
            };
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
        };
        write(record_key(), true);
        assert_eq!(namespaces(Some(&path)).detail, "kept");

        for (key, active) in [(format!("{} x", record_key()), true), (record_key(), false)] {
            write(key, active);
            let tried = namespaces(Some(&path));
            assert_ne!(tried.detail, "kept");
            // A success is recorded under the current key; a failure is not.
            let kept: Record = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            if tried.active {
                assert_eq!((kept.key, kept.namespaces), (record_key(), tried));
            }
        }
    }
}
