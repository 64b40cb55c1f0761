//! The on-disk cache of compiled plugin code.
//!
//! An entry is `<dir>/<wasm sha256>-<engine fingerprint>.cwasm`: a magic line, the sha256 of
//! the wasm it was compiled from, a MAC, then wasmtime's serialized component. Compiled code
//! runs natively once deserialized, so an entry is only taken when its MAC checks: a keyed
//! BLAKE3 hash over the wasm's sha256 and the payload, with a 32-byte secret kept in
//! `<dir>/mac.key` (0600, owned by the user jrt runs as, opened without following links). A
//! cache writer who cannot read that key cannot forge an entry; one whose key file is not
//! private is not used at all (plugins are then compiled every time). The wasm's hash is in
//! the entry, not only in its name, so an entry renamed onto another plugin's name is not taken
//! for that plugin. Entries are written atomically. One that is truncated, corrupted, forged,
//! or made by another engine is recompiled and replaced, never run: wasmtime checks the
//! engine, the MAC checks the bytes and who wrote them.
//!
//! The built-in plugins come with code jrt's own build compiled ([`Precompiled`], part of the
//! binary): it is taken before the cache is looked at, when it was made by an engine with this
//! host's fingerprint and wasmtime accepts it; otherwise the cache is used as for any plugin.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::PluginError;
use super::error::chain;

const MAGIC: &[u8] = b"jrt-compiled-plugin v2\n";
const KEY_FILE: &str = "mac.key";

/// The secret that authenticates entries.
pub type MacKey = [u8; 32];

/// Code compiled for a built-in plugin by jrt's build, embedded in the binary: never read
/// from a file, so nobody but the build could have made it.
#[derive(Debug, Clone, Copy)]
pub struct Precompiled {
    /// What `Component::serialize` wrote at build time.
    pub code: &'static [u8],
    /// The [`jrt_engine::fingerprint`] of the engine that compiled it.
    pub fingerprint: &'static str,
    /// What the plugin's `info()` returned when the build asked it (where the build could
    /// run the code it compiled), so loading it needs no call for that.
    pub info: Option<RecordedInfo>,
}

/// A built-in's `info()`, recorded by jrt's build.
#[derive(Debug, Clone, Copy)]
pub struct RecordedInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub families: &'static [&'static str],
    pub api_version: &'static str,
}

/// Where a component's compiled code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Compiled by jrt's build and embedded in the binary.
    Precompiled,
    Hit,
    Compiled,
    /// The entry existed but was unusable (corrupt or foreign) and was replaced.
    Replaced,
}

pub(crate) struct CodeCache {
    dir: Option<PathBuf>,
    fingerprint: String,
    /// The MAC key, read (or made) on first use; `None` inside when the cache is unusable.
    key: std::sync::OnceLock<Option<MacKey>>,
}

impl CodeCache {
    /// A cache in `dir` (none: compile every time).
    pub(crate) fn new(dir: Option<PathBuf>, fingerprint: String) -> Self {
        CodeCache {
            dir,
            fingerprint,
            key: std::sync::OnceLock::new(),
        }
    }

    /// The entry's path for a wasm with this sha256.
    pub(crate) fn entry_path(&self, sha256: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{sha256}-{}.cwasm", self.fingerprint)))
    }

