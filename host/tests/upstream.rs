//! Joblet's official registry as it is: upstream's runtime directories (testdata/upstream)
//! packed exactly as upstream's release workflow packs them, served from 127.0.0.1 behind a
//! copy of upstream's registry.json, installed through jrt's plugins with their setup scripts
//! never run; the interpreter and JDK builds they need come through a mirror, since GitHub is
//! out of reach, and pip finds the packages in a local wheel directory.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/python.rs"]
mod python;
#[path = "common/server.rs"]
mod server;
#[path = "common/tarball.rs"]
mod tarball;

use std::path::Path;
use std::process::Command;

/// What GitHub serves, under this prefix, comes from the mirror instead.
const GITHUB: &str = "https://github.com/";
/// Temurin 21.0.1's URL below [`GITHUB`] for the host's architecture.
fn temurin_path() -> String {
    let arch = if cfg!(target_arch = "aarch64") {
        "aarch64"
    } else {
        "x64"
    };
    format!(
        "adoptium/temurin21-binaries/releases/download/jdk-21.0.1%2B12/\
         OpenJDK21U-jdk_{arch}_linux_hotspot_21.0.1_12.tar.gz"
    )
}

/// The sha256 PyPI publishes for the wheels of upstream python-3.11's pins
/// (testdata/pip/wheels).
const PYPI_SHA256: [(&str, &str, &str); 3] = [
    (
        "pip",
        "23.3.1",
        "55eb67bb6171d37447e82213be585b75fe2b12b359e993773aca4de9247a052b",
    ),
    (
        "setuptools",
        "69.0.2",
        "1e8fdff6797d3865f37397be788a4e3cba233608e9b509382a2777d25ebde7f2",
    ),
    (
        "wheel",
        "0.42.0",
        "177f9c9b0d45c47873b619f5b650346d632cdc35fb5e4d25058e09c9e581433d",
    ),
];

/// Copies upstream's `runtimes/<name>` into `<to>/<name>` with two changes: every setup
/// script first leaves `marker` (so a script that ran is seen), and `edit` changes the
/// manifest (to pin the test's builds, standing in for the catalog's real ones).
fn upstream_copy(to: &Path, name: &str, marker: &Path, edit: impl Fn(String) -> String) {
    let from = common::testdata().join("upstream/runtimes").join(name);
    let dir = to.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&from).unwrap().flatten() {
        let file = entry.file_name().to_string_lossy().to_string();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let text = if file.ends_with(".sh") {
            text.replacen('\n', &format!("\ntouch '{}'\n", marker.display()), 1)
        } else if file == "manifest.yaml" {
            assert!(!text.contains("family"), "upstream names no family");
            edit(text)
        } else {
            text
        };
        std::fs::write(dir.join(&file), text).unwrap();
        let mode = std::fs::metadata(entry.path()).unwrap().permissions();
        std::fs::set_permissions(dir.join(&file), mode).unwrap();
    }
}

