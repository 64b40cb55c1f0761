//! A hostile third-party family (plugins/testing/hostile), added with `jrt plugin add` and
//! installed from a directory registry: every attempt its plans make on the host must be
//! contained. Each test states the attempt and what "contained" means for it: the install
//! fails with a clear error, or it succeeds without the effect.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/tarball.rs"]
mod tarball;

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use packages::{Published, write_registry};
use tarball::{dir, file, tgz};

const PLATFORMS: &str =
    "[ubuntu-amd64, ubuntu-arm64, rhel-amd64, rhel-arm64, amzn-amd64, amzn-arm64]";

/// A work directory with the hostile plugin added and a `runtimes/` registry.
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Work {
        let work = Work {
            dir: tempfile::tempdir().unwrap(),
        };
        // Private, as a root-only directory would be: the sandbox must not need to walk it.
        std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::create_dir_all(work.runtimes()).unwrap();
        std::fs::create_dir_all(work.home()).unwrap();
        work.jrt()
            .args(["plugin", "add", env!("JRT_TEST_PLUGIN_HOSTILE")])
            .assert()
            .success();
        work
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn runtimes(&self) -> PathBuf {
        self.path().join("runtimes")
    }
    fn home(&self) -> PathBuf {
        self.path().join("home")
    }
    fn jrt(&self) -> assert_cmd::Command {
        let mut cmd = common::jrt_in(self.path(), &self.runtimes());
        cmd.env("HOME", self.home());
        cmd
    }
    /// A runtime of the hostile family whose manifest adds `body`.
    fn runtime(&self, name: &str, body: &str) {
        let d = self.runtimes().join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("manifest.yaml"),
            format!(
                "name: {name}\nversion: 1.0.0\ndescription: hostile\nfamily: [hostile]\nplatforms: {PLATFORMS}\n{body}"
            ),
        )
        .unwrap();
    }
    /// Installs `name`; (success, stdout + stderr).
    fn install(&self, name: &str) -> (bool, String) {
        let out = self.jrt().args(["install", name]).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
    fn installed(&self, name: &str) -> PathBuf {
        self.path().join("root").join(name).join("1.0.0")
    }
    /// Nothing half-made: no final tree, no staging left.
    fn nothing_installed(&self, name: &str) {
        assert!(
            !self.installed(name).exists(),
            "{name} reached its final path"
        );
        let staging: Vec<_> = walk(&self.path().join("root"))
            .into_iter()
            .filter(|p| {
                p.parent().is_some_and(|d| d.ends_with(".jrt/staging"))
                    || p.to_string_lossy().contains(".jrt-sandbox")
            })
            .collect();
        assert!(staging.is_empty(), "left behind: {staging:?}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

/// YAML's single-quoted scalar for a shell script.
fn quoted(script: &str) -> String {
    format!("'{}'", script.replace('\'', "''"))
}

fn is_root() -> bool {
    // SAFETY: no side effects.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn markers_written_outside_the_tree_never_land() {
    let work = Work::new();
    let next_to_root = work.path().join("root-marker");
    let in_tmp = std::env::temp_dir().join(format!("jrt-hostile-marker-{}", std::process::id()));
    let in_home = work.home().join("marker");
    let script = format!(
        "for p in {} {} {} \"$HOME/../home/marker\" /marker; do echo pwned > \"$p\"; done 2>/dev/null; exit 0",
        next_to_root.display(),
        in_tmp.display(),
        in_home.display()
    );
    // From a script the plan wrote, and from /bin/sh -c straight from the plan.
    work.runtime(
        "writer",
        &format!("script: {}\ndirect: {}\n", quoted(&script), quoted(&script)),
    );
    let (ok, out) = work.install("writer");
    assert!(ok, "{out}");
    for marker in [&next_to_root, &in_tmp, &in_home] {
        assert!(!marker.exists(), "{} was written", marker.display());
    }
    assert!(!Path::new("/marker").exists());
}

#[test]
fn secrets_cannot_be_read_into_the_tree_or_versions_lock() {
    let work = Work::new();
    let secret = work.path().join("secret");
    std::fs::write(&secret, "TOPSECRET\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let script = format!(
        "cat /etc/shadow > isolated/shadow 2>&1; cat {0} > isolated/secret 2>&1; \
         ls -a /root > isolated/root 2>&1; \
         printf '#!/bin/sh\\ncat /etc/shadow {0}; ls /root\\n' > isolated/loot.sh; chmod 755 isolated/loot.sh; exit 0",
        secret.display()
    );
    work.runtime(
        "reader",
        &format!("script: {}\nprobe: [isolated/loot.sh]\n", quoted(&script)),
    );
    let (ok, out) = work.install("reader");
    assert!(ok, "{out}");
    let tree = work.installed("reader");
    let mut seen = String::new();
    for f in [
        "isolated/shadow",
        "isolated/secret",
        "isolated/root",
        "versions.lock",
    ] {
        seen.push_str(&std::fs::read_to_string(tree.join(f)).unwrap());
    }
    assert!(!seen.contains("TOPSECRET"), "{seen}");
    assert!(!seen.contains("root:"), "a shadow line leaked: {seen}");
    assert!(
        seen.contains("No such file"),
        "the host's files are not even visible: {seen}"
    );
    // And the host programs cannot be probed at all.
    work.runtime("prober", "probe: [/bin/cat, /etc/shadow]\n");
    let (ok, out) = work.install("prober");
    assert!(!ok);
    assert!(
        out.contains("probes may run only programs inside the runtime tree"),
        "{out}"
    );
    work.nothing_installed("prober");
}

#[test]
fn a_step_without_network_reaches_no_listener_and_a_declared_one_does() {
    let work = Work::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!("bash -c 'echo hi > /dev/tcp/127.0.0.1/{port}' 2>/dev/null; exit 0");
    let no_connection = |what: &str| {
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            listener.accept().is_err(),
            "the listener saw a connection from {what}"
        );
    };
    let one_connection = || {
        listener.set_nonblocking(false).unwrap();
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = String::new();
        conn.read_to_string(&mut got).unwrap();
        listener.set_nonblocking(true).unwrap();
        assert_eq!(got, "hi\n");
    };

    work.runtime("caller", &format!("direct: {}\n", quoted(&script)));
    let (ok, out) = work.install("caller");
    assert!(ok, "{out}");
    no_connection("a step that declared no network");

    // A 1.1 plugin's manifest cannot grant its steps network: only the step's declaration can.
    work.runtime(
        "manifest-only",
        &format!(
            "direct: {}\nsetup_network:\n  hostile: ['127.0.0.1:{port}']\n",
            quoted(&script)
        ),
    );
    let (ok, out) = work.install("manifest-only");
    assert!(ok, "{out}");
    no_connection("a 1.1 step granted network only by the manifest");

    // The same step, declaring 127.0.0.1:<port>, gets through; dry run and receipt show it.
    work.runtime(
        "declared",
        &format!(
            "direct: {}\ndeclare_network: ['127.0.0.1:{port}']\n",
            quoted(&script)
        ),
    );
    let dry = work
        .jrt()
        .args(["install", "--dry-run", "declared"])
        .output()
        .unwrap();
    let dry = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.contains(&format!("(network: 127.0.0.1:{port})")),
        "{dry}"
    );
    let (ok, out) = work.install("declared");
    assert!(ok, "{out}");
    one_connection();
    let receipt =
        std::fs::read_to_string(work.installed("declared").join(".jrt/receipt.json")).unwrap();
    assert!(
        receipt.contains(&format!("127.0.0.1:{port}")),
        "not recorded: {receipt}"
    );
}

/// Plugins built for the 1.0.0 and 1.1.0 APIs, added beside the 1.2.0 ones: they load and set
/// up; a 1.0 plugin's steps get no network unless the runtime's manifest grants its family
/// some, a 1.1 plugin's steps get what they declare; their locked packages carry no sha256.
#[test]
fn plugins_of_older_apis_work_beside_the_newest_and_keep_their_meaning() {
    let work = Work::new();
    for plugin in [
        env!("JRT_TEST_PLUGIN_LEGACY"),
        env!("JRT_TEST_PLUGIN_LEGACY_V1_1"),
    ] {
        work.jrt()
            .args(["plugin", "add", plugin])
            .assert()
            .success();
    }
    let list = work
        .jrt()
        .args(["plugin", "list", "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let api = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["api_version"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(api("legacy").as_deref(), Some("1.0.0"));
    assert_eq!(api("legacy-v1-1").as_deref(), Some("1.1.0"));
    assert_eq!(api("hostile").as_deref(), Some("1.2.0"));
    assert_eq!(api("python").as_deref(), Some("1.2.0"));

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!("bash -c 'echo hi > /dev/tcp/127.0.0.1/{port}' 2>/dev/null; exit 0");
    let write = |name: &str, family: &str, extra: &str| {
        let d = work.runtimes().join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("manifest.yaml"),
            format!(
                "name: {name}\nversion: 1.0.0\ndescription: old\nfamily: [{family}]\nplatforms: {PLATFORMS}\ndirect: {}\n{extra}",
                quoted(&script)
            ),
        )
        .unwrap();
    };
    let accepted = |listener: &TcpListener| {
        listener.set_nonblocking(false).unwrap();
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = String::new();
        conn.read_to_string(&mut got).unwrap();
        listener.set_nonblocking(true).unwrap();
        got
    };
    write("old-offline", "legacy", "");
    let (ok, out) = work.install("old-offline");
    assert!(ok, "{out}");
    let lock =
        std::fs::read_to_string(work.installed("old-offline").join("versions.lock")).unwrap();
    assert!(lock.contains("legacy: legacy-1.0.0"), "{lock}");
    assert!(
        lock.contains("kind: test\n  name: legacy\n  version: legacy-1.0.0\n")
            && !lock.contains("sha256"),
        "{lock}"
    );
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        listener.accept().is_err(),
        "a 1.0 step without a grant reached the listener"
    );

    write(
        "old-granted",
        "legacy",
        &format!("setup_network:\n  legacy: ['127.0.0.1:{port}']\n"),
    );
    let (ok, out) = work.install("old-granted");
    assert!(ok, "{out}");
    assert_eq!(accepted(&listener), "hi\n");

    // 1.1.0: the step's own declaration reaches the listener, and is recorded.
    write(
        "v11-declared",
        "legacy-v1-1",
        &format!("declare_network: '127.0.0.1:{port}'\n"),
    );
    let (ok, out) = work.install("v11-declared");
    assert!(ok, "{out}");
    assert_eq!(accepted(&listener), "hi\n");
    let dir = work.installed("v11-declared");
    let lock = std::fs::read_to_string(dir.join("versions.lock")).unwrap();
    assert!(
        lock.contains("legacy-v1-1: legacy-v1-1-1.1.0")
            && lock.contains("name: legacy-v1-1\n  version: legacy-v1-1-1.1.0\n")
            && !lock.contains("sha256"),
        "{lock}"
    );
    let receipt = std::fs::read_to_string(dir.join(".jrt/receipt.json")).unwrap();
    assert!(receipt.contains(&format!("127.0.0.1:{port}")), "{receipt}");
    // ...and one that declares nothing gets nothing.
    write("v11-offline", "legacy-v1-1", "");
    let (ok, out) = work.install("v11-offline");
    assert!(ok, "{out}");
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        listener.accept().is_err(),
        "a 1.1 step that declared nothing reached the listener"
    );
}

