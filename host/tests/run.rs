//! `jrt run` contains what it runs, through the CLI: a job sees its own PID namespace and
//! `/proc`, a minimal `/dev`, read-only mounts unless runtime.yml says otherwise, no
//! capabilities, and the user it was asked to run as.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/tarball.rs"]
mod tarball;

use std::path::Path;

use packages::{Published, write_registry};
use tarball::{Raw, dir, file, tgz};

/// A prebuilt runtime `rt` mounting `isolated/` at /opt/rt (read-only by default) and
/// `data/` at /opt/rt-data (`readonly: false`), installed into `<work>/root`.
fn installed(work: &Path) {
    let runtime_yml = "name: rt\nversion: 1.0.0\nmounts:\n  - source: isolated\n    target: /opt/rt\n  \
                       - source: data\n    target: /opt/rt-data\n    readonly: false\n\
                       environment:\n  RT_HOME: /opt/rt\n";
    let bytes = tgz(&[
        dir("rt/"),
        file("rt/manifest.yaml", b"name: rt\nversion: 1.0.0\n"),
        file("rt/runtime.yml", runtime_yml.as_bytes()),
        file("rt/versions.lock", b"components: {}\n"),
        dir("rt/isolated/"),
        dir("rt/isolated/sub/"),
        Raw {
            mode: 0o755,
            ..file(
                "rt/isolated/hello",
                b"#!/bin/sh\necho hello from $RT_HOME\n",
            )
        },
        dir("rt/data/"),
    ]);
    let index = write_registry(work, &[Published::honest("rt", "1.0.0", bytes)]);
    common::jrt_in(work, &index)
        .args(["install", "rt"])
        .assert()
        .success();
}

