//! Install benchmark: a CPython installation tree (this machine's, site-packages left out:
//! ~310 MB in ~8,000 files, ~95 MB compressed) with jrt's runtime files at its top (the
//! runtime is named `python`, after the archive's top directory), so it is
//! at the same time a jrt prebuilt package (runtime.yml at its top) and a python-build-standalone
//! `install_only` archive (`python/bin`, `python/lib`, ...). It is compressed twice:
//!   - as `jrt build` writes packages: indexed gzip members (`jrt_extract::gzip::Writer`), which jrt
//!     inflates on every core;
//!   - as one gzip stream, as python-build-standalone and `tar czf` write them.
//!
//! Served from a loopback HTTP server and measured alternately in the same run:
//!   - `jrt install` of the indexed package (download, verify, extract, receipt, rename);
//!   - `gzip -dc PKG | tar -x` of that same file (no download);
//!   - `uv python install` of the single-stream archive, with `UV_PYTHON_DOWNLOADS_JSON_URL`
//!     pointing at a local JSON that lists it (skipped when `uv` is not on the PATH). uv
//!     stops after the first gzip member, so it cannot read the indexed file;
//!   - for reference, `jrt install` of the single-stream archive (inflated on one thread);
//!   - `jrt install` of the same indexed package pushed (`jrt push`) to the CNCF distribution
//!     registry (`docker-registry`, started here on 127.0.0.1), from `oci://` (skipped when
//!     `docker-registry` is not on the PATH): the OCI path against the registry.json URL.
//!
//! Each measurement starts after a `sync` (so one tool's writeback does not bill the next)
//! and writes to a fresh ext4 on a loop device when run as root (see `fresh`).
//!
//! Run: `cargo bench -p jrt --bench install` (rounds: `JRT_BENCH_ROUNDS`, default 5;
//! `JRT_BENCH_KEEP=DIR` keeps the two packages in DIR). `cargo test -p jrt --benches` runs one
//! round of a tiny tree instead (quick mode, as CI does), so the harness itself cannot rot.

#[path = "../tests/common/oci.rs"]
mod oci;
#[path = "../tests/common/server.rs"]
mod server;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

fn python_prefix() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.base_prefix)"])
        .output()
        .expect("python3 is needed for the benchmark tree");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The tar stream of `prefix` (without site-packages) as `python/...` plus jrt's runtime
/// files, and how many files it holds.
fn build_tar(prefix: &Path) -> (Vec<u8>, usize) {
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    let mut files = 0;
    let mut stack = vec![prefix.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            if path.file_name().is_some_and(|n| n == "site-packages") {
                continue;
            }
            let rel = path.strip_prefix(prefix).unwrap();
            let name = Path::new("python").join(rel);
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                tar.append_dir(&name, &path).unwrap();
                stack.push(path);
            } else {
                tar.append_path_with_name(&path, &name).unwrap();
                files += 1;
            }
        }
    }
    for (name, body) in [
        (
            "python/runtime.yml",
            "name: python\nversion: 1.0.0\nmounts: []\nenvironment: {}\n",
        ),
        (
            "python/manifest.yaml",
            "name: python\nversion: 1.0.0\nplatforms: [ubuntu-amd64]\n",
        ),
        (
            "python/versions.lock",
            "platform: ubuntu-amd64\ncomponents: {}\n",
        ),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    (tar.into_inner().unwrap(), files)
}

/// `tar` compressed at level 6 as jrt writes packages (indexed members) and as one stream.
fn compress(tar: &[u8]) -> (Vec<u8>, Vec<u8>) {
    std::thread::scope(|s| {
        let indexed = s.spawn(|| {
            let mut w = jrt_extract::gzip::Writer::new(Vec::new(), Compression::new(6));
            w.write_all(tar).unwrap();
            w.finish().unwrap()
        });
        let mut plain = GzEncoder::new(Vec::new(), Compression::new(6));
        plain.write_all(tar).unwrap();
        (indexed.join().unwrap(), plain.finish().unwrap())
    })
}