#[test]
fn a_fork_bomb_and_a_huge_file_are_capped() {
    let work = Work::new();
    work.runtime(
        "bomb",
        &format!(
            "direct: {}\n",
            quoted("b() { b | b & }; b; sleep 3; exit 0 # jrt-bomb-marker")
        ),
    );
    let started = Instant::now();
    let (_ok, out) = work.install("bomb");
    assert!(started.elapsed() < Duration::from_secs(60), "{out}");
    assert!(
        common::none_left("jrt-bomb-marker"),
        "the bomb outlived its step"
    );

    // 17 GiB, one byte at the end: past the 16 GiB file-size cap.
    work.runtime(
        "big",
        &format!(
            "direct: {}\n",
            quoted("dd if=/dev/zero of=isolated/big bs=1 count=1 seek=17G 2>/dev/null; exit 0")
        ),
    );
    let (ok, out) = work.install("big");
    assert!(ok, "{out}");
    let big = work.installed("big").join("isolated/big");
    let len = std::fs::metadata(&big).map(|m| m.len()).unwrap_or(0);
    assert!(
        len <= 16 << 30,
        "a file of {len} bytes was written past the cap"
    );
}

#[test]
fn setuid_files_are_stripped_and_fifos_and_devices_refused() {
    let work = Work::new();
    work.runtime(
        "suid",
        &format!(
            "script: {}\n",
            quoted("cp /bin/true isolated/su && chmod 4755 isolated/su && chmod 2755 isolated")
        ),
    );
    let (ok, out) = work.install("suid");
    assert!(ok, "{out}");
    assert!(
        out.contains("removed the setuid/setgid bit of 'isolated/su'"),
        "{out}"
    );
    let mode = std::fs::metadata(work.installed("suid").join("isolated/su"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o6000, 0, "mode {mode:o}");
    if is_root() {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(work.installed("suid").join("isolated/su")).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid()),
            (0, 0),
            "the tree was not taken back from the sandbox user"
        );
    }

    work.runtime(
        "fifo",
        &format!("script: {}\n", quoted("mkfifo isolated/pipe")),
    );
    let (ok, out) = work.install("fifo");
    assert!(!ok, "{out}");
    assert!(out.contains("made a FIFO at 'isolated/pipe'"), "{out}");
    work.nothing_installed("fifo");

    work.runtime(
        "device",
        &format!(
            "script: {}\n",
            quoted("mknod isolated/null c 1 3 2>/dev/null; exit 0")
        ),
    );
    let (ok, out) = work.install("device");
    if ok {
        assert!(
            !work.installed("device").join("isolated/null").exists(),
            "a device node was installed"
        );
    } else {
        assert!(out.contains("a device node"), "{out}");
        work.nothing_installed("device");
    }
}

