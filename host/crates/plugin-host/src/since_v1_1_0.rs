//! Plugins built for `joblet:runtime@1.1.0`, converted to and from the host's own (newest)
//! records.
//!
//! What 1.1.0 lacks is filled the conservative way: its locked packages carry no sha256.

use super::bindings::v1_1_0::joblet::runtime::{host as old_host, types as old};
use super::bindings::{host, types as new};
use super::convert::{Convert, every_minor};

every_minor!(old, old_host => new, host, network: |r: &old::RunProgram| {
    r.network.clone().convert()
});

super::convert::records!(old => new: Endpoint { host, port });
