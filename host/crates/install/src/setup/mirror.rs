//! Mirrors for plan fetches, for machines that cannot reach where a plan's pinned builds live
//! (GitHub, for air-gapped fleets and this project's CI): each mirror replaces a URL prefix
//! with another `https://` URL, a `file://` URL or a local directory. The plan's sha256 is
//! checked against what the mirror serves exactly as against the original.
//!
//! Set in jrt's config.yaml (`mirrors: [{from: PREFIX, to: REPLACEMENT}]`) or `JRT_MIRROR`
//! (`PREFIX=REPLACEMENT`, several separated by commas). The longest matching prefix wins.

use std::path::{Component, Path, PathBuf};

/// One prefix and its replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub from: String,
    to: Target,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// An `https://`, `http://` or `file://` URL prefix.
    Url(String),
    /// A local directory: the rest of the URL is a path below it.
    Dir(PathBuf),
}

/// A mirror that cannot be used, naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the mirror '{text}' is refused: {reason}")]
pub struct MirrorError {
    pub text: String,
    pub reason: String,
}

impl Mirror {
    /// A mirror of `from` (an http(s) URL prefix) at `to`.
    pub fn new(from: &str, to: &str) -> Result<Mirror, MirrorError> {
        let bad = |reason: &str| MirrorError {
            text: format!("{from} -> {to}"),
            reason: reason.into(),
        };
        if !(from.starts_with("https://") || from.starts_with("http://")) {
            return Err(bad("its prefix must be an http(s) URL"));
        }
        let to =
            if to.starts_with("https://") || to.starts_with("http://") || to.starts_with("file://")
            {
                url::Url::parse(to).map_err(|e| bad(&format!("'{to}' is not a URL: {e}")))?;
                Target::Url(to.to_string())
            } else if Path::new(to).is_absolute() {
                Target::Dir(PathBuf::from(to))
            } else {
                return Err(bad(
                    "its replacement must be an https:// or file:// URL or an absolute directory",
                ));
            };
        Ok(Mirror {
            from: from.to_string(),
            to,
        })
    }

    /// `PREFIX=REPLACEMENT[,PREFIX=REPLACEMENT...]`, as `JRT_MIRROR` holds them.
    pub fn parse_list(text: &str) -> Result<Vec<Mirror>, MirrorError> {
        text.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|pair| {
                // The prefix is a URL, which has no `=` before its path: split at the first.
                let (from, to) = pair.split_once('=').ok_or_else(|| MirrorError {
                    text: pair.to_string(),
                    reason: "it is not PREFIX=REPLACEMENT".into(),
                })?;
                Mirror::new(from.trim(), to.trim())
            })
            .collect()
    }
}

/// Where `url` is fetched from under `mirrors`: the longest matching prefix replaced, or
/// `url` itself. A directory mirror gives a `file://` URL below it; a rest of the URL that
/// would climb out of the directory is refused.
pub fn apply(mirrors: &[Mirror], url: &str) -> Result<String, MirrorError> {
    let Some(m) = mirrors
        .iter()
        .filter(|m| url.starts_with(&m.from))
        .max_by_key(|m| m.from.len())
    else {
        return Ok(url.to_string());
    };
    let rest = &url[m.from.len()..];
    match &m.to {
        Target::Url(prefix) => Ok(format!("{prefix}{rest}")),
        Target::Dir(dir) => {
            let rest = rest.split(['?', '#']).next().unwrap_or_default();
            let rel = Path::new(rest.trim_start_matches('/'));
            if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
                return Err(MirrorError {
                    text: url.to_string(),
                    reason: format!("'{rest}' would leave the mirror directory"),
                });
            }
            let base = url::Url::from_directory_path(dir).map_err(|()| MirrorError {
                text: dir.display().to_string(),
                reason: "not an absolute directory".into(),
            })?;
            base.join(rest.trim_start_matches('/'))
                .map(|u| u.to_string())
                .map_err(|e| MirrorError {
                    text: url.to_string(),
                    reason: e.to_string(),
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_wins_and_directories_become_file_urls() {
        let mirrors = Mirror::parse_list(
            "https://github.com/=https://mirror.example/gh/,\
             https://github.com/indygreg/=/srv/pbs",
        )
        .unwrap();
        assert_eq!(
            apply(&mirrors, "https://github.com/a/b.tar.gz").unwrap(),
            "https://mirror.example/gh/a/b.tar.gz"
        );
        assert_eq!(
            apply(
                &mirrors,
                "https://github.com/indygreg/x/cpython-3.11.7+2024.tar.gz"
            )
            .unwrap(),
            "file:///srv/pbs/x/cpython-3.11.7+2024.tar.gz"
        );
        assert_eq!(
            apply(&mirrors, "https://example.org/y").unwrap(),
            "https://example.org/y"
        );
        assert!(apply(&mirrors, "https://github.com/indygreg/../../etc/passwd").is_err());
        assert!(Mirror::new("ftp://x/", "/srv").is_err());
        assert!(Mirror::new("https://x/", "relative/dir").is_err());
        assert!(Mirror::parse_list("no-equals-sign").is_err());
    }
}
