//! `jrt detect`: the platform and host facts, as the plugins see them.

use serde::Serialize;

use jrt_install::facts::{self, FactsSource};
use jrt_plugin_host::types::{self, Accelerator, Arch, LibcFamily, OsFamily};
use jrt_plugin_host::{PluginError, PluginFailure};

use super::Context;

/// What `jrt detect` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The package platform id, such as `ubuntu-amd64`.
    pub platform: String,
    pub os: &'static str,
    pub arch: &'static str,
    pub distro: Distro,
    pub machine: String,
    pub kernel: String,
    pub libc: Option<Libc>,
    /// NVIDIA GPUs and driver, when there is a driver.
    pub gpu: Option<Gpu>,
    /// Each plugin's own answer.
    pub plugins: Vec<PluginAnswer>,
    /// Which layers of the setup sandbox hold on this machine (docs/security.md).
    pub sandbox: jrt_sandbox::Layers,
}

#[derive(Debug, Clone, Serialize)]
pub struct Distro {
    pub id: String,
    pub version: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Libc {
    pub family: &'static str,
    pub version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gpu {
    pub driver_version: String,
    pub cuda_version: Option<String>,
    pub devices: Vec<GpuDevice>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GpuDevice {
    pub name: String,
    pub memory_mib: u64,
    pub compute_capability: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PluginAnswer {
    pub plugin: String,
    /// The platform id it detected, or none when it refused.
    pub platform: Option<String>,
    pub error: Option<String>,
}

/// Why detection failed.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// `--platform` named a platform no plugin knows (a usage error).
    #[error("{0}")]
    UnknownPlatform(String),
    /// Every plugin refused the host (an unsupported distribution or architecture).
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Plugin(#[from] PluginError),
}

/// Gathers the facts and asks every plugin in effect to detect the platform. The first
/// plugin that answers gives the platform; GPU facts come from whichever plugin reports them.
pub fn detect(
    ctx: &Context,
    source: &FactsSource,
    platform: Option<String>,
) -> Result<Report, DetectError> {
    // The sandbox check runs a confined program, which takes longer than asking the plugins:
    // on a thread of its own, beside them, and only once a boot while it succeeds.
    let record = jrt_fs::paths::runtime_dir().map(|d| d.join("sandbox-check.json"));
    std::thread::scope(|s| {
        let sandbox = s.spawn(|| jrt_sandbox::layers_recorded(record.as_deref()));
        let plugins = ctx.plugins()?;
        let Detected {
            facts,
            platform: p,
            answers,
        } = detect_with(ctx, &plugins, source, platform)?;
        let sandbox = sandbox
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Ok(report(facts, p, answers, sandbox))
    })
}

/// The host facts and the platform the plugins agree on, for commands that go on to use
/// them (install runs setup plans with both).
pub struct Detected {
    pub facts: types::HostFacts,
    /// With the GPU facts of whichever plugin reported them.
    pub platform: types::Platform,
    pub answers: Vec<PluginAnswer>,
}

/// Like [`detect`], with the plugins already loaded, returning the raw facts and platform.
pub fn detect_with(
    ctx: &Context,
    plugins: &[jrt_plugin_host::Plugin],
    source: &FactsSource,
    platform: Option<String>,
) -> Result<Detected, DetectError> {
    let facts = facts::gather(source, platform.clone());
    let mut answers = Vec::new();
    let mut chosen: Option<types::Platform> = None;
    let mut accelerator: Option<Accelerator> = None;
    let mut first_error: Option<PluginError> = None;
    for plugin in plugins {
        match ctx.host.detect_platform(plugin, &facts) {
            Ok(p) => {
                answers.push(PluginAnswer {
                    plugin: plugin.meta.name.clone(),
                    platform: Some(p.id.clone()),
                    error: None,
                });
                if accelerator.is_none() {
                    accelerator = p.accelerator.clone();
                }
                chosen.get_or_insert(p);
            }
            Err(e) => {
                answers.push(PluginAnswer {
                    plugin: plugin.meta.name.clone(),
                    platform: None,
                    error: Some(e.to_string()),
                });
                first_error.get_or_insert(e);
            }
        }
    }
    let Some(mut p) = chosen else {
        return Err(match first_error {
            Some(PluginError::Failed {
                failure: PluginFailure::InvalidInput(m),
                ..
            }) if platform.is_some() => DetectError::UnknownPlatform(m),
            Some(PluginError::Failed {
                failure: PluginFailure::UnsupportedPlatform(m),
                ..
            }) => DetectError::Unsupported(m),
            Some(e) => DetectError::Plugin(e),
            None => DetectError::Unsupported("no plugin is loaded to detect the platform".into()),
        });
    };
    if p.accelerator.is_none() {
        p.accelerator = accelerator;
    }
    Ok(Detected {
        facts,
        platform: p,
        answers,
    })
}

fn report(
    facts: types::HostFacts,
    p: types::Platform,
    answers: Vec<PluginAnswer>,
    sandbox: jrt_sandbox::Layers,
) -> Report {
    Report {
        sandbox,
        platform: p.id,
        os: match p.os {
            OsFamily::Ubuntu => "ubuntu",
            OsFamily::Rhel => "rhel",
            OsFamily::Amzn => "amzn",
        },
        arch: match p.arch {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        },
        distro: Distro {
            id: p.distro_id,
            version: p.distro_version,
            name: p.distro_name,
        },
        machine: facts.machine,
        kernel: p.kernel,
        libc: p.libc.map(|l| Libc {
            family: match l.family {
                LibcFamily::Glibc => "glibc",
                LibcFamily::Musl => "musl",
                LibcFamily::Unknown => "unknown",
            },
            version: l.version,
        }),
        gpu: p.accelerator.map(|a| Gpu {
            driver_version: a.driver_version,
            cuda_version: a.cuda_version,
            devices: a
                .gpus
                .into_iter()
                .map(|g| GpuDevice {
                    name: g.name,
                    memory_mib: g.memory_mib,
                    compute_capability: g.compute_capability,
                })
                .collect(),
        }),
        plugins: answers,
    }
}
