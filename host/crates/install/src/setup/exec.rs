//! Executing a checked plan in the staging tree.

use jrt_fs::cache::Cache;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use super::check::Refusal;
use super::check::{Policy, check};
use super::{SetupError, StepError};
use jrt_extract::{Limits, extract};

use jrt_client::http::Http;
use jrt_plugin_host::types::{Plan, Probe, ProbeOutput, SetupStep};
use jrt_sandbox::Network;
use jrt_sandbox::process::Keep;

/// Output kept from a program: its last this-many bytes.
const MAX_OUTPUT: usize = 1 << 20;
/// Output kept from a probe: its first this-many bytes (what capture-versions parses).
const MAX_PROBE_OUTPUT: usize = 2 << 20;

/// The network a plan's `run` steps may use: the hosts are shown and recorded, the ports
/// enforced where Landlock can. No grant: an empty network namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Grant {
    pub hosts: Vec<String>,
    pub ports: Vec<u16>,
}

/// What a plan runs with.
pub struct Executor<'a> {
    /// The runtime tree being built (the staging tree).
    pub tree: &'a Path,
    /// Where fetched files are cached, by sha256.
    pub cache: &'a Cache,
    pub http: Option<&'a Http>,
    pub policy: Policy,
    /// The timeout for `run` steps that ask for none.
    pub default_timeout: Duration,
    /// Advanced by one per step, its message naming the step.
    pub task: Option<&'a dyn jrt_client::progress::Task>,
    /// The network the plan's `run` steps get; none by default.
    pub network: Option<Grant>,
    /// The sha256 of every build fetched into the cache, for the receipt (so cache
    /// housekeeping keeps what an installed runtime came from).
    pub fetched: Option<&'a std::sync::Mutex<Vec<String>>>,
}

/// What one program printed.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

/// Checks the whole plan, then runs its steps in order, then takes the tree back from the
/// sandbox user and checks what the plan made ([`super::check_tree`]). Returns notes worth
/// showing (a limit the machine could not enforce, setuid bits stripped).
pub fn execute(plan: &Plan, ex: &Executor<'_>) -> Result<Vec<String>, SetupError> {
    check(plan, &ex.policy)?;
    let tree = ex
        .tree
        .canonicalize()
        .map_err(jrt_fs::io("cannot open", ex.tree))?;
    let mut notes = Vec::new();
    // Checked before the tree is taken back: handing a file to root clears its setuid bit
    // silently, and the user should hear what the plan tried.
    let ran = run_steps(plan, ex, &tree, &mut notes).and_then(|()| super::check_tree(&tree));
    // Whatever happened, the tree is root's again before anyone looks at it.
    jrt_sandbox::reclaim(&tree).map_err(jrt_fs::io("cannot take back", &tree))?;
    notes.extend(ran?);
    notes.dedup();
    Ok(notes)
}

