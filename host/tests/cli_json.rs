//! `--json` on every command: each prints one JSON document, and that document fits the
//! schema docs/cli.md gives for it, field for field (a field the docs do not name fails). The
//! error kinds and exit codes are the ones docs/cli.md lists.

mod common;
#[path = "common/oci.rs"]
mod oci;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/schema.rs"]
mod schema;
#[path = "common/tarball.rs"]
mod tarball;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

fn docs() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// docs/cli.md's schemas: each fenced block opened by ```` ```json schema:NAME ````.
fn documented() -> (BTreeMap<String, Value>, Map<String, Value>) {
    let text = docs();
    let mut schemas = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.strip_prefix("```json schema:") else {
            continue;
        };
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        let value: Value = serde_json::from_str(&body.join("\n"))
            .unwrap_or_else(|e| panic!("docs/cli.md: schema:{name} is not JSON: {e}"));
        schemas.insert(name.trim().to_string(), value);
    }
    let defs = schemas
        .remove("$defs")
        .and_then(|d| d.as_object().cloned())
        .expect("docs/cli.md has a schema:$defs block");
    (schemas, defs)
}

/// One run of jrt: what it printed and how it exited.
struct Ran {
    what: String,
    stdout: String,
    code: i32,
}

struct World {
    d: PathBuf,
    registry: PathBuf,
    ran: Vec<(String, Ran)>,
}

impl World {
    fn jrt(&self) -> std::process::Command {
        let mut cmd = common::jrt_std_in(&self.d, &self.registry);
        cmd.current_dir(&self.d).arg("--json");
        cmd
    }

    /// Runs `jrt --json ARGS…`, expecting exit `code`, and keeps its output to be checked
    /// against `schema`.
    fn run(&mut self, schema: &str, code: i32, args: &[&str]) -> Value {
        let out = self.jrt().args(args).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let what = format!("jrt --json {}", args.join(" "));
        assert_eq!(
            out.status.code(),
            Some(code),
            "{what}: stdout {stdout} stderr {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let value: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{what}: stdout is not one JSON document ({e}): {stdout}"));
        self.ran
            .push((schema.to_string(), Ran { what, stdout, code }));
        value
    }
}

