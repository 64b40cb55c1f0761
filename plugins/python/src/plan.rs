//! The python family's setup plan.
//!
//! The interpreter comes from a host CPython whose version equals `python_version` exactly
//! (when the manifest says `allow_host_interpreter: true`), else from the pinned relocatable
//! build for the platform's architecture (`python_builds`), else from jrt's catalog of
//! python-build-standalone builds ([`jrt_plugin_kit::catalog`]). Never from a near miss: a host
//! 3.12 is not a 3.11. The runtime is a prefix (`isolated/usr/local`, mounted at `/usr/local`)
//! holding the interpreter, its standard library without the host's site-packages, the
//! shared-library closure of its ELF files, and the pinned packages installed by the
//! runtime's own interpreter into its own site-packages.

use jrt_plugin_kit::catalog;
use jrt_plugin_kit::layout::{
    PYPI, PYTHON_PREFIX, PYTHON_PREFIX_IN_JOB, PYTHON_RELOCATE, allowed, pinned_build, probe, run,
    run_online,
};
use jrt_plugin_kit::platform::arch_name;
use jrt_plugin_kit::probes::{field_list, field_text};
use jrt_plugin_kit::types::{
    CopyFromHost, CopyLibraries, Fetch, MakeSymlink, Mount, Plan, PluginError, SetupRequest,
    SetupStep, WriteFile,
};
use jrt_plugin_kit::{log, pip};

use crate::capture::{PROBE_PACKAGES, PROBE_VERSION};

/// The requirements file the plan writes and pip reads.
pub const REQUIREMENTS: &str = ".jrt/setup/requirements.txt";

/// What the host reported about one of its interpreters (`host-facts.tools`, `host-python`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct HostPython {
    pub version: String,
    pub implementation: String,
    pub executable: String,
    pub stdlib: String,
}

/// The host interpreters the host found, in the order it found them.
pub fn host_pythons(request: &SetupRequest) -> Vec<HostPython> {
    request
        .facts
        .tools
        .iter()
        .filter(|t| t.name == "host-python" && t.exit_code == Some(0))
        .filter_map(|t| serde_json::from_str(&t.stdout).ok())
        .collect()
}

/// Whether a pin belongs to the cuda family (a PyTorch build such as `torch==2.1.0+cu118`),
/// which installs it from the PyTorch index for its CUDA version.
pub fn is_cuda_build(pin: &str) -> bool {
    let version = pin
        .split_whitespace()
        .next()
        .and_then(|p| p.split_once("=="))
        .map_or("", |(_, v)| v);
    version.split_once('+').is_some_and(|(_, local)| {
        local.len() > 2 && local.starts_with("cu") && local[2..].bytes().all(|b| b.is_ascii_digit())
    })
}

/// Where the interpreter comes from.
enum Source {
    Host(HostPython),
    Build { url: String, sha256: String },
}

