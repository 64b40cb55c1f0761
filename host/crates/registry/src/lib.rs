//! Registries: the `registry.json` index (upstream schema plus jrt's optional fields) and
//! resolving a runtime spec such as `python-3.11@^1.3` against one or more of them; signed
//! registries and the checks a client makes before trusting one ([`signature`]); and the
//! sources a registry is read from ([`source`]: a file, a remote URL through the cache's
//! ETag-checked copy, a directory of runtime sources packed on the fly, an OCI namespace
//! whose tags are read on demand: [`oci`]); [`lookup`] resolves across all of them.
//!
//! It reads registries; it installs nothing and runs no plugin. Publishing (adding packages
//! to an index, signing it) is the publish layer's, on top of these types.

pub mod index;
pub mod lookup;
pub mod oci;
pub mod remote;
pub mod signature;
pub mod source;
pub mod spec;

pub use index::{Artifact, Checksum, Entry, Index, IndexError};
pub use spec::{ResolveError, Resolved, Spec, SpecError, VersionReq};
