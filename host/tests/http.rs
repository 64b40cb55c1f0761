//! Installing over HTTP from a server on 127.0.0.1 that misbehaves on purpose: corrupt,
//! long and short bodies, cut connections, error statuses, stalls, ignored ranges, and a
//! download resumed by a later run.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/server.rs"]
mod server;
#[path = "common/tarball.rs"]
mod tarball;

use std::time::{Duration, Instant};

use jrt_install::{InstallError, Installer};
use jrt_registry::Index;
use jrt_registry::source::{Registry, Source};
use jrt_registry::spec::resolve;
use packages::*;
use server::{Fault, Server};

const PKG: &str = "rt-1.0.0.tar.gz";

struct Fixture {
    server: Server,
    registry: Registry,
    dir: tempfile::TempDir,
    bytes: Vec<u8>,
}

fn fixture() -> Fixture {
    let server = Server::start();
    // Big enough that cuts and stalls land mid-body.
    let bytes = prebuilt("rt", "1.0.0", 400);
    let dir = tempfile::tempdir().unwrap();
    let index_path = write_registry(
        dir.path(),
        &[Published::honest("rt", "1.0.0", bytes.clone())],
    );
    server.put(PKG, bytes.clone());
    let index = Index::parse(&std::fs::read(index_path).unwrap(), "test").unwrap();
    let registry = Registry {
        name: "test".into(),
        source: Source::Url(url::Url::parse(&server.url("registry.json")).unwrap()),
        index,
    };
    Fixture {
        server,
        registry,
        dir,
        bytes,
    }
}

fn quick() -> jrt_client::http::Policy {
    jrt_client::http::Policy {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_millis(700),
        attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(3),
        allow_insecure_http: false,
        min_rate: 64 << 10,
        grace: Duration::from_secs(30),
    }
}

impl Fixture {
    fn installer(&self, policy: jrt_client::http::Policy) -> Installer {
        let mut i = Installer::new(
            &self.dir.path().join("root"),
            &self.dir.path().join("cache"),
            false,
        );
        i.http_policy = policy;
        i
    }

    fn install_with(&self, installer: &Installer) -> Result<jrt_install::Outcome, InstallError> {
        let spec = "rt".parse().unwrap();
        let resolved = resolve(&spec, &[&self.registry.index], "ubuntu-amd64").unwrap();
        installer.install(&self.registry, &resolved, "ubuntu-amd64", false, None)
    }

    fn install(&self) -> Result<jrt_install::Outcome, InstallError> {
        self.install_with(&self.installer(quick()))
    }

    fn installed(&self) -> bool {
        self.dir.path().join("root/rt/1.0.0/runtime.yml").exists()
    }

    fn part_path(&self) -> std::path::PathBuf {
        self.dir
            .path()
            .join("cache/packages")
            .join(format!("{}.tar.gz.part", sha256(&self.bytes)))
    }

    fn part_len(&self) -> Option<u64> {
        std::fs::metadata(self.part_path()).ok().map(|m| m.len())
    }

    /// What the package cache holds: entries and `.part` files alike.
    fn cached_files(&self) -> Vec<String> {
        match std::fs::read_dir(self.dir.path().join("cache/packages")) {
            Ok(dir) => dir
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => vec![],
        }
    }

    fn ranges(&self) -> Vec<Option<String>> {
        self.server
            .requests_for(PKG)
            .into_iter()
            .map(|l| l.range)
            .collect()
    }
}

#[test]
fn happy_path_then_the_cache_means_no_second_download() {
    let f = fixture();
    let o = f.install().unwrap();
    assert_eq!((o.action, o.cached), ("installed", false));
    assert_eq!(f.ranges(), [None]);
    std::fs::remove_dir_all(f.dir.path().join("root/rt")).unwrap();
    let o = f.install().unwrap();
    assert!(o.cached);
    assert_eq!(f.server.requests_for(PKG).len(), 1, "downloaded twice");
}

