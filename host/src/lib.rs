//! jrt, the runtime registry toolkit for Joblet.
//!
//! The library holds all the work; `main.rs` only parses the command line and prints.
//! - [`plugin`]: the sandboxed host for runtime-family plugins (WebAssembly components).
//! - [`ops`]: one module per command (`detect`, `plugin list/add`).

pub mod builtin;
pub mod config;
pub mod ops;
