//! Version capture on real `python --version` and `pip list --format=json` outputs.

use jrt_plugin_kit::types::{FieldValue, Manifest, ManifestField, PluginError, ProbeOutput};
use jrt_plugin_python::capture::{PROBE_PACKAGES, PROBE_VERSION, capture, normalise};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../testdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn manifest(python: &str, pins: &[&str]) -> Manifest {
    Manifest {
        source: "runtimes/python-3.11".into(),
        name: "python-3.11".into(),
        version: "1.3.4".into(),
        description: String::new(),
        families: vec!["python".into()],
        platforms: vec!["ubuntu-amd64".into()],
        fields: vec![
            ManifestField {
                key: "python_version".into(),
                value: FieldValue::Text(python.into()),
            },
            ManifestField {
                key: "packages".into(),
                value: FieldValue::TextList(pins.iter().map(|s| s.to_string()).collect()),
            },
        ],
    }
}

fn probes(version: &str, pip_list: &str) -> Vec<ProbeOutput> {
    vec![
        ProbeOutput {
            name: PROBE_VERSION.into(),
            exit_code: Some(0),
            stdout: format!("{version}\n"),
            stderr: String::new(),
        },
        ProbeOutput {
            name: PROBE_PACKAGES.into(),
            exit_code: Some(0),
            stdout: pip_list.into(),
            stderr: String::new(),
        },
    ]
}

#[test]
fn a_fresh_venv_is_locked_with_exactly_its_packages() {
    let lock = capture(
        &manifest("3.11.7", &["pip==23.2.1", "setuptools==65.5.0"]),
        &probes("Python 3.11.7", &fixture("pip/venv-python-3.11.7.json")),
    )
    .unwrap();
    assert_eq!(
        lock.components,
        vec![("python".to_string(), "3.11.7".to_string())]
    );
    let names: Vec<(&str, &str)> = lock
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(names, [("pip", "23.2.1"), ("setuptools", "65.5.0")]);
}

#[test]
fn the_host_list_is_read_and_pins_are_checked() {
    let host = fixture("pip/host-python-3.11.7.json");
    let lock = capture(&manifest("3.11.7", &[]), &probes("Python 3.11.7", &host)).unwrap();
    assert!(lock.packages.len() > 50);
    assert!(lock.packages.windows(2).all(|w| w[0].name <= w[1].name));
    let e = capture(
        &manifest("3.11.7", &["pip==23.3.1", "wheel==0.42.0", "numpy"]),
        &probes("Python 3.11.7", &fixture("pip/venv-python-3.11.7.json")),
    )
    .unwrap_err();
    let PluginError::Unsatisfiable(m) = e else {
        panic!("{e:?}")
    };
    assert!(m.contains("pip is 23.2.1, the manifest pins 23.3.1"), "{m}");
    assert!(m.contains("wheel is not installed (pinned 0.42.0)"), "{m}");
    assert!(m.contains("'numpy' is not pinned with =="), "{m}");
}

#[test]
fn python_3_12_is_never_labelled_3_11() {
    let e = capture(&manifest("3.11.7", &[]), &probes("Python 3.12.1", "[]")).unwrap_err();
    assert!(
        matches!(&e, PluginError::Unsatisfiable(m) if m.contains("Python 3.12.1") && m.contains("python_version 3.11.7")),
        "{e:?}"
    );
    let e = capture(&manifest("3.11.7", &[]), &probes("garbage", "[]")).unwrap_err();
    assert!(matches!(e, PluginError::InvalidInput(_)));
    let mut failed = probes("Python 3.11.7", "[]");
    failed[1].exit_code = Some(1);
    failed[1].stderr = "No module named pip".into();
    let e = capture(&manifest("3.11.7", &[]), &failed).unwrap_err();
    assert!(
        matches!(&e, PluginError::InvalidInput(m) if m.contains("No module named pip")),
        "{e:?}"
    );
}

