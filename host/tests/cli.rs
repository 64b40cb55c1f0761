//! The `jrt` binary end to end: `detect` and `plugin list/add`, with exit codes and messages.

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::{shared_cache, testdata};
use predicates::prelude::*;
use serde_json::Value;

/// `jrt` with its own root and the shared compiled-code cache.
fn jrt(root: &Path) -> Command {
    let mut cmd = Command::cargo_bin("jrt").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("--root")
        .arg(root)
        .arg("--cache-dir")
        .arg(shared_cache());
    cmd
}

/// A snapshot of another machine: its os-release and, optionally, its NVIDIA driver version.
fn sysroot(os_release: &str, nvidia_proc: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::copy(
        testdata().join("os-release").join(os_release),
        dir.path().join("etc/os-release"),
    )
    .unwrap();
    if let Some(proc) = nvidia_proc {
        let d = dir.path().join("proc/driver/nvidia");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(testdata().join("nvidia").join(proc), d.join("version")).unwrap();
    }
    dir
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(out)))
}

#[test]
fn detect_on_this_host_names_a_known_platform() {
    let root = tempfile::tempdir().unwrap();
    let out = jrt(root.path())
        .args(["detect", "--json"])
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    let known = jrt_plugin_kit::platform::PLATFORM_IDS;
    assert!(known.contains(&v["platform"].as_str().unwrap()), "{v}");
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap();
    let id = v["distro"]["id"].as_str().unwrap();
    assert!(
        os_release
            .lines()
            .any(|l| l.trim_matches('"') == format!("ID={id}") || l == format!("ID=\"{id}\"")),
        "{id}"
    );
    assert_eq!(v["plugins"].as_array().unwrap().len(), 3);
}

#[test]
fn detect_a_snapshot_with_a_gpu_driver() {
    let root = tempfile::tempdir().unwrap();
    let snap = sysroot("rocky-9", Some("proc-version-535.129.03"));
    let out = jrt(root.path())
        .args(["detect", "--json", "--machine", "aarch64", "--sysroot"])
        .arg(snap.path())
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    assert_eq!(v["platform"], "rhel-arm64");
    assert_eq!(v["distro"]["id"], "rocky");
    assert_eq!(v["distro"]["version"], "9.3");
    assert_eq!(v["gpu"]["driver_version"], "535.129.03");

    let text = jrt(root.path())
        .args(["detect", "--machine", "aarch64", "--sysroot"])
        .arg(snap.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&text.get_output().stdout).to_string();
    assert!(
        stdout.contains("platform  rhel-arm64") && stdout.contains("Rocky Linux 9.3"),
        "{stdout}"
    );
}

#[test]
fn detect_refuses_an_unsupported_distribution_clearly() {
    let root = tempfile::tempdir().unwrap();
    let snap = sysroot("fedora-40", None);
    jrt(root.path())
        .args(["detect", "--machine", "x86_64", "--sysroot"])
        .arg(snap.path())
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("Fedora Linux 40")
                .and(predicate::str::contains("x86_64"))
                .and(predicate::str::contains("Amazon Linux")),
        );
}

#[test]
fn detect_platform_flag_is_checked() {
    let root = tempfile::tempdir().unwrap();
    jrt(root.path())
        .args(["detect", "--platform", "windows-amd64"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("unknown platform 'windows-amd64'")
                .and(predicate::str::contains("rhel-arm64")),
        );
    let out = jrt(root.path())
        .args(["detect", "--json", "--platform", "amzn-arm64"])
        .assert()
        .success();
    assert_eq!(json(&out.get_output().stdout)["platform"], "amzn-arm64");
}

#[test]
fn plugin_list_shows_the_builtins() {
    let root = tempfile::tempdir().unwrap();
    let out = jrt(root.path())
        .args(["plugin", "list", "--json"])
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    let rows = v.as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["python", "jdk", "cuda"]);
    for r in rows {
        assert_eq!(r["api_version"], "1.2.0");
        assert_eq!(r["source"], "built-in");
        assert_eq!(r["sha256"].as_str().unwrap().len(), 64);
    }
}

