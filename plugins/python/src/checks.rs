//! The python family's manifest checks: `python_version` is an exact X.Y.Z, and every entry
//! of `packages` is pinned with `==` (an unpinned runtime cannot be reproduced).

use jrt_plugin_kit::manifest::error;
use jrt_plugin_kit::probes::{field_list, field_text};
use jrt_plugin_kit::types::{Diagnostic, Manifest};

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
    for (i, pin) in field_list(manifest, "packages").iter().enumerate() {
        match pin.split_once("==") {
            Some((name, version)) if !name.trim().is_empty() && !version.trim().is_empty() => {}
            _ => out.push(error(
                &format!("packages[{i}]"),
                format!("'{pin}' is not pinned as name==version"),
            )),
        }
    }
    out
}
