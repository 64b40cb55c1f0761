//! The jdk family's manifest checks: `java_version` names a Java release (21, 21.0.1), and a
//! GraalVM runtime (`graalvm_version` set) lists `native-image` among its components; the
//! pinned JDK builds are `URL#sha256=<hex>` per architecture.

use jrt_plugin_kit::layout::source_diagnostics;
use jrt_plugin_kit::manifest::error;
use jrt_plugin_kit::probes::{field_list, field_text};
use jrt_plugin_kit::types::{Diagnostic, Manifest};

pub fn diagnostics(manifest: &Manifest) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    match field_text(manifest, "java_version") {
        None => out.push(error(
            "java_version",
            "is missing; the jdk family needs the Java release (such as 21.0.1)".into(),
        )),
        Some(v)
            if !v
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            out.push(error(
                "java_version",
                format!("'{v}' is not a Java version such as 21.0.1"),
            ))
        }
        Some(_) => {}
    }
    out.extend(source_diagnostics(manifest, "allow_host_jdk", "jdk_builds"));
    if field_text(manifest, "graalvm_version").is_some()
        && !field_list(manifest, "components").contains(&"native-image")
    {
        out.push(error(
            "components",
            "a GraalVM runtime must list native-image".into(),
        ));
    }
    out
}