/// `jrt run [args] rt -- sh -c script`: (exit code, stdout, stderr).
fn run(work: &Path, args: &[&str], script: &str) -> (i32, String, String) {
    let out = common::jrt_in(work, &work.join("registry.json"))
        .arg("run")
        .args(args)
        .args(["rt", "--", "/bin/sh", "-c", script])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_job_is_pid_1_of_its_own_namespace_with_its_own_proc() {
    let work = tempfile::tempdir().unwrap();
    installed(work.path());
    let (code, out, err) = run(
        work.path(),
        &[],
        "echo $$; readlink /proc/1/root; ls /proc/1/root; /opt/rt/hello; ls /proc | grep -c '^[0-9]'",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1", "{out}");
    assert_eq!(lines[1], "/", "{out}");
    // /proc/1/root is the job's own root: the runtime's mount point is there, the host's
    // /root, /home and /var are not.
    let listing: Vec<&str> = lines[2..lines.len() - 2].to_vec();
    assert!(
        listing.contains(&"opt") && listing.contains(&"usr"),
        "{out}"
    );
    for host_only in ["root", "home", "var", "sys"] {
        assert!(!listing.contains(&host_only), "{host_only} visible: {out}");
    }
    assert_eq!(lines[lines.len() - 2], "hello from /opt/rt");
    // Only the job's processes: sh and ls (and grep) of this pipeline.
    let pids: u32 = lines[lines.len() - 1].parse().unwrap();
    assert!(pids <= 4, "{pids} processes visible: {out}");
}

#[test]
fn dev_is_minimal_mount_fails_and_no_capabilities_are_held() {
    let work = tempfile::tempdir().unwrap();
    installed(work.path());
    let (code, out, err) = run(
        work.path(),
        &[],
        "ls /dev | tr '\\n' ' '; echo; grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/self/status; \
         mount -t tmpfs none /tmp && echo MOUNTED; exit 0",
    );
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap().trim(),
        "fd full null random shm stderr stdin stdout urandom zero"
    );
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
    assert!(out.contains("CapPrm:\t0000000000000000"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    assert!(!out.contains("MOUNTED"), "mount succeeded: {out}");
    assert!(!err.is_empty(), "mount said nothing");
}

#[test]
fn mounts_are_read_only_unless_runtime_yml_says_otherwise() {
    let work = tempfile::tempdir().unwrap();
    installed(work.path());
    // As the runtime's owner, so only the mount's read-only flag can refuse a write.
    let owner = unsafe { libc::geteuid() }.to_string();
    let (code, out, err) = run(
        work.path(),
        &["--user", &owner],
        "touch /opt/rt/x 2>&1; touch /usr/x 2>&1; touch /etc/x 2>&1; touch /opt/rt-data/made && echo wrote",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("Read-only file system").count(), 3, "{out}");
    assert!(out.contains("wrote"), "{out}");
    let tree = work.path().join("root/rt/1.0.0");
    assert!(tree.join("data/made").exists());
    assert!(!tree.join("isolated/x").exists());
}

#[test]
fn read_only_binds_are_recursive() {
    // A mount the host has below a runtime's mount source is seen inside, and read-only too.
    // Needs root to mount on the host; CI runs as root, so there it is never skipped.
    if unsafe { libc::geteuid() } != 0 {
        assert!(std::env::var_os("CI").is_none(), "CI must run this as root");
        eprintln!("not root: cannot mount a submount to test with");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    installed(work.path());
    let sub = work.path().join("root/rt/1.0.0/isolated/sub");
    let mounted = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=1m",
            "jrt-test",
            sub.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(mounted.success());
    std::fs::write(sub.join("marker"), "on the submount\n").unwrap();
    let (code, out, err) = run(
        work.path(),
        &[],
        "cat /opt/rt/sub/marker; touch /opt/rt/sub/x 2>&1; exit 0",
    );
    let _ = std::process::Command::new("umount").arg(&sub).status();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("on the submount"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
}

#[test]
fn user_runs_the_job_as_that_user_and_privileged_needs_root() {
    let work = tempfile::tempdir().unwrap();
    installed(work.path());
    let me = unsafe { libc::geteuid() };
    if me == 0 {
        let (code, out, err) = run(work.path(), &["--user", "1234:2345"], "id -u; id -g");
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, "1234\n2345\n");
        // As root with --privileged: root, with its capabilities, still in its own PID
        // namespace with its own /proc.
        let (code, out, err) = run(
            work.path(),
            &["--privileged"],
            "id -u; echo $$; grep CapEff /proc/self/status",
        );
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("0\n1\n"), "{out}");
        assert!(!out.contains("CapEff:\t0000000000000000"), "{out}");
    } else {
        let (code, _, err) = run(work.path(), &["--privileged"], "true");
        assert_ne!(code, 0);
        assert!(
            err.contains("--privileged needs jrt to run as root"),
            "{err}"
        );
    }
    let (code, _, err) = run(work.path(), &["--user", "alice"], "true");
    assert_ne!(code, 0);
    assert!(
        err.contains("--user 'alice' is not UID or UID:GID"),
        "{err}"
    );
    // The job's exit status is jrt's.
    assert_eq!(run(work.path(), &[], "exit 7").0, 7);
}

#[test]
fn a_mount_target_through_a_link_in_an_earlier_mount_is_refused() {
    // isolated/link -> sub stays inside the runtime (the extractor allows it), but a later
    // mount at /opt/rt/link/inner would be made before the job's root is entered, where the
    // link could resolve elsewhere: refused, nothing run.
    let work = tempfile::tempdir().unwrap();
    let runtime_yml = "name: rt\nversion: 1.0.0\nmounts:\n  - source: isolated\n    target: /opt/rt\n  \
                       - source: data\n    target: /opt/rt/link/inner\n";
    let bytes = tgz(&[
        dir("rt/"),
        file("rt/manifest.yaml", b"name: rt\nversion: 1.0.0\n"),
        file("rt/runtime.yml", runtime_yml.as_bytes()),
        file("rt/versions.lock", b"components: {}\n"),
        dir("rt/isolated/"),
        dir("rt/isolated/sub/"),
        tarball::symlink("rt/isolated/link", "sub"),
        dir("rt/data/"),
    ]);
    let index = write_registry(work.path(), &[Published::honest("rt", "1.0.0", bytes)]);
    common::jrt_in(work.path(), &index)
        .args(["install", "rt"])
        .assert()
        .success();
    let (code, out, err) = run(work.path(), &[], "echo ran");
    assert_ne!(code, 0);
    assert!(!out.contains("ran"));
    assert!(
        err.contains("/opt/rt/link/inner") && err.contains("goes through a symbolic link"),
        "{err}"
    );
}

#[test]
fn a_bare_name_runs_what_joblet_finds_first_and_installs_say_when_that_changes() {
    let work = tempfile::tempdir().unwrap();
    let versions = ["1.3.3", "1.3.4", "1.3.10"];
    let published: Vec<Published> = versions
        .iter()
        .map(|v| Published::honest("rt", v, packages::prebuilt("rt", v, 1)))
        .collect();
    let index = write_registry(work.path(), &published);
    let jrt = || common::jrt_in(work.path(), &index);
    let bare_runs = |spec: &str| {
        let out = jrt()
            .args(["run", spec, "--", "/bin/sh", "-c", "echo $RT_VERSION"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let marked = || {
        let out = jrt().arg("list").output().unwrap();
        let listed = String::from_utf8_lossy(&out.stdout).into_owned();
        let marked: Vec<String> = listed
            .lines()
            .filter(|l| l.ends_with("(what a bare name runs)"))
            .map(str::to_string)
            .collect();
        assert_eq!(marked.len(), 1, "{listed}");
        marked[0].split_whitespace().nth(1).unwrap().to_string()
    };
    jrt().args(["install", "rt@1.3.3"]).assert().success();
    // Of {1.3.3, 1.3.4} Joblet's resolver finds 1.3.3 first: the new one does not get the name.
    let out = jrt().args(["install", "rt@1.3.4"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "rt@1.3.4 is installed, but a bare --runtime=rt runs 1.3.3: ask for --runtime=rt@1.3.4"
        ),
        "{stderr}"
    );
    assert_eq!(marked(), "1.3.3");
    assert_eq!(bare_runs("rt"), "1.3.3");
    assert_eq!(bare_runs("rt@latest"), "1.3.3");
    assert_eq!(bare_runs("rt@1.3.4"), "1.3.4");
    // 1.3.10 sorts before 1.3.3 in byte order: it takes over the bare name, and that is said,
    // with the pin that keeps 1.3.3.
    jrt().args(["remove", "rt@1.3.4"]).assert().success();
    let out = jrt().args(["install", "rt@1.3.10"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "a bare --runtime=rt now runs 1.3.10 (it ran 1.3.3); jobs that need 1.3.3 should ask \
             for --runtime=rt@1.3.3"
        ),
        "{stderr}"
    );
    assert_eq!(marked(), "1.3.10");
    assert_eq!(bare_runs("rt"), "1.3.10");
    // jrt run takes Joblet's forms only; a range is for install.
    let out = jrt()
        .args(["run", "rt@^1.3", "--", "/bin/true"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "jrt run takes what Joblet's --runtime takes: rt, rt@latest or rt@X.Y.Z; a range such \
             as '^1.3' is for jrt install"
        ),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = jrt()
        .args(["run", "rt", "--", "/bin/sh", "-c", "echo ran"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
