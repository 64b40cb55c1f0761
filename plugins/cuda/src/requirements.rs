//! CUDA's needs: the driver a CUDA version requires, the PyTorch wheel tag for it, and the
//! manifest checks that tie them together.
//!
//! Driver minimums are from NVIDIA's CUDA Toolkit Release Notes, "CUDA Toolkit and
//! Corresponding Driver Versions" (Linux x86_64): table 3 gives the driver each toolkit release
//! shipped with; table 2 gives the minimum under minor-version compatibility (any 11.x runs
//! on ≥ 450.80.02, any 12.x on ≥ 525.60.13), which is what PyTorch's bundled CUDA runtime needs.

use jrt_plugin_kit::manifest::error;
use jrt_plugin_kit::probes::{field_list, field_text};
use jrt_plugin_kit::types::{Diagnostic, Manifest};

/// (major, minor) → driver the toolkit release shipped with (release notes, table 3).
const TOOLKIT_DRIVERS: [((u32, u32), &str); 15] = [
    ((11, 0), "450.36.06"),
    ((11, 1), "455.23.05"),
    ((11, 2), "460.27.03"),
    ((11, 3), "465.19.01"),
    ((11, 4), "470.42.01"),
    ((11, 5), "495.29.05"),
    ((11, 6), "510.39.01"),
    ((11, 7), "515.43.04"),
    ((11, 8), "520.61.05"),
    ((12, 0), "525.60.13"),
    ((12, 1), "530.30.02"),
    ((12, 2), "535.54.03"),
    ((12, 3), "545.23.06"),
    ((12, 4), "550.54.14"),
    ((12, 5), "555.42.02"),
];

/// Minimum drivers under minor-version compatibility (release notes, table 2).
const MINOR_COMPAT: [(u32, &str); 2] = [(11, "450.80.02"), (12, "525.60.13")];

/// `11.8.0` or `11.8` → (11, 8).
pub fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim().split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Compares dotted numeric versions (`535.129.03` vs `520.61.05`).
pub fn version_at_least(have: &str, need: &str) -> bool {
    let parse = |v: &str| {
        v.split('.')
            .map(|p| p.parse::<u64>().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    parse(have) >= parse(need)
}

/// What a CUDA version needs from the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverNeed {
    /// The least driver that runs it (minor-version compatibility).
    pub minimum: &'static str,
    /// The driver its toolkit release shipped with, when the table knows it.
    pub toolkit: Option<&'static str>,
}

pub fn driver_need(cuda_version: &str) -> Option<DriverNeed> {
    let (major, minor) = major_minor(cuda_version)?;
    let minimum = MINOR_COMPAT.iter().find(|(m, _)| *m == major)?.1;
    let toolkit = TOOLKIT_DRIVERS
        .iter()
        .find(|(v, _)| *v == (major, minor))
        .map(|(_, d)| *d);
    Some(DriverNeed { minimum, toolkit })
}

/// Checks a driver against a CUDA version: none when it is enough, else why not.
pub fn driver_problem(cuda_version: &str, driver: &str) -> Option<String> {
    let Some(need) = driver_need(cuda_version) else {
        return Some(format!(
            "CUDA {cuda_version} is not in jrt's driver table (11.x and 12.x are)"
        ));
    };
    if version_at_least(driver, need.minimum) {
        None
    } else {
        Some(format!(
            "CUDA {cuda_version} needs NVIDIA driver {} or newer{}; this host has {driver}",
            need.minimum,
            need.toolkit
                .map(|t| format!(" ({t} recommended)"))
                .unwrap_or_default()
        ))
    }
}

/// The PyTorch wheel index tag for a CUDA version: `11.8.0` → `cu118`.
pub fn torch_tag(cuda_version: &str) -> Option<String> {
    let (major, minor) = major_minor(cuda_version)?;
    Some(format!("cu{major}{minor}"))
}

/// The cuda family's own manifest checks.
pub fn diagnostics(manifest: &Manifest) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some(cuda) = field_text(manifest, "cuda_version") else {
        out.push(error(
            "cuda_version",
            "is missing; the cuda family needs it (such as 11.8.0)".into(),
        ));
        return out;
    };
    let Some(tag) = torch_tag(cuda) else {
        out.push(error(
            "cuda_version",
            format!("'{cuda}' is not a CUDA version such as 11.8.0"),
        ));
        return out;
    };
    if driver_need(cuda).is_none() {
        out.push(error(
            "cuda_version",
            format!("CUDA {cuda} is not in jrt's driver table (11.x and 12.x are)"),
        ));
    }
    for (i, pin) in field_list(manifest, "packages").iter().enumerate() {
        let Some((_, version)) = pin.split_once("==") else {
            continue;
        };
        if let Some((_, local)) = version.split_once('+')
            && local.starts_with("cu")
            && local != tag
        {
            out.push(error(
                &format!("packages[{i}]"),
                format!("'{pin}' is built for {local}, but cuda_version {cuda} needs +{tag}"),
            ));
        }
    }
    out
}
