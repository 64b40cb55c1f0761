//! Manifests, reproducible source packages, and directories of runtime sources used as a
//! registry (packed on the fly).

mod common;

use std::os::unix::fs::PermissionsExt;

use jrt_package::manifest::Manifest;
use jrt_registry::source::{Source, load_sources};
use predicates::prelude::*;

fn upstream_runtimes() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(common::testdata().join("upstream/manifests")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        std::fs::create_dir(dir.path().join(&name)).unwrap();
        std::fs::copy(&path, dir.path().join(&name).join("manifest.yaml")).unwrap();
    }
    dir
}

#[test]
fn upstream_manifests_parse() {
    let dir = upstream_runtimes();
    let m = Manifest::read_dir(&dir.path().join("python-3.11-pytorch-cuda")).unwrap();
    assert_eq!(
        (m.name.as_str(), m.version.as_str()),
        ("python-3.11-pytorch-cuda", "1.3.5")
    );
    assert_eq!(m.platforms.len(), 6);
    assert!(m.fields.iter().any(|(k, _)| k == "cuda_version"));
    assert_eq!(m.family, ["python", "cuda"]);
    let m = Manifest::read_dir(&dir.path().join("graalvmjdk-21")).unwrap();
    assert_eq!(
        m.description,
        "GraalVM CE 21 with native-image for AOT compilation"
    );
    // Inferred families, and upstream's use of the host's own interpreter or JDK kept as a
    // default the plugins narrow to the exact version; a declared family gets no default.
    let allowed = |m: &Manifest, key: &str| {
        m.fields
            .iter()
            .any(|(k, v)| k == key && *v == serde_norway::Value::Bool(true))
    };
    assert!(m.family_inferred && m.family == ["jdk"] && allowed(&m, "allow_host_jdk"));
    let m = Manifest::read_dir(&dir.path().join("python-3.11")).unwrap();
    assert!(m.family == ["python"] && allowed(&m, "allow_host_interpreter"));
    let ours = Manifest::parse(
        b"name: x\nversion: 1.0.0\nfamily: [python]\npython_version: 3.11.7\n",
        std::path::Path::new("m"),
    )
    .unwrap();
    assert!(!ours.family_inferred && !allowed(&ours, "allow_host_interpreter"));

    std::fs::write(
        dir.path().join("openjdk-21/manifest.yaml"),
        "name: openjdk-21\nplatforms: [1, 2]\n",
    )
    .unwrap();
    let e = Manifest::read_dir(&dir.path().join("openjdk-21"))
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("openjdk-21/manifest.yaml: version: is missing"),
        "{e}"
    );
}

