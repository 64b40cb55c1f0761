//! What comes from outside (registries, packages, plugins, the programs a plan runs) before
//! jrt trusts it: structured text parsed only under size and nesting caps ([`caps`]), and any
//! text from outside escaped before it is printed ([`display`]).
//!
//! Pure functions over bytes and strings: no files, no network, no other jrt crate.

pub mod caps;
pub mod display;
