//! `runtime.yml`, Joblet's description of a runtime (its mounts and environment), and the
//! checks every one must pass before it reaches a final path: whether a setup plan wrote it
//! or a prebuilt package carried it, and again before `jrt run` uses it.
//!
//! A runtime.yml is what Joblet trusts when it builds a job's root, so a hostile one could
//! mount over `/`, mount a path outside the runtime, or load a library into every job.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

/// runtime.yml, as Joblet's `RuntimeConfig` reads it and jrt writes it: its `language`,
/// `requirements.architectures` and `packages` are what `rnx runtime list/info` show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeYml {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub language: String,
    #[serde(default)]
    pub mounts: Vec<MountYml>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Requirements::is_empty")]
    pub requirements: Requirements,
    /// `name==version` of what the runtime's versions.lock lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountYml {
    pub source: String,
    pub target: String,
    /// Read-only unless runtime.yml says `readonly: false`.
    #[serde(default = "read_only_by_default")]
    pub readonly: bool,
}

fn read_only_by_default() -> bool {
    true
}

/// What the runtime needs of the machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirements {
    #[serde(default)]
    pub architectures: Vec<String>,
}

impl Requirements {
    fn is_empty(&self) -> bool {
        self.architectures.is_empty()
    }
}

/// The largest runtime.yml read (real ones are a few KiB).
const MAX_BYTES: u64 = jrt_input::caps::MAX_YAML_BYTES;

/// A runtime.yml that cannot be read, or that would let a runtime reach past itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeYmlError {
    #[error("cannot read runtime.yml: {0}")]
    Read(String),
    #[error("runtime.yml is over {MAX_BYTES} bytes")]
    TooLarge,
    #[error("runtime.yml: {0}")]
    Parse(String),
    #[error("the mount source '{}' is not a path inside the runtime", .0.escape_debug())]
    MountSource(String),
    #[error("the mount target '{}' is not an absolute path without '..'", .0.escape_debug())]
    MountTarget(String),
    #[error("a mount targets '/': a runtime may not replace the job's root")]
    MountsRoot,
    #[error("the mount target '{0}' appears twice")]
    MountTwice(String),
    #[error(
        "LD_LIBRARY_PATH names '{}', which is not below one of the runtime's mounts",
        .0.escape_debug()
    )]
    LibraryPathOutside(String),
    #[error("the environment variable {0} is refused: it makes programs load what it names")]
    LoaderVariable(String),
}

