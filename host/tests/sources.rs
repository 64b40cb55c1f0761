//! Manifests, reproducible source packages, and directories of runtime sources used as a
//! registry (packed on the fly).

mod common;

use std::os::unix::fs::PermissionsExt;

use jrt::manifest::Manifest;
use jrt::registry::source::{Source, load_sources};
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
    let m = Manifest::read_dir(&dir.path().join("graalvmjdk-21")).unwrap();
    assert_eq!(
        m.description,
        "GraalVM CE 21 with native-image for AOT compilation"
    );

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
        jrt::pack::pack(
            &rt,
            &jrt::manifest::Manifest::read_dir(&rt).unwrap(),
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
    assert_eq!(
        jrt::fsutil::sha256_hex(&first),
        jrt::fsutil::sha256_hex(&second)
    );

    // And it extracts with jrt's own safe extractor, one top-level directory.
    let dest = tempfile::tempdir().unwrap();
    let out = jrt::extract::extract(&first[..], dest.path(), &Default::default()).unwrap();
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
    let r = load_sources("local", dir.path(), cache.path()).unwrap();
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
    let again = load_sources("local", dir.path(), cache.path()).unwrap();
    assert_eq!(
        again.index.runtimes["python-3.11"]["1.3.4"].checksum,
        e.checksum
    );
}

#[test]
fn an_upstream_runtime_is_given_its_family_and_refused_without_an_interpreter_to_use() {
    // No `family`: python is inferred from python_version, and the python plugin says what
    // it lacks (no host interpreter allowed, no pinned build for this architecture).
    let dir = upstream_runtimes();
    let work = tempfile::tempdir().unwrap();
    let jrt = || common::jrt_in(work.path(), dir.path());
    jrt()
        .args(["list", "--available"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("python-3.11")
                .and(predicate::str::contains("Basic Python 3.11 runtime")),
        );
    jrt()
        .args(["install", "python-3.11"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains(
                "python-3.11@1.3.4: setup failed: plugin python: plan-setup: python-3.11 needs \
                 CPython 3.11.7",
            )
            .and(predicate::str::contains(
                "python_builds has no pinned build",
            ))
            .and(predicate::str::contains("Nothing was installed")),
        );
    assert!(!work.path().join("root/python-3.11/1.3.4").exists());
}
