//! Plugins built for `joblet:runtime@1.0.0`, converted to and from the host's own (newest)
//! records.
//!
//! What 1.0.0 lacks is filled the conservative way: its run steps declare no network (the
//! host may grant some from the runtime's manifest, docs/plugins.md), and its locked packages
//! carry no sha256.

use super::bindings::v1_0_0::joblet::runtime::{host as old_host, types as old};
use super::bindings::{host, types as new};
use super::convert::{Convert, every_minor};

// 1.0.0 cannot declare network.
every_minor!(old, old_host => new, host, network: |_: &old::RunProgram| Vec::new());
