//! Host-side bindings of the WIT world `family-plugin`, generated from `wit/since_v1.0.0`.

wasmtime::component::bindgen!({
    path: "../wit/since_v1.0.0",
    world: "family-plugin",
});

pub use joblet::runtime::types;
