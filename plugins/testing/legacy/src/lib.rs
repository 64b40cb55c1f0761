//! A test-only plugin built for `joblet:runtime@1.0.0` (not through the kit, which follows the
//! newest API): the host must keep loading and calling it beside 1.1.0 plugins, and its run
//! steps, which cannot declare network, get only what the runtime's manifest grants
//! (`setup_network`).
//!
//! Its plan runs the manifest's `direct` with `/bin/sh -c`; its one probe prints
//! `legacy-1.0.0`.

wit_bindgen::generate!({ path: "../../../wit/since_v1.0.0", world: "family-plugin" });

use exports::joblet::runtime::plugin::Guest;
use joblet::runtime::types::{
    Arch, Diagnostic, FieldValue, HostFacts, Manifest, Mount, OsFamily, Plan, Platform,
    PluginError, PluginInfo, Probe, ProbeOutput, RunProgram, SetupRequest, SetupStep, VersionLock,
    WriteFile,
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

impl Guest for Legacy {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "legacy".into(),
            version: "0.0.1".into(),
            families: vec!["legacy".into()],
            api_version: "1.0.0".into(),
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
            distro_name: "legacy".into(),
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
                contents: b"#!/bin/sh\necho legacy-1.0.0\n".to_vec(),
                executable: true,
            }),
        ];
        if let Some(direct) = text(&request.manifest, "direct") {
            steps.push(SetupStep::Run(RunProgram {
                program: "/bin/sh".into(),
                args: vec!["-c".into(), direct.to_string()],
                env: vec![],
                timeout_seconds: 20,
            }));
        }
        Ok(Plan {
            steps,
            mounts: vec![Mount {
                source: "isolated".into(),
                target: "/opt/legacy".into(),
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
            components: vec![("legacy".into(), version)],
            packages: vec![],
            notes: vec![],
        })
    }
}

#[cfg(target_arch = "wasm32")]
export!(Legacy);
