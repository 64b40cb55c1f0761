//! Where runtimes keep things, shared by the families that compose (cuda runs after python
//! and uses the python runtime's interpreter), and the plan-building helpers they share.
//!
//! A runtime tree holds `isolated/`, the files its Joblet mounts point into; a python runtime
//! is a prefix mounted at `/usr/local`, a JDK one mounted at `/opt/jdk`.

use crate::types::{Probe, RunProgram, SetupStep};

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

/// A `run` step.
pub fn run(program: &str, args: &[&str], timeout_seconds: u32) -> SetupStep {
    SetupStep::Run(RunProgram {
        program: program.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        env: Vec::new(),
        timeout_seconds,
    })
}

/// A probe.
pub fn probe(name: &str, program: &str, args: &[&str]) -> Probe {
    Probe {
        name: name.to_string(),
        program: program.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

/// `-I -m pip install` with the options every runtime install uses, then `rest`: the
/// runtime's own interpreter isolated from the environment, wheels only (nothing is compiled
/// on the build machine), no cache inside the tree, no bytecode (the relocation step compiles
/// it with the job's paths).
pub fn pip_install_args<'a>(rest: &[&'a str]) -> Vec<&'a str> {
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
    ];
    args.extend_from_slice(rest);
    args
}

/// A pinned download in a manifest: `URL#sha256=HEX` (pip's notation), split.
pub fn pinned_url(text: &str) -> Result<(String, String), String> {
    let (url, sha) = text
        .split_once("#sha256=")
        .ok_or_else(|| format!("'{text}' is not pinned as URL#sha256=<64 hex digits>"))?;
    let sha = sha.trim().to_ascii_lowercase();
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "'{text}' does not end in a sha256 of 64 hex digits"
        ));
    }
    if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with("file://")) {
        return Err(format!("'{url}' is not an http(s) or file URL"));
    }
    Ok((url.trim().to_string(), sha))
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
