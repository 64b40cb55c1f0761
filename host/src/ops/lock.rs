//! Lock files: `jrt lock SPEC... [--platform P]... [-o jrt.lock]` resolves without installing
//! and writes, per runtime and platform, the exact version, package URL, sha256 and size, the
//! registry (and its serial when it has one), and the sha256 of each plugin that will set a
//! source package up. `jrt install --locked FILE` installs exactly that: the file becomes the
//! only registry, holding only the locked versions, so nothing is resolved anew; `jrt sync
//! FILE [--prune]` makes the node match it.
//!
//! The format is JSON with a `lock_version`, and every map is ordered, so a diff of two locks
//! shows what changed; a lock written on one platform holds every platform it lists.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use jrt_registry::index::{Artifact, Entry, Index};
use jrt_registry::source::{Registry, Source};
use jrt_registry::{Checksum, Spec, VersionReq};

use super::install::{InstallOptions, InstallReport};
use super::{Error, Session};

/// The lock format this jrt writes and reads.
pub const LOCK_VERSION: u32 = 1;
/// The most a lock file may weigh.
const MAX_LOCK_BYTES: u64 = 16 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockFile {
    pub lock_version: u32,
    pub runtimes: BTreeMap<String, Locked>,
}

/// One runtime, at one version, on each platform locked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Locked {
    pub version: String,
    /// What was asked for when the lock was written.
    pub requested: String,
    pub registry: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<u64>,
    #[serde(default)]
    pub family: Vec<String>,
    pub platforms: BTreeMap<String, LockedPackage>,
}

/// The package a platform installs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockedPackage {
    /// `prebuilt` or `source`.
    pub kind: String,
    pub url: String,
    pub checksum: Checksum,
    pub size: u64,
    /// For a source package: the plugins that set it up, with the sha256 they must have.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<LockedPlugin>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedPlugin {
    pub name: String,
    pub sha256: String,
}

