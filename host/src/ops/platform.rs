//! The platform, decided natively with the plugin kit's own mapping: the code the built-in
//! plugins run for `detect-platform`, compiled into jrt.
//!
//! An install needs the platform before anything else (it picks the package), yet only a
//! source package needs a plugin. Deciding it here means an install of prebuilt packages loads
//! no plugin at all. `tests/plugin_host.rs` checks that this answer and every built-in
//! plugin's agree on every os-release fixture.

use jrt_install::facts::{self, FactsSource};
use jrt_plugin_host::types as host;
use jrt_plugin_kit::types as kit;

use super::detect::DetectError;

/// The platform of the host described by `source`, or the one `platform` names (checked).
/// Without GPU facts: only setups use them, and gathering them runs `nvidia-smi`.
pub fn detect(
    source: &FactsSource,
    platform: Option<String>,
) -> Result<host::Platform, DetectError> {
    decide(&facts::gather_platform(source, platform))
}

/// The kit's answer for `facts`, in the host's types.
pub fn decide(facts: &host::HostFacts) -> Result<host::Platform, DetectError> {
    let asked = facts.platform_override.is_some();
    match jrt_plugin_kit::platform::detect(&to_kit(facts)) {
        Ok(p) => Ok(from_kit(p)),
        Err(kit::PluginError::InvalidInput(m)) if asked => Err(DetectError::UnknownPlatform(m)),
        Err(
            kit::PluginError::UnsupportedPlatform(m)
            | kit::PluginError::InvalidInput(m)
            | kit::PluginError::Unsupported(m)
            | kit::PluginError::Unsatisfiable(m),
        ) => Err(DetectError::Unsupported(m)),
    }
}

fn to_kit(f: &host::HostFacts) -> kit::HostFacts {
    kit::HostFacts {
        os_release: f.os_release.clone(),
        machine: f.machine.clone(),
        kernel: f.kernel.clone(),
        libc: f.libc.as_ref().map(|l| kit::LibcInfo {
            family: match l.family {
                host::LibcFamily::Glibc => kit::LibcFamily::Glibc,
                host::LibcFamily::Musl => kit::LibcFamily::Musl,
                host::LibcFamily::Unknown => kit::LibcFamily::Unknown,
            },
            version: l.version.clone(),
        }),
        nvidia: f.nvidia.as_ref().map(|n| kit::NvidiaFacts {
            proc_version: n.proc_version.clone(),
            smi_summary: n.smi_summary.clone(),
            smi_query: n.smi_query.clone(),
        }),
        tools: f
            .tools
            .iter()
            .map(|t| kit::ProbeOutput {
                name: t.name.clone(),
                exit_code: t.exit_code,
                stdout: t.stdout.clone(),
                stderr: t.stderr.clone(),
            })
            .collect(),
        platform_override: f.platform_override.clone(),
    }
}

fn from_kit(p: kit::Platform) -> host::Platform {
    host::Platform {
        id: p.id,
        os: match p.os {
            kit::OsFamily::Ubuntu => host::OsFamily::Ubuntu,
            kit::OsFamily::Rhel => host::OsFamily::Rhel,
            kit::OsFamily::Amzn => host::OsFamily::Amzn,
        },
        arch: match p.arch {
            kit::Arch::Amd64 => host::Arch::Amd64,
            kit::Arch::Arm64 => host::Arch::Arm64,
        },
        distro_id: p.distro_id,
        distro_version: p.distro_version,
        distro_name: p.distro_name,
        kernel: p.kernel,
        libc: p.libc.map(|l| host::LibcInfo {
            family: match l.family {
                kit::LibcFamily::Glibc => host::LibcFamily::Glibc,
                kit::LibcFamily::Musl => host::LibcFamily::Musl,
                kit::LibcFamily::Unknown => host::LibcFamily::Unknown,
            },
            version: l.version,
        }),
        accelerator: p.accelerator.map(|a| host::Accelerator {
            driver_version: a.driver_version,
            cuda_version: a.cuda_version,
            gpus: a
                .gpus
                .into_iter()
                .map(|g| host::Gpu {
                    name: g.name,
                    memory_mib: g.memory_mib,
                    compute_capability: g.compute_capability,
                })
                .collect(),
        }),
    }
}
