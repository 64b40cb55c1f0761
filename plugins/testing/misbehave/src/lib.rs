//! A test-only plugin that misbehaves on request, to prove the host's sandbox holds.
//!
//! `detect-platform` picks its behaviour from `facts.machine`; `facts.kernel` carries an
//! argument (a path or an address). The host's tests drive it; it is never embedded in jrt.

use jrt_plugin_kit::types::{
    Diagnostic, HostFacts, LockedPackage, MakeSymlink, Manifest, Mount, Plan, Platform,
    PluginError, PluginInfo, Probe, ProbeOutput, RunProgram, SetupRequest, SetupStep, VersionLock,
    WriteFile,
};
use jrt_plugin_kit::{API_VERSION, Guest, platform};

pub struct Misbehave;

impl Guest for Misbehave {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "misbehave".into(),
            version: "0.0.1".into(),
            families: vec!["misbehave".into()],
            api_version: API_VERSION.into(),
        }
    }

    fn detect_platform(facts: HostFacts) -> Result<Platform, PluginError> {
        let arg = facts.kernel.clone();
        match facts.machine.as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "oom" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => panic!("misbehave: trapping on purpose"),
            // Waiting happens inside a host call, where epoch interruption cannot reach.
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Err(PluginError::InvalidInput("SLEPT".into()))
            }
            "read-file" => Err(PluginError::InvalidInput(
                match std::fs::read_to_string(&arg) {
                    Ok(text) => format!("READ OK: {text}"),
                    Err(e) => format!("read failed: {e}"),
                },
            )),
            "list-root" => Err(PluginError::InvalidInput(match std::fs::read_dir("/") {
                Ok(entries) => format!("LISTED {} entries", entries.count()),
                Err(e) => format!("list failed: {e}"),
            })),
            "env" => Err(PluginError::InvalidInput(format!(
                "env={} args={}",
                std::env::vars_os().count(),
                std::env::args_os().count()
            ))),
            "connect" => Err(PluginError::InvalidInput(
                match std::net::TcpStream::connect(arg.as_str()) {
                    Ok(_) => "CONNECTED".to_string(),
                    Err(e) => format!("connect failed: {e}"),
                },
            )),
            _ => platform::detect(&facts),
        }
    }

    fn validate_manifest(_manifest: Manifest) -> Vec<Diagnostic> {
        Vec::new()
    }

    /// A small honest plan (a script, a mount, a probe), or an escaping one when the
    /// runtime's name ends in `-bad-plan`.
    fn plan_setup(request: SetupRequest) -> Result<Plan, PluginError> {
        if request.manifest.name.ends_with("-bad-plan") {
            return Ok(Plan {
                steps: vec![SetupStep::Symlink(MakeSymlink {
                    link: "isolated/etc".into(),
                    target: "/etc".into(),
                })],
                mounts: vec![],
                environment: vec![],
                probes: vec![],
            });
        }
        let script = format!("#!/bin/sh\necho hello-1.2.3 for {}\n", request.platform.id);
        Ok(Plan {
            steps: vec![
                SetupStep::Mkdir("isolated/bin".into()),
                SetupStep::WriteFile(WriteFile {
                    target: "isolated/bin/hello".into(),
                    contents: script.into_bytes(),
                    executable: true,
                }),
                SetupStep::Run(RunProgram {
                    program: "isolated/bin/hello".into(),
                    args: vec![],
                    env: vec![],
                    timeout_seconds: 10,
                    network: vec![],
                }),
            ],
            mounts: vec![Mount {
                source: "isolated".into(),
                target: "/opt/hello".into(),
                readonly: true,
            }],
            environment: vec![("HELLO_HOME".into(), "/opt/hello".into())],
            probes: vec![Probe {
                name: "hello".into(),
                program: "isolated/bin/hello".into(),
                args: vec![],
            }],
        })
    }

    fn capture_versions(
        _manifest: Manifest,
        probes: Vec<ProbeOutput>,
    ) -> Result<VersionLock, PluginError> {
        let hello = probes
            .iter()
            .find(|p| p.name == "hello")
            .ok_or_else(|| PluginError::InvalidInput("no output of the hello probe".into()))?;
        let version = hello
            .stdout
            .split_whitespace()
            .next()
            .and_then(|w| w.strip_prefix("hello-"))
            .ok_or_else(|| {
                PluginError::InvalidInput(format!("unexpected probe output '{}'", hello.stdout))
            })?
            .to_string();
        Ok(VersionLock {
            components: vec![("hello".into(), version.clone())],
            packages: vec![LockedPackage {
                kind: "test".into(),
                name: "hello".into(),
                version,
                sha256: None,
            }],
            notes: vec![],
        })
    }
}

// Native builds (the unit tests) link no component exports.
#[cfg(target_arch = "wasm32")]
jrt_plugin_kit::export!(Misbehave);
