//! Install benchmark: the first install on a fresh node, with real runtimes.
//!
//! The packages are the real ones: `jrt build --prebuilt runtimes/python-3.11
//! runtimes/python-3.11-ml` runs here first (the host's CPython 3.11.7, the pinned wheels from a
//! local directory, see "Inputs"), and every measurement starts from empty caches (no
//! downloaded package, no compiled plugin) on a freshly made filesystem, as a fresh node in a
//! fleet does. Served from a loopback HTTP server and measured alternately in the same run:
//!
//!   (a) `jrt install python-3.11` (download, verify, extract, receipt, rename) against
//!       `uv python install` of the same tree packed as a python-build-standalone
//!       `install_only` archive (one gzip stream, `python/...`; `UV_PYTHON_DOWNLOADS_JSON_URL`
//!       lists it), and against `gzip -dc PKG | tar -x` of jrt's own package file (no
//!       download); also `jrt install` of the same package pushed (`jrt push`) to the CNCF
//!       distribution registry (`docker-registry`, started here on 127.0.0.1), from `oci://`;
//!   (b) `jrt install python-3.11-ml` against what a user would do instead: `uv venv` on the
//!       host's CPython 3.11.7 and `uv pip install` of the same pins from the local wheel
//!       directory (`--no-index --find-links`), with an empty uv cache;
//!       That environment holds less than jrt's runtime: no interpreter of its own and no
//!       bytecode, about 340 MB where jrt writes 620 MB. So (b) also measures what gives the
//!       same content, as context beside the target's own baseline: `uv python install` of
//!       (a)'s archive, `uv venv` on that interpreter, and `uv pip install --compile-bytecode`;
//!   (c) `jrt detect`, the whole process, against `jrt --version`.
//!
//! It prints each median, each ratio against its target, and the peak memory (max RSS) of
//! the installs. Each measurement starts after a `sync` (so one tool's writeback does not
//! bill the next) and, as root, writes to a fresh ext4 on a loop device (see `fresh`).
//!
//! Inputs: `host/benches/inputs.sh` installs uv (pinned) and downloads the python-3.11-ml
//! wheels into `target/bench-inputs/wheels` (or `JRT_BENCH_WHEELS`); `.ci/run` runs it. Run:
//! `cargo bench -p jrt --bench install` (rounds: `JRT_BENCH_ROUNDS`, default 5). `cargo test -p
//! jrt --benches` runs one round of everything instead (quick mode, as CI does, with the
//! unoptimised jrt), so the harness itself cannot rot; it judges no target.

#[path = "../tests/common/oci.rs"]
mod oci;
#[path = "../tests/common/server.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

const PYTHON: &str = "python-3.11";
const ML: &str = "python-3.11-ml";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python_prefix() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.base_prefix)"])
        .output()
        .expect("python3 (CPython 3.11.7) is needed for the benchmark's runtimes");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The pins of python-3.11-ml's manifest, as pip reads them (hashes left off).
fn ml_pins() -> Vec<String> {
    let path = workspace().join("runtimes").join(ML).join("manifest.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let yaml: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    yaml["packages"]
        .as_sequence()
        .expect("python-3.11-ml lists its packages")
        .iter()
        .map(|p| {
            let p = p.as_str().unwrap();
            p.split(" --").next().unwrap().trim().to_string()
        })
        .collect()
}

/// The local wheel directory, checked to hold a wheel for every pin.
fn wheels() -> PathBuf {
    let dir = std::env::var_os("JRT_BENCH_WHEELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/bench-inputs/wheels"));
    let names: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_lowercase())
                .collect()
        })
        .unwrap_or_default();
    for pin in ml_pins() {
        let (name, version) = pin.split_once("==").unwrap();
        let stem = format!("{}-{version}-", name.replace('-', "_").to_lowercase());
        assert!(
            names
                .iter()
                .any(|n| n.starts_with(&stem) && n.ends_with(".whl")),
            "no wheel for {pin} in {}: run host/benches/inputs.sh first",
            dir.display()
        );
    }
    dir
}

/// The `uv` to compare with: `JRT_BENCH_UV`, else the one on the PATH.
fn uv() -> PathBuf {
    let uv = std::env::var_os("JRT_BENCH_UV").map_or_else(|| PathBuf::from("uv"), PathBuf::from);
    let ok = Command::new(&uv)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "uv is not on the PATH: run host/benches/inputs.sh first (or set JRT_BENCH_UV)"
    );
    uv
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