#[test]
fn one_flipped_byte_is_a_checksum_error_and_nothing_is_kept() {
    let f = fixture();
    f.server.faults(PKG, vec![Fault::Flip(100)]);
    let e = f.install().unwrap_err().to_string();
    assert!(e.contains("checksum mismatch") && e.contains(PKG), "{e}");
    assert!(!f.installed());
    assert_eq!(f.part_len(), None, "a corrupt download must not be resumed");
    assert_eq!(
        f.server.requests_for(PKG).len(),
        1,
        "a checksum mismatch is never retried"
    );
}

#[test]
fn a_body_longer_than_declared_is_cut_off() {
    let f = fixture();
    f.server.faults(PKG, vec![Fault::Extra(vec![0u8; 1 << 20])]);
    let e = f.install().unwrap_err().to_string();
    assert!(e.contains("larger than the"), "{e}");
    assert!(!f.installed());
    assert_eq!(f.cached_files(), Vec::<String>::new());
    assert_eq!(
        f.server.requests_for(PKG).len(),
        1,
        "a body over its size is not fetched again"
    );
}

#[test]
fn a_cut_connection_resumes_with_range() {
    for fault in [Fault::CutAfter(5000), Fault::CutAfterNoLength(5000)] {
        let f = fixture();
        f.server.faults(PKG, vec![fault.clone()]);
        f.install().unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert!(f.installed());
        assert_eq!(f.ranges(), [None, Some("bytes=5000-".into())], "{fault:?}");
    }
}

#[test]
fn server_errors_are_retried_and_404_is_not() {
    let f = fixture();
    f.server
        .faults(PKG, vec![Fault::Status(500), Fault::Status(500)]);
    f.install().unwrap();
    assert_eq!(f.server.requests_for(PKG).len(), 3);

    let f = fixture();
    f.server.faults(PKG, vec![Fault::Status(404)]);
    let e = f.install().unwrap_err().to_string();
    assert!(e.contains("HTTP 404") && !e.contains("retr"), "{e}");
    assert_eq!(f.server.requests_for(PKG).len(), 1);
    assert_eq!(
        f.cached_files(),
        Vec::<String>::new(),
        "a 404 keeps nothing"
    );

    let f = fixture();
    f.server.faults(PKG, vec![Fault::Status(503); 10]);
    let e = f.install().unwrap_err().to_string();
    assert!(
        e.contains("HTTP 503") && e.contains("after 3 retries"),
        "{e}"
    );
    assert_eq!(f.server.requests_for(PKG).len(), 4);
    assert!(!f.installed());
}

#[test]
fn retry_after_is_honoured_up_to_a_cap() {
    let f = fixture();
    f.server.faults(PKG, vec![Fault::RetryAfter(429, 1)]);
    let started = Instant::now();
    f.install().unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was ignored"
    );

    let f = fixture();
    f.server.faults(PKG, vec![Fault::RetryAfter(503, 3600)]);
    let started = Instant::now();
    let e = f.install().unwrap_err().to_string();
    assert!(e.contains("HTTP 503"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "waited an hour"
    );
}

#[test]
fn a_stall_times_out_and_resumes() {
    let f = fixture();
    f.server.faults(PKG, vec![Fault::StallAfter(3000)]);
    f.install().unwrap();
    assert_eq!(f.ranges(), [None, Some("bytes=3000-".into())]);

    let f = fixture();
    f.server.faults(PKG, vec![Fault::StallAfter(100); 10]);
    let e = f.install().unwrap_err().to_string();
    assert!(!f.installed());
    assert!(e.contains("the read timed out"), "{e}");
}

