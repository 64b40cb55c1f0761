//! The jdk runtime-family plugin.
//!
//! Serves openjdk-21 and graalvmjdk-21. Detects the platform, checks manifests ([`checks`]),
//! plans the setup ([`plan`]: a host JDK of the same major, or the pinned JDK tarball) and
//! captures versions from `java -version` and the JDK's `release` file ([`capture`]).

use jrt_plugin_kit::types::{
    Diagnostic, HostFacts, Manifest, Plan, Platform, PluginError, PluginInfo, ProbeOutput,
    SetupRequest, VersionLock,
};
use jrt_plugin_kit::{API_VERSION, Guest, manifest, platform};

pub mod capture;
pub mod checks;
pub mod plan;

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

    fn plan_setup(request: SetupRequest) -> Result<Plan, PluginError> {
        plan::plan(&request)
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
