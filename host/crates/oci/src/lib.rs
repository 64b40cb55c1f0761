//! OCI registries as a place runtimes live: the distribution protocol (tags, manifests,
//! blobs, uploads, mounts), its auth (anonymous bearer tokens by the `WWW-Authenticate`
//! challenge, basic auth and tokens from Docker's `config.json`), containerd-style mirrors,
//! and jrt's artifact layout (media types, annotations, the per-version image index).
//!
//! It speaks to registries and knows jrt's layout; it never extracts, installs or resolves a
//! spec (the install and registry crates do, asking it for verified bytes).
//!
//! Why not the `oci-client` crate: it is async (tokio) over its own reqwest, so it would
//! bring a second HTTP stack beside jrt's blocking one, whose retry, deadline and https-only
//! policy every download obeys; its blob pulls write into an `AsyncWrite` from the start and
//! cannot resume a cut transfer with `Range` into jrt's content-addressed `.part` files; and
//! it has no containerd-style mirror list. What is hand-written here is the small part that
//! is protocol (paths, headers, the challenge); the bytes go through `jrt_client::fetch`,
//! the one verified, resumable download path.

pub mod auth;
pub mod client;
pub mod layout;
pub mod model;
pub mod reference;

pub use client::{Client, OciError};
pub use model::Digest;
pub use reference::{Location, Reference};
