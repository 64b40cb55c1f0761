//! jrt, the runtime registry toolkit for Joblet.
//!
//! The library holds all the work; `main.rs` only parses the command line and prints.
//! - [`plugin`]: the sandboxed host for runtime-family plugins (WebAssembly components).
//! - [`facts`]: gathers the host facts plugins decide from.
//! - [`ops`]: one module per command (`detect`, `plugin list/add`).

pub mod builtin;
pub mod config;
pub mod facts;
pub mod install;
pub mod ops;
pub mod publish;
pub mod setup;
