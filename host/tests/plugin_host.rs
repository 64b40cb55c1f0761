//! The plugin host against the real compiled components: the built-in plugins, and test
//! plugins that misbehave. Every failure must name the plugin and the function and leave the
//! host usable.

mod common;

use sha2::Digest;

use std::time::{Duration, Instant};

use common::*;
use jrt_plugin_host::types::{Arch, HostFacts, OsFamily};
use jrt_plugin_host::{CacheOutcome, PluginError, PluginFailure, Precompiled};

#[test]
fn builtins_report_their_info_and_api_version() {
    let host = host(None);
    for name in ["python", "jdk", "cuda"] {
        let p = builtin(&host, name);
        assert_eq!(p.meta.name, name);
        assert_eq!(p.meta.families, vec![name.to_string()]);
        assert_eq!(p.meta.api_version, "1.2.0");
        assert_eq!(p.meta.sha256.len(), 64);
    }
}

/// Installs decide the platform natively (jrt::ops::platform, the kit's mapping compiled into
/// jrt) so that prebuilt installs load no plugin: it must give what every built-in plugin
/// gives, for every os-release fixture, machine and `--platform`, refusals included.
#[test]
fn the_native_platform_is_what_every_built_in_plugin_detects() {
    use jrt::ops::detect::DetectError;
    let host = host(None);
    let plugins: Vec<_> = ["python", "jdk", "cuda"]
        .into_iter()
        .map(|name| builtin(&host, name))
        .collect();
    let mut fixtures: Vec<String> = std::fs::read_dir(common::testdata().join("os-release"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 11, "{fixtures:?}");
    let mut compared = 0;
    for file in fixtures.iter().map(Some).chain([None]) {
        for machine in ["x86_64", "aarch64", "riscv64", ""] {
            for asked in [
                None,
                Some("rhel-arm64"),
                Some("amzn-amd64"),
                Some("solaris-sparc"),
            ] {
                let mut facts = match file {
                    Some(file) => facts(file, machine),
                    None => HostFacts {
                        os_release: None,
                        ..facts("debian-12", machine)
                    },
                };
                facts.platform_override = asked.map(String::from);
                facts.libc = Some(jrt_plugin_host::types::LibcInfo {
                    family: jrt_plugin_host::types::LibcFamily::Glibc,
                    version: "2.36".into(),
                });
                let native = jrt::ops::platform::decide(&facts);
                for plugin in &plugins {
                    let case =
                        format!("{} on {file:?} {machine} asked {asked:?}", plugin.meta.name);
                    match (&native, host.detect_platform(plugin, &facts)) {
                        (Ok(n), Ok(p)) => assert_eq!(format!("{n:?}"), format!("{p:?}"), "{case}"),
                        (
                            Err(DetectError::UnknownPlatform(n)),
                            Err(PluginError::Failed {
                                failure: PluginFailure::InvalidInput(p),
                                ..
                            }),
                        )
                        | (
                            Err(DetectError::Unsupported(n)),
                            Err(PluginError::Failed {
                                failure: PluginFailure::UnsupportedPlatform(p),
                                ..
                            }),
                        ) => assert_eq!(n, &p, "{case}"),
                        (n, p) => panic!("{case}: native {n:?}, plugin {p:?}"),
                    }
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 400, "{compared}");
}

#[test]
fn builtins_detect_every_supported_distribution() {
    let host = host(None);
    let cases = [
        ("ubuntu-22.04", "x86_64", "ubuntu-amd64"),
        ("ubuntu-24.04", "aarch64", "ubuntu-arm64"),
        ("debian-12", "x86_64", "ubuntu-amd64"),
        ("rhel-9", "x86_64", "rhel-amd64"),
        ("rocky-9", "aarch64", "rhel-arm64"),
        ("almalinux-9", "x86_64", "rhel-amd64"),
        ("centos-7", "x86_64", "rhel-amd64"),
        ("amzn-2", "aarch64", "amzn-arm64"),
        ("amzn-2023", "x86_64", "amzn-amd64"),
    ];
    for name in ["python", "jdk", "cuda"] {
        let plugin = builtin(&host, name);
        for (file, machine, id) in cases {
            let p = host
                .detect_platform(&plugin, &facts(file, machine))
                .unwrap_or_else(|e| panic!("{name} on {file}: {e}"));
            assert_eq!(p.id, id, "{name} on {file}");
        }
    }
    let p = host
        .detect_platform(&builtin(&host, "python"), &facts("rocky-9", "aarch64"))
        .unwrap();
    assert_eq!((p.os, p.arch), (OsFamily::Rhel, Arch::Arm64));
    assert_eq!(
        (p.distro_id.as_str(), p.distro_version.as_str()),
        ("rocky", "9.3")
    );
}

#[test]
fn unsupported_platform_is_a_typed_error_naming_the_distro() {
    let host = host(None);
    let python = builtin(&host, "python");
    let err = host
        .detect_platform(&python, &facts("fedora-40", "x86_64"))
        .unwrap_err();
    match &err {
        PluginError::Failed {
            plugin,
            function,
            failure: PluginFailure::UnsupportedPlatform(m),
        } => {
            assert_eq!((plugin.as_str(), *function), ("python", "detect-platform"));
            assert!(
                m.contains("Fedora Linux 40") && m.contains("ubuntu-*"),
                "{m}"
            );
        }
        other => panic!("unexpected: {other}"),
    }
}

#[test]
fn plugin_errors_cross_the_component_boundary_typed_and_named() {
    let host = host(None);
    let jdk = builtin(&host, "jdk");
    let manifest = jrt_plugin_host::types::Manifest {
        source: "runtimes/openjdk-21".into(),
        name: "openjdk-21".into(),
        version: "1.3.1".into(),
        description: String::new(),
        families: vec!["jdk".into()],
        platforms: vec!["ubuntu-amd64".into()],
        fields: vec![],
    };
    let facts = facts("debian-12", "x86_64");
    let platform = host.detect_platform(&jdk, &facts).unwrap();
    let request = jrt_plugin_host::types::SetupRequest {
        manifest: manifest.clone(),
        platform,
        facts,
    };
    // No java_version: the plan is refused as invalid input, not faked.
    let err = host.plan_setup(&jdk, &request).unwrap_err();
    assert!(
        matches!(
            &err,
            PluginError::Failed {
                function: "plan-setup",
                failure: PluginFailure::InvalidInput(_),
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("plugin jdk: plan-setup")
            && err.to_string().contains("java_version"),
        "{err}"
    );
    // capture-versions without its probes says which one is missing.
    let err = host.capture_versions(&jdk, &manifest, &[]).unwrap_err();
    assert!(
        err.to_string()
            .contains("the probe 'java-version' did not run"),
        "{err}"
    );
    // validate-manifest: the jdk family wants java_version.
    let diagnostics = host.validate_manifest(&jdk, &manifest).unwrap();
    assert!(
        diagnostics.iter().any(|d| d.field == "java_version"),
        "{diagnostics:?}"
    );
}

#[test]
fn the_compiled_plugins_plan_the_published_manifests() {
    let host = host(None);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtimes");
    let mut facts = facts("debian-12", "x86_64");
    // This build machine's JDKs, as the host reports them: neither is a 21.
    for f in ["openjdk-17-debian.settings.txt", "temurin-25.settings.txt"] {
        facts.tools.push(jrt_plugin_host::types::ProbeOutput {
            name: "host-java".into(),
            exit_code: Some(0),
            stdout: String::new(),
            stderr: std::fs::read_to_string(testdata().join("java").join(f)).unwrap(),
        });
    }
    let plan_of = |runtime: &str, family: &str| {
        let manifest = jrt_package::manifest::Manifest::read_dir(&root.join(runtime)).unwrap();
        let plugin = builtin(&host, family);
        let platform = host.detect_platform(&plugin, &facts).unwrap();
        host.plan_setup(
            &plugin,
            &jrt_plugin_host::types::SetupRequest {
                manifest: jrt_plugin_host::to_wit(&manifest),
                platform,
                facts: facts.clone(),
            },
        )
    };
    use jrt_plugin_host::types::SetupStep;
    let jdk = plan_of("openjdk-21", "jdk").unwrap();
    assert!(
        jdk.steps.iter().any(|s| matches!(s, SetupStep::Fetch(f)
            if f.url.contains("OpenJDK21U-jdk_x64_linux_hotspot_21.0.1_12")
            && f.sha256 == "1a6fa8abda4c5caed915cfbeeb176e7fbd12eb6b222f26e290ee45808b529aa1")),
        "{:?}",
        jdk.steps
    );
    let graal = plan_of("graalvmjdk-21", "jdk").unwrap();
    assert!(graal.probes.iter().any(|p| p.name == "native-image"));
    // No NVIDIA driver here; the manifest allows a CPU-only build, so the cu118 plan stands.
    let cuda = plan_of("python-3.11-pytorch-cuda", "cuda").unwrap();
    assert!(
        cuda.steps.iter().any(|s| matches!(s, SetupStep::Run(r)
            if r.args.iter().any(|a| a == "https://download.pytorch.org/whl/cu118"))),
        "{:?}",
        cuda.steps
    );
    // With no host interpreter reported, python falls back to the pinned build.
    let python = plan_of("python-3.11", "python").unwrap();
    assert!(
        python.steps.iter().any(|s| matches!(s, SetupStep::Fetch(f)
            if f.url.contains("cpython-3.11.7+20240107-x86_64-unknown-linux-gnu-install_only"))),
        "{:?}",
        python.steps
    );
}

#[test]
fn endless_loop_is_stopped_by_the_deadline() {
    let host = host(None);
    let bad = misbehave(&host);
    let started = Instant::now();
    let err = host
        .detect_platform(&bad, &facts("debian-12", "loop"))
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&err, PluginError::Timeout { plugin, function: "detect-platform", .. } if plugin == "misbehave"),
        "{err}"
    );
    assert!(err.to_string().contains("misbehave") && err.to_string().contains("detect-platform"));
    // Generous bound: the deadline is 500 ms; this only proves the loop did not run on.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    still_usable(&host);
}

#[test]
fn memory_bomb_is_stopped_at_the_cap() {
    let host = host(None);
    let bad = misbehave(&host);
    let err = host
        .detect_platform(&bad, &facts("debian-12", "oom"))
        .unwrap_err();
    assert!(
        matches!(&err, PluginError::OutOfMemory { plugin, function: "detect-platform", limit_mib: 64 } if plugin == "misbehave"),
        "{err}"
    );
    still_usable(&host);
}

#[test]
fn trap_is_reported_with_the_panic_message() {
    let host = host(None);
    let bad = misbehave(&host);
    let err = host
        .detect_platform(&bad, &facts("debian-12", "trap"))
        .unwrap_err();
    let PluginError::Trap {
        plugin,
        function,
        stderr,
        ..
    } = &err
    else {
        panic!("unexpected: {err}");
    };
    assert_eq!(
        (plugin.as_str(), *function),
        ("misbehave", "detect-platform")
    );
    assert!(stderr.contains("trapping on purpose"), "{stderr}");
    // The same plugin works again: every call gets a fresh instance.
    let p = host
        .detect_platform(&bad, &facts("debian-12", "x86_64"))
        .unwrap();
    assert_eq!(p.id, "ubuntu-amd64");
    still_usable(&host);
}

fn refused_message(host: &jrt_plugin_host::PluginHost, machine: &str, arg: &str) -> String {
    let bad = misbehave(host);
    let mut f = facts("debian-12", machine);
    f.kernel = arg.into();
    match host.detect_platform(&bad, &f) {
        Err(PluginError::Failed {
            failure: PluginFailure::InvalidInput(m),
            ..
        }) => m,
        other => panic!("unexpected: {other:?}"),
    }
}

#[test]
fn plugins_cannot_read_host_files() {
    let host = host(None);
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "top secret").unwrap();
    for path in [
        secret.path().to_str().unwrap(),
        "/etc/os-release",
        "/proc/self/environ",
    ] {
        let m = refused_message(&host, "read-file", path);
        assert!(m.starts_with("read failed"), "{path}: {m}");
        assert!(!m.contains("top secret"));
    }
    let m = refused_message(&host, "list-root", "");
    assert!(m.starts_with("list failed"), "{m}");
}

#[test]
fn plugins_see_no_environment_or_arguments() {
    let host = host(None);
    // The test process has an environment (PATH, HOME, cargo's CARGO_*) and arguments; none
    // of it may reach the plugin. (Not set_var: other tests of this binary run in parallel.)
    assert!(std::env::vars_os().count() > 0 && std::env::args_os().count() > 0);
    assert_eq!(refused_message(&host, "env", ""), "env=0 args=0");
}

#[test]
fn plugins_cannot_open_sockets() {
    let host = host(None);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let m = refused_message(&host, "connect", &addr);
    assert!(m.starts_with("connect failed"), "{m}");
    assert!(
        listener.accept().is_err(),
        "the plugin reached the listener"
    );
}

#[test]
fn wrong_api_major_is_refused_naming_both_versions() {
    let host = host(None);
    let err = load_file(&host, env!("JRT_TEST_PLUGIN_FUTURE_API")).unwrap_err();
    assert!(
        matches!(&err, PluginError::ApiMismatch { found, .. } if found == "2.0.0"),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("joblet:runtime@2.0.0") && text.contains("joblet:runtime@1.0.0"),
        "{text}"
    );
    still_usable(&host);
}

#[test]
fn garbage_is_not_a_plugin() {
    let host = host(None);
    for (what, bytes) in [
        ("text", b"hello, world".to_vec()),
        ("core module", b"\0asm\x01\0\0\0".to_vec()),
        ("empty", Vec::new()),
    ] {
        let sha = jrt_fs::sha256_hex(&bytes);
        let err = host
            .load(
                "bogus.wasm",
                &bytes,
                &sha,
                jrt_plugin_host::Origin::File("bogus.wasm".into()),
            )
            .unwrap_err();
        assert!(
            matches!(&err, PluginError::NotAPlugin { .. }),
            "{what}: {err}"
        );
        assert!(err.to_string().contains("bogus.wasm"), "{what}: {err}");
    }
}

/// The built-ins run the code jrt's build compiled for them: nothing is compiled, nothing
/// written to the cache. Code the host cannot use (made by another engine, for another
/// target, or cut short) is never run: the plugin is compiled and cached like any other.
#[test]
fn built_ins_run_precompiled_code_and_fall_back_to_compiling_once() {
    let cache = tempfile::tempdir().unwrap();
    let host = host(Some(cache.path()));
    for b in jrt::builtin::BUILTIN {
        let pre = b
            .precompiled
            .expect("a native build precompiles the built-ins");
        let p = host
            .load_builtin(b.package, b.wasm, b.sha256, Some(pre))
            .unwrap();
        assert_eq!(p.cache, CacheOutcome::Precompiled, "{}", b.package);
        host.detect_platform(&p, &common::facts("ubuntu-22.04", "x86_64"))
            .unwrap();
        // The build recorded info() so loading need not call it; the plugin, asked now,
        // says the same.
        assert!(
            pre.info.is_some(),
            "a native build records {}'s info",
            b.package
        );
        let live = host.info(&p).unwrap();
        assert_eq!(
            (&live.name, &live.version, &live.families, &live.api_version),
            (
                &p.meta.name,
                &p.meta.version,
                &p.meta.families,
                &p.meta.api_version
            ),
            "{}",
            b.package
        );
    }
    let written: Vec<_> = std::fs::read_dir(cache.path()).unwrap().flatten().collect();
    assert!(
        written.is_empty(),
        "nothing compiled or cached: {written:?}"
    );

    // The embedded code runs in place for the first engine that loads it, and wasmtime allows
    // code to be registered once a process: a second host (another engine) gets a copy, and
    // dropping the first leaves the second runnable.
    let b = &jrt::builtin::BUILTIN[0];
    let pre = b.precompiled.unwrap();
    assert!(
        (pre.code.as_ptr() as usize).is_multiple_of(65536),
        "the build aligns embedded code to 64 KiB"
    );
    let (one, two) = (common::host(None), common::host(None));
    let first = one
        .load_builtin(b.package, b.wasm, b.sha256, Some(pre))
        .unwrap();
    let second = two
        .load_builtin(b.package, b.wasm, b.sha256, Some(pre))
        .unwrap();
    one.detect_platform(&first, &common::facts("ubuntu-22.04", "x86_64"))
        .unwrap();
    drop((first, one));
    let p = two
        .detect_platform(&second, &common::facts("ubuntu-22.04", "x86_64"))
        .unwrap();
    assert_eq!(p.id, "ubuntu-amd64");

    let b = &jrt::builtin::BUILTIN[0];
    let here = b.precompiled.unwrap();
    let other_target = if jrt_engine::TARGET.starts_with("x86_64") {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    };
    let foreign: &'static [u8] = jrt_engine::engine(other_target)
        .unwrap()
        .precompile_component(b.wasm)
        .unwrap()
        .leak();
    let cut: &'static [u8] = &here.code[..here.code.len() / 2];
    let offered = [
        // Another build's engine: not even offered to wasmtime.
        Precompiled {
            code: here.code,
            fingerprint: "0123456789abcdef",
            info: None,
        },
        // Under this host's fingerprint, yet for another CPU: wasmtime's own check refuses it.
        Precompiled {
            code: foreign,
            fingerprint: here.fingerprint,
            info: None,
        },
        Precompiled {
            code: cut,
            fingerprint: here.fingerprint,
            info: None,
        },
    ];
    for (i, pre) in offered.into_iter().enumerate() {
        let fresh = tempfile::tempdir().unwrap();
        let host = common::host(Some(fresh.path()));
        let p = host
            .load_builtin(b.package, b.wasm, b.sha256, Some(pre))
            .unwrap();
        assert_eq!(p.cache, CacheOutcome::Compiled, "case {i}");
        host.detect_platform(&p, &common::facts("ubuntu-22.04", "x86_64"))
            .unwrap();
        let again = host
            .load_builtin(b.package, b.wasm, b.sha256, Some(pre))
            .unwrap();
        assert_eq!(again.cache, CacheOutcome::Hit, "case {i}: compiled once");
    }
}

#[test]
fn compiled_code_is_cached_and_bad_entries_are_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let host = host(Some(cache.path()));
    let b = &jrt::builtin::BUILTIN[0];
    let load = |host: &jrt_plugin_host::PluginHost| {
        host.load(
            b.package,
            b.wasm,
            b.sha256,
            jrt_plugin_host::Origin::Builtin,
        )
        .unwrap()
    };
    assert_eq!(load(&host).cache, CacheOutcome::Compiled);
    assert_eq!(load(&host).cache, CacheOutcome::Hit);

    let entries: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| !p.ends_with("mac.key"))
        .collect();
    assert_eq!(entries.len(), 1, "one entry, no temp files: {entries:?}");
    let entry = &entries[0];
    let name = entry.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with(b.sha256) && name.ends_with(".cwasm"),
        "{name}"
    );
    let good = std::fs::read(entry).unwrap();

    // One flipped byte deep in the compiled code.
    let mut flipped = good.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x40;
    std::fs::write(entry, &flipped).unwrap();
    let p = load(&host);
    assert_eq!(p.cache, CacheOutcome::Replaced);
    assert_eq!(
        host.detect_platform(&p, &facts("debian-12", "x86_64"))
            .unwrap()
            .id,
        "ubuntu-amd64"
    );
    assert_eq!(
        std::fs::read(entry).unwrap(),
        good,
        "the entry was rewritten"
    );

    // Truncated.
    std::fs::write(entry, &good[..good.len() / 3]).unwrap();
    assert_eq!(load(&host).cache, CacheOutcome::Replaced);

    // Another plugin's entry copied onto this name: framed and hashed correctly, but
    // compiled from other wasm. It must not be taken for python.
    let other = &jrt::builtin::BUILTIN[1];
    let _ = host
        .load(
            other.package,
            other.wasm,
            other.sha256,
            jrt_plugin_host::Origin::Builtin,
        )
        .unwrap();
    let other_entry = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(other.sha256)
        })
        .unwrap();
    std::fs::copy(&other_entry, entry).unwrap();
    let p = load(&host);
    assert_eq!(p.cache, CacheOutcome::Replaced);
    assert_eq!(p.meta.name, "python");

    // Made by an engine with another configuration: framed and hashed correctly, refused by
    // wasmtime's own compatibility check, then recompiled.
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true).epoch_interruption(false);
    let foreign_engine = wasmtime::Engine::new(&config).unwrap();
    let foreign = wasmtime::component::Component::from_binary(&foreign_engine, b.wasm)
        .unwrap()
        .serialize()
        .unwrap();
    let key = jrt_plugin_host::cache::mac_key(cache.path()).unwrap();
    std::fs::write(
        entry,
        jrt_plugin_host::cache::entry_bytes(&key, b.sha256, &foreign),
    )
    .unwrap();
    let p = load(&host);
    assert_eq!(p.cache, CacheOutcome::Replaced);
    assert_eq!(
        host.detect_platform(&p, &facts("debian-12", "x86_64"))
            .unwrap()
            .id,
        "ubuntu-amd64"
    );
    assert_eq!(load(&host).cache, CacheOutcome::Hit);
}

