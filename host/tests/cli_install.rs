//! `jrt install/list/info/remove/verify` end to end, including a run killed mid-extraction.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/tarball.rs"]
mod tarball;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use packages::*;
use predicates::prelude::*;

fn jrt(dir: &Path) -> Command {
    common::jrt_in(dir, &dir.join("registry"))
}

fn setup(published: &[Published]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("registry")).unwrap();
    write_registry(&dir.path().join("registry"), published);
    dir
}

/// A prebuilt install loads no plugin: with an added plugin whose stored copy was damaged (so
/// every load of it fails), prebuilt packages still install, while what needs the plugins (a
/// source package, `jrt detect`) stops naming it, leaving nothing behind.
#[test]
fn a_prebuilt_install_loads_no_plugin() {
    let dir = setup(&[
        Published::honest("rt", "1.0.0", prebuilt("rt", "1.0.0", 3)),
        Published::honest("src-rt", "1.0.0", source("src-rt", "1.0.0")),
    ]);
    let d = dir.path();
    jrt(d)
        .args(["plugin", "add", env!("JRT_TEST_PLUGIN_HOSTILE")])
        .assert()
        .success();
    let plugins = d.join("root/.jrt/plugins");
    let stored: Vec<_> = walk(&plugins)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    std::fs::write(&stored[0], b"\0asm, damaged").unwrap();

    jrt(d)
        .args(["install", "rt"])
        .assert()
        .success()
        .stdout(predicate::str::contains("installed rt@1.0.0 to"));
    jrt(d)
        .args(["install", "src-rt"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("hostile"));
    assert!(!d.join("root/src-rt").exists());
    jrt(d)
        .arg("detect")
        .assert()
        .failure()
        .stderr(predicate::str::contains("hostile"));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn install_list_info_verify_remove() {
    let dir = setup(&[
        Published::honest("rt", "1.2.0", prebuilt("rt", "1.2.0", 3)),
        Published::honest("rt", "1.10.0", prebuilt("rt", "1.10.0", 3)),
    ]);
    let d = dir.path();
    jrt(d)
        .args(["install", "--dry-run", "--platform", "rhel-arm64", "rt@^1"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("would install rt@1.10.0 for rhel-arm64")
                .and(predicate::str::contains("rt-1.10.0.tar.gz")),
        );
    assert!(!d.join("root/rt").exists());

    jrt(d)
        .args(["install", "rt"])
        .assert()
        .success()
        .stdout(predicate::str::contains("installed rt@1.10.0 to"));
    jrt(d)
        .args(["install", "rt@1.10.0"])
        .assert()
        .success()
        .stdout(predicate::str::contains("already installed"));
    let out = jrt(d).args(["--json", "list"]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v[0]["version"], "1.10.0");

    jrt(d).args(["info", "rt"]).assert().success().stdout(
        predicate::str::contains("1.2.0").and(predicate::str::contains("installed rt@1.10.0")),
    );
    jrt(d)
        .args(["verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("rt@1.10.0: ok"));

    std::fs::write(d.join("root/rt/1.10.0/isolated/hello"), "changed").unwrap();
    jrt(d)
        .args(["verify", "rt"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("modified  isolated/hello"));

    jrt(d)
        .args(["remove", "rt"])
        .assert()
        .success()
        .stdout(predicate::str::contains("removed rt@1.10.0"));
    jrt(d)
        .args(["remove", "rt"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("rt is not installed"));
    jrt(d).args(["install", "Bad_Name"]).assert().code(2);
    jrt(d)
        .args(["install", "nope"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "runtime 'nope' is not in any registry; available runtimes: rt",
        ));
}

#[test]
fn several_runtimes_install_in_parallel_and_report_each() {
    let dir = setup(&[
        Published::honest("one", "1.0.0", prebuilt("one", "1.0.0", 50)),
        Published::honest("two", "2.0.0", prebuilt("two", "2.0.0", 50)),
        Published::honest("three", "3.0.0", prebuilt("three", "3.0.0", 50)),
    ]);
    let d = dir.path();
    let out = jrt(d)
        .args(["--json", "install", "one", "two", "three@3", "--jobs", "3"])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let v = &doc["results"];
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["one", "two", "three"],
        "results keep the order asked for"
    );
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|o| o["action"] == "installed")
    );
    // Every spec is resolved before anything is downloaded: one that does not resolve stops
    // the whole command, and nothing is installed.
    std::fs::remove_dir_all(d.join("root/two")).unwrap();
    jrt(d)
        .args(["install", "two", "one@9"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no version of one matches '9'"));
    assert!(!d.join("root/two").exists());
}

#[test]
fn a_run_killed_during_extraction_leaves_nothing_and_the_next_run_succeeds() {
    let dir = setup(&[Published::honest(
        "big",
        "1.0.0",
        prebuilt("big", "1.0.0", 20_000),
    )]);
    let d = dir.path();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("jrt"))
        .arg("--root")
        .arg(d.join("root"))
        .arg("--cache-dir")
        .arg(d.join("cache"))
        .arg("--registry")
        .arg(d.join("registry"))
        .args(["install", "big"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until extraction is under way, then kill it hard.
    let staging = d.join("root/.jrt/staging");
    let started = Instant::now();
    let killed_mid_way = loop {
        let busy = std::fs::read_dir(&staging)
            .ok()
            .and_then(|mut it| it.next())
            .and_then(|e| e.ok())
            .is_some_and(|e| e.path().join("tree/isolated").exists());
        if busy {
            child.kill().unwrap();
            break true;
        }
        if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(60) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    child.wait().unwrap();
    if killed_mid_way {
        assert!(
            !d.join("root/big/1.0.0").exists(),
            "a partial install is visible"
        );
        assert!(
            std::fs::read_dir(&staging).unwrap().next().is_some(),
            "the killed run's staging is there"
        );
    }
    jrt(d).args(["install", "big"]).assert().success();
    assert!(
        std::fs::read_dir(&staging).unwrap().next().is_none(),
        "stale staging was not cleaned"
    );
    jrt(d).args(["verify", "big"]).assert().success();
    assert!(
        killed_mid_way,
        "the install finished before it could be killed; make the package bigger"
    );
}

/// A registry's strings cannot drive the terminal: an ANSI escape in a description, a name of
/// a platform or a package's failing output is printed escaped.
#[test]
fn text_from_a_registry_is_printed_escaped() {
    let d = tempfile::tempdir().unwrap();
    let reg = d.path().join("registry");
    std::fs::create_dir_all(&reg).unwrap();
    let index = write_registry(
        &reg,
        &[Published::honest(
            "esc",
            "1.0.0",
            prebuilt("esc", "1.0.0", 1),
        )],
    );
    let text = std::fs::read_to_string(&index).unwrap();
    let text = text.replace(
        "esc test runtime",
        "\\u001b[2J\\u001b]0;owned\\u0007cleared",
    );
    std::fs::write(&index, text).unwrap();
    for args in [&["list", "--available"][..], &["info", "esc"][..]] {
        let out = jrt(d.path()).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.stdout.contains(&0x1b) && !out.stdout.contains(&0x07),
            "{args:?} printed raw controls"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("\\u{1b}[2J"), "{args:?}: {stdout}");
    }
}
