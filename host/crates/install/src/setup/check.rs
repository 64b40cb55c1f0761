//! Checking a plan before anything runs.

use std::path::{Component, Path};

use super::SetupError;
use jrt_plugin_host::types::{Plan, SetupStep};

/// What a plan may touch on the host.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Host paths `copy-from-host` may read: directories (ending in `/`) or exact files.
    pub copy_prefixes: Vec<String>,
    /// Host programs `run` may start, by prefix (programs inside the tree are always allowed).
    pub program_prefixes: Vec<String>,
    /// The longest a `run` step may take, whatever the plan asks.
    pub max_timeout_seconds: u32,
    /// The largest `write-file`.
    pub max_write_bytes: usize,
    /// Variables of jrt's own environment that `run` steps see (package index mirrors,
    /// proxies, CA bundles), so a user's `PIP_INDEX_URL` reaches the pip a plan runs.
    pub pass_env: Vec<String>,
    /// The caps every confined program runs under.
    pub limits: jrt_sandbox::Limits,
    /// Where plan fetches are fetched from instead ([`super::mirror`]).
    pub mirrors: Vec<super::mirror::Mirror>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            copy_prefixes: [
                "/usr/lib/",
                "/usr/lib64/",
                "/lib/",
                "/lib64/",
                "/usr/local/lib/",
                "/usr/share/zoneinfo/",
                "/etc/ssl/certs/",
            ]
            .map(String::from)
            .to_vec(),
            program_prefixes: ["/usr/bin/", "/bin/"].map(String::from).to_vec(),
            max_timeout_seconds: 3600,
            max_write_bytes: 16 << 20,
            mirrors: Vec::new(),
            pass_env: [
                "PIP_INDEX_URL",
                "PIP_EXTRA_INDEX_URL",
                "PIP_FIND_LINKS",
                "PIP_NO_INDEX",
                "PIP_TRUSTED_HOST",
                "PIP_CERT",
                "PIP_RETRIES",
                "PIP_TIMEOUT",
                "HTTP_PROXY",
                "HTTPS_PROXY",
                "NO_PROXY",
                "http_proxy",
                "https_proxy",
                "no_proxy",
                "SSL_CERT_FILE",
                "SSL_CERT_DIR",
            ]
            .map(String::from)
            .to_vec(),
            limits: jrt_sandbox::Limits::default(),
        }
    }
}

fn kind(step: &SetupStep) -> &'static str {
    match step {
        SetupStep::Mkdir(_) => "mkdir",
        SetupStep::CopyFromHost(_) => "copy-from-host",
        SetupStep::CopyLibraries(_) => "copy-libraries",
        SetupStep::Fetch(_) => "fetch",
        SetupStep::Run(_) => "run",
        SetupStep::WriteFile(_) => "write-file",
        SetupStep::Symlink(_) => "symlink",
    }
}

/// Why a plan (or a path a plan names) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("an empty path")]
    EmptyPath,
    #[error("'{}' contains control characters", .0.escape_debug())]
    ControlCharacters(String),
    #[error("'{0}' is absolute; plan paths are relative to the runtime tree")]
    Absolute(String),
    #[error("'{0}' leaves the runtime tree")]
    LeavesTree(String),
    #[error("'{0}' is not an absolute host path without '..'")]
    NotHostPath(String),
    #[error("{what} '{path}' is outside the allowed host paths ({})", .allowed.join(", "))]
    NotAllowed {
        what: &'static str,
        path: String,
        allowed: Vec<String>,
    },
    #[error("cannot read '{path}': {error}")]
    Unreadable { path: String, error: String },
    #[error("'{0}' names no file")]
    NoFileName(String),
    #[error("{refusal} (as '{path}' resolves)")]
    AsResolved { path: String, refusal: Box<Refusal> },
    #[error("the symlink '{link}' points to the absolute path '{target}'")]
    AbsoluteLink { link: String, target: String },
    #[error("the symlink '{link}' -> '{target}' points outside the runtime tree")]
    LinkOutside { link: String, target: String },
    #[error("'{url}' is not a URL: {error}")]
    BadUrl { url: String, error: String },
    #[error("'{url}' uses the scheme '{scheme}'")]
    Scheme { url: String, scheme: String },
    #[error("'{0}' is not a sha256 (64 hex digits); every fetch must be pinned")]
    NotPinned(String),
    #[error("strip-components {0} is not supported (0 or 1)")]
    Strip(u32),
    #[error("the environment variable '{}' is not valid", .0.escape_debug())]
    BadVariable(String),
    #[error("LD_LIBRARY_PATH may name only directories of the tree: {0}")]
    LibraryPath(Box<Refusal>),
    #[error(transparent)]
    RuntimeYml(#[from] jrt_package::runtime_yml::RuntimeYmlError),
    #[error("an argument contains a NUL byte")]
    NulArgument,
    #[error("{0} network endpoints is over the limit of 32")]
    TooManyEndpoints(usize),
    #[error("the network endpoint '{}:{port}' is not a host name and port", .host.escape_debug())]
    BadEndpoint { host: String, port: u16 },
    #[error("{size} bytes is over the {limit} byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("the mount target '{0}' is not an absolute path without '..'")]
    MountTarget(String),
    #[error(
        "the probe program '{0}' is a host program; probes may run only programs inside the \
         runtime tree"
    )]
    HostProbe(String),
}

