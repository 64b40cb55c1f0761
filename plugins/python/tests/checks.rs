//! The python family's manifest checks, on the upstream manifest's fields.

use jrt_plugin_kit::Guest;
use jrt_plugin_kit::types::{FieldValue, Manifest, ManifestField};
use jrt_plugin_python::Python;

fn manifest(fields: Vec<(&str, FieldValue)>) -> Manifest {
    Manifest {
        source: "runtimes/python-3.11".into(),
        name: "python-3.11".into(),
        version: "1.3.4".into(),
        description: String::new(),
        families: vec!["python".into()],
        platforms: vec!["ubuntu-amd64".into()],
        fields: fields
            .into_iter()
            .map(|(k, v)| ManifestField {
                key: k.into(),
                value: v,
            })
            .collect(),
    }
}

fn list(items: &[&str]) -> FieldValue {
    FieldValue::TextList(items.iter().map(|s| s.to_string()).collect())
}

#[test]
fn upstream_python_manifest_passes_and_loose_ones_do_not() {
    let good = manifest(vec![
        ("python_version", FieldValue::Text("3.11.7".into())),
        (
            "packages",
            list(&["pip==23.3.1", "setuptools==69.0.2", "wheel==0.42.0"]),
        ),
    ]);
    assert!(Python::validate_manifest(good).is_empty());

    let bad = manifest(vec![
        ("python_version", FieldValue::Text("3.11".into())),
        (
            "packages",
            list(&["numpy>=1.26", "pandas", "scipy==1.11.*", "joblib~=1.3.2"]),
        ),
    ]);
    let d = Python::validate_manifest(bad);
    let fields: Vec<&str> = d.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "python_version",
            "packages[0]",
            "packages[1]",
            "packages[2]",
            "packages[3]"
        ]
    );
    assert!(
        d[3].message
            .contains("'scipy==1.11.*' is not pinned as name==version")
    );
    assert!(d[0].message.contains("'3.11' is not an exact version"));

    let d = Python::validate_manifest(manifest(vec![]));
    assert!(
        d.iter()
            .any(|d| d.field == "python_version" && d.message.contains("is missing"))
    );
}

#[test]
fn pip_options_in_packages_are_refused() {
    for pin in [
        "pip==23.3.1 --index-url=https://evil.invalid/simple",
        "pip==23.3.1 --extra-index-url https://evil.invalid/simple",
        "-e==1 git+https://evil.invalid/x",
        "--index-url==https://evil.invalid",
        "pip==23.3.1;--pre",
    ] {
        let d = Python::validate_manifest(manifest(vec![
            ("python_version", FieldValue::Text("3.11.7".into())),
            ("packages", list(&[pin])),
        ]));
        assert!(
            d.iter().any(|d| d.field == "packages[0]"),
            "'{pin}' was accepted: {d:?}"
        );
    }
    let extras = Python::validate_manifest(manifest(vec![
        ("python_version", FieldValue::Text("3.11.7".into())),
        (
            "packages",
            list(&["torch==2.1.0+cu118", "uvicorn[standard]==0.24.0"]),
        ),
    ]));
    assert!(
        extras.iter().all(|d| !d.message.contains("not pinned")),
        "{extras:?}"
    );
}