/// `jrt lock`: resolves `specs` for `platforms` (none: every platform each runtime offers).
pub fn lock(session: &Session, specs: &[Spec], platforms: &[String]) -> Result<LockFile, Error> {
    let registries = session.registries()?;
    let installer = session.installer()?;
    let ctx = session.plugins()?;
    let plugins = ctx.plugins()?;
    let mut runtimes = BTreeMap::new();
    for spec in specs {
        let offered = if platforms.is_empty() {
            offered(&registries, spec, &installer)?
        } else {
            platforms.to_vec()
        };
        let mut locked: Option<Locked> = None;
        for platform in &offered {
            let resolved = super::install::resolve_all(
                &registries,
                std::slice::from_ref(spec),
                platform,
                &installer,
            )?
            .pop();
            let Some((i, r)) = resolved else { continue };
            let registry = &registries[i];
            let (url, checksum, size) = r.package();
            let url = registry
                .resolve_url(url)
                .map_err(|e| Error::Usage(e.to_string()))?;
            let source = r.artifact.is_none();
            let pins = if source {
                r.entry
                    .family
                    .iter()
                    .map(|family| {
                        plugins
                            .iter()
                            .find(|p| p.meta.families.contains(family))
                            .map(|p| LockedPlugin {
                                name: p.meta.name.clone(),
                                sha256: p.meta.sha256.clone(),
                            })
                            .ok_or_else(|| {
                                Error::Usage(format!(
                                    "{}: no plugin serves the family '{family}'",
                                    spec.name
                                ))
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                Vec::new()
            };
            let entry = locked.get_or_insert_with(|| Locked {
                version: r.version.to_string(),
                requested: r.requested.clone(),
                registry: registry.source.display(),
                serial: registry.index.serial,
                family: r.entry.family.clone(),
                platforms: BTreeMap::new(),
            });
            entry.platforms.insert(
                platform.clone(),
                LockedPackage {
                    kind: if source { "source" } else { "prebuilt" }.into(),
                    url: url.to_string(),
                    checksum: checksum.clone(),
                    size,
                    plugins: pins,
                },
            );
        }
        let l = locked.ok_or_else(|| Error::Usage(format!("{spec}: no platform to lock")))?;
        runtimes.insert(spec.name.clone(), l);
    }
    Ok(LockFile {
        lock_version: LOCK_VERSION,
        runtimes,
    })
}

/// Every platform the version `spec` resolves to offers, as its registry lists them: asked
/// for a platform no runtime has, resolution answers with the list.
fn offered(
    registries: &[Registry],
    spec: &Spec,
    installer: &jrt_install::Installer,
) -> Result<Vec<String>, Error> {
    use jrt_registry::ResolveError;
    use jrt_registry::lookup::LookupError;
    match super::install::resolve_all(registries, std::slice::from_ref(spec), "", installer) {
        Err(Error::Lookup(LookupError::Resolve(ResolveError::Platform { offered, .. }))) => {
            Ok(offered)
        }
        Err(e) => Err(e),
        Ok(_) => Err(Error::Usage(format!(
            "{spec}: its platforms cannot be told"
        ))),
    }
}

impl LockFile {
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Reads and checks a lock file.
    pub fn read(path: &Path) -> Result<LockFile, Error> {
        let bad = |m: String| Error::Usage(format!("lock file {}: {m}", path.display()));
        let bytes = jrt_fs::read_no_follow(path, MAX_LOCK_BYTES).map_err(|e| bad(e.to_string()))?;
        jrt_input::caps::json_depth(&bytes).map_err(|e| bad(e.to_string()))?;
        let lock: LockFile = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if lock.lock_version != LOCK_VERSION {
            return Err(bad(format!(
                "it is lock_version {}, this jrt reads {LOCK_VERSION}",
                lock.lock_version
            )));
        }
        Ok(lock)
    }

    /// The lock as the only registry an install sees: each runtime at its locked version
    /// only, with the locked packages.
    fn registry(&self, path: &Path) -> Result<Registry, Error> {
        let mut index = Index::empty();
        for (name, l) in &self.runtimes {
            let sources: Vec<(&String, &LockedPackage)> = l
                .platforms
                .iter()
                .filter(|(_, p)| p.kind == "source")
                .collect();
            let any =
                l.platforms.values().next().ok_or_else(|| {
                    Error::Usage(format!("the lock lists no platform for {name}"))
                })?;
            let source = sources.first().map(|(_, p)| *p).unwrap_or(any);
            let entry = Entry {
                version: l.version.clone(),
                description: String::new(),
                download_url: source.url.clone(),
                checksum: source.checksum.clone(),
                size: source.size,
                platforms: sources.iter().map(|(p, _)| (*p).clone()).collect(),
                family: l.family.clone(),
                artifacts: l
                    .platforms
                    .iter()
                    .filter(|(_, p)| p.kind == "prebuilt")
                    .map(|(platform, p)| {
                        (
                            platform.clone(),
                            Artifact {
                                download_url: p.url.clone(),
                                checksum: p.checksum.clone(),
                                size: p.size,
                            },
                        )
                    })
                    .collect(),
                yanked: false,
            };
            index
                .runtimes
                .entry(name.clone())
                .or_default()
                .insert(l.version.clone(), entry);
        }
        Ok(Registry {
            name: "lock".into(),
            source: Source::File(std::path::absolute(path).unwrap_or(path.to_path_buf())),
            index,
        })
    }

    /// The exact specs it locks.
    fn specs(&self) -> Result<Vec<Spec>, Error> {
        self.runtimes
            .iter()
            .map(|(name, l)| {
                let version = semver::Version::parse(&l.version)
                    .map_err(|e| Error::Usage(format!("lock: {name}@{}: {e}", l.version)))?;
                Ok(Spec {
                    name: name.clone(),
                    req: VersionReq::Exact(version),
                })
            })
            .collect()
    }
}

/// `jrt install --locked FILE`: exactly what the lock says, for this node's platform; the
/// plugins that will set a source package up must be the ones the lock pins.
pub fn install_locked(
    session: &Session,
    path: &Path,
    options: &InstallOptions,
    progress: Option<Arc<dyn jrt_client::progress::Progress>>,
) -> Result<InstallReport, Error> {
    let lock = LockFile::read(path)?;
    let ctx = session.plugins()?;
    let plugins = ctx.plugins()?;
    for (name, l) in &lock.runtimes {
        for (platform, p) in &l.platforms {
            for pin in &p.plugins {
                let have = plugins.iter().find(|x| x.meta.name == pin.name);
                match have {
                    Some(x) if x.meta.sha256 == pin.sha256 => {}
                    _ => {
                        return Err(Error::Usage(format!(
                            "{name}@{} for {platform} is locked to plugin {} sha256 {}, and \
                             this jrt has {}",
                            l.version,
                            pin.name,
                            pin.sha256,
                            have.map_or("no such plugin".to_string(), |x| {
                                format!("sha256 {}", x.meta.sha256)
                            })
                        )));
                    }
                }
            }
        }
    }
    let registry = lock.registry(path)?;
    super::install::run_with(session, vec![registry], &lock.specs()?, options, progress)
}

/// What `jrt sync` changed.
#[derive(Debug, Serialize)]
pub struct Synced {
    /// `name@version` installed now.
    pub installed: Vec<String>,
    /// `name@version` already there.
    pub unchanged: Vec<String>,
    /// `name@version` removed by `--prune`.
    pub removed: Vec<String>,
    #[serde(skip)]
    pub failed: Vec<jrt_install::InstallError>,
}

/// `jrt sync FILE [--prune]`: installs what the lock lists and the node lacks; with `prune`,
/// removes installed versions the lock does not list.
pub fn sync(
    session: &Session,
    path: &Path,
    prune: bool,
    options: &InstallOptions,
    progress: Option<Arc<dyn jrt_client::progress::Progress>>,
) -> Result<Synced, Error> {
    let lock = LockFile::read(path)?;
    let InstallReport::Done { results, .. } = install_locked(session, path, options, progress)?
    else {
        return Err(Error::Usage("sync does not take --dry-run".into()));
    };
    let mut synced = Synced {
        installed: Vec::new(),
        unchanged: Vec::new(),
        removed: Vec::new(),
        failed: Vec::new(),
    };
    for r in results {
        match r {
            Ok(o) if o.action == "already-installed" => {
                synced.unchanged.push(format!("{}@{}", o.name, o.version))
            }
            Ok(o) => synced.installed.push(format!("{}@{}", o.name, o.version)),
            Err(e) => synced.failed.push(e),
        }
    }
    if prune && synced.failed.is_empty() {
        for i in super::installed::installed(&session.layout) {
            if lock
                .runtimes
                .get(&i.name)
                .is_some_and(|l| l.version == i.version)
            {
                continue;
            }
            let Ok(version) = semver::Version::parse(&i.version) else {
                continue;
            };
            let spec = Spec {
                name: i.name.clone(),
                req: VersionReq::Exact(version),
            };
            super::installed::remove(&session.layout, &spec)?;
            synced.removed.push(format!("{}@{}", i.name, i.version));
        }
        synced.removed.sort();
    }
    Ok(synced)
}
