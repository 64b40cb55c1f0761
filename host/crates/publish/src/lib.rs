//! Building and publishing runtimes: what CI runs on a tag.
//!
//! - [`build`]: source packages and prebuilt per-platform packages, byte-reproducible.
//! - [`index`]: `jrt registry add`, which records packages in a registry.json without ever
//!   changing the bytes of a published version.
//! - [`layers`]: a runtime built on a `base`, as the base's package plus its own layer.
//! - [`push`]: `jrt push`, packages into an OCI registry in jrt's layout.
//! - [`release`]: `jrt release vX.Y.Z | name@X.Y.Z`, the manifests' version sync.
//! - [`sign`]: `jrt registry sign` and `verify`; a client's checks of a signed registry are
//!   [`jrt_registry::signature`]'s.
//!
//! The top of the library: it builds prebuilt packages through the install layer's setup and
//! writes indexes in the registry layer's schema. No command line, no printing.

pub mod build;
pub mod index;
pub mod layers;
pub mod push;
pub mod release;
pub mod sign;
