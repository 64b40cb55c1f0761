//! Finds the host's Python interpreters and JDKs, which a family may reuse for a runtime when
//! its manifest allows (`python_host: allowed`, `jdk_host: allowed`).
//!
//! The host runs them, not the plugins: each found interpreter becomes a `host-facts.tools`
//! entry (`host-python`, `host-java`) that the plugins parse, and its own files become the
//! only host paths outside the system library directories that a plan may copy from.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jrt_plugin_host::types::ProbeOutput;

/// What a host interpreter reports about itself; printed as one JSON object.
const PYTHON_REPORT: &str = r#"
import json, os, sys, sysconfig
v = sys.version_info
version = "%d.%d.%d" % (v.major, v.minor, v.micro)
if v.releaselevel != "final":
    version += {"alpha": "a", "beta": "b", "candidate": "rc"}.get(v.releaselevel, "?") + str(v.serial)
cfg = sysconfig.get_config_var
print(json.dumps({
    "version": version,
    "implementation": sys.implementation.name,
    "executable": os.path.realpath(sys.executable),
    "prefix": sys.base_prefix,
    "stdlib": sysconfig.get_path("stdlib"),
    "libdir": cfg("LIBDIR") or "",
    "soname": cfg("INSTSONAME") or "",
    "shared": bool(cfg("Py_ENABLE_SHARED")),
    "multiarch": cfg("MULTIARCH") or "",
}))
"#;

/// How long one interpreter may take to describe itself.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The interpreters found, and the host paths plans may copy from because of them.
#[derive(Debug, Default, Clone)]
pub struct Found {
    pub tools: Vec<ProbeOutput>,
    /// Directory prefixes (ending in `/`) and exact file paths.
    pub copy_allowed: Vec<String>,
}

/// Probes the interpreters on `PATH` (`python3`, `python3.N`, `java`), `$JAVA_HOME` and the
/// JDKs under `/usr/lib/jvm`. Programs that fail or print nonsense are left out.
pub fn probe() -> Found {
    let mut found = Found::default();

    let mut names = vec!["python3".to_string()];
    names.extend((6..=15).map(|minor| format!("python3.{minor}")));
    let mut seen = Vec::new();
    for name in names {
        let Some(program) = super::find_in_path(&name) else {
            continue;
        };
        let Some(out) = run(&program, &["-I", "-S", "-c", PYTHON_REPORT]) else {
            continue;
        };
        let Ok(report) = serde_json::from_str::<serde_json::Value>(&out.stdout) else {
            continue;
        };
        let executable = report["executable"].as_str().unwrap_or("").to_string();
        if executable.is_empty() || seen.contains(&executable) {
            continue;
        }
        seen.push(executable.clone());
        found.copy_allowed.push(executable);
        if let Some(stdlib) = report["stdlib"].as_str().filter(|s| s.starts_with('/')) {
            found
                .copy_allowed
                .push(format!("{}/", stdlib.trim_end_matches('/')));
        }
        // A shared build's libpython (pyenv's `--enable-shared`), which copy-libraries takes
        // from the interpreter's own RUNPATH: exactly that file, and the file it links to.
        if report["shared"].as_bool() == Some(true)
            && let (Some(libdir), Some(soname)) =
                (report["libdir"].as_str(), report["soname"].as_str())
            && libdir.starts_with('/')
            && !soname.is_empty()
            && !soname.contains('/')
        {
            let lib = Path::new(libdir).join(soname);
            if let Ok(real) = lib.canonicalize() {
                found.copy_allowed.push(real.display().to_string());
            }
            found.copy_allowed.push(lib.display().to_string());
        }
        found.tools.push(ProbeOutput {
            name: "host-python".into(),
            ..out
        });
    }

    let mut javas: Vec<PathBuf> = Vec::new();
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        javas.push(Path::new(&home).join("bin/java"));
    }
    javas.extend(super::find_in_path("java"));
    if let Ok(entries) = std::fs::read_dir("/usr/lib/jvm") {
        let mut more: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path().join("bin/java"))
            .collect();
        more.sort();
        javas.extend(more);
    }
    let mut homes = Vec::new();
    for java in javas {
        let Ok(real) = java.canonicalize() else {
            continue;
        };
        if seen.contains(&real.display().to_string()) {
            continue;
        }
        seen.push(real.display().to_string());
        let Some(out) = run(&real, &["-XshowSettings:properties", "-version"]) else {
            continue;
        };
        let Some(home) = out
            .stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("java.home = "))
            .map(|h| h.trim().to_string())
            .filter(|h| h.starts_with('/'))
        else {
            continue;
        };
        if homes.contains(&home) {
            continue;
        }
        homes.push(home.clone());
        found
            .copy_allowed
            .push(format!("{}/", home.trim_end_matches('/')));
        found.tools.push(ProbeOutput {
            name: "host-java".into(),
            ..out
        });
    }
    found
}

/// Runs `program args`; `None` when it cannot start, times out or does not exit 0.
fn run(program: &Path, args: &[&str]) -> Option<ProbeOutput> {
    let ran = super::run_timed(program, args, TIMEOUT)?;
    Some(ProbeOutput {
        name: program.display().to_string(),
        exit_code: ran.code,
        stdout: ran.stdout,
        stderr: ran.stderr,
    })
}
