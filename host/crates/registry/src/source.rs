//! Registry sources (SPEC §2): where a `registry.json` comes from, and loading it.
//!
//! `https://github.com/OWNER/REPO` (or `OWNER/REPO`, the short form `rnx` accepts, when no
//! such local path exists) means that repository's `registry.json` on branch main; other
//! http(s) URLs name the file itself; `file://` URLs and plain paths name a file, or a
//! directory holding a `registry.json`.

use jrt_fs::cache::Cache;
use std::path::{Path, PathBuf};

use url::Url;

use super::index::{Index, IndexError};

/// The most a registry index may weigh; a real one is kilobytes.
pub const MAX_INDEX_BYTES: u64 = 64 << 20;

/// Where a registry lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An http(s) URL of a `registry.json`.
    Url(Url),
    /// A local `registry.json`.
    File(PathBuf),
    /// A directory of runtime sources (`<dir>/<name>/manifest.yaml`), packed on the fly.
    Sources(PathBuf),
    /// An OCI registry namespace (`oci://HOST/NAMESPACE`): runtime `<name>` is the repository
    /// `NAMESPACE/<name>`, each version a tag (read on demand by [`crate::oci`]).
    Oci(jrt_oci::Location),
}

/// A source that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("registry '{0}' is not a URL, a file:// URL or an existing path")]
    Unrecognised(String),
    #[error("registry {0}: cannot read it: {1}")]
    Read(String, String),
    #[error("registry {0} is larger than {MAX_INDEX_BYTES} bytes")]
    TooLarge(String),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Manifest(#[from] jrt_package::manifest::ManifestError),
    #[error(transparent)]
    Signature(#[from] super::signature::SignatureError),
    #[error(
        "registry {0} is a directory of runtime sources, which cannot be signed, and a public \
         key is configured"
    )]
    Unsignable(String),
    #[error(
        "registry {0} is an OCI namespace, whose tags a registry.json signature cannot cover, \
         and a public key is configured: list its artifacts by digest (oci://HOST/REPO@sha256:…) \
         in a signed registry.json instead"
    )]
    UnsignableOci(String),
    #[error(transparent)]
    Location(#[from] jrt_oci::reference::LocationError),
}

/// A `download_url` that cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UrlError {
    #[error("cannot resolve '{0}': the registry has no base URL")]
    NoBase(String),
    #[error("cannot resolve '{url}' against {base}: {error}")]
    Join {
        url: String,
        base: String,
        error: url::ParseError,
    },
    #[error(
        "its download_url '{}' is a local file, and the registry {registry} is not: only a \
         registry that is itself a local file or directory may point at local files",
        jrt_input::display::one_line(.url)
    )]
    LocalFile { url: String, registry: String },
}

/// What a client checks a registry against before trusting it.
#[derive(Debug, Clone)]
pub struct Trust {
    pub key: minisign::PublicKey,
    /// Where the highest serial seen per registry is kept.
    pub state_dir: PathBuf,
}

impl Trust {
    /// Checks `sig` over the exact `bytes`, then parses them and checks expiry and serial.
    pub fn check(
        &self,
        id: &str,
        shown: &str,
        bytes: &[u8],
        sig: &str,
    ) -> Result<Index, SourceError> {
        super::signature::verify(shown, bytes, sig, &self.key)?;
        let index = Index::parse(bytes, shown)?;
        super::signature::require_freshness(shown, &index)?;
        super::signature::check_expiry(shown, &index, jrt_fs::time::now())?;
        super::signature::check_serial(&self.state_dir, id, shown, &index)?;
        Ok(index)
    }
}

/// Whether `text` has the shape of GitHub's `OWNER/REPO`: two names of GitHub's characters
/// (an owner of letters, digits and inner hyphens; a repository of those, `.` and `_`).
fn is_owner_repo(text: &str) -> bool {
    let Some((owner, repo)) = text.split_once('/') else {
        return false;
    };
    let owner_ok = !owner.is_empty()
        && owner.len() <= 39
        && !owner.starts_with('-')
        && !owner.ends_with('-')
        && owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let repo_ok = !repo.is_empty()
        && repo.len() <= 100
        && repo != "."
        && repo != ".."
        && repo
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    owner_ok && repo_ok
}