#[test]
fn plugin_add_checks_pins_and_lists_the_plugin() {
    let root = tempfile::tempdir().unwrap();
    let wasm = env!("JRT_TEST_PLUGIN_MISBEHAVE");
    jrt(root.path())
        .args(["plugin", "add", wasm])
        .assert()
        .success()
        .stdout(predicate::str::contains("added plugin misbehave 0.0.1"));
    let out = jrt(root.path())
        .args(["plugin", "list", "--json"])
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    let added = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "misbehave")
        .unwrap()
        .clone();
    assert_eq!(added["source"], "added");
    assert_eq!(added["families"][0], "misbehave");
    let sha = added["sha256"].as_str().unwrap().to_string();

    // Detection still works with a third-party plugin in the set.
    let out = jrt(root.path())
        .args(["detect", "--json", "--platform", "ubuntu-arm64"])
        .assert()
        .success();
    assert_eq!(
        json(&out.get_output().stdout)["plugins"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // Adding it again replaces it rather than listing it twice.
    jrt(root.path())
        .args(["plugin", "add", wasm])
        .assert()
        .success();
    let out = jrt(root.path())
        .args(["plugin", "list", "--json"])
        .assert()
        .success();
    assert_eq!(json(&out.get_output().stdout).as_array().unwrap().len(), 4);

    // The stored copy is pinned: a changed byte is refused with the plugin's name.
    let stored = root.path().join(".jrt/plugins").join(format!("{sha}.wasm"));
    let mut bytes = std::fs::read(&stored).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&stored, bytes).unwrap();
    jrt(root.path())
        .args(["plugin", "list"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("plugin misbehave").and(predicate::str::contains("pinned")),
        );
}

#[test]
fn plugin_add_refuses_what_is_not_a_plugin_and_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    jrt(root.path())
        .args(["plugin", "add", env!("JRT_TEST_PLUGIN_FUTURE_API")])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("joblet:runtime@2.0.0")
                .and(predicate::str::contains("joblet:runtime@1.0.0")),
        );

    let junk = root.path().join("junk.wasm");
    std::fs::write(&junk, "not wasm").unwrap();
    jrt(root.path())
        .args(["plugin", "add"])
        .arg(&junk)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("junk.wasm is not a jrt plugin"));

    jrt(root.path())
        .args(["plugin", "add", "/nonexistent/p.wasm"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot read /nonexistent/p.wasm"));

    assert!(!root.path().join(".jrt/plugins/plugins.json").exists());
    let out = jrt(root.path())
        .args(["plugin", "list", "--json"])
        .assert()
        .success();
    assert_eq!(json(&out.get_output().stdout).as_array().unwrap().len(), 3);
}

#[test]
fn usage_errors_exit_2() {
    let root = tempfile::tempdir().unwrap();
    jrt(root.path()).arg("no-such-command").assert().code(2);
    jrt(root.path()).args(["plugin", "add"]).assert().code(2);
}

#[test]
fn plugin_add_pins_by_sha256_asks_before_shadowing_a_builtin_and_remove_undoes_it() {
    let root = tempfile::tempdir().unwrap();
    let wasm = env!("JRT_TEST_PLUGIN_MISBEHAVE");
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        std::fs::read(wasm).unwrap(),
    ));
    let added = |root: &Path| {
        let out = jrt(root)
            .args(["plugin", "list", "--json"])
            .assert()
            .success();
        json(&out.get_output().stdout)
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["source"] == "added")
            .cloned()
            .collect::<Vec<Value>>()
    };

    // A download or file with another hash than the one asked for is refused.
    let wrong = "0".repeat(64);
    jrt(root.path())
        .args(["plugin", "add", wasm, "--sha256", &wrong])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "has sha256 {sha}, but --sha256 asked for {wrong}"
        )));
    assert!(added(root.path()).is_empty());
    jrt(root.path())
        .args(["plugin", "add", wasm, "--sha256", "xyz"])
        .assert()
        .code(2);
    jrt(root.path())
        .args(["plugin", "add", wasm, "--sha256", &sha.to_uppercase()])
        .assert()
        .success();
    assert_eq!(added(root.path()).len(), 1);

    // Plain http is refused unless it is this machine; nothing is downloaded.
    jrt(root.path())
        .args(["plugin", "add", "http://plugins.example.invalid/x.wasm"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("plain http").and(predicate::str::contains("https only")));

    // A plugin named like a built-in replaces it only when asked to, and says so in the list.
    let python = env!("JRT_BUILTIN_PLUGIN_PYTHON");
    jrt(root.path())
        .args(["plugin", "add", python])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "would replace the built-in plugin 'python'",
        ));
    assert_eq!(added(root.path()).len(), 1);
    jrt(root.path())
        .args(["plugin", "add", python, "--replace-builtin"])
        .assert()
        .success();
    let now = added(root.path());
    let shadow = now.iter().find(|r| r["name"] == "python").unwrap();
    assert_eq!(shadow["shadows"], "built-in python");
    jrt(root.path())
        .args(["plugin", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("(shadows built-in python)"));

    // Remove: the built-in is in effect again; a second remove, or a built-in, is an error.
    jrt(root.path())
        .args(["plugin", "remove", "python"])
        .assert()
        .success()
        .stdout(predicate::str::contains("removed plugin python"));
    let out = jrt(root.path())
        .args(["plugin", "list", "--json"])
        .assert()
        .success();
    let rows = json(&out.get_output().stdout);
    let python_row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "python")
        .unwrap();
    assert_eq!(python_row["source"], "built-in");
    jrt(root.path())
        .args(["plugin", "remove", "python"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "built-in plugins cannot be removed",
        ));
    jrt(root.path())
        .args(["plugin", "remove", "misbehave"])
        .assert()
        .success();
    assert!(added(root.path()).is_empty());
    let plugins = root.path().join(".jrt/plugins");
    let left: Vec<_> = std::fs::read_dir(&plugins)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        .collect();
    assert!(left.is_empty(), "components left behind: {left:?}");
}

