//! jrt, the runtime registry toolkit for Joblet.
//!
//! The library holds all the work; `main.rs` only parses the command line and prints.
//! - [`plugin`]: the sandboxed host for runtime-family plugins (WebAssembly components).
//! - [`facts`]: gathers the host facts plugins decide from.
//! - [`ops`]: one module per command (`detect`, `plugin list/add`).
//! - [`sandbox`]: the confinement every program a setup plan starts runs in.
//! - [`process`]: running a child to completion with capped output and a timeout.

pub mod builtin;
pub mod config;
pub mod facts;
pub mod install;
pub mod ops;
pub mod process;
pub mod publish;
pub mod registry;
pub mod sandbox;
pub mod setup;
