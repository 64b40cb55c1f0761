//! The cache's layout: every user of the cache asks this type where its part lives, so the
//! layout is written down once. Everything in the cache can be fetched or made again; what
//! must not be lost across a `jrt cache clean` (the registry serials that stop rollbacks)
//! is said where it lives.

use std::path::{Path, PathBuf};

/// A cache directory (`--cache-dir`, `JRT_CACHE_DIR`, else `$XDG_CACHE_HOME/jrt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The cache directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Verified packages, named by their checksum, with `.part` files of downloads under way.
    pub fn packages(&self) -> PathBuf {
        self.root.join("packages")
    }

    /// Builds that setup plans fetch (interpreters, JDKs), named by their sha256, each with
    /// its lock.
    pub fn fetched(&self) -> PathBuf {
        self.root.join("fetched")
    }

    /// Remote registry.json bodies with their ETags.
    pub fn registries(&self) -> PathBuf {
        self.root.join("registries")
    }

    /// Packages made on the fly from a directory of runtime sources used as a registry.
    pub fn packed(&self) -> PathBuf {
        self.root.join("packed")
    }

    /// Compiled plugin code, keyed by the component and the engine.
    pub fn compiled(&self) -> PathBuf {
        self.root.join("compiled")
    }

    /// The lock every user of the cache holds shared, and housekeeping exclusively, so
    /// nothing is pruned from under an install.
    pub fn lock_path(&self) -> PathBuf {
        self.root.join("cache.lock")
    }

    /// The highest serial seen of each signed registry: losing it re-opens rollbacks, so a
    /// cache clean must keep it.
    pub fn trust(&self) -> PathBuf {
        self.root.join("trust")
    }
}
