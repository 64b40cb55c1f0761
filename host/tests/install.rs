//! Installs from local registries: the happy path, faults in the package, malicious archives,
//! concurrency, a killed run and an unwritable root. Nothing may appear at the final path
//! unless it is complete and verified, and nothing may be left half-done.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/tarball.rs"]
mod tarball;

use std::path::Path;

use jrt::ops::installed;
use jrt_install::{InstallError, Installer};
use jrt_registry::Spec;
use jrt_registry::source::load_file;
use jrt_registry::spec::resolve;
use packages::*;

struct Fixture {
    _dir: tempfile::TempDir,
    registry: jrt_registry::source::Registry,
    installer: Installer,
    root: std::path::PathBuf,
    cache: std::path::PathBuf,
}

fn fixture(published: &[Published]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let reg_dir = dir.path().join("registry");
    std::fs::create_dir(&reg_dir).unwrap();
    let index = write_registry(&reg_dir, published);
    let root = dir.path().join("root");
    let cache = dir.path().join("cache");
    Fixture {
        registry: load_file("test", &index).unwrap(),
        installer: Installer::new(&root, &cache, false),
        root,
        cache,
        _dir: dir,
    }
}

impl Fixture {
    fn install(&self, spec: &str, force: bool) -> Result<jrt_install::Outcome, InstallError> {
        let spec: Spec = spec.parse().unwrap();
        let resolved = resolve(&spec, &[&self.registry.index], "ubuntu-amd64").unwrap();
        self.installer
            .install(&self.registry, &resolved, "ubuntu-amd64", force, None)
    }

    /// The staging directory exists and holds nothing.
    fn assert_staging_empty(&self) {
        assert!(
            std::fs::read_dir(self.root.join(".jrt/staging"))
                .unwrap()
                .next()
                .is_none()
        );
    }

    /// Nothing at the final path and nothing left in staging.
    fn assert_not_installed(&self, name: &str, version: &str) {
        assert!(!self.root.join(name).join(version).exists());
        self.assert_staging_empty();
    }

    /// Nothing at the final path, no staging left, no partial download in the cache.
    fn assert_nothing_left(&self, name: &str, version: &str) {
        assert!(
            !self.root.join(name).join(version).exists(),
            "final path exists"
        );
        let staging: Vec<_> = std::fs::read_dir(self.root.join(".jrt/staging"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(staging.is_empty(), "staging left behind: {staging:?}");
        let parts: Vec<_> = std::fs::read_dir(jrt_fs::cache::Cache::new(&self.cache).packages())
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(parts.is_empty(), "cache holds unverified bytes: {parts:?}");
    }
}

#[test]
fn happy_path_installs_verifies_and_is_idempotent() {
    let f = fixture(&[Published::honest(
        "rt",
        "1.0.0",
        prebuilt("rt", "1.0.0", 20),
    )]);
    let o = f.install("rt", false).unwrap();
    assert_eq!((o.action, o.cached), ("installed", false));
    let dir = f.root.join("rt/1.0.0");
    for p in [
        "runtime.yml",
        "manifest.yaml",
        "versions.lock",
        "isolated/hello",
        ".jrt/receipt.json",
    ] {
        assert!(dir.join(p).exists(), "{p}");
    }
    let receipt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(".jrt/receipt.json")).unwrap()).unwrap();
    assert_eq!(
        receipt["checksum"],
        format!("sha256:{}", sha256(&prebuilt("rt", "1.0.0", 20)))
    );
    assert_eq!(receipt["platform"], "ubuntu-amd64");
    assert!(receipt["files"].as_array().unwrap().len() > 20);

    // Again: a verified no-op, from the content-addressed cache.
    let o = f.install("rt@1.0.0", false).unwrap();
    assert_eq!(o.action, "already-installed");

    let layout = jrt_install::Layout::new(&f.root);
    let v = installed::verify(&layout, &[]).unwrap();
    assert!(v.iter().all(|v| v.ok()));

    // Tampering is found, named, and refused as "already installed".
    std::fs::write(dir.join("isolated/hello"), "evil").unwrap();
    std::fs::remove_file(dir.join("versions.lock")).unwrap();
    std::fs::write(dir.join("isolated/new"), "x").unwrap();
    let v = &installed::verify(&layout, &[]).unwrap()[0];
    assert_eq!(v.drift.modified, ["isolated/hello"]);
    assert_eq!(v.drift.missing, ["versions.lock"]);
    assert_eq!(v.drift.extra, ["isolated/new"]);
    assert!(matches!(
        f.install("rt", false),
        Err(InstallError::Modified { .. })
    ));

    // --force replaces it (from the cache) and it verifies again.
    let o = f.install("rt", true).unwrap();
    assert_eq!((o.action, o.cached), ("reinstalled", true));
    assert!(installed::verify(&layout, &[]).unwrap()[0].ok());
    f.assert_staging_empty();
}

