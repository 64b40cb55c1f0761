//! The install receipt, `<install>/.jrt/receipt.json`: where a runtime came from and the hash
//! of every file in it, which `jrt verify` checks the tree against.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use jrt_extract::{Kind, Record};

/// The receipt version this jrt writes.
pub const VERSION: u32 = 2;

/// What jrt records about one install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// 2 since files are recorded by BLAKE3; 1 recorded them by SHA-256. Both verify.
    pub receipt_version: u32,
    pub name: String,
    pub version: String,
    /// The registry it was resolved from.
    pub registry: String,
    /// What was asked for (`^1.3`, `latest`, an exact version), which `jrt upgrade` keeps to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    pub url: String,
    /// `sha256:<hex>` of the package.
    pub checksum: String,
    pub size: u64,
    pub platform: String,
    /// `prebuilt` (extracted only) or `source` (set up by the family plugins).
    pub package_kind: String,
    /// The plugins that set it up, with their sha256.
    #[serde(default)]
    pub plugins: Vec<PluginUse>,
    /// The families that set it up, when they were inferred from an upstream manifest (one
    /// without `family`); empty when the manifest declared them or for prebuilt packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inferred_family: Vec<String>,
    /// The sha256 of the cache entries it came from: its package (or its OCI layers) and the
    /// builds its setup fetched. `jrt cache prune` keeps them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cache_entries: Vec<String>,
    /// Seconds since the Unix epoch.
    pub installed_at: u64,
    pub jrt_version: String,
    /// Every entry of the tree except `.jrt/`.
    pub files: Vec<Record>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginUse {
    pub name: String,
    pub version: String,
    pub sha256: String,
    /// The network its setup steps were given (`host:port`); empty when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<String>,
}

/// How an installed tree differs from its receipt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub modified: Vec<String>,
    pub missing: Vec<String>,
    pub extra: Vec<String>,
}

impl Drift {
    pub fn is_clean(&self) -> bool {
        self.modified.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }
}

/// A receipt that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
    #[error("{} is damaged: {error}", .path.display())]
    Damaged {
        path: std::path::PathBuf,
        error: serde_json::Error,
    },
}

impl Receipt {
    pub fn read(path: &Path) -> Result<Receipt, ReceiptError> {
        let bytes = std::fs::read(path).map_err(jrt_fs::io("cannot read", path))?;
        serde_json::from_slice(&bytes).map_err(|error| ReceiptError::Damaged {
            path: path.to_path_buf(),
            error,
        })
    }

    /// Re-hashes the tree at `dir` against the recorded entries.
    pub fn verify(&self, dir: &Path) -> Drift {
        use std::os::unix::fs::PermissionsExt;
        let mut drift = Drift::default();
        let mut expected: BTreeMap<&str, &Kind> = BTreeMap::new();
        for r in &self.files {
            expected.insert(r.path.as_str(), &r.kind);
        }
        for (path, kind) in &expected {
            let full = dir.join(path);
            let Ok(meta) = std::fs::symlink_metadata(&full) else {
                drift.missing.push(path.to_string());
                continue;
            };
            let same = match kind {
                Kind::Dir => meta.is_dir(),
                Kind::Symlink { target } => {
                    meta.file_type().is_symlink()
                        && std::fs::read_link(&full).is_ok_and(|t| t.as_os_str() == target.as_str())
                }
                Kind::File {
                    blake3,
                    sha256,
                    size,
                    mode,
                } => {
                    let digest = match (blake3, sha256) {
                        (Some(want), _) => Some((FileHash::Blake3, want)),
                        (None, Some(want)) => Some((FileHash::Sha256, want)),
                        // A record without a digest cannot be vouched for.
                        (None, None) => None,
                    };
                    meta.is_file()
                        && meta.len() == *size
                        && meta.permissions().mode() & 0o7777 == *mode
                        && digest.is_some_and(|(algorithm, want)| {
                            hash_file(&full, algorithm).is_some_and(|h| h == *want)
                        })
                }
            };
            if !same {
                drift.modified.push(path.to_string());
            }
        }
        let mut found = Vec::new();
        walk(dir, "", &mut found);
        for path in found {
            if !expected.contains_key(path.as_str()) {
                drift.extra.push(path);
            }
        }
        drift
    }
}

