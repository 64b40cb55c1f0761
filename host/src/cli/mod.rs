//! The binary's own pieces: the argument grammar, the human-readable output, and the
//! completions and man pages generated from the grammar.

pub mod args;
pub mod docs;
pub mod print;
pub mod progress;
