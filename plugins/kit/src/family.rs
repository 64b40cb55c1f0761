//! A runtime family as the kit turns it into a plugin: a family says its name and does its
//! own checks, plans and capture; the kit answers `info`, detects the platform the common way
//! (a family may add to it) and runs the checks every family shares before the family's own.
//! Every [`Family`] is a [`crate::Guest`], so `export!(MyFamily)` makes it a component;
//! [`family!`](crate::family) writes both for a family that detects the common way.

use crate::types::{
    Diagnostic, HostFacts, Manifest, Plan, Platform, PluginError, PluginInfo, ProbeOutput,
    SetupRequest, VersionLock,
};
use crate::{API_VERSION, Guest, manifest, platform};

/// What differs between runtime families.
pub trait Family {
    /// The family's name, which is also the plugin's.
    const NAME: &'static str;
    /// The plugin's own version (its crate's `CARGO_PKG_VERSION`).
    const VERSION: &'static str;

    /// The platform of the host; the kit's mapping unless a family adds to it.
    fn detect(facts: &HostFacts) -> Result<Platform, PluginError> {
        platform::detect(facts)
    }

    /// The family's own manifest checks (the shared ones run first).
    fn checks(manifest: &Manifest) -> Vec<Diagnostic>;

    /// The setup plan for a request.
    fn plan(request: &SetupRequest) -> Result<Plan, PluginError>;

    /// What the setup really installed, from its probes.
    fn capture(manifest: &Manifest, probes: &[ProbeOutput]) -> Result<VersionLock, PluginError>;
}

impl<F: Family> Guest for F {
    fn info() -> PluginInfo {
        PluginInfo {
            name: F::NAME.into(),
            version: F::VERSION.into(),
            families: vec![F::NAME.into()],
            api_version: API_VERSION.into(),
        }
    }

    fn detect_platform(facts: HostFacts) -> Result<Platform, PluginError> {
        F::detect(&facts)
    }

    fn validate_manifest(manifest: Manifest) -> Vec<Diagnostic> {
        let mut out = manifest::common_diagnostics(&manifest);
        out.extend(F::checks(&manifest));
        out
    }

    fn plan_setup(request: SetupRequest) -> Result<Plan, PluginError> {
        F::plan(&request)
    }

    fn capture_versions(
        manifest: Manifest,
        probes: Vec<ProbeOutput>,
    ) -> Result<VersionLock, PluginError> {
        F::capture(&manifest, &probes)
    }
}

/// Declares a plugin for a family that detects the platform the common way: the struct, its
/// [`Family`] impl from the family's three functions, and (on wasm32) its component exports.
///
/// ```ignore
/// jrt_plugin_kit::family!(Python, "python", checks::diagnostics, plan::plan, capture::capture);
/// ```
#[macro_export]
macro_rules! family {
    ($plugin:ident, $name:literal, $checks:path, $plan:path, $capture:path) => {
        /// The plugin; its functions are the component's exports.
        pub struct $plugin;

        impl $crate::Family for $plugin {
            const NAME: &'static str = $name;
            const VERSION: &'static str = env!("CARGO_PKG_VERSION");
            fn checks(manifest: &$crate::types::Manifest) -> Vec<$crate::types::Diagnostic> {
                $checks(manifest)
            }
            fn plan(
                request: &$crate::types::SetupRequest,
            ) -> Result<$crate::types::Plan, $crate::types::PluginError> {
                $plan(request)
            }
            fn capture(
                manifest: &$crate::types::Manifest,
                probes: &[$crate::types::ProbeOutput],
            ) -> Result<$crate::types::VersionLock, $crate::types::PluginError> {
                $capture(manifest, probes)
            }
        }

        // Native builds (the unit tests) link no component exports.
        #[cfg(target_arch = "wasm32")]
        $crate::export!($plugin);
    };
}
