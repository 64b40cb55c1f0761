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

/// A path inside the staging tree: relative, no `..`, not empty, no control characters.
pub fn inside(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("an empty path".into());
    }
    if path.chars().any(char::is_control) {
        return Err(format!(
            "'{}' contains control characters",
            path.escape_debug()
        ));
    }
    if path.starts_with('/') {
        return Err(format!(
            "'{path}' is absolute; plan paths are relative to the runtime tree"
        ));
    }
    for c in Path::new(path).components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            _ => return Err(format!("'{path}' leaves the runtime tree")),
        }
    }
    Ok(())
}

/// An absolute host path without `..`, below one of `prefixes`.
fn allowed_host(path: &str, prefixes: &[String], what: &str) -> Result<(), String> {
    if !path.starts_with('/')
        || Path::new(path)
            .components()
            .any(|c| c == Component::ParentDir)
    {
        return Err(format!(
            "'{path}' is not an absolute host path without '..'"
        ));
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
        return Err(format!(
            "{what} '{path}' is outside the allowed host paths ({})",
            prefixes.join(", ")
        ));
    }
    Ok(())
}

/// Like the check of `allowed_host`, on the path as the kernel resolves it: its parent
/// directory canonicalized (the entry itself may be a symlink, which is copied as one), and
/// the prefixes canonicalized too (`/lib` is `/usr/lib` on merged-/usr systems).
pub fn allowed_real(path: &str, prefixes: &[String]) -> Result<(), String> {
    let p = Path::new(path);
    let real = match (p.parent(), p.file_name()) {
        (Some(parent), Some(name)) => parent
            .canonicalize()
            .map_err(|e| format!("cannot read '{path}': {e}"))?
            .join(name),
        _ => return Err(format!("'{path}' names no file")),
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
    allowed_host(&real.display().to_string(), &real_prefixes, "the source")
        .map_err(|e| format!("{e} (as '{path}' resolves)"))
}

/// Whether `target`, as a symlink at `link`, stays inside the tree.
fn link_inside(link: &str, target: &str) -> Result<(), String> {
    if target.starts_with('/') {
        return Err(format!(
            "the symlink '{link}' points to the absolute path '{target}'"
        ));
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
            return Err(format!(
                "the symlink '{link}' -> '{target}' points outside the runtime tree"
            ));
        }
    }
    Ok(())
}

/// Checks every step, mount and probe; the first problem refuses the whole plan.
pub fn check(plan: &Plan, policy: &Policy) -> Result<(), SetupError> {
    for (i, step) in plan.steps.iter().enumerate() {
        let refuse = |reason: String| SetupError::Refused {
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
                    .map_err(|e| format!("'{}' is not a URL: {e}", f.url))
                    .and_then(|u| match u.scheme() {
                        "https" | "http" | "file" => Ok(()),
                        s => Err(format!("'{}' uses the scheme '{s}'", f.url)),
                    });
                let sha_ok = if jrt_fs::is_sha256_hex(&f.sha256) {
                    Ok(())
                } else {
                    Err(format!(
                        "'{}' is not a sha256 (64 hex digits); every fetch must be pinned",
                        f.sha256
                    ))
                };
                let strip_ok = if f.unpack && f.strip_components > 1 {
                    Err(format!(
                        "strip-components {} is not supported (0 or 1)",
                        f.strip_components
                    ))
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
                        Err(format!(
                            "the environment variable '{}' is not valid",
                            k.escape_debug()
                        ))
                    } else if k == "LD_LIBRARY_PATH" {
                        v.split(':').filter(|d| !d.is_empty()).try_for_each(|d| {
                            inside(d).map_err(|e| {
                                format!(
                                    "LD_LIBRARY_PATH may name only directories of the tree: {e}"
                                )
                            })
                        })
                    } else {
                        jrt_package::runtime_yml::loader_variable(k).map_err(|e| e.to_string())
                    }
                });
                let args = r.args.iter().try_for_each(|a| {
                    if a.contains('\0') {
                        Err("an argument contains a NUL byte".to_string())
                    } else {
                        Ok(())
                    }
                });
                let network = if r.network.len() > 32 {
                    Err(format!(
                        "{} network endpoints is over the limit of 32",
                        r.network.len()
                    ))
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
                            Err(format!(
                                "the network endpoint '{}:{}' is not a host name and port",
                                e.host.escape_debug(),
                                e.port
                            ))
                        }
                    })
                };
                program.and(env).and(args).and(network)
            }
            SetupStep::WriteFile(w) => inside(&w.target).and_then(|()| {
                if w.contents.len() > policy.max_write_bytes {
                    Err(format!(
                        "{} bytes is over the {} byte limit",
                        w.contents.len(),
                        policy.max_write_bytes
                    ))
                } else {
                    Ok(())
                }
            }),
            SetupStep::Symlink(s) => inside(&s.link).and_then(|()| link_inside(&s.link, &s.target)),
        };
        result.map_err(refuse)?;
    }
    for (i, m) in plan.mounts.iter().enumerate() {
        let refuse = |reason: String| SetupError::Refused {
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
            return Err(refuse(format!(
                "the mount target '{}' is not an absolute path without '..'",
                m.target
            )));
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
        reason: reason.to_string(),
    })?;
    for (i, p) in plan.probes.iter().enumerate() {
        // The host's own tools are probed by the host; a plan probes what it installed.
        let result = if p.program.starts_with('/') {
            Err(format!(
                "the probe program '{}' is a host program; probes may run only programs \
                 inside the runtime tree",
                p.program
            ))
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
