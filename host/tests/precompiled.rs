//! The built-in plugins' compiled code. A normal build embeds it (host/build.rs), so commands
//! compile nothing for the built-ins and write nothing to the compiled-code cache. A build
//! without it (`JRT_PRECOMPILE=0`, as a build for a target wasmtime cannot compile for gets;
//! `.ci/run` makes one and runs this file against it) still installs, compiling each built-in
//! once into the cache and taking it from there afterwards.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/server.rs"]
mod server;
#[path = "common/tarball.rs"]
mod tarball;

use std::path::Path;
use std::time::SystemTime;

/// The compiled-code entries in `cache` and when each was written.
fn compiled(cache: &Path) -> Vec<(String, SystemTime)> {
    let dir = jrt_fs::cache::Cache::new(cache).compiled();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".cwasm"))
                .map(|e| {
                    let written = e.metadata().unwrap().modified().unwrap();
                    (e.file_name().to_string_lossy().into_owned(), written)
                })
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    entries
}

#[test]
fn built_ins_are_compiled_at_most_once() {
    let builtin = jrt::builtin::BUILTIN;
    let embedded = builtin.iter().filter(|b| b.precompiled.is_some()).count();
    assert!(
        embedded == 0 || embedded == builtin.len(),
        "a build embeds code for every built-in or for none"
    );

    // A source runtime of the jdk family, its JDK served from this machine: setting it up
    // loads the plugins.
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let server = server::Server::start();
    let jdk = packages::fake_jdk();
    let sha = packages::sha256(&jdk);
    server.put("/jdk.tar.gz", jdk);
    let url = server.url("/jdk.tar.gz");
    packages::jdk_runtime(&d.join("runtimes/jdk21"), &url, &sha);
    // A cache of its own, empty: not the tests' shared compiled code.
    let cache = d.join("cache");
    let jrt = || {
        let mut cmd = common::jrt_own_cache(d);
        cmd.arg("--registry").arg(d.join("runtimes"));
        cmd
    };
    jrt().args(["install", "jdk21"]).assert().success();
    assert!(d.join("root/jdk21/1.0.0/runtime.yml").is_file());
    let first = compiled(&cache);
    if embedded > 0 {
        assert!(first.is_empty(), "compiled nothing: {first:?}");
    } else {
        assert_eq!(
            first.len(),
            builtin.len(),
            "each built-in compiled: {first:?}"
        );
    }

    // Every built-in again (detect asks them all): nothing compiled, nothing rewritten.
    jrt().arg("detect").assert().success();
    assert_eq!(compiled(&cache), first);
}
