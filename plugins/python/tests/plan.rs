//! The python plan on real host-interpreter reports (testdata/python) and os-release files.

use jrt_plugin_kit::Guest;
use jrt_plugin_kit::types::{
    FieldValue, HostFacts, Manifest, ManifestField, Plan, PluginError, ProbeOutput, SetupRequest,
    SetupStep,
};
use jrt_plugin_python::Python;

const PBS_AMD64: &str = "https://github.com/indygreg/python-build-standalone/releases/download/20240107/cpython-3.11.7+20240107-x86_64-unknown-linux-gnu-install_only.tar.gz#sha256=4a51ce60007a6facf64e5495f4cf322e311ba9f39a8cd3f3e4c026eae488e140";

fn fixture(name: &str) -> String {
    let path = format!("{}/../../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn field(key: &str, value: FieldValue) -> ManifestField {
    ManifestField {
        key: key.into(),
        value,
    }
}

fn manifest(families: &[&str], host: bool, builds: &[(&str, &str)], pins: &[&str]) -> Manifest {
    Manifest {
        source: "runtimes/python-3.11".into(),
        name: "python-3.11".into(),
        version: "1.3.4".into(),
        description: String::new(),
        families: families.iter().map(|s| s.to_string()).collect(),
        platforms: vec!["ubuntu-amd64".into()],
        fields: vec![
            field("python_version", FieldValue::Text("3.11.7".into())),
            field("allow_host_interpreter", FieldValue::Boolean(host)),
            field(
                "python_builds",
                FieldValue::TextMap(
                    builds
                        .iter()
                        .map(|(a, u)| (a.to_string(), u.to_string()))
                        .collect(),
                ),
            ),
            field(
                "packages",
                FieldValue::TextList(pins.iter().map(|s| s.to_string()).collect()),
            ),
        ],
    }
}

fn request(manifest: Manifest, machine: &str, hosts: &[&str]) -> SetupRequest {
    let facts = HostFacts {
        os_release: Some(fixture("os-release/debian-12")),
        machine: machine.into(),
        kernel: "6.1.0-18-amd64".into(),
        libc: None,
        nvidia: None,
        tools: hosts
            .iter()
            .map(|h| ProbeOutput {
                name: "host-python".into(),
                exit_code: Some(0),
                stdout: fixture(h),
                stderr: String::new(),
            })
            .collect(),
        platform_override: None,
    };
    let platform = Python::detect_platform(facts.clone()).unwrap();
    SetupRequest {
        manifest,
        platform,
        facts,
    }
}

fn copies(plan: &Plan) -> Vec<(String, String, Vec<String>)> {
    plan.steps
        .iter()
        .filter_map(|s| match s {
            SetupStep::CopyFromHost(c) => {
                Some((c.source.clone(), c.target.clone(), c.exclude.clone()))
            }
            _ => None,
        })
        .collect()
}

fn runs(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .filter_map(|s| match s {
            SetupStep::Run(r) => Some(format!("{} {}", r.program, r.args.join(" "))),
            _ => None,
        })
        .collect()
}

fn written(plan: &Plan, target: &str) -> String {
    plan.steps
        .iter()
        .find_map(|s| match s {
            SetupStep::WriteFile(w) if w.target == target => {
                Some(String::from_utf8(w.contents.clone()).unwrap())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no write-file {target}"))
}

#[test]
fn a_matching_host_interpreter_is_copied_without_its_site_packages() {
    let pins = ["pip==23.3.1", "setuptools==69.0.2", "wheel==0.42.0"];
    let plan = Python::plan_setup(request(
        manifest(&["python"], true, &[("amd64", PBS_AMD64)], &pins),
        "x86_64",
        &[
            "python/host-python-3.12.3-debian.json",
            "python/host-python-3.11.7-pyenv.json",
        ],
    ))
    .unwrap();
    let copies = copies(&plan);
    assert_eq!(
        copies[0].0, "/home/build/.pyenv/versions/3.11.7/bin/python3.11",
        "the 3.11.7 host interpreter, not the 3.12 one"
    );
    assert_eq!(copies[0].1, "isolated/usr/local/bin/python3.11");
    assert_eq!(
        copies[1].0,
        "/home/build/.pyenv/versions/3.11.7/lib/python3.11"
    );
    assert!(copies[1].2.contains(&"site-packages".to_string()));
    assert!(
        !plan.steps.iter().any(|s| matches!(s, SetupStep::Fetch(_))),
        "nothing is downloaded when the host has the interpreter"
    );
    let runs = runs(&plan);
    assert!(runs[0].contains("-I -m ensurepip"), "{runs:?}");
    assert!(
        runs[1].contains("-I -m pip install")
            && runs[1].contains("--only-binary :all:")
            && runs[1].contains("--report .jrt/setup/pip-report-python.json"),
        "{runs:?}"
    );
    assert_eq!(
        written(&plan, ".jrt/setup/requirements.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>(),
        pins
    );
    assert!(
        runs[2].ends_with(".jrt/setup/relocate.py /usr/local"),
        "{runs:?}"
    );
    assert_eq!(plan.mounts[0].source, "isolated/usr/local");
    assert_eq!(plan.mounts[0].target, "/usr/local");
    assert!(plan.mounts[0].readonly);
    let probes: Vec<&str> = plan.probes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(probes, ["python-version", "pip-list", "pip-hashes"]);
    assert!(
        plan.probes
            .iter()
            .all(|p| p.program == "isolated/usr/local/bin/python3.11"),
        "probes run the runtime's interpreter"
    );
}

#[test]
fn a_near_miss_host_interpreter_falls_back_to_the_pinned_build() {
    let plan = Python::plan_setup(request(
        manifest(&["python"], true, &[("amd64", PBS_AMD64)], &[]),
        "x86_64",
        &["python/host-python-3.12.3-debian.json"],
    ))
    .unwrap();
    assert!(copies(&plan).is_empty());
    let fetch = plan
        .steps
        .iter()
        .find_map(|s| match s {
            SetupStep::Fetch(f) => Some(f.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        fetch
            .url
            .ends_with("x86_64-unknown-linux-gnu-install_only.tar.gz")
    );
    assert_eq!(
        fetch.sha256,
        "4a51ce60007a6facf64e5495f4cf322e311ba9f39a8cd3f3e4c026eae488e140"
    );
    assert!(fetch.unpack && fetch.strip_components == 1);
    assert_eq!(fetch.target, "isolated/usr/local");
}

#[test]
fn without_a_match_or_a_build_for_the_arch_the_catalog_or_a_refusal_in_words() {
    // No host 3.11.7 and no pinned build for arm64: jrt's catalog has one.
    let plan = Python::plan_setup(request(
        manifest(&["python"], true, &[("amd64", PBS_AMD64)], &[]),
        "aarch64",
        &["python/host-python-3.12.3-debian.json"],
    ))
    .unwrap();
    assert!(plan.steps.iter().any(|s| matches!(s, SetupStep::Fetch(f)
        if f.url.ends_with("cpython-3.11.7+20240107-aarch64-unknown-linux-gnu-install_only.tar.gz")
            && f.sha256 == "b102eaf865eb715aa98a8a2ef19037b6cc3ae7dfd4a632802650f29de635aa13")));
    // A version it does not have either: refused, naming the host's and the catalog's.
    let mut m = manifest(&["python"], true, &[("amd64", PBS_AMD64)], &[]);
    m.fields[0] = field("python_version", FieldValue::Text("3.11.6".into()));
    let e = Python::plan_setup(request(
        m,
        "aarch64",
        &["python/host-python-3.12.3-debian.json"],
    ))
    .unwrap_err();
    let PluginError::Unsatisfiable(m) = e else {
        panic!("{e:?}")
    };
    assert!(
        m.contains("CPython 3.11.6")
            && m.contains("cpython 3.12.3")
            && m.contains("arm64")
            && m.contains(
                "jrt's catalog has no CPython 3.11.6 (it has 3.11.7, 3.11.14, 3.12.12, 3.13.11)"
            ),
        "{m}"
    );

    // Host interpreters are not even considered unless the manifest allows them: the host's
    // 3.11.7 is there, and the catalog's build is fetched instead.
    let plan = Python::plan_setup(request(
        manifest(&["python"], false, &[], &[]),
        "x86_64",
        &["python/host-python-3.11.7-pyenv.json"],
    ))
    .unwrap();
    assert!(
        !plan
            .steps
            .iter()
            .any(|s| matches!(s, SetupStep::CopyFromHost(_)))
    );
    assert!(plan.steps.iter().any(|s| matches!(s, SetupStep::Fetch(f)
        if f.sha256 == "4a51ce60007a6facf64e5495f4cf322e311ba9f39a8cd3f3e4c026eae488e140")));
}

#[test]
fn cuda_builds_are_left_to_the_cuda_family() {
    let pins = ["numpy==1.26.2", "torch==2.1.0+cu118"];
    let plan = Python::plan_setup(request(
        manifest(&["python", "cuda"], true, &[], &pins),
        "x86_64",
        &["python/host-python-3.11.7-pyenv.json"],
    ))
    .unwrap();
    let req = written(&plan, ".jrt/setup/requirements.txt");
    assert!(
        req.contains("numpy==1.26.2") && !req.contains("torch"),
        "{req}"
    );
}
