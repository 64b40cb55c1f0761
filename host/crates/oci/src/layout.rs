//! jrt's layout in an OCI registry: each runtime is a repository, each version a tag whose
//! image index lists one manifest per platform (OCI `platform` plus jrt's platform id in an
//! annotation) and one for the source package. A manifest's `artifactType` is jrt's own,
//! its config blob carries the runtime's manifest.yaml, runtime.yml and versions.lock, and
//! its layers are plain `tar+gzip` (jrt's indexed gzip is plain gzip), applied in order.
//!
//! The index itself carries no `artifactType` (an image-spec 1.1 field): tools built on
//! older image libraries, such as Debian's skopeo 1.9, rewrite an index holding one and so
//! change its digest; jrt finds its entries by their annotations instead.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{self, Descriptor, Digest, Index, Manifest, Platform};

/// The `artifactType` of every manifest jrt pushes.
pub const ARTIFACT_TYPE: &str = "application/vnd.joblet.runtime.v1";
/// The config blob's media type.
pub const CONFIG_TYPE: &str = "application/vnd.joblet.runtime.config.v1+json";
/// A layer: a gzip-compressed tar, as every OCI tool reads it.
pub const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// jrt's platform id (`rhel-arm64`), or `source` for the source package.
pub const PLATFORM_ANNOTATION: &str = "dev.joblet.runtime.platform";
/// The platforms a source package can be set up on, comma-separated.
pub const PLATFORMS_ANNOTATION: &str = "dev.joblet.runtime.platforms";
/// The runtime's families in setup order, comma-separated.
pub const FAMILY_ANNOTATION: &str = "dev.joblet.runtime.family";
/// The OCI standard annotations jrt fills, so other tools show something useful.
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
pub const VERSION_ANNOTATION: &str = "org.opencontainers.image.version";
pub const DESCRIPTION_ANNOTATION: &str = "org.opencontainers.image.description";
/// The index entry that is the source package.
pub const SOURCE: &str = "source";

/// The most a config blob may weigh (three small text files and a few names).
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// The config blob: what a reader needs to know about a package without its layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub name: String,
    pub version: String,
    /// jrt's platform id, or `source`.
    pub platform: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub family: Vec<String>,
    /// For a source package: the platforms it can be set up on.
    #[serde(default)]
    pub platforms: Vec<String>,
    /// The runtime's manifest.yaml, as written.
    pub manifest_yaml: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_yml: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions_lock: Option<String>,
}

/// The OCI platform of a jrt platform id: Linux, and the architecture its suffix names.
pub fn oci_platform(id: &str) -> Option<Platform> {
    let arch = id.rsplit('-').next()?;
    let architecture = match arch {
        "amd64" | "x86_64" => "amd64",
        "arm64" | "aarch64" => "arm64",
        _ => return None,
    };
    Some(Platform {
        os: "linux".into(),
        architecture: architecture.into(),
        variant: None,
    })
}

/// The manifest of one package: its config and its layers, in the order they apply.
pub fn manifest(
    config: &Config,
    config_digest: &Digest,
    config_size: u64,
    layers: Vec<Descriptor>,
) -> Manifest {
    Manifest {
        schema_version: 2,
        media_type: Some(model::MANIFEST_TYPE.into()),
        artifact_type: Some(ARTIFACT_TYPE.into()),
        config: Descriptor {
            media_type: CONFIG_TYPE.into(),
            digest: config_digest.clone(),
            size: config_size,
            artifact_type: None,
            platform: None,
            annotations: BTreeMap::new(),
        },
        layers,
        annotations: annotations(config),
    }
}

fn annotations(config: &Config) -> BTreeMap<String, String> {
    let mut a = BTreeMap::from([
        (TITLE_ANNOTATION.to_string(), config.name.clone()),
        (VERSION_ANNOTATION.to_string(), config.version.clone()),
        (PLATFORM_ANNOTATION.to_string(), config.platform.clone()),
    ]);
    if !config.description.is_empty() {
        a.insert(DESCRIPTION_ANNOTATION.into(), config.description.clone());
    }
    if !config.family.is_empty() {
        a.insert(FAMILY_ANNOTATION.into(), config.family.join(","));
    }
    if !config.platforms.is_empty() {
        a.insert(PLATFORMS_ANNOTATION.into(), config.platforms.join(","));
    }
    a
}

/// The index entry for a pushed manifest.
pub fn index_entry(config: &Config, manifest_digest: &Digest, manifest_size: u64) -> Descriptor {
    Descriptor {
        media_type: model::MANIFEST_TYPE.into(),
        digest: manifest_digest.clone(),
        size: manifest_size,
        artifact_type: None,
        platform: if config.platform == SOURCE {
            None
        } else {
            oci_platform(&config.platform)
        },
        annotations: annotations(config),
    }
}

/// The platform (or `source`) an index entry stands for.
pub fn platform_of(desc: &Descriptor) -> Option<&str> {
    desc.annotations
        .get(PLATFORM_ANNOTATION)
        .map(String::as_str)
}

