//! Plugin benchmarks: cold compile of a plugin, cached and precompiled load + instantiate +
//! `detect-platform` in process, and whole-process `jrt detect`. Prints medians against the targets; a
//! baseline process (`/bin/true`) is timed in the same run for scale.
//!
//! Run: `cargo bench -p jrt --bench plugins`

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use jrt::builtin;
use jrt_install::facts::{self, FactsSource};
use jrt_plugin_host::{HostOptions, Origin, PluginHost};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn host(cache: &Path) -> PluginHost {
    PluginHost::new(HostOptions {
        cache_dir: Some(cache.to_path_buf()),
        ..HostOptions::default()
    })
    .expect("engine")
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn report(what: &str, value: Duration, target: Option<Duration>, quick: bool) {
    // Quick mode runs unoptimised under `cargo test`; its timings say nothing about targets.
    match target.filter(|_| !quick) {
        Some(t) => println!(
            "{what:<58} {:>12}   target <= {:<9} {}",
            ms(value),
            ms(t),
            if value <= t { "ok" } else { "MISSED" }
        ),
        None => println!("{what:<58} {:>12}", ms(value)),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run quickly then.
    let quick = !std::env::args().any(|a| a == "--bench");
    // Quick mode checks the harness runs; `cargo bench` takes enough samples for a median.
    let rounds = if quick { 1 } else { 3 };
    let python = builtin::BUILTIN
        .iter()
        .find(|b| b.package == "jrt-plugin-python")
        .expect("python is built in");
    let facts = facts::gather(&FactsSource::default(), None);

    // 1. Cold compile: an empty cache every time.
    let cold: Vec<Duration> = (0..rounds * 5)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            let host = host(dir.path());
            let t = Instant::now();
            host.load("python", python.wasm, python.sha256, Origin::Builtin)
                .unwrap();
            t.elapsed()
        })
        .collect();

    // 2. Cached: load from the on-disk cache (read, verify, deserialize), instantiate in a
    // fresh store, call detect-platform. The host (engine, linker) already exists, as it does
    // for every command after start-up.
    let cache = tempfile::tempdir().unwrap();
    let host = host(cache.path());
    host.load("python", python.wasm, python.sha256, Origin::Builtin)
        .unwrap();
    let n = if quick { 20 } else { 500 };
    let mut cached = Vec::with_capacity(n);
    let mut call_only = Vec::with_capacity(n);
    let loaded = host
        .load("python", python.wasm, python.sha256, Origin::Builtin)
        .unwrap();
    for _ in 0..n {
        let t = Instant::now();
        let p = host
            .load("python", python.wasm, python.sha256, Origin::Builtin)
            .unwrap();
        host.detect_platform(&p, &facts).unwrap();
        cached.push(t.elapsed());

        let t = Instant::now();
        host.detect_platform(&loaded, &facts).unwrap();
        call_only.push(t.elapsed());
    }

    // 2b. Precompiled: the code jrt's build embedded for the built-in (what every command
    // loads now), instantiate, call detect-platform.
    let mut precompiled = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let p = host
            .load_builtin("python", python.wasm, python.sha256, python.precompiled)
            .unwrap();
        host.detect_platform(&p, &facts).unwrap();
        precompiled.push(t.elapsed());
    }

    // 3. Whole process: `jrt detect` with a warm cache, against spawning /bin/true.
    let jrt = env!("CARGO_BIN_EXE_jrt");
    let root = tempfile::tempdir().unwrap();
    let run_jrt = || {
        let t = Instant::now();
        let out = Command::new(jrt)
            .arg("--root")
            .arg(root.path())
            .arg("--cache-dir")
            .arg(cache.path())
            .args(["detect", "--json"])
            .output()
            .expect("run jrt");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        t.elapsed()
    };
    run_jrt(); // warms the cache for all three plugins
    let runs = if quick { 5 } else { 100 };
    let mut process = Vec::with_capacity(runs);
    let mut baseline = Vec::with_capacity(runs);
    for _ in 0..runs {
        process.push(run_jrt());
        let t = Instant::now();
        Command::new("/bin/true").status().expect("run /bin/true");
        baseline.push(t.elapsed());
    }

    println!(
        "jrt plugin benchmarks (medians{})",
        if quick { ", quick mode" } else { "" }
    );
    report(
        "cold compile of the python plugin",
        median(cold),
        None,
        quick,
    );
    report(
        "cached load + instantiate + detect-platform (in process)",
        median(cached),
        Some(Duration::from_millis(1)),
        quick,
    );
    report(
        "precompiled load + instantiate + detect-platform",
        median(precompiled),
        Some(Duration::from_millis(1)),
        quick,
    );
    report(
        "  of which instantiate + detect-platform",
        median(call_only),
        None,
        quick,
    );
    report(
        "whole-process `jrt detect --json` (3 plugins)",
        median(process.clone()),
        Some(Duration::from_millis(5)),
        quick,
    );
    report("  baseline: spawn /bin/true", median(baseline), None, quick);
}
