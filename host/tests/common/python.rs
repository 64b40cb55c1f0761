//! Python inputs the tests make from the host's own CPython (the build machine has 3.11.7):
//! wheels (written with the host's `zipfile`, so the tests need no zip crate), the sha256 of
//! the wheels ensurepip bundles, and a python-build-standalone `install_only` archive of the
//! host interpreter, to stand in for the real build behind a mirror.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the host's `python3 -I -c script args...` and returns what it printed.
fn python(script: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new("python3")
        .args(["-I", "-c", script])
        .args(args)
        .output()
        .expect("these tests need the host's python3 (CPython), as the build machine has");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The version of the host's `python3`, the interpreter the python family may reuse.
pub fn host_version() -> String {
    python("import platform; print(platform.python_version())", &[])
        .trim()
        .to_string()
}

/// Writes a minimal wheel `<name>-<version>-py3-none-any.whl` into `dir`: the package
/// `<module>` whose `__init__.py` is `init`, depending on `requires`. Returns its sha256.
pub fn wheel(
    dir: &Path,
    name: &str,
    version: &str,
    module: &str,
    init: &str,
    requires: &[&str],
) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let script = r#"
import base64, hashlib, sys, zipfile
wheel, name, version, module, init, requires = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]
dist = f"{name.replace('-', '_')}-{version}.dist-info"
meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
files = {
    f"{module}/__init__.py": init.encode(),
    f"{dist}/METADATA": meta.encode(),
    f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: jrt-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = ""
for path, data in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record += f"{path},sha256={digest},{len(data)}\n"
record += f"{dist}/RECORD,,\n"
files[f"{dist}/RECORD"] = record.encode()
with zipfile.ZipFile(wheel, "w") as z:
    for path, data in files.items():
        z.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), data)
"#;
    let file = dir.join(format!(
        "{}-{version}-py3-none-any.whl",
        name.replace('-', "_")
    ));
    let mut args: Vec<&std::ffi::OsStr> = vec![
        file.as_os_str(),
        name.as_ref(),
        version.as_ref(),
        module.as_ref(),
        init.as_ref(),
    ];
    args.extend(requires.iter().map(std::ffi::OsStr::new));
    python(script, &args);
    jrt_fs::sha256_hex(&std::fs::read(&file).unwrap())
}

/// The wheels ensurepip bundles with the host's python: (file name, sha256).
pub fn bundled_wheels() -> Vec<(String, String)> {
    let listed = python(
        "import ensurepip, glob, os\n\
         for w in sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled', '*.whl'))): print(w)",
        &[],
    );
    listed
        .lines()
        .map(|path| {
            let name = Path::new(path).file_name().unwrap().to_string_lossy();
            let bytes = std::fs::read(path).unwrap();
            (name.into_owned(), jrt_fs::sha256_hex(&bytes))
        })
        .collect()
}

/// The host interpreter packed as python-build-standalone packs an `install_only` build:
/// `python/bin/pythonX.Y` (and its `python3` link), `python/lib/pythonX.Y` without the
/// host's site-packages, tests, bytecode and build configuration, and `libpythonX.Y.so` when
/// the interpreter links it. Written to `out`; returns the archive's sha256.
pub fn standalone_build(out: &Path) -> String {
    let facts = python(
        "import sys, sysconfig\n\
         print(sys.base_prefix)\n\
         print(f'{sys.version_info[0]}.{sys.version_info[1]}')\n\
         print(sysconfig.get_config_var('INSTSONAME') if sysconfig.get_config_var('Py_ENABLE_SHARED') else '')",
        &[],
    );
    let mut lines = facts.lines();
    let prefix = PathBuf::from(lines.next().unwrap());
    let minor = lines.next().unwrap().to_string();
    let shared = lines.next().unwrap_or_default().to_string();
    let mut members = vec![
        format!("bin/python{minor}"),
        "bin/python3".to_string(),
        format!("lib/python{minor}"),
    ];
    if !shared.is_empty() {
        members.push(format!("lib/{shared}"));
    }
    let status = Command::new("tar")
        .args(["-I", "gzip -1", "-cf"])
        .arg(out)
        .arg("-C")
        .arg(&prefix)
        // Into python/, the links' targets left as they are.
        .args(["--transform", "s,^,python/,S"])
        .args([
            "--exclude=site-packages",
            "--exclude=test",
            "--exclude=tests",
            "--exclude=__pycache__",
            "--exclude=idlelib",
            "--exclude=config-*",
        ])
        .args(&members)
        .status()
        .unwrap();
    assert!(status.success(), "packing {}", prefix.display());
    jrt_fs::sha256_hex(&std::fs::read(out).unwrap())
}

/// The catalog's python-build-standalone URL for the host's architecture, below
/// `https://github.com/` (a test's [`standalone_build`] stands in for it, pinned by the
/// manifest with its own sha256).
pub fn standalone_path(version: &str) -> String {
    let arch = if cfg!(target_arch = "aarch64") {
        "aarch64"
    } else {
        "x86_64"
    };
    format!(
        "indygreg/python-build-standalone/releases/download/20240107/\
         cpython-{version}+20240107-{arch}-unknown-linux-gnu-install_only.tar.gz"
    )
}

/// A wheel directory in `d` holding PyPI's real wheels of upstream python-3.11's pins
/// (testdata/pip/wheels), for `PIP_FIND_LINKS`.
pub fn wheel_dir(d: &Path) -> PathBuf {
    let wheels = d.join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    for entry in std::fs::read_dir(crate::common::testdata().join("pip/wheels"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(entry.path(), wheels.join(entry.file_name())).unwrap();
    }
    wheels
}
