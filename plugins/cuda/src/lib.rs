//! The cuda runtime-family plugin.
//!
//! Composes with python for runtimes such as python-3.11-pytorch-cuda. Detects the platform
//! and, from the raw NVIDIA driver outputs the host passes in, the driver version, the CUDA
//! driver API version and the GPUs; checks manifests ([`requirements`]); plans the CUDA
//! builds of the runtime's packages for the driver ([`plan`]); captures what torch reports
//! ([`capture`]).

pub mod capture;
pub mod nvidia;
pub mod plan;
pub mod requirements;

use jrt_plugin_kit::types::{
    Diagnostic, HostFacts, Manifest, Plan, Platform, PluginError, PluginInfo, ProbeOutput,
    SetupRequest, VersionLock,
};
use jrt_plugin_kit::{API_VERSION, Guest, manifest, platform};

/// The plugin; its functions are the component's exports.
pub struct Cuda;

impl Guest for Cuda {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "cuda".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            families: vec!["cuda".into()],
            api_version: API_VERSION.into(),
        }
    }

    fn detect_platform(facts: HostFacts) -> Result<Platform, PluginError> {
        let mut platform = platform::detect(&facts)?;
        platform.accelerator = facts.nvidia.as_ref().and_then(nvidia::accelerator);
        Ok(platform)
    }

    fn validate_manifest(manifest: Manifest) -> Vec<Diagnostic> {
        let mut out = manifest::common_diagnostics(&manifest);
        out.extend(requirements::diagnostics(&manifest));
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
jrt_plugin_kit::export!(Cuda);
