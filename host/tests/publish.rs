//! Build and publish, round trip: reproducible source and prebuilt packages, `registry add`
//! with immutable versions, `release`, minisign signatures (checked by the minisign CLI when
//! it is installed, as `.ci/run` does), and a client installing from the signed registry
//! served on 127.0.0.1, refusing tampering, unknown keys, expiry and rollback.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/server.rs"]
mod server;
#[path = "common/tarball.rs"]
mod tarball;

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use predicates::prelude::*;

/// `runtimes/jdkrt/manifest.yaml` fetching the fake JDK from `server`.
fn runtime_dir(d: &Path, server: &server::Server, version: &str) -> PathBuf {
    let jdk = packages::fake_jdk();
    let sha = jrt_fs::sha256_hex(&jdk);
    server.put("/jdk.tar.gz", jdk);
    let url = server.url("/jdk.tar.gz");
    let rt = d.join("runtimes/jdkrt");
    std::fs::create_dir_all(&rt).unwrap();
    std::fs::write(
        rt.join("manifest.yaml"),
        format!(
            "# a test runtime\nname: jdkrt\nversion: {version}\ndescription: a JDK\nfamily: [jdk]\n\
             java_version: 21.0.1\nplatforms: [ubuntu-amd64, rhel-amd64]\njdk_builds:\n  \
             amd64: {url}#sha256={sha}\n  arm64: {url}#sha256={sha}\n"
        ),
    )
    .unwrap();
    rt
}

fn jrt(d: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("jrt").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("JRT_SIGNING_PASSWORD", PASSWORD)
        .current_dir(d)
        .arg("--root")
        .arg(d.join("root"))
        .arg("--cache-dir")
        .arg(common::cache_with_compiled(d));
    cmd
}

fn build(d: &Path, rt: &Path, out: &str, prebuilt: bool) -> Vec<serde_json::Value> {
    let mut cmd = jrt(d);
    cmd.args(["--json", "build", "--out", out]);
    if prebuilt {
        cmd.args(["--prebuilt", "--platform", "ubuntu-amd64"]);
    }
    let out = cmd.arg(rt).assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap()
}

/// `runtime_dir` at 1.0.0, built as a source package and as an ubuntu-amd64 prebuilt into
/// `dist/`.
fn built_runtime(d: &Path, server: &server::Server) -> PathBuf {
    let rt = runtime_dir(d, server, "1.0.0");
    build(d, &rt, "dist", false);
    build(d, &rt, "dist", true);
    rt
}

/// `jrt registry add --index INDEX --base-url BASE PACKAGES...` in `d`.
fn registry_add(d: &Path, index: &str, base: &str, packages: &[&str]) -> assert_cmd::Command {
    let mut cmd = jrt(d);
    cmd.args(["registry", "add", "--index", index, "--base-url", base])
        .args(packages);
    cmd
}

/// The password of the test keys (jrt reads it from JRT_SIGNING_PASSWORD).
const PASSWORD: &str = "correct horse";

/// A password-protected minisign key pair in the CLI's file format:
/// `(secret key file, public key file)`.
fn keypair(d: &Path, name: &str) -> (PathBuf, PathBuf) {
    let kp = minisign::KeyPair::generate_encrypted_keypair(Some(PASSWORD.into())).unwrap();
    let sk = d.join(format!("{name}.key"));
    let pk = d.join(format!("{name}.pub"));
    std::fs::write(&sk, kp.sk.to_box(None).unwrap().into_string()).unwrap();
    std::fs::write(&pk, kp.pk.to_box().unwrap().into_string()).unwrap();
    (sk, pk)
}

/// `jrt registry sign --index INDEX --key KEY` in `d`, which must succeed.
fn sign(d: &Path, index: &str, key: &Path) {
    jrt(d)
        .args(["registry", "sign", "--index", index, "--key"])
        .arg(key)
        .assert()
        .success();
}

/// The minisign CLI checks `file` against its `.minisig` with the public key `pk`.
fn minisign_verifies(file: &Path, pk: &Path) {
    let out = Std::new("minisign")
        .args(["-V", "-m"])
        .arg(file)
        .arg("-p")
        .arg(pk)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "minisign -V {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn minisign_cli() -> bool {
    Std::new("minisign").arg("-v").output().is_ok()
}

