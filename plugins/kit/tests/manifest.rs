//! The manifest checks every family shares.

use jrt_plugin_kit::manifest::{common_diagnostics, is_semver, is_valid_name};
use jrt_plugin_kit::types::{Manifest, Severity};

fn manifest(name: &str, version: &str, platforms: &[&str], families: &[&str]) -> Manifest {
    Manifest {
        source: "runtimes/x".into(),
        name: name.into(),
        version: version.into(),
        description: String::new(),
        families: families.iter().map(|s| s.to_string()).collect(),
        platforms: platforms.iter().map(|s| s.to_string()).collect(),
        fields: vec![],
    }
}

#[test]
fn names_and_versions() {
    for ok in [
        "python-3.11",
        "openjdk-21",
        "a",
        "0x",
        "python-3.11-pytorch-cuda",
    ] {
        assert!(is_valid_name(ok), "{ok}");
    }
    for bad in ["", "-x", ".x", "Python", "a b", "a/b", "a_b", "é"] {
        assert!(!is_valid_name(bad), "{bad}");
    }
    for ok in [
        "1.3.4",
        "0.0.0",
        "10.20.30",
        "1.0.0-rc.1",
        "1.0.0+build.5",
        "1.0.0-alpha-1+x",
    ] {
        assert!(is_semver(ok), "{ok}");
    }
    for bad in [
        "1.3", "1", "01.2.3", "1.2.3-", "1.2.3+", "v1.2.3", "1.2.3.4", "1.2.x", "",
    ] {
        assert!(!is_semver(bad), "{bad}");
    }
}

#[test]
fn a_good_manifest_has_no_diagnostics() {
    let m = manifest(
        "python-3.11",
        "1.3.4",
        &["ubuntu-amd64", "rhel-arm64"],
        &["python"],
    );
    assert!(common_diagnostics(&m).is_empty());
}

#[test]
fn each_problem_is_named_by_field() {
    let m = manifest("Python", "1.3", &["ubuntu-amd64", "windows-amd64"], &[]);
    let d = common_diagnostics(&m);
    let fields: Vec<&str> = d.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["name", "version", "platforms[1]", "family"]);
    assert!(d.iter().all(|d| d.severity == Severity::Error));
    assert!(d[2].message.contains("windows-amd64"));
}