/// Runs `cmd` to its end; returns how long it took and its peak memory (bytes).
///
/// The peak is the kernel's high-water mark of the child's own memory (`VmHWM` in
/// `/proc/PID/status`), read every few milliseconds by a thread while the main thread waits.
/// Not `ru_maxrss`: a child spawned from this process starts out sharing its address space
/// (vfork), and this process holds the served packages, hundreds of MB, which `ru_maxrss`
/// would count as the child's. What the child adds in its last few milliseconds is not seen.
fn run_measured(cmd: &mut Command) -> (Duration, u64) {
    let t = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start benchmark command");
    let status_file = format!("/proc/{}/status", child.id());
    let done = std::sync::atomic::AtomicBool::new(false);
    let (status, elapsed, peak) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut peak = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let hwm = std::fs::read_to_string(&status_file)
                    .ok()
                    .and_then(|text| {
                        let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
                        line.split_whitespace().nth(1)?.parse::<u64>().ok()
                    })
                    .unwrap_or(0);
                peak = peak.max(hwm * 1024);
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        });
        let status = child.wait().expect("wait for benchmark command");
        let elapsed = t.elapsed();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        (status, elapsed, sampler.join().unwrap())
    });
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        panic!("{cmd:?} failed ({status}): {err}");
    }
    (elapsed, peak)
}

