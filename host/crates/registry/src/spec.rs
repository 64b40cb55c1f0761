//! Runtime specs (`name`, `name@latest`, `name@1.3.4`, `name@^1.3`, `name@~1.3.1`, `name@1`)
//! and resolving them against registries.
//!
//! Versions are compared as semver, never as text (1.10.0 beats 1.9.0). `latest` and
//! requirements skip yanked and pre-release versions; an exact version is honoured even when
//! yanked. The first registry (by priority) that knows a runtime's name decides its versions,
//! so a lower-priority registry cannot shadow a runtime with a higher version number.

use std::fmt;
use std::str::FromStr;

use semver::Version;

use super::index::{Artifact, Entry, Index};

pub use jrt_package::manifest::is_valid_name;

/// Which versions a spec accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionReq {
    /// The highest stable, non-yanked version.
    Latest,
    /// Exactly this version (yanked or not).
    Exact(Version),
    /// A semver requirement; the text is kept for messages.
    Req(semver::VersionReq, String),
}

impl fmt::Display for VersionReq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionReq::Latest => f.write_str("latest"),
            VersionReq::Exact(v) => write!(f, "{v}"),
            VersionReq::Req(_, text) => f.write_str(text),
        }
    }
}

/// `name[@version-or-requirement]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub name: String,
    pub req: VersionReq,
}

/// A spec that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error(
        "'{0}' is not a valid runtime name (lower-case letters, digits, '.' and '-', starting \
         with a letter or digit)"
    )]
    Name(String),
    #[error(
        "'{version}' in '{spec}' is not a version or requirement (try {name}@1.3.4, \
         {name}@^1.3, {name}@~1.3.1 or {name}@latest)"
    )]
    Version {
        spec: String,
        name: String,
        version: String,
    },
}

impl FromStr for Spec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        let (name, version) = match text.split_once('@') {
            Some((n, v)) => (n, Some(v)),
            None => (text, None),
        };
        if !is_valid_name(name) {
            return Err(SpecError::Name(name.to_string()));
        }
        let req = match version {
            None | Some("latest") => VersionReq::Latest,
            Some(v) => match Version::parse(v) {
                Ok(exact) => VersionReq::Exact(exact),
                Err(_) => match semver::VersionReq::parse(v) {
                    Ok(req) if !v.trim().is_empty() && v != "*" => {
                        VersionReq::Req(req, v.to_string())
                    }
                    _ => {
                        return Err(SpecError::Version {
                            spec: text.to_string(),
                            name: name.to_string(),
                            version: v.to_string(),
                        });
                    }
                },
            },
        };
        Ok(Spec {
            name: name.to_string(),
            req,
        })
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.req)
    }
}

/// A spec resolved to one package.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// Index of the registry (in the list given to [`resolve`]) it came from.
    pub registry: usize,
    pub name: String,
    pub version: Version,
    pub entry: Entry,
    /// The prebuilt artifact for the platform, when there is one.
    pub artifact: Option<(String, Artifact)>,
    /// What was asked for (`^1.3`, `latest`, `1.3.4`): kept in the install receipt, so
    /// `jrt outdated` and `jrt upgrade` respect it.
    pub requested: String,
}

impl Resolved {
    /// The package to download: the prebuilt artifact when there is one, else the source.
    pub fn package(&self) -> (&str, &super::Checksum, u64) {
        match &self.artifact {
            Some((_, a)) => (&a.download_url, &a.checksum, a.size),
            None => (
                &self.entry.download_url,
                &self.entry.checksum,
                self.entry.size,
            ),
        }
    }
}

/// Why a spec could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("runtime '{name}' is not in any registry{}", list("available runtimes", .available))]
    NotFound {
        name: String,
        available: Vec<String>,
    },
    #[error("no version of {name} matches '{req}'{}{}", list("available versions", .available), yanked_note(.yanked))]
    NoMatchingVersion {
        name: String,
        req: String,
        available: Vec<String>,
        yanked: Vec<String>,
    },
    #[error(
        "{name}@{version} has no package for platform {platform}{}",
        list("platforms offered", .offered)
    )]
    Platform {
        name: String,
        version: String,
        platform: String,
        offered: Vec<String>,
    },
}

fn list(what: &str, items: &[String]) -> String {
    if items.is_empty() {
        format!(" (there are no {what})")
    } else {
        format!("; {what}: {}", items.join(", "))
    }
}

fn yanked_note(yanked: &[String]) -> String {
    if yanked.is_empty() {
        String::new()
    } else {
        format!(
            " (yanked, installable only by exact version: {})",
            yanked.join(", ")
        )
    }
}

/// Which of `versions` (each with whether it is yanked) `spec` picks: the highest that
/// matches; yanked ones only by exact version, pre-releases only when asked for.
pub fn choose(spec: &Spec, versions: &[(Version, bool)]) -> Result<usize, ResolveError> {
    let mut order: Vec<usize> = (0..versions.len()).collect();
    order.sort_by(|a, b| versions[*b].0.cmp(&versions[*a].0));
    let chosen = order.iter().copied().find(|i| {
        let (v, yanked) = &versions[*i];
        match &spec.req {
            VersionReq::Latest => !yanked && v.pre.is_empty(),
            VersionReq::Exact(want) => v == want,
            VersionReq::Req(req, _) => !yanked && req.matches(v),
        }
    });
    if let Some(i) = chosen {
        return Ok(i);
    }
    let (yanked, available): (Vec<usize>, Vec<usize>) =
        order.iter().rev().partition(|i| versions[**i].1);
    let show = |l: Vec<usize>| l.iter().map(|i| versions[*i].0.to_string()).collect();
    Err(ResolveError::NoMatchingVersion {
        name: spec.name.clone(),
        req: spec.req.to_string(),
        available: show(available),
        yanked: show(yanked),
    })
}

/// Resolves `spec` for `platform` against `registries`, highest priority first.
pub fn resolve(
    spec: &Spec,
    registries: &[&Index],
    platform: &str,
) -> Result<Resolved, ResolveError> {
    let Some((registry, versions)) = registries
        .iter()
        .enumerate()
        .find_map(|(i, idx)| idx.runtimes.get(&spec.name).map(|v| (i, v)))
    else {
        let mut available: Vec<String> = registries
            .iter()
            .flat_map(|idx| idx.runtimes.keys().cloned())
            .collect();
        available.sort();
        available.dedup();
        return Err(ResolveError::NotFound {
            name: spec.name.clone(),
            available,
        });
    };

    // Keys were checked to be semver when the index was parsed.
    let parsed: Vec<(Version, &Entry)> = versions
        .iter()
        .filter_map(|(k, e)| Version::parse(k).ok().map(|v| (v, e)))
        .collect();
    let flags: Vec<(Version, bool)> = parsed.iter().map(|(v, e)| (v.clone(), e.yanked)).collect();
    let (version, entry) = &parsed[choose(spec, &flags)?];
    let artifact = entry
        .artifacts
        .get(platform)
        .map(|a| (platform.to_string(), a.clone()));
    if artifact.is_none() && !entry.platforms.iter().any(|p| p == platform) {
        let mut offered: Vec<String> = entry.platforms.clone();
        offered.extend(entry.artifacts.keys().cloned());
        offered.sort();
        offered.dedup();
        return Err(ResolveError::Platform {
            name: spec.name.clone(),
            version: version.to_string(),
            platform: platform.to_string(),
            offered,
        });
    }
    Ok(Resolved {
        registry,
        name: spec.name.clone(),
        version: version.clone(),
        entry: (*entry).clone(),
        artifact,
        requested: spec.req.to_string(),
    })
}
