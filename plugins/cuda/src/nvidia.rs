//! Parsers for the NVIDIA driver's own reports: `/proc/driver/nvidia/version`, the header of
//! `nvidia-smi`, and `nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap
//! --format=csv,noheader,nounits`.

use jrt_plugin_kit::types::{Accelerator, Gpu, NvidiaFacts};

/// Whether `token` looks like a driver or CUDA version (`535.129.03`, `12.2`).
fn is_dotted_version(token: &str) -> bool {
    token.contains('.')
        && token
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The driver version from `/proc/driver/nvidia/version` (`NVRM version: NVIDIA UNIX x86_64
/// Kernel Module  535.129.03  ...`, or the open module's `... Open Kernel Module for x86_64
/// 550.54.15  Release Build ...`).
pub fn driver_from_proc(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.starts_with("NVRM version:"))?;
    line["NVRM version:".len()..]
        .split_whitespace()
        .find(|t| is_dotted_version(t))
        .map(str::to_string)
}

/// The value after `label` in the `nvidia-smi` header, such as `Driver Version:`.
fn header_value(text: &str, label: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let at = line.find(label)?;
        line[at + label.len()..]
            .split_whitespace()
            .next()
            .filter(|t| is_dotted_version(t))
            .map(str::to_string)
    })
}

/// The driver version and CUDA driver API version from plain `nvidia-smi`.
pub fn versions_from_smi(text: &str) -> (Option<String>, Option<String>) {
    (
        header_value(text, "Driver Version:"),
        header_value(text, "CUDA Version:"),
    )
}

/// The GPUs from the CSV query (three or four columns: drivers before 510 have no
/// `compute_cap`). Lines that do not parse (an error message, a blank) are skipped.
pub fn gpus_from_query(text: &str) -> Vec<Gpu> {
    text.lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split(',').map(str::trim).collect();
            if cols.len() < 3 || cols[0].is_empty() {
                return None;
            }
            let memory_mib = cols[1].parse::<u64>().ok()?;
            let compute_capability = cols
                .get(3)
                .filter(|c| is_dotted_version(c))
                .map(|c| c.to_string());
            Some(Gpu {
                name: cols[0].to_string(),
                memory_mib,
                compute_capability,
            })
        })
        .collect()
}

/// The driver version the CSV query reports (its third column).
fn driver_from_query(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        line.split(',')
            .nth(2)
            .map(str::trim)
            .filter(|t| is_dotted_version(t))
            .map(str::to_string)
    })
}

/// Everything known about the NVIDIA side of the host, or none when no driver is loaded.
pub fn accelerator(facts: &NvidiaFacts) -> Option<Accelerator> {
    let (smi_driver, cuda_version) = facts
        .smi_summary
        .as_deref()
        .map(versions_from_smi)
        .unwrap_or((None, None));
    let query = facts.smi_query.as_deref().unwrap_or("");
    let driver_version = facts
        .proc_version
        .as_deref()
        .and_then(driver_from_proc)
        .or(smi_driver)
        .or_else(|| driver_from_query(query))?;
    Some(Accelerator {
        driver_version,
        cuda_version,
        gpus: gpus_from_query(query),
    })
}
