//! Which layers of the sandbox this machine enforces, for `jrt detect --json` and
//! docs/security.md: found by trying them, not by reading version numbers alone.

use std::time::Duration;

use serde::Serialize;

use super::{Ids, Limits, Network, SandboxError, Spec};

/// One layer's state.
#[derive(Debug, Clone, Serialize)]
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

/// Finds out which layers hold here.
pub fn layers() -> Layers {
    let ids = Ids::current();
    let namespaces = match try_confined() {
        Ok(()) => Layer {
            active: true,
            detail: "user, mount, PID, IPC, UTS and network namespaces".into(),
        },
        Err(e) => Layer {
            active: false,
            detail: e.to_string(),
        },
    };
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
