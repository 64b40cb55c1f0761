//! What CUDA a runtime really has, from the probe `torch-cuda` (`python -c "import torch;
//! print(torch.version.cuda); print(torch.cuda.is_available())"`). Without a GPU at install
//! time the result is recorded as CPU-only, and accepted only when the manifest says
//! `allow_cpu_only: true`; never silently.

use jrt_plugin_kit::manifest::field;
use jrt_plugin_kit::probes::{field_text, probe};
use jrt_plugin_kit::types::{FieldValue, Manifest, PluginError, ProbeOutput, VersionLock};

use crate::requirements::major_minor;

pub const PROBE_TORCH: &str = "torch-cuda";

pub fn capture(manifest: &Manifest, probes: &[ProbeOutput]) -> Result<VersionLock, PluginError> {
    let out = &probe(probes, PROBE_TORCH)?.stdout;
    let mut lines = out.lines().map(str::trim).filter(|l| !l.is_empty());
    let torch_cuda = lines.next().unwrap_or("None").to_string();
    let available = match lines.next() {
        Some("True") => true,
        Some("False") => false,
        other => {
            return Err(PluginError::InvalidInput(format!(
                "the torch-cuda probe printed '{}' where True or False was expected",
                other.unwrap_or("")
            )));
        }
    };
    let want = field_text(manifest, "cuda_version");
    if torch_cuda == "None" {
        return Err(PluginError::Unsatisfiable(format!(
            "the installed torch is a CPU-only build, but {} asks for CUDA {}",
            manifest.name,
            want.unwrap_or("?")
        )));
    }
    if let Some(want) = want
        && major_minor(want) != major_minor(&torch_cuda)
    {
        return Err(PluginError::Unsatisfiable(format!(
            "the installed torch is built for CUDA {torch_cuda}, but cuda_version is {want}"
        )));
    }
    let mut lock = VersionLock {
        components: vec![
            ("torch-cuda".into(), torch_cuda),
            ("cuda-available".into(), available.to_string()),
        ],
        packages: vec![],
        notes: vec![],
    };
    if !available {
        let allowed = matches!(
            field(manifest, "allow_cpu_only"),
            Some(FieldValue::Boolean(true))
        );
        if !allowed {
            return Err(PluginError::Unsatisfiable(
                "no GPU was usable at install time (torch.cuda.is_available() is False) and the \
                 manifest does not set allow_cpu_only: true"
                    .into(),
            ));
        }
        lock.notes.push("cpu-only: no GPU was usable at install time; CUDA libraries are installed but untested".into());
    }
    Ok(lock)
}
