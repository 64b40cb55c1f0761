//! The binary's own pieces: the argument grammar and the human-readable output.

pub mod args;
pub mod print;
pub mod progress;