#[test]
fn loader_variables_and_a_mount_over_root_are_refused() {
    let work = Work::new();
    for (name, body, want) in [
        (
            "preload-run",
            "script: 'true'\nrun_env: [LD_PRELOAD=/tmp/evil.so]\n",
            "LD_PRELOAD is refused",
        ),
        (
            "audit-run",
            "script: 'true'\nrun_env: [LD_AUDIT=/tmp/evil.so]\n",
            "LD_AUDIT is refused",
        ),
        (
            "libpath-run",
            "script: 'true'\nrun_env: [LD_LIBRARY_PATH=/usr/lib/evil]\n",
            "LD_LIBRARY_PATH may name only",
        ),
        (
            "preload-env",
            "plan_env: [LD_PRELOAD=/opt/hostile/evil.so]\n",
            "LD_PRELOAD is refused",
        ),
        ("over-root", "mount_target: /\n", "targets '/'"),
    ] {
        work.runtime(name, body);
        let (ok, out) = work.install(name);
        assert!(!ok, "{name} installed: {out}");
        assert!(out.contains(want), "{name}: {out}");
        work.nothing_installed(name);
    }
}

#[test]
fn a_prebuilt_package_with_a_loader_variable_or_a_root_mount_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let reg = work.path().join("reg");
    std::fs::create_dir_all(&reg).unwrap();
    let package = |name: &str, runtime_yml: &str| {
        Published::honest(
            name,
            "1.0.0",
            tgz(&[
                dir(&format!("{name}/")),
                file(
                    &format!("{name}/manifest.yaml"),
                    format!("name: {name}\nversion: 1.0.0\n").as_bytes(),
                ),
                file(&format!("{name}/runtime.yml"), runtime_yml.as_bytes()),
                dir(&format!("{name}/isolated/")),
            ]),
        )
    };
    write_registry(
        &reg,
        &[
            package(
                "preloaded",
                "name: preloaded\nversion: 1.0.0\nmounts: [{source: isolated, target: /opt/x}]\nenvironment: {LD_PRELOAD: /opt/x/evil.so}\n",
            ),
            package(
                "rootmount",
                "name: rootmount\nversion: 1.0.0\nmounts: [{source: isolated, target: /}]\n",
            ),
        ],
    );
    for (name, want) in [
        ("preloaded", "LD_PRELOAD is refused"),
        ("rootmount", "targets '/'"),
    ] {
        let out = common::jrt_in(work.path(), &reg.join("registry.json"))
            .args(["install", name])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && text.contains(want),
            "{name}: {text}"
        );
        assert!(!work.path().join("root").join(name).join("1.0.0").exists());
    }
}

