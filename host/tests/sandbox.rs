//! The sandbox itself, through its library API: what a confined program can see, write and
//! reach. (The hostile-plugin tests drive the same sandbox through `jrt install`.)

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use jrt_sandbox::process::Keep;
use jrt_sandbox::{Limits, Network, Spec};

/// A tree below `dir`, which is made private (0700): the staging area may sit below
/// directories only jrt's user may walk, and the sandbox must still reach its tree.
fn tree(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let t = dir.join("tree");
    std::fs::create_dir_all(&t).unwrap();
    t.canonicalize().unwrap()
}

fn spec(tree: &Path, writable: bool, network: Network) -> Spec {
    Spec {
        tree: tree.to_path_buf(),
        writable,
        network,
        read_only: Vec::new(),
        limits: Limits::default(),
        job: None,
    }
}

/// Runs `script` with /bin/sh in the sandbox; (exit code, stdout, stderr).
fn sh(spec: &Spec, script: &str) -> (Option<i32>, String, String) {
    let ran = jrt_sandbox::run(
        spec,
        Path::new("/bin/sh"),
        &["-c".to_string(), script.to_string()],
        &[("PATH".into(), "/usr/bin:/bin".into())],
        Duration::from_secs(30),
        Keep::Tail(1 << 16),
    )
    .unwrap_or_else(|e| panic!("the sandbox failed: {e}"));
    (ran.finished.code, ran.finished.stdout, ran.finished.stderr)
}

#[test]
fn the_program_sees_only_its_view_and_runs_unprivileged() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tree(tmp.path());
    std::fs::write(t.join("inside.txt"), "hello").unwrap();
    let s = spec(&t, true, Network::None);
    let (code, out, err) = sh(
        &s,
        "ls -a /; echo ---; cat inside.txt; echo; pwd; id -u; ls /proc | grep -c '^[0-9]'; ls /dev",
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let (root, rest) = out.split_once("---\n").unwrap();
    let mut entries: Vec<&str> = root.lines().filter(|l| *l != "." && *l != "..").collect();
    entries.sort();
    // The tree's own top directory appears (it is mounted at its own path) and nothing else
    // beyond the system directories.
    let top = t
        .components()
        .nth(1)
        .unwrap()
        .as_os_str()
        .to_str()
        .unwrap()
        .to_string();
    for e in &entries {
        assert!(
            [
                "bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp",
                "usr"
            ]
            .contains(e)
                || *e == top,
            "unexpected entry /{e} in the sandbox's root: {entries:?}"
        );
    }
    assert!(!entries.contains(&"root") && !entries.contains(&"home"));
    let lines: Vec<&str> = rest.lines().collect();
    assert_eq!(lines[0], "hello");
    assert_eq!(
        lines[1],
        t.display().to_string(),
        "the working directory is the tree"
    );
    let uid: u32 = lines[2].parse().unwrap();
    assert_ne!(uid, 0, "never root inside");
    // SAFETY: no side effects.
    if unsafe { libc::geteuid() } == 0 {
        assert_eq!(uid, jrt_sandbox::SANDBOX_ID);
    }
    let pids: u32 = lines[3].parse().unwrap();
    assert!(
        pids <= 4,
        "a fresh /proc of the new PID namespace shows few processes: {pids}"
    );
    let mut devs: Vec<&str> = lines[4..].to_vec();
    devs.sort();
    assert_eq!(
        devs,
        [
            "fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout", "urandom", "zero"
        ]
    );
}

#[test]
fn writes_reach_only_the_tree_and_the_private_tmp() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tree(tmp.path());
    let s = spec(&t, true, Network::None);
    let outside = tmp.path().join("marker");
    let script = format!(
        "echo in > made.txt && echo t > /tmp/t && \
         (echo x > {0} ; echo x > /etc/marker ; echo x > /usr/marker ; echo x > /marker) 2>/dev/null; \
         ls {0} 2>/dev/null; exit 0",
        outside.display()
    );
    let (code, out, err) = sh(&s, &script);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(std::fs::read_to_string(t.join("made.txt")).unwrap(), "in\n");
    assert!(!outside.exists(), "a write next to the tree got out");
    assert!(!Path::new("/etc/marker").exists() && !Path::new("/marker").exists());

    // Probes see the tree read-only.
    let ro = spec(&t, false, Network::None);
    let (code, _, _) = sh(&ro, "echo x > made-by-probe.txt");
    assert_ne!(code, Some(0));
    assert!(!t.join("made-by-probe.txt").exists());
}

#[test]
fn the_network_is_only_there_when_declared() {
    use std::io::Read;
    let tmp = tempfile::tempdir().unwrap();
    let t = tree(tmp.path());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    // bash's /dev/tcp: a plain connect(2), no other tool needed.
    let connect = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo hi >&3");
    let run = |network: Network| {
        let s = spec(&t, true, network);
        let ran = jrt_sandbox::run(
            &s,
            Path::new("/bin/bash"),
            &["-c".to_string(), connect.clone()],
            &[],
            Duration::from_secs(10),
            Keep::Tail(4096),
        )
        .unwrap();
        ran.finished.code
    };
    assert_ne!(run(Network::None), Some(0), "no network was declared");
    std::thread::sleep(Duration::from_millis(100));
    assert!(listener.accept().is_err(), "the listener saw a connection");

    // Declared, but for another port: Landlock refuses it where the kernel can.
    let other = port.wrapping_add(1).max(1);
    let refused = run(Network::Ports(vec![other])) != Some(0);
    if jrt_sandbox::layers().landlock_network.active {
        assert!(
            refused,
            "Landlock let a connect to an undeclared port through"
        );
    }

    assert_eq!(
        run(Network::Ports(vec![port])),
        Some(0),
        "the declared port is reachable"
    );
    listener.set_nonblocking(false).unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    let mut got = String::new();
    conn.read_to_string(&mut got).unwrap();
    assert_eq!(got, "hi\n");
}

#[test]
fn escapes_through_the_kernel_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tree(tmp.path());
    let s = spec(&t, true, Network::None);
    // New namespaces (seccomp and no capabilities), mounts, and a setuid file.
    let (code, out, err) = sh(
        &s,
        "unshare -U true 2>/dev/null && echo unshared; \
         mount -t tmpfs none /tmp 2>/dev/null && echo mounted; \
         cp /bin/true t && chmod 4755 t && ls -l t | cut -c1-10; \
         grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status",
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        !out.contains("unshared") && !out.contains("mounted"),
        "{out}"
    );
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
    assert!(out.contains("CapBnd:\t0000000000000000"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
}

#[test]
fn resource_caps_hold() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tree(tmp.path());
    let mut s = spec(&t, true, Network::None);
    s.limits.file_size = 1 << 20;
    s.limits.processes = 64;
    // A file past the size cap stops at the cap.
    let (_, out, err) = sh(&s, "head -c 3000000 /dev/zero > big; wc -c < big");
    assert_eq!(out.trim(), "1048576", "{out}{err}");
    // A fork bomb runs out of processes and the step still ends (by the timeout at worst).
    let started = std::time::Instant::now();
    jrt_sandbox::run(
        &s,
        Path::new("/bin/sh"),
        &[
            "-c".into(),
            "b() { b | b & }; b; sleep 1; echo survived # sandbox-bomb-marker".into(),
        ],
        &[],
        Duration::from_secs(5),
        Keep::Tail(4096),
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    // Nothing of it is left on the host.
    assert!(
        common::none_left("sandbox-bomb-marker"),
        "sandbox processes outlived it"
    );
}