/// A version's index: `entries` sorted by platform, so the same packages always make the
/// same bytes (and the same digest).
pub fn index(mut entries: Vec<Descriptor>) -> Index {
    entries.sort_by(|a, b| platform_of(a).cmp(&platform_of(b)));
    Index {
        schema_version: 2,
        media_type: Some(model::INDEX_TYPE.into()),
        artifact_type: None,
        manifests: entries,
        annotations: BTreeMap::new(),
    }
}

/// What merging new entries into a published index would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    /// Everything is already there, byte for byte.
    Unchanged,
    /// The index gains platforms it did not have (none it had changes).
    Grows(Index),
    /// Some platform would get other bytes: listed, for the refusal.
    Moves(Vec<String>),
}

/// Merges `entries` into `existing` (a published version's index). A published platform is
/// immutable: the same bytes again are fine, other bytes are a move the caller refuses
/// unless forced.
pub fn merge(existing: &Index, entries: &[Descriptor]) -> Merge {
    let mut moved = Vec::new();
    let mut all = existing.manifests.clone();
    let mut grew = false;
    for e in entries {
        let p = platform_of(e);
        match all.iter().find(|o| platform_of(o) == p) {
            Some(o) if o.digest == e.digest => {}
            Some(_) => moved.push(p.unwrap_or("(none)").to_string()),
            None => {
                all.push(e.clone());
                grew = true;
            }
        }
    }
    if !moved.is_empty() {
        Merge::Moves(moved)
    } else if grew {
        Merge::Grows(index(all))
    } else {
        Merge::Unchanged
    }
}

/// Replaces `existing`'s entries for the platforms of `entries` (a forced push).
pub fn replace(existing: &Index, entries: &[Descriptor]) -> Index {
    let mut all: Vec<Descriptor> = existing
        .manifests
        .iter()
        .filter(|o| !entries.iter().any(|e| platform_of(e) == platform_of(o)))
        .cloned()
        .collect();
    all.extend(entries.iter().cloned());
    index(all)
}

/// Layers one runtime may have (its base's, its own, and a few more).
pub const MAX_LAYERS: usize = 16;

/// Media types of layers jrt applies: OCI's gzip tar, and Docker's name for the same.
const LAYER_TYPES: [&str; 2] = [
    LAYER_TYPE,
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
];

/// Checks that `manifest` is a jrt package and returns its layers, in the order they apply.
pub fn check_manifest(manifest: &Manifest) -> Result<Vec<Descriptor>, String> {
    if manifest.artifact_type.as_deref() != Some(ARTIFACT_TYPE)
        && manifest.config.media_type != CONFIG_TYPE
    {
        return Err(format!(
            "it is not a jrt runtime (artifactType {}, config {}; jrt pushes {ARTIFACT_TYPE})",
            manifest.artifact_type.as_deref().unwrap_or("none"),
            jrt_input::display::one_line(&manifest.config.media_type)
        ));
    }
    if manifest.layers.is_empty() || manifest.layers.len() > MAX_LAYERS {
        return Err(format!(
            "it has {} layers; a runtime has 1 to {MAX_LAYERS}",
            manifest.layers.len()
        ));
    }
    for l in &manifest.layers {
        if !LAYER_TYPES.contains(&l.media_type.as_str()) {
            return Err(format!(
                "its layer {} is of type {}, not a gzip-compressed tar",
                l.digest,
                jrt_input::display::one_line(&l.media_type)
            ));
        }
    }
    Ok(manifest.layers.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(platform: &str) -> Config {
        Config {
            name: "python-3.11".into(),
            version: "1.3.4".into(),
            platform: platform.into(),
            description: String::new(),
            family: vec!["python".into()],
            platforms: Vec::new(),
            manifest_yaml: String::new(),
            runtime_yml: None,
            versions_lock: None,
        }
    }

    #[test]
    fn platforms_map_to_oci_and_unknown_arches_do_not() {
        assert_eq!(oci_platform("rhel-arm64").unwrap().architecture, "arm64");
        assert_eq!(oci_platform("ubuntu-amd64").unwrap().os, "linux");
        assert!(oci_platform("ubuntu-riscv").is_none());
    }

    #[test]
    fn published_platforms_are_immutable_and_new_ones_are_added() {
        let a = index_entry(&config("ubuntu-amd64"), &Digest::of(b"a"), 1);
        let b = index_entry(&config("rhel-arm64"), &Digest::of(b"b"), 1);
        let a2 = index_entry(&config("ubuntu-amd64"), &Digest::of(b"a2"), 1);
        let published = index(vec![a.clone()]);
        assert_eq!(
            merge(&published, std::slice::from_ref(&a)),
            Merge::Unchanged
        );
        assert_eq!(
            merge(&published, std::slice::from_ref(&b)),
            Merge::Grows(index(vec![a.clone(), b.clone()]))
        );
        assert_eq!(
            merge(&published, &[a2.clone(), b]),
            Merge::Moves(vec!["ubuntu-amd64".into()])
        );
        assert_eq!(
            replace(&published, std::slice::from_ref(&a2)),
            index(vec![a2])
        );
        // Sorted, so the bytes do not depend on push order.
        let x = index_entry(&config(SOURCE), &Digest::of(b"s"), 1);
        assert_eq!(
            model::to_bytes(&index(vec![a.clone(), x.clone()])),
            model::to_bytes(&index(vec![x, a]))
        );
    }
}
