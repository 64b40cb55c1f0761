//! What confinement costs per program a plan starts: a confined `/bin/true` (namespaces,
//! the new root, Landlock, seccomp) against the same program spawned plainly, measured in the
//! same run. A python-3.11 setup starts about eight programs (ensurepip, pip, relocation,
//! `ldd` twice, probes), so this times eight is what the sandbox adds to an install.
//!
//! Run: `cargo bench -p jrt --bench sandbox`

use std::path::Path;
use std::time::{Duration, Instant};

use jrt_sandbox::process::Keep;
use jrt_sandbox::{Limits, Network, Spec};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run quickly then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let runs = if quick { 3 } else { 50 };
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let tree = tmp.path().join("tree");
    std::fs::create_dir(&tree).expect("the tree");
    let tree = tree.canonicalize().expect("the tree resolves");
    let spec = Spec {
        tree,
        writable: true,
        network: Network::None,
        read_only: Vec::new(),
        limits: Limits::default(),
        job: None,
    };
    let program = Path::new("/bin/true");

    let mut plain = Vec::new();
    let mut confined = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let status = std::process::Command::new(program)
            .status()
            .expect("true runs");
        assert!(status.success());
        plain.push(started.elapsed());

        let started = Instant::now();
        let ran = jrt_sandbox::run(
            &spec,
            program,
            &[],
            &[],
            Duration::from_secs(10),
            Keep::Tail(1024),
        )
        .expect("the sandbox runs true");
        assert_eq!(ran.finished.code, Some(0), "{}", ran.finished.stderr);
        confined.push(started.elapsed());
    }
    let (plain, confined) = (median(plain), median(confined));
    println!(
        "sandbox: confined /bin/true {:.2} ms, plain spawn {:.2} ms: {:.1}x, +{:.2} ms per program{}",
        confined.as_secs_f64() * 1e3,
        plain.as_secs_f64() * 1e3,
        confined.as_secs_f64() / plain.as_secs_f64().max(1e-9),
        (confined.saturating_sub(plain)).as_secs_f64() * 1e3,
        if quick { " (quick mode)" } else { "" }
    );
}