impl Source {
    /// Parses a registry source as the user wrote it.
    pub fn parse(text: &str) -> Result<Source, SourceError> {
        if text.starts_with("oci://") {
            let location = jrt_oci::Location::parse(text)?;
            if location.reference.is_some() {
                return Err(SourceError::Unrecognised(format!(
                    "{text} (an OCI registry source is a namespace, without a tag or digest)"
                )));
            }
            return Ok(Source::Oci(location));
        }
        if is_owner_repo(text) && !Path::new(text).exists() {
            return Source::parse(&format!("https://github.com/{text}"));
        }
        if let Some(rest) = text.strip_prefix("https://github.com/") {
            let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
            if let [owner, repo] = parts.as_slice() {
                let repo = repo.trim_end_matches(".git");
                let raw =
                    format!("https://raw.githubusercontent.com/{owner}/{repo}/main/registry.json");
                return Url::parse(&raw)
                    .map(Source::Url)
                    .map_err(|_| SourceError::Unrecognised(text.into()));
            }
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            return Url::parse(text)
                .map(Source::Url)
                .map_err(|_| SourceError::Unrecognised(text.into()));
        }
        let path = if text.starts_with("file://") {
            Url::parse(text)
                .ok()
                .and_then(|u| u.to_file_path().ok())
                .ok_or_else(|| SourceError::Unrecognised(text.into()))?
        } else {
            PathBuf::from(text)
        };
        let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
        if path.is_dir() {
            if path.join("registry.json").is_file() {
                return Ok(Source::File(absolute(path.join("registry.json"))));
            }
            if runtime_dirs(&path).next().is_some() {
                return Ok(Source::Sources(absolute(path)));
            }
            return Err(SourceError::Unrecognised(text.into()));
        }
        if !path.exists() {
            return Err(SourceError::Unrecognised(text.into()));
        }
        Ok(Source::File(absolute(path)))
    }

    /// The URL relative `download_url`s resolve against.
    pub fn base(&self) -> Option<Url> {
        match self {
            Source::Url(u) => Some(u.clone()),
            Source::File(p) => Url::from_file_path(p).ok(),
            Source::Sources(p) => Url::from_directory_path(p).ok(),
            Source::Oci(_) => None,
        }
    }

    /// How the source is shown in messages and receipts.
    pub fn display(&self) -> String {
        match self {
            Source::Url(u) => u.to_string(),
            Source::File(p) | Source::Sources(p) => p.display().to_string(),
            Source::Oci(l) => l.to_string(),
        }
    }
}

/// A registry, loaded.
#[derive(Debug, Clone)]
pub struct Registry {
    pub name: String,
    pub source: Source,
    pub index: Index,
}

impl Registry {
    /// Resolves a `download_url` from this registry against its location.
    /// A registry served over http(s) may not point at this machine's files (`file://`): it
    /// would make the node read whatever path the registry names.
    pub fn resolve_url(&self, download_url: &str) -> Result<Url, UrlError> {
        let url = match Url::parse(download_url) {
            Ok(url) => url,
            Err(_) => {
                let base = self
                    .source
                    .base()
                    .ok_or_else(|| UrlError::NoBase(download_url.to_string()))?;
                base.join(download_url).map_err(|error| UrlError::Join {
                    url: download_url.to_string(),
                    base: base.to_string(),
                    error,
                })?
            }
        };
        if url.scheme() == "file" && matches!(self.source, Source::Url(_)) {
            return Err(UrlError::LocalFile {
                url: download_url.to_string(),
                registry: self.source.display(),
            });
        }
        Ok(url)
    }
}

/// Loads a local registry file.
pub fn load_file(name: &str, path: &Path) -> Result<Registry, SourceError> {
    load_file_trusted(name, path, None)
}

