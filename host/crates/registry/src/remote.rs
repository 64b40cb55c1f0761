//! Registries over HTTP, cached on disk with their `ETag` and `Last-Modified`, so an
//! unchanged index costs one 304. The body is size-capped and parsed before it is cached;
//! `--offline` reads the cache only.

use jrt_fs::cache::Cache;
use std::io::Read;
use std::path::PathBuf;

use reqwest::StatusCode;
use reqwest::header;
use serde::{Deserialize, Serialize};
use url::Url;

use super::index::Index;
use super::source::{MAX_INDEX_BYTES, Registry, Source, SourceError, Trust};

use jrt_client::http::Http;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Meta {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    /// Seconds since the Unix epoch.
    fetched_at: u64,
}

fn paths(cache: &Cache, url: &Url) -> (PathBuf, PathBuf) {
    let key = &jrt_fs::sha256_hex(url.as_str().as_bytes())[..24];
    let dir = cache.registries();
    (
        dir.join(format!("{key}.json")),
        dir.join(format!("{key}.meta.json")),
    )
}

/// The most a signature may weigh; a real one is a few hundred bytes.
const MAX_SIGNATURE_BYTES: u64 = 64 << 10;

/// Loads the registry at `url`, through the cache.
pub fn load(
    name: &str,
    url: &Url,
    http: Option<&Http>,
    cache: Option<&Cache>,
    offline: bool,
) -> Result<Registry, SourceError> {
    load_trusted(name, url, http, cache, offline, None)
}

/// Loads the registry at `url`, through the cache; with `trust`, only if `<url>.minisig`
/// signs the exact bytes (checked before they are parsed or cached).
pub fn load_trusted(
    name: &str,
    url: &Url,
    http: Option<&Http>,
    cache: Option<&Cache>,
    offline: bool,
    trust: Option<&Trust>,
) -> Result<Registry, SourceError> {
    let shown = url.to_string();
    let cached = cache.map(|c| paths(c, url));
    let sig_cache = cached
        .as_ref()
        .map(|(body, _)| body.with_extension("minisig"));
    // The signature is small and fetched on every load (an ETag-cached body can still have
    // been re-signed); offline, the cached one is used.
    let signature = || -> Result<String, SourceError> {
        let missing = |reason: String| super::signature::SignatureError::Missing {
            registry: shown.clone(),
            at: format!("{url}.minisig"),
            reason,
        };
        if offline {
            return sig_cache
                .as_ref()
                .and_then(|p| std::fs::read_to_string(p).ok())
                .ok_or_else(|| missing("not in the cache, and --offline".into()).into());
        }
        let http = http.ok_or_else(|| SourceError::Read(shown.clone(), "no HTTP client".into()))?;
        // Beside the index: its path plus `.minisig`, any query kept.
        let mut sig_url = url.clone();
        sig_url.set_path(&format!("{}.minisig", url.path()));
        let resp = http
            .get(&sig_url, None, &[])
            .map_err(|e| missing(e.to_string()))?;
        let mut text = String::new();
        http.timed(resp, MAX_SIGNATURE_BYTES)
            .take(MAX_SIGNATURE_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| missing(e.to_string()))?;
        Ok(text)
    };
    let read_cached = || -> Option<(Vec<u8>, Meta)> {
        let (body, meta) = cached.as_ref()?;
        let bytes = std::fs::read(body).ok()?;
        let meta = std::fs::read(meta)
            .ok()
            .and_then(|m| serde_json::from_slice(&m).ok())?;
        Some((bytes, meta))
    };
    let registry = |bytes: &[u8]| -> Result<Registry, SourceError> {
        let index = match trust {
            None => Index::parse(bytes, &shown)?,
            Some(trust) => {
                let sig = signature()?;
                let index = trust.check(url.as_str(), &shown, bytes, &sig)?;
                // Cached only once it verifies, beside the body it signs (which is cached
                // below, also only when valid), so --offline never pairs mismatched copies.
                if !offline && let Some(p) = &sig_cache {
                    let _ = jrt_fs::write_atomic(p, sig.as_bytes());
                }
                index
            }
        };
        Ok(Registry {
            name: name.to_string(),
            source: Source::Url(url.clone()),
            index,
        })
    };

    if offline {
        return match read_cached() {
            Some((bytes, _)) => registry(&bytes),
            None => Err(SourceError::Read(
                shown,
                "it is not in the cache and --offline forbids fetching it".into(),
            )),
        };
    }
    let http = http.ok_or_else(|| SourceError::Read(shown.clone(), "no HTTP client".into()))?;
    let previous = read_cached();
    let mut conditional = Vec::new();
    if let Some((_, meta)) = &previous {
        if let Some(etag) = &meta.etag {
            conditional.push((header::IF_NONE_MATCH, etag.clone()));
        }
        if let Some(lm) = &meta.last_modified {
            conditional.push((header::IF_MODIFIED_SINCE, lm.clone()));
        }
    }
    let resp = http.get(url, None, &conditional).map_err(|e| {
        let hint = if previous.is_some() {
            "; a cached copy exists: pass --offline to use it"
        } else {
            ""
        };
        SourceError::Read(shown.clone(), format!("{e}{hint}"))
    })?;
    if resp.status() == StatusCode::NOT_MODIFIED
        && let Some((bytes, _)) = previous
    {
        return registry(&bytes);
    }
    if resp.content_length().is_some_and(|l| l > MAX_INDEX_BYTES) {
        return Err(SourceError::TooLarge(shown));
    }
    let header_text = |name| {
        resp.headers()
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let meta = Meta {
        url: shown.clone(),
        etag: header_text(header::ETAG),
        last_modified: header_text(header::LAST_MODIFIED),
        fetched_at: jrt_fs::time::now_unix(),
    };
    let mut bytes = Vec::new();
    http.timed(resp, MAX_INDEX_BYTES + 1)
        .take(MAX_INDEX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| SourceError::Read(shown.clone(), e.to_string()))?;
    if bytes.len() as u64 > MAX_INDEX_BYTES {
        return Err(SourceError::TooLarge(shown));
    }
    let loaded = registry(&bytes)?;
    if let Some((body_path, meta_path)) = cached {
        // Only a valid index is cached; failing to cache costs a download next time.
        if let Some(dir) = body_path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if jrt_fs::write_atomic(&body_path, &bytes).is_ok() {
            let _ =
                jrt_fs::write_atomic(&meta_path, &serde_json::to_vec(&meta).unwrap_or_default());
        }
    }
    Ok(loaded)
}
