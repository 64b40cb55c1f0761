//! `jrt registry add`: records built packages in a registry.json.
//!
//! Each package is read (its `manifest.yaml`, and for a prebuilt one its `versions.lock`
//! platform) and hashed. A source package adds or updates `runtimes.<name>.<version>`; a
//! prebuilt one adds `artifacts.<platform>` to that entry. Every existing version is kept.
//! Published bytes are immutable: a version or artifact whose checksum would change is
//! refused unless forced. When anything changes, `serial` goes up by one and `updated_at` is
//! set. The file is written atomically, with sorted keys, and still reads in the upstream
//! schema.

use jrt_extract::Limits;
use std::io::Read;

use std::path::{Path, PathBuf};

use serde::Serialize;

use jrt_package::manifest::Manifest;
use jrt_registry::index::{Artifact, Checksum, Entry, Index};

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("not a .tar.gz: {0}")]
    Tar(#[from] jrt_extract::tar_entries::HeaderError),
    #[error("{}: {reason}", path.display())]
    Package { path: PathBuf, reason: String },
    #[error(
        "{what} is already published with sha256:{published}, and {} has sha256:{new}; published \
         versions are immutable (bump the version, or pass --force to replace it)",
        path.display()
    )]
    Immutable {
        what: String,
        published: String,
        new: String,
        path: PathBuf,
    },
    #[error(
        "{}: add the source package of {name}@{version} before (or with) its prebuilt packages",
        path.display()
    )]
    NoSourceEntry {
        path: PathBuf,
        name: String,
        version: String,
    },
    #[error(transparent)]
    Index(#[from] jrt_registry::index::IndexError),
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
}

/// What a package file holds.
#[derive(Debug, Clone)]
pub struct PackageInfo {
    pub manifest: Manifest,
    /// The platform of a prebuilt package (from its versions.lock).
    pub platform: Option<String>,
    pub sha256: String,
    pub size: u64,
    pub file_name: String,
    /// The texts of its top-level manifest.yaml, runtime.yml and versions.lock (capped).
    pub manifest_yaml: String,
    pub runtime_yml: Option<String>,
    pub versions_lock: Option<String>,
}

/// Reads a package as [`read`] does; its file name must also be `<name>-<version>.tar.gz` or
/// `<name>-<version>-<platform>.tar.gz`.
pub fn inspect(path: &Path) -> Result<PackageInfo, IndexError> {
    let info = read(path)?;
    let expected = match &info.platform {
        Some(p) => format!(
            "{}-{}-{p}.tar.gz",
            info.manifest.name, info.manifest.version
        ),
        None => format!("{}-{}.tar.gz", info.manifest.name, info.manifest.version),
    };
    if info.file_name != expected {
        return Err(IndexError::Package {
            path: path.to_path_buf(),
            reason: format!(
                "it holds {}@{}{}, so it must be named {expected}",
                info.manifest.name,
                info.manifest.version,
                info.platform
                    .as_ref()
                    .map(|p| format!(" for {p}"))
                    .unwrap_or_default()
            ),
        });
    }
    Ok(info)
}

