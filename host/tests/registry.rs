//! registry.json reading (the upstream file as it is, malformed files) and spec resolution.

mod common;

use jrt_registry::spec::resolve;
use jrt_registry::{Index, ResolveError, Spec, SpecError};

fn upstream() -> Index {
    let bytes = std::fs::read(common::testdata().join("upstream/registry.json")).unwrap();
    Index::parse(&bytes, "upstream/registry.json").unwrap()
}

#[test]
fn reads_the_upstream_registry_as_it_is() {
    let idx = upstream();
    assert_eq!(idx.version, "1");
    assert_eq!(idx.updated_at.as_deref(), Some("2025-12-02T17:41:44Z"));
    let names: Vec<&str> = idx.runtimes.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "graalvmjdk-21",
            "openjdk-21",
            "python-3.11",
            "python-3.11-ml",
            "python-3.11-pytorch-cuda"
        ]
    );
    let e = &idx.runtimes["python-3.11"]["1.3.1"];
    assert_eq!(e.size, 5353);
    assert_eq!(
        e.checksum.to_string(),
        "sha256:017d6fca0e125a62c298821cd28075c4e8f402f3dab55dbeb0e8d2a35672463e"
    );
    assert_eq!(e.platforms.len(), 6);
    assert!(idx.extra.contains_key("_comment"));

    // Written back and read again, nothing is lost.
    let again = Index::parse(&idx.to_json(), "rewritten").unwrap();
    assert_eq!(again, idx);
}

fn malformed(json: &str) -> String {
    Index::parse(json.as_bytes(), "test.json")
        .unwrap_err()
        .to_string()
}

const GOOD_ENTRY: &str = r#"{"version":"1.3.4","download_url":"a.tar.gz","checksum":"sha256:017d6fca0e125a62c298821cd28075c4e8f402f3dab55dbeb0e8d2a35672463e","size":5,"platforms":["ubuntu-amd64"]}"#;

