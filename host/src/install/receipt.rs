//! The install receipt, `<install>/.jrt/receipt.json`: where a runtime came from and the hash
//! of every file in it, which `jrt verify` checks the tree against.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::extract::{Kind, Record};

/// What jrt records about one install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub receipt_version: u32,
    pub name: String,
    pub version: String,
    /// The registry it was resolved from.
    pub registry: String,
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

impl Receipt {
    pub fn read(path: &Path) -> Result<Receipt, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{} is damaged: {e}", path.display()))
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
                Kind::File { sha256, size, mode } => {
                    meta.is_file()
                        && meta.len() == *size
                        && meta.permissions().mode() & 0o7777 == *mode
                        && hash_file(&full).is_some_and(|h| h == *sha256)
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

/// Lower-case hex sha256 of a file's contents.
pub fn hash_file(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Some(hex::encode(hasher.finalize()))
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
                sha256: hash_file(&full).ok_or_else(|| {
                    std::io::Error::other(format!("cannot read {}", full.display()))
                })?,
                size: meta.len(),
                mode: meta.permissions().mode() & 0o7777,
            }
        };
        out.push(Record { path: rel, kind });
    }
    Ok(out)
}
