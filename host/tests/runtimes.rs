//! The families' real plans, executed by the host end to end through the CLI: a host CPython
//! made into a runtime with a package from a local wheel directory (no package index), a JDK
//! fetched from a local HTTP server, refusals that leave nothing behind, and `jrt run`
//! inside the results the way Joblet mounts them.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/python.rs"]
mod python;
#[path = "common/server.rs"]
mod server;
#[path = "common/tarball.rs"]
mod tarball;

use std::path::Path;
use std::process::Command as Std;

use predicates::prelude::*;

/// Writes a minimal wheel `jrtfixture-1.0.0-py3-none-any.whl` into `dir` and returns its
/// sha256.
fn make_wheel(dir: &Path) -> String {
    python::wheel(
        dir,
        "jrtfixture",
        "1.0.0",
        "jrtfixture",
        "GREETING = 'hello from the runtime'\n",
        &[],
    )
}

/// A runtime source directory `<runtimes>/<name>/manifest.yaml`.
fn runtime(runtimes: &Path, name: &str, body: &str) {
    let d = runtimes.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("manifest.yaml"),
        format!(
            "name: {name}\nversion: 1.0.0\ndescription: test runtime\n\
             platforms: [ubuntu-amd64, ubuntu-arm64, rhel-amd64, rhel-arm64, amzn-amd64, amzn-arm64]\n{body}"
        ),
    )
    .unwrap();
}

/// `jrt` on `<d>/root` with the runtime sources in `<d>/runtimes`, pip pointed at the local
/// wheels only, and HOME kept so pyenv-style interpreter shims keep working.
fn jrt(d: &Path) -> assert_cmd::Command {
    let mut cmd = common::jrt_in(d, &d.join("runtimes"));
    if let Some(home) = std::env::var_os("HOME") {
        cmd.env("HOME", home);
    }
    cmd.env("PIP_NO_INDEX", "1")
        .env("PIP_FIND_LINKS", d.join("wheels"));
    cmd
}

/// What a `jrt run` printed on stdout, after checking that it succeeded (it needs the same
/// namespaces as setup programs, which these tests need anyway: no skipping).
fn run_stdout(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "jrt run failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_host_cpython_becomes_a_runtime_with_only_its_own_packages() {
    let version = python::host_version();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let sha = make_wheel(&d.join("wheels"));
    let runtimes = d.join("runtimes");
    runtime(
        &runtimes,
        "py",
        &format!(
            "family: [python]\npython_version: {version}\nallow_host_interpreter: true\n\
             packages:\n  - jrtfixture==1.0.0 --hash=sha256:{sha}\n"
        ),
    );
    jrt(d)
        .args(["install", "py"])
        .assert()
        .success()
        .stdout(predicate::str::contains("installed py@1.0.0"));
    let tree = d.join("root/py/1.0.0");
    let lock = std::fs::read_to_string(tree.join("versions.lock")).unwrap();
    assert!(lock.contains(&format!("python: {version}")), "{lock}");
    assert!(
        lock.contains("name: jrtfixture\n  version: 1.0.0"),
        "{lock}"
    );
    // Only what the runtime installed: pip and setuptools from the interpreter's own bundled
    // wheels, and the pin. Nothing of the host's site-packages.
    let names: Vec<&str> = lock
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name: "))
        .collect();
    for name in &names {
        assert!(
            ["pip", "setuptools", "jrtfixture"].contains(name),
            "{name} in versions.lock is not the runtime's: {lock}"
        );
    }
    assert!(
        !tree
            .join("isolated/usr/local/lib")
            .read_dir()
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libc.so")),
        "the C library is never copied into a runtime"
    );
    // Scripts name the job's interpreter, not the staging tree.
    let pip = std::fs::read_to_string(tree.join("isolated/usr/local/bin/pip3")).unwrap();
    assert!(pip.starts_with("#!/usr/local/bin/python"), "{pip}");
    // ...and pip's RECORD names the rewritten bytes (no trace of the staging path).
    let site = tree.join(format!(
        "isolated/usr/local/lib/python{}/site-packages",
        version.rsplit_once('.').unwrap().0
    ));
    let record = std::fs::read_dir(&site)
        .unwrap()
        .flatten()
        .find(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("pip-") && n.ends_with(".dist-info")
        })
        .map(|e| std::fs::read_to_string(e.path().join("RECORD")).unwrap())
        .unwrap();
    let line = record
        .lines()
        .find(|l| l.starts_with("../../../bin/pip3,"))
        .unwrap();
    let digest = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(pip.as_bytes());
        let out = Std::new("python3")
            .args([
                "-c",
                "import base64,sys; print(base64.urlsafe_b64encode(bytes.fromhex(sys.argv[1])).rstrip(b'=').decode())",
            ])
            .arg(hex::encode(d))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert_eq!(
        line,
        format!("../../../bin/pip3,sha256={digest},{}", pip.len())
    );
    jrt(d).args(["verify", "py"]).assert().success();

    let out = jrt(d)
        .args([
            "run",
            "py",
            "--",
            "python3",
            "-c",
            "import sys, jrtfixture; print(sys.prefix); print(sys.version.split()[0]); \
             print(jrtfixture.GREETING); print(any('site-packages' in p and not p.startswith('/usr/local') for p in sys.path))",
        ])
        .output()
        .unwrap();
    let stdout = run_stdout(&out);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "/usr/local",
            version.as_str(),
            "hello from the runtime",
            "False"
        ]
    );
}

