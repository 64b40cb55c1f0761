//! `jrt push PKG... oci://HOST/NAMESPACE`: packages to an OCI registry in jrt's layout
//! ([`jrt_oci::layout`]).
//!
//! Each package (a `.tar.gz` that `jrt build` wrote, or a `.layers.json` that describes a
//! layered one) becomes a manifest in the repository `NAMESPACE/<name>`; the packages of one
//! version become the image index tagged with the version, put last, so a reader never sees
//! a version whose blobs are not all there. Blobs already in the repository are skipped;
//! blobs another repository of the namespace holds (a base runtime's layer) are mounted
//! rather than uploaded again. A published platform is immutable: pushing other bytes for
//! it is refused unless `force`, as in `registry add`; adding a platform is allowed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use jrt_oci::client::Mount;
use jrt_oci::layout::{self, Config, Merge, SOURCE};
use jrt_oci::model::{self, Descriptor, Digest, Document};
use jrt_oci::reference::{Reference, tag_of_version};
use jrt_oci::{Client, Location, OciError};

/// The most a `.layers.json` may weigh.
const MAX_LAYERS_FILE_BYTES: u64 = 1 << 20;

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Oci(#[from] OciError),
    #[error("{}: {message}", path.display())]
    Package { path: PathBuf, message: String },
    #[error(
        "{at} is published, and this push would give {} other bytes; published versions are \
         immutable (push a new version, or pass --force to move the tag)",
        platforms.join(", ")
    )]
    Immutable { at: String, platforms: Vec<String> },
    #[error(
        "{at}: the layer {digest} (of {base}) is neither in the registry nor among the files \
         given; push {base} first, or give its package too"
    )]
    MissingLayer {
        at: String,
        digest: Digest,
        base: String,
    },
    #[error(transparent)]
    Inspect(#[from] crate::index::IndexError),
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
}

/// One version pushed.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    pub name: String,
    pub version: String,
    /// `oci://HOST/NAMESPACE/<name>:<tag>`.
    pub reference: String,
    /// The digest of the version's index, which pins it.
    pub digest: String,
    /// Every platform the version now offers (and `source`).
    pub platforms: Vec<String>,
    /// `pushed` (a new version), `grown` (platforms added), `replaced` (forced), or
    /// `unchanged`.
    pub action: &'static str,
    pub blobs_uploaded: usize,
    pub bytes_uploaded: u64,
    pub blobs_mounted: usize,
    pub blobs_present: usize,
}

/// A `.layers.json` as `jrt build --prebuilt` writes it for a runtime with a `base`: the
/// files of its layers, bottom first (the base's own package, then what this runtime adds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayersFile {
    pub name: String,
    pub version: String,
    pub platform: String,
    /// `name@version` of the base runtime.
    pub base: String,
    pub layers: Vec<LayerFile>,
}

/// One layer of a [`LayersFile`]: a file beside it, with its digest and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerFile {
    pub file: String,
    pub digest: Digest,
    pub size: u64,
}

/// A package read for pushing.
struct Package {
    config: Config,
    /// The layers, bottom first: (file when we have it, digest, size).
    layers: Vec<(Option<PathBuf>, Digest, u64)>,
    /// The base runtime's name (its repository in the namespace is where a lower layer may
    /// be mounted from) and its `name@version`.
    base_repo: Option<(String, String)>,
}

