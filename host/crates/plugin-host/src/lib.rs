//! The plugin host: loads runtime-family plugins (WebAssembly components of the WIT world
//! `joblet:runtime/family-plugin@1.x`, every minor version bound, see [`bindings`]) and
//! calls them inside a sandbox.
//!
//! Every call gets a fresh store with an empty WASI context (no files, environment, arguments
//! or network), a memory cap and an epoch deadline; a trap, a timeout or running out of memory
//! becomes a [`PluginError`] naming the plugin and the function, and the host stays usable.
//! Compiled code is cached on disk by [`cache`], keyed by the wasm's sha256 and the engine's
//! fingerprint; the built-in plugins bring code precompiled by jrt's build, for the engine
//! configuration both take from `jrt-engine`. [`catalog`] keeps the plugins a user added (the
//! ones compiled in are the jrt binary's to choose).
//!
//! The only crate that depends on wasmtime. It runs no program and opens no socket: a plugin's
//! effects come back as a plan that the install crate checks and executes.

mod bindings;
pub mod cache;
pub mod catalog;
mod convert;
mod engine;
mod error;
mod host;
mod manifest;
mod sandbox;
mod since_v1_0_0;
mod since_v1_1_0;

pub use bindings::host::LogLevel;
pub use bindings::types;
pub use cache::{CacheOutcome, Precompiled, RecordedInfo};
pub use error::{PluginError, PluginFailure};
pub use host::{HostOptions, Limits, Origin, Plugin, PluginHost, PluginMeta};
pub use manifest::to_wit;

/// The newest plugin API this host speaks: the version of the WIT package `joblet:runtime`.
pub const API_VERSION: &str = "1.2.0";
/// Every minor version of [`API_MAJOR`] the host binds (`wit/since_v*`), oldest first.
pub const API_VERSIONS: [&str; 3] = ["1.0.0", "1.1.0", "1.2.0"];
/// The major version a plugin must have been built for.
pub const API_MAJOR: u64 = 1;
