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