#[test]
fn a_damaged_cache_entry_is_dropped_and_fetched_afresh() {
    // Cache entries are not fsynced; a crash can leave one torn. It must never install.
    let pkg = prebuilt("rt", "1.0.0", 5);
    let f = fixture(&[Published::honest("rt", "1.0.0", pkg.clone())]);
    f.install("rt", false).unwrap();
    let entry = f.cache.join(format!("packages/{}.tar.gz", sha256(&pkg)));
    assert!(entry.is_file());
    std::fs::write(&entry, &pkg[..pkg.len() / 2]).unwrap();
    let layout = jrt_install::Layout::new(&f.root);
    installed::remove(&layout, &"rt".parse().unwrap()).unwrap();
    // The damaged entry fails its check, is dropped, and the package is fetched again.
    let o = f.install("rt", false).unwrap();
    assert_eq!((o.action, o.cached), ("installed", false));
    assert!(installed::verify(&layout, &[]).unwrap()[0].ok());
    assert_eq!(
        std::fs::read(&entry).unwrap(),
        pkg,
        "the cache holds good bytes again"
    );
}

#[test]
fn a_flipped_byte_is_a_checksum_error_and_nothing_is_installed() {
    let good = prebuilt("rt", "1.0.0", 5);
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x01;
    let f = fixture(&[Published {
        bytes: bad,
        ..Published::honest("rt", "1.0.0", good)
    }]);
    let e = f.install("rt", false).unwrap_err().to_string();
    assert!(
        e.contains("checksum mismatch") || e.contains("not a valid .tar.gz"),
        "{e}"
    );
    f.assert_nothing_left("rt", "1.0.0");
}

#[test]
fn more_or_fewer_bytes_than_declared_are_refused() {
    let good = prebuilt("rt", "1.0.0", 5);
    let mut longer = good.clone();
    longer.extend_from_slice(b"trailing bytes the registry did not declare");
    let f = fixture(&[Published {
        bytes: longer,
        ..Published::honest("rt", "1.0.0", good.clone())
    }]);
    let e = f.install("rt", false).unwrap_err().to_string();
    assert!(e.contains("larger than the"), "{e}");
    f.assert_nothing_left("rt", "1.0.0");

    let f = fixture(&[Published {
        bytes: good[..good.len() - 10].to_vec(),
        ..Published::honest("rt", "1.0.0", good)
    }]);
    let e = f.install("rt", false).unwrap_err().to_string();
    assert!(e.contains("ended after"), "{e}");
    f.assert_nothing_left("rt", "1.0.0");
}

#[test]
fn malicious_archives_install_nothing() {
    use tarball::*;
    let attacks = [
        vec![
            dir("rt/"),
            file("rt/runtime.yml", b"x"),
            file("rt/../../escape", b"x"),
        ],
        vec![
            dir("rt/"),
            file("rt/runtime.yml", b"x"),
            symlink("rt/isolated", "/"),
        ],
        vec![
            dir("rt/"),
            file("rt/runtime.yml", b"x"),
            symlink("rt/l", "."),
            file("rt/l/x", b"x"),
        ],
        vec![
            dir("rt/"),
            file("rt/runtime.yml", b"x"),
            special("rt/dev", tar::EntryType::Char),
        ],
    ];
    for entries in attacks {
        let f = fixture(&[Published::honest("rt", "1.0.0", tgz(&entries))]);
        let e = f.install("rt", false).unwrap_err();
        assert!(matches!(e, InstallError::Extract { .. }), "{e}");
        f.assert_not_installed("rt", "1.0.0");
    }
}

#[test]
fn source_packages_stop_with_a_clear_message() {
    let f = fixture(&[Published::honest("rt", "1.0.0", source("rt", "1.0.0"))]);
    let e = f.install("rt", false).unwrap_err().to_string();
    assert!(
        e.contains("source package") && e.contains("Nothing was installed"),
        "{e}"
    );
    assert!(!f.root.join("rt/1.0.0").exists());
}

#[test]
fn concurrent_installs_of_one_runtime_all_succeed_once() {
    let f = fixture(&[Published::honest(
        "rt",
        "1.0.0",
        prebuilt("rt", "1.0.0", 200),
    )]);
    let outcomes: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(|| f.install("rt", false))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let actions: Vec<&str> = outcomes
        .iter()
        .map(|o| o.as_ref().unwrap().action)
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "installed").count(),
        1,
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "already-installed")
            .count(),
        7,
        "{actions:?}"
    );
    let layout = jrt_install::Layout::new(&f.root);
    assert!(installed::verify(&layout, &[]).unwrap()[0].ok());
}

