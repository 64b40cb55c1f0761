//! The jdk plan on real `java -XshowSettings:properties -version` outputs (testdata/java).

use jrt_plugin_jdk::Jdk;
use jrt_plugin_jdk::plan::parse_settings;
use jrt_plugin_kit::Guest;
use jrt_plugin_kit::types::{
    FieldValue, HostFacts, Manifest, ManifestField, PluginError, ProbeOutput, SetupRequest,
    SetupStep,
};

const TEMURIN_X64: &str = "https://github.com/adoptium/temurin21-binaries/releases/download/jdk-21.0.1%2B12/OpenJDK21U-jdk_x64_linux_hotspot_21.0.1_12.tar.gz#sha256=1a6fa8abda4c5caed915cfbeeb176e7fbd12eb6b222f26e290ee45808b529aa1";

fn fixture(name: &str) -> String {
    let path = format!("{}/../../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn manifest(java: &str, graal: bool, host: bool) -> Manifest {
    let mut fields = vec![
        ManifestField {
            key: "java_version".into(),
            value: FieldValue::Text(java.into()),
        },
        ManifestField {
            key: "allow_host_jdk".into(),
            value: FieldValue::Boolean(host),
        },
        ManifestField {
            key: "jdk_builds".into(),
            value: FieldValue::TextMap(vec![("amd64".into(), TEMURIN_X64.into())]),
        },
    ];
    if graal {
        fields.push(ManifestField {
            key: "graalvm_version".into(),
            value: FieldValue::Text("21.0.1".into()),
        });
    }
    Manifest {
        source: "runtimes/openjdk-21".into(),
        name: "openjdk-21".into(),
        version: "1.3.1".into(),
        description: String::new(),
        families: vec!["jdk".into()],
        platforms: vec!["ubuntu-amd64".into()],
        fields,
    }
}

fn request(manifest: Manifest, machine: &str) -> SetupRequest {
    let facts = HostFacts {
        os_release: Some(fixture("os-release/debian-12")),
        machine: machine.into(),
        kernel: "6.1.0-18-amd64".into(),
        libc: None,
        nvidia: None,
        tools: [
            "java/openjdk-17-debian.settings.txt",
            "java/temurin-25.settings.txt",
        ]
        .iter()
        .map(|f| ProbeOutput {
            name: "host-java".into(),
            exit_code: Some(0),
            stdout: String::new(),
            stderr: fixture(f),
        })
        .collect(),
        platform_override: None,
    };
    let platform = Jdk::detect_platform(facts.clone()).unwrap();
    SetupRequest {
        manifest,
        platform,
        facts,
    }
}

#[test]
fn host_jdk_settings_are_read() {
    let jdk = parse_settings(&fixture("java/openjdk-17-debian.settings.txt")).unwrap();
    assert_eq!(jdk.home, "/usr/lib/jvm/java-17-openjdk-amd64");
    assert_eq!(jdk.version, "17.0.15");
    assert_eq!(jdk.vendor, "Debian");
    let jdk = parse_settings(&fixture("java/temurin-25.settings.txt")).unwrap();
    assert_eq!(jdk.version, "25.0.3");
    assert_eq!(jdk.vendor, "Temurin-25.0.3+9");
    assert!(parse_settings("garbage").is_none());
}

#[test]
fn a_host_jdk_of_the_same_major_is_copied() {
    let plan = Jdk::plan_setup(request(manifest("17.0.15", false, true), "x86_64")).unwrap();
    let copy = plan
        .steps
        .iter()
        .find_map(|s| match s {
            SetupStep::CopyFromHost(c) => Some(c.clone()),
            _ => None,
        })
        .expect("a host copy");
    assert_eq!(copy.source, "/usr/lib/jvm/java-17-openjdk-amd64");
    assert_eq!(copy.target, "isolated/opt/jdk");
    assert!(
        plan.environment
            .contains(&("JAVA_HOME".into(), "/opt/jdk".into()))
    );
    assert_eq!(plan.mounts[0].target, "/opt/jdk");
}

#[test]
fn a_17_or_a_25_is_never_a_21_and_the_pinned_build_is_fetched() {
    let plan = Jdk::plan_setup(request(manifest("21.0.1", false, true), "x86_64")).unwrap();
    assert!(
        !plan
            .steps
            .iter()
            .any(|s| matches!(s, SetupStep::CopyFromHost(_)))
    );
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
            .contains("OpenJDK21U-jdk_x64_linux_hotspot_21.0.1_12")
    );
    assert_eq!(fetch.target, "isolated/opt/jdk");

    // No pinned build for arm64 and no host 21: jrt's catalog has Temurin 21.0.1+12 for it.
    let plan = Jdk::plan_setup(request(manifest("21.0.1", false, true), "aarch64")).unwrap();
    let fetch = plan
        .steps
        .iter()
        .find_map(|s| match s {
            SetupStep::Fetch(f) => Some(f.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (fetch.url.as_str(), fetch.sha256.as_str()),
        (
            "https://github.com/adoptium/temurin21-binaries/releases/download/jdk-21.0.1%2B12/\
             OpenJDK21U-jdk_aarch64_linux_hotspot_21.0.1_12.tar.gz",
            "e184dc29a6712c1f78754ab36fb48866583665fa345324f1a79e569c064f95e9"
        )
    );
    // A version neither the host, the manifest nor the catalog has: refused, naming what
    // the host has and the versions the catalog has.
    let e = Jdk::plan_setup(request(manifest("21.0.3", false, true), "aarch64")).unwrap_err();
    let PluginError::Unsatisfiable(m) = e else {
        panic!("{e:?}")
    };
    assert!(
        m.contains("17.0.15")
            && m.contains("25.0.3")
            && m.contains("arm64")
            && m.contains(
                "jrt's catalog has no Temurin JDK 21.0.3 (it has 21.0.1, 21.0.9, 25.0.1)"
            ),
        "{m}"
    );
}

#[test]
fn graalvm_needs_a_graalvm_host_jdk_and_probes_native_image() {
    // The host's 17 is not GraalVM even for a 17 runtime.
    let plan = Jdk::plan_setup(request(manifest("17.0.15", true, true), "x86_64")).unwrap();
    assert!(
        plan.steps.iter().any(|s| matches!(s, SetupStep::Fetch(_))),
        "a non-GraalVM host JDK is not used for a GraalVM runtime"
    );
    assert!(plan.probes.iter().any(|p| p.name == "native-image"));
}