/// Pushes `files` to `namespace`, version by version.
pub fn push(
    client: &Client,
    namespace: &Location,
    files: &[PathBuf],
    force: bool,
) -> Result<Vec<Pushed>, PushError> {
    let mut by_version: BTreeMap<(String, String), Vec<Package>> = BTreeMap::new();
    let mut seen: BTreeMap<(String, String, String), PathBuf> = BTreeMap::new();
    for file in files {
        let package = read(file)?;
        let key = (
            package.config.name.clone(),
            package.config.version.clone(),
            package.config.platform.clone(),
        );
        if let Some(first) = seen.insert(key.clone(), file.clone()) {
            return Err(PushError::Package {
                path: file.clone(),
                message: format!(
                    "it is {}@{} for {}, as {} is: give one package per platform (a layered \
                     runtime's .layers.json, or its single-file package)",
                    key.0,
                    key.1,
                    key.2,
                    first.display()
                ),
            });
        }
        by_version
            .entry((package.config.name.clone(), package.config.version.clone()))
            .or_default()
            .push(package);
    }
    // Files the user gave, by digest: a base layer can be uploaded from them.
    let mut known: std::collections::HashMap<Digest, PathBuf> = Default::default();
    for packages in by_version.values() {
        for p in packages {
            for (file, digest, _) in &p.layers {
                if let Some(f) = file {
                    known.insert(digest.clone(), f.clone());
                }
            }
        }
    }
    // Versions built on a base after the others: the base's layer is then in its own
    // repository, to be mounted from there.
    let mut ordered: Vec<_> = by_version.into_iter().collect();
    ordered.sort_by_key(|(_, packages)| packages.iter().any(|p| p.base_repo.is_some()));
    let mut out = Vec::new();
    for ((name, version), packages) in ordered {
        out.push(push_version(
            client, namespace, &name, &version, &packages, &known, force,
        )?);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn push_version(
    client: &Client,
    namespace: &Location,
    name: &str,
    version: &str,
    packages: &[Package],
    known: &std::collections::HashMap<Digest, PathBuf>,
    force: bool,
) -> Result<Pushed, PushError> {
    let repo = namespace.child(name).map_err(OciError::from)?;
    let tag = tag_of_version(version);
    let at = repo.at(Reference::Tag(tag.clone()));

    // Every document first, in memory: their digests decide immutability before any upload.
    struct Prepared<'a> {
        package: &'a Package,
        config: Vec<u8>,
        manifest: Vec<u8>,
        entry: Descriptor,
    }
    let mut prepared = Vec::new();
    for package in packages {
        let config = model::to_bytes(&package.config);
        let layers = package
            .layers
            .iter()
            .map(|(_, digest, size)| Descriptor {
                media_type: layout::LAYER_TYPE.into(),
                digest: digest.clone(),
                size: *size,
                artifact_type: None,
                platform: None,
                annotations: BTreeMap::new(),
            })
            .collect();
        let manifest = layout::manifest(
            &package.config,
            &Digest::of(&config),
            config.len() as u64,
            layers,
        );
        let manifest = model::to_bytes(&manifest);
        let entry = layout::index_entry(
            &package.config,
            &Digest::of(&manifest),
            manifest.len() as u64,
        );
        prepared.push(Prepared {
            package,
            config,
            manifest,
            entry,
        });
    }
    let entries: Vec<Descriptor> = prepared.iter().map(|p| p.entry.clone()).collect();
    let existing = match client.manifest(&at)? {
        Some(f) => Some(f.document),
        None => None,
    };
    let (index, action) = match &existing {
        None => (layout::index(entries.clone()), "pushed"),
        Some(Document::Index(old)) => match layout::merge(old, &entries) {
            Merge::Unchanged => (old.clone(), "unchanged"),
            Merge::Grows(new) => (new, "grown"),
            Merge::Moves(_) if force => (layout::replace(old, &entries), "replaced"),
            Merge::Moves(platforms) => {
                return Err(PushError::Immutable {
                    at: at.to_string(),
                    platforms,
                });
            }
        },
        Some(Document::Manifest(_)) if force => (layout::index(entries.clone()), "replaced"),
        Some(Document::Manifest(_)) => {
            return Err(PushError::Immutable {
                at: at.to_string(),
                platforms: vec!["(a single manifest, not jrt's index)".into()],
            });
        }
    };
    let mut pushed = Pushed {
        name: name.to_string(),
        version: version.to_string(),
        reference: at.to_string(),
        digest: String::new(),
        platforms: index
            .manifests
            .iter()
            .filter_map(|d| layout::platform_of(d).map(String::from))
            .collect(),
        action,
        blobs_uploaded: 0,
        bytes_uploaded: 0,
        blobs_mounted: 0,
        blobs_present: 0,
    };
    let index_bytes = model::to_bytes(&index);
    if action == "unchanged" {
        pushed.digest = Digest::of(&index_bytes).to_string();
        if let Some(Document::Index(_)) = &existing {
            // The registry's own bytes are what the tag pins.
            if let Some(f) = client.manifest(&at)? {
                pushed.digest = f.digest.to_string();
            }
        }
        return Ok(pushed);
    }

    for p in &prepared {
        for (file, digest, size) in &p.package.layers {
            if client.has_blob(&repo, digest)? {
                pushed.blobs_present += 1;
                continue;
            }
            let mut session = None;
            if let Some((base_name, _)) = &p.package.base_repo {
                let from = namespace.child(base_name).map_err(OciError::from)?;
                match client.mount(&repo, digest, &from.repository)? {
                    Mount::Mounted => {
                        pushed.blobs_mounted += 1;
                        continue;
                    }
                    Mount::Upload(url) => session = Some(url),
                }
            }
            let path = file
                .clone()
                .or_else(|| known.get(digest).cloned())
                .ok_or_else(|| PushError::MissingLayer {
                    at: at.to_string(),
                    digest: digest.clone(),
                    base: p
                        .package
                        .base_repo
                        .as_ref()
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default(),
                })?;
            client.upload(&repo, &path, digest, *size, session)?;
            pushed.blobs_uploaded += 1;
            pushed.bytes_uploaded += size;
        }
        client.upload_bytes(&repo, &p.config)?;
        client.put_manifest(
            &repo,
            &p.entry.digest.to_string(),
            model::MANIFEST_TYPE,
            &p.manifest,
        )?;
    }
    // The tag last: only now is every blob and manifest it points at in place.
    let digest = client.put_manifest(&repo, &tag, model::INDEX_TYPE, &index_bytes)?;
    pushed.digest = digest.to_string();
    Ok(pushed)
}

/// Reads a package (or a layered package's description) into what its manifest needs.
fn read(path: &Path) -> Result<Package, PushError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if file_name.ends_with(".layers.json") {
        return read_layered(path);
    }
    // The name check refuses a layered package's own layer (`….layer.tar.gz`): pushed
    // alone it would be an incomplete runtime.
    let info = crate::index::inspect(path)?;
    let digest =
        Digest::parse(&format!("sha256:{}", info.sha256)).map_err(|e| PushError::Package {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let size = info.size;
    Ok(Package {
        config: config_of(info),
        layers: vec![(Some(path.to_path_buf()), digest, size)],
        base_repo: None,
    })
}

/// The config blob of a package [`crate::index::read`] read.
fn config_of(info: crate::index::PackageInfo) -> Config {
    let m = info.manifest;
    let platform = info.platform.unwrap_or_else(|| SOURCE.to_string());
    Config {
        platforms: if platform == SOURCE {
            m.platforms.clone()
        } else {
            Vec::new()
        },
        name: m.name,
        version: m.version,
        platform,
        description: m.description,
        family: m.family,
        manifest_yaml: info.manifest_yaml,
        runtime_yml: info.runtime_yml,
        versions_lock: info.versions_lock,
    }
}

/// A layered package: its `.layers.json` and the layer files beside it. The config comes
/// from the top layer (what the runtime adds holds its own manifest.yaml and runtime.yml).
fn read_layered(path: &Path) -> Result<Package, PushError> {
    let bad = |message: String| PushError::Package {
        path: path.to_path_buf(),
        message,
    };
    let bytes = jrt_fs::read_no_follow(path, MAX_LAYERS_FILE_BYTES)
        .map_err(jrt_fs::io("cannot read", path))?;
    let described: LayersFile =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not a layers file: {e}")))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let (Some(top), true) = (described.layers.last(), described.layers.len() >= 2) else {
        return Err(bad(
            "a layered package has its base's layer and its own".into()
        ));
    };
    let mut layers = Vec::new();
    for (i, l) in described.layers.iter().enumerate() {
        if l.file.contains('/') || l.file.starts_with('.') {
            return Err(bad(format!(
                "its layer file '{}' is not a plain file name",
                l.file
            )));
        }
        let file = dir.join(&l.file);
        // The base's file may be absent: the registry may already hold (or mount) it.
        let present = i > 0 || file.is_file();
        if present {
            let (sha, size) =
                jrt_fs::sha256_file(&file).map_err(jrt_fs::io("cannot read", &file))?;
            if sha != l.digest.hex() || size != l.size {
                return Err(bad(format!(
                    "its layer {} is not the file it names (sha256:{sha}, {size} bytes)",
                    l.file
                )));
            }
        }
        layers.push((present.then_some(file), l.digest.clone(), l.size));
    }
    let config = config_of(crate::index::read(&dir.join(&top.file))?);
    if config.name != described.name
        || config.version != described.version
        || config.platform != described.platform
    {
        return Err(bad(format!(
            "its top layer is {}@{} for {}, not the {}@{} for {} it describes",
            config.name,
            config.version,
            config.platform,
            described.name,
            described.version,
            described.platform
        )));
    }
    let base_name = described
        .base
        .split('@')
        .next()
        .unwrap_or_default()
        .to_string();
    Ok(Package {
        config,
        layers,
        base_repo: Some((base_name, described.base.clone())),
    })
}