#[test]
fn a_wrong_hash_or_a_wrong_interpreter_version_installs_nothing() {
    let version = python::host_version();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    make_wheel(&d.join("wheels"));
    let runtimes = d.join("runtimes");
    let zeros = "0".repeat(64);
    runtime(
        &runtimes,
        "badhash",
        &format!(
            "family: [python]\npython_version: {version}\nallow_host_interpreter: true\n\
             packages:\n  - jrtfixture==1.0.0 --hash=sha256:{zeros}\n"
        ),
    );
    jrt(d)
        .args(["install", "badhash"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("HASHES")
                .and(predicate::str::contains("Nothing was installed")),
        );
    assert!(!d.join("root/badhash").exists());

    // Never label another version: a host 3.x.y is not 3.x.(y+1), and with no pinned build
    // the plan is refused before anything runs.
    let mut parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap()).collect();
    parts[2] += 1;
    let other = format!("{}.{}.{}", parts[0], parts[1], parts[2]);
    runtime(
        &runtimes,
        "otherpy",
        &format!("family: [python]\npython_version: {other}\nallow_host_interpreter: true\n"),
    );
    jrt(d)
        .args(["install", "otherpy"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains(format!("needs CPython {other}"))
                .and(predicate::str::contains(format!("cpython {version}"))),
        );
    assert!(!d.join("root/otherpy").exists());
    let staging: Vec<_> = d.join("root/.jrt/staging").read_dir().unwrap().collect();
    assert!(staging.is_empty(), "staging left behind: {staging:?}");
}

#[test]
fn a_pinned_jdk_is_fetched_verified_and_captured() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let server = server::Server::start();
    let jdk = packages::fake_jdk();
    let sha = jrt_fs::sha256_hex(&jdk);
    server.put("/jdk.tar.gz", jdk);
    let url = server.url("/jdk.tar.gz");
    let runtimes = d.join("runtimes");
    runtime(
        &runtimes,
        "jdk21",
        &format!(
            "family: [jdk]\njava_version: 21.0.1\nallow_host_jdk: false\njdk_builds:\n  \
             amd64: {url}#sha256={sha}\n  arm64: {url}#sha256={sha}\n"
        ),
    );
    jrt(d).args(["install", "jdk21"]).assert().success();
    let tree = d.join("root/jdk21/1.0.0");
    let lock = std::fs::read_to_string(tree.join("versions.lock")).unwrap();
    assert!(
        lock.contains("java: 21.0.1")
            && lock.contains("java-build: 21.0.1+12-LTS")
            && lock.contains("vendor: Eclipse Adoptium"),
        "{lock}"
    );
    let yml = std::fs::read_to_string(tree.join("runtime.yml")).unwrap();
    assert!(
        yml.contains("JAVA_HOME: /opt/jdk") && yml.contains("target: /opt/jdk"),
        "{yml}"
    );

    let out = jrt(d)
        .args([
            "run",
            "jdk21",
            "--",
            "sh",
            "-c",
            "java -version; echo $JAVA_HOME",
        ])
        .output()
        .unwrap();
    assert_eq!(run_stdout(&out).trim(), "/opt/jdk");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Temurin-21.0.1+12"), "{stderr}");

    // The same runtime pinned to other bytes: refused at the fetch, nothing installed.
    runtime(
        &runtimes,
        "jdk21bad",
        &format!(
            "family: [jdk]\njava_version: 21.0.1\njdk_builds:\n  \
             amd64: {url}#sha256={0}\n  arm64: {url}#sha256={0}\n",
            "1".repeat(64)
        ),
    );
    jrt(d)
        .args(["install", "jdk21bad"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("checksum mismatch"));
    assert!(!d.join("root/jdk21bad").exists());
}

#[test]
fn run_refuses_what_is_not_installed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir_all(d.join("runtimes")).unwrap();
    jrt(d)
        .args(["run", "nothing", "--", "true"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("nothing is not installed"));
}

#[test]
fn the_host_finds_its_own_interpreters_and_allows_only_their_files() {
    let version = python::host_version();
    let found = jrt_install::facts::interpreters::probe();
    let reports: Vec<serde_json::Value> = found
        .tools
        .iter()
        .filter(|t| t.name == "host-python")
        .map(|t| serde_json::from_str(&t.stdout).unwrap())
        .collect();
    let me = reports
        .iter()
        .find(|r| r["version"] == version.as_str())
        .unwrap_or_else(|| panic!("python3 {version} not among {reports:?}"));
    let stdlib = format!("{}/", me["stdlib"].as_str().unwrap());
    assert!(
        found.copy_allowed.contains(&stdlib),
        "{:?}",
        found.copy_allowed
    );
    assert!(
        found
            .copy_allowed
            .contains(&me["executable"].as_str().unwrap().to_string())
    );
    // Nothing broad: no prefix is a bare system directory.
    for allowed in &found.copy_allowed {
        assert!(
            !["/", "/usr/", "/usr/lib/", "/opt/"].contains(&allowed.as_str()),
            "{allowed}"
        );
    }
}

#[test]
fn a_manifest_without_family_or_upstream_fields_keeps_the_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    runtime(&d.join("runtimes"), "mystery", "");
    jrt(d)
        .args(["install", "mystery"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("names no family"));
    assert!(!d.join("root/mystery").exists());
}

#[test]
fn plan_fetches_go_through_a_mirror_and_a_mirror_without_the_file_installs_nothing() {
    // The JDK is pinned at GitHub, which this machine cannot reach; a mirror directory holds
    // it under the same path. Its sha256 is still the manifest's.
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let jdk = packages::fake_jdk();
    let sha = jrt_fs::sha256_hex(&jdk);
    let prefix = "https://github.com/adoptium/temurin21-binaries/releases/download/";
    let file = "jdk-21.0.1+12/OpenJDK21U-jdk_x64_linux_hotspot_21.0.1_12.tar.gz";
    let mirror = d.join("mirror");
    std::fs::create_dir_all(mirror.join("jdk-21.0.1+12")).unwrap();
    std::fs::write(mirror.join(file), &jdk).unwrap();
    let empty = d.join("empty-mirror");
    std::fs::create_dir_all(&empty).unwrap();
    runtime(
        &d.join("runtimes"),
        "jdk21",
        &format!(
            "family: [jdk]\njava_version: 21.0.1\nallow_host_jdk: false\njdk_builds:\n  \
             amd64: {prefix}{file}#sha256={sha}\n  arm64: {prefix}{file}#sha256={sha}\n"
        ),
    );
    let with_mirror = |dir: &Path| {
        let mut cmd = jrt(d);
        cmd.env("JRT_MIRROR", format!("{prefix}={}", dir.display()));
        cmd
    };
    // --dry-run shows the URL after mirroring.
    with_mirror(&mirror)
        .args(["install", "--dry-run", "jdk21"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "fetch file://{}/{file} (mirror of {prefix}{file})",
            mirror.display()
        )));
    // A mirror that lacks the file: one error naming the mirrored path, nothing left.
    let out = with_mirror(&empty)
        .args(["install", "jdk21"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("{}/{file}", empty.display()))
            && stderr.contains(&format!("the mirror of {prefix}{file}")),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(!d.join("root/jdk21").exists());
    // With the file there, through the same mirror set in config.yaml.
    let config = d.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "mirrors:\n  - from: {prefix}\n    to: {}\n",
            mirror.display()
        ),
    )
    .unwrap();
    jrt(d)
        .arg("--config")
        .arg(&config)
        .args(["install", "jdk21"])
        .assert()
        .success();
    let lock = std::fs::read_to_string(d.join("root/jdk21/1.0.0/versions.lock")).unwrap();
    assert!(lock.contains("java: 21.0.1"), "{lock}");

    // Without a mirror, an unreachable build (pinned to other bytes, so the fetch cache
    // cannot answer): the error names the URL and suggests a mirror.
    let sha = "ab".repeat(32);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let far = format!("http://{}/jdk.tar.gz", closed.local_addr().unwrap());
    drop(closed);
    runtime(
        &d.join("runtimes"),
        "jdkfar",
        &format!(
            "family: [jdk]\njava_version: 21.0.1\nallow_host_jdk: false\njdk_builds:\n  \
             amd64: {far}#sha256={sha}\n  arm64: {far}#sha256={sha}\n"
        ),
    );
    jrt(d)
        .args(["install", "jdkfar"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains(far.as_str())
                .and(predicate::str::contains("set a mirror"))
                .and(predicate::str::contains("JRT_MIRROR")),
        );
    assert!(!d.join("root/jdkfar").exists());
}
