//! Where runtimes keep things, shared by the families that compose (cuda runs after python
//! and uses the python runtime's interpreter), and the plan-building helpers they share
//! (pinned builds per architecture, the host-reuse flags).
//!
//! A runtime tree holds `isolated/`, the files its Joblet mounts point into; a python runtime
//! is a prefix mounted at `/usr/local`, a JDK one mounted at `/opt/jdk`.

use crate::manifest::{error, field};
use crate::types::{
    Diagnostic, Endpoint, FieldValue, Manifest, PluginError, Probe, RunProgram, SetupStep,
};

/// The python runtime's prefix in the tree, and where jobs see it.
pub const PYTHON_PREFIX: &str = "isolated/usr/local";
pub const PYTHON_PREFIX_IN_JOB: &str = "/usr/local";
/// The python runtime's interpreter, relative to the tree.
pub const PYTHON: &str = "isolated/usr/local/bin/python3";
/// The script the python family writes that makes installed scripts and bytecode name the
/// job's paths instead of the staging tree's; families that install more packages run it
/// again afterwards.
pub const PYTHON_RELOCATE: &str = ".jrt/setup/relocate.py";

/// The JDK's home in the tree, and where jobs see it.
pub const JDK_HOME: &str = "isolated/opt/jdk";
pub const JDK_HOME_IN_JOB: &str = "/opt/jdk";

/// A `run` step without network.
pub fn run(program: &str, args: &[&str], timeout_seconds: u32) -> SetupStep {
    run_online(program, args, timeout_seconds, &[])
}

/// A `run` step that connects to `network` (`(host, port)` pairs): the host shows them, records
/// them and lets the step reach those ports only.
pub fn run_online(
    program: &str,
    args: &[&str],
    timeout_seconds: u32,
    network: &[(&str, u16)],
) -> SetupStep {
    SetupStep::Run(RunProgram {
        program: program.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        env: Vec::new(),
        timeout_seconds,
        network: network
            .iter()
            .map(|(host, port)| Endpoint {
                host: host.to_string(),
                port: *port,
            })
            .collect(),
    })
}

/// The Python package index, where pip fetches the pinned wheels.
pub const PYPI: [(&str, u16); 2] = [("pypi.org", 443), ("files.pythonhosted.org", 443)];

/// A probe.
pub fn probe(name: &str, program: &str, args: &[&str]) -> Probe {
    Probe {
        name: name.to_string(),
        program: program.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

/// Whether `text` is a sha256 written as 64 hex digits (of either case).
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A pinned download in a manifest: `URL#sha256=HEX` (pip's notation), split.
pub fn pinned_url(text: &str) -> Result<(String, String), String> {
    let (url, sha) = text
        .split_once("#sha256=")
        .ok_or_else(|| format!("'{text}' is not pinned as URL#sha256=<64 hex digits>"))?;
    let sha = sha.trim().to_ascii_lowercase();
    if !is_sha256(&sha) {
        return Err(format!(
            "'{text}' does not end in a sha256 of 64 hex digits"
        ));
    }
    if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with("file://")) {
        return Err(format!("'{url}' is not an http(s) or file URL"));
    }
    Ok((url.trim().to_string(), sha))
}

/// Whether the manifest sets the flag `key` (such as `allow_host_jdk`) to true.
pub fn allowed(manifest: &Manifest, key: &str) -> bool {
    matches!(field(manifest, key), Some(FieldValue::Boolean(true)))
}

/// The pinned build for `arch` from a `{amd64: URL#sha256=HEX, arm64: ...}` field `key`
/// (`python_builds`, `jdk_builds`): `(url, sha256)`, none when the field or the arch is absent.
pub fn pinned_build(
    manifest: &Manifest,
    key: &str,
    arch: &str,
) -> Result<Option<(String, String)>, PluginError> {
    let Some(FieldValue::TextMap(builds)) = field(manifest, key) else {
        return Ok(None);
    };
    builds
        .iter()
        .find(|(a, _)| a == arch)
        .map(|(_, pinned)| {
            pinned_url(pinned).map_err(|e| PluginError::InvalidInput(format!("{key}.{arch}: {e}")))
        })
        .transpose()
}

/// The checks of a family's "where it comes from" fields: the flag `allow_key` is a boolean,
/// and `builds_key` maps known architectures to pinned URLs.
pub fn source_diagnostics(
    manifest: &Manifest,
    allow_key: &str,
    builds_key: &str,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Some(value) = field(manifest, allow_key)
        && !matches!(value, FieldValue::Boolean(_))
    {
        out.push(error(allow_key, "must be true or false".into()));
    }
    match field(manifest, builds_key) {
        None => {}
        Some(FieldValue::TextMap(builds)) => {
            for (arch, pinned) in builds {
                let at = format!("{builds_key}.{arch}");
                if arch != "amd64" && arch != "arm64" {
                    out.push(error(&at, "is not an architecture (amd64 or arm64)".into()));
                }
                if let Err(e) = pinned_url(pinned) {
                    out.push(error(&at, e));
                }
            }
        }
        Some(_) => out.push(error(
            builds_key,
            "must map architectures (amd64, arm64) to URL#sha256=<hex>".into(),
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_urls_split_and_bad_ones_are_named() {
        let sha = "4a51ce60007a6facf64e5495f4cf322e311ba9f39a8cd3f3e4c026eae488e140";
        let (url, got) = pinned_url(&format!("https://x/p.tar.gz#sha256={sha}")).unwrap();
        assert_eq!((url.as_str(), got.as_str()), ("https://x/p.tar.gz", sha));
        assert!(
            pinned_url("https://x/p.tar.gz")
                .unwrap_err()
                .contains("not pinned")
        );
        assert!(
            pinned_url("https://x/p#sha256=abc")
                .unwrap_err()
                .contains("64 hex")
        );
        assert!(
            pinned_url(&format!("ftp://x#sha256={sha}"))
                .unwrap_err()
                .contains("not an http")
        );
    }
}
