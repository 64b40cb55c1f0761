//! Builds runtime packages and local registries for the install tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::tarball::{self, Raw, dir, file};

/// A prebuilt package: `<name>/` with manifest.yaml, runtime.yml, versions.lock and
/// `isolated/` holding `files` extra files.
pub fn prebuilt(name: &str, version: &str, files: usize) -> Vec<u8> {
    let mut entries = vec![
        dir(&format!("{name}/")),
        file(
            &format!("{name}/manifest.yaml"),
            format!("name: {name}\nversion: {version}\n").as_bytes(),
        ),
        file(
            &format!("{name}/runtime.yml"),
            // The version in the environment tells a test which one `jrt run` picked.
            format!(
                "name: {name}\nversion: {version}\nmounts: []\nenvironment: {{RT_VERSION: \"{version}\"}}\n"
            )
            .as_bytes(),
        ),
        file(&format!("{name}/versions.lock"), b"components: {}\n"),
        dir(&format!("{name}/isolated/")),
        Raw {
            mode: 0o755,
            ..file(
                &format!("{name}/isolated/hello"),
                b"#!/bin/sh\necho hello\n",
            )
        },
    ];
    for i in 0..files {
        entries.push(file(
            &format!("{name}/isolated/f{:02}/file{i}.txt", i % 50),
            format!("content of file {i} {}\n", "x".repeat(i % 300)).as_bytes(),
        ));
    }
    tarball::tgz(&entries)
}

/// A source package (no runtime.yml).
pub fn source(name: &str, version: &str) -> Vec<u8> {
    tarball::tgz(&[
        dir(&format!("{name}/")),
        file(
            &format!("{name}/manifest.yaml"),
            format!("name: {name}\nversion: {version}\n").as_bytes(),
        ),
    ])
}

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One registry entry: the package bytes written to `dir/<file>`, and what the index says.
pub struct Published {
    pub name: String,
    pub version: String,
    pub file: String,
    /// The bytes served/stored (may differ from what the index declares, for fault tests).
    pub bytes: Vec<u8>,
    pub declared_sha256: String,
    pub declared_size: u64,
}

impl Published {
    pub fn honest(name: &str, version: &str, bytes: Vec<u8>) -> Self {
        Published {
            name: name.into(),
            version: version.into(),
            file: format!("{name}-{version}.tar.gz"),
            declared_sha256: sha256(&bytes),
            declared_size: bytes.len() as u64,
            bytes,
        }
    }
}

/// Writes the packages and a registry.json (relative download URLs) into `dir`.
pub fn write_registry(dir: &Path, published: &[Published]) -> PathBuf {
    let mut runtimes = serde_json::Map::new();
    for p in published {
        std::fs::write(dir.join(&p.file), &p.bytes).unwrap();
        let entry = serde_json::json!({
            "version": p.version,
            "description": format!("{} test runtime", p.name),
            "download_url": p.file,
            "checksum": format!("sha256:{}", p.declared_sha256),
            "size": p.declared_size,
            "platforms": ["ubuntu-amd64", "ubuntu-arm64", "rhel-amd64", "rhel-arm64", "amzn-amd64", "amzn-arm64"],
        });
        runtimes
            .entry(p.name.clone())
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
            .unwrap()
            .insert(p.version.clone(), entry);
    }
    let index = serde_json::json!({ "version": "1", "runtimes": runtimes });
    let path = dir.join("registry.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&index).unwrap()).unwrap();
    path
}

/// A registry of small prebuilt packages, one per `(name, version)`, written (or rewritten)
/// into `dir` as [`write_registry`] does.
pub fn publish_prebuilt(dir: &Path, versions: &[(&str, &str)]) -> PathBuf {
    let published: Vec<Published> = versions
        .iter()
        .map(|(name, v)| Published::honest(name, v, prebuilt(name, v, 3)))
        .collect();
    write_registry(dir, &published)
}

/// A small JDK tree as its vendor ships it (`jdk-21.0.1+12/`): `bin/java` prints Temurin
/// 21's `java -version` (testdata/java), beside the JDK's `release` file.
pub fn fake_jdk() -> Vec<u8> {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/java");
    let version = std::fs::read_to_string(testdata.join("temurin-21.txt")).unwrap();
    let release = std::fs::read_to_string(testdata.join("temurin-21.release")).unwrap();
    let mut bin = file(
        "jdk-21.0.1+12/bin/java",
        format!("#!/bin/sh\ncat >&2 <<'EOF'\n{version}EOF\n").as_bytes(),
    );
    bin.mode = 0o755;
    tarball::tgz(&[
        dir("jdk-21.0.1+12/"),
        dir("jdk-21.0.1+12/bin/"),
        bin,
        file("jdk-21.0.1+12/release", release.as_bytes()),
    ])
}

/// A source runtime `jdk21` of the jdk family in `dir` (a runtime directory), whose setup
/// fetches its JDK from `url` (pinned to `sha`) on every platform; no host JDK is reused.
pub fn jdk_runtime(dir: &Path, url: &str, sha: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("manifest.yaml"),
        format!(
            "name: jdk21\nversion: 1.0.0\ndescription: test runtime\n\
             platforms: [ubuntu-amd64, ubuntu-arm64, rhel-amd64, rhel-arm64, amzn-amd64, amzn-arm64]\n\
             family: [jdk]\njava_version: 21.0.1\nallow_host_jdk: false\njdk_builds:\n  \
             amd64: {url}#sha256={sha}\n  arm64: {url}#sha256={sha}\n"
        ),
    )
    .unwrap();
}