#[test]
fn builds_are_byte_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let server = server::Server::start();
    let rt = runtime_dir(d, &server, "1.0.0");
    let a = build(d, &rt, "a", false);
    let b = build(d, &rt, "b", false);
    assert_eq!(a[0]["sha256"], b[0]["sha256"]);
    assert!(d.join("a/jdkrt-1.0.0.tar.gz").is_file());
    let a = build(d, &rt, "a", true);
    let b = build(d, &rt, "b", true);
    assert_eq!(a[0]["sha256"], b[0]["sha256"], "prebuilt packages differ");
    let lock = std::fs::read_to_string(d.join("a/jdkrt-1.0.0-ubuntu-amd64.versions.lock")).unwrap();
    assert!(
        lock.contains("java: 21.0.1") && lock.contains("platform: ubuntu-amd64"),
        "{lock}"
    );
    // The prebuilt package holds the runtime, not jrt's own setup files.
    let bytes = std::fs::read(d.join("a/jdkrt-1.0.0-ubuntu-amd64.tar.gz")).unwrap();
    let mut names = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(bytes.as_slice()));
    for e in archive.entries().unwrap() {
        names.push(e.unwrap().path().unwrap().display().to_string());
    }
    for want in [
        "jdkrt/manifest.yaml",
        "jdkrt/runtime.yml",
        "jdkrt/versions.lock",
        "jdkrt/isolated/opt/jdk/bin/java",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains("/.jrt")), "{names:?}");

    // A platform the manifest does not list is refused before anything runs.
    jrt(d)
        .args([
            "build",
            "--prebuilt",
            "--platform",
            "amzn-arm64",
            "--out",
            "c",
        ])
        .arg(&rt)
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "does not list the platform amzn-arm64",
        ));
    assert!(!d.join("c/jdkrt-1.0.0-amzn-arm64.tar.gz").exists());
}

#[test]
fn registry_add_keeps_published_bytes_immutable() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let server = server::Server::start();
    let rt = built_runtime(d, &server);
    let index = d.join("registry.json");
    // Start from the upstream registry: every existing version must survive.
    std::fs::copy(common::testdata().join("upstream/registry.json"), &index).unwrap();
    let before = jrt_registry::Index::parse(&std::fs::read(&index).unwrap(), "before").unwrap();
    let add = |extra: &[&str]| {
        let mut cmd = registry_add(
            d,
            "registry.json",
            "https://example.org/rel/",
            &[
                "dist/jdkrt-1.0.0-ubuntu-amd64.tar.gz",
                "dist/jdkrt-1.0.0.tar.gz",
            ],
        );
        cmd.args(extra);
        cmd
    };
    add(&[])
        .assert()
        .success()
        .stdout(predicate::str::contains("added     jdkrt@1.0.0"));
    let after = jrt_registry::Index::parse(&std::fs::read(&index).unwrap(), "after").unwrap();
    for (name, versions) in &before.runtimes {
        for v in versions.keys() {
            assert!(
                after.runtimes[name].contains_key(v),
                "{name}@{v} was dropped"
            );
        }
    }
    let entry = &after.runtimes["jdkrt"]["1.0.0"];
    assert_eq!(
        entry.download_url,
        "https://example.org/rel/jdkrt-1.0.0.tar.gz"
    );
    assert_eq!(entry.family, ["jdk"]);
    assert_eq!(
        entry.artifacts["ubuntu-amd64"].download_url,
        "https://example.org/rel/jdkrt-1.0.0-ubuntu-amd64.tar.gz"
    );
    let serial = after.serial.unwrap();
    // The same again changes nothing, not even the serial.
    add(&[])
        .assert()
        .success()
        .stdout(predicate::str::contains("unchanged"));
    let again = jrt_registry::Index::parse(&std::fs::read(&index).unwrap(), "again").unwrap();
    assert_eq!(again.serial, Some(serial));

    // Other bytes under a published version: refused, and the file is untouched.
    std::fs::write(rt.join("NOTES"), "changed").unwrap();
    build(d, &rt, "dist", false);
    let bytes = std::fs::read(&index).unwrap();
    add(&[])
        .assert()
        .failure()
        .stderr(predicate::str::contains("immutable").and(predicate::str::contains("jdkrt@1.0.0")));
    assert_eq!(std::fs::read(&index).unwrap(), bytes);
    add(&["--force"]).assert().success();

    // A misnamed package is refused by name.
    std::fs::copy(
        d.join("dist/jdkrt-1.0.0.tar.gz"),
        d.join("dist/other-1.0.0.tar.gz"),
    )
    .unwrap();
    registry_add(
        d,
        "registry.json",
        "https://x/",
        &["dist/other-1.0.0.tar.gz"],
    )
    .assert()
    .failure()
    .stderr(predicate::str::contains("must be named jdkrt-1.0.0.tar.gz"));
}

