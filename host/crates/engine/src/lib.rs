//! The wasmtime engine configuration every jrt plugin is compiled with.
//!
//! One definition for two users: the plugin host, which compiles (or loads) plugin code at
//! run time, and jrt's build script, which precompiles the built-in plugins so a fresh node
//! does not spend its first install in Cranelift. Code is only interchangeable between
//! engines configured alike, so both take their engine from here, and [`fingerprint`] names
//! the configuration so a mismatch is seen before wasmtime is asked.
//!
//! The target is always named explicitly ([`TARGET`] at run time, cargo's `TARGET` at build
//! time). That gives the target's baseline CPU features rather than the building machine's,
//! so code precompiled on a build machine with newer CPU features still runs on every node;
//! plugins are small pure functions, where wider vector units buy nothing.

mod code;

use std::hash::{Hash, Hasher};

pub use code::deserialize_embedded;
use sha2::{Digest, Sha256};
pub use wasmtime::Engine;
use wasmtime::{Config, OptLevel};

/// The target triple this crate was compiled for: the one jrt runs on.
pub const TARGET: &str = env!("JRT_ENGINE_TARGET");

/// Why an engine could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot make a WebAssembly engine for {target}: {reason}")]
pub struct EngineError {
    pub target: String,
    pub reason: String,
}

/// The engine for plugins compiled for `target`: component model on, epoch interruption on
/// (call deadlines), no async, optimised code, functions compiled in parallel.
pub fn engine(target: &str) -> Result<Engine, EngineError> {
    let failed = |e: wasmtime::Error| EngineError {
        target: target.to_string(),
        reason: format!("{e:#}"),
    };
    let mut config = Config::new();
    config
        .target(target)
        .map_err(failed)?
        .wasm_component_model(true)
        .epoch_interruption(true)
        .cranelift_opt_level(OptLevel::Speed)
        .parallel_compilation(true)
        .with_custom_code_memory(Some(std::sync::Arc::new(code::Publisher)));
    Engine::new(&config).map_err(failed)
}

/// A short, stable name for "code compiled by this engine": wasmtime's own compatibility
/// hash (its version, the target, every setting) plus jrt's version, so any change compiles
/// afresh. Equal for the build's engine and the host's exactly when their code is
/// interchangeable.
pub fn fingerprint(engine: &Engine) -> String {
    struct ShaHasher(Sha256);
    impl Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0 // unused: the digest is read directly
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.update(env!("CARGO_PKG_VERSION").as_bytes());
    hex::encode(&hasher.0.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_configuration_has_the_same_fingerprint() {
        let a = engine(TARGET).unwrap();
        let b = engine(TARGET).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn another_target_has_another_fingerprint() {
        let other = if TARGET.starts_with("x86_64") {
            "aarch64-unknown-linux-gnu"
        } else {
            "x86_64-unknown-linux-gnu"
        };
        // Both backends are compiled in (Cargo.toml), so a build precompiles for either.
        let here = fingerprint(&engine(TARGET).unwrap());
        let there = fingerprint(&engine(other).unwrap());
        assert_ne!(here, there);
    }

    #[test]
    fn a_target_wasmtime_cannot_compile_for_is_one_clear_error() {
        let e = engine("not-a-triple").unwrap_err();
        assert!(e.to_string().contains("not-a-triple"), "{e}");
    }
}