#[test]
fn malformed_registries_name_the_bad_field() {
    let with = |entry: &str| {
        format!(r#"{{"version":"1","runtimes":{{"python-3.11":{{"1.3.4":{entry}}}}}}}"#)
    };

    let e = malformed(&with(&GOOD_ENTRY.replace("sha256:017d", "md5:017d")));
    assert!(
        e.starts_with(r#"test.json: runtimes["python-3.11"]["1.3.4"].checksum: "#),
        "{e}"
    );
    assert!(e.contains("sha256:<64 hex digits>"), "{e}");

    let e = malformed(&with(
        &GOOD_ENTRY.replace(r#""size":5"#, r#""size":"five""#),
    ));
    assert!(
        e.contains(r#"runtimes["python-3.11"]["1.3.4"].size"#),
        "{e}"
    );

    let e = malformed(&with(&GOOD_ENTRY.replace(r#","size":5"#, "")));
    assert!(e.contains("missing field `size`"), "{e}");

    let e = malformed(&with(
        &GOOD_ENTRY.replace(r#""version":"1.3.4""#, r#""version":"1.3.5""#),
    ));
    assert!(
        e.contains(r#"runtimes["python-3.11"]["1.3.4"].version: '1.3.5' does not match"#),
        "{e}"
    );

    let e = malformed(&format!(
        r#"{{"version":"1","runtimes":{{"python-3.11":{{"latest":{GOOD_ENTRY}}}}}}}"#
    ));
    assert!(e.contains("'latest' is not a semantic version"), "{e}");

    let e = malformed(&format!(
        r#"{{"version":"1","runtimes":{{"Python":{{"1.3.4":{GOOD_ENTRY}}}}}}}"#
    ));
    assert!(e.contains("'Python' is not a valid runtime name"), "{e}");

    let e = malformed(r#"{"version":"2","runtimes":{}}"#);
    assert!(e.contains("version: schema version '2'"), "{e}");

    let e = malformed(
        &with(&GOOD_ENTRY.replace(r#""platforms""#, r#""artifacts":{"rhel-arm64":{"download_url":"x","checksum":"sha256:00","size":1}},"platforms""#)),
    );
    assert!(
        e.contains(r#"runtimes["python-3.11"]["1.3.4"].artifacts["rhel-arm64"].checksum"#),
        "{e}"
    );

    assert!(malformed("<html>not json</html>").contains("test.json"));
    assert!(malformed("").contains("test.json"));
}

fn index_with(versions: &[(&str, bool)]) -> Index {
    let mut entries = Vec::new();
    for (v, yanked) in versions {
        let e = GOOD_ENTRY.replace("1.3.4", v).replace(
            r#""platforms""#,
            &format!(r#""yanked":{yanked},"platforms""#),
        );
        entries.push(format!("{v:?}:{e}"));
    }
    let json = format!(
        r#"{{"version":"1","runtimes":{{"rt":{{{}}}}}}}"#,
        entries.join(",")
    );
    Index::parse(json.as_bytes(), "t").unwrap()
}

fn pick(idx: &Index, spec: &str) -> Result<String, ResolveError> {
    let spec: Spec = spec.parse().unwrap();
    resolve(&spec, &[idx], "ubuntu-amd64").map(|r| r.version.to_string())
}

#[test]
fn latest_is_the_highest_stable_semver_never_lexical() {
    let idx = index_with(&[
        ("1.9.0", false),
        ("1.10.0", false),
        ("1.2.0", false),
        ("2.0.0-rc.1", false),
    ]);
    assert_eq!(pick(&idx, "rt").unwrap(), "1.10.0");
    assert_eq!(pick(&idx, "rt@latest").unwrap(), "1.10.0");
    assert_eq!(pick(&idx, "rt@2.0.0-rc.1").unwrap(), "2.0.0-rc.1");
}

#[test]
fn requirements_and_exact_versions() {
    let idx = index_with(&[
        ("1.3.0", false),
        ("1.3.1", false),
        ("1.3.9", false),
        ("1.4.0", false),
        ("2.0.0", false),
    ]);
    assert_eq!(pick(&idx, "rt@^1.3").unwrap(), "1.4.0");
    assert_eq!(pick(&idx, "rt@~1.3.1").unwrap(), "1.3.9");
    assert_eq!(pick(&idx, "rt@1").unwrap(), "1.4.0");
    assert_eq!(pick(&idx, "rt@1.3.1").unwrap(), "1.3.1");
    assert_eq!(pick(&idx, "rt@>=1.3.1, <1.4").unwrap(), "1.3.9");
}

#[test]
fn yanked_versions_are_skipped_unless_named_exactly() {
    let idx = index_with(&[("1.3.0", false), ("1.4.0", true)]);
    assert_eq!(pick(&idx, "rt").unwrap(), "1.3.0");
    assert_eq!(pick(&idx, "rt@^1.3").unwrap(), "1.3.0");
    assert_eq!(pick(&idx, "rt@1.4.0").unwrap(), "1.4.0");
    let e = pick(&idx, "rt@~1.4").unwrap_err().to_string();
    assert_eq!(
        e,
        "no version of rt matches '~1.4'; available versions: 1.3.0 (yanked, installable only by exact version: 1.4.0)"
    );
}

#[test]
fn not_found_lists_what_is_available() {
    let idx = upstream();
    let e = pick(&idx, "python-3.12").unwrap_err().to_string();
    assert!(e.starts_with("runtime 'python-3.12' is not in any registry; available runtimes: graalvmjdk-21, openjdk-21, python-3.11"), "{e}");
    let e = pick(&idx, "python-3.11@9.9.9").unwrap_err().to_string();
    assert_eq!(
        e,
        "no version of python-3.11 matches '9.9.9'; available versions: 1.3.1, 1.3.2, 1.3.3, 1.3.4"
    );
}

#[test]
fn platform_filter_prefers_prebuilt_artifacts() {
    let json = format!(
        r#"{{"version":"1","runtimes":{{"rt":{{"1.0.0":{}}}}}}}"#,
        GOOD_ENTRY.replace("1.3.4", "1.0.0").replace(
            r#""platforms""#,
            r#""artifacts":{"rhel-arm64":{"download_url":"rt-1.0.0-rhel-arm64.tar.gz","checksum":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":9}},"platforms""#
        )
    );
    let idx = Index::parse(json.as_bytes(), "t").unwrap();
    let spec: Spec = "rt".parse().unwrap();
    let r = resolve(&spec, &[&idx], "rhel-arm64").unwrap();
    assert_eq!(r.package().0, "rt-1.0.0-rhel-arm64.tar.gz");
    let r = resolve(&spec, &[&idx], "ubuntu-amd64").unwrap();
    assert_eq!(r.package().0, "a.tar.gz");
    let e = resolve(&spec, &[&idx], "amzn-amd64")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "rt@1.0.0 has no package for platform amzn-amd64; platforms offered: rhel-arm64, ubuntu-amd64"
    );
}

#[test]
fn the_first_registry_that_knows_a_name_decides() {
    let high = index_with(&[("1.0.0", false)]);
    let low = index_with(&[("9.0.0", false)]);
    let spec: Spec = "rt".parse().unwrap();
    let r = resolve(&spec, &[&high, &low], "ubuntu-amd64").unwrap();
    assert_eq!((r.registry, r.version.to_string().as_str()), (0, "1.0.0"));
    let spec: Spec = "rt@9.0.0".parse().unwrap();
    assert!(resolve(&spec, &[&high, &low], "ubuntu-amd64").is_err());
}

#[test]
fn bad_specs_are_refused_clearly() {
    assert_eq!(
        "Python@1".parse::<Spec>().unwrap_err(),
        SpecError::Name("Python".into())
    );
    assert_eq!(
        "".parse::<Spec>().unwrap_err(),
        SpecError::Name(String::new())
    );
    let e = "rt@banana".parse::<Spec>().unwrap_err().to_string();
    assert!(
        e.contains("'banana' in 'rt@banana'") && e.contains("rt@^1.3"),
        "{e}"
    );
    assert!("rt@".parse::<Spec>().is_err());
    assert!("rt@*".parse::<Spec>().is_err());
    assert_eq!("rt@1.3.4".parse::<Spec>().unwrap().to_string(), "rt@1.3.4");
}
