//! `jrt validate`: manifests checked by jrt and by the family plugins, errors naming file,
//! field and reason.

mod common;

use predicates::prelude::*;

fn runtime(dir: &std::path::Path, name: &str, manifest: &str) {
    std::fs::create_dir_all(dir.join(name)).unwrap();
    std::fs::write(dir.join(name).join("manifest.yaml"), manifest).unwrap();
}

fn jrt(work: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = common::jrt_in(work, work);
    cmd.current_dir(work);
    cmd
}

#[test]
fn good_manifests_pass() {
    let work = tempfile::tempdir().unwrap();
    let rts = work.path().join("runtimes");
    runtime(
        &rts,
        "python-3.11",
        "name: python-3.11\nversion: 1.3.4\nfamily: [python]\npython_version: 3.11.7\npackages: [pip==23.3.1]\nplatforms: [ubuntu-amd64, rhel-arm64]\n",
    );
    runtime(
        &rts,
        "python-3.11-pytorch-cuda",
        "name: python-3.11-pytorch-cuda\nversion: 1.3.5\nfamily: [python, cuda]\npython_version: 3.11.7\ncuda_version: 11.8.0\npackages: [torch==2.1.0+cu118]\nplatforms: [ubuntu-amd64]\n",
    );
    jrt(work.path())
        .arg("validate")
        .assert()
        .success()
        .stdout(predicate::str::contains("2 runtime(s) valid"));
    jrt(work.path())
        .args(["validate", "runtimes/python-3.11"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 runtime(s) valid"));
}

#[test]
fn problems_name_file_field_and_reason() {
    let work = tempfile::tempdir().unwrap();
    let rts = work.path().join("runtimes");
    runtime(
        &rts,
        "openjdk-21",
        "name: openjdk-22\nversion: '1.3'\nfamily: [jdk]\nplatforms: [ubuntu-amd64, windows-amd64]\n",
    );
    runtime(
        &rts,
        "node-20",
        "name: node-20\nversion: 1.0.0\nfamily: [node]\nplatforms: [ubuntu-amd64]\n",
    );
    runtime(&rts, "broken", "name: [not, a, string]\n");
    let out = jrt(work.path())
        .args(["--json", "validate"])
        .assert()
        .code(1);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let found: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["field"].as_str().unwrap().to_string(),
                p["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let has = |field: &str, text: &str| found.iter().any(|(f, m)| f == field && m.contains(text));
    assert!(
        has("name", "differs from its directory name 'openjdk-21'"),
        "{found:?}"
    );
    assert!(has("version", "not a semantic version"), "{found:?}");
    assert!(
        has("platforms[1]", "unknown platform 'windows-amd64'"),
        "{found:?}"
    );
    assert!(
        has("family", "no plugin serves the family 'node'"),
        "{found:?}"
    );
    assert!(has("name", "must be a string"), "{found:?}");
    for p in v.as_array().unwrap() {
        assert!(p["file"].as_str().unwrap().ends_with("manifest.yaml"));
    }
}

#[test]
fn the_upstream_manifests_validate_with_their_inferred_families() {
    let work = tempfile::tempdir().unwrap();
    let rts = work.path().join("runtimes");
    std::fs::create_dir(&rts).unwrap();
    for entry in std::fs::read_dir(common::testdata().join("upstream/manifests")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        runtime(&rts, &name, &std::fs::read_to_string(&path).unwrap());
    }
    // python_version gives python (and cuda_version adds cuda), java_version gives jdk:
    // each family plugin then checks the manifest as its own.
    jrt(work.path())
        .arg("validate")
        .assert()
        .success()
        .stdout(predicate::str::contains("5 runtime(s) valid"));
    // One with neither keeps the clear error.
    runtime(&rts, "mystery", "name: mystery\nversion: 1.0.0\n");
    jrt(work.path())
        .arg("validate")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "mystery/manifest.yaml: family: names no runtime family",
        ));
}

#[test]
fn the_cuda_plugin_checks_the_torch_tag() {
    let work = tempfile::tempdir().unwrap();
    let rts = work.path().join("runtimes");
    runtime(
        &rts,
        "python-3.11-pytorch-cuda",
        "name: python-3.11-pytorch-cuda\nversion: 1.3.5\nfamily: [python, cuda]\ncuda_version: 12.1.0\npackages: [torch==2.1.0+cu118]\nplatforms: [ubuntu-amd64]\n",
    );
    jrt(work.path())
        .arg("validate")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("packages[0]: 'torch==2.1.0+cu118' is built for cu118, but cuda_version 12.1.0 needs +cu121 [cuda]"));
}
