//! The cuda family's setup plan, which runs after the python family's (`family: [python,
//! cuda]`) and uses the python runtime's interpreter.
//!
//! From the host facts: the driver and its GPUs. The manifest's `cuda_version` is checked
//! against the driver it needs ([`crate::requirements`]); with no driver at all the plan
//! goes ahead only when the manifest says `allow_cpu_only: true`, and the version capture
//! records it. The PyTorch wheel index for the CUDA version (`cu118` for 11.8) supplies the
//! CUDA builds of the pinned packages (`torch==2.1.0+cu118`), and those wheels carry the CUDA
//! user-space libraries (runtime, cuBLAS, cuFFT, cuRAND, cuSOLVER, cuSPARSE, cuDNN, NCCL) for
//! that version. The driver's own libraries (libcuda, libnvidia-ml) are never copied in: they
//! must match the kernel module of the machine the job runs on, which Joblet provides.

use jrt_plugin_kit::layout::{
    PYPI, PYTHON, PYTHON_PREFIX_IN_JOB, PYTHON_RELOCATE, allowed, probe, run, run_online,
};
use jrt_plugin_kit::probes::{field_list, field_text};
use jrt_plugin_kit::types::{Plan, PluginError, SetupRequest, SetupStep, WriteFile};
use jrt_plugin_kit::{log, pip};

use crate::capture::PROBE_TORCH;
use crate::nvidia;
use crate::requirements::{driver_problem, torch_tag};

/// The PyTorch wheel index; `/<tag>` selects the CUDA version.
pub const TORCH_INDEX: &str = "https://download.pytorch.org/whl";
/// The host of [`TORCH_INDEX`], which the install step declares.
const TORCH_INDEX_HOST: &str = "download.pytorch.org";
/// The requirements file for the CUDA builds.
pub const REQUIREMENTS: &str = ".jrt/setup/cuda-requirements.txt";

/// The local version tag of a pin (`torch==2.1.0+cu118 --hash=…` → `cu118`).
fn local_tag(pin: &str) -> Option<&str> {
    let requirement = pin.split_whitespace().next()?;
    let (_, version) = requirement.split_once("==")?;
    let (_, local) = version.split_once('+')?;
    (local.len() > 2 && local.starts_with("cu") && local[2..].bytes().all(|b| b.is_ascii_digit()))
        .then_some(local)
}

/// The plan for `request`.
pub fn plan(request: &SetupRequest) -> Result<Plan, PluginError> {
    let manifest = &request.manifest;
    let families = &manifest.families;
    let after_python =
        families.iter().position(|f| f == "python") < families.iter().position(|f| f == "cuda");
    if !families.iter().any(|f| f == "python") || !after_python {
        return Err(PluginError::InvalidInput(format!(
            "{}: the cuda family installs into a python runtime; list it after python \
             (family: [python, cuda])",
            manifest.name
        )));
    }
    let cuda = field_text(manifest, "cuda_version").ok_or_else(|| {
        PluginError::InvalidInput(format!("{} has no cuda_version", manifest.name))
    })?;
    let tag = torch_tag(cuda).ok_or_else(|| {
        PluginError::InvalidInput(format!("cuda_version '{cuda}' is not a CUDA version"))
    })?;

    let accelerator = request
        .platform
        .accelerator
        .clone()
        .or_else(|| request.facts.nvidia.as_ref().and_then(nvidia::accelerator));
    let cpu_only_allowed = allowed(manifest, "allow_cpu_only");
    match &accelerator {
        Some(acc) => {
            if let Some(problem) = driver_problem(cuda, &acc.driver_version) {
                return Err(PluginError::Unsatisfiable(format!(
                    "{}: {problem}",
                    manifest.name
                )));
            }
        }
        None if cpu_only_allowed => log::warn(&format!(
            "{}: no NVIDIA driver on this host; installing the {tag} builds CPU-only \
             (allow_cpu_only), which versions.lock will record",
            manifest.name
        )),
        None => {
            return Err(PluginError::Unsatisfiable(format!(
                "{} needs CUDA {cuda} and this host has no NVIDIA driver; install on a GPU \
                 machine, or set allow_cpu_only: true to build it without a GPU (recorded in \
                 versions.lock)",
                manifest.name
            )));
        }
    }

    let pins: Vec<&str> = field_list(manifest, "packages")
        .into_iter()
        .filter(|p| local_tag(p).is_some())
        .collect();
    if pins.is_empty() {
        return Err(PluginError::InvalidInput(format!(
            "{}: the cuda family installs the CUDA builds of packages (such as \
             torch==2.1.0+{tag}), and packages lists none",
            manifest.name
        )));
    }
    if let Some(other) = pins.iter().find(|p| local_tag(p) != Some(tag.as_str())) {
        return Err(PluginError::Unsatisfiable(format!(
            "{}: '{other}' is not a +{tag} build, which cuda_version {cuda} needs",
            manifest.name
        )));
    }
    let mut text = format!("# The CUDA {cuda} builds, from {TORCH_INDEX}/{tag}.\n");
    for pin in &pins {
        text.push_str(pin.trim());
        text.push('\n');
    }
    let index = format!("{TORCH_INDEX}/{tag}");
    // The python family's capture reads this report too: torch's wheels get their sha256.
    let report = pip::report_path("cuda");
    let steps = vec![
        SetupStep::WriteFile(WriteFile {
            target: REQUIREMENTS.into(),
            contents: text.into_bytes(),
            executable: false,
        }),
        run_online(
            PYTHON,
            &pip::install_args(&report, &["--extra-index-url", &index, "-r", REQUIREMENTS]),
            3600,
            &[PYPI[0], PYPI[1], (TORCH_INDEX_HOST, 443)],
        ),
        // The python family's relocation, again, for what this step installed.
        run(PYTHON, &["-I", PYTHON_RELOCATE, PYTHON_PREFIX_IN_JOB], 1800),
    ];
    Ok(Plan {
        steps,
        mounts: vec![],
        environment: vec![
            ("CUDA_VERSION".into(), cuda.to_string()),
            ("NVIDIA_VISIBLE_DEVICES".into(), "all".into()),
            (
                "NVIDIA_DRIVER_CAPABILITIES".into(),
                "compute,utility".into(),
            ),
        ],
        probes: vec![probe(
            PROBE_TORCH,
            PYTHON,
            &[
                "-I",
                "-c",
                "import torch; print(torch.version.cuda); print(torch.cuda.is_available())",
            ],
        )],
    })
}
