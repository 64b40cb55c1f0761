//! A test-only plugin built for an older minor version of the API (not through the kit, which
//! follows the newest): the host must keep loading and calling it beside the newest plugins.
//!
//! The same source builds two components: `legacy` for `joblet:runtime@1.0.0` (this crate),
//! whose run steps cannot declare network and so get only what the runtime's manifest grants
//! (`setup_network`), and `legacy-v1-1` for `@1.1.0` (`plugins/testing/legacy-v1-1`, feature
//! `api-1-1`), whose steps declare the manifest's `declare_network` (`host:port`). Neither
//! version's locked packages carry a sha256.
//!
//! Its plan runs the manifest's `direct` with `/bin/sh -c`; its one probe prints
//! `<name>-<api version>`, which is locked as a component and as a package.

#[cfg(not(feature = "api-1-1"))]
wit_bindgen::generate!({ path: "../../../wit/since_v1.0.0", world: "family-plugin" });
#[cfg(feature = "api-1-1")]
wit_bindgen::generate!({ path: "../../../wit/since_v1.1.0", world: "family-plugin" });

#[cfg(not(feature = "api-1-1"))]
const NAME: &str = "legacy";
#[cfg(not(feature = "api-1-1"))]
const API: &str = "1.0.0";
#[cfg(feature = "api-1-1")]
const NAME: &str = "legacy-v1-1";
#[cfg(feature = "api-1-1")]
const API: &str = "1.1.0";

use exports::joblet::runtime::plugin::Guest;
use joblet::runtime::types::{
    Arch, Diagnostic, FieldValue, HostFacts, LockedPackage, Manifest, Mount, OsFamily, Plan,
    Platform, PluginError, PluginInfo, Probe, ProbeOutput, RunProgram, SetupRequest, SetupStep,
    VersionLock, WriteFile,
};

pub struct Legacy;

fn text<'a>(manifest: &'a Manifest, key: &str) -> Option<&'a str> {
    manifest
        .fields
        .iter()
        .find(|f| f.key == key)
        .and_then(|f| match &f.value {
            FieldValue::Text(t) => Some(t.as_str()),
            _ => None,
        })
}

/// The manifest's `declare_network: HOST:PORT`, as a 1.1.0 step declares it.
#[cfg(feature = "api-1-1")]
fn declared_network(manifest: &Manifest) -> Vec<joblet::runtime::types::Endpoint> {
    text(manifest, "declare_network")
        .and_then(|e| e.rsplit_once(':'))
        .and_then(|(host, port)| {
            Some(joblet::runtime::types::Endpoint {
                host: host.to_string(),
                port: port.parse().ok()?,
            })
        })
        .into_iter()
        .collect()
}

impl Guest for Legacy {
    fn info() -> PluginInfo {
        PluginInfo {
            name: NAME.into(),
            version: "0.0.1".into(),
            families: vec![NAME.into()],
            api_version: API.into(),
        }
    }

    /// Any Linux host, as ubuntu (a test plugin: the built-in plugins decide the platform).
    fn detect_platform(facts: HostFacts) -> Result<Platform, PluginError> {
        let arch = match facts.machine.as_str() {
            "x86_64" => Arch::Amd64,
            "aarch64" => Arch::Arm64,
            other => return Err(PluginError::UnsupportedPlatform(format!("machine {other}"))),
        };
        Ok(Platform {
            id: format!(
                "ubuntu-{}",
                if arch == Arch::Amd64 {
                    "amd64"
                } else {
                    "arm64"
                }
            ),
            os: OsFamily::Ubuntu,
            arch,
            distro_id: "ubuntu".into(),
            distro_version: String::new(),
            distro_name: NAME.into(),
            kernel: facts.kernel,
            libc: facts.libc,
            accelerator: None,
        })
    }

    fn validate_manifest(_manifest: Manifest) -> Vec<Diagnostic> {
        Vec::new()
    }

    fn plan_setup(request: SetupRequest) -> Result<Plan, PluginError> {
        let mut steps = vec![
            SetupStep::Mkdir("isolated".into()),
            SetupStep::WriteFile(WriteFile {
                target: "isolated/version".into(),
                contents: format!("#!/bin/sh\necho {NAME}-{API}\n").into_bytes(),
                executable: true,
            }),
        ];
        if let Some(direct) = text(&request.manifest, "direct") {
            steps.push(SetupStep::Run(RunProgram {
                program: "/bin/sh".into(),
                args: vec!["-c".into(), direct.to_string()],
                env: vec![],
                timeout_seconds: 20,
                #[cfg(feature = "api-1-1")]
                network: declared_network(&request.manifest),
            }));
        }
        Ok(Plan {
            steps,
            mounts: vec![Mount {
                source: "isolated".into(),
                target: format!("/opt/{NAME}"),
                readonly: true,
            }],
            environment: vec![],
            probes: vec![Probe {
                name: "version".into(),
                program: "isolated/version".into(),
                args: vec![],
            }],
        })
    }

    fn capture_versions(
        _manifest: Manifest,
        probes: Vec<ProbeOutput>,
    ) -> Result<VersionLock, PluginError> {
        let version = probes
            .iter()
            .find(|p| p.name == "version")
            .map(|p| p.stdout.trim().to_string())
            .ok_or_else(|| PluginError::InvalidInput("no version probe".into()))?;
        Ok(VersionLock {
            components: vec![(NAME.into(), version.clone())],
            packages: vec![LockedPackage {
                kind: "test".into(),
                name: NAME.into(),
                version,
            }],
            notes: vec![],
        })
    }
}

#[cfg(target_arch = "wasm32")]
export!(Legacy);