fn run_steps(
    plan: &Plan,
    ex: &Executor<'_>,
    tree: &Path,
    notes: &mut Vec<String>,
) -> Result<(), SetupError> {
    let tree = tree.to_path_buf();
    for (i, step) in plan.steps.iter().enumerate() {
        let n = i + 1;
        if let Some(task) = ex.task {
            task.message(&super::step_label(step));
        }
        let failed = |kind: &'static str| {
            move |reason: StepError| SetupError::Failed {
                step: n,
                kind,
                reason: Box::new(reason),
            }
        };
        match step {
            SetupStep::Mkdir(p) => {
                safe_dir(&tree, Path::new(p)).map_err(failed("mkdir"))?;
            }
            SetupStep::CopyFromHost(c) => {
                // The check was on the path as written; opened beneath its prefix, a symlink
                // among its parents (Debian's /usr/lib/ssl/private -> /etc/ssl/private) cannot
                // reach further.
                let dest = safe_new(&tree, &c.target).map_err(failed("copy-from-host"))?;
                let source = Path::new(&c.source);
                let exclude: Vec<PathBuf> = c.exclude.iter().map(|e| source.join(e)).collect();
                super::hostcopy::copy_tree(&c.source, &dest, &exclude, &ex.policy.copy_prefixes)
                    .map_err(failed("copy-from-host"))?;
            }
            SetupStep::CopyLibraries(c) => {
                let dir =
                    safe_dir(&tree, Path::new(&c.target)).map_err(failed("copy-libraries"))?;
                for binary in &c.binaries {
                    let bin = safe_existing(&tree, binary).map_err(failed("copy-libraries"))?;
                    for file in elf_files(&bin).map_err(failed("copy-libraries"))? {
                        copy_closure(&tree, &file, &dir, &ex.policy, notes)
                            .map_err(failed("copy-libraries"))?;
                    }
                }
            }
            SetupStep::Fetch(f) => {
                let file = fetch_pinned(&f.url, &f.sha256, ex).map_err(failed("fetch"))?;
                if f.unpack {
                    unpack(&tree, &file, &f.target, f.strip_components).map_err(failed("fetch"))?;
                } else {
                    let dest = safe_new(&tree, &f.target).map_err(failed("fetch"))?;
                    std::fs::copy(&file, &dest).map_err(|e| {
                        failed("fetch")(jrt_fs::io("cannot write", &dest)(e).into())
                    })?;
                }
            }
            SetupStep::Run(r) => {
                let program = program_path(&tree, &r.program).map_err(failed("run"))?;
                let seconds = if r.timeout_seconds == 0 {
                    ex.default_timeout.as_secs() as u32
                } else {
                    r.timeout_seconds
                };
                let seconds = seconds.min(ex.policy.max_timeout_seconds);
                // The user's own settings first; the plan's win where both name a variable.
                let mut env: Vec<(String, String)> = ex
                    .policy
                    .pass_env
                    .iter()
                    .filter_map(|k| Some((k.clone(), resolved_paths(&std::env::var(k).ok()?))))
                    .collect();
                env.extend(library_path_in_tree(
                    &tree,
                    plan.mounts
                        .iter()
                        .map(|m| (m.source.as_str(), m.target.as_str())),
                    &plan.environment,
                ));
                let spec = jrt_sandbox::Spec {
                    tree: tree.clone(),
                    writable: true,
                    network: match step_grant(r, ex.network.as_ref()) {
                        None => Network::None,
                        Some(grant) => Network::Ports(with_passed_ports(&grant.ports, &env)),
                    },
                    read_only: passed_paths(&env),
                    limits: ex.policy.limits,
                    job: None,
                };
                for (k, v) in &r.env {
                    let v = if k == "LD_LIBRARY_PATH" {
                        in_tree(&tree, v)
                    } else {
                        v.clone()
                    };
                    env.push((k.clone(), v));
                }
                let out = run(
                    &spec,
                    &program,
                    &r.args,
                    &env,
                    Duration::from_secs(u64::from(seconds)),
                    Keep::Tail(MAX_OUTPUT),
                    notes,
                )
                .map_err(failed("run"))?;
                let output = format!("{}{}", out.stdout, out.stderr);
                if out.timed_out {
                    return Err(SetupError::Timeout {
                        step: n,
                        program: r.program.clone(),
                        seconds,
                        output,
                    });
                }
                if out.code != Some(0) {
                    return Err(SetupError::Program {
                        step: n,
                        program: r.program.clone(),
                        code: out.code,
                        output,
                    });
                }
            }
            SetupStep::WriteFile(w) => {
                let dest = safe_new(&tree, &w.target).map_err(failed("write-file"))?;
                std::fs::write(&dest, &w.contents).map_err(|e| {
                    failed("write-file")(jrt_fs::io("cannot write", &dest)(e).into())
                })?;
                let mode = if w.executable { 0o755 } else { 0o644 };
                std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode)).map_err(
                    |e| failed("write-file")(jrt_fs::io("cannot set the mode of", &dest)(e).into()),
                )?;
            }
            SetupStep::Symlink(s) => {
                let link = safe_new(&tree, &s.link).map_err(failed("symlink"))?;
                std::os::unix::fs::symlink(&s.target, &link)
                    .map_err(|e| failed("symlink")(jrt_fs::io("cannot create", &link)(e).into()))?;
            }
        }
        if let Some(task) = ex.task {
            task.advance(1);
        }
    }
    Ok(())
}

