//! `jrt cache`: where the cache is, what it holds, and freeing it through the CLI: prune
//! frees what a removed runtime left and keeps what installed ones came from, waits for a
//! running install (the cache lock), and clean keeps the registry serials.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/tarball.rs"]
mod tarball;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(out)))
}

fn run(cmd: &mut assert_cmd::Command) -> Value {
    json(&cmd.assert().success().get_output().stdout)
}

#[test]
fn prune_frees_what_a_removed_runtime_left_and_keeps_what_installed_ones_need() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let a = packages::prebuilt("rt-a", "1.0.0", 30);
    let b = packages::prebuilt("rt-b", "1.0.0", 60);
    let (sha_a, sha_b, size_b) = (packages::sha256(&a), packages::sha256(&b), b.len() as u64);
    let registry = packages::write_registry(
        d,
        &[
            packages::Published::honest("rt-a", "1.0.0", a),
            packages::Published::honest("rt-b", "1.0.0", b),
        ],
    );
    let jrt = || common::jrt_in(d, &registry);
    jrt().args(["install", "rt-a", "rt-b"]).assert().success();
    let cache = d.join("cache");
    assert_eq!(
        run(jrt().args(["--json", "cache", "dir"]))["dir"],
        cache.display().to_string()
    );
    let sizes = run(jrt().args(["--json", "cache", "size"]));
    let packages_area = sizes["areas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "packages")
        .unwrap()
        .clone();
    assert_eq!(packages_area["files"], 2, "{sizes}");

    // A removed runtime's package, an unfinished download and a stale compiled entry go;
    // the installed runtime's package stays.
    jrt().args(["remove", "rt-b"]).assert().success();
    let part = cache
        .join("packages")
        .join(format!("{}.tar.gz.part", "cd".repeat(32)));
    std::fs::write(&part, b"half").unwrap();
    let freed = run(jrt().args(["--json", "cache", "prune"]));
    let removed: Vec<String> = freed["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    let b_entry = cache.join("packages").join(format!("{sha_b}.tar.gz"));
    assert!(removed.contains(&b_entry.display().to_string()), "{freed}");
    assert!(removed.contains(&part.display().to_string()), "{freed}");
    assert_eq!(freed["bytes"], size_b + 4, "{freed}");
    assert!(
        cache
            .join("packages")
            .join(format!("{sha_a}.tar.gz"))
            .is_file()
    );
    assert!(!b_entry.exists());
    // The shared compiled-code directory behind this cache's link is left alone.
    assert!(common::shared_cache().is_dir());
    jrt().args(["verify", "rt-a"]).assert().success();
    let again = run(jrt().args(["--json", "install", "rt-a", "--force"]));
    assert_eq!(again["results"][0]["cached"], true, "{again}");
    // Nothing more to free.
    assert_eq!(run(jrt().args(["--json", "cache", "prune"]))["bytes"], 0);

    // clean: everything but the registry serials.
    std::fs::create_dir_all(cache.join("trust")).unwrap();
    std::fs::write(cache.join("trust/serials.json"), b"{}").unwrap();
    let cleaned = run(jrt().args(["--json", "cache", "clean"]));
    assert!(cleaned["bytes"].as_u64().unwrap() > 0);
    assert!(!cache.join("packages").exists());
    assert!(cache.join("trust/serials.json").is_file());
    jrt().args(["verify", "rt-a"]).assert().success();
}

#[test]
fn prune_removes_compiled_code_of_other_engines_and_waits_for_installs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // A cache of its own (not the shared compiled-code link).
    let jrt = || common::jrt_own_cache(d);
    // The built-ins bring code precompiled by the build; an added plugin's is compiled into
    // this cache.
    jrt()
        .args(["plugin", "add", env!("JRT_TEST_PLUGIN_HOSTILE")])
        .assert()
        .success();
    jrt().arg("detect").assert().success();
    let compiled = d.join("cache/compiled");
    let count = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".cwasm"))
            .count()
    };
    let added = count(&compiled);
    assert_eq!(added, 1);
    let foreign = compiled.join(format!("{}-0000000000000000.cwasm", "ab".repeat(32)));
    std::fs::write(&foreign, b"compiled by another engine").unwrap();

    // An install holds the cache lock (shared): prune waits for it.
    let lock = jrt_fs::lock::shared(&d.join("cache/cache.lock")).unwrap();
    let mut prune = std::process::Command::new(assert_cmd::cargo::cargo_bin("jrt"));
    prune
        .env_clear()
        .arg("--root")
        .arg(d.join("root"))
        .arg("--cache-dir")
        .arg(d.join("cache"))
        .args(["--json", "cache", "prune"])
        .stdout(std::process::Stdio::piped());
    let mut child = prune.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "prune did not wait");
    assert!(foreign.exists());
    drop(lock);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let freed = json(&out.stdout);
    assert_eq!(freed["removed"].as_array().unwrap().len(), 1, "{freed}");
    assert!(!foreign.exists());
    assert_eq!(count(&compiled), added, "the added plugin's code stays");
    assert!(compiled.join("mac.key").is_file());
}
