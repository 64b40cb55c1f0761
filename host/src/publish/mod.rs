//! Building and publishing runtimes: what CI runs on a tag.
//!
//! - [`build`]: source packages and prebuilt per-platform packages, byte-reproducible.
//! - [`index`]: `jrt registry add`, which records packages in a registry.json without ever
//!   changing the bytes of a published version.
//! - [`release`]: `jrt release vX.Y.Z | name@X.Y.Z`, the manifests' version sync.
//!
//! Signing lives with its verification in [`jrt_registry::signature`].

pub mod build;
pub mod index;
pub mod release;
