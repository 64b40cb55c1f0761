//! Where things live under a runtime root (SPEC §3):
//! `<root>/<name>/<version>/` for installs, `<root>/.jrt/` for locks, staging and trash, all on
//! the root's filesystem so the final step is a rename.

use std::path::{Path, PathBuf};

/// The runtime root and its bookkeeping directories.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/<name>/<version>`.
    pub fn install_dir(&self, name: &str, version: &str) -> PathBuf {
        self.root.join(name).join(version)
    }

    /// `<root>/<name>`.
    pub fn runtime_dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    pub fn meta(&self) -> PathBuf {
        self.root.join(".jrt")
    }

    pub fn locks(&self) -> PathBuf {
        self.meta().join("locks")
    }

    pub fn staging(&self) -> PathBuf {
        self.meta().join("staging")
    }

    pub fn trash(&self) -> PathBuf {
        self.meta().join("trash")
    }

    /// The lock file for one runtime version.
    pub fn lock_file(&self, name: &str, version: &str) -> PathBuf {
        self.locks().join(format!("{name}@{version}.lock"))
    }
}

/// Inside an installed runtime: `.jrt/receipt.json`.
pub fn receipt_path(install_dir: &Path) -> PathBuf {
    install_dir.join(".jrt").join("receipt.json")
}