/// Reads a package (or a layer of one): one top-level directory named after the runtime, its
/// manifest, and for a prebuilt package (a `runtime.yml` at the top) the platform its
/// versions.lock names.
pub fn read(path: &Path) -> Result<PackageInfo, IndexError> {
    let bad = |reason: String| IndexError::Package {
        path: path.to_path_buf(),
        reason,
    };
    // Streamed: a prebuilt CUDA runtime is gigabytes. The hash covers every byte read,
    // including whatever follows the archive.
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut hashed = jrt_fs::Hashed::new(std::io::BufReader::with_capacity(1 << 20, file));
    let mut manifest = None;
    let mut lock = None;
    let mut runtime_yml = None;
    let mut tops = std::collections::BTreeSet::new();
    let mut archive = tar::Archive::new(jrt_extract::gzip::Decoder::new(&mut hashed));
    jrt_extract::tar_entries::each(
        &mut archive,
        Limits::default().max_path_len,
        |entry, names| {
            let name = String::from_utf8_lossy(&names.path).into_owned();
            let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
            if let Some(top) = parts.first() {
                tops.insert(top.to_string());
            }
            let mut text = || -> Result<Vec<u8>, IndexError> {
                let cap = jrt_input::caps::MAX_YAML_BYTES;
                let mut b = Vec::new();
                entry
                    .by_ref()
                    .take(cap + 1)
                    .read_to_end(&mut b)
                    .map_err(|e| bad(e.to_string()))?;
                jrt_input::caps::size(&b, cap).map_err(|e| bad(format!("{name}: {e}")))?;
                Ok(b)
            };
            match parts.as_slice() {
                [_, "manifest.yaml"] => manifest = Some(text()?),
                [_, "versions.lock"] => lock = Some(text()?),
                [_, "runtime.yml"] => runtime_yml = Some(text()?),
                _ => {}
            }
            Ok(())
        },
    )
    .map_err(|e| match e {
        IndexError::Tar(e) => bad(format!("not a .tar.gz: {e}")),
        e => e,
    })?;
    drop(archive);
    std::io::copy(&mut hashed, &mut std::io::sink()).map_err(|e| bad(e.to_string()))?;
    let (sha256, size) = hashed.finish();
    if tops.len() != 1 {
        return Err(bad(format!(
            "a package has one top-level directory; this one has {}",
            tops.len()
        )));
    }
    let manifest_bytes = manifest.ok_or_else(|| bad("has no manifest.yaml at its top".into()))?;
    let manifest = Manifest::parse(&manifest_bytes, Path::new("manifest.yaml"))
        .map_err(|e| bad(e.to_string()))?;
    let utf8 = |what: &str, b: Vec<u8>| {
        String::from_utf8(b).map_err(|_| bad(format!("its {what} is not UTF-8")))
    };
    let manifest_yaml = utf8("manifest.yaml", manifest_bytes)?;
    let runtime_yml = runtime_yml.map(|b| utf8("runtime.yml", b)).transpose()?;
    if tops.first() != Some(&manifest.name) {
        return Err(bad(format!(
            "its top-level directory is '{}', but the manifest names '{}'",
            tops.first().map(String::as_str).unwrap_or(""),
            manifest.name
        )));
    }
    let versions_lock = lock.map(|b| utf8("versions.lock", b)).transpose()?;
    let platform = if runtime_yml.is_some() {
        let text = versions_lock
            .as_deref()
            .ok_or_else(|| bad("a prebuilt package without versions.lock".into()))?;
        let platform = text
            .lines()
            .find_map(|l| l.strip_prefix("platform:"))
            .map(|p| p.trim().trim_matches('"').to_string())
            .ok_or_else(|| bad("its versions.lock names no platform".into()))?;
        Some(platform)
    } else {
        None
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(PackageInfo {
        manifest,
        platform,
        sha256,
        size,
        file_name,
        manifest_yaml,
        runtime_yml,
        versions_lock,
    })
}

/// What `add` did.
#[derive(Debug, Clone, Serialize)]
pub struct Added {
    /// What happened to each package given.
    pub changes: Vec<Change>,
    pub serial: u64,
    pub index: PathBuf,
}

/// One package's entry in the index.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// `name@version`, or `name@version for platform` for a prebuilt package.
    pub entry: String,
    /// `added`, `updated` or `unchanged`.
    pub change: &'static str,
}