#[test]
fn forged_compiled_code_is_never_run() {
    // An attacker who can write the cache but not read its key puts another plugin's
    // compiled code (the misbehaving test plugin's, compiled by this very engine) under
    // python's name, framed as an entry: with a MAC of a key of their own, and with a plain
    // sha256 as entries once had. Neither is run: python is recompiled and answers.
    let cache = tempfile::tempdir().unwrap();
    let host = host(Some(cache.path()));
    let b = &jrt::builtin::BUILTIN[0];
    let load = |host: &jrt_plugin_host::PluginHost| {
        host.load(
            b.package,
            b.wasm,
            b.sha256,
            jrt_plugin_host::Origin::Builtin,
        )
        .unwrap()
    };
    assert_eq!(load(&host).cache, CacheOutcome::Compiled);
    let _evil = misbehave(&host);
    let evil_entry = cache
        .path()
        .read_dir()
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            !n.starts_with(b.sha256) && n.ends_with(".cwasm")
        })
        .unwrap();
    let framed = std::fs::read(&evil_entry).unwrap();
    // magic line, 64 hex digits, 32 bytes of MAC, then wasmtime's serialized code.
    let magic = framed.iter().position(|&c| c == b'\n').unwrap() + 1;
    let code = &framed[magic + 64 + 32..];
    let entry = cache
        .path()
        .read_dir()
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(b.sha256)
        })
        .unwrap();
    let attacker_key = [7u8; 32];
    let mut old_style = b"jrt-compiled-plugin v2\n".to_vec();
    old_style.extend_from_slice(b.sha256.as_bytes());
    old_style.extend_from_slice(&sha2::Sha256::digest(code));
    old_style.extend_from_slice(code);
    for forged in [
        jrt_plugin_host::cache::entry_bytes(&attacker_key, b.sha256, code),
        old_style,
    ] {
        std::fs::write(&entry, &forged).unwrap();
        let fresh = host_for(cache.path());
        let p = load(&fresh);
        assert_eq!(p.cache, CacheOutcome::Replaced);
        assert_eq!(p.meta.name, "python");
        still_usable(&fresh);
    }

    // A key file others can read (or that another user owns) is no key: nothing is taken
    // from the cache or written to it.
    use std::os::unix::fs::PermissionsExt;
    let key = cache.path().join("mac.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let fresh = host_for(cache.path());
    assert_eq!(load(&fresh).cache, CacheOutcome::Compiled);
    assert_eq!(load(&fresh).cache, CacheOutcome::Compiled);
}

