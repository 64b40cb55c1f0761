//! Manifest checks every family shares: the name, the version and the platform list.

use crate::platform::PLATFORM_IDS;
use crate::types::{Diagnostic, FieldValue, Manifest, Severity};

/// Whether `name` matches `^[a-z0-9][a-z0-9.-]*$`.
pub fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// Whether `version` is a semantic version (`MAJOR.MINOR.PATCH[-pre][+build]`).
pub fn is_semver(version: &str) -> bool {
    let (rest, build) = match version.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (version, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let numeric = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    let ident = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| numeric(p))
        && pre.is_none_or(ident)
        && build.is_none_or(ident)
}

/// Finds a top-level field by key.
pub fn field<'a>(manifest: &'a Manifest, key: &str) -> Option<&'a FieldValue> {
    manifest
        .fields
        .iter()
        .find(|f| f.key == key)
        .map(|f| &f.value)
}

/// An error-severity diagnostic about `field`.
pub fn error(field: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        field: field.to_string(),
        message,
    }
}

/// The checks every family runs on a manifest.
pub fn common_diagnostics(manifest: &Manifest) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if !is_valid_name(&manifest.name) {
        out.push(error(
            "name",
            format!(
                "'{}' is not a valid runtime name (lower-case letters, digits, '.' and '-', \
                 starting with a letter or digit)",
                manifest.name
            ),
        ));
    }
    if !is_semver(&manifest.version) {
        out.push(error(
            "version",
            format!(
                "'{}' is not a semantic version such as 1.3.4",
                manifest.version
            ),
        ));
    }
    if manifest.platforms.is_empty() {
        out.push(error(
            "platforms",
            "lists no platform; name at least one of ".to_string() + &PLATFORM_IDS.join(", "),
        ));
    }
    for (i, p) in manifest.platforms.iter().enumerate() {
        if !PLATFORM_IDS.contains(&p.as_str()) {
            out.push(error(
                &format!("platforms[{i}]"),
                format!(
                    "unknown platform '{p}'; known platforms: {}",
                    PLATFORM_IDS.join(", ")
                ),
            ));
        }
    }
    if manifest.families.is_empty() {
        out.push(error(
            "family",
            "names no runtime family (such as python, jdk or cuda)".to_string(),
        ));
    }
    out
}