/// `jrt` with nothing set: no HOME, no root, no cache (what completions and man pages need).
fn bare_jrt() -> Command {
    let mut cmd = Command::cargo_bin("jrt").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

#[test]
fn completions_for_every_shell_come_from_the_grammar_and_bash_completes_with_them() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = bare_jrt().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        for word in ["install", "push", "registry", "dry-run"] {
            assert!(text.contains(word), "{shell} lacks {word}");
        }
    }
    bare_jrt()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'tcsh'"));

    // Loaded into a real bash, the script completes a command and a subcommand.
    let script = bare_jrt()
        .args(["completions", "bash"])
        .output()
        .unwrap()
        .stdout;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jrt.bash");
    std::fs::write(&file, script).unwrap();
    let complete = |words: &str| {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}'; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
                 _jrt jrt \"${{COMP_WORDS[-1]}}\" \"${{COMP_WORDS[-2]}}\"; echo \"${{COMPREPLY[@]}}\"",
                file.display()
            ))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(complete("jrt ins"), "install");
    assert_eq!(complete("jrt registry s"), "sign");
}

#[test]
fn man_pages_are_written_for_jrt_and_each_command() {
    let dir = tempfile::tempdir().unwrap();
    bare_jrt()
        .args(["man", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let page = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    assert!(page("jrt.1").contains(".TH jrt 1"));
    let install = page("jrt-install.1");
    assert!(
        install.contains(".TH jrt-install 1") && install.contains("dry\\-run"),
        "{install}"
    );
    assert!(page("jrt-registry-add.1").contains(".TH jrt-registry-add 1"));
    assert!(page("jrt-push.1").contains("oci://"));
    // The hidden generator documents no page of its own.
    assert!(!dir.path().join("jrt-man.1").exists());
}