/// Whether fresh loop-mounted filesystems can be made here: root, mkfs.ext4, mount.
fn fresh_filesystems(w: &Path) -> bool {
    if std::env::var("JRT_BENCH_FRESH_FS").is_ok_and(|v| v == "0")
        // SAFETY: geteuid has no preconditions.
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
        // Room for the ML runtime unpacked (~700 MB), its cached package and a margin.
        std::fs::File::create(&image)
            .unwrap()
            .set_len(4 << 30)
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

/// `ok` or `MISSED` against a target; nothing in quick mode, whose unoptimised timings say
/// nothing about targets.
fn verdict(value: f64, target: f64, quick: bool) -> String {
    match (quick, value <= target) {
        (true, _) => format!("target <= {target:.2} (not judged in quick mode)"),
        (false, true) => format!("target <= {target:.2} ok"),
        (false, false) => format!("target <= {target:.2} MISSED"),
    }
}

/// Builds the two real prebuilt packages with `jrt build --prebuilt`, pip taking the pinned
/// wheels from `wheels` only. Returns each package's path, by runtime name.
fn build_packages(jrt: &str, w: &Path, wheels: &Path) -> Vec<(String, PathBuf)> {
    let out = w.join("dist");
    let runtimes = workspace().join("runtimes");
    let t = Instant::now();
    run(Command::new(jrt)
        .arg("--root")
        .arg(w.join("build-root"))
        .arg("--cache-dir")
        .arg(w.join("build-cache"))
        .args(["-q", "build", "--prebuilt", "--out"])
        .arg(&out)
        .arg(runtimes.join(PYTHON))
        .arg(runtimes.join(ML))
        .env("PIP_FIND_LINKS", wheels)
        .env("PIP_NO_INDEX", "1"));
    eprintln!("built the packages in {:.1} s", t.elapsed().as_secs_f64());
    [PYTHON, ML]
        .into_iter()
        .map(|name| {
            let pkg = std::fs::read_dir(&out)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .find(|p| {
                    let n = p.file_name().unwrap().to_string_lossy();
                    n.starts_with(&format!("{name}-"))
                        && n.ends_with(".tar.gz")
                        && !n.ends_with(".layer.tar.gz")
                        && n[name.len() + 1..].starts_with(|c: char| c.is_ascii_digit())
                })
                .unwrap_or_else(|| panic!("jrt build wrote no package for {name}"));
            (name.to_string(), pkg)
        })
        .collect()
}

/// The platform and version in a package name `<name>-<version>-<platform>.tar.gz`.
fn version_and_platform(name: &str, pkg: &Path) -> (String, String) {
    let file = pkg.file_name().unwrap().to_string_lossy();
    let rest = file[name.len() + 1..].trim_end_matches(".tar.gz");
    let (version, platform) = rest.split_once('-').unwrap();
    (version.to_string(), platform.to_string())
}

/// jrt's python-3.11 package repacked as python-build-standalone packs `install_only`: the
/// interpreter prefix (`<name>/isolated/usr/local/`) as `python/`, jrt's few other files
/// beside it under `python/jrt/`, one gzip stream at level 6. Same files, same bytes.
fn install_only_archive(pkg: &Path) -> (Vec<u8>, usize) {
    let prefix = format!("{PYTHON}/isolated/usr/local/");
    let rename = |path: &str| -> Option<String> {
        if let Some(rest) = path.strip_prefix(&prefix) {
            return Some(format!("python/{rest}"));
        }
        // The directories above the prefix have no place in the archive.
        let rest = path.strip_prefix(&format!("{PYTHON}/"))?;
        (!prefix.starts_with(path)).then(|| format!("python/jrt/{rest}"))
    };
    let file = std::fs::File::open(pkg).unwrap();
    let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(file));
    let mut out = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::new(6)));
    let mut files = 0;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let Some(new) = rename(&path) else { continue };
        let mut header = entry.header().clone();
        match header.entry_type() {
            tar::EntryType::Symlink => {
                let target = entry.link_name().unwrap().unwrap().into_owned();
                out.append_link(&mut header, &new, target).unwrap();
            }
            tar::EntryType::Link => {
                let target = entry.link_name().unwrap().unwrap();
                let target = rename(&target.to_string_lossy()).unwrap();
                out.append_link(&mut header, &new, target).unwrap();
            }
            _ => {
                if header.entry_type().is_file() {
                    files += 1;
                }
                out.append_data(&mut header, &new, &mut entry).unwrap();
            }
        }
    }
    (out.into_inner().unwrap().finish().unwrap(), files)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` (CI) passes nothing: then one
    // round of everything, so the harness runs end to end.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds: usize = if quick {
        1
    } else {
        std::env::var("JRT_BENCH_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(5)
    };
    let (wheels, uv) = (wheels(), uv());
    let jrt = env!("CARGO_BIN_EXE_jrt");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();

    let packages = build_packages(jrt, w, &wheels);
    let server = server::Server::start();
    let mut runtimes = serde_json::Map::new();
    let mut platform = String::new();
    let mut python_pkg = PathBuf::new();
    for (name, pkg) in &packages {
        let bytes = std::fs::read(pkg).unwrap();
        let (version, p) = version_and_platform(name, pkg);
        let file = format!("{name}.tar.gz");
        runtimes.insert(
            name.clone(),
            serde_json::json!({ version.clone(): {
                "version": version, "description": "benchmark", "download_url": file,
                "checksum": format!("sha256:{}", hex::encode(Sha256::digest(&bytes))),
                "size": bytes.len(), "platforms": [p.clone()]
            }}),
        );
        eprintln!(
            "{name}: {:.1} MB as jrt builds it",
            bytes.len() as f64 / 1e6
        );
        server.put(&file, bytes);
        if name == PYTHON {
            (platform, python_pkg) = (p, pkg.clone());
        }
    }
    let index = serde_json::json!({ "version": "1", "runtimes": runtimes });
    server.put("registry.json", serde_json::to_vec(&index).unwrap());
    let registry_url = server.url("registry.json");

    // (a)'s uv input: the same tree as an install_only archive, listed in a downloads JSON.
    let (plain, files) = install_only_archive(&python_pkg);
    let plain_sha = hex::encode(Sha256::digest(&plain));
    let plain_size = plain.len();
    server.put("install_only.tar.gz", plain);
    let uv_json = serde_json::json!({
        "cpython-3.11.7-linux-x86_64-gnu": {
            "name": "cpython", "arch": {"family": "x86_64", "variant": null}, "os": "linux",
            "libc": "gnu", "major": 3, "minor": 11, "patch": 7, "prerelease": "",
            "url": server.url("install_only.tar.gz"), "sha256": plain_sha, "variant": null,
            "build": "bench"
        }
    });
    let uv_json_path = w.join("uv-downloads.json");
    std::fs::write(&uv_json_path, serde_json::to_vec(&uv_json).unwrap()).unwrap();

    // The same python-3.11 package in an OCI registry, pushed as `jrt build` named it.
    let oci_registry = oci::Registry::start();
    run(Command::new(jrt)
        .arg("--cache-dir")
        .arg(w.join("push-cache"))
        .arg("--root")
        .arg(w.join("push-root"))
        .args(["-q", "push"])
        .arg(&python_pkg)
        .arg(oci_registry.oci("bench")));
    let oci_ns = oci_registry.oci("bench");

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
    // A fresh node: empty root, empty cache (no package, no compiled plugin).
    let jrt_install = |dir: &Path, registry: &str, name: &str| {
        run_measured(
            Command::new(jrt)
                .arg("--root")
                .arg(dir.join("root"))
                .arg("--cache-dir")
                .arg(dir.join("cache"))
                .args(["--registry", registry, "-q", "install", name, "--platform"])
                .arg(&platform),
        )
    };
    // uv with everything of its own (cache, config, pythons) below `dir`.
    let uv_in = |dir: &Path| {
        let mut cmd = Command::new(&uv);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("UV_CACHE_DIR", dir.join("uv-cache"))
            .env("UV_NO_CONFIG", "1")
            .env("UV_PYTHON_INSTALL_DIR", dir.join("pythons"));
        cmd
    };
    // (a)'s archive, from the loopback server.
    let uv_python_install = |dir: &Path| {
        let mut cmd = uv_in(dir);
        cmd.args(["python", "install", "3.11.7", "--no-bin", "--quiet"])
            .env("UV_PYTHON_DOWNLOADS_JSON_URL", &uv_json_path)
            .env("UV_PYTHON_DOWNLOADS", "manual");
        cmd
    };
    let host_python = python_prefix().join("bin/python3.11");
    let pins = ml_pins();
    // The pins from the local wheels into `venv`.
    let uv_pip_install = |dir: &Path, venv: &Path| {
        let mut cmd = uv_in(dir);
        cmd.args(["pip", "install", "--quiet", "--no-index", "--find-links"])
            .arg(&wheels)
            .arg("--python")
            .arg(venv.join("bin/python"))
            .args(&pins);
        cmd
    };

    let mut t = Timings::default();
    for round in 0..rounds {
        let (dir, mounted) = fresh(&format!("jrt-{round}"));
        t.push(
            "python-3.11",
            |t| &mut t.jrt,
            jrt_install(&dir, &registry_url, PYTHON),
        );
        drop(mounted);

        let (dir, mounted) = fresh(&format!("oci-{round}"));
        t.push(
            "python-3.11 from OCI",
            |t| &mut t.oci,
            jrt_install(&dir, &oci_ns, PYTHON),
        );
        drop(mounted);

        let (dest, mounted) = fresh(&format!("tar-{round}"));
        t.tar.push(time(|| {
            run(Command::new("sh").arg("-c").arg(format!(
                "gzip -dc '{}' | tar -x -C '{}'",
                python_pkg.display(),
                dest.display()
            )))
        }));
        drop(mounted);

        let (dir, mounted) = fresh(&format!("uv-{round}"));
        t.uv.push(run_measured(&mut uv_python_install(&dir)).0);
        drop(mounted);

        let (dir, mounted) = fresh(&format!("jrt-ml-{round}"));
        t.push(
            "python-3.11-ml",
            |t| &mut t.jrt_ml,
            jrt_install(&dir, &registry_url, ML),
        );
        drop(mounted);

        let (dir, mounted) = fresh(&format!("uv-ml-{round}"));
        let venv = dir.join("venv");
        t.uv_ml.push(time(|| {
            run(uv_in(&dir)
                .args(["venv", "--quiet", "--python"])
                .arg(&host_python)
                .arg(&venv)
                .env("UV_PYTHON_DOWNLOADS", "never"));
            run(&mut uv_pip_install(&dir, &venv));
        }));
        drop(mounted);

        // The same content as jrt's runtime: an interpreter of its own, and bytecode.
        let (dir, mounted) = fresh(&format!("uv-ml-same-{round}"));
        let venv = dir.join("venv");
        t.uv_ml_same.push(time(|| {
            run(&mut uv_python_install(&dir));
            run(uv_in(&dir)
                .args(["venv", "--quiet", "--managed-python", "--python", "3.11.7"])
                .arg(&venv)
                .env("UV_PYTHON_DOWNLOADS", "never"));
            run(uv_pip_install(&dir, &venv).arg("--compile-bytecode"));
        }));
        drop(mounted);

        let last = |v: &[Duration]| v.last().map_or(0.0, Duration::as_secs_f64);
        eprintln!(
            "round {}/{rounds}: jrt {:.3} s, jrt from OCI {:.3} s, gzip|tar {:.3} s, uv {:.3} s; \
             ML: jrt {:.3} s, uv venv+pip {:.3} s, uv same content {:.3} s",
            round + 1,
            last(&t.jrt),
            last(&t.oci),
            last(&t.tar),
            last(&t.uv),
            last(&t.jrt_ml),
            last(&t.uv_ml),
            last(&t.uv_ml_same),
        );
    }

    // (c) the whole process, many times: a fresh cache each time is not needed (the built-ins
    // bring their compiled code), so one empty cache serves every run.
    let runs = if quick { 3 } else { 31 };
    let detect_dir = w.join("detect");
    let whole = |args: &[&str]| {
        let mut cmd = Command::new(jrt);
        cmd.arg("--root")
            .arg(detect_dir.join("root"))
            .arg("--cache-dir")
            .arg(detect_dir.join("cache"))
            .args(args);
        run(&mut cmd); // once before, so the binary is in the page cache for both
        median((0..runs).map(|_| time(|| run(&mut cmd))).collect())
    };
    let detect = whole(&["-q", "detect"]);
    let version = whole(&["--version"]);

    let secs = |v: &[Duration]| median(v.to_vec()).as_secs_f64();
    let (j, o, tr, u, jm, um, us) = (
        secs(&t.jrt),
        secs(&t.oci),
        secs(&t.tar),
        secs(&t.uv),
        secs(&t.jrt_ml),
        secs(&t.uv_ml),
        secs(&t.uv_ml_same),
    );
    println!(
        "filesystem: {}; every cache empty",
        if fresh_fs {
            "a fresh ext4 (loop device) per measurement"
        } else {
            "the work directory's own"
        }
    );
    println!(
        "jrt {}; median of {rounds} rounds{}",
        if quick {
            "unoptimised"
        } else {
            "as benchmarked"
        },
        if quick { " (quick mode)" } else { "" }
    );
    println!(
        "(a) python-3.11 from `jrt build --prebuilt` ({files} files; install_only archive {:.1} MB)",
        plain_size as f64 / 1e6
    );
    println!("  jrt install (loopback HTTP)            {j:>8.3} s");
    println!("  jrt install from oci:// (loopback)     {o:>8.3} s");
    println!("  gzip -dc | tar -x (local, same file)   {tr:>8.3} s");
    println!("  uv python install (loopback)           {u:>8.3} s");
    println!("  jrt / uv = {:.2}   {}", j / u, verdict(j / u, 0.5, quick));
    println!(
        "  jrt / gzip|tar = {:.2}   {}",
        j / tr,
        verdict(j / tr, 0.35, quick)
    );
    println!(
        "  jrt from OCI / jrt from a registry.json URL = {:.2}   {}",
        o / j,
        verdict(o / j, 1.1, quick)
    );
    println!("(b) python-3.11-ml ({} pinned wheels)", pins.len());
    println!("  jrt install (loopback HTTP)            {jm:>8.3} s");
    println!("  uv venv + uv pip install (local wheels) {um:>7.3} s");
    println!(
        "  jrt / uv = {:.2}   {}",
        jm / um,
        verdict(jm / um, 0.5, quick)
    );
    println!(
        "  the same content (uv python install + venv + pip install --compile-bytecode) {us:.3} s"
    );
    println!("  jrt / that = {:.2}   (context; no target)", jm / us);
    println!("(c) whole process, median of {runs}");
    println!(
        "  jrt detect     {:>7.2} ms   {}",
        detect.as_secs_f64() * 1e3,
        verdict(detect.as_secs_f64() * 1e3, 5.0, quick).replace("target <= 5.00", "target <= 5 ms")
    );
    println!("  jrt --version  {:>7.2} ms", version.as_secs_f64() * 1e3);
    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    let peak = t.peaks.values().copied().max().map_or(0.0, mib);
    let each: Vec<String> = t
        .peaks
        .iter()
        .map(|(what, bytes)| format!("{what} {:.0} MiB", mib(*bytes)))
        .collect();
    println!(
        "peak memory of a jrt install: {peak:.0} MiB   {} ({})",
        verdict(peak, 150.0, quick).replace("150.00", "150 MiB"),
        each.join(", ")
    );
}

/// Every round's times, and the largest peak memory of each kind of jrt install.
#[derive(Default)]
struct Timings {
    jrt: Vec<Duration>,
    oci: Vec<Duration>,
    tar: Vec<Duration>,
    uv: Vec<Duration>,
    jrt_ml: Vec<Duration>,
    uv_ml: Vec<Duration>,
    uv_ml_same: Vec<Duration>,
    peaks: std::collections::BTreeMap<&'static str, u64>,
}

impl Timings {
    fn push(
        &mut self,
        what: &'static str,
        into: fn(&mut Self) -> &mut Vec<Duration>,
        (took, peak): (Duration, u64),
    ) {
        into(self).push(took);
        let most = self.peaks.entry(what).or_default();
        *most = (*most).max(peak);
    }
}
