//! The jdk family's manifest checks: `java_version` names a Java release (21, 21.0.1), and a
//! GraalVM runtime (`graalvm_version` set) lists `native-image` among its components; the
//! pinned JDK builds are `URL#sha256=<hex>` per architecture.

use jrt_plugin_kit::layout::pinned_url;
use jrt_plugin_kit::manifest::{error, field};
use jrt_plugin_kit::probes::{field_list, field_text};
use jrt_plugin_kit::types::{Diagnostic, FieldValue, Manifest};

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
    if let Some(value) = field(manifest, "allow_host_jdk")
        && !matches!(value, FieldValue::Boolean(_))
    {
        out.push(error("allow_host_jdk", "must be true or false".into()));
    }
    match field(manifest, "jdk_builds") {
        None => {}
        Some(FieldValue::TextMap(builds)) => {
            for (arch, pinned) in builds {
                if arch != "amd64" && arch != "arm64" {
                    out.push(error(
                        &format!("jdk_builds.{arch}"),
                        "is not an architecture (amd64 or arm64)".into(),
                    ));
                }
                if let Err(e) = pinned_url(pinned) {
                    out.push(error(&format!("jdk_builds.{arch}"), e));
                }
            }
        }
        Some(_) => out.push(error(
            "jdk_builds",
            "must map architectures (amd64, arm64) to URL#sha256=<hex>".into(),
        )),
    }
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
