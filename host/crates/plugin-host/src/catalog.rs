//! The plugins a user added with `jrt plugin add` (and removes with `jrt plugin remove`).
//!
//! Each is stored as `<dir>/<sha256>.wasm` and listed in `<dir>/plugins.json` with its sha256,
//! which pins it: a stored file whose bytes changed is refused at load. Adds take a lock and
//! write both files atomically, so a crash leaves either the old catalog or the new one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Origin, Plugin, PluginError, PluginHost};

const INDEX: &str = "plugins.json";
/// Components larger than this are refused before they are read into memory.
pub const MAX_PLUGIN_BYTES: u64 = 64 << 20;

/// One added plugin, as `plugins.json` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub version: String,
    pub families: Vec<String>,
    pub api_version: String,
    pub sha256: String,
    /// Seconds since the Unix epoch.
    pub added_at: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    version: u32,
    plugins: Vec<Entry>,
}

/// The added-plugins directory.
#[derive(Debug, Clone)]
pub struct Catalog {
    dir: PathBuf,
}

impl Catalog {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Catalog { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where an added plugin's component is stored.
    pub fn wasm_path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.wasm"))
    }

    /// The added plugins, in the order they were added.
    pub fn entries(&self) -> Result<Vec<Entry>, PluginError> {
        Ok(self.read_index()?.plugins)
    }

    /// Loads every added plugin, checking each against its pinned sha256.
    pub fn load_all(&self, host: &PluginHost) -> Result<Vec<Plugin>, PluginError> {
        self.entries()?
            .iter()
            .map(|entry| self.load(host, entry))
            .collect()
    }

    fn load(&self, host: &PluginHost, entry: &Entry) -> Result<Plugin, PluginError> {
        let path = self.wasm_path(&entry.sha256);
        let wasm = read_capped(&path)?;
        let actual = jrt_fs::sha256_hex(&wasm);
        if actual != entry.sha256 {
            return Err(PluginError::PinMismatch {
                name: entry.name.clone(),
                path,
                expected: entry.sha256.clone(),
                actual,
            });
        }
        let label = format!("added plugin {}", entry.name);
        host.load(&label, &wasm, &actual, Origin::Added(path))
    }

    /// Checks `file` (a component of the right world and API version) and adds it, replacing
    /// an added plugin of the same name. Returns the plugin and the entry it replaced.
    /// `allow` sees the loaded plugin before anything is stored and may refuse it.
    pub fn add(
        &self,
        host: &PluginHost,
        file: &Path,
        allow: impl FnOnce(&Plugin) -> Result<(), PluginError>,
    ) -> Result<(Plugin, Option<Entry>), PluginError> {
        let wasm = read_capped(file)?;
        self.add_bytes(
            host,
            &file.display().to_string(),
            wasm,
            Origin::File(file.to_path_buf()),
            allow,
        )
    }

    /// Like [`Catalog::add`], for a component already in memory (downloaded); `label` names
    /// it in messages.
    pub fn add_bytes(
        &self,
        host: &PluginHost,
        label: &str,
        wasm: Vec<u8>,
        origin: Origin,
        allow: impl FnOnce(&Plugin) -> Result<(), PluginError>,
    ) -> Result<(Plugin, Option<Entry>), PluginError> {
        let sha256 = jrt_fs::sha256_hex(&wasm);
        let plugin = host.load(label, &wasm, &sha256, origin)?;
        allow(&plugin)?;

        std::fs::create_dir_all(&self.dir)
            .map_err(|e| PluginError::io("cannot create", &self.dir, e))?;
        let _lock = self.lock()?;
        let stored = self.wasm_path(&sha256);
        jrt_fs::write_atomic(&stored, &wasm)
            .map_err(|e| PluginError::io("cannot write", &stored, e))?;

        let mut index = self.read_index()?;
        let replaced = index
            .plugins
            .iter()
            .position(|e| e.name == plugin.meta.name)
            .map(|i| index.plugins.remove(i));
        index.version = 1;
        index.plugins.push(Entry {
            name: plugin.meta.name.clone(),
            version: plugin.meta.version.clone(),
            families: plugin.meta.families.clone(),
            api_version: plugin.meta.api_version.clone(),
            sha256: sha256.clone(),
            added_at: jrt_fs::time::now_unix(),
        });
        self.write_index(&index)?;

        // The replaced component is garbage now unless another entry shares its bytes.
        if let Some(old) = &replaced
            && old.sha256 != sha256
            && !index.plugins.iter().any(|e| e.sha256 == old.sha256)
        {
            let _ = std::fs::remove_file(self.wasm_path(&old.sha256));
        }
        let mut plugin = plugin;
        plugin.origin = Origin::Added(stored);
        Ok((plugin, replaced))
    }

    /// Removes the added plugin `name` (its component too, unless another entry shares it).
    /// Returns what it removed; `None` when no added plugin has that name.
    pub fn remove(&self, name: &str) -> Result<Option<Entry>, PluginError> {
        if !self.dir.join(INDEX).exists() {
            return Ok(None);
        }
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        let Some(at) = index.plugins.iter().position(|e| e.name == name) else {
            return Ok(None);
        };
        let removed = index.plugins.remove(at);
        self.write_index(&index)?;
        if !index.plugins.iter().any(|e| e.sha256 == removed.sha256) {
            let _ = std::fs::remove_file(self.wasm_path(&removed.sha256));
        }
        Ok(Some(removed))
    }

    fn write_index(&self, index: &Index) -> Result<(), PluginError> {
        let index_path = self.dir.join(INDEX);
        let json = serde_json::to_vec_pretty(index).map_err(|e| PluginError::Catalog {
            path: index_path.clone(),
            reason: e.to_string(),
        })?;
        jrt_fs::write_atomic(&index_path, &json)
            .map_err(|e| PluginError::io("cannot write", &index_path, e))
    }

    fn read_index(&self) -> Result<Index, PluginError> {
        let path = self.dir.join(INDEX);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| PluginError::Catalog {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
            Err(e) => Err(PluginError::io("cannot read", path, e)),
        }
    }

    /// An exclusive lock on the catalog, released when the file is dropped.
    fn lock(&self) -> Result<jrt_fs::lock::Lock, PluginError> {
        let path = self.dir.join(".lock");
        jrt_fs::lock::exclusive(&path).map_err(|e| PluginError::io("cannot lock", path, e))
    }
}

/// Reads a plugin file, refusing directories and anything over [`MAX_PLUGIN_BYTES`].
fn read_capped(path: &Path) -> Result<Vec<u8>, PluginError> {
    let meta = std::fs::metadata(path).map_err(|e| PluginError::io("cannot read", path, e))?;
    if !meta.is_file() {
        return Err(PluginError::NotAPlugin {
            source_name: path.display().to_string(),
            reason: "it is not a regular file".into(),
        });
    }
    if meta.len() > MAX_PLUGIN_BYTES {
        return Err(PluginError::NotAPlugin {
            source_name: path.display().to_string(),
            reason: format!(
                "it is {} bytes, over the {} MiB limit for plugins",
                meta.len(),
                MAX_PLUGIN_BYTES >> 20
            ),
        });
    }
    std::fs::read(path).map_err(|e| PluginError::io("cannot read", path, e))
}
