//! The jdk family's manifest checks, on the upstream manifests' fields.

use jrt_plugin_jdk::Jdk;
use jrt_plugin_kit::Guest;
use jrt_plugin_kit::types::{FieldValue, Manifest, ManifestField};

fn manifest(name: &str, fields: Vec<(&str, FieldValue)>) -> Manifest {
    Manifest {
        source: format!("runtimes/{name}"),
        name: name.into(),
        version: "1.3.1".into(),
        description: String::new(),
        families: vec!["jdk".into()],
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

#[test]
fn openjdk_and_graalvm() {
    let text = |s: &str| FieldValue::Text(s.into());
    assert!(
        Jdk::validate_manifest(manifest(
            "openjdk-21",
            vec![("java_version", text("21.0.1"))]
        ))
        .is_empty()
    );
    let graal = |components: &[&str]| {
        manifest(
            "graalvmjdk-21",
            vec![
                ("java_version", text("21.0.1")),
                ("graalvm_version", text("21.0.1")),
                (
                    "components",
                    FieldValue::TextList(components.iter().map(|s| s.to_string()).collect()),
                ),
            ],
        )
    };
    assert!(
        Jdk::validate_manifest(graal(&["native-image", "js", "wasm", "llvm-toolchain"])).is_empty()
    );
    let d = Jdk::validate_manifest(graal(&["js"]));
    assert!(
        d.iter()
            .any(|d| d.field == "components" && d.message.contains("native-image"))
    );
    let d = Jdk::validate_manifest(manifest(
        "openjdk-21",
        vec![("java_version", text("twenty-one"))],
    ));
    assert!(
        d.iter()
            .any(|d| d.field == "java_version" && d.message.contains("'twenty-one'"))
    );
    let d = Jdk::validate_manifest(manifest("openjdk-21", vec![]));
    assert!(
        d.iter()
            .any(|d| d.field == "java_version" && d.message.contains("is missing"))
    );
}
