//! What a python runtime really contains, from its probes: the interpreter's version (which
//! must equal the manifest's `python_version`: never label 3.12 as 3.11) and its installed
//! distributions (every pin in `packages` must be there at exactly its version), each with the
//! sha256 of the file it was installed from where pip's reports say it
//! ([`jrt_plugin_kit::pip`]).

use jrt_plugin_kit::pip;
use jrt_plugin_kit::probes::{field_list, field_text, probe, text};
use jrt_plugin_kit::types::{LockedPackage, Manifest, PluginError, ProbeOutput, VersionLock};

/// `<runtime python> --version`.
pub const PROBE_VERSION: &str = "python-version";
/// `<runtime python> -m pip list --format=json`, run with the runtime's own interpreter.
pub const PROBE_PACKAGES: &str = "pip-list";

#[derive(serde::Deserialize)]
struct Dist {
    name: String,
    version: String,
}

pub use jrt_plugin_kit::pip::normalise;

/// `Python 3.11.7` → `3.11.7`.
pub fn parse_version(output: &str) -> Option<String> {
    let v = output.trim().strip_prefix("Python ")?.trim();
    let ok = !v.is_empty()
        && v.split('.').count() >= 2
        && v.chars().next().is_some_and(|c| c.is_ascii_digit());
    ok.then(|| v.to_string())
}

/// Builds the version lock from the probes, checking it against the manifest.
pub fn capture(manifest: &Manifest, probes: &[ProbeOutput]) -> Result<VersionLock, PluginError> {
    let version_out = text(probe(probes, PROBE_VERSION)?);
    let version = parse_version(version_out).ok_or_else(|| {
        PluginError::InvalidInput(format!(
            "cannot read a Python version from '{}'",
            version_out.trim()
        ))
    })?;
    if let Some(want) = field_text(manifest, "python_version")
        && want != version
    {
        return Err(PluginError::Unsatisfiable(format!(
            "the runtime's interpreter is Python {version}, but {} says python_version {want}; \
             refusing to label it {want}",
            manifest.name
        )));
    }

    let listed = &probe(probes, PROBE_PACKAGES)?.stdout;
    let dists: Vec<Dist> = serde_json::from_str(listed).map_err(|e| {
        PluginError::InvalidInput(format!("pip list did not print its JSON list: {e}"))
    })?;
    let hashes = pip::parse(probes).map_err(PluginError::InvalidInput)?;
    let mut packages: Vec<LockedPackage> = dists
        .into_iter()
        .map(|d| LockedPackage {
            kind: "pypi".into(),
            name: normalise(&d.name),
            sha256: hashes.get(&d.name, &d.version).map(str::to_string),
            version: d.version,
        })
        .collect();
    packages.sort_by(|a, b| a.name.cmp(&b.name));

    let mut problems = Vec::new();
    for pin in field_list(manifest, "packages") {
        // `name==version [--hash=…]`
        let requirement = pin.split_whitespace().next().unwrap_or("");
        let Some((name, want)) = requirement.split_once("==") else {
            problems.push(format!("'{pin}' is not pinned with =="));
            continue;
        };
        let name = normalise(name.trim());
        match packages.iter().find(|p| p.name == name) {
            Some(p) if p.version == want.trim() => {}
            Some(p) => problems.push(format!(
                "{name} is {}, the manifest pins {}",
                p.version,
                want.trim()
            )),
            None => problems.push(format!("{name} is not installed (pinned {})", want.trim())),
        }
    }
    if !problems.is_empty() {
        return Err(PluginError::Unsatisfiable(format!(
            "the runtime does not hold the pinned packages: {}",
            problems.join("; ")
        )));
    }
    Ok(VersionLock {
        components: vec![("python".into(), version)],
        packages,
        notes: vec![],
    })
}
