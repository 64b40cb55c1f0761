//! Where registries come from: sources, config files (jrt's and Joblet's), and HTTP
//! registries with their ETag cache and --offline.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/server.rs"]
mod server;
#[path = "common/tarball.rs"]
mod tarball;

use jrt::config;
use jrt_client::http::{Http, Policy};
use jrt_registry::remote;
use jrt_registry::source::{Source, SourceError};
use packages::*;
use predicates::prelude::*;
use server::Server;

#[test]
fn sources_parse_as_the_spec_says() {
    assert_eq!(
        Source::parse("https://github.com/joblet/joblet-runtimes").unwrap(),
        Source::Url(
            url::Url::parse(
                "https://raw.githubusercontent.com/joblet/joblet-runtimes/main/registry.json"
            )
            .unwrap()
        )
    );
    assert_eq!(
        Source::parse("https://example.com/r/registry.json").unwrap(),
        Source::Url(url::Url::parse("https://example.com/r/registry.json").unwrap())
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("registry.json"), "{}").unwrap();
    let want = Source::File(dir.path().join("registry.json"));
    assert_eq!(Source::parse(dir.path().to_str().unwrap()).unwrap(), want);
    assert_eq!(
        Source::parse(&format!("file://{}", dir.path().display())).unwrap(),
        want
    );
    assert_eq!(
        Source::parse(&format!("{}/registry.json", dir.path().display())).unwrap(),
        want
    );
    // OWNER/REPO, the short form rnx accepts, is that GitHub repository, unless such a local
    // path exists.
    assert_eq!(
        Source::parse("acme/joblet-runtimes").unwrap(),
        Source::parse("https://github.com/acme/joblet-runtimes").unwrap()
    );
    let local = tempfile::tempdir_in(".").unwrap();
    let name = local
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    std::fs::create_dir(local.path().join("regs")).unwrap();
    std::fs::write(local.path().join("regs/registry.json"), "{}").unwrap();
    let short = format!("{name}/regs");
    assert!(matches!(Source::parse(&short).unwrap(), Source::File(_)));
    for not_short in ["a/b/c", "-a/b", "a/..", "/abs/path"] {
        assert!(Source::parse(not_short).is_err(), "{not_short}");
    }
    let e = Source::parse("/no/such/registry").unwrap_err().to_string();
    assert!(e.contains("'/no/such/registry' is not a URL"), "{e}");
}

#[test]
fn joblet_config_registries_are_read() {
    let c = config::load(
        Some(tempfile::NamedTempFile::new().unwrap().path()),
        Some(&common::testdata().join("upstream/config-example.yaml")),
    )
    .unwrap();
    let urls: Vec<&str> = c.registries.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(urls, ["https://github.com/joblet/joblet-runtimes"]);
    assert_eq!(c.registries[0].name, "official");
}

#[test]
fn jrt_config_priorities_and_disabled_registries() {
    let dir = tempfile::tempdir().unwrap();
    let jrt = dir.path().join("config.yaml");
    std::fs::write(
        &jrt,
        "root: /srv/runtimes\nregistries:\n  - {name: low, url: /low, priority: 1}\n  - {name: off, url: /off, priority: 99, enabled: false}\n  - {name: high, url: /high, priority: 50}\n",
    )
    .unwrap();
    let rnx = dir.path().join("rnx.yaml");
    std::fs::write(&rnx, "runtimes:\n  registries:\n    - {name: joblet, url: /joblet, priority: 1}\nhosts: {default: x}\n").unwrap();
    let c = config::load(Some(&jrt), Some(&rnx)).unwrap();
    let names: Vec<&str> = c.registries.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["high", "low", "joblet"]);
    assert_eq!(
        c.root.as_deref(),
        Some(std::path::Path::new("/srv/runtimes"))
    );

    std::fs::write(&jrt, "registries: [ {url: } ]\n  bad: : yaml").unwrap();
    let e = config::load(Some(&jrt), None).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("config file {}:", jrt.display())),
        "{e}"
    );
    let e = config::load(Some(&dir.path().join("missing.yaml")), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.yaml"), "{e}");
}

fn quick() -> Http {
    Http::new(Policy {
        attempts: 2,
        base_delay: std::time::Duration::from_millis(5),
        ..Policy::default()
    })
    .unwrap()
}

