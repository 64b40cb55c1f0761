//! Which registries a command consults, in priority order, and loading them.
//!
//! `--registry` / `JRT_REGISTRY` win outright (first = highest priority). Otherwise the
//! enabled registries of the config files, by priority. Otherwise Joblet's official registry.
//! Each is a registry.json (a URL or a file), a directory of runtime sources, or an OCI
//! namespace (`oci://HOST/NAMESPACE`), whose runtimes are looked up by name when resolved.

use jrt_fs::cache::Cache;

use crate::config::Config;
use jrt_client::http::Http;
use jrt_registry::remote;
use jrt_registry::source::{self, Registry, Source, SourceError, Trust};

/// The registry used when none is configured: Joblet's official one.
pub const OFFICIAL: &str = "https://github.com/joblet/joblet-runtimes";

/// `(name, source text)` in priority order.
pub fn chosen(cli: &[String], config: &Config) -> Vec<(String, String)> {
    if !cli.is_empty() {
        return cli
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("registry-{}", i + 1), s.clone()))
            .collect();
    }
    if !config.registries.is_empty() {
        return config
            .registries
            .iter()
            .map(|r| (r.name.clone(), r.url.clone()))
            .collect();
    }
    vec![("official".into(), OFFICIAL.into())]
}

/// Loads each registry. `http` is made on first need.
pub fn load(
    chosen: &[(String, String)],
    http: impl Fn() -> Result<Http, jrt_client::http::HttpError>,
    cache: Option<&Cache>,
    offline: bool,
    trust: Option<&Trust>,
) -> Result<Vec<Registry>, SourceError> {
    let mut client: Option<Http> = None;
    chosen
        .iter()
        .map(|(name, text)| match Source::parse(text)? {
            Source::File(path) => source::load_file_trusted(name, &path, trust),
            Source::Sources(_) if trust.is_some() => Err(SourceError::Unsignable(text.clone())),
            Source::Sources(dir) => {
                let cache = cache
                    .cloned()
                    .unwrap_or_else(|| Cache::new(std::env::temp_dir().join("jrt")));
                source::load_sources(name, &dir, &cache)
            }
            Source::Oci(_) if trust.is_some() => Err(SourceError::UnsignableOci(text.clone())),
            // Read on demand: a namespace's runtimes are found by name (tags of NS/<name>).
            source @ Source::Oci(_) => Ok(Registry {
                name: name.clone(),
                source,
                index: jrt_registry::Index::empty(),
            }),
            Source::Url(url) => {
                if client.is_none() && !offline {
                    client =
                        Some(http().map_err(|e| SourceError::Read(text.clone(), e.to_string()))?);
                }
                remote::load_trusted(name, &url, client.as_ref(), cache, offline, trust)
            }
        })
        .collect()
}