/// Adds `packages` to the registry.json at `index_path` (created when missing), their
/// download URLs being `<base_url>/<file name>`.
pub fn add(
    index_path: &Path,
    packages: &[PathBuf],
    base_url: &str,
    force: bool,
) -> Result<Added, IndexError> {
    let mut index = match std::fs::read(index_path) {
        Ok(bytes) => Index::parse(&bytes, &index_path.display().to_string())?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Index::empty(),
        Err(source) => {
            return Err(jrt_fs::io("cannot read", index_path)(source).into());
        }
    };
    let mut infos = packages
        .iter()
        .map(|p| Ok((p.clone(), inspect(p)?)))
        .collect::<Result<Vec<_>, IndexError>>()?;
    // Source packages first, so a prebuilt one finds its entry.
    infos.sort_by_key(|(_, info)| info.platform.is_some());
    let base = base_url.trim_end_matches('/');
    let mut changes = Vec::new();
    for (path, info) in infos {
        let m = &info.manifest;
        let url = format!("{base}/{}", info.file_name);
        let checksum = Checksum::parse(&format!("sha256:{}", info.sha256)).map_err(|e| {
            IndexError::Package {
                path: path.clone(),
                reason: e.to_string(),
            }
        })?;
        let versions = index.runtimes.entry(m.name.clone()).or_default();
        match &info.platform {
            None => {
                let label = format!("{}@{}", m.name, m.version);
                let old = versions.get(&m.version);
                immutable(old.map(|o| &o.checksum), &info.sha256, force, &label, &path)?;
                let entry = Entry {
                    version: m.version.clone(),
                    description: m.description.clone(),
                    download_url: url,
                    checksum,
                    size: info.size,
                    platforms: m.platforms.clone(),
                    family: m.family.clone(),
                    // Artifacts of the same version stay (they are checked one by one).
                    artifacts: old.map(|o| o.artifacts.clone()).unwrap_or_default(),
                    yanked: old.is_some_and(|o| o.yanked),
                };
                let what = match old {
                    None => "added",
                    Some(o) if same_entry(o, &entry) => "unchanged",
                    Some(_) => "updated",
                };
                versions.insert(m.version.clone(), entry);
                changes.push(Change {
                    entry: label,
                    change: what,
                });
            }
            Some(platform) => {
                let label = format!("{}@{} for {platform}", m.name, m.version);
                let entry =
                    versions
                        .get_mut(&m.version)
                        .ok_or_else(|| IndexError::NoSourceEntry {
                            path: path.clone(),
                            name: m.name.clone(),
                            version: m.version.clone(),
                        })?;
                let old = entry.artifacts.get(platform);
                immutable(old.map(|o| &o.checksum), &info.sha256, force, &label, &path)?;
                let artifact = Artifact {
                    download_url: url,
                    checksum,
                    size: info.size,
                };
                let what = match old {
                    None => "added",
                    Some(o)
                        if o.download_url == artifact.download_url
                            && o.checksum.hex() == artifact.checksum.hex() =>
                    {
                        "unchanged"
                    }
                    Some(_) => "updated",
                };
                entry.artifacts.insert(platform.clone(), artifact);
                changes.push(Change {
                    entry: label,
                    change: what,
                });
            }
        }
    }
    if changes.iter().any(|c| c.change != "unchanged") {
        index.serial = Some(index.serial.unwrap_or(0) + 1);
        index.updated_at = Some(jrt_fs::time::format(jrt_fs::time::now()));
        let bytes = index.to_json();
        // What is written must read back, in jrt's reader and the upstream schema alike.
        Index::parse(&bytes, &index_path.display().to_string())?;
        jrt_fs::write_atomic(index_path, &bytes).map_err(jrt_fs::io("cannot write", index_path))?;
    }
    Ok(Added {
        changes,
        serial: index.serial.unwrap_or(0),
        index: index_path.to_path_buf(),
    })
}

/// Published bytes never change: refuses `new` where `published` differs, unless forced.
fn immutable(
    published: Option<&Checksum>,
    new: &str,
    force: bool,
    what: &str,
    path: &Path,
) -> Result<(), IndexError> {
    match published {
        Some(old) if old.hex() != new && !force => Err(IndexError::Immutable {
            what: what.to_string(),
            published: old.hex(),
            new: new.to_string(),
            path: path.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

fn same_entry(a: &Entry, b: &Entry) -> bool {
    a.download_url == b.download_url
        && a.checksum.hex() == b.checksum.hex()
        && a.size == b.size
        && a.description == b.description
        && a.platforms == b.platforms
        && a.family == b.family
}
