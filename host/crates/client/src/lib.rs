//! The network side of jrt: HTTP with timeouts, classified retries, resumable bodies and a
//! deadline per download ([`http`]); packages and pinned builds downloaded into the cache
//! and verified against what they are pinned by ([`pin`]: checksum and size) while they stream
//! ([`fetch`]); and the [`progress`] reporter
//! that downloads report through (the terminal's bars live in the binary).
//!
//! It knows packages only by URL, checksum and size: nothing of registries' schema, runtimes,
//! plugins or installing.

pub mod fetch;
pub mod http;
pub mod pin;
pub mod progress;
