//! pip, as the families that install Python packages run it: the install options every
//! runtime uses, the installation report each install writes (`--report`), and the probe and
//! parser that turn those reports into the sha256 of every installed distribution.
//!
//! Upstream manifests pin `numpy==1.26.2` without a hash. pip's report says which file it
//! installed for each distribution, pinned or pulled in, with that file's sha256
//! (`install[].download_info.archive_info.hashes.sha256`), so versions.lock can record them and
//! the runtime can be rebuilt hash-pinned. pip and setuptools come with the interpreter
//! (ensurepip's bundled wheels); their sha256 is that of the bundled wheel of the same version.

use std::collections::BTreeMap;

use crate::types::{Probe, ProbeOutput};

/// Where a family's pip install writes its report, relative to the tree; the probe reads every
/// `pip-report-*.json` there.
pub fn report_path(family: &str) -> String {
    format!(".jrt/setup/pip-report-{family}.json")
}

/// `-I -m pip install` with the options every runtime install uses, its report written to
/// `report`, then `rest`: the runtime's own interpreter isolated from the environment, wheels
/// only (nothing is compiled on the build machine), no cache inside the tree, no bytecode (the
/// relocation step compiles it with the job's paths).
pub fn install_args<'a>(report: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "-I",
        "-m",
        "pip",
        "install",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--no-input",
        "--only-binary",
        ":all:",
        "--no-compile",
        "--report",
        report,
    ];
    args.extend_from_slice(rest);
    args
}

/// The probe's name.
pub const PROBE_HASHES: &str = "pip-hashes";

/// What the probe runs with the runtime's interpreter: every report's `install` entries, cut
/// to name, version and `download_info` (a report also carries each distribution's whole
/// metadata, long descriptions included), and the sha256 of ensurepip's bundled wheels.
const HASHES_SCRIPT: &str = r#"
import glob, hashlib, json, os
out = {"installed": [], "bundled": []}
for path in sorted(glob.glob(".jrt/setup/pip-report-*.json")):
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    for item in report.get("install") or []:
        meta = item.get("metadata") or {}
        out["installed"].append({
            "name": meta.get("name"),
            "version": meta.get("version"),
            "download_info": item.get("download_info"),
        })
try:
    import ensurepip
    bundled = os.path.join(os.path.dirname(ensurepip.__file__), "_bundled")
except ImportError:
    bundled = None
for wheel in sorted(glob.glob(os.path.join(bundled, "*.whl"))) if bundled else []:
    with open(wheel, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    out["bundled"].append({"file": os.path.basename(wheel), "sha256": digest})
print(json.dumps(out))
"#;

/// The probe that gathers the hashes, run with `python` (the runtime's interpreter).
pub fn hashes_probe(python: &str) -> Probe {
    crate::layout::probe(PROBE_HASHES, python, &["-I", "-c", HASHES_SCRIPT])
}

#[derive(serde::Deserialize)]
struct Gathered {
    #[serde(default)]
    installed: Vec<Installed>,
    #[serde(default)]
    bundled: Vec<Bundled>,
}

#[derive(serde::Deserialize)]
struct Installed {
    name: Option<String>,
    version: Option<String>,
    download_info: Option<DownloadInfo>,
}

#[derive(serde::Deserialize)]
struct DownloadInfo {
    archive_info: Option<ArchiveInfo>,
}

/// PEP 610's `archive_info`: `hashes` (newer pip) or the older single `hash` (`sha256=<hex>`).
#[derive(serde::Deserialize)]
struct ArchiveInfo {
    hashes: Option<BTreeMap<String, String>>,
    hash: Option<String>,
}

#[derive(serde::Deserialize)]
struct Bundled {
    file: String,
    sha256: String,
}

/// The sha256 of each installed distribution, by PEP 503 name and version.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Hashes {
    by_dist: BTreeMap<(String, String), String>,
}

impl Hashes {
    /// The sha256 of `name` (any spelling) at `version`, when a report or a bundled wheel
    /// names that exact version.
    pub fn get(&self, name: &str, version: &str) -> Option<&str> {
        self.by_dist
            .get(&(normalise(name), version.to_string()))
            .map(String::as_str)
    }

    /// How many distributions have a hash.
    pub fn len(&self) -> usize {
        self.by_dist.len()
    }

    /// Whether no distribution has a hash.
    pub fn is_empty(&self) -> bool {
        self.by_dist.is_empty()
    }
}

/// Reads the probe's output. No probe (a runtime without pip installs) is no hashes; a probe
/// that failed or printed something else is an error, since versions.lock would silently lose
/// them.
pub fn parse(probes: &[ProbeOutput]) -> Result<Hashes, String> {
    let Some(out) = probes.iter().find(|p| p.name == PROBE_HASHES) else {
        return Ok(Hashes::default());
    };
    if out.exit_code != Some(0) {
        return Err(format!(
            "reading pip's installation reports failed: {}",
            out.stderr.trim()
        ));
    }
    let gathered: Gathered = serde_json::from_str(out.stdout.trim())
        .map_err(|e| format!("reading pip's installation reports printed no JSON: {e}"))?;
    let mut hashes = Hashes::default();
    // The interpreter's own wheels first: a report that installed the same version wins.
    for b in gathered.bundled {
        let Some((name, version)) = wheel_name_version(&b.file) else {
            continue;
        };
        if let Some(sha) = sha256(&b.sha256) {
            hashes
                .by_dist
                .insert((normalise(name), version.to_string()), sha);
        }
    }
    for i in gathered.installed {
        let (Some(name), Some(version)) = (i.name, i.version) else {
            continue;
        };
        let archive = i.download_info.and_then(|d| d.archive_info);
        let sha = archive.and_then(|a| {
            a.hashes.and_then(|h| h.get("sha256").cloned()).or_else(|| {
                a.hash
                    .and_then(|h| h.strip_prefix("sha256=").map(str::to_string))
            })
        });
        if let Some(sha) = sha.as_deref().and_then(sha256) {
            hashes.by_dist.insert((normalise(&name), version), sha);
        }
    }
    Ok(hashes)
}

/// `pip-23.2.1-py3-none-any.whl` → (`pip`, `23.2.1`) (wheel names escape `-` as `_`).
fn wheel_name_version(file: &str) -> Option<(&str, &str)> {
    let stem = file.strip_suffix(".whl")?;
    let mut parts = stem.splitn(3, '-');
    Some((parts.next()?, parts.next()?))
}

/// A sha256 as 64 lower-case hex digits, or nothing.
fn sha256(text: &str) -> Option<String> {
    crate::layout::is_sha256(text).then(|| text.to_ascii_lowercase())
}

/// PEP 503 name normalisation: lower case, runs of `-_.` become `-`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}
