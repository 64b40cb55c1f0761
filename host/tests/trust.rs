//! Trust by default, through the CLI: what jrt refuses to take from the network, and what the
//! user must opt in to.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/server.rs"]
mod server;
#[path = "common/tarball.rs"]
mod tarball;

use std::net::{IpAddr, UdpSocket};

use packages::*;
use server::{Fault, Server};

/// This machine's address on its network (not loopback): "connecting" a UDP socket picks the
/// interface without sending anything.
fn non_loopback_ip() -> IpAddr {
    let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
    socket
        .connect("192.0.2.1:9")
        .expect("this machine has a network interface besides loopback");
    let ip = socket.local_addr().unwrap().ip();
    assert!(
        !ip.is_loopback() && !ip.is_unspecified(),
        "no non-loopback address: {ip}"
    );
    ip
}

/// A registry with one prebuilt package, served over plain http at `host`.
fn served(server: &Server, dir: &std::path::Path) {
    let bytes = prebuilt("rt", "1.0.0", 3);
    let index = write_registry(dir, &[Published::honest("rt", "1.0.0", bytes.clone())]);
    server.put("rt-1.0.0.tar.gz", bytes);
    server.put("registry.json", std::fs::read(index).unwrap());
}

#[test]
fn plain_http_to_another_machine_is_refused_unless_the_user_opts_in() {
    let ip = non_loopback_ip();
    let server = Server::start_on("0.0.0.0", &ip.to_string());
    let work = tempfile::tempdir().unwrap();
    served(&server, work.path());
    let url = server.url("registry.json");

    let out = common::jrt_in(work.path(), std::path::Path::new(&url))
        .args(["install", "rt"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("plain http to another machine is refused")
            && stderr.contains("--allow-insecure-http"),
        "{stderr}"
    );
    assert!(
        server.log().is_empty(),
        "jrt contacted the server before refusing"
    );
    assert!(!work.path().join("root/rt/1.0.0").exists());

    // With the opt-in, on the command line or in the config file, it installs.
    common::jrt_in(work.path(), std::path::Path::new(&url))
        .args(["--allow-insecure-http", "install", "rt"])
        .assert()
        .success();
    assert!(work.path().join("root/rt/1.0.0/runtime.yml").is_file());
    let config = work.path().join("config.yaml");
    std::fs::write(&config, "allow_insecure_http: true\n").unwrap();
    common::jrt_in(work.path(), std::path::Path::new(&url))
        .arg("--config")
        .arg(&config)
        .args(["install", "--force", "rt"])
        .assert()
        .success();
}

#[test]
fn a_registry_served_over_http_cannot_point_at_local_files() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let bytes = prebuilt("rt", "1.0.0", 3);
    let local = work.path().join("rt.tar.gz");
    std::fs::write(&local, &bytes).unwrap();
    let index = serde_json::json!({
        "version": "1",
        "runtimes": { "rt": { "1.0.0": {
            "version": "1.0.0",
            "description": "points at a local file",
            "download_url": url::Url::from_file_path(&local).unwrap().to_string(),
            "checksum": format!("sha256:{}", sha256(&bytes)),
            "size": bytes.len(),
            "platforms": ["ubuntu-amd64", "ubuntu-arm64", "rhel-amd64", "rhel-arm64", "amzn-amd64", "amzn-arm64"],
        }}}
    });
    server.put("registry.json", serde_json::to_vec(&index).unwrap());
    let out = common::jrt_in(
        work.path(),
        std::path::Path::new(&server.url("registry.json")),
    )
    .args(["install", "rt"])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("is a local file, and the registry") && stderr.contains("is not"),
        "{stderr}"
    );
    assert!(!work.path().join("root/rt/1.0.0").exists());
}

#[test]
fn a_drip_fed_registry_or_package_hits_the_deadline_the_config_sets() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    served(&server, work.path());
    let url = server.url("registry.json");
    // A deadline of 1 s plus the size at 1 MiB/s: a byte every 20 ms never makes it.
    let config = work.path().join("config.yaml");
    std::fs::write(
        &config,
        "download_min_rate: 1048576\ndownload_grace_seconds: 1\n",
    )
    .unwrap();
    let drip = || Fault::Drip(std::time::Duration::from_millis(20));
    let install = || {
        common::jrt_in(work.path(), std::path::Path::new(&url))
            .arg("--config")
            .arg(&config)
            .args(["install", "rt"])
            .output()
            .unwrap()
    };
    for path in ["registry.json", "rt-1.0.0.tar.gz"] {
        server.faults(path, vec![drip()]);
        let started = std::time::Instant::now();
        let out = install();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{path}: installed");
        assert!(
            stderr.contains("the download deadline passed") && stderr.contains("download_min_rate"),
            "{path}: {stderr}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert!(!work.path().join("root/rt/1.0.0").exists());
    }
    // A rate of 0 would mean no deadline at all: refused, naming the key.
    std::fs::write(&config, "download_min_rate: 0\n").unwrap();
    let out = install();
    assert!(String::from_utf8_lossy(&out.stderr).contains("download_min_rate must be at least 1"));
    // And a normal server with the default deadline installs.
    std::fs::write(&config, "").unwrap();
    assert!(install().status.success());
}