#[test]
fn plan_programs_never_run_as_host_root() {
    let work = Work::new();
    work.runtime(
        "whoami",
        &format!(
            "direct: {}\n",
            quoted("id -u > isolated/uid; id -g > isolated/gid")
        ),
    );
    let (ok, out) = work.install("whoami");
    assert!(ok, "{out}");
    let uid = std::fs::read_to_string(work.installed("whoami").join("isolated/uid")).unwrap();
    assert_ne!(uid.trim(), "0");
    if is_root() {
        assert_eq!(uid.trim(), jrt_sandbox::SANDBOX_ID.to_string());
    }
}

#[test]
fn detect_json_reports_the_sandbox_layers() {
    let work = tempfile::tempdir().unwrap();
    let out = common::jrt_in(work.path(), work.path())
        .args(["detect", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sandbox = &report["sandbox"];
    for layer in [
        "namespaces",
        "seccomp",
        "landlock",
        "landlock_network",
        "memory_limit",
    ] {
        assert!(sandbox[layer]["active"].is_boolean(), "{layer}: {sandbox}");
        assert!(sandbox[layer]["detail"].is_string(), "{layer}: {sandbox}");
    }
    // The tests above ran plans, so on this machine the namespaces and seccomp hold.
    assert_eq!(sandbox["namespaces"]["active"], true, "{sandbox}");
    assert_eq!(sandbox["seccomp"]["active"], true, "{sandbox}");
    assert!(
        sandbox["runs_as"].as_str().unwrap().starts_with("uid "),
        "{sandbox}"
    );
}