fn host_for(cache: &std::path::Path) -> jrt_plugin_host::PluginHost {
    host(Some(cache))
}

fn still_usable(host: &jrt_plugin_host::PluginHost) {
    let python = builtin(host, "python");
    let p = host
        .detect_platform(&python, &facts("ubuntu-22.04", "x86_64"))
        .unwrap();
    assert_eq!(p.id, "ubuntu-amd64");
}

#[test]
fn sleeping_is_refused_rather_than_waited_out() {
    // The call runs on its own thread so that a regression fails here instead of hanging
    // the test run for the plugin's whole hour of sleep.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let host = host(None);
        let bad = misbehave(&host);
        let result = host.detect_platform(&bad, &facts("debian-12", "sleep"));
        let usable = host
            .detect_platform(&builtin(&host, "python"), &facts("ubuntu-22.04", "x86_64"))
            .map(|p| p.id);
        let _ = tx.send((result.map(|p| p.id), usable));
    });
    let (result, usable) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the plugin's sleep was waited out instead of refused");
    let err = result.unwrap_err();
    assert!(
        matches!(&err, PluginError::Trap { plugin, function: "detect-platform", trap, .. }
            if plugin == "misbehave" && trap.contains("may not wait")),
        "{err}"
    );
    // The host is still usable afterwards.
    assert_eq!(usable.ok().as_deref(), Some("ubuntu-amd64"));
}
