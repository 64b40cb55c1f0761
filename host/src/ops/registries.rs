//! Which registries a command consults, in priority order, and loading them.

use crate::registry::source::{self, Registry, Source, SourceError};

/// The registry used when none is configured: Joblet's official one.
pub const OFFICIAL: &str = "https://github.com/joblet/joblet-runtimes";

/// Loads the registries named on the command line or in `JRT_REGISTRY` (first = highest
/// priority), or the official registry when none is named.
pub fn load(sources: &[String]) -> Result<Vec<Registry>, SourceError> {
    let named: Vec<String> = if sources.is_empty() {
        vec![OFFICIAL.to_string()]
    } else {
        sources.to_vec()
    };
    named
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let name = if sources.is_empty() {
                "official".to_string()
            } else {
                format!("registry-{}", i + 1)
            };
            match Source::parse(text)? {
                Source::File(path) => source::load_file(&name, &path),
                Source::Url(url) => Err(SourceError::Read(
                    url.to_string(),
                    "HTTP registries are not wired in yet".into(),
                )),
            }
        })
        .collect()
}
