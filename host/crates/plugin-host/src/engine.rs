//! The wasmtime engine every plugin runs on, and the clock that enforces call deadlines.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, OptLevel};

use super::PluginError;

/// How often the epoch advances; call deadlines are counted in these ticks.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// Builds the engine: component model on, epoch interruption on, no async.
pub(crate) fn new_engine() -> Result<Engine, PluginError> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .cranelift_opt_level(OptLevel::Speed)
        .parallel_compilation(true);
    Engine::new(&config).map_err(|e| PluginError::Engine(super::error::chain(&e)))
}

/// Advances the engine's epoch every [`TICK`] on a background thread, which ends once the
/// engine is dropped.
pub(crate) fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("jrt-plugin-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
        .unwrap_or_else(|e| eprintln!("jrt: warning: cannot start the plugin clock: {e}"));
}

/// A short, stable name for "code compiled by this engine": wasmtime's own compatibility
/// hash (version, target, settings) plus jrt's version, so any change compiles afresh.
pub(crate) fn fingerprint(engine: &Engine) -> String {
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
