//! The `registry.json` index. Reads the upstream file as it is; jrt's additions (`family`,
//! `artifacts`, `yanked`, `plugins`, `serial`, `expires`) are optional. Unknown keys are
//! allowed, so an index written by a newer jrt still reads; unknown top-level keys (upstream's
//! `_comment`, `_generated_by`) are kept so a rewrite loses nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use jrt_client::pin::{Checksum, ChecksumError};

/// A malformed index, with the path of the bad field.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {path}: {message}")]
pub struct IndexError {
    /// The registry's location, for the message.
    pub source_name: String,
    /// Such as `runtimes["python-3.11"]["1.3.4"].checksum`.
    pub path: String,
    pub message: String,
}

/// The whole index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    /// Schema version; upstream writes `"1"`.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Monotonic counter, bumped on every change (rollback protection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<u64>,
    /// RFC 3339 time after which the index must not be trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// `runtimes.<name>.<version>`.
    #[serde(default)]
    pub runtimes: BTreeMap<String, BTreeMap<String, Entry>>,
    /// `plugins.<name>.<version>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub plugins: BTreeMap<String, BTreeMap<String, PluginEntry>>,
    /// Other top-level keys (upstream's `_comment`s), kept as they are.
    #[serde(flatten, default)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// One published version of a runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub version: String,
    #[serde(default)]
    pub description: String,
    /// The source package; relative URLs resolve against the registry's location.
    pub download_url: String,
    pub checksum: Checksum,
    pub size: u64,
    #[serde(default)]
    pub platforms: Vec<String>,
    /// The runtime families, in setup order (`["python", "cuda"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub family: Vec<String>,
    /// Prebuilt packages by platform, preferred over the source package.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, Artifact>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub yanked: bool,
}

/// A prebuilt, per-platform package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    pub download_url: String,
    pub checksum: Checksum,
    pub size: u64,
}

/// A plugin published with the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginEntry {
    pub download_url: String,
    pub checksum: Checksum,
    /// The plugin API version it was built for.
    pub api: String,
}

impl Index {
    /// An empty index in the upstream schema.
    pub fn empty() -> Self {
        Index {
            version: "1".into(),
            updated_at: None,
            serial: None,
            expires: None,
            runtimes: BTreeMap::new(),
            plugins: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }

    /// Parses and checks an index. `source_name` names it in errors.
    pub fn parse(bytes: &[u8], source_name: &str) -> Result<Self, IndexError> {
        let capped = jrt_input::caps::size(bytes, crate::source::MAX_INDEX_BYTES)
            .and_then(|()| jrt_input::caps::json_depth(bytes));
        if let Err(e) = capped {
            return Err(IndexError {
                source_name: source_name.to_string(),
                path: "(file)".into(),
                message: e.to_string(),
            });
        }
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let index: Index = serde_path_to_error::deserialize(de).map_err(|e| IndexError {
            source_name: source_name.to_string(),
            path: format_path(e.path()),
            message: e.inner().to_string(),
        })?;
        index.check(source_name)?;
        Ok(index)
    }

    /// Consistency checks serde cannot express.
    fn check(&self, source_name: &str) -> Result<(), IndexError> {
        let err = |path: String, message: String| IndexError {
            source_name: source_name.to_string(),
            path,
            message,
        };
        if self.version != "1" {
            return Err(err(
                "version".into(),
                format!(
                    "schema version '{}' is not supported (jrt reads \"1\")",
                    self.version
                ),
            ));
        }
        for (name, versions) in &self.runtimes {
            if !crate::spec::is_valid_name(name) {
                return Err(err(
                    format!("runtimes[{name:?}]"),
                    format!("'{name}' is not a valid runtime name"),
                ));
            }
            for (key, entry) in versions {
                let here = format!("runtimes[{name:?}][{key:?}]");
                if semver::Version::parse(key).is_err() {
                    return Err(err(here, format!("'{key}' is not a semantic version")));
                }
                if entry.version != *key {
                    return Err(err(
                        format!("{here}.version"),
                        format!("'{}' does not match its key '{key}'", entry.version),
                    ));
                }
                if entry.download_url.is_empty() {
                    return Err(err(format!("{here}.download_url"), "is empty".into()));
                }
            }
        }
        Ok(())
    }

    /// Serializes with stable key order (maps are sorted) and a trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

fn format_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let mut out = String::new();
    for (i, seg) in segments.iter().enumerate() {
        match seg {
            Segment::Map { key } | Segment::Enum { variant: key } => {
                // Runtime names, versions and platforms are keys, shown quoted in brackets
                // (they contain dots); fields are shown after a dot.
                let top = matches!(segments.first(), Some(Segment::Map { key }) if key == "runtimes" || key == "plugins");
                let after_artifacts =
                    i > 0 && matches!(segments[i - 1], Segment::Map { key } if key == "artifacts");
                if (top && (i == 1 || i == 2)) || after_artifacts {
                    out.push_str(&format!("[{key:?}]"));
                } else {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                }
            }
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Unknown => out.push_str(".?"),
        }
    }
    if out.is_empty() {
        out.push_str("(top level)");
    }
    out
}