/// A path inside the staging tree: relative, no `..`, not empty, no control characters.
pub fn inside(path: &str) -> Result<(), Refusal> {
    if path.is_empty() {
        return Err(Refusal::EmptyPath);
    }
    if path.chars().any(char::is_control) {
        return Err(Refusal::ControlCharacters(path.to_string()));
    }
    if path.starts_with('/') {
        return Err(Refusal::Absolute(path.to_string()));
    }
    for c in Path::new(path).components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            _ => return Err(Refusal::LeavesTree(path.to_string())),
        }
    }
    Ok(())
}

/// An absolute host path without `..`, below one of `prefixes`.
fn allowed_host(path: &str, prefixes: &[String], what: &'static str) -> Result<(), Refusal> {
    if !path.starts_with('/')
        || Path::new(path)
            .components()
            .any(|c| c == Component::ParentDir)
    {
        return Err(Refusal::NotHostPath(path.to_string()));
    }
    // Entries ending in `/` allow what is below them; others allow exactly that path.
    let allowed = |p: &String| {
        if p.ends_with('/') {
            path.starts_with(p.as_str()) || format!("{path}/") == *p
        } else {
            path == p
        }
    };
    if !prefixes.iter().any(allowed) {
        return Err(Refusal::NotAllowed {
            what,
            path: path.to_string(),
            allowed: prefixes.to_vec(),
        });
    }
    Ok(())
}

/// Like the check of `allowed_host`, on the path as the kernel resolves it: its parent
/// directory canonicalized (the entry itself may be a symlink, which is copied as one), and
/// the prefixes canonicalized too (`/lib` is `/usr/lib` on merged-/usr systems).
pub fn allowed_real(path: &str, prefixes: &[String]) -> Result<(), Refusal> {
    let p = Path::new(path);
    let real = match (p.parent(), p.file_name()) {
        (Some(parent), Some(name)) => parent
            .canonicalize()
            .map_err(|e| Refusal::Unreadable {
                path: path.to_string(),
                error: e.to_string(),
            })?
            .join(name),
        _ => return Err(Refusal::NoFileName(path.to_string())),
    };
    let real_prefixes: Vec<String> = prefixes
        .iter()
        .map(|prefix| {
            let dir = prefix.ends_with('/');
            let trimmed = Path::new(prefix.trim_end_matches('/'));
            let resolved = if dir {
                trimmed.canonicalize().ok()
            } else {
                trimmed
                    .parent()
                    .and_then(|d| d.canonicalize().ok())
                    .zip(trimmed.file_name())
                    .map(|(d, n)| d.join(n))
            };
            let shown = resolved.map_or_else(|| prefix.clone(), |r| r.display().to_string());
            if dir && !shown.ends_with('/') {
                format!("{shown}/")
            } else {
                shown
            }
        })
        .collect();
    allowed_host(&real.display().to_string(), &real_prefixes, "the source").map_err(|e| {
        Refusal::AsResolved {
            path: path.to_string(),
            refusal: Box::new(e),
        }
    })
}

/// Whether `target`, as a symlink at `link`, stays inside the tree.
fn link_inside(link: &str, target: &str) -> Result<(), Refusal> {
    if target.starts_with('/') {
        return Err(Refusal::AbsoluteLink {
            link: link.to_string(),
            target: target.to_string(),
        });
    }
    let mut depth = link
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .count() as i64
        - 1;
    for c in Path::new(target).components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err(Refusal::LinkOutside {
                link: link.to_string(),
                target: target.to_string(),
            });
        }
    }
    Ok(())
}