fn choose(request: &SetupRequest, want: &str) -> Result<Source, PluginError> {
    let manifest = &request.manifest;
    let hosts = host_pythons(request);
    let arch = arch_name(request.platform.arch);
    let mut why_not_host = String::new();
    if allowed(manifest, "allow_host_interpreter") {
        if let Some(h) = hosts
            .iter()
            .find(|h| h.implementation == "cpython" && h.version == want)
        {
            return Ok(Source::Host(h.clone()));
        }
        why_not_host = if hosts.is_empty() {
            "this host has no Python interpreter on PATH".into()
        } else {
            format!(
                "the host's interpreters are {}, none of them CPython {want}",
                hosts
                    .iter()
                    .map(|h| format!("{} {} ({})", h.implementation, h.version, h.executable))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
    }
    let catalogued = || {
        catalog::find(catalog::CPYTHON, want, arch)
            .map(|b| (b.url.to_string(), b.sha256.to_string()))
    };
    match pinned_build(manifest, "python_builds", arch)?.or_else(catalogued) {
        Some((url, sha256)) => {
            if !why_not_host.is_empty() {
                log::warn(&format!(
                    "{}: {why_not_host}; using the pinned build {url}",
                    manifest.name
                ));
            }
            Ok(Source::Build { url, sha256 })
        }
        None => Err(PluginError::Unsatisfiable(format!(
            "{} needs CPython {want}, but {}{}",
            manifest.name,
            if why_not_host.is_empty() {
                "the manifest does not allow a host interpreter (allow_host_interpreter: true)"
                    .to_string()
            } else {
                why_not_host
            },
            format_args!(
                ", python_builds has no pinned build for {arch}, and jrt's catalog has no CPython \
                 {want} (it has {})",
                catalog::versions(catalog::CPYTHON, arch)
            ),
        ))),
    }
}

/// The plan for `request`.
pub fn plan(request: &SetupRequest) -> Result<Plan, PluginError> {
    let manifest = &request.manifest;
    let want = field_text(manifest, "python_version").ok_or_else(|| {
        PluginError::InvalidInput(format!("{} has no python_version", manifest.name))
    })?;
    let mut parts = want.split('.');
    let minor = match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => format!("{a}.{b}"),
        _ => {
            return Err(PluginError::InvalidInput(format!(
                "python_version '{want}' is not X.Y.Z"
            )));
        }
    };
    let pythonxy = format!("python{minor}");
    let prefix = PYTHON_PREFIX;
    let python = format!("{prefix}/bin/{pythonxy}");
    let stdlib = format!("{prefix}/lib/{pythonxy}");

    let mut steps = Vec::new();
    match choose(request, want)? {
        Source::Host(host) => {
            steps.push(SetupStep::Mkdir(format!("{prefix}/bin")));
            steps.push(SetupStep::Mkdir(format!("{prefix}/lib")));
            steps.push(SetupStep::CopyFromHost(CopyFromHost {
                source: host.executable.clone(),
                target: python.clone(),
                exclude: vec![],
            }));
            // The host's installed packages stay on the host.
            steps.push(SetupStep::CopyFromHost(CopyFromHost {
                source: host.stdlib.clone(),
                target: stdlib.clone(),
                exclude: ["site-packages", "dist-packages", "test"]
                    .map(String::from)
                    .to_vec(),
            }));
            steps.push(SetupStep::Mkdir(format!("{stdlib}/site-packages")));
            for link in ["python3", "python"] {
                steps.push(SetupStep::Symlink(MakeSymlink {
                    link: format!("{prefix}/bin/{link}"),
                    target: pythonxy.clone(),
                }));
            }
        }
        Source::Build { url, sha256 } => {
            // python-build-standalone's install_only layout: python/{bin,lib,include,share},
            // with bin/python3 already linked to bin/pythonX.Y.
            steps.push(SetupStep::Fetch(Fetch {
                url,
                sha256,
                target: prefix.to_string(),
                unpack: true,
                strip_components: 1,
            }));
        }
    }
    steps.push(SetupStep::CopyLibraries(CopyLibraries {
        binaries: vec![python.clone(), format!("{stdlib}/lib-dynload")],
        target: format!("{prefix}/lib"),
    }));
    // pip itself, from the interpreter's own bundled wheels (a no-op when it has pip).
    steps.push(run(
        &python,
        &["-I", "-m", "ensurepip", "--default-pip"],
        600,
    ));

    let owned_by_cuda = request.manifest.families.iter().any(|f| f == "cuda");
    let pins: Vec<&str> = field_list(manifest, "packages")
        .into_iter()
        .filter(|p| !(owned_by_cuda && is_cuda_build(p)))
        .collect();
    if !pins.is_empty() {
        let mut text = String::from("# The runtime's pinned packages, from its manifest.\n");
        for pin in &pins {
            text.push_str(pin.trim());
            text.push('\n');
        }
        steps.push(SetupStep::WriteFile(WriteFile {
            target: REQUIREMENTS.into(),
            contents: text.into_bytes(),
            executable: false,
        }));
        let report = pip::report_path("python");
        steps.push(run_online(
            &python,
            &pip::install_args(&report, &["-r", REQUIREMENTS]),
            3600,
            &PYPI,
        ));
    }
    steps.push(SetupStep::WriteFile(WriteFile {
        target: PYTHON_RELOCATE.into(),
        contents: include_bytes!("relocate.py").to_vec(),
        executable: false,
    }));
    steps.push(run(
        &python,
        &["-I", PYTHON_RELOCATE, PYTHON_PREFIX_IN_JOB],
        1800,
    ));

    Ok(Plan {
        steps,
        mounts: vec![Mount {
            source: prefix.to_string(),
            target: PYTHON_PREFIX_IN_JOB.into(),
            readonly: true,
        }],
        environment: vec![
            ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
            // The closure of the interpreter's ELF files lives beside it.
            ("LD_LIBRARY_PATH".into(), "/usr/local/lib".into()),
            ("PYTHONNOUSERSITE".into(), "1".into()),
            // The runtime is mounted read-only; its bytecode is compiled already.
            ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
            ("LANG".into(), "C.UTF-8".into()),
        ],
        probes: vec![
            probe(PROBE_VERSION, &python, &["--version"]),
            probe(
                PROBE_PACKAGES,
                &python,
                &[
                    "-I",
                    "-m",
                    "pip",
                    "list",
                    "--format=json",
                    "--disable-pip-version-check",
                ],
            ),
            pip::hashes_probe(&python),
        ],
    })
}