#[test]
fn an_unwritable_root_fails_before_any_download() {
    let f = fixture(&[Published::honest("rt", "1.0.0", prebuilt("rt", "1.0.0", 5))]);
    // As root, permission bits do not stop writes; sysfs refuses directories to everyone.
    let root = if unsafe { libc_geteuid() } == 0 {
        Path::new("/sys/jrt-test-root").to_path_buf()
    } else {
        let ro = f.root.with_file_name("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
        ro
    };
    let installer = Installer::new(&root, &f.cache, false);
    let spec: Spec = "rt".parse().unwrap();
    let resolved = resolve(&spec, &[&f.registry.index], "ubuntu-amd64").unwrap();
    let e = installer
        .install(&f.registry, &resolved, "ubuntu-amd64", false, None)
        .unwrap_err();
    assert!(matches!(e, InstallError::RootNotWritable { .. }), "{e}");
    assert!(e.to_string().contains("--root"), "{e}");
    assert!(
        !jrt_fs::cache::Cache::new(&f.cache).packages().exists(),
        "something was downloaded"
    );
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

#[test]
fn remove_takes_one_version_or_all() {
    let f = fixture(&[
        Published::honest("rt", "1.0.0", prebuilt("rt", "1.0.0", 3)),
        Published::honest("rt", "1.1.0", prebuilt("rt", "1.1.0", 3)),
    ]);
    f.install("rt@1.0.0", false).unwrap();
    f.install("rt@1.1.0", false).unwrap();
    let layout = jrt_install::Layout::new(&f.root);
    let removed = installed::remove(&layout, &"rt@1.0.0".parse().unwrap()).unwrap();
    assert_eq!(removed.len(), 1);
    assert!(!f.root.join("rt/1.0.0").exists() && f.root.join("rt/1.1.0").exists());
    let e = installed::remove(&layout, &"rt@1.0.0".parse().unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(e, "rt@1.0.0 is not installed (installed: rt@1.1.0)");
    installed::remove(&layout, &"rt".parse().unwrap()).unwrap();
    assert!(!f.root.join("rt").exists());
    assert!(
        std::fs::read_dir(f.root.join(".jrt/trash"))
            .unwrap()
            .next()
            .is_none()
    );
}

/// A prebuilt package packed as `jrt build` packs (indexed gzip members), with enough
/// incompressible data for several members.
fn indexed_prebuilt(name: &str) -> Vec<u8> {
    use std::io::Write;
    use tarball::{Raw, dir, file, noise, tar_bytes};
    let mut entries: Vec<Raw> = vec![
        dir(&format!("{name}/")),
        file(
            &format!("{name}/manifest.yaml"),
            b"name: x\nversion: 1.0.0\n",
        ),
        file(
            &format!("{name}/runtime.yml"),
            b"name: x\nversion: 1.0.0\nmounts: []\nenvironment: {}\n",
        ),
        file(&format!("{name}/versions.lock"), b"components: {}\n"),
    ];
    for i in 0..3 {
        entries.push(file(
            &format!("{name}/isolated/big{i}"),
            &noise(i as u64 + 1, 3 << 20),
        ));
    }
    for i in 0..200 {
        entries.push(file(
            &format!("{name}/isolated/s/{i}"),
            &noise(i as u64 + 100, i * 101),
        ));
    }
    let mut w = jrt_extract::gzip::Writer::new(Vec::new(), flate2::Compression::fast());
    w.write_all(&tar_bytes(&entries)).unwrap();
    w.finish().unwrap()
}

#[test]
fn indexed_packages_install_and_damage_in_any_member_installs_nothing() {
    let good = indexed_prebuilt("rt");
    let first = u64::from_le_bytes(good[16..24].try_into().unwrap()) as usize;
    assert!(first < good.len() / 2, "several members");

    let f = fixture(&[Published::honest("rt", "1.0.0", good.clone())]);
    assert_eq!(f.install("rt", false).unwrap().action, "installed");
    let receipt =
        jrt_install::receipt::Receipt::read(&f.root.join("rt/1.0.0/.jrt/receipt.json")).unwrap();
    assert!(receipt.verify(&f.root.join("rt/1.0.0")).is_clean());
    assert_eq!(receipt.files.len(), 3 + 1 + 3 + 1 + 200);

    // A flipped byte in the second member, against the honest checksum: the checksum error
    // is what the user hears, and nothing is installed or cached.
    let mut flipped = good.clone();
    flipped[first + 1000] ^= 0x40;
    let f = fixture(&[Published {
        bytes: flipped,
        ..Published::honest("rt", "1.0.0", good.clone())
    }]);
    let e = f.install("rt", false).unwrap_err().to_string();
    assert!(e.contains("checksum mismatch"), "{e}");
    f.assert_nothing_left("rt", "1.0.0");

    // A publisher whose checksum vouches for a lying index: the archive error, nothing at
    // the final path or in staging (the cache keeps the bytes the checksum names, as for
    // any other package that verifies but does not extract).
    let mut lying = good.clone();
    lying[16..24].copy_from_slice(&(first as u64 + 7).to_le_bytes());
    let f = fixture(&[Published::honest("rt", "1.0.0", lying)]);
    let e = f.install("rt", false).unwrap_err();
    assert!(matches!(e, InstallError::Extract { .. }), "{e}");
    assert!(e.to_string().contains("gzip member"), "{e}");
    f.assert_not_installed("rt", "1.0.0");
}
