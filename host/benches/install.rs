//! Install benchmark: a CPython installation tree (this machine's, site-packages left out:
//! ~280 MB in ~8,000 files, ~85 MB compressed) packed once as a .tar.gz that is at the same
//! time a jrt prebuilt package (runtime.yml at its top) and a python-build-standalone
//! `install_only` archive (`python/bin`, `python/lib`, ...), served from a loopback HTTP
//! server. Measured alternately in the same run:
//!   - `jrt install` of it (download, verify, extract, receipt, atomic rename);
//!   - `gzip -dc PKG | tar -x` of the same file (no download);
//!   - `uv python install` of it, with `UV_PYTHON_DOWNLOADS_JSON_URL` pointing at a local
//!     JSON that lists it (skipped when `uv` is not on the PATH).
//!
//! Each measurement writes to a fresh ext4 on a loop device when run as root (see `fresh`).
//!
//! Run: `cargo bench -p jrt --bench install` (rounds: `JRT_BENCH_ROUNDS`, default 5).

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

/// Packs `prefix` (without site-packages) as `python/...` plus jrt's runtime files.
fn build_package(prefix: &Path, out: &Path) -> (u64, usize) {
    let file = std::fs::File::create(out).unwrap();
    let mut tar = tar::Builder::new(GzEncoder::new(
        std::io::BufWriter::new(file),
        Compression::new(6),
    ));
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
            "name: python-bench\nversion: 1.0.0\nmounts: []\nenvironment: {}\n",
        ),
        (
            "python/manifest.yaml",
            "name: python-bench\nversion: 1.0.0\n",
        ),
        ("python/versions.lock", "components: {}\n"),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
    (std::fs::metadata(out).unwrap().len(), files)
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

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("install benchmark: run it with `cargo bench -p jrt --bench install`");
        return;
    }
    let rounds: usize = std::env::var("JRT_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let pkg = w.join("cpython-3.11-install_only.tar.gz");
    let prefix = python_prefix();
    let (size, files) = build_package(&prefix, &pkg);
    let bytes = std::fs::read(&pkg).unwrap();
    let sha = hex::encode(Sha256::digest(&bytes));

    let server = server::Server::start();
    server.put("pkg.tar.gz", bytes);
    let registry = serde_json::json!({
        "version": "1",
        "runtimes": { "python-bench": { "1.0.0": {
            "version": "1.0.0", "description": "benchmark", "download_url": "pkg.tar.gz",
            "checksum": format!("sha256:{sha}"), "size": size,
            "platforms": ["ubuntu-amd64", "ubuntu-arm64", "rhel-amd64", "rhel-arm64", "amzn-amd64", "amzn-arm64"]
        }}}
    });
    server.put("registry.json", serde_json::to_vec(&registry).unwrap());
    let uv_json = serde_json::json!({
        "cpython-3.11.7-linux-x86_64-gnu": {
            "name": "cpython", "arch": {"family": "x86_64", "variant": null}, "os": "linux",
            "libc": "gnu", "major": 3, "minor": 11, "patch": 7, "prerelease": "",
            "url": server.url("pkg.tar.gz"), "sha256": sha, "variant": null, "build": "bench"
        }
    });
    let uv_json_path = w.join("uv-downloads.json");
    std::fs::write(&uv_json_path, serde_json::to_vec(&uv_json).unwrap()).unwrap();
    let have_uv = Command::new("uv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());

    let jrt = env!("CARGO_BIN_EXE_jrt");
    let compiled = w.join("compiled");
    // Every measurement writes into a fresh place and nothing is deleted until the end: ext4
    // makes creating inodes right after deleting thousands of them very slow (its allocator
    // skips recently deleted inodes), which would swamp what is being measured. As root with
    // mkfs.ext4 at hand (JRT_BENCH_FRESH_FS=0 turns it off), each measurement gets a freshly
    // made ext4 of its own on a loop device, so the host filesystem's history cannot favour
    // one tool over another.
    let fresh_fs = fresh_filesystems(w);
    let mounts = std::cell::RefCell::new(Vec::<Mounted>::new());
    let fresh = |name: &str| {
        let d = w.join(name);
        std::fs::create_dir_all(&d).unwrap();
        if fresh_fs {
            mounts.borrow_mut().push(Mounted::new(w, &d));
        }
        d
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
    std::fs::rename(warm_cache.join("compiled"), &compiled).unwrap();

    let (mut t_jrt, mut t_tar, mut t_uv) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let jrt_dir = fresh(&format!("jrt-{round}"));
        let (root, cache) = (jrt_dir.join("root"), jrt_dir.join("cache"));
        std::fs::create_dir_all(&cache).unwrap();
        std::os::unix::fs::symlink(&compiled, cache.join("compiled")).unwrap();
        t_jrt.push(time(|| {
            run(Command::new(jrt)
                .arg("--root")
                .arg(&root)
                .arg("--cache-dir")
                .arg(&cache)
                .args([
                    "--registry",
                    &server.url("registry.json"),
                    "-q",
                    "install",
                    "python-bench",
                ]))
        }));

        let dest = fresh(&format!("tar-dest-{round}"));
        t_tar.push(time(|| {
            run(Command::new("sh").arg("-c").arg(format!(
                "gzip -dc '{}' | tar -x -C '{}'",
                pkg.display(),
                dest.display()
            )))
        }));

        if have_uv {
            let uv_dir = fresh(&format!("uv-{round}"));
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
        }
        eprintln!("round {}/{rounds} done", round + 1);
    }

    mounts.borrow_mut().clear();
    let (j, t) = (median(t_jrt), median(t_tar));
    println!(
        "filesystem: {}",
        if fresh_fs {
            "a fresh ext4 (loop device) per measurement"
        } else {
            "the work directory's own"
        }
    );
    println!(
        "package: {:.1} MB compressed, {files} files (this machine's CPython tree)",
        size as f64 / 1e6
    );
    println!("median of {rounds} rounds:");
    println!("  jrt install (loopback HTTP)   {:>8.3} s", j.as_secs_f64());
    println!("  gzip -dc | tar -x (local)     {:>8.3} s", t.as_secs_f64());
    let ratio_tar = j.as_secs_f64() / t.as_secs_f64();
    println!(
        "  jrt / gzip|tar = {ratio_tar:.2}   target <= 0.40 {}",
        if ratio_tar <= 0.4 { "ok" } else { "MISSED" }
    );
    if have_uv {
        let u = median(t_uv);
        println!("  uv python install (loopback)  {:>8.3} s", u.as_secs_f64());
        let ratio_uv = j.as_secs_f64() / u.as_secs_f64();
        println!(
            "  jrt / uv = {ratio_uv:.2}   target <= 0.80 {}",
            if ratio_uv <= 0.8 { "ok" } else { "MISSED" }
        );
    } else {
        println!("  uv not found on PATH: `pip install uv` to include the uv baseline");
    }
}