#[test]
fn release_sets_or_checks_versions_and_changes_nothing_on_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let server = server::Server::start();
    let rt = runtime_dir(d, &server, "1.0.0");
    jrt(d).args(["release", "v1.2.0"]).assert().success();
    let text = std::fs::read_to_string(rt.join("manifest.yaml")).unwrap();
    assert!(
        text.starts_with("# a test runtime\n") && text.contains("\nversion: 1.2.0\n"),
        "{text}"
    );
    jrt(d).args(["release", "jdkrt@1.2.0"]).assert().success();
    jrt(d)
        .args(["release", "jdkrt@1.3.0"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "says version 1.2.0, but the tag jdkrt@1.3.0 says 1.3.0",
        ));
    jrt(d).args(["release", "v1.x"]).assert().code(2);
    // An invalid manifest anywhere: nothing changes.
    let bad = d.join("runtimes/broken");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("manifest.yaml"), "name: broken\nversion: 1.0.0\n").unwrap();
    jrt(d).args(["release", "v2.0.0"]).assert().failure();
    assert_eq!(
        std::fs::read_to_string(rt.join("manifest.yaml")).unwrap(),
        text
    );
}

#[test]
fn a_signed_registry_round_trips_and_tampering_expiry_and_rollback_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let server = server::Server::start();
    built_runtime(d, &server);
    let base = server.url("/rel");
    registry_add(
        d,
        "registry.json",
        &base,
        &[
            "dist/jdkrt-1.0.0.tar.gz",
            "dist/jdkrt-1.0.0-ubuntu-amd64.tar.gz",
        ],
    )
    .assert()
    .success();
    let (sk, pk) = keypair(d, "release");
    sign(d, "registry.json", &sk);
    jrt(d)
        .args([
            "registry",
            "verify",
            "--index",
            "registry.json",
            "--public-key",
        ])
        .arg(&pk)
        .assert()
        .success()
        .stdout(predicate::str::contains("signature ok, serial 2"));
    // Signing sets `expires` 90 days ahead by default and bumps the serial (add made it 1).
    let signed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("registry.json")).unwrap()).unwrap();
    let days = (jrt_fs::time::parse(signed["expires"].as_str().unwrap()).unwrap()
        - jrt_fs::time::now())
        / 86400;
    assert!((89..=90).contains(&days), "{signed}");
    // --expires-in-days changes it.
    std::fs::copy(d.join("registry.json"), d.join("dated.json")).unwrap();
    jrt(d)
        .args([
            "registry",
            "sign",
            "--index",
            "dated.json",
            "--expires-in-days",
            "30",
            "--key",
        ])
        .arg(&sk)
        .assert()
        .success();
    let dated: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("dated.json")).unwrap()).unwrap();
    let expires = jrt_fs::time::parse(dated["expires"].as_str().unwrap()).unwrap();
    let days = (expires - jrt_fs::time::now()) / 86400;
    assert!((29..=30).contains(&days), "{dated}");
    assert_eq!(dated["serial"], 3);
    jrt(d)
        .args([
            "registry",
            "verify",
            "--index",
            "dated.json",
            "--public-key",
        ])
        .arg(&pk)
        .assert()
        .success();
    if minisign_cli() {
        minisign_verifies(&d.join("registry.json"), &pk);
        // And a key the CLI made signs through jrt.
        let (cli_sk, cli_pk) = (d.join("cli.key"), d.join("cli.pub"));
        let made = Std::new("minisign")
            .args(["-G", "-W", "-p"])
            .arg(&cli_pk)
            .arg("-s")
            .arg(&cli_sk)
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        std::fs::copy(d.join("registry.json"), d.join("copy.json")).unwrap();
        jrt(d)
            .env_remove("JRT_SIGNING_PASSWORD")
            .args(["registry", "sign", "--index", "copy.json", "--key"])
            .arg(&cli_sk)
            .assert()
            .success();
        minisign_verifies(&d.join("copy.json"), &cli_pk);
    } else {
        // .ci/run installs it: in CI its absence is a failure, not a skipped check.
        assert!(
            std::env::var_os("CI").is_none(),
            "the minisign CLI is missing in CI"
        );
        eprintln!("the minisign CLI is not installed; checked with the minisign crate only");
    }

    let publish = |index: &Path| {
        server.put("/rel/registry.json", std::fs::read(index).unwrap());
        server.put(
            "/rel/registry.json.minisig",
            std::fs::read(format!("{}.minisig", index.display())).unwrap(),
        );
    };
    for f in ["jdkrt-1.0.0.tar.gz", "jdkrt-1.0.0-ubuntu-amd64.tar.gz"] {
        server.put(
            &format!("/rel/{f}"),
            std::fs::read(d.join("dist").join(f)).unwrap(),
        );
    }
    publish(&d.join("registry.json"));
    let registry = server.url("/rel/registry.json");
    let client = |pk: &Path| {
        let mut cmd = jrt(d);
        cmd.args(["--registry", &registry, "--public-key"]).arg(pk);
        cmd
    };
    client(&pk)
        .args(["install", "--platform", "ubuntu-amd64", "jdkrt"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("installed jdkrt@1.0.0")
                .and(predicate::str::contains("prebuilt")),
        );
    client(&pk).args(["verify", "jdkrt"]).assert().success();

    // Tampered bytes: refused before they are parsed.
    let good = std::fs::read(d.join("registry.json")).unwrap();
    let mut bad = good.clone();
    let at = bad.iter().position(|&b| b == b'1').unwrap();
    bad[at] = b'2';
    server.put("/rel/registry.json", bad);
    client(&pk)
        .args(["list", "--available"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("does not match its bytes"));
    // Another key.
    publish(&d.join("registry.json"));
    let (_, other_pk) = keypair(d, "other");
    client(&other_pk)
        .args(["list", "--available"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("not the configured key"));

    // A newer registry (serial 4) is seen; then the old one (serial 2) is a rollback.
    std::fs::copy(d.join("registry.json"), d.join("old.json")).unwrap();
    std::fs::copy(d.join("registry.json.minisig"), d.join("old.json.minisig")).unwrap();
    let rt2 = runtime_dir(d, &server, "1.1.0");
    build(d, &rt2, "dist", false);
    registry_add(d, "registry.json", &base, &["dist/jdkrt-1.1.0.tar.gz"])
        .assert()
        .success();
    sign(d, "registry.json", &sk);
    publish(&d.join("registry.json"));
    client(&pk)
        .args(["list", "--available"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1.1.0"));
    publish(&d.join("old.json"));
    client(&pk)
        .args(["list", "--available"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("serial 2 is lower than 4")
                .and(predicate::str::contains("rollback")),
        );
    // The record of serials lost: reported, not restarted from zero (which would let the old
    // index through); a link planted in its place is not followed.
    let trust = jrt_fs::cache::Cache::new(common::cache_with_compiled(d)).trust();
    let record = trust.join("serials.json");
    std::fs::rename(&record, d.join("serials.bak")).unwrap();
    client(&pk)
        .args(["list", "--available"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("the record of registry serials")
                .and(predicate::str::contains("serials.kept")),
        );
    std::os::unix::fs::symlink(d.join("serials.bak"), &record).unwrap();
    client(&pk)
        .args(["list", "--available"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("symbolic link"));
    std::fs::remove_file(&record).unwrap();
    std::fs::rename(d.join("serials.bak"), &record).unwrap();

    // Expired, though correctly signed (signed by the library, which takes the bytes as
    // they are; the CLI would date it ahead).
    let sign_as_is = |name: &str, index: &serde_json::Value| {
        let bytes = serde_json::to_vec_pretty(index).unwrap();
        std::fs::write(d.join(name), &bytes).unwrap();
        let sig = jrt_publish::sign::sign(&bytes, &sk, PASSWORD, "registry.json").unwrap();
        std::fs::write(d.join(format!("{name}.minisig")), sig).unwrap();
        publish(&d.join(name));
    };
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("registry.json")).unwrap()).unwrap();
    index["expires"] = "2020-01-01T00:00:00Z".into();
    index["serial"] = 5.into();
    sign_as_is("expired.json", &index);
    client(&pk)
        .args(["list", "--available"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("expired at 2020-01-01T00:00:00Z"));

    // Signed, but without `expires` or without `serial`: refused, naming the field.
    for field in ["expires", "serial"] {
        let mut index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("registry.json")).unwrap()).unwrap();
        index.as_object_mut().unwrap().remove(field);
        sign_as_is("bare.json", &index);
        client(&pk)
            .args(["list", "--available"])
            .assert()
            .failure()
            .stderr(predicate::str::contains(format!(
                "a signed registry must have `{field}`"
            )));
    }

    // No signature at all, with a key configured.
    server.put("/rel/registry.json", good);
    server.faults(
        "/rel/registry.json.minisig",
        vec![server::Fault::Status(404)],
    );
    client(&pk)
        .args(["list", "--available"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no signature at"));
}