/// The network a run step gets: what it declared (API 1.1), else the grant the runtime's
/// manifest gives a 1.0 plugin's steps, else none.
pub fn step_grant(
    step: &jrt_plugin_host::types::RunProgram,
    grant: Option<&Grant>,
) -> Option<Grant> {
    if step.network.is_empty() {
        return grant.cloned();
    }
    let mut declared = Grant::default();
    for e in &step.network {
        declared.hosts.push(format!("{}:{}", e.host, e.port));
        declared.ports.push(e.port);
    }
    declared.ports.sort_unstable();
    declared.ports.dedup();
    Some(declared)
}

/// Runs the plan's probes in the finished tree, confined and read-only over it, and returns
/// what they printed (each stream cut at a few MiB). Only programs inside the tree are
/// probed; the host's own tools are probed by the host ([`crate::facts`]).
pub fn run_probes(
    tree: &Path,
    probes: &[Probe],
    env: &[(String, String)],
    timeout: Duration,
) -> Vec<ProbeOutput> {
    let tree = tree.canonicalize().unwrap_or_else(|_| tree.to_path_buf());
    let spec = jrt_sandbox::Spec {
        tree: tree.clone(),
        writable: false,
        network: Network::None,
        read_only: Vec::new(),
        limits: jrt_sandbox::Limits::default(),
        job: None,
    };
    probes
        .iter()
        .map(|p| {
            let result = if p.program.starts_with('/') {
                Err(Refusal::HostProbe(p.program.clone()).into())
            } else {
                safe_existing(&tree, &p.program)
            };
            let result = result.and_then(|program| {
                run(
                    &spec,
                    &program,
                    &p.args,
                    env,
                    timeout,
                    Keep::Head(MAX_PROBE_OUTPUT),
                    &mut Vec::new(),
                )
            });
            match result {
                Ok(out) => ProbeOutput {
                    name: p.name.clone(),
                    exit_code: if out.timed_out { None } else { out.code },
                    stdout: out.stdout,
                    stderr: out.stderr,
                },
                Err(e) => ProbeOutput {
                    name: p.name.clone(),
                    exit_code: None,
                    stdout: String::new(),
                    stderr: e.to_string(),
                },
            }
        })
        .collect()
}

/// The runtime's `LD_LIBRARY_PATH` (job paths, below its mount targets) as the same
/// directories of the tree, so setup programs and probes load the runtime's own libraries
/// as the job will: the host's copies of them are not visible in the sandbox.
pub fn library_path_in_tree<'a>(
    tree: &Path,
    mounts: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    environment: &[(String, String)],
) -> Option<(String, String)> {
    let (_, value) = environment.iter().find(|(k, _)| k == "LD_LIBRARY_PATH")?;
    let dirs: Vec<String> = value
        .split(':')
        .filter_map(|dir| {
            mounts.clone().find_map(|(source, target)| {
                let rest = Path::new(dir).strip_prefix(target).ok()?;
                Some(tree.join(source).join(rest).display().to_string())
            })
        })
        .collect();
    (!dirs.is_empty()).then(|| ("LD_LIBRARY_PATH".to_string(), dirs.join(":")))
}