/// Every path below `dir` except the `.jrt` bookkeeping directory, relative, `/`-separated.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if prefix.is_empty() && name == ".jrt" {
            continue;
        }
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        out.push(rel.clone());
        if is_dir {
            walk(&entry.path(), &rel, out);
        }
    }
}

/// The hashes receipts record files by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileHash {
    /// Receipts of version 2 on.
    Blake3,
    /// Receipts of version 1.
    Sha256,
}

/// Lower-case hex digest of a file's contents.
pub fn hash_file(path: &Path, algorithm: FileHash) -> Option<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 256 << 10];
    let mut blake3 = blake3::Hasher::new();
    let mut sha256 = Sha256::new();
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        match algorithm {
            FileHash::Blake3 => {
                blake3.update(&buf[..n]);
            }
            FileHash::Sha256 => sha256.update(&buf[..n]),
        }
    }
    Some(match algorithm {
        FileHash::Blake3 => blake3.finalize().to_hex().to_string(),
        FileHash::Sha256 => hex::encode(sha256.finalize()),
    })
}

/// Records every entry of a tree (except `.jrt/`), hashing its files: the receipt of a tree
/// that setup steps changed after extraction.
pub fn scan(dir: &Path) -> std::io::Result<Vec<Record>> {
    use std::os::unix::fs::PermissionsExt;
    let mut paths = Vec::new();
    walk(dir, "", &mut paths);
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for rel in paths {
        let full = dir.join(&rel);
        let meta = std::fs::symlink_metadata(&full)?;
        let kind = if meta.file_type().is_symlink() {
            Kind::Symlink {
                target: std::fs::read_link(&full)?.to_string_lossy().into_owned(),
            }
        } else if meta.is_dir() {
            Kind::Dir
        } else {
            Kind::File {
                blake3: Some(hash_file(&full, FileHash::Blake3).ok_or_else(|| {
                    std::io::Error::other(format!("cannot read {}", full.display()))
                })?),
                sha256: None,
                size: meta.len(),
                mode: meta.permissions().mode() & 0o7777,
            }
        };
        out.push(Record { path: rel, kind });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(files: Vec<Record>) -> Receipt {
        Receipt {
            receipt_version: VERSION,
            name: "x".into(),
            version: "1.0.0".into(),
            registry: "r".into(),
            requested: None,
            url: "u".into(),
            checksum: "sha256:00".into(),
            size: 0,
            platform: "ubuntu-amd64".into(),
            package_kind: "prebuilt".into(),
            inferred_family: Vec::new(),
            plugins: Vec::new(),
            cache_entries: Vec::new(),
            installed_at: 0,
            jrt_version: "0".into(),
            files,
        }
    }

    #[test]
    fn version_1_receipts_by_sha256_still_verify_and_version_2_records_blake3() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"data").unwrap();
        std::fs::set_permissions(
            dir.path().join("a"),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .unwrap();
        let scanned = scan(dir.path()).unwrap();
        assert_eq!(
            scanned[0].kind,
            Kind::File {
                blake3: Some(
                    "28a249c2e4d3a92bc0a16ed8f1b5cf83ca20415ee12e502b096624902bbc97bd".into()
                ),
                sha256: None,
                size: 4,
                mode: 0o644
            }
        );
        assert!(receipt(scanned).verify(dir.path()).is_clean());

        // As jrt 0.1 wrote it.
        let v1: Receipt = serde_json::from_value(serde_json::json!({
            "receipt_version": 1, "name": "x", "version": "1.0.0", "registry": "r", "url": "u",
            "checksum": "sha256:00", "size": 0, "platform": "ubuntu-amd64",
            "package_kind": "prebuilt", "installed_at": 0, "jrt_version": "0.1.0",
            "files": [{"path": "a", "kind": "file", "size": 4, "mode": 420,
                "sha256": "3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7"}]
        }))
        .unwrap();
        assert!(v1.verify(dir.path()).is_clean());
        std::fs::write(dir.path().join("a"), b"datA").unwrap();
        assert_eq!(v1.verify(dir.path()).modified, ["a"]);

        // A file record with no digest at all cannot be vouched for.
        let bare = receipt(vec![Record {
            path: "a".into(),
            kind: Kind::File {
                blake3: None,
                sha256: None,
                size: 4,
                mode: 0o644,
            },
        }]);
        assert_eq!(bare.verify(dir.path()).modified, ["a"]);
    }
}
