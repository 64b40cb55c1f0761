//! The jdk runtime-family plugin.
//!
//! Serves openjdk-21 and graalvmjdk-21. Detects the platform and checks manifests today; the
//! setup plan (the pinned JDK tarball or a host JDK of the same major) and the version capture
//! arrive with the five-runtimes work and until then answer a typed `unsupported` error.

use jrt_plugin_kit::types::{
    Diagnostic, HostFacts, Manifest, Plan, Platform, PluginError, PluginInfo, ProbeOutput,
    SetupRequest, VersionLock,
};
use jrt_plugin_kit::{API_VERSION, Guest, manifest, platform, unsupported};

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
        manifest::common_diagnostics(&manifest)
    }

    fn plan_setup(_request: SetupRequest) -> Result<Plan, PluginError> {
        Err(unsupported("jdk", "plan-setup"))
    }

    fn capture_versions(
        _manifest: Manifest,
        _probes: Vec<ProbeOutput>,
    ) -> Result<VersionLock, PluginError> {
        Err(unsupported("jdk", "capture-versions"))
    }
}

// Native builds (the unit tests) link no component exports.
#[cfg(target_arch = "wasm32")]
jrt_plugin_kit::export!(Jdk);