#[test]
fn every_command_prints_the_json_document_docs_cli_md_gives_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_path_buf();
    let registry = packages::publish_prebuilt(&d, &[("rt-a", "1.0.0"), ("rt-b", "1.0.0")]);
    let mut w = World {
        d: d.clone(),
        registry,
        ran: Vec::new(),
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let openjdk = repo.join("runtimes/openjdk-21");
    let openjdk = openjdk.to_str().unwrap();

    // Installing and what is installed.
    let plan = w.run("install-plan", 0, &["install", "rt-a", "--dry-run"]);
    assert_eq!(plan["plan"][0]["name"], "rt-a");
    let done = w.run("install", 0, &["install", "rt-a", "rt-b"]);
    let row = &done["results"][0];
    assert_eq!(row["action"], "installed");
    assert!(row["checksum"].as_str().unwrap().starts_with("sha256:"));
    assert!(row["seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(row["registry"], w.registry.display().to_string());
    w.run("list", 0, &["list"]);
    w.run("list-available", 0, &["list", "--available"]);
    w.run("info", 0, &["info", "rt-a"]);
    w.run("verify", 0, &["verify"]);
    packages::publish_prebuilt(
        &d,
        &[("rt-a", "1.0.0"), ("rt-a", "1.1.0"), ("rt-b", "1.0.0")],
    );
    let outdated = w.run("outdated", 0, &["outdated"]);
    assert_eq!(outdated[0]["wanted"], "1.1.0");
    w.run("upgrade", 0, &["upgrade", "--prune"]);
    w.run("lock", 0, &["lock", "rt-a", "--platform", "ubuntu-amd64"]);
    w.run("sync", 0, &["sync", "jrt.lock"]);
    w.run("remove", 0, &["remove", "rt-b"]);

    // The cache.
    w.run("cache-dir", 0, &["cache", "dir"]);
    w.run("cache-size", 0, &["cache", "size"]);
    w.run("cache-freed", 0, &["cache", "prune"]);

    // The machine and plugins.
    w.run("detect", 0, &["detect", "--platform", "ubuntu-amd64"]);
    w.run("plugin-list", 0, &["plugin", "list"]);
    let wasm = env!("JRT_TEST_PLUGIN_MISBEHAVE");
    w.run("plugin-add", 0, &["plugin", "add", wasm]);
    w.run("plugin-remove", 0, &["plugin", "remove", "misbehave"]);

    // Publishing.
    w.run("validate", 0, &["validate", openjdk]);
    let built = w.run("build", 0, &["build", "--out", "dist", openjdk]);
    let package = built[0]["path"].as_str().unwrap().to_string();
    w.run(
        "registry-add",
        0,
        &[
            "registry",
            "add",
            &package,
            "--index",
            "index.json",
            "--base-url",
            "https://example.com/",
        ],
    );
    let kp = minisign::KeyPair::generate_encrypted_keypair(Some(String::new())).unwrap();
    std::fs::write(d.join("k.key"), kp.sk.to_box(None).unwrap().into_string()).unwrap();
    std::fs::write(d.join("k.pub"), kp.pk.to_box().unwrap().into_string()).unwrap();
    w.run(
        "registry-sign",
        0,
        &[
            "registry",
            "sign",
            "--key",
            "k.key",
            "--index",
            "index.json",
        ],
    );
    w.run(
        "registry-verify",
        0,
        &[
            "--public-key",
            "k.pub",
            "registry",
            "verify",
            "--index",
            "index.json",
        ],
    );
    let oci = oci::Registry::start();
    w.run("push", 0, &["push", &package, &oci.oci("joblet")]);
    let runtimes = d.join("runtimes");
    std::fs::create_dir_all(runtimes.join("openjdk-21")).unwrap();
    for f in std::fs::read_dir(openjdk).unwrap() {
        let f = f.unwrap();
        if f.file_type().unwrap().is_file() {
            std::fs::copy(f.path(), runtimes.join("openjdk-21").join(f.file_name())).unwrap();
        }
    }
    w.run("release", 0, &["release", "v9.9.9"]);
    w.run("man", 0, &["man", "--out", "man"]);

    // Failures: one error document with a stable kind, and the documented exit code.
    let e = w.run("error", 1, &["install", "no-such-runtime"]);
    assert_eq!(e["error"]["kind"], "not-found", "{e}");
    let e = w.run(
        "error",
        2,
        &["install", "rt-a", "--platform", "solaris-sparc"],
    );
    assert_eq!(e["error"]["kind"], "usage", "{e}");
    let e = w.run("error", 2, &["install", "rt-a@not a version"]);
    assert_eq!(e["error"]["kind"], "usage", "{e}");
    let e = w.run("error", 2, &["install", "--no-such-flag"]);
    assert_eq!(e["error"]["kind"], "usage", "{e}");
    let e = w.run("error", 1, &["remove", "rt-b"]);
    assert_eq!(e["error"]["kind"], "not-found", "{e}");
    // A package whose bytes are not what the registry pins: the install's own row says so.
    packages::publish_prebuilt(&d, &[("rt-a", "1.1.0"), ("rt-c", "1.0.0")]);
    std::fs::write(d.join("rt-c-1.0.0.tar.gz"), b"not the package").unwrap();
    let done = w.run("install", 1, &["install", "rt-c"]);
    assert_eq!(done["results"][0]["error"]["kind"], "integrity", "{done}");
    let cleaned = w.run("cache-freed", 0, &["cache", "clean"]);
    assert!(cleaned["bytes"].as_u64().unwrap() > 0);

    let (schemas, defs) = documented();
    let mut failures = Vec::new();
    let mut used = BTreeSet::new();
    for (name, ran) in &w.ran {
        used.insert(name.clone());
        let Some(schema) = schemas.get(name) else {
            failures.push(format!(
                "{}: docs/cli.md has no schema:{name} for {}",
                ran.what, ran.stdout
            ));
            continue;
        };
        let value: Value = serde_json::from_str(&ran.stdout).unwrap();
        for e in schema::check(&value, schema, &defs) {
            failures.push(format!("{} (exit {}): {e}", ran.what, ran.code));
        }
    }
    for name in schemas.keys() {
        if !used.contains(name) {
            failures.push(format!(
                "docs/cli.md: schema:{name} is not checked by this test"
            ));
        }
    }
    let mut loose = Vec::new();
    for (name, s) in &schemas {
        schema::loose_objects(s, name, &mut loose);
    }
    schema::loose_objects(&Value::Object(defs.clone()), "$defs", &mut loose);
    for l in loose {
        failures.push(format!(
            "docs/cli.md: {l} is an object with no properties listed"
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn docs_cli_md_lists_every_command_and_every_error_kind() {
    let text = docs();
    // Every command and subcommand, as the man pages (generated from the grammar) name them.
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("jrt"))
        .args(["man", "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let pages: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|p| {
            let name = p.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".1").map(str::to_string)
        })
        .collect();
    let mut missing = Vec::new();
    for command in &pages {
        // `jrt` and groups such as `jrt cache` are documented by their subcommands.
        let prefix = format!("{command}-");
        if pages.iter().any(|p| p.starts_with(&prefix)) {
            continue;
        }
        // `jrt registry add` is the page jrt-registry-add.
        let heading = format!("### {}", command.replace('-', " "));
        if !text.lines().any(|l| l == heading) {
            missing.push(heading);
        }
    }
    assert!(missing.is_empty(), "docs/cli.md lacks: {missing:?}");
    // The kinds table: one row per kind, in order.
    let rows: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|k| jrt::ops::kind::Kind::ALL.iter().any(|x| x.as_str() == *k))
        .map(str::to_string)
        .collect();
    let all: Vec<&str> = jrt::ops::kind::Kind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(rows, all, "docs/cli.md's table of error kinds");
}
