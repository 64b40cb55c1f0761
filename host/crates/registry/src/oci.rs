//! Runtimes in an OCI namespace (`oci://HOST/NAMESPACE`): the tags of `NAMESPACE/<name>` are
//! its versions, resolved with the same rules as registry.json's; the chosen tag's image
//! index becomes the [`Entry`] a registry.json would give, its packages named by digest
//! (`oci://HOST/NAMESPACE/<name>@sha256:…`), so install pins and verifies them the same way.

use semver::Version;

use jrt_oci::layout::{self, SOURCE};
use jrt_oci::model::Document;
use jrt_oci::reference::{Reference, tag_of_version, version_of_tag};
use jrt_oci::{Client, Location, OciError};

use crate::index::{Artifact, Entry, Index};
use crate::spec::{self, ResolveError, Resolved, Spec};

/// Why a runtime could not be resolved in an OCI namespace.
#[derive(Debug, thiserror::Error)]
pub enum OciSourceError {
    #[error(transparent)]
    Oci(#[from] OciError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("{at}: {message}")]
    Layout { at: String, message: String },
}

/// Resolves `spec` in `namespace`; `None` when the namespace has no such repository.
pub fn resolve(
    client: &Client,
    namespace: &Location,
    spec: &Spec,
    platform: &str,
) -> Result<Option<Resolved>, OciSourceError> {
    let repo = namespace.child(&spec.name).map_err(OciError::from)?;
    let Some(tags) = client.tags(&repo)? else {
        return Ok(None);
    };
    // Tags that are not versions (`latest`) are not jrt's and are passed over.
    let versions: Vec<(Version, bool)> = tags
        .iter()
        .filter_map(|t| Version::parse(&version_of_tag(t)).ok())
        .map(|v| (v, false))
        .collect();
    let version = versions[spec::choose(spec, &versions)?].0.clone();
    let at = repo.at(Reference::Tag(tag_of_version(&version.to_string())));
    let fetched = client
        .manifest(&at)?
        .ok_or_else(|| OciSourceError::Layout {
            at: at.to_string(),
            message: "the tag was listed but its manifest is gone (deleted while jrt read it?)"
                .into(),
        })?;
    let entry = entry_of(&repo, &version, &fetched)?;
    // The one-entry index lets the usual rules pick the platform's package (and say which
    // platforms are offered when there is none).
    let mut index = Index::empty();
    index
        .runtimes
        .entry(spec.name.clone())
        .or_default()
        .insert(version.to_string(), entry);
    let exact = Spec {
        name: spec.name.clone(),
        req: spec::VersionReq::Exact(version),
    };
    let mut resolved = spec::resolve(&exact, &[&index], platform)?;
    resolved.requested = spec.req.to_string();
    Ok(Some(resolved))
}

/// The registry.json entry an index stands for.
fn entry_of(
    repo: &Location,
    version: &Version,
    fetched: &jrt_oci::client::Fetched,
) -> Result<Entry, OciSourceError> {
    let pinned = |d: &jrt_oci::Digest| repo.at(Reference::Digest(d.clone())).to_string();
    let index = match &fetched.document {
        Document::Index(i) => i,
        Document::Manifest(_) => {
            return Err(OciSourceError::Layout {
                at: pinned(&fetched.digest),
                message: "the tag is a single manifest, not the image index jrt pushes per \
                          version"
                    .into(),
            });
        }
    };
    let mut entry = Entry {
        version: version.to_string(),
        description: String::new(),
        // With no source package, the index itself: never installed, since no platform
        // then lists it.
        download_url: pinned(&fetched.digest),
        checksum: fetched.digest.0.clone(),
        size: fetched.bytes.len() as u64,
        platforms: Vec::new(),
        family: Vec::new(),
        artifacts: Default::default(),
        yanked: false,
    };
    let list = |text: Option<&String>| -> Vec<String> {
        text.map(|t| {
            t.split(',')
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
    };
    for desc in &index.manifests {
        // jrt's entries carry its platform annotation (the manifest's artifactType is
        // checked when it is installed).
        let Some(platform) = layout::platform_of(desc) else {
            continue;
        };
        if entry.family.is_empty() {
            entry.family = list(desc.annotations.get(layout::FAMILY_ANNOTATION));
        }
        if let Some(d) = desc.annotations.get(layout::DESCRIPTION_ANNOTATION) {
            entry.description = d.clone();
        }
        if platform == SOURCE {
            entry.download_url = pinned(&desc.digest);
            entry.checksum = desc.digest.0.clone();
            entry.size = desc.size;
            entry.platforms = list(desc.annotations.get(layout::PLATFORMS_ANNOTATION));
        } else {
            entry.artifacts.insert(
                platform.to_string(),
                Artifact {
                    download_url: pinned(&desc.digest),
                    checksum: desc.digest.0.clone(),
                    size: desc.size,
                },
            );
        }
    }
    if entry.artifacts.is_empty() && entry.platforms.is_empty() {
        return Err(OciSourceError::Layout {
            at: pinned(&fetched.digest),
            message: format!(
                "the index lists no jrt package (no manifest with the annotation {})",
                layout::PLATFORM_ANNOTATION
            ),
        });
    }
    Ok(entry)
}
