//! What every jrt family plugin shares.
//!
//! The WIT bindings for `joblet:runtime@1.2.0` (generated once here and re-exported, so the
//! python, jdk and cuda plugins and third-party ones agree on one set of types), plus the pure
//! logic more than one family needs: reading `/etc/os-release`, mapping a host onto a package
//! platform, and the manifest checks common to every family.
//!
//! A plugin implements [`Family`] (or, for full control, [`Guest`]) and calls [`export!`]:
//!
//! ```ignore
//! struct Python;
//! impl jrt_plugin_kit::Family for Python { /* NAME, VERSION, checks, plan, capture */ }
//! jrt_plugin_kit::export!(Python);
//! ```

#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/since_v1.2.0",
        world: "family-plugin",
        pub_export_macro: true,
        default_bindings_module: "jrt_plugin_kit::bindings",
    });
}

pub mod catalog;
pub mod family;
pub mod layout;
pub mod log;
pub mod manifest;
pub mod os_release;
pub mod pip;
pub mod platform;
pub mod probes;

pub use bindings::export;
pub use bindings::exports::joblet::runtime::plugin::Guest;
pub use bindings::joblet::runtime::types;
pub use family::Family;

/// The WIT package version these bindings were generated from; plugins report it from `info`.
pub const API_VERSION: &str = "1.2.0";

/// The typed error for a function a plugin does not implement yet.
pub fn unsupported(plugin: &str, function: &str) -> types::PluginError {
    types::PluginError::Unsupported(format!(
        "the {plugin} plugin does not implement {function} yet"
    ))
}