#[test]
fn source_packages_are_byte_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let rt = dir.path().join("rt");
    std::fs::create_dir_all(rt.join("files/sub")).unwrap();
    std::fs::write(rt.join("manifest.yaml"), "name: rt\nversion: 1.0.0\n").unwrap();
    std::fs::write(rt.join("files/sub/b.txt"), "b").unwrap();
    std::fs::write(rt.join("files/a.sh"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        rt.join("files/a.sh"),
        std::fs::Permissions::from_mode(0o775),
    )
    .unwrap();
    std::os::unix::fs::symlink("sub/b.txt", rt.join("files/link")).unwrap();
    std::fs::write(rt.join(".hidden"), "not packed").unwrap();

    let pack = || {
        let mut out = Vec::new();
        jrt_package::pack::pack(
            &rt,
            &jrt_package::manifest::Manifest::read_dir(&rt).unwrap(),
            &mut out,
        )
        .unwrap();
        out
    };
    let first = pack();
    // Later mtimes, another umask's modes: the same bytes.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(rt.join("files/sub/b.txt"), "b").unwrap();
    std::fs::set_permissions(
        rt.join("files/sub/b.txt"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let second = pack();
    assert_eq!(jrt_fs::sha256_hex(&first), jrt_fs::sha256_hex(&second));

    // And it extracts with jrt's own safe extractor, one top-level directory.
    let dest = tempfile::tempdir().unwrap();
    let out = jrt_extract::extract(&first[..], dest.path(), &Default::default()).unwrap();
    assert_eq!(out.top, "rt");
    assert!(!dest.path().join(".hidden").exists());
    assert_eq!(
        std::fs::read_link(dest.path().join("files/link"))
            .unwrap()
            .to_str(),
        Some("sub/b.txt")
    );
    let mode = std::fs::metadata(dest.path().join("files/a.sh"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o755);
}

#[test]
fn a_directory_of_sources_is_a_registry() {
    let dir = upstream_runtimes();
    assert_eq!(
        Source::parse(dir.path().to_str().unwrap()).unwrap(),
        Source::Sources(dir.path().to_path_buf())
    );
    let cache = tempfile::tempdir().unwrap();
    let r = load_sources(
        "local",
        dir.path(),
        &jrt_fs::cache::Cache::new(cache.path()),
    )
    .unwrap();
    let names: Vec<&str> = r.index.runtimes.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "graalvmjdk-21",
            "openjdk-21",
            "python-3.11",
            "python-3.11-ml",
            "python-3.11-pytorch-cuda"
        ]
    );
    let e = &r.index.runtimes["python-3.11"]["1.3.4"];
    assert!(e.download_url.starts_with("file://"));
    // Packing again gives the same checksum.
    let again = load_sources(
        "local",
        dir.path(),
        &jrt_fs::cache::Cache::new(cache.path()),
    )
    .unwrap();
    assert_eq!(
        again.index.runtimes["python-3.11"]["1.3.4"].checksum,
        e.checksum
    );
}

#[test]
fn upstream_runtimes_take_their_builds_from_the_catalog_through_the_mirror() {
    // Upstream's manifests as they are: no `family` (python and jdk are inferred), no pinned
    // builds (the plugins take jrt's catalog: python-build-standalone 3.11.7, Temurin
    // 21.0.1+12), and GitHub out of reach, so a mirror directory stands in for it. This one
    // lacks the builds: one error naming the mirrored path and the URL it stands for, and
    // nothing installed.
    let dir = upstream_runtimes();
    // Upstream manifests may use an exact-version host interpreter (this machine has CPython
    // 3.11.7, and its pip would then reach for the package index); an explicit false, as a
    // fleet would write to insist on the pinned build, keeps the catalog's.
    let python = dir.path().join("python-3.11/manifest.yaml");
    let mut text = std::fs::read_to_string(&python).unwrap();
    text.push_str("allow_host_interpreter: false\n");
    std::fs::write(&python, text).unwrap();
    let work = tempfile::tempdir().unwrap();
    let mirror = work.path().join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    let jrt = || {
        let mut cmd = common::jrt_in(work.path(), dir.path());
        cmd.env(
            "JRT_MIRROR",
            format!("https://github.com/={}", mirror.display()),
        );
        cmd
    };
    jrt()
        .args(["list", "--available"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("python-3.11")
                .and(predicate::str::contains("Basic Python 3.11 runtime")),
        );
    let arch = if cfg!(target_arch = "aarch64") {
        ("aarch64", "aarch64")
    } else {
        ("x86_64", "x64")
    };
    let cases = [
        (
            "python-3.11@1.3.4",
            format!(
                "indygreg/python-build-standalone/releases/download/20240107/\
                 cpython-3.11.7+20240107-{}-unknown-linux-gnu-install_only.tar.gz",
                arch.0
            ),
        ),
        (
            "openjdk-21@1.3.1",
            format!(
                "adoptium/temurin21-binaries/releases/download/jdk-21.0.1%2B12/\
                 OpenJDK21U-jdk_{}_linux_hotspot_21.0.1_12.tar.gz",
                arch.1
            ),
        ),
    ];
    for (spec, path) in cases {
        let out = jrt().args(["install", spec]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{spec}: {stderr}");
        let decoded = path.replace("%2B", "+");
        assert!(
            stderr.contains(&format!("cannot read {}/{decoded}", mirror.display()))
                && stderr.contains(&format!("the mirror of https://github.com/{path}"))
                && stderr.contains("Nothing was installed"),
            "{spec}: {stderr}"
        );
        assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
        let name = spec.split('@').next().unwrap();
        assert!(!work.path().join("root").join(name).exists(), "{spec}");
    }
}
