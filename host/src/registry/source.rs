//! Registry sources (SPEC §2): where a `registry.json` comes from, and loading it.
//!
//! `https://github.com/OWNER/REPO` means that repository's `registry.json` on branch main;
//! other http(s) URLs name the file itself; `file://` URLs and plain paths name a file, or a
//! directory holding a `registry.json`.

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
}

impl Source {
    /// Parses a registry source as the user wrote it.
    pub fn parse(text: &str) -> Result<Source, SourceError> {
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
        let path = if path.is_dir() {
            path.join("registry.json")
        } else {
            path
        };
        if !path.exists() {
            return Err(SourceError::Unrecognised(text.into()));
        }
        Ok(Source::File(std::path::absolute(&path).unwrap_or(path)))
    }

    /// The URL relative `download_url`s resolve against.
    pub fn base(&self) -> Option<Url> {
        match self {
            Source::Url(u) => Some(u.clone()),
            Source::File(p) => Url::from_file_path(p).ok(),
        }
    }

    /// How the source is shown in messages and receipts.
    pub fn display(&self) -> String {
        match self {
            Source::Url(u) => u.to_string(),
            Source::File(p) => p.display().to_string(),
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
    pub fn resolve_url(&self, download_url: &str) -> Result<Url, String> {
        if let Ok(url) = Url::parse(download_url) {
            return Ok(url);
        }
        let base = self.source.base().ok_or_else(|| {
            format!("cannot resolve '{download_url}': the registry has no base URL")
        })?;
        base.join(download_url)
            .map_err(|e| format!("cannot resolve '{download_url}' against {base}: {e}"))
    }
}

/// Loads a local registry file.
pub fn load_file(name: &str, path: &Path) -> Result<Registry, SourceError> {
    let shown = path.display().to_string();
    let meta =
        std::fs::metadata(path).map_err(|e| SourceError::Read(shown.clone(), e.to_string()))?;
    if meta.len() > MAX_INDEX_BYTES {
        return Err(SourceError::TooLarge(shown));
    }
    let bytes = std::fs::read(path).map_err(|e| SourceError::Read(shown.clone(), e.to_string()))?;
    let index = Index::parse(&bytes, &shown)?;
    Ok(Registry {
        name: name.to_string(),
        source: Source::File(path.to_path_buf()),
        index,
    })
}