/// Checks every step, mount and probe; the first problem refuses the whole plan.
pub fn check(plan: &Plan, policy: &Policy) -> Result<(), SetupError> {
    for (i, step) in plan.steps.iter().enumerate() {
        let refuse = |reason: Refusal| SetupError::Refused {
            step: i + 1,
            kind: kind(step),
            reason,
        };
        let result = match step {
            SetupStep::Mkdir(p) => inside(p),
            SetupStep::CopyFromHost(c) => {
                allowed_host(&c.source, &policy.copy_prefixes, "the source")
                    .and_then(|()| inside(&c.target))
                    .and_then(|()| c.exclude.iter().try_for_each(|e| inside(e)))
            }
            SetupStep::CopyLibraries(c) => c
                .binaries
                .iter()
                .try_for_each(|b| inside(b))
                .and_then(|()| inside(&c.target)),
            SetupStep::Fetch(f) => {
                let url_ok = url::Url::parse(&f.url)
                    .map_err(|e| Refusal::BadUrl {
                        url: f.url.clone(),
                        error: e.to_string(),
                    })
                    .and_then(|u| match u.scheme() {
                        "https" | "http" | "file" => Ok(()),
                        s => Err(Refusal::Scheme {
                            url: f.url.clone(),
                            scheme: s.to_string(),
                        }),
                    });
                let sha_ok = if jrt_fs::is_sha256_hex(&f.sha256) {
                    Ok(())
                } else {
                    Err(Refusal::NotPinned(f.sha256.clone()))
                };
                let strip_ok = if f.unpack && f.strip_components > 1 {
                    Err(Refusal::Strip(f.strip_components))
                } else {
                    Ok(())
                };
                url_ok
                    .and(sha_ok)
                    .and(strip_ok)
                    .and_then(|()| inside(&f.target))
            }
            SetupStep::Run(r) => {
                let program = if r.program.starts_with('/') {
                    allowed_host(&r.program, &policy.program_prefixes, "the program")
                } else {
                    inside(&r.program)
                };
                let env = r.env.iter().try_for_each(|(k, v)| {
                    if k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0') {
                        Err(Refusal::BadVariable(k.clone()))
                    } else if k == "LD_LIBRARY_PATH" {
                        v.split(':').filter(|d| !d.is_empty()).try_for_each(|d| {
                            inside(d).map_err(|e| Refusal::LibraryPath(Box::new(e)))
                        })
                    } else {
                        Ok(jrt_package::runtime_yml::loader_variable(k)?)
                    }
                });
                let args = r.args.iter().try_for_each(|a| {
                    if a.contains('\0') {
                        Err(Refusal::NulArgument)
                    } else {
                        Ok(())
                    }
                });
                let network = if r.network.len() > 32 {
                    Err(Refusal::TooManyEndpoints(r.network.len()))
                } else {
                    r.network.iter().try_for_each(|e| {
                        let ok = !e.host.is_empty()
                            && e.host.len() <= 253
                            && e.host.bytes().all(|b| {
                                b.is_ascii_alphanumeric()
                                    || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                            })
                            && e.port > 0;
                        if ok {
                            Ok(())
                        } else {
                            Err(Refusal::BadEndpoint {
                                host: e.host.clone(),
                                port: e.port,
                            })
                        }
                    })
                };
                program.and(env).and(args).and(network)
            }
            SetupStep::WriteFile(w) => {
                inside(&w.target).and(if w.contents.len() > policy.max_write_bytes {
                    Err(Refusal::TooLarge {
                        size: w.contents.len(),
                        limit: policy.max_write_bytes,
                    })
                } else {
                    Ok(())
                })
            }
            SetupStep::Symlink(s) => inside(&s.link).and_then(|()| link_inside(&s.link, &s.target)),
        };
        result.map_err(refuse)?;
    }
    for (i, m) in plan.mounts.iter().enumerate() {
        let refuse = |reason: Refusal| SetupError::Refused {
            step: i + 1,
            kind: "mount",
            reason,
        };
        inside(&m.source).map_err(refuse)?;
        if !m.target.starts_with('/')
            || Path::new(&m.target)
                .components()
                .any(|c| c == Component::ParentDir)
        {
            return Err(refuse(Refusal::MountTarget(m.target.clone())));
        }
    }
    jrt_package::runtime_yml::check(
        plan.mounts
            .iter()
            .map(|m| (m.source.as_str(), m.target.as_str())),
        plan.environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(|reason| SetupError::Refused {
        step: 0,
        kind: "runtime.yml",
        reason: reason.into(),
    })?;
    for (i, p) in plan.probes.iter().enumerate() {
        // The host's own tools are probed by the host; a plan probes what it installed.
        let result = if p.program.starts_with('/') {
            Err(Refusal::HostProbe(p.program.clone()))
        } else {
            inside(&p.program)
        };
        result.map_err(|reason| SetupError::Refused {
            step: i + 1,
            kind: "probe",
            reason,
        })?;
    }
    Ok(())
}
