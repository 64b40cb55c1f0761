//! Installing a source package end to end: a real plugin component plans the setup, the host
//! checks and runs the plan, writes runtime.yml and versions.lock from the plan and the
//! probes, and the receipt covers what setup made.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/tarball.rs"]
mod tarball;

use jrt_install::source::SetupEnv;
use jrt_install::{InstallError, Installer};
use jrt_registry::source::load_file;
use jrt_registry::spec::resolve;
use packages::*;
use tarball::{dir, file, tgz};

fn source_package(name: &str) -> Vec<u8> {
    tgz(&[
        dir(&format!("{name}/")),
        file(
            &format!("{name}/manifest.yaml"),
            format!("name: {name}\nversion: 1.0.0\ndescription: test\nfamily: [misbehave]\nplatforms: [ubuntu-amd64]\n").as_bytes(),
        ),
    ])
}

fn install(
    name: &str,
) -> (
    tempfile::TempDir,
    Result<jrt_install::Outcome, InstallError>,
) {
    let d = tempfile::tempdir().unwrap();
    let reg = d.path().join("registry");
    std::fs::create_dir(&reg).unwrap();
    let index = write_registry(
        &reg,
        &[Published::honest(name, "1.0.0", source_package(name))],
    );
    let registry = load_file("test", &index).unwrap();
    let installer = Installer::new(&d.path().join("root"), &d.path().join("cache"), false);
    let host = common::host(None);
    let plugins = vec![common::misbehave(&host)];
    let facts = common::facts("debian-12", "x86_64");
    let platform = host.detect_platform(&plugins[0], &facts).unwrap();
    let env = SetupEnv {
        host,
        plugins,
        facts,
        platform,
        policy: Default::default(),
        // The misbehave family reuses no interpreter: skip probing the host's.
        interpreters: std::sync::OnceLock::from(jrt_install::facts::interpreters::Found::default()),
    };
    let resolved = resolve(&name.parse().unwrap(), &[&registry.index], "ubuntu-amd64").unwrap();
    let r = installer.install(
        &registry,
        &resolved,
        "ubuntu-amd64",
        false,
        Some(&env as &dyn jrt_install::source::ProvideSetup),
    );
    (d, r)
}

#[test]
fn a_source_package_is_set_up_by_its_family_plugin() {
    let (d, r) = install("hello-rt");
    let o = r.unwrap();
    assert_eq!((o.action, o.package_kind.as_str()), ("installed", "source"));
    let tree = d.path().join("root/hello-rt/1.0.0");
    let runtime = std::fs::read_to_string(tree.join("runtime.yml")).unwrap();
    for want in [
        "name: hello-rt",
        "source: isolated",
        "target: /opt/hello",
        "readonly: true",
        "HELLO_HOME: /opt/hello",
    ] {
        assert!(
            runtime.contains(want),
            "runtime.yml lacks {want}:\n{runtime}"
        );
    }
    let lock = std::fs::read_to_string(tree.join("versions.lock")).unwrap();
    assert!(
        lock.contains("hello: 1.2.3") && lock.contains("platform: ubuntu-amd64"),
        "{lock}"
    );
    assert!(tree.join("isolated/bin/hello").is_file());

    let receipt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tree.join(".jrt/receipt.json")).unwrap()).unwrap();
    assert_eq!(receipt["package_kind"], "source");
    assert_eq!(receipt["plugins"][0]["name"], "misbehave");
    let layout = jrt_install::Layout::new(d.path().join("root"));
    let v = jrt::ops::installed::verify(&layout, &[]).unwrap();
    assert!(v[0].ok(), "{:?}", v[0].drift);
}

#[test]
fn an_unsafe_plan_installs_nothing() {
    let (d, r) = install("hello-bad-plan");
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains("setup failed")
            && e.contains("absolute path '/etc'")
            && e.contains("Nothing was installed"),
        "{e}"
    );
    assert!(!d.path().join("root/hello-bad-plan/1.0.0").exists());
    assert!(
        std::fs::read_dir(d.path().join("root/.jrt/staging"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn through_the_cli_with_an_added_plugin_dry_run_shows_the_plan_and_install_runs_it() {
    let work = tempfile::tempdir().unwrap();
    let rts = work.path().join("runtimes");
    std::fs::create_dir_all(rts.join("hello-rt")).unwrap();
    std::fs::write(
        rts.join("hello-rt/manifest.yaml"),
        "name: hello-rt\nversion: 1.0.0\nfamily: [misbehave]\nplatforms: [ubuntu-amd64, ubuntu-arm64, rhel-amd64, rhel-arm64, amzn-amd64, amzn-arm64]\n",
    )
    .unwrap();
    let jrt = || common::jrt_in(work.path(), &rts);
    jrt()
        .args(["plugin", "add", env!("JRT_TEST_PLUGIN_MISBEHAVE")])
        .assert()
        .success();
    let out = jrt()
        .args(["install", "--dry-run", "hello-rt"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for want in [
        "plugins   misbehave",
        "setup     misbehave: mkdir isolated/bin",
        "setup     misbehave: write isolated/bin/hello",
        "setup     misbehave: mount isolated at /opt/hello (read-only)",
        "setup     misbehave: env HELLO_HOME=/opt/hello",
    ] {
        assert!(text.contains(want), "dry run lacks '{want}':\n{text}");
    }
    assert!(
        !work.path().join("root/hello-rt").exists(),
        "the dry run installed something"
    );

    let out = jrt().args(["install", "hello-rt"]).assert().success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("(source package"));
    let lock =
        std::fs::read_to_string(work.path().join("root/hello-rt/1.0.0/versions.lock")).unwrap();
    assert!(lock.contains("hello: 1.2.3"), "{lock}");
    jrt().args(["verify", "hello-rt"]).assert().success();
}