#[test]
fn http_registries_are_cached_with_their_etag() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let index = write_registry(
        dir.path(),
        &[Published::honest("rt", "1.0.0", prebuilt("rt", "1.0.0", 1))],
    );
    server.put("registry.json", std::fs::read(&index).unwrap());
    server.header("registry.json", "ETag", "\"v1\"");
    let url = url::Url::parse(&server.url("registry.json")).unwrap();
    let cache = jrt_fs::cache::Cache::new(dir.path().join("cache"));
    let http = quick();

    let r = remote::load("t", &url, Some(&http), Some(&cache), false).unwrap();
    assert!(r.index.runtimes.contains_key("rt"));
    let r2 = remote::load("t", &url, Some(&http), Some(&cache), false).unwrap();
    assert_eq!(r2.index, r.index);
    let log = server.requests_for("registry.json");
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[1].if_none_match.as_deref(),
        Some("\"v1\""),
        "the second fetch was not conditional"
    );

    // Offline: the cache only, and no request.
    let r3 = remote::load("t", &url, None, Some(&cache), true).unwrap();
    assert_eq!(r3.index, r.index);
    assert_eq!(server.requests_for("registry.json").len(), 2);
    let e = remote::load(
        "t",
        &url,
        None,
        Some(&jrt_fs::cache::Cache::new(dir.path().join("empty"))),
        true,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("--offline"), "{e}");
}

#[test]
fn bad_http_registries_are_refused_and_not_cached() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let cache = jrt_fs::cache::Cache::new(dir.path().join("cache"));
    let http = quick();
    server.put("bad.json", br#"{"version":"1","runtimes":{"rt":{"1.0.0":{"version":"1.0.0","download_url":"x","checksum":"sha1:abc","size":1}}}}"#.to_vec());
    let url = url::Url::parse(&server.url("bad.json")).unwrap();
    let e = remote::load("t", &url, Some(&http), Some(&cache), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains(r#"runtimes["rt"]["1.0.0"].checksum"#), "{e}");
    assert!(
        !cache.registries().exists()
            || std::fs::read_dir(cache.registries())
                .unwrap()
                .next()
                .is_none()
    );

    let url = url::Url::parse(&server.url("missing.json")).unwrap();
    let e = remote::load("t", &url, Some(&http), Some(&cache), false).unwrap_err();
    assert!(
        matches!(&e, SourceError::Read(_, m) if m.contains("HTTP 404")),
        "{e}"
    );

    server.put(
        "huge.json",
        vec![b' '; (jrt_registry::source::MAX_INDEX_BYTES + 10) as usize],
    );
    let url = url::Url::parse(&server.url("huge.json")).unwrap();
    let e = remote::load("t", &url, Some(&http), Some(&cache), false).unwrap_err();
    assert!(matches!(e, SourceError::TooLarge(_)), "{e}");
}

#[test]
fn install_from_an_http_registry_resolves_relative_urls_against_it() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let bytes = prebuilt("rt", "1.0.0", 3);
    let index = write_registry(
        dir.path(),
        &[Published::honest("rt", "1.0.0", bytes.clone())],
    );
    server.put("r/registry.json", std::fs::read(&index).unwrap());
    server.put("r/rt-1.0.0.tar.gz", bytes);
    common::jrt_in(
        dir.path(),
        std::path::Path::new(&server.url("r/registry.json")),
    )
    .env("HOME", dir.path())
    .args(["install", "rt"])
    .assert()
    .success()
    .stdout(predicate::str::contains("installed rt@1.0.0"));
    assert_eq!(server.requests_for("r/rt-1.0.0.tar.gz").len(), 1);
}

#[test]
fn plugins_can_be_added_by_url() {
    let server = Server::start();
    server.put(
        "p/misbehave.wasm",
        std::fs::read(env!("JRT_TEST_PLUGIN_MISBEHAVE")).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path();
    common::jrt_in(dir.path(), reg)
        .args(["plugin", "add", &server.url("p/misbehave.wasm")])
        .assert()
        .success()
        .stdout(predicate::str::contains("added plugin misbehave 0.0.1"));
    let out = common::jrt_in(dir.path(), reg)
        .args(["--json", "plugin", "list"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "misbehave" && r["source"] == "added")
    );

    common::jrt_in(dir.path(), reg)
        .args(["plugin", "add", &server.url("p/missing.wasm")])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("missing.wasm is not a jrt plugin: it cannot be downloaded")
                .and(predicate::str::contains("HTTP 404")),
        );
    common::jrt_in(dir.path(), reg)
        .args([
            "--offline",
            "plugin",
            "add",
            &server.url("p/misbehave.wasm"),
        ])
        .assert()
        .code(2);
}