    /// Loads the compiled component for `wasm`: the build's precompiled code when it fits
    /// this engine, else the cache's, else compiled now (and cached). `name` is used in
    /// messages.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        name: &str,
        wasm: &[u8],
        sha256: &str,
        precompiled: Option<Precompiled>,
    ) -> Result<(Component, CacheOutcome), PluginError> {
        if let Some(pre) = precompiled
            && pre.fingerprint == self.fingerprint
        {
            // SAFETY: the code is part of this binary, written by jrt's own build with the
            // engine configuration this host uses (the fingerprints match), for these very
            // wasm bytes; wasmtime checks its version, target and settings once more.
            if let Ok(component) = unsafe { jrt_engine::deserialize_embedded(engine, pre.code) } {
                return Ok((component, CacheOutcome::Precompiled));
            }
        }
        let (Some(path), Some(dir)) = (self.entry_path(sha256), self.dir.as_deref()) else {
            return Ok((compile(engine, name, wasm)?, CacheOutcome::Compiled));
        };
        // No trustworthy key, no cache: compiled code we cannot authenticate is never run.
        let Some(key) = self.key.get_or_init(|| mac_key(dir).ok()) else {
            return Ok((compile(engine, name, wasm)?, CacheOutcome::Compiled));
        };
        let mut outcome = CacheOutcome::Compiled;
        match jrt_fs::read_no_follow(&path, MAX_ENTRY_BYTES) {
            Ok(bytes) => {
                if let Some(component) = deserialize(engine, key, sha256, &bytes) {
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
            let _ = store(&path, &entry_bytes(key, sha256, &serialized));
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

/// Returns the component when the entry is intact, authenticated and made for this engine.
fn deserialize(
    engine: &Engine,
    key: &MacKey,
    wasm_sha256: &str,
    bytes: &[u8],
) -> Option<Component> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let rest = rest.strip_prefix(wasm_sha256.as_bytes())?;
    if rest.len() < 32 {
        return None;
    }
    let (mac, payload) = rest.split_at(32);
    // blake3's Hash compares in constant time.
    if mac_of(key, wasm_sha256, payload) != blake3::Hash::from_bytes(mac.try_into().ok()?) {
        return None;
    }
    // SAFETY: the payload is byte-for-byte what `Component::serialize` wrote into our own
    // cache (the MAC above proves it came from a holder of our key, not merely that it is
    // intact), and wasmtime itself refuses artifacts made by another version or
    // configuration of the engine.
    unsafe { Component::deserialize(engine, payload) }.ok()
}

fn mac_of(key: &MacKey, wasm_sha256: &str, payload: &[u8]) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new_keyed(key);
    hasher.update(wasm_sha256.as_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// Frames wasmtime's serialized component as a cache entry for the wasm with this sha256,
/// authenticated with `key`. Public for the tests that forge entries.
#[doc(hidden)]
pub fn entry_bytes(key: &MacKey, wasm_sha256: &str, serialized: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(MAGIC.len() + 64 + 32 + serialized.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(wasm_sha256.as_bytes());
    bytes.extend_from_slice(mac_of(key, wasm_sha256, serialized).as_bytes());
    bytes.extend_from_slice(serialized);
    bytes
}

/// The most an entry may be (compiled plugins are a few MiB).
const MAX_ENTRY_BYTES: u64 = 256 << 20;

/// The cache's MAC key: read when there is one that only this user can read, else made.
/// Public for the tests that forge entries.
#[doc(hidden)]
pub fn mac_key(dir: &Path) -> std::io::Result<MacKey> {
    let path = dir.join(KEY_FILE);
    match read_key(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        other => return other,
    }
    std::fs::create_dir_all(dir)?;
    let mut key = [0u8; 32];
    random(&mut key)?;
    // Made under a temp name and linked into place, which fails if another run got there
    // first: then both use the one that won.
    let tmp = tempfile::Builder::new()
        .prefix(".mac-key-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .tempfile_in(dir)?;
    std::io::Write::write_all(&mut tmp.as_file(), &key)?;
    tmp.as_file().sync_all()?;
    match std::fs::hard_link(tmp.path(), &path) {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key(&path),
        Err(e) => Err(e),
    }
}

/// Reads a key file that is a regular file (not a link: [`jrt_fs::open_no_follow`]), owned by
/// this user, private.
fn read_key(path: &Path) -> std::io::Result<MacKey> {
    let mut file = jrt_fs::open_no_follow(path, std::fs::File::options().read(true))?;
    let meta = file.metadata()?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me || meta.mode() & 0o077 != 0 || meta.len() != 32 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "{} is not a private key file of this user: compiled plugins are not cached",
                path.display()
            ),
        ));
    }
    let mut key = [0u8; 32];
    file.read_exact(&mut key)?;
    Ok(key)
}

/// Fills `buf` from the kernel's random source.
fn random(buf: &mut [u8]) -> std::io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: writes at most the remaining length into our own buffer.
        let n =
            unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        } else {
            filled += n as usize;
        }
    }
    Ok(())
}

fn store(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    jrt_fs::write_atomic(path, bytes)
}
