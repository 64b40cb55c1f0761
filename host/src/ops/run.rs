//! `jrt run <spec> -- <cmd>...`: runs a command inside an installed runtime the way Joblet
//! runs a job, so a runtime can be proven without a Joblet server.
//!
//! The job is contained by the same sandbox as setup programs ([`jrt_sandbox::run_job`]):
//! new PID, mount, IPC and UTS namespaces (and a user namespace), so the command is PID 1
//! with a fresh `/proc` and `/proc/1/root` is its own root; a read-only root holding the
//! host's system directories and `/etc` read-only, a minimal `/dev`, a private `/tmp`, and
//! the runtime.yml mounts at their targets, read-only unless runtime.yml says otherwise
//! (recursive binds, every submount read-only too); no capabilities, `no_new_privs`, the
//! seccomp filter and Landlock. It runs as the sandbox user, or `--user UID[:GID]`;
//! `--privileged` (as root) keeps root and its capabilities. The host's network is kept,
//! as Joblet's default host-network jobs have it.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::ops::installed::{installed, matching};
use jrt_install::layout::Layout;
use jrt_registry::Spec;
use jrt_sandbox::{Job, JobMount, Network};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0} is not installed (see `jrt list`)")]
    NotInstalled(String),
    #[error("{}: cannot read runtime.yml: {reason}", dir.display())]
    RuntimeYml { dir: PathBuf, reason: String },
    #[error("jrt run: {0}")]
    Mount(jrt_fs::IoError),
    #[error("cannot run `{program}` in {runtime}: {source}")]
    Exec {
        program: String,
        runtime: String,
        source: jrt_sandbox::SandboxError,
    },
    #[error("{0}")]
    Options(String),
}

/// How `jrt run` runs the command.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--user UID[:GID]`.
    pub user: Option<(u32, u32)>,
    /// `--privileged`.
    pub privileged: bool,
}

/// Parses a spec as Joblet's `--runtime` takes it: `NAME`, `NAME@latest` or `NAME@X.Y.Z`
/// (with a pre-release or build part). Ranges are for `jrt install`.
pub fn joblet_spec(text: &str) -> Result<Spec, RunError> {
    let spec: Spec = text
        .parse()
        .map_err(|e: jrt_registry::spec::SpecError| RunError::Options(e.to_string()))?;
    if let jrt_registry::VersionReq::Req(_, range) = &spec.req {
        return Err(RunError::Options(format!(
            "jrt run takes what Joblet's --runtime takes: {name}, {name}@latest or \
             {name}@X.Y.Z; a range such as '{range}' is for jrt install",
            name = spec.name,
            range = jrt_input::display::safe(range),
        )));
    }
    Ok(spec)
}

/// Parses `UID[:GID]` (the gid defaults to the uid).
pub fn parse_user(text: &str) -> Result<(u32, u32), RunError> {
    let bad = || {
        RunError::Options(format!(
            "--user '{}' is not UID or UID:GID (numbers)",
            jrt_input::display::safe(text)
        ))
    };
    let (uid, gid) = match text.split_once(':') {
        Some((u, g)) => (u, g),
        None => (text, text),
    };
    Ok((
        uid.parse().map_err(|_| bad())?,
        gid.parse().map_err(|_| bad())?,
    ))
}

pub use jrt_package::runtime_yml::{MountYml, RuntimeYml};

/// The installed runtime a spec names, as Joblet picks it (a bare name or `@latest`: the
/// version Joblet's resolver finds first; `@X.Y.Z`: that one), and its runtime.yml, with every
/// mount checked: sources inside the runtime, targets absolute without `..`.
pub fn find(layout: &Layout, spec: &Spec) -> Result<(PathBuf, RuntimeYml), RunError> {
    let all = installed(layout);
    let found = matching(&all, spec);
    let picked = match spec.req {
        jrt_registry::VersionReq::Latest => found.into_iter().find(|i| i.default),
        _ => found.last().copied(),
    };
    let dir = picked.map(|i| i.path.clone()).ok_or_else(|| {
        RunError::NotInstalled(match spec.req {
            jrt_registry::VersionReq::Latest => spec.name.clone(),
            _ => spec.to_string(),
        })
    })?;
    let bad = |reason: String| RunError::RuntimeYml {
        dir: dir.clone(),
        reason,
    };
    let yml = RuntimeYml::read(&dir).map_err(|e| bad(e.to_string()))?;
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

/// Runs `command` in the runtime in `dir` as a contained job; returns its exit code (128 plus
/// the signal when a signal ended it), which `jrt run` exits with.
pub fn run(
    layout: &Layout,
    dir: &Path,
    yml: &RuntimeYml,
    command: &[String],
    options: &RunOptions,
) -> Result<i32, RunError> {
    use std::os::unix::process::ExitStatusExt;
    let runtime = format!("{}@{}", yml.name, yml.version);
    let program = command.first().cloned().unwrap_or_default();
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if options.privileged && me != 0 {
        return Err(RunError::Options(
            "--privileged needs jrt to run as root".into(),
        ));
    }
    if let Some((uid, _)) = options.user
        && me != 0
        && uid != me
    {
        return Err(RunError::Options(format!(
            "--user {uid}: only root may run a job as another user"
        )));
    }
    let dir = dir.canonicalize().map_err(|e| RunError::RuntimeYml {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    // Scratch (the root's mount point, /tmp) lives under the root's own metadata directory,
    // which only jrt's user may write (`paths::check_trusted`); never through a link.
    let scratch = layout.meta().join("run");
    std::fs::create_dir_all(&scratch)
        .map_err(|e| RunError::Mount(jrt_fs::io("cannot create", &scratch)(e)))?;
    if !std::fs::symlink_metadata(&scratch).is_ok_and(|m| m.is_dir()) {
        return Err(RunError::Mount(jrt_fs::io("refusing to use", &scratch)(
            std::io::Error::other("it is not a directory (a symbolic link?)"),
        )));
    }
    // Parents before children, so a mount inside another one lands on top of it.
    let mut mounts: Vec<JobMount> = yml
        .mounts
        .iter()
        .map(|m| JobMount {
            source: dir.join(&m.source),
            target: PathBuf::from(&m.target),
            readonly: m.readonly,
        })
        .collect();
    mounts.sort_by_key(|m| m.target.components().count());
    let spec = jrt_sandbox::Spec {
        tree: dir.clone(),
        writable: false,
        network: Network::Host,
        read_only: Vec::new(),
        limits: jrt_sandbox::Limits {
            // A job's own business; Joblet sets its limits, not jrt.
            processes: u64::MAX,
            open_files: 1 << 20,
            file_size: u64::MAX,
            cpu_seconds: 0,
            memory_bytes: u64::MAX,
        },
        job: Some(Job {
            mounts,
            scratch,
            user: options.user,
            privileged: options.privileged,
        }),
    };
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into());
    env.insert("HOME".into(), "/tmp".into());
    if let Ok(term) = std::env::var("TERM") {
        env.insert("TERM".into(), term);
    }
    env.extend(yml.environment.clone());
    let env: Vec<(String, String)> = env.into_iter().collect();
    let status = jrt_sandbox::run_job(&spec, Path::new(&program), &command[1..], &env).map_err(
        |source| RunError::Exec {
            program: program.clone(),
            runtime,
            source,
        },
    )?;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}