/// Loads a local registry file; with `trust`, only if `<file>.minisig` signs it.
pub fn load_file_trusted(
    name: &str,
    path: &Path,
    trust: Option<&Trust>,
) -> Result<Registry, SourceError> {
    let shown = path.display().to_string();
    let meta =
        std::fs::metadata(path).map_err(|e| SourceError::Read(shown.clone(), e.to_string()))?;
    if meta.len() > MAX_INDEX_BYTES {
        return Err(SourceError::TooLarge(shown));
    }
    let bytes = std::fs::read(path).map_err(|e| SourceError::Read(shown.clone(), e.to_string()))?;
    let index = match trust {
        None => Index::parse(&bytes, &shown)?,
        Some(trust) => {
            let sig_path = PathBuf::from(format!("{}.minisig", path.display()));
            let sig = std::fs::read_to_string(&sig_path).map_err(|e| {
                super::signature::SignatureError::Missing {
                    registry: shown.clone(),
                    at: sig_path.display().to_string(),
                    reason: e.to_string(),
                }
            })?;
            let id = path
                .canonicalize()
                .unwrap_or_else(|_| path.to_path_buf())
                .display()
                .to_string();
            trust.check(&id, &shown, &bytes, &sig)?
        }
    };
    Ok(Registry {
        name: name.to_string(),
        source: Source::File(path.to_path_buf()),
        index,
    })
}

/// The runtime directories below `dir`: the subdirectories holding a `manifest.yaml`, or
/// `dir` itself when it holds one.
pub fn runtime_dirs(dir: &Path) -> impl Iterator<Item = PathBuf> {
    let own = dir
        .join("manifest.yaml")
        .is_file()
        .then(|| dir.to_path_buf());
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("manifest.yaml").is_file())
        .collect();
    subdirs.sort();
    own.into_iter().chain(subdirs)
}

/// Builds an index for a directory of runtime sources, packing each runtime (deterministic,
/// so the checksum is stable) into `<cache>/packed/`.
pub fn load_sources(name: &str, dir: &Path, cache: &Cache) -> Result<Registry, SourceError> {
    use crate::index::{Checksum, Entry};
    use jrt_package::manifest::Manifest;

    let shown = dir.display().to_string();
    let read_err = |e: std::io::Error| SourceError::Read(shown.clone(), e.to_string());
    let out_dir = cache.packed();
    std::fs::create_dir_all(&out_dir).map_err(read_err)?;
    let mut index = Index::empty();
    for runtime in runtime_dirs(dir) {
        let manifest = Manifest::read_dir(&runtime)?;
        let mut bytes = Vec::new();
        jrt_package::pack::pack(&runtime, &manifest, &mut bytes).map_err(read_err)?;
        let file = out_dir.join(format!("{}-{}.tar.gz", manifest.name, manifest.version));
        jrt_fs::write_atomic(&file, &bytes).map_err(read_err)?;
        let url = Url::from_file_path(&file).map_err(|()| {
            SourceError::Read(shown.clone(), format!("bad path {}", file.display()))
        })?;
        let entry = Entry {
            version: manifest.version.clone(),
            description: manifest.description.clone(),
            download_url: url.to_string(),
            checksum: Checksum::of(&bytes),
            size: bytes.len() as u64,
            platforms: manifest.platforms.clone(),
            family: manifest.family.clone(),
            artifacts: Default::default(),
            yanked: false,
        };
        let versions = index.runtimes.entry(manifest.name.clone()).or_default();
        if versions.insert(manifest.version.clone(), entry).is_some() {
            return Err(SourceError::Read(
                shown,
                format!(
                    "two runtimes declare {}@{}",
                    manifest.name, manifest.version
                ),
            ));
        }
    }
    // Re-parse what we built so a bad manifest (name, version) fails like a bad index would.
    let index = Index::parse(&index.to_json(), &shown)?;
    Ok(Registry {
        name: name.to_string(),
        source: Source::Sources(dir.to_path_buf()),
        index,
    })
}
