//! Version capture on `java -version` outputs and `release` files (testdata/java).

use jrt_plugin_jdk::capture::{PROBE_RELEASE, PROBE_VERSION, capture, parse_version};
use jrt_plugin_kit::types::{FieldValue, Manifest, ManifestField, PluginError, ProbeOutput};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../testdata/java/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn manifest(java: &str) -> Manifest {
    Manifest {
        source: "runtimes/openjdk-21".into(),
        name: "openjdk-21".into(),
        version: "1.3.1".into(),
        description: String::new(),
        families: vec!["jdk".into()],
        platforms: vec![],
        fields: vec![ManifestField {
            key: "java_version".into(),
            value: FieldValue::Text(java.into()),
        }],
    }
}

/// `java -version` prints to stderr.
fn probes(version: &str, release: Option<&str>) -> Vec<ProbeOutput> {
    let mut p = vec![ProbeOutput {
        name: PROBE_VERSION.into(),
        exit_code: Some(0),
        stdout: String::new(),
        stderr: version.into(),
    }];
    if let Some(r) = release {
        p.push(ProbeOutput {
            name: PROBE_RELEASE.into(),
            exit_code: Some(0),
            stdout: r.into(),
            stderr: String::new(),
        });
    }
    p
}

fn component<'a>(lock: &'a jrt_plugin_kit::types::VersionLock, key: &str) -> Option<&'a str> {
    lock.components
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn temurin_graalvm_and_corretto_21() {
    let lock = capture(
        &manifest("21.0.1"),
        &probes(
            &fixture("temurin-21.txt"),
            Some(&fixture("temurin-21.release")),
        ),
    )
    .unwrap();
    assert_eq!(component(&lock, "java"), Some("21.0.1"));
    assert_eq!(component(&lock, "java-build"), Some("21.0.1+12-LTS"));
    assert_eq!(component(&lock, "vendor"), Some("Eclipse Adoptium"));
    assert_eq!(
        component(&lock, "vm"),
        Some("OpenJDK 64-Bit Server VM Temurin-21.0.1+12")
    );

    let lock = capture(
        &manifest("21.0.1"),
        &probes(
            &fixture("graalvm-ce-21.txt"),
            Some(&fixture("graalvm-ce-21.release")),
        ),
    )
    .unwrap();
    assert_eq!(
        component(&lock, "java-build"),
        Some("21.0.1+12-jvmci-23.1-b19")
    );
    assert_eq!(component(&lock, "vendor"), Some("GraalVM Community"));
    assert_eq!(component(&lock, "graalvm"), Some("23.1.1"));

    let lock = capture(
        &manifest("21.0.1"),
        &probes(&fixture("corretto-21.txt"), None),
    )
    .unwrap();
    assert_eq!(component(&lock, "vendor"), Some("Corretto-21.0.1.12.1"));
}

#[test]
fn a_17_is_refused_for_a_21_runtime() {
    let e = capture(
        &manifest("21.0.1"),
        &probes(
            &fixture("openjdk-17-debian.txt"),
            Some(&fixture("openjdk-17-debian.release")),
        ),
    )
    .unwrap_err();
    assert!(
        matches!(&e, PluginError::Unsatisfiable(m) if m.contains("17.0.15") && m.contains("needs Java 21")),
        "{e:?}"
    );
    let lock = capture(
        &manifest("17"),
        &probes(
            &fixture("openjdk-17-debian.txt"),
            Some(&fixture("openjdk-17-debian.release")),
        ),
    )
    .unwrap();
    assert_eq!(component(&lock, "vendor"), Some("Debian"));
    assert_eq!(
        component(&lock, "java-build"),
        Some("17.0.15+6-Debian-1deb12u1")
    );
}

#[test]
fn odd_outputs() {
    let v = parse_version(
        "Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nopenjdk version \"21.0.1\" 2023-10-17\n",
    )
    .unwrap();
    assert_eq!(v.version, "21.0.1");
    assert!(parse_version("bash: java: command not found").is_none());
    let e = capture(
        &manifest("21"),
        &probes("bash: java: command not found", None),
    )
    .unwrap_err();
    assert!(matches!(e, PluginError::InvalidInput(_)));
    let e = capture(
        &manifest("8"),
        &probes(
            "java version \"1.8.0_392\"\nJava(TM) SE Runtime Environment (build 1.8.0_392-b08)\n",
            None,
        ),
    );
    assert!(e.is_ok(), "{e:?}");
}
