//! What a runtime package is: its manifest (`manifest.yaml`, jrt's fields and upstream's),
//! the `runtime.yml` Joblet reads and the checks it must pass, the reproducible `.tar.gz`
//! jrt packs, and the `setup.sh` a source package carries so Joblet's own installer can hand
//! it to jrt.
//!
//! Formats and their rules only: no network, no plugins, no installing.

pub mod joblet;
pub mod manifest;
pub mod pack;
pub mod runtime_yml;