#[test]
fn names_are_normalised_as_pep_503_says() {
    assert_eq!(normalise("Scikit_Learn"), "scikit-learn");
    assert_eq!(normalise("zope.interface"), "zope-interface");
    assert_eq!(normalise("a--b__c..d"), "a-b-c-d");
}

/// Real outputs of a fresh 3.11.7 venv after `pip install --report … python-dateutil==2.8.2`
/// from PyPI: the pin, the dependency pip pulled in (six) and pip and setuptools from the
/// interpreter's bundled wheels, each with its sha256.
#[test]
fn every_installed_distribution_gets_the_sha256_it_was_installed_from() {
    let mut outputs = probes(
        "Python 3.11.7",
        &fixture("pip/venv-python-3.11.7-dateutil.json"),
    );
    outputs.push(ProbeOutput {
        name: jrt_plugin_kit::pip::PROBE_HASHES.into(),
        exit_code: Some(0),
        stdout: fixture("pip/hashes-venv-python-3.11.7-dateutil.json"),
        stderr: String::new(),
    });
    let lock = capture(&manifest("3.11.7", &["python-dateutil==2.8.2"]), &outputs).unwrap();
    let got: Vec<(&str, &str, Option<&str>)> = lock
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.sha256.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "pip",
                "23.2.1",
                Some("7ccf472345f20d35bdc9d1841ff5f313260c2c33fe417f48c30ac46cccabf5be")
            ),
            (
                "python-dateutil",
                "2.8.2",
                Some("961d03dc3453ebbc59dbdea9e4e11c5651520a876d0f4db161e8674aae935da9")
            ),
            (
                "setuptools",
                "65.5.0",
                Some("f62ea9da9ed6289bfe868cd6845968a2c854d1427f8548d52cae02a42b4f0356")
            ),
            (
                "six",
                "1.17.0",
                Some("4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274")
            ),
        ]
    );

    // A version the reports do not name gets no hash rather than another version's.
    let hashes = outputs.pop().unwrap();
    let mut other = probes(
        "Python 3.11.7",
        &fixture("pip/venv-python-3.11.7-dateutil.json").replace("1.17.0", "1.16.0"),
    );
    other.push(hashes.clone());
    let lock = capture(&manifest("3.11.7", &[]), &other).unwrap();
    let six = lock.packages.iter().find(|p| p.name == "six").unwrap();
    assert_eq!(six.sha256, None);

    // A probe that failed is an error, not a lock without hashes.
    let mut failed = probes(
        "Python 3.11.7",
        &fixture("pip/venv-python-3.11.7-dateutil.json"),
    );
    failed.push(ProbeOutput {
        exit_code: Some(1),
        stdout: String::new(),
        stderr: "PermissionError: .jrt/setup/pip-report-python.json".into(),
        ..hashes
    });
    let e = capture(&manifest("3.11.7", &[]), &failed).unwrap_err();
    assert!(
        matches!(&e, PluginError::InvalidInput(m) if m.contains("pip's installation reports") && m.contains("PermissionError")),
        "{e:?}"
    );
}

/// Older pip writes only `hash: sha256=<hex>` (no `hashes`).
#[test]
fn the_older_single_hash_field_is_read_too() {
    let mut outputs = probes("Python 3.11.7", r#"[{"name": "six", "version": "1.16.0"}]"#);
    outputs.push(ProbeOutput {
        name: jrt_plugin_kit::pip::PROBE_HASHES.into(),
        exit_code: Some(0),
        stdout: r#"{"installed": [{"name": "six", "version": "1.16.0", "download_info": {"url": "file:///w/six-1.16.0-py2.py3-none-any.whl", "archive_info": {"hash": "sha256=8ABB2F1D86890A2DFB989F9A77CFCFD3E47C2A354B01111771326F8AA26E0254"}}}], "bundled": []}"#.into(),
        stderr: String::new(),
    });
    let lock = capture(&manifest("3.11.7", &[]), &outputs).unwrap();
    assert_eq!(
        lock.packages[0].sha256.as_deref(),
        Some("8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254")
    );
}
