//! The python family's manifest checks: `python_version` is an exact X.Y.Z; every entry of
//! `packages` is pinned to one exact version with `==` (an unpinned runtime, or a `==1.26.*`
//! prefix match, cannot be reproduced), optionally with pip's `--hash=sha256:` options; CUDA
//! builds of packages come with the cuda family; the pinned interpreter builds are
//! `URL#sha256=<hex>` per architecture.

use jrt_plugin_kit::layout::{is_sha256, source_diagnostics};
use jrt_plugin_kit::manifest::error;
use jrt_plugin_kit::probes::{field_list, field_text};
use jrt_plugin_kit::types::{Diagnostic, Manifest};

use crate::plan::is_cuda_build;

pub fn diagnostics(manifest: &Manifest) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    match field_text(manifest, "python_version") {
        None => out.push(error(
            "python_version",
            "is missing; the python family needs the exact interpreter version (such as 3.11.7)"
                .into(),
        )),
        Some(v) => {
            let parts: Vec<&str> = v.split('.').collect();
            if parts.len() != 3
                || !parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            {
                out.push(error(
                    "python_version",
                    format!("'{v}' is not an exact version such as 3.11.7"),
                ));
            }
        }
    }
    let has_cuda = manifest.families.iter().any(|f| f == "cuda");
    for (i, pin) in field_list(manifest, "packages").iter().enumerate() {
        let mut words = pin.split_whitespace();
        // A plain requirement: a package name (with extras) and an exact version, nothing pip
        // would read as an option (`-e`, `--index-url=...`).
        let name_ok = |n: &str| {
            n.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.[],".contains(&b))
        };
        // Exactly one version: `==1.26.*` is a prefix match, not a pin.
        let version_ok = |v: &str| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._+!-".contains(&b))
        };
        match words.next().and_then(|w| w.split_once("==")) {
            Some((name, version)) if name_ok(name) && version_ok(version) => {}
            _ => out.push(error(
                &format!("packages[{i}]"),
                format!("'{pin}' is not pinned as name==version"),
            )),
        }
        for option in words {
            let ok = option.strip_prefix("--hash=sha256:").is_some_and(is_sha256);
            if !ok {
                out.push(error(
                    &format!("packages[{i}]"),
                    format!(
                        "'{option}' is not a hash option such as --hash=sha256:<64 hex digits>"
                    ),
                ));
            }
        }
        if is_cuda_build(pin) && !has_cuda {
            out.push(error(
                &format!("packages[{i}]"),
                format!(
                    "'{pin}' is a CUDA build; add cuda to family so the cuda family installs it"
                ),
            ));
        }
    }
    out.extend(source_diagnostics(
        manifest,
        "allow_host_interpreter",
        "python_builds",
    ));
    out
}
