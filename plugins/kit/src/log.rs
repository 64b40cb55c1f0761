//! Logging through the host's `log` import, the one thing a plugin may call out to.

use crate::bindings::joblet::runtime::host::{self, LogLevel};

/// Sends a line to the host's log. Native builds (the plugins' unit tests) have no host, so
/// they write to stderr instead.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = host::log; // keep the import referenced for the wasm build
        eprintln!("[{level:?}] {message}");
    }
}

/// Debug-level convenience wrapper.
pub fn debug(message: &str) {
    log(LogLevel::Debug, message);
}

/// Warning-level convenience wrapper: the host shows warnings to the user by default.
pub fn warn(message: &str) {
    log(LogLevel::Warn, message);
}
