//! Host-side bindings of the WIT world `family-plugin`, one module per API version the host
//! binds (`wit/since_v*`). The newest version's types are the host's own ([`types`]); older
//! versions are converted to and from them ([`super::convert`]).

/// `joblet:runtime@1.2.0`: locked packages carry the sha256 they were installed from.
pub mod v1_2_0 {
    wasmtime::component::bindgen!({
        path: "../../../wit/since_v1.2.0",
        world: "family-plugin",
    });
}

/// `joblet:runtime@1.1.0`: run steps declare their network.
pub mod v1_1_0 {
    wasmtime::component::bindgen!({
        path: "../../../wit/since_v1.1.0",
        world: "family-plugin",
    });
}

/// `joblet:runtime@1.0.0`: the first published contract.
pub mod v1_0_0 {
    wasmtime::component::bindgen!({
        path: "../../../wit/since_v1.0.0",
        world: "family-plugin",
    });
}

pub use v1_2_0::joblet::runtime::{host, types};
