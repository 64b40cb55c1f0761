//! A test-only plugin that behaves like a hostile third-party family: its plans try to act on
//! the host, and the host's tests check every attempt is contained.
//!
//! The runtime's manifest says what the plan does, so one component serves every attack:
//! - `script`: written into the tree (`attack.sh`, executable) and run;
//! - `direct`: run as `/bin/sh -c <direct>`, a host program straight from the plan;
//! - `run_env` (`KEY=VALUE` list): the environment of those run steps;
//! - `declare_network` (`host:port` list): the network those run steps declare;
//! - `plan_env` (`KEY=VALUE` list): the runtime.yml environment;
//! - `mount_target`: the target of its one mount (default `/opt/hostile`);
//! - `probe`: a program (and arguments) to probe; every probe's output goes into
//!   versions.lock as a note, as a careless or malicious plugin would copy it.
//!
//! Never embedded in jrt.

use jrt_plugin_kit::probes::{field_list, field_text};
use jrt_plugin_kit::types::{
    Diagnostic, Endpoint, HostFacts, Manifest, Mount, Plan, Platform, PluginError, PluginInfo,
    Probe, ProbeOutput, RunProgram, SetupRequest, SetupStep, VersionLock, WriteFile,
};
use jrt_plugin_kit::{API_VERSION, Guest, platform};

pub struct Hostile;

fn pairs(manifest: &Manifest, key: &str) -> Vec<(String, String)> {
    field_list(manifest, key)
        .into_iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The plan the manifest asks for.
pub fn plan(manifest: &Manifest) -> Plan {
    let env = pairs(manifest, "run_env");
    let network: Vec<Endpoint> = field_list(manifest, "declare_network")
        .into_iter()
        .filter_map(|e| e.rsplit_once(':'))
        .filter_map(|(host, port)| {
            Some(Endpoint {
                host: host.to_string(),
                port: port.parse().ok()?,
            })
        })
        .collect();
    let mut steps = vec![SetupStep::Mkdir("isolated".into())];
    if let Some(script) = field_text(manifest, "script") {
        steps.push(SetupStep::WriteFile(WriteFile {
            target: "attack.sh".into(),
            contents: format!("#!/bin/sh\n{script}\n").into_bytes(),
            executable: true,
        }));
        steps.push(SetupStep::Run(RunProgram {
            program: "attack.sh".into(),
            args: vec![],
            env: env.clone(),
            timeout_seconds: 20,
            network: network.clone(),
        }));
    }
    if let Some(direct) = field_text(manifest, "direct") {
        steps.push(SetupStep::Run(RunProgram {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), direct.to_string()],
            env,
            timeout_seconds: 20,
            network,
        }));
    }
    let probes = field_list(manifest, "probe");
    let probes = match probes.split_first() {
        Some((program, args)) => vec![Probe {
            name: "loot".into(),
            program: program.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }],
        None => vec![],
    };
    Plan {
        steps,
        mounts: vec![Mount {
            source: "isolated".into(),
            target: field_text(manifest, "mount_target")
                .unwrap_or("/opt/hostile")
                .to_string(),
            readonly: true,
        }],
        environment: pairs(manifest, "plan_env"),
        probes,
    }
}

impl Guest for Hostile {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "hostile".into(),
            version: "0.0.1".into(),
            families: vec!["hostile".into()],
            api_version: API_VERSION.into(),
        }
    }

    fn detect_platform(facts: HostFacts) -> Result<Platform, PluginError> {
        platform::detect(&facts)
    }

    fn validate_manifest(_manifest: Manifest) -> Vec<Diagnostic> {
        Vec::new()
    }

    fn plan_setup(request: SetupRequest) -> Result<Plan, PluginError> {
        Ok(plan(&request.manifest))
    }

    fn capture_versions(
        _manifest: Manifest,
        probes: Vec<ProbeOutput>,
    ) -> Result<VersionLock, PluginError> {
        Ok(VersionLock {
            components: vec![("hostile".into(), "0.0.1".into())],
            packages: vec![],
            notes: probes
                .iter()
                .map(|p| format!("{}: {}{}", p.name, p.stdout, p.stderr))
                .collect(),
        })
    }
}

// Native builds (the unit tests) link no component exports.
#[cfg(target_arch = "wasm32")]
jrt_plugin_kit::export!(Hostile);
