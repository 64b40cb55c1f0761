//! `jrt outdated` and `jrt upgrade` through the CLI: newer versions within what each runtime
//! was installed with, installed beside the old ones, `--prune` removing those.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/tarball.rs"]
mod tarball;

use serde_json::Value;

fn json(cmd: &mut assert_cmd::Command) -> Value {
    let out = cmd.assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
}

#[test]
fn upgrades_respect_the_request_keep_old_versions_and_prune_them_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let registry = packages::publish_prebuilt(d, &[("rt-a", "1.0.0"), ("rt-b", "1.0.0")]);
    let jrt = || common::jrt_in(d, &registry);
    jrt()
        .args(["install", "rt-a@^1.0", "rt-b@1.0.0"])
        .assert()
        .success();
    assert_eq!(
        json(jrt().args(["--json", "outdated"])),
        serde_json::json!([])
    );

    // New versions: rt-a's request allows 1.1.0 (not 2.0.0); rt-b was pinned exactly.
    packages::publish_prebuilt(
        d,
        &[
            ("rt-a", "1.0.0"),
            ("rt-a", "1.1.0"),
            ("rt-a", "2.0.0"),
            ("rt-b", "1.0.0"),
            ("rt-b", "1.1.0"),
        ],
    );
    let rows = json(jrt().args(["--json", "outdated"]));
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["name"], "rt-a");
    assert_eq!(rows[0]["installed"], "1.0.0");
    assert_eq!(rows[0]["wanted"], "1.1.0");
    assert_eq!(rows[0]["latest"], "2.0.0");
    assert_eq!(rows[0]["requested"], "^1.0");
    jrt()
        .arg("outdated")
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "rt-a 1.0.0 -> 1.1.0 (latest 2.0.0, outside ^1.0)",
        ));

    let done = json(jrt().args(["--json", "upgrade"]));
    assert_eq!(done["results"][0]["version"], "1.1.0", "{done}");
    let root = d.join("root");
    assert!(root.join("rt-a/1.0.0").is_dir(), "the old version stays");
    assert!(root.join("rt-a/1.1.0").is_dir());
    let receipt = std::fs::read_to_string(root.join("rt-a/1.1.0/.jrt/receipt.json")).unwrap();
    assert!(receipt.contains("\"requested\": \"^1.0\""), "{receipt}");
    assert_eq!(
        json(jrt().args(["--json", "outdated"])),
        serde_json::json!([])
    );

    // --prune removes the older versions once the new one is in.
    packages::publish_prebuilt(
        d,
        &[("rt-a", "1.1.0"), ("rt-a", "1.2.0"), ("rt-b", "1.0.0")],
    );
    let done = json(jrt().args(["--json", "upgrade", "rt-a", "--prune"]));
    assert_eq!(
        done["pruned"],
        serde_json::json!(["rt-a@1.0.0", "rt-a@1.1.0"]),
        "{done}"
    );
    assert!(root.join("rt-a/1.2.0").is_dir());
    assert!(!root.join("rt-a/1.0.0").exists() && !root.join("rt-a/1.1.0").exists());
    assert!(root.join("rt-b/1.0.0").is_dir(), "rt-b was not named");

    jrt()
        .args(["upgrade", "rt-c"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("rt-c is not installed"));
    jrt()
        .arg("upgrade")
        .assert()
        .success()
        .stdout(predicates::str::contains("everything is up to date"));
}
