//! The plugins compiled into jrt: python, jdk and cuda, built by `host/build.rs` as
//! wasm32-wasip2 components and embedded with their sha256 and, where the build could, the
//! code it precompiled for them and what their `info()` said.

use jrt_plugin_host::{Precompiled, RecordedInfo};

/// One embedded plugin component.
#[derive(Debug)]
pub struct BuiltinPlugin {
    /// The Cargo package it was built from.
    pub package: &'static str,
    /// The component's bytes.
    pub wasm: &'static [u8],
    /// Lower-case hex sha256 of `wasm`, computed at build time.
    pub sha256: &'static str,
    /// Compiled by the build for the target jrt was built for; none where it could not be.
    pub precompiled: Option<Precompiled>,
}

/// Embedded code starts on a boundary of the largest page any target jrt builds for uses
/// (64 KiB, arm64), so the plugin host can run it in place instead of copying it
/// (`jrt_engine::deserialize_embedded`).
#[repr(C, align(65536))]
struct PageAligned<T>(T);

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));
