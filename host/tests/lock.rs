//! Lock files through the CLI: `jrt lock` for chosen platforms or every one offered,
//! `jrt install --locked` installing exactly what the lock says whatever the registries now
//! hold, and `jrt sync --prune` converging a root with an extra and a missing runtime.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/tarball.rs"]
mod tarball;

use serde_json::Value;

#[test]
fn a_lock_pins_every_platform_and_nodes_converge_on_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let registry = packages::publish_prebuilt(d, &[("rt-a", "1.0.0"), ("rt-b", "1.0.0")]);
    // Lock files are named relative to the directory jrt runs in.
    let jrt = || {
        let mut cmd = common::jrt_in(d, &registry);
        cmd.current_dir(d);
        cmd
    };

    jrt()
        .args([
            "lock",
            "rt-a@^1.0",
            "--platform",
            "ubuntu-amd64",
            "--platform",
            "rhel-arm64",
        ])
        .assert()
        .success();
    let text = std::fs::read_to_string(d.join("jrt.lock")).unwrap();
    let lock: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(lock["lock_version"], 1);
    let a = &lock["runtimes"]["rt-a"];
    assert_eq!(a["version"], "1.0.0");
    assert_eq!(a["requested"], "^1.0");
    assert_eq!(a["registry"], registry.display().to_string());
    let platforms: Vec<&String> = a["platforms"].as_object().unwrap().keys().collect();
    assert_eq!(platforms, ["rhel-arm64", "ubuntu-amd64"]);
    let sha = packages::sha256(&std::fs::read(d.join("rt-a-1.0.0.tar.gz")).unwrap());
    assert_eq!(
        a["platforms"]["rhel-arm64"]["checksum"],
        format!("sha256:{sha}")
    );
    // Stable: the same lock again is the same bytes.
    jrt()
        .args([
            "lock",
            "rt-a@^1.0",
            "--platform",
            "rhel-arm64",
            "--platform",
            "ubuntu-amd64",
        ])
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(d.join("jrt.lock")).unwrap(), text);
    // Without --platform: every platform the runtime offers.
    jrt()
        .args(["lock", "rt-a", "-o", "all.lock"])
        .assert()
        .success();
    let all: Value = serde_json::from_slice(&std::fs::read(d.join("all.lock")).unwrap()).unwrap();
    assert_eq!(
        all["runtimes"]["rt-a"]["platforms"]
            .as_object()
            .unwrap()
            .len(),
        6
    );

    // The registry moves on; the lock does not: install --locked takes 1.0.0, not 1.1.0.
    packages::publish_prebuilt(
        d,
        &[("rt-a", "1.0.0"), ("rt-a", "1.1.0"), ("rt-b", "1.0.0")],
    );
    jrt()
        .args([
            "install",
            "--locked",
            "jrt.lock",
            "--platform",
            "ubuntu-amd64",
        ])
        .assert()
        .success();
    assert!(d.join("root/rt-a/1.0.0").is_dir());
    assert!(!d.join("root/rt-a/1.1.0").exists());
    // A platform the lock does not list: one error naming what it does.
    jrt()
        .args([
            "install",
            "--locked",
            "jrt.lock",
            "--platform",
            "amzn-arm64",
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "no package for platform amzn-arm64",
        ))
        .stderr(predicates::str::contains("rhel-arm64, ubuntu-amd64"));

    // sync: a node with an extra runtime and without the locked one converges.
    let node = d.join("node");
    std::fs::create_dir_all(&node).unwrap();
    let at_node = || {
        let mut cmd = common::jrt_in(&node, &registry);
        cmd.current_dir(d);
        cmd
    };
    at_node().args(["install", "rt-b"]).assert().success();
    let out = at_node()
        .args(["--json", "sync", "jrt.lock", "--prune"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let synced: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        synced["installed"],
        serde_json::json!(["rt-a@1.0.0"]),
        "{synced}"
    );
    assert_eq!(
        synced["removed"],
        serde_json::json!(["rt-b@1.0.0"]),
        "{synced}"
    );
    assert!(node.join("root/rt-a/1.0.0").is_dir() && !node.join("root/rt-b").exists());
    at_node()
        .args(["sync", "jrt.lock", "--prune"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "0 installed, 1 already there, 0 removed",
        ));

    // A lock whose checksum was changed installs nothing.
    let tampered = text.replace(&sha, &"0".repeat(64));
    std::fs::write(d.join("tampered.lock"), tampered).unwrap();
    let fresh = d.join("fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    let mut at_fresh = common::jrt_in(&fresh, &registry);
    at_fresh
        .current_dir(d)
        .args([
            "install",
            "--locked",
            "tampered.lock",
            "--platform",
            "ubuntu-amd64",
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains("checksum mismatch"));
    assert!(!fresh.join("root/rt-a").exists());
}
