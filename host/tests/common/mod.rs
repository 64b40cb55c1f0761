//! Helpers shared by the host's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use jrt_plugin_host::types::HostFacts;
use jrt_plugin_host::{HostOptions, Limits, LogLevel, Origin, Plugin, PluginHost};

/// The repository's `testdata/` directory.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

pub fn os_release(name: &str) -> String {
    let path = testdata().join("os-release").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn facts(os_release_file: &str, machine: &str) -> HostFacts {
    HostFacts {
        os_release: Some(os_release(os_release_file)),
        machine: machine.into(),
        kernel: "6.1.0-18-amd64".into(),
        libc: None,
        nvidia: None,
        tools: vec![],
        platform_override: None,
    }
}

/// A compiled-code cache shared by the tests (entries are keyed by content, so sharing is
/// safe), which saves recompiling the plugins in every test.
pub fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("jrt-test-compiled")
}

/// A host with short limits so misbehaving plugins are stopped quickly; `None` caches in
/// [`shared_cache`].
pub fn host(cache: Option<&Path>) -> PluginHost {
    PluginHost::new(HostOptions {
        cache_dir: Some(cache.map(Path::to_path_buf).unwrap_or_else(shared_cache)),
        limits: Limits {
            memory_bytes: 64 << 20,
            timeout: Duration::from_millis(500),
        },
        log_level: LogLevel::Error,
    })
    .expect("engine")
}

pub fn load_file(host: &PluginHost, path: &str) -> Result<Plugin, jrt_plugin_host::PluginError> {
    let wasm = std::fs::read(path).expect("test plugin built by build.rs");
    let sha = jrt_fs::sha256_hex(&wasm);
    host.load(path, &wasm, &sha, Origin::File(path.into()))
}

pub fn misbehave(host: &PluginHost) -> Plugin {
    load_file(host, env!("JRT_TEST_PLUGIN_MISBEHAVE")).expect("misbehave plugin loads")
}

pub fn builtin(host: &PluginHost, name: &str) -> Plugin {
    jrt::builtin::BUILTIN
        .iter()
        .map(|b| {
            host.load_builtin(b.package, b.wasm, b.sha256, b.precompiled)
                .expect("built-in loads")
        })
        .find(|p| p.meta.name == name)
        .unwrap_or_else(|| panic!("no built-in plugin {name}"))
}

/// A cache directory under `dir` whose compiled plugins are the shared ones, so the CLI tests
/// do not compile the plugins again.
pub fn cache_with_compiled(dir: &Path) -> PathBuf {
    let cache = dir.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let link = jrt_fs::cache::Cache::new(&cache).compiled();
    // The target made first (a link to nothing would not count as there, and the next call
    // would make it again); the link itself looked at, not followed.
    std::fs::create_dir_all(shared_cache()).unwrap();
    if std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(shared_cache(), link).unwrap();
    }
    cache
}

/// `jrt` with a clean environment, root `<dir>/root` and a cache of its own, `<dir>/cache`,
/// empty (not linked to the tests' shared compiled code), and no registry.
pub fn jrt_own_cache(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("jrt").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--cache-dir")
        .arg(dir.join("cache"));
    cmd
}

/// `jrt` with a clean environment, root `<dir>/root`, cache `<dir>/cache`, and `registry`.
pub fn jrt_in(dir: &Path, registry: &Path) -> assert_cmd::Command {
    assert_cmd::Command::from_std(jrt_std_in(dir, registry))
}

/// [`jrt_in`] as a plain command, for tests that wait for it themselves (to read its rusage).
pub fn jrt_std_in(dir: &Path, registry: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("jrt"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--cache-dir")
        .arg(cache_with_compiled(dir))
        .arg("--registry")
        .arg(registry);
    cmd
}

/// Whether no process whose command line holds `marker` is left, waiting up to two seconds for
/// the kernel to finish killing a sandbox's processes. The marker keeps tests that run beside
/// each other from counting each other's processes.
pub fn none_left(marker: &str) -> bool {
    let started = std::time::Instant::now();
    loop {
        let out = std::process::Command::new("pgrep")
            .args(["-c", "-f", marker])
            .output()
            .expect("pgrep (procps) runs");
        if String::from_utf8_lossy(&out.stdout).trim() == "0" {
            return true;
        }
        if started.elapsed() > Duration::from_secs(2) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
