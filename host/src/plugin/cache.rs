//! The on-disk cache of compiled plugin code.
//!
//! An entry is `<dir>/<wasm sha256>-<engine fingerprint>.cwasm`: a magic line, the sha256 of
//! the wasm it was compiled from, the sha256 of the payload, then wasmtime's serialized
//! component. The wasm's hash is inside the entry, not only in its name, so an entry copied or
//! renamed onto another plugin's name is not taken for that plugin. Entries are written atomically. One that
//! is truncated, corrupted, or made by another engine is recompiled and replaced, never run:
//! wasmtime checks the engine, our hash checks the bytes.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::PluginError;
use super::error::chain;
use crate::fsutil;

const MAGIC: &[u8] = b"jrt-compiled-plugin v1\n";

/// Whether a component came from the cache or was compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Compiled,
    /// The entry existed but was unusable (corrupt or foreign) and was replaced.
    Replaced,
}

pub(crate) struct CodeCache {
    dir: Option<PathBuf>,
    fingerprint: String,
}

impl CodeCache {
    /// A cache in `dir` (none: compile every time).
    pub(crate) fn new(dir: Option<PathBuf>, fingerprint: String) -> Self {
        CodeCache { dir, fingerprint }
    }

    /// The entry's path for a wasm with this sha256.
    pub(crate) fn entry_path(&self, sha256: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{sha256}-{}.cwasm", self.fingerprint)))
    }

    /// Loads the compiled component for `wasm`, compiling and caching it when needed.
    /// `name` is used in messages.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        name: &str,
        wasm: &[u8],
        sha256: &str,
    ) -> Result<(Component, CacheOutcome), PluginError> {
        let Some(path) = self.entry_path(sha256) else {
            return Ok((compile(engine, name, wasm)?, CacheOutcome::Compiled));
        };
        let mut outcome = CacheOutcome::Compiled;
        match std::fs::read(&path) {
            Ok(bytes) => {
                if let Some(component) = deserialize(engine, sha256, &bytes) {
                    return Ok((component, CacheOutcome::Hit));
                }
                outcome = CacheOutcome::Replaced;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => outcome = CacheOutcome::Replaced,
        }
        let component = compile(engine, name, wasm)?;
        // A cache we cannot write only costs speed; never fail the call over it.
        if let Ok(serialized) = component.serialize() {
            let _ = store(&path, &entry_bytes(sha256, &serialized));
        }
        Ok((component, outcome))
    }
}

fn compile(engine: &Engine, name: &str, wasm: &[u8]) -> Result<Component, PluginError> {
    let not_a_plugin = |reason: String| PluginError::NotAPlugin {
        source_name: name.to_string(),
        reason,
    };
    // Name the two common mistakes before wasmtime's parser does, in words.
    match wasm.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {
            return Err(not_a_plugin(
                "it is a core WebAssembly module, not a component; build it for the wasm32-wasip2 target (or wrap it with `wasm-tools component new`)"
                    .into(),
            ));
        }
        Some([0, b'a', b's', b'm', ..]) => {}
        _ => {
            return Err(not_a_plugin(
                "it is not a WebAssembly file (it does not start with the \\0asm header)".into(),
            ));
        }
    }
    Component::from_binary(engine, wasm).map_err(|e| {
        not_a_plugin(format!(
            "it is not a valid WebAssembly component ({})",
            chain(&e).replace('\n', " ")
        ))
    })
}

/// Returns the component when the entry is intact and made for this engine.
fn deserialize(engine: &Engine, wasm_sha256: &str, bytes: &[u8]) -> Option<Component> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let rest = rest.strip_prefix(wasm_sha256.as_bytes())?;
    if rest.len() < 32 {
        return None;
    }
    let (digest, payload) = rest.split_at(32);
    if Sha256::digest(payload).as_slice() != digest {
        return None;
    }
    // SAFETY: the payload is byte-for-byte what `Component::serialize` wrote into our own
    // cache (checked by the digest above), and wasmtime itself refuses artifacts made by
    // another version or configuration of the engine.
    unsafe { Component::deserialize(engine, payload) }.ok()
}

/// Frames wasmtime's serialized component as a cache entry for the wasm with this sha256.
/// Public for the tests that forge entries.
#[doc(hidden)]
pub fn entry_bytes(wasm_sha256: &str, serialized: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(MAGIC.len() + 64 + 32 + serialized.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(wasm_sha256.as_bytes());
    bytes.extend_from_slice(&Sha256::digest(serialized));
    bytes.extend_from_slice(serialized);
    bytes
}

fn store(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    fsutil::write_atomic(path, bytes)
}
