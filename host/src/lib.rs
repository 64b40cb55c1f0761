//! jrt, the runtime registry toolkit for Joblet: the `jrt` binary's library.
//!
//! The work lives in the crates under `host/crates/` (each says what it is for); this crate
//! is the top of them:
//! - [`ops`]: one module per command, each a function over a [`ops::Session`] that returns
//!   data (or an [`ops::Error`]); `main.rs` and `cli/` only parse the command line and print.
//! - [`config`]: jrt's config.yaml and Joblet's `~/.rnx/config.yaml`.
//! - [`builtin`]: the plugins compiled into this jrt (built by `build.rs`).

pub mod builtin;
pub mod config;
pub mod ops;
