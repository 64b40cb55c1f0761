//! Input caps, through the CLI: what jrt refuses to read whole, however a package, a registry
//! or a manifest asks it to.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/server.rs"]
mod server;
#[path = "common/tarball.rs"]
mod tarball;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use packages::*;
use server::{Fault, Server};

/// Runs `cmd` to its end and returns (status, stderr, peak RSS in KiB), the RSS from the
/// kernel's accounting of that one child.
// Waited for with wait4, which std's Child cannot do (it has no rusage).
#[allow(clippy::zombie_processes)]
fn run_measured(mut cmd: std::process::Command) -> (std::process::ExitStatus, String, i64) {
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).unwrap();
        s
    });
    let mut status = 0;
    // SAFETY: plain out-parameters; the child is ours and has not been waited for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::wait4(pid, &mut status, 0, &mut usage) }, pid);
    (
        std::process::ExitStatus::from_raw(status),
        reader.join().unwrap(),
        usage.ru_maxrss,
    )
}

/// A package whose first header is a GNU long name declaring `size` bytes, followed by that
/// many bytes. Built as many small gzip members (a gzip file may be a concatenation), so a
/// gigabyte of it is a megabyte on disk and fast to make.
fn long_name_package(size: u64) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_path("././@LongLink").unwrap();
    header.set_entry_type(tar::EntryType::GNULongName);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    let mut out = tarball::gzip(header.as_bytes());
    let chunk = tarball::gzip(&vec![b'a'; 1 << 20]);
    for _ in 0..size.div_ceil(1 << 20) {
        out.extend_from_slice(&chunk);
    }
    out
}

#[test]
fn a_gigabyte_gnu_long_name_fails_at_the_cap_with_bounded_memory() {
    let work = tempfile::tempdir().unwrap();
    let bytes = long_name_package(1 << 30);
    let index = write_registry(work.path(), &[Published::honest("rt", "1.0.0", bytes)]);
    let mut cmd = common::jrt_std_in(work.path(), &index);
    cmd.args(["install", "rt"]);
    let (status, stderr, peak_kib) = run_measured(cmd);
    assert!(!status.success());
    assert!(
        stderr.contains("a GNU long name of 1073741824 bytes is over the 4097-byte limit"),
        "{stderr}"
    );
    assert!(
        peak_kib < 100 << 10,
        "peak RSS {} MiB, over 100 MiB",
        peak_kib >> 10
    );
    eprintln!("peak RSS of the refused install: {} MiB", peak_kib >> 10);
    assert!(!work.path().join("root/rt").exists());
}

#[test]
fn a_100_mb_registry_json_is_refused_local_or_served() {
    let work = tempfile::tempdir().unwrap();
    let huge = {
        // Valid JSON, so only its size can be the reason.
        let mut v = b"{\"version\": \"1\", \"runtimes\": {}, \"pad\": \"".to_vec();
        v.resize(100_000_000, b'x');
        v.extend_from_slice(b"\"}");
        v
    };
    let local = work.path().join("registry.json");
    std::fs::write(&local, &huge).unwrap();
    let server = Server::start();
    server.put("registry.json", huge);
    let url = server.url("registry.json");
    // Declared by Content-Length (refused before the body is read), undeclared (refused at
    // the cap while reading), and a local file.
    for (registry, fault) in [
        (url.as_str(), None),
        (url.as_str(), Some(Fault::CutAfterNoLength(100_000_002))),
        (local.to_str().unwrap(), None),
    ] {
        if let Some(f) = fault {
            server.faults("registry.json", vec![f]);
        }
        let mut cmd = common::jrt_std_in(work.path(), Path::new(registry));
        cmd.args(["list", "--available"]);
        let (status, stderr, peak_kib) = run_measured(cmd);
        assert!(!status.success(), "{registry}");
        assert!(
            stderr.contains("is larger than 67108864 bytes"),
            "{registry}: {stderr}"
        );
        assert!(peak_kib < 200 << 10, "peak RSS {} MiB", peak_kib >> 10);
    }
}

#[test]
fn deeply_nested_registries_and_manifests_are_refused_naming_the_cap() {
    let work = tempfile::tempdir().unwrap();
    let deep = format!(
        "{{\"version\": \"1\", \"runtimes\": {{}}, \"x\": {}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let index = work.path().join("registry.json");
    std::fs::write(&index, deep).unwrap();
    let out = common::jrt_in(work.path(), &index)
        .args(["list", "--available"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("nests deeper than 32 levels"), "{stderr}");

    let rt = work.path().join("runtimes/deep");
    std::fs::create_dir_all(&rt).unwrap();
    let mut manifest = "name: deep\nversion: 1.0.0\nfamily: python\nextra: ".to_string();
    manifest.push_str(&"[".repeat(100));
    manifest.push_str(&"]".repeat(100));
    manifest.push('\n');
    std::fs::write(rt.join("manifest.yaml"), manifest).unwrap();
    let out = common::jrt_in(work.path(), &index)
        .arg("validate")
        .arg(&rt)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("manifest.yaml") && stderr.contains("nests deeper than 32 levels"),
        "{stderr}"
    );
}
