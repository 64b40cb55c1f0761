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
    Diagnostic, HostFacts, Manifest, Plan, Platform, PluginError, ProbeOutput, SetupRequest,
    VersionLock,
};
use jrt_plugin_kit::{Family, platform};

/// The plugin; its functions are the component's exports.
pub struct Cuda;

impl Family for Cuda {
    const NAME: &'static str = "cuda";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    fn detect(facts: &HostFacts) -> Result<Platform, PluginError> {
        let mut platform = platform::detect(facts)?;
        platform.accelerator = facts.nvidia.as_ref().and_then(nvidia::accelerator);
        Ok(platform)
    }
    fn checks(manifest: &Manifest) -> Vec<Diagnostic> {
        requirements::diagnostics(manifest)
    }
    fn plan(request: &SetupRequest) -> Result<Plan, PluginError> {
        plan::plan(request)
    }
    fn capture(manifest: &Manifest, probes: &[ProbeOutput]) -> Result<VersionLock, PluginError> {
        capture::capture(manifest, probes)
    }
}

// Native builds (the unit tests) link no component exports.
#[cfg(target_arch = "wasm32")]
jrt_plugin_kit::export!(Cuda);