/// Runs `jrt install rt` against `url` from `work`.
fn install(work: &std::path::Path, url: &str) -> std::process::Output {
    common::jrt_in(work, std::path::Path::new(url))
        .args(["install", "rt"])
        .output()
        .unwrap()
}

#[test]
fn a_root_or_cache_others_can_write_is_refused_when_running_as_root() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    served(&server, work.path());
    let url = server.url("registry.json");
    let root = work.path().join("root");
    let cache = work.path().join("cache");
    std::fs::create_dir_all(root.join(".jrt")).unwrap();
    std::fs::create_dir_all(&cache).unwrap();
    let as_root = unsafe { libc::geteuid() } == 0;
    for (dir, mode) in [(&root, 0o775), (&root.join(".jrt"), 0o757), (&cache, 0o770)] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = install(work.path(), &url);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if as_root {
            assert!(!out.status.success(), "{}: installed", dir.display());
            assert!(
                stderr.contains(&format!("{} is writable by", dir.display()))
                    && stderr.contains(&format!("chmod go-w {}", dir.display())),
                "{stderr}"
            );
            assert!(server.log().is_empty(), "fetched before refusing");
            assert!(!root.join("rt/1.0.0").exists());
        } else {
            // Nobody to guard against but the user: their own modes are theirs to choose.
            assert!(out.status.success(), "{stderr}");
            std::fs::remove_dir_all(root.join("rt")).unwrap();
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    if as_root {
        // Owned by another user.
        std::os::unix::fs::chown(&cache, Some(65534), None).unwrap();
        let stderr = String::from_utf8_lossy(&install(work.path(), &url).stderr).to_string();
        assert!(
            stderr.contains("is owned by uid 65534, not root")
                && stderr.contains(&format!("chown root {}", cache.display())),
            "{stderr}"
        );
        std::os::unix::fs::chown(&cache, Some(0), None).unwrap();
    }
    assert!(install(work.path(), &url).status.success());
}

#[test]
fn a_symlinked_lock_or_part_file_is_not_followed() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    served(&server, work.path());
    let url = server.url("registry.json");
    let victim = work.path().join("victim");
    let locks = work.path().join("root/.jrt/locks");
    std::fs::create_dir_all(&locks).unwrap();
    let lock = locks.join("rt@1.0.0.lock");
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    let out = install(work.path(), &url);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("rt@1.0.0.lock") && stderr.contains("symbolic link"),
        "{stderr}"
    );
    assert!(!victim.exists(), "the lock's link was followed");
    std::fs::remove_file(&lock).unwrap();

    // A `.part` file (where a download is collected) planted as a link to a file the
    // attacker wants overwritten.
    std::fs::write(&victim, b"precious").unwrap();
    let bytes = prebuilt("rt", "1.0.0", 3);
    let packages = work.path().join("cache/packages");
    std::fs::create_dir_all(&packages).unwrap();
    let part = packages.join(format!("{}.tar.gz.part", sha256(&bytes)));
    std::os::unix::fs::symlink(&victim, &part).unwrap();
    let out = install(work.path(), &url);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(".tar.gz.part") && stderr.contains("symbolic link"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(!work.path().join("root/rt/1.0.0").exists());
}

#[test]
fn a_pip_option_in_packages_is_refused_before_anything_is_fetched() {
    // A source package from an http registry whose manifest slips an index of its own into
    // `packages`: refused by the python plugin's checks at install time, before a plan is
    // asked for, so neither its interpreter build nor anything else is fetched.
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let build = server.url("cpython.tar.gz");
    let manifest = format!(
        "name: py\nversion: 1.0.0\nfamily: [python]\npython_version: 3.11.7\n\
         python_builds:\n  amd64: {build}#sha256={zeros}\n  arm64: {build}#sha256={zeros}\n\
         packages:\n  - numpy==1.26.4 --index-url=https://evil.example/simple\n",
        zeros = "0".repeat(64)
    );
    let bytes = tarball::tgz(&[
        tarball::dir("py/"),
        tarball::file("py/manifest.yaml", manifest.as_bytes()),
    ]);
    let index = write_registry(
        work.path(),
        &[Published::honest("py", "1.0.0", bytes.clone())],
    );
    server.put("py-1.0.0.tar.gz", bytes);
    server.put("registry.json", std::fs::read(index).unwrap());
    let out = common::jrt_in(
        work.path(),
        std::path::Path::new(&server.url("registry.json")),
    )
    .args(["install", "py"])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("packages[0]") && stderr.contains("--index-url"),
        "{stderr}"
    );
    assert!(
        server.requests_for("cpython.tar.gz").is_empty(),
        "the interpreter build was fetched"
    );
    assert!(!work.path().join("root/py").exists());
}