#[test]
fn a_drip_feed_hits_the_total_deadline_and_keeps_what_it_got() {
    // Every read succeeds (a byte each 20 ms, far inside the read timeout): only the total
    // deadline (grace plus size at the minimum rate) ends it.
    let f = fixture();
    f.server
        .faults(PKG, vec![Fault::Drip(Duration::from_millis(20))]);
    let policy = jrt_client::http::Policy {
        min_rate: 1 << 20,
        grace: Duration::from_secs(1),
        ..quick()
    };
    let started = Instant::now();
    let e = f
        .install_with(&f.installer(policy))
        .unwrap_err()
        .to_string();
    let took = started.elapsed();
    assert!(e.contains("the download deadline passed"), "{e}");
    assert!(e.contains("download_min_rate"), "{e}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(!f.installed());
    // What arrived is kept for a resume, and the next run (a normal server) finishes it.
    let kept = f.part_len().unwrap_or(0);
    assert!(kept > 0, "nothing kept");
    f.install().unwrap();
    assert!(f.installed());
    assert_eq!(
        f.ranges().last().cloned().flatten(),
        Some(format!("bytes={kept}-"))
    );
}

#[test]
fn a_complete_part_file_is_checked_without_a_request() {
    // A run stopped after the last byte but before settling it: asking for a range from the
    // end would earn a 416 forever.
    let f = fixture();
    let part = f.part_path();
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    std::fs::write(&part, &f.bytes).unwrap();
    f.install().unwrap();
    assert!(f.installed());
    assert!(f.ranges().is_empty(), "{:?}", f.ranges());
    assert_eq!(f.part_len(), None);

    // The same with wrong bytes: refused, dropped, and the next run downloads afresh.
    let f = fixture();
    let part = f.part_path();
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    std::fs::write(&part, vec![0u8; f.bytes.len()]).unwrap();
    assert!(f.install().is_err());
    assert_eq!(f.part_len(), None);
    f.install().unwrap();
    assert_eq!(f.ranges(), [None]);
}

#[test]
fn a_later_run_resumes_the_part_file() {
    let f = fixture();
    f.server.faults(PKG, vec![Fault::CutAfter(7000)]);
    let once = jrt_client::http::Policy {
        attempts: 1,
        ..quick()
    };
    let e = f.install_with(&f.installer(once)).unwrap_err().to_string();
    assert!(e.contains("at byte 7000 of"), "{e}");
    assert!(!f.installed());
    assert_eq!(
        f.part_len(),
        Some(7000),
        "the partial download was not kept"
    );

    f.install().unwrap();
    assert_eq!(f.ranges(), [None, Some("bytes=7000-".into())]);
    assert_eq!(f.part_len(), None);
}

#[test]
fn an_ignored_or_wrong_range_restarts_and_is_still_verified() {
    for fault in [Fault::IgnoreRange, Fault::WrongRange] {
        let f = fixture();
        f.server
            .faults(PKG, vec![Fault::CutAfter(6000), fault.clone()]);
        let r = f.install();
        // The resume asked for the rest, whatever the server made of it.
        assert_eq!(f.ranges(), [None, Some("bytes=6000-".into())], "{fault:?}");
        if fault == Fault::IgnoreRange {
            // The whole body came again: read from its start, the bytes already kept
            // skipped, and all of it verified.
            r.unwrap_or_else(|e| panic!("{fault:?}: {e}"));
            assert!(f.installed());
            assert_eq!(f.part_len(), None);
            let entry = f.part_path().with_extension("");
            assert_eq!(std::fs::read(entry).unwrap(), f.bytes);
        } else {
            // A range that does not line up is refused rather than stitched in; what was
            // collected before it stays for a later run.
            let e = r.unwrap_err().to_string();
            assert!(e.contains("another range"), "{e}");
            assert!(!f.installed());
            assert_eq!(f.part_len(), Some(6000));
        }
    }
}

#[test]
fn eight_concurrent_installs_download_once() {
    let f = fixture();
    let installer = f.installer(quick());
    let outcomes: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| s.spawn(|| f.install_with(&installer)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(outcomes.iter().all(|o| o.is_ok()), "{outcomes:?}");
    assert_eq!(f.server.requests_for(PKG).len(), 1);
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| o.as_ref().unwrap().action == "installed")
            .count(),
        1
    );
}

#[test]
fn offline_uses_only_the_cache() {
    let f = fixture();
    let mut i = f.installer(quick());
    i.offline = true;
    let e = f.install_with(&i).unwrap_err().to_string();
    assert!(e.contains("--offline"), "{e}");
    assert!(f.server.log().is_empty());
    f.install().unwrap();
    std::fs::remove_dir_all(f.dir.path().join("root/rt")).unwrap();
    f.install_with(&i).unwrap();
    assert_eq!(f.server.requests_for(PKG).len(), 1);
}