fn time(mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("start benchmark command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether fresh loop-mounted filesystems can be made here: root, mkfs.ext4, mount.
fn fresh_filesystems(w: &Path) -> bool {
    if std::env::var("JRT_BENCH_FRESH_FS").is_ok_and(|v| v == "0")
        || unsafe { libc::geteuid() } != 0
    {
        return false;
    }
    let probe = w.join("probe-fs");
    std::fs::create_dir_all(&probe).unwrap();
    let ok = std::panic::catch_unwind(|| drop(Mounted::new(w, &probe))).is_ok();
    let _ = std::fs::remove_dir(&probe);
    ok
}

/// An ext4 made in a sparse image file and mounted on a directory; unmounted and deleted
/// when dropped.
struct Mounted {
    dir: PathBuf,
    image: PathBuf,
}

impl Mounted {
    fn new(w: &Path, dir: &Path) -> Mounted {
        let image = w.join(format!(
            "{}.img",
            dir.file_name().unwrap().to_string_lossy()
        ));
        // Room for the unpacked tree (~320 MB), a cached package and a margin.
        std::fs::File::create(&image)
            .unwrap()
            .set_len(2 << 30)
            .unwrap();
        run(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image));
        run(Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(dir));
        Mounted {
            dir: dir.to_path_buf(),
            image,
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
        let _ = std::fs::remove_file(&self.image);
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// `ok` or `MISSED` against a target; nothing in quick mode, whose unoptimised timings of a
/// tiny tree say nothing about targets.
fn verdict(ratio: f64, target: f64, quick: bool) -> String {
    match (quick, ratio <= target) {
        (true, _) => format!("target <= {target:.2} (not judged in quick mode)"),
        (false, true) => format!("target <= {target:.2} ok"),
        (false, false) => format!("target <= {target:.2} MISSED"),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` (CI) passes nothing: then one
    // round of a tiny tree (the interpreter's C headers), so the harness runs end to end.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds: usize = if quick {
        1
    } else {
        std::env::var("JRT_BENCH_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(5)
    };
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let tree = if quick {
        python_prefix().join("include")
    } else {
        python_prefix()
    };
    let (tar, files) = build_tar(&tree);
    let (indexed, plain) = compress(&tar);
    drop(tar);
    let pkg = w.join("python-bench.tar.gz");
    std::fs::write(&pkg, &indexed).unwrap();
    let (size, plain_size) = (indexed.len() as u64, plain.len() as u64);
    let sha = hex::encode(Sha256::digest(&indexed));
    let plain_sha = hex::encode(Sha256::digest(&plain));
    // JRT_BENCH_KEEP=DIR keeps both packages there, for profiling one install by hand.
    if let Some(keep) = std::env::var_os("JRT_BENCH_KEEP") {
        std::fs::write(Path::new(&keep).join("indexed.tar.gz"), &indexed).unwrap();
        std::fs::write(Path::new(&keep).join("plain.tar.gz"), &plain).unwrap();
    }

    let server = server::Server::start();
    server.put("indexed.tar.gz", indexed);
    server.put("plain.tar.gz", plain);
    let platforms = jrt_plugin_kit::platform::PLATFORM_IDS;
    for (registry, url, sha, size) in [
        ("indexed.json", "indexed.tar.gz", &sha, size),
        ("plain.json", "plain.tar.gz", &plain_sha, plain_size),
    ] {
        let index = serde_json::json!({
            "version": "1",
            "runtimes": { "python": { "1.0.0": {
                "version": "1.0.0", "description": "benchmark", "download_url": url,
                "checksum": format!("sha256:{sha}"), "size": size, "platforms": platforms
            }}}
        });
        server.put(registry, serde_json::to_vec(&index).unwrap());
    }
    let uv_json = serde_json::json!({
        "cpython-3.11.7-linux-x86_64-gnu": {
            "name": "cpython", "arch": {"family": "x86_64", "variant": null}, "os": "linux",
            "libc": "gnu", "major": 3, "minor": 11, "patch": 7, "prerelease": "",
            "url": server.url("plain.tar.gz"), "sha256": plain_sha, "variant": null,
            "build": "bench"
        }
    });
    let uv_json_path = w.join("uv-downloads.json");
    std::fs::write(&uv_json_path, serde_json::to_vec(&uv_json).unwrap()).unwrap();
    let have_uv = Command::new("uv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());

    let jrt = env!("CARGO_BIN_EXE_jrt");
    // The same indexed package in an OCI registry, pushed as `jrt build --prebuilt` names it.
    let registry = Command::new("docker-registry")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        .then(oci::Registry::start);
    if let Some(registry) = &registry {
        let named = w.join("python-1.0.0-ubuntu-amd64.tar.gz");
        std::fs::copy(&pkg, &named).unwrap();
        run(Command::new(jrt)
            .arg("--cache-dir")
            .arg(w.join("push-cache"))
            .arg("--root")
            .arg(w.join("push-root"))
            .args(["-q", "push"])
            .arg(&named)
            .arg(registry.oci("bench")));
    }
    let compiled = w.join("compiled");
    // Every measurement writes into a fresh place. ext4 makes creating inodes right after
    // deleting thousands of them very slow (its allocator skips recently deleted inodes), which
    // would swamp what is being measured. As root with mkfs.ext4 at hand (JRT_BENCH_FRESH_FS=0
    // turns it off), each measurement gets a freshly made ext4 of its own on a loop device, so
    // the host filesystem's history cannot favour one tool over another, and it is unmounted
    // right after: left mounted, every round's trees (cached twice, by the loop device and by
    // its image file) filled memory until later rounds ran under reclaim and took twice as long.
    // Without fresh filesystems, nothing is deleted until the end.
    let fresh_fs = !quick && fresh_filesystems(w);
    let fresh = |name: &str| {
        let d = w.join(name);
        std::fs::create_dir_all(&d).unwrap();
        let mounted = fresh_fs.then(|| Mounted::new(w, &d));
        // What the last measurement left dirty is written back now, not during the next.
        run(&mut Command::new("sync"));
        (d, mounted)
    };
    // Warm the plugin cache once; plugin compilation is not what this measures.
    let warm_cache = w.join("warm");
    std::fs::create_dir_all(&warm_cache).unwrap();
    run(Command::new(jrt)
        .arg("--cache-dir")
        .arg(&warm_cache)
        .arg("--root")
        .arg(w.join("warm-root"))
        .arg("detect"));
    std::fs::rename(jrt_fs::cache::Cache::new(&warm_cache).compiled(), &compiled).unwrap();
    let jrt_install = |dir: &Path, registry: &str| {
        let (root, cache) = (dir.join("root"), dir.join("cache"));
        std::fs::create_dir_all(&cache).unwrap();
        std::os::unix::fs::symlink(&compiled, jrt_fs::cache::Cache::new(&cache).compiled())
            .unwrap();
        time(|| {
            run(Command::new(jrt)
                .arg("--root")
                .arg(&root)
                .arg("--cache-dir")
                .arg(&cache)
                .args([
                    "--registry",
                    registry,
                    "-q",
                    "install",
                    "python",
                    "--platform",
                    "ubuntu-amd64",
                ]))
        })
    };

    let (indexed_url, plain_url) = (server.url("indexed.json"), server.url("plain.json"));
    let oci_ns = registry.as_ref().map(|r| r.oci("bench"));
    let (mut t_jrt, mut t_tar, mut t_uv, mut t_plain, mut t_oci) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (dir, mounted) = fresh(&format!("jrt-{round}"));
        t_jrt.push(jrt_install(&dir, &indexed_url));
        drop(mounted);

        if let Some(ns) = &oci_ns {
            let (dir, mounted) = fresh(&format!("oci-{round}"));
            t_oci.push(jrt_install(&dir, ns));
            drop(mounted);
        }

        let (dest, mounted) = fresh(&format!("tar-dest-{round}"));
        t_tar.push(time(|| {
            run(Command::new("sh").arg("-c").arg(format!(
                "gzip -dc '{}' | tar -x -C '{}'",
                pkg.display(),
                dest.display()
            )))
        }));
        drop(mounted);

        if have_uv {
            let (uv_dir, mounted) = fresh(&format!("uv-{round}"));
            let (install, uv_cache) = (uv_dir.join("install"), uv_dir.join("cache"));
            t_uv.push(time(|| {
                run(Command::new("uv")
                    .args(["python", "install", "3.11.7", "--no-bin", "--quiet"])
                    .env("UV_PYTHON_DOWNLOADS_JSON_URL", &uv_json_path)
                    .env("UV_PYTHON_INSTALL_DIR", &install)
                    .env("UV_CACHE_DIR", &uv_cache)
                    .env("UV_NO_CONFIG", "1")
                    .env("UV_PYTHON_DOWNLOADS", "manual"))
            }));
            drop(mounted);
        }

        let (dir, mounted) = fresh(&format!("plain-{round}"));
        t_plain.push(jrt_install(&dir, &plain_url));
        drop(mounted);
        let last = |v: &[Duration]| v.last().map_or(0.0, Duration::as_secs_f64);
        eprintln!(
            "round {}/{rounds}: jrt {:.3} s, jrt from OCI {:.3} s, gzip|tar {:.3} s, uv {:.3} s, \
             jrt one-stream {:.3} s",
            round + 1,
            last(&t_jrt),
            last(&t_oci),
            last(&t_tar),
            last(&t_uv),
            last(&t_plain)
        );
    }

    let secs = |v: Vec<Duration>| median(v).as_secs_f64();
    let (j, t, p) = (secs(t_jrt), secs(t_tar), secs(t_plain));
    println!(
        "filesystem: {}",
        if fresh_fs {
            "a fresh ext4 (loop device) per measurement"
        } else {
            "the work directory's own"
        }
    );
    println!(
        "package: {files} files ({}); {:.1} MB as jrt builds it \
         (indexed gzip members), {:.1} MB as one gzip stream",
        if quick {
            "this machine's CPython headers, quick mode"
        } else {
            "this machine's CPython tree"
        },
        size as f64 / 1e6,
        plain_size as f64 / 1e6
    );
    println!("median of {rounds} rounds:");
    println!("  jrt install (loopback HTTP)            {j:>8.3} s");
    println!("  gzip -dc | tar -x (local, same file)   {t:>8.3} s");
    let ratio_tar = j / t;
    println!(
        "  jrt / gzip|tar = {ratio_tar:.2}   {}",
        verdict(ratio_tar, 0.4, quick)
    );
    if t_oci.is_empty() {
        println!(
            "  docker-registry not found on PATH: apt install docker-registry for the OCI case"
        );
    } else {
        let o = secs(t_oci);
        println!("  jrt install from oci:// (loopback)     {o:>8.3} s");
        let ratio_oci = o / j;
        println!(
            "  jrt from OCI / jrt from a registry.json URL = {ratio_oci:.2}   {}",
            verdict(ratio_oci, 1.1, quick)
        );
    }
    if have_uv {
        let u = secs(t_uv);
        println!("  uv python install (loopback, 1 stream) {u:>8.3} s");
        let ratio_uv = j / u;
        println!(
            "  jrt / uv = {ratio_uv:.2}   {}",
            verdict(ratio_uv, 0.8, quick)
        );
        println!(
            "  for reference, jrt install of the one-stream archive: {p:.3} s \
             ({:.2} of gzip|tar, {:.2} of uv)",
            p / t,
            p / u
        );
    } else {
        println!("  uv not found on PATH: `pip install uv` to include the uv baseline");
        println!(
            "  for reference, jrt install of the one-stream archive: {p:.3} s ({:.2} of gzip|tar)",
            p / t
        );
    }
}