/// Packs `<runtimes>/<name>` exactly as upstream's release workflow does (`tar -czf
/// <name>-<version>.tar.gz -C runtimes <name>`) and returns the package's bytes.
fn pack_as_upstream(runtimes: &Path, name: &str) -> Vec<u8> {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("package.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&file)
        .arg("-C")
        .arg(runtimes)
        .arg(name)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(file).unwrap()
}

/// `(name, version, sha256)` of every package in an installed runtime's versions.lock.
fn locked_packages(tree: &Path) -> Vec<(String, String, Option<String>)> {
    let text = std::fs::read_to_string(tree.join("versions.lock")).unwrap();
    let lock: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    lock["packages"]
        .as_sequence()
        .unwrap_or_else(|| panic!("no packages in {text}"))
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
                p["sha256"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn sha_of<'a>(
    packages: &'a [(String, String, Option<String>)],
    name: &str,
    version: &str,
) -> Option<&'a str> {
    let p = packages
        .iter()
        .find(|p| p.0 == name)
        .unwrap_or_else(|| panic!("{name} is not locked: {packages:?}"));
    assert_eq!(p.1, version, "{packages:?}");
    p.2.as_deref()
}

#[test]
fn upstream_packages_from_upstreams_registry_install_with_their_scripts_never_run() {
    let version = python::host_version();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let server = server::Server::start();

    // The builds the manifests pin, at their GitHub URLs, served only by the mirror.
    let build = d.join("python.tar.gz");
    let python_sha = python::standalone_build(&build);
    let python_path = python::standalone_path(&version);
    server.put(
        &format!("mirror/{python_path}"),
        std::fs::read(&build).unwrap(),
    );
    let jdk = packages::fake_jdk();
    let jdk_sha = jrt_fs::sha256_hex(&jdk);
    server.put(&format!("mirror/{}", temurin_path()), jdk);

    // The wheels: upstream python-3.11's real pins from PyPI, and python-3.11-ml's pins as
    // small stand-ins (pandas pulls in python-dateutil, which the manifest does not list).
    let wheels = python::wheel_dir(d);
    let ml = [
        ("numpy", "1.26.2", "numpy", &[][..]),
        ("scipy", "1.11.4", "scipy", &[]),
        ("pandas", "2.1.3", "pandas", &["python-dateutil"]),
        ("scikit-learn", "1.3.2", "sklearn", &[]),
        ("matplotlib", "3.8.2", "matplotlib", &[]),
        ("seaborn", "0.13.0", "seaborn", &[]),
        ("joblib", "1.3.2", "joblib", &[]),
        ("pillow", "10.1.0", "PIL", &[]),
        ("python-dateutil", "2.8.2", "dateutil", &[]),
    ];
    let ml_sha: Vec<(&str, &str, String)> = ml
        .iter()
        .map(|(name, v, module, requires)| {
            let init = format!("__version__ = '{v}'\n");
            let sha = python::wheel(&wheels, name, v, module, &init, requires);
            (*name, *v, sha)
        })
        .collect();

    // Upstream's directories as released, packed as upstream packs them, behind a copy of
    // upstream's registry.json whose entries point at them.
    let marker = d.join("SETUP_SCRIPT_RAN");
    let upstream = d.join("upstream");
    let pin_python = |text: String| {
        format!(
            "{}\nallow_host_interpreter: false\npython_builds:\n  amd64: {GITHUB}{python_path}#sha256={python_sha}\n  \
             arm64: {GITHUB}{python_path}#sha256={python_sha}\n",
            text.replace(
                "python_version: 3.11.7",
                &format!("python_version: {version}")
            )
        )
    };
    upstream_copy(&upstream, "python-3.11", &marker, pin_python);
    upstream_copy(&upstream, "python-3.11-ml", &marker, pin_python);
    let jdk_url = format!("{GITHUB}{}", temurin_path());
    upstream_copy(&upstream, "openjdk-21", &marker, |text| {
        format!(
            "{text}\nallow_host_jdk: false\njdk_builds:\n  amd64: {jdk_url}#sha256={jdk_sha}\n  \
             arm64: {jdk_url}#sha256={jdk_sha}\n"
        )
    });
    let mut index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(common::testdata().join("upstream/registry.json")).unwrap(),
    )
    .unwrap();
    let specs = [
        ("python-3.11", "1.3.4"),
        ("python-3.11-ml", "1.3.3"),
        ("openjdk-21", "1.3.1"),
    ];
    for (name, v) in specs {
        let bytes = pack_as_upstream(&upstream, name);
        let file = format!("{name}-{v}.tar.gz");
        let entry = &mut index["runtimes"][name][v];
        assert!(entry.is_object(), "upstream's registry has {name}@{v}");
        entry["download_url"] = server.url(&file).into();
        entry["checksum"] = format!("sha256:{}", packages::sha256(&bytes)).into();
        entry["size"] = bytes.len().into();
        server.put(&file, bytes);
    }
    server.put("registry.json", serde_json::to_vec(&index).unwrap());

    let registry = server.url("registry.json");
    let jrt = || {
        let mut cmd = common::jrt_in(d, Path::new(&registry));
        cmd.env("JRT_MIRROR", format!("{GITHUB}={}", server.url("mirror/")))
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", &wheels);
        cmd
    };
    let out = jrt()
        .args([
            "install",
            "python-3.11@1.3.4",
            "python-3.11-ml@1.3.3",
            "openjdk-21@1.3.1",
            "--jobs",
            "3",
        ])
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    for (spec, family) in [
        ("python-3.11@1.3.4", "python"),
        ("python-3.11-ml@1.3.3", "python"),
        ("openjdk-21@1.3.1", "jdk"),
    ] {
        assert!(
            all.contains(&format!(
                "{spec}: upstream manifest, set up by the {family} plugin; its setup scripts \
                 are not run"
            )),
            "{all}"
        );
    }
    assert!(!marker.exists(), "a setup script ran");
    // The builds came through the mirror.
    assert_eq!(
        server.requests_for(&format!("mirror/{python_path}")).len(),
        1
    );
    assert_eq!(
        server
            .requests_for(&format!("mirror/{}", temurin_path()))
            .len(),
        1
    );

    let root = d.join("root");
    for (name, v) in specs {
        let tree = root.join(name).join(v);
        let lock = std::fs::read_to_string(tree.join("versions.lock")).unwrap();
        assert!(lock.contains("family_inferred: true"), "{lock}");
        let receipt = std::fs::read_to_string(tree.join(".jrt/receipt.json")).unwrap();
        assert!(receipt.contains("\"inferred_family\""), "{receipt}");
        // The cache entries it came from, which `jrt cache prune` keeps: its package and
        // the build its setup fetched.
        let build = if name == "openjdk-21" {
            &jdk_sha
        } else {
            &python_sha
        };
        assert!(receipt.contains(&format!("\"{build}\"")), "{receipt}");
    }

    // python-3.11: upstream's own pins, each with the sha256 PyPI publishes for its wheel.
    let py = locked_packages(&root.join("python-3.11/1.3.4"));
    for (name, v, sha) in PYPI_SHA256 {
        assert_eq!(sha_of(&py, name, v), Some(sha), "{name}");
    }
    assert!(py.iter().all(|p| p.2.is_some()), "{py:?}");

    // python-3.11-ml: every pin and the dependency pip pulled in beyond them, and pip and
    // setuptools from the interpreter's bundled wheels, with the sha256 they came from.
    let ml_tree = root.join("python-3.11-ml/1.3.3");
    let locked = locked_packages(&ml_tree);
    for (name, v, sha) in &ml_sha {
        assert_eq!(sha_of(&locked, name, v), Some(sha.as_str()), "{name}");
    }
    for (file, sha) in python::bundled_wheels() {
        let mut parts = file.split('-');
        let (name, v) = (parts.next().unwrap(), parts.next().unwrap());
        assert_eq!(sha_of(&locked, name, v), Some(sha.as_str()), "{file}");
    }
    assert_eq!(locked.len(), ml_sha.len() + 2, "{locked:?}");
    // runtime.yml as Joblet's RuntimeConfig reads it.
    let yml = std::fs::read_to_string(ml_tree.join("runtime.yml")).unwrap();
    assert!(
        yml.contains("language: python")
            && yml.contains("- numpy==1.26.2")
            && yml.contains("- python-dateutil==2.8.2"),
        "{yml}"
    );
    let jdk_lock = std::fs::read_to_string(root.join("openjdk-21/1.3.1/versions.lock")).unwrap();
    assert!(jdk_lock.contains("java: 21.0.1"), "{jdk_lock}");

    // jrt run in each, as Joblet runs them.
    let run = |name: &str, cmd: &[&str]| {
        let out = jrt().args(["run", name, "--"]).args(cmd).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "jrt run {name}: {text}");
        text
    };
    assert_eq!(
        run(
            "python-3.11",
            &[
                "python3",
                "-c",
                "import platform, pip, wheel; print(platform.python_version(), pip.__version__, wheel.__version__)"
            ]
        )
        .trim(),
        format!("{version} 23.3.1 0.42.0")
    );
    assert_eq!(
        run(
            "python-3.11-ml",
            &[
                "python3",
                "-c",
                "import numpy, sklearn, PIL, dateutil, sys; print(numpy.__version__, sys.prefix)"
            ]
        )
        .trim(),
        "1.26.2 /usr/local"
    );
    assert!(
        run("openjdk-21", &["java", "-version"]).contains("21.0.1+12"),
        "java -version"
    );
}
