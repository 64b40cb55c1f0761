//! The jdk runtime-family plugin.
//!
//! Serves openjdk-21 and graalvmjdk-21. Detects the platform, checks manifests and captures
//! versions (see [`capture`]); the setup plan (the pinned JDK tarball or a host JDK of the
//! same major) arrives with the rest of the five-runtimes work and until then answers a typed
//! `unsupported` error.

use jrt_plugin_kit::types::{
    Diagnostic, HostFacts, Manifest, Plan, Platform, PluginError, PluginInfo, ProbeOutput,
    SetupRequest, VersionLock,
};
use jrt_plugin_kit::{API_VERSION, Guest, manifest, platform, unsupported};

pub mod capture;
pub mod checks;

/// The plugin; its functions are the component's exports.
pub struct Jdk;

impl Guest for Jdk {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "jdk".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            families: vec!["jdk".into()],
            api_version: API_VERSION.into(),
        }
    }

    fn detect_platform(facts: HostFacts) -> Result<Platform, PluginError> {
        platform::detect(&facts)
    }

    fn validate_manifest(manifest: Manifest) -> Vec<Diagnostic> {
        let mut out = manifest::common_diagnostics(&manifest);
        out.extend(checks::diagnostics(&manifest));
        out
    }

    fn plan_setup(_request: SetupRequest) -> Result<Plan, PluginError> {
        Err(unsupported("jdk", "plan-setup"))
    }

    fn capture_versions(
        manifest: Manifest,
        probes: Vec<ProbeOutput>,
    ) -> Result<VersionLock, PluginError> {
        capture::capture(&manifest, &probes)
    }
}

// Native builds (the unit tests) link no component exports.
#[cfg(target_arch = "wasm32")]
jrt_plugin_kit::export!(Jdk);