impl RuntimeYml {
    /// Reads and checks `<dir>/runtime.yml`.
    pub fn read(dir: &Path) -> Result<RuntimeYml, RuntimeYmlError> {
        use std::io::Read;
        let path = dir.join("runtime.yml");
        let read = |e: std::io::Error| RuntimeYmlError::Read(e.to_string());
        let file = std::fs::File::open(&path).map_err(read)?;
        let mut text = String::new();
        file.take(MAX_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(read)?;
        if text.len() as u64 > MAX_BYTES {
            return Err(RuntimeYmlError::TooLarge);
        }
        let yml: RuntimeYml = jrt_input::caps::yaml(text.as_bytes())
            .map_err(|e| RuntimeYmlError::Parse(e.to_string()))?;
        yml.check()?;
        Ok(yml)
    }

    pub fn check(&self) -> Result<(), RuntimeYmlError> {
        check(
            self.mounts
                .iter()
                .map(|m| (m.source.as_str(), m.target.as_str())),
            self.environment
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }
}

/// Refuses the dynamic loader's variables (`LD_PRELOAD`, `LD_AUDIT`, ...) and glibc's other
/// "unsecure" ones, which would make every program load code the runtime chose.
pub fn loader_variable(name: &str) -> Result<(), RuntimeYmlError> {
    const GLIBC_UNSECURE: [&str; 11] = [
        "GCONV_PATH",
        "GETCONF_DIR",
        "HOSTALIASES",
        "LOCALDOMAIN",
        "LOCPATH",
        "MALLOC_TRACE",
        "NIS_PATH",
        "NLSPATH",
        "RESOLV_HOST_CONF",
        "RES_OPTIONS",
        "TZDIR",
    ];
    if (name.starts_with("LD_") && name != "LD_LIBRARY_PATH") || GLIBC_UNSECURE.contains(&name) {
        return Err(RuntimeYmlError::LoaderVariable(name.to_string()));
    }
    Ok(())
}

/// Mount sources relative and inside the runtime; targets absolute, without `..`, not `/`,
/// each once; no loader variables in the environment, and `LD_LIBRARY_PATH` only below the
/// runtime's own mount targets.
pub fn check<'a>(
    mounts: impl Iterator<Item = (&'a str, &'a str)>,
    environment: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), RuntimeYmlError> {
    let mut targets = BTreeSet::new();
    for (source, target) in mounts {
        let src = Path::new(source);
        if source.is_empty()
            || src.is_absolute()
            || src.components().any(|c| c == Component::ParentDir)
        {
            return Err(RuntimeYmlError::MountSource(source.to_string()));
        }
        let normal = normal_target(target)
            .ok_or_else(|| RuntimeYmlError::MountTarget(target.to_string()))?;
        if normal == "/" {
            return Err(RuntimeYmlError::MountsRoot);
        }
        if !targets.insert(normal.clone()) {
            return Err(RuntimeYmlError::MountTwice(normal));
        }
    }
    for (name, value) in environment {
        if name == "LD_LIBRARY_PATH" {
            for dir in value.split(':').filter(|d| !d.is_empty()) {
                let below = normal_target(dir).is_some_and(|d| {
                    targets
                        .iter()
                        .any(|t| Path::new(&d).starts_with(Path::new(t)))
                });
                if !below {
                    return Err(RuntimeYmlError::LibraryPathOutside(dir.to_string()));
                }
            }
        } else {
            loader_variable(name)?;
        }
    }
    Ok(())
}

/// `target` without `.` parts and trailing slashes; none when it is relative or has `..`.
fn normal_target(target: &str) -> Option<String> {
    let path = Path::new(target);
    if !path.is_absolute() || target.chars().any(char::is_control) {
        return None;
    }
    let mut out = String::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(part) => {
                out.push('/');
                out.push_str(part.to_str()?);
            }
            _ => return None,
        }
    }
    Some(if out.is_empty() { "/".into() } else { out })
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn hostile_runtime_ymls_are_refused() {
        let env: [(&str, &str); 0] = [];
        assert_eq!(
            check([("isolated/usr", "/usr")].into_iter(), env.into_iter()),
            Ok(())
        );
        for (mounts, reason) in [
            (vec![("isolated", "/")], "targets '/'"),
            (vec![("isolated", "/./")], "targets '/'"),
            (vec![("a", "/usr"), ("b", "/usr/")], "appears twice"),
            (vec![("/etc", "/etc")], "not a path inside"),
            (vec![("../x", "/x")], "not a path inside"),
            (vec![("a", "usr")], "not an absolute path"),
            (vec![("a", "/usr/../etc")], "not an absolute path"),
        ] {
            let err = check(mounts.into_iter(), env.into_iter())
                .unwrap_err()
                .to_string();
            assert!(err.contains(reason), "{err}");
        }
        let mounts = || [("isolated/usr/local", "/usr/local")].into_iter();
        let err = check(
            mounts(),
            [("LD_PRELOAD", "/usr/local/lib/x.so")].into_iter(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("LD_PRELOAD"), "{err}");
        assert_eq!(
            check(mounts(), [("LD_AUDIT", "x")].into_iter()),
            Err(super::RuntimeYmlError::LoaderVariable("LD_AUDIT".into()))
        );
        assert_eq!(
            check(
                mounts(),
                [("LD_LIBRARY_PATH", "/usr/local/lib")].into_iter()
            ),
            Ok(())
        );
        let err = check(
            mounts(),
            [("LD_LIBRARY_PATH", "/usr/local/lib:/home/x")].into_iter(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/home/x"), "{err}");
    }
}
