//! Registries: the `registry.json` index (upstream schema plus jrt's optional fields) and
//! resolving a runtime spec such as `python-3.11@^1.3` against one or more of them; signed
//! registries and the checks a client makes before trusting one ([`signature`]).

pub mod index;
pub mod remote;
pub mod signature;
pub mod source;
pub mod spec;

pub use index::{Artifact, Checksum, Entry, Index, IndexError};
pub use spec::{ResolveError, Resolved, Spec, SpecError, VersionReq};
