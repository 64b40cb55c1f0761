//! The wasmtime engine every plugin runs on, and the clock that enforces call deadlines.

use std::time::Duration;

use wasmtime::Engine;

use super::PluginError;

/// How often the epoch advances; call deadlines are counted in these ticks.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// The engine, configured as jrt's build configures the one that precompiles the built-ins
/// ([`jrt_engine`]), for the target jrt runs on.
pub(crate) fn new_engine() -> Result<Engine, PluginError> {
    jrt_engine::engine(jrt_engine::TARGET).map_err(|e| PluginError::Engine(e.to_string()))
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