/// A step's own `LD_LIBRARY_PATH` (tree-relative, as the plan check requires), absolute.
fn in_tree(tree: &Path, value: &str) -> String {
    value
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| tree.join(d).display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// The ports of the package indexes and proxies the user passed through (`PIP_INDEX_URL`,
/// `HTTPS_PROXY`, ...), added to a grant: the user's own configuration must keep working.
fn with_passed_ports(ports: &[u16], env: &[(String, String)]) -> Vec<u16> {
    let mut out = ports.to_vec();
    for (_, value) in env {
        for word in value.split_whitespace() {
            if let Ok(url) = url::Url::parse(word)
                && matches!(url.scheme(), "http" | "https")
                && let Some(port) = url.port_or_known_default()
            {
                out.push(port);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A passed-through value with each host path in it (a word that is an absolute path, or a
/// `file://` URL) resolved: `..` and symbolic links are the host's, so the step sees the path
/// the sandbox shows, not one through directories it does not show.
fn resolved_paths(value: &str) -> String {
    value
        .split(' ')
        .map(
            |word| match host_path(word).and_then(|p| p.canonicalize().ok()) {
                Some(real) if word.starts_with("file:") => url::Url::from_file_path(&real)
                    .map_or_else(|()| word.to_string(), |u| u.to_string()),
                Some(real) => real.display().to_string(),
                None => word.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// Host paths the user passed through (`PIP_FIND_LINKS` directories, CA bundles), which the
/// sandbox shows read-only.
fn passed_paths(env: &[(String, String)]) -> Vec<PathBuf> {
    env.iter()
        .flat_map(|(_, v)| v.split_whitespace())
        .filter_map(host_path)
        .filter(|p| p.exists())
        .collect()
}

/// The host path a word of a passed-through value names: an absolute path, or a `file://`
/// URL's; none for other URLs and words.
fn host_path(word: &str) -> Option<PathBuf> {
    match url::Url::parse(word) {
        Ok(url) if url.scheme() == "file" => url.to_file_path().ok(),
        Ok(_) => None,
        Err(_) => Some(PathBuf::from(word)),
    }
    .filter(|p| p.is_absolute())
}

/// Makes sure `dir` (relative) exists inside `tree`, creating it one level at a time and
/// refusing any existing level that resolves outside the tree (a symlink pointing out).
fn safe_dir(tree: &Path, rel: &Path) -> Result<PathBuf, StepError> {
    let mut at = tree.to_path_buf();
    for c in rel.components() {
        let Component::Normal(part) = c else { continue };
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(_) => {
                let real = at
                    .canonicalize()
                    .map_err(jrt_fs::io("cannot resolve", &at))?;
                if !real.starts_with(tree) {
                    return Err(StepError::Outside {
                        path: rel.display().to_string(),
                        real: Some(real),
                    });
                }
                if !real.is_dir() {
                    return Err(StepError::NotADirectory(at));
                }
                at = real;
            }
            Err(_) => std::fs::create_dir(&at).map_err(jrt_fs::io("cannot create", &at))?,
        }
    }
    Ok(at)
}

/// The path for a new entry `rel` inside `tree`: its parent made safely, the entry itself
/// not existing yet (nothing is overwritten or written through).
fn safe_new(tree: &Path, rel: &str) -> Result<PathBuf, StepError> {
    let rel = Path::new(rel);
    let name = rel
        .file_name()
        .ok_or_else(|| Refusal::NoFileName(rel.display().to_string()))?;
    let parent = safe_dir(tree, rel.parent().unwrap_or(Path::new("")))?;
    let path = parent.join(name);
    if std::fs::symlink_metadata(&path).is_ok() {
        return Err(StepError::Exists(rel.display().to_string()));
    }
    Ok(path)
}

/// An existing entry inside the tree, resolved and checked to stay inside.
fn safe_existing(tree: &Path, rel: &str) -> Result<PathBuf, StepError> {
    let real = tree
        .join(rel)
        .canonicalize()
        .map_err(|error| StepError::Missing {
            path: rel.to_string(),
            error,
        })?;
    if !real.starts_with(tree) {
        return Err(StepError::Outside {
            path: rel.to_string(),
            real: None,
        });
    }
    Ok(real)
}

/// A run step's program: a host program (allowed by the plan check, seen inside the sandbox
/// at the same path) or one inside the tree.
fn program_path(tree: &Path, program: &str) -> Result<PathBuf, StepError> {
    if program.starts_with('/') {
        Ok(PathBuf::from(program))
    } else {
        safe_existing(tree, program)
    }
}

/// `path` itself when it is a file, or every ELF file below it when it is a directory
/// (symlinks are not followed: their targets are in the tree or were refused earlier).
fn elf_files(path: &Path) -> Result<Vec<PathBuf>, StepError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(jrt_fs::io("cannot read", &dir))?
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                stack.push(e.path());
            } else if kind.is_file() && is_elf(&e.path()) {
                out.push(e.path());
            }
        }
    }
    Ok(out)
}

fn is_elf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

/// The C library's own objects: they must come from the same glibc as the dynamic loader of
/// the root the job runs in, so they are never copied into a runtime.
fn is_libc_part(name: &str) -> bool {
    const GLIBC: [&str; 16] = [
        "ld-linux",
        "libc.so",
        "libm.so",
        "libmvec.so",
        "libpthread.so",
        "libdl.so",
        "librt.so",
        "libutil.so",
        "libresolv.so",
        "libanl.so",
        "libnsl.so",
        "libBrokenLocale.so",
        "libthread_db.so",
        "libnss_",
        "libc_malloc_debug.so",
        "libmemusage.so",
    ];
    GLIBC.iter().any(|p| name.starts_with(p))
}

/// Copies the shared libraries `binary` needs (as `ldd` resolves them on this host) into `dir`,
/// each under the name the binary asks for. `ldd` runs confined (read-only, no network): an
/// ELF can name its own loader, so asking for its libraries runs code the plan chose. Only
/// files the copy allow-list permits and that are world-readable on the host are copied,
/// whatever a planted RUNPATH or absolute `DT_NEEDED` names.
fn copy_closure(
    tree: &Path,
    binary: &Path,
    dir: &Path,
    policy: &Policy,
    notes: &mut Vec<String>,
) -> Result<(), StepError> {
    let spec = jrt_sandbox::Spec {
        tree: tree.to_path_buf(),
        writable: false,
        network: Network::None,
        // What may be copied may be read: a host interpreter's own library directory
        // (its RUNPATH) must resolve as it does on the host.
        read_only: policy
            .copy_prefixes
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.exists())
            .collect(),
        limits: policy.limits,
        job: None,
    };
    let out = run(
        &spec,
        Path::new("/usr/bin/ldd"),
        &[binary.display().to_string()],
        &[("PATH".into(), "/usr/bin:/bin".into())],
        Duration::from_secs(60),
        Keep::Head(MAX_OUTPUT),
        notes,
    )?;
    let text = &out.stdout;
    if out.code != Some(0) {
        // Static binaries and scripts have no closure.
        if text.contains("not a dynamic executable")
            || out.stderr.contains("not a dynamic executable")
        {
            return Ok(());
        }
        return Err(StepError::Ldd {
            binary: binary.to_path_buf(),
            stderr: out.stderr.trim().to_string(),
        });
    }
    for line in text.lines() {
        let line = line.trim();
        let (name, path) = match line.split_once("=>") {
            Some((name, rest)) => {
                let rest = rest.trim();
                if rest.starts_with("not found") {
                    // Optional parts of a runtime (a JDK's AWT wants X11) may need what a
                    // server lacks; the runtime's probes catch what really matters.
                    continue;
                }
                (
                    name.trim().to_string(),
                    rest.split_whitespace().next().unwrap_or("").to_string(),
                )
            }
            // The dynamic loader: `/lib64/ld-linux-x86-64.so.2 (0x...)`.
            None => {
                let path = line.split_whitespace().next().unwrap_or("").to_string();
                let name = Path::new(&path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (name, path)
            }
        };
        if !path.starts_with('/') || name.is_empty() || name.contains('/') || name == ".." {
            continue; // linux-vdso and friends live in the kernel
        }
        // The C library stays the job root's; what is already in the tree stays where it is.
        if is_libc_part(&name) || Path::new(&path).starts_with(tree) {
            continue;
        }
        let dest = dir.join(&name);
        if std::fs::symlink_metadata(&dest).is_ok() {
            continue;
        }
        // Libraries are usually links to the versioned file: check and copy what it is.
        let real = Path::new(&path)
            .canonicalize()
            .map_err(jrt_fs::io("cannot resolve", Path::new(&path)))?;
        super::check::allowed_real(&path, &policy.copy_prefixes)?;
        super::hostcopy::copy_file(&real.display().to_string(), &dest, &policy.copy_prefixes)?;
    }
    Ok(())
}

/// Fetches a build a plan pins into the cache's store of builds (`<cache>/fetched/<sha256>`),
/// or finds it there, through the one download path packages take
/// ([`jrt_client::fetch`]): resumable, under the client's deadline, at most
/// [`MAX_FETCH_BYTES`], `file://` only for regular files, verified against the sha256 while
/// it streams. A stored entry is verified again as it is read (anyone who could write the
/// cache could otherwise swap a build); wrong bytes there are dropped and fetched once more.
/// The entry's lock makes concurrent installs that pin the same build download it once. A
/// configured mirror ([`super::mirror`]) is fetched from instead, against the same sha256.
fn fetch_pinned(pinned: &str, sha256: &str, ex: &Executor<'_>) -> Result<PathBuf, StepError> {
    use jrt_client::fetch::{self, FetchError, Store};
    use jrt_client::pin::{Checksum, Size};

    let url = super::mirror::apply(&ex.policy.mirrors, pinned)?;
    let url = url.as_str();
    // Say both when they differ: the plan pinned one, jrt read the other.
    let mirror_of = (url != pinned).then(|| pinned.to_string());
    let describe = |error: FetchError| StepError::Fetch {
        error,
        mirror_of: mirror_of.clone(),
    };
    // Both were checked with the plan: a failure here is a plan the check let through.
    let checksum = Checksum::parse(&format!("sha256:{sha256}"))
        .map_err(|_| Refusal::NotPinned(sha256.to_string()))?;
    let parsed = url::Url::parse(url).map_err(|e| Refusal::BadUrl {
        url: url.to_string(),
        error: e.to_string(),
    })?;
    let store = Store::builds(ex.cache);
    let lock_path = store.lock_path(&checksum);
    let _lock =
        jrt_fs::lock::exclusive(&lock_path).map_err(jrt_fs::io("cannot lock", &lock_path))?;
    let size = Size::AtMost(MAX_FETCH_BYTES);
    let task = jrt_client::progress::Progress::task(&jrt_client::progress::Silent, "", 0);
    let mut retried = false;
    loop {
        let opened = fetch::open(&store, ex.http, &parsed, &checksum, size, ex.http.is_none())
            .map_err(describe)?;
        let cached = opened.cached;
        let read = opened.verified(url, size, &checksum, task.as_ref(), |reader| {
            std::io::copy(reader, &mut std::io::sink())
        });
        match read {
            Ok(Ok(_)) => {
                if let Some(Ok(mut fetched)) = ex.fetched.map(|f| f.lock()) {
                    fetched.push(sha256.to_string());
                }
                return Ok(store.path(&checksum));
            }
            Ok(Err(e)) => return Err(jrt_fs::io("cannot read", Path::new(url))(e).into()),
            // A stored entry that no longer verifies (planted, or torn by a crash) was
            // dropped: fetch it afresh, once.
            Err(FetchError::Checksum { .. } | FetchError::TooLarge { .. })
                if cached && !retried =>
            {
                retried = true;
            }
            Err(e) => return Err(describe(e)),
        }
    }
}

/// The most a plan may fetch in one file (CUDA's installers are about 4 GiB).
pub const MAX_FETCH_BYTES: u64 = 8 << 30;

/// Unpacks a .tar.gz into `target` (strip 1: its top directory's contents; strip 0: the top
/// directory itself inside `target`).
fn unpack(tree: &Path, file: &Path, target: &str, strip: u32) -> Result<(), StepError> {
    let reader = std::fs::File::open(file).map_err(jrt_fs::io("cannot read", file))?;
    let parent = safe_dir(tree, Path::new(target))?;
    let tmp = tempfile::Builder::new()
        .prefix(".unpack-")
        .tempdir_in(&parent)
        .map_err(jrt_fs::io("cannot create a directory in", &parent))?;
    let out = extract(reader, tmp.path(), &Limits::default())?;
    if strip == 0 {
        let dest = parent.join(&out.top);
        if dest.exists() {
            return Err(StepError::Exists(format!("{target}/{}", out.top)));
        }
        std::fs::rename(tmp.path(), &dest).map_err(jrt_fs::io("cannot move into", &dest))?;
        // The TempDir now points at a moved directory; forget it.
        let _ = tmp.keep();
    } else {
        for entry in std::fs::read_dir(tmp.path())
            .map_err(jrt_fs::io("cannot read", tmp.path()))?
            .flatten()
        {
            let dest = parent.join(entry.file_name());
            if std::fs::symlink_metadata(&dest).is_ok() {
                return Err(StepError::Exists(dest.display().to_string()));
            }
            std::fs::rename(entry.path(), &dest).map_err(jrt_fs::io("cannot move into", &dest))?;
        }
    }
    Ok(())
}

/// Runs a program confined by `spec` with a minimal environment (plus `env`), the tree as
/// working directory and home, and a timeout.
fn run(
    spec: &jrt_sandbox::Spec,
    program: &Path,
    args: &[String],
    env: &[(String, String)],
    timeout: Duration,
    keep: Keep,
    notes: &mut Vec<String>,
) -> Result<RunOutput, StepError> {
    let tree = spec.tree.display();
    let mut full: Vec<(String, String)> = vec![
        (
            "PATH".into(),
            format!("{tree}/bin:{tree}/usr/bin:{tree}/usr/local/bin:/usr/bin:/bin"),
        ),
        ("HOME".into(), tree.to_string()),
        ("LANG".into(), "C.UTF-8".into()),
        ("TMPDIR".into(), "/tmp".into()),
    ];
    for (k, v) in env {
        full.retain(|(name, _)| name != k);
        full.push((k.clone(), v.clone()));
    }
    let ran = jrt_sandbox::run(spec, program, args, &full, timeout, keep)?;
    notes.extend(ran.notes);
    Ok(RunOutput {
        code: ran.finished.code,
        stdout: ran.finished.stdout,
        stderr: ran.finished.stderr,
        timed_out: ran.finished.timed_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passed_paths_are_resolved_as_the_host_sees_them() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(real.join("a/wheels")).unwrap();
        std::os::unix::fs::symlink(real.join("a"), real.join("link")).unwrap();
        let dotted = format!("{}/b/../a/wheels", real.display());
        std::fs::create_dir_all(real.join("b")).unwrap();
        let value = format!(
            "{dotted} file://{}/link/wheels https://pypi.example/simple {}/missing",
            real.display(),
            real.display()
        );
        assert_eq!(
            resolved_paths(&value),
            format!(
                "{0}/a/wheels file://{0}/a/wheels https://pypi.example/simple {0}/missing",
                real.display()
            )
        );
    }
}
