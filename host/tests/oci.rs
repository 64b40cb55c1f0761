//! Runtimes through an OCI registry: the CNCF distribution registry as Debian packages it
//! (started here on 127.0.0.1), `skopeo` as the independent OCI client, and jrt pushing and
//! installing; a runtime built on a base shares the base's layer, and a node that has the base
//! downloads only the runtime's own layer. Faults: a cut blob (resumed), a blob with a wrong
//! digest, a mirror that is down, a manifest over the cap, a platform the index lacks;
//! basic auth from Docker's config.json, and GHCR's anonymous bearer-token flow.

mod common;
#[path = "common/oci.rs"]
mod oci;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/python.rs"]
mod python;
#[path = "common/server.rs"]
mod server;
#[path = "common/tarball.rs"]
mod tarball;

use std::path::{Path, PathBuf};
use std::process::Command;

use tarball::{dir, file};

/// What GitHub serves, under this prefix, comes from the test's mirror instead.
const GITHUB: &str = "https://github.com/";

fn host_platform() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "ubuntu-arm64"
    } else {
        "ubuntu-amd64"
    }
}

/// `jrt` with a clean environment, root `<d>/<root>`, cache `<d>/cache`.
fn jrt(d: &Path, root: &str) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("jrt"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", d)
        .current_dir(d)
        .arg("--root")
        .arg(d.join(root))
        .arg("--cache-dir")
        .arg(common::cache_with_compiled(d));
    cmd
}

/// Runs `cmd`, asserting success; returns stdout.
fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed: {text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `cmd`, asserting failure; returns stdout and stderr.
fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{cmd:?} succeeded: {text}");
    text
}

fn skopeo(args: &[&str]) -> Vec<u8> {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo runs: .ci/run installs it");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The sha256 digest of what skopeo reads at `docker://<reference>`.
fn skopeo_digest(reference: &str) -> String {
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{reference}"),
    ]);
    format!("sha256:{}", packages::sha256(&raw))
}

/// The repo's python-3.11 manifest, pinned to the test's CPython build (through the mirror)
/// and to exactly the host's python version; `name`, `version` and `extra` lines replace or
/// add to it.
fn python_runtime(d: &Path, name: &str, version: &str, extra: &str, build_sha: &str) -> PathBuf {
    let py = python::host_version();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtimes/python-3.11/manifest.yaml"),
    )
    .unwrap();
    let path = python::standalone_path(&py);
    let mut out = String::new();
    for line in text.lines() {
        let line = if line.starts_with("name:") {
            format!("name: {name}")
        } else if line.starts_with("version:") {
            format!("version: {version}")
        } else if line.starts_with("python_version:") {
            format!("python_version: {py}")
        } else if line.starts_with("allow_host_interpreter:") {
            "allow_host_interpreter: false".into()
        } else if line.starts_with("  amd64: ") || line.starts_with("  arm64: ") {
            format!("{}{GITHUB}{path}#sha256={build_sha}", &line[..9])
        } else {
            line.to_string()
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(extra);
    let rt = d.join("runtimes").join(name);
    std::fs::create_dir_all(&rt).unwrap();
    std::fs::write(rt.join("manifest.yaml"), out).unwrap();
    rt
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn python_and_a_runtime_on_it_go_through_an_oci_registry_sharing_the_base_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let registry = oci::Registry::start();
    let platform = host_platform();

    // The interpreter build through a mirror of GitHub; pip from a local wheel directory.
    let server = server::Server::start();
    let build = d.join("python.tar.gz");
    let build_sha = python::standalone_build(&build);
    let py = python::host_version();
    server.put(
        &format!("mirror/{}", python::standalone_path(&py)),
        std::fs::read(&build).unwrap(),
    );
    let wheels = python::wheel_dir(d);
    let demo_sha = python::wheel(
        &wheels,
        "jrtdemo",
        "1.0.0",
        "jrtdemo",
        "__version__ = '1.0.0'\n",
        &[],
    );
    let base = python_runtime(d, "python-3.11", "1.3.4", "", &build_sha);
    let extra = python_runtime(
        d,
        "py-extra",
        "1.0.0",
        &format!("  - jrtdemo==1.0.0 --hash=sha256:{demo_sha}\nbase: python-3.11@1.3.4\n"),
        &build_sha,
    );
    let with_env = |mut cmd: Command| {
        cmd.env("JRT_MIRROR", format!("{GITHUB}={}", server.url("mirror/")))
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", &wheels);
        cmd
    };
    let built = json(&ok(with_env(jrt(d, "build-root"))
        .args([
            "--json",
            "build",
            "--prebuilt",
            "--platform",
            platform,
            "--out",
            "dist",
        ])
        // The runtime before its base: jrt builds the base first.
        .arg(&extra)
        .arg(&base)));
    let full_extra = built[1]["size"].as_u64().unwrap();
    let own_layer = built[1]["layer_size"].as_u64().unwrap();
    let layers_file = d.join(built[1]["layers"].as_str().unwrap());
    assert!(
        own_layer * 5 < full_extra,
        "py-extra's own layer is {own_layer} bytes of its {full_extra}"
    );
    let described = json(&std::fs::read_to_string(&layers_file).unwrap());
    let base_layer = described["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let extra_layer = described["layers"][1]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        base_layer,
        format!("sha256:{}", built[0]["sha256"].as_str().unwrap())
    );

    // Push: the base's package, then the runtime on it (its base layer mounted, not sent);
    // in 4 MiB chunks, as behind a proxy that caps request bodies.
    let ns = registry.oci("joblet");
    let base_pkg = d.join(built[0]["path"].as_str().unwrap());
    let source = json(&ok(jrt(d, "build-root")
        .args(["--json", "build", "--out", "dist"])
        .arg(&base)));
    let source_pkg = d.join(source[0]["path"].as_str().unwrap());
    let chunked = d.join("chunked.yaml");
    std::fs::write(&chunked, "oci_chunk_size: 4194304\n").unwrap();
    let pushed = json(&ok(jrt(d, "root")
        .arg("--config")
        .arg(&chunked)
        .args(["--json", "push"])
        .arg(&base_pkg)
        .arg(&source_pkg)
        .arg(&layers_file)
        .arg(&ns)));
    let row = |name: &str| {
        pushed
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(row("python-3.11")["action"], "pushed");
    let patches = registry
        .log()
        .matches("\"PATCH /v2/joblet/python-3.11/blobs/uploads/")
        .count();
    let size = built[0]["size"].as_u64().unwrap();
    assert_eq!(
        patches as u64,
        size.div_ceil(4 << 20),
        "chunks of {size} bytes"
    );
    assert_eq!(row("py-extra")["blobs_mounted"], 1, "{pushed}");
    assert_eq!(row("py-extra")["blobs_uploaded"], 1, "{pushed}");
    // Again: nothing changes, nothing is sent.
    let again = json(&ok(jrt(d, "root")
        .args(["--json", "push"])
        .arg(&base_pkg)
        .arg(&layers_file)
        .arg(&ns)));
    assert!(
        again
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["action"] == "unchanged"),
        "{again}"
    );

    // skopeo reads what jrt wrote, and copies it with its digests unchanged.
    let host = &registry.host;
    for (name, tag) in [("python-3.11", "1.3.4"), ("py-extra", "1.0.0")] {
        assert_eq!(
            skopeo_digest(&format!("{host}/joblet/{name}:{tag}")),
            row(name)["digest"].as_str().unwrap(),
            "{name}"
        );
        skopeo(&[
            "copy",
            "--all",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            &format!("docker://{host}/joblet/{name}:{tag}"),
            &format!("docker://{host}/copied/{name}:{tag}"),
        ]);
        assert_eq!(
            skopeo_digest(&format!("{host}/copied/{name}:{tag}")),
            row(name)["digest"].as_str().unwrap(),
            "skopeo's copy of {name}"
        );
    }

    // Install from the registry on a fresh node: the base, then the runtime on it, whose
    // base layer is already in the cache and is not downloaded again.
    let install = |root: &str, ns: &str, spec: &str| {
        let mut cmd = jrt(d, root);
        cmd.args(["--registry", ns, "install", spec, "--platform", platform]);
        ok(&mut cmd)
    };
    // (skopeo's copies read blobs too: count from here.)
    let gets = |repo: &str, digest: &str| registry.blob_gets(repo, digest);
    let base_before = gets("joblet/python-3.11", &base_layer);
    install("root", &ns, "python-3.11");
    assert_eq!(gets("joblet/python-3.11", &base_layer) - base_before, 1);
    let before = registry.all_blob_gets();
    let (own_before, shared_before) = (
        gets("joblet/py-extra", &extra_layer),
        gets("joblet/py-extra", &base_layer),
    );
    install("root", &ns, "py-extra");
    assert_eq!(gets("joblet/py-extra", &extra_layer) - own_before, 1);
    assert_eq!(
        gets("joblet/py-extra", &base_layer) - shared_before,
        0,
        "the base layer came again"
    );
    assert_eq!(
        registry.all_blob_gets() - before,
        1,
        "blobs other than its own layer"
    );

    let run = |root: &str, name: &str, code: &str| {
        ok(jrt(d, root).args(["--registry", &ns, "run", name, "--", "python3", "-c", code]))
    };
    let v = run(
        "root",
        "python-3.11",
        "import platform; print(platform.python_version())",
    );
    assert_eq!(v.trim(), py);
    let v = run(
        "root",
        "py-extra",
        "import jrtdemo, pip; print(jrtdemo.__version__, pip.__version__)",
    );
    assert_eq!(v.trim(), "1.0.0 23.3.1");
    ok(jrt(d, "root").args(["--registry", &ns, "verify", "python-3.11", "py-extra"]));
    let receipt = std::fs::read_to_string(d.join("root/py-extra/1.0.0/.jrt/receipt.json")).unwrap();
    assert!(
        receipt.contains(&format!("oci://{host}/joblet/py-extra@sha256:")),
        "{receipt}"
    );

    // What skopeo copied installs too.
    let copied = registry.oci("copied");
    install("root2", &copied, "py-extra");
    let v = run(
        "root2",
        "py-extra",
        "import jrtdemo; print(jrtdemo.__version__)",
    );
    assert_eq!(v.trim(), "1.0.0");
}

/// A small prebuilt package for `platform`, written as `jrt build --prebuilt` names it.
fn small_prebuilt(dist: &Path, name: &str, version: &str, platform: &str, files: usize) -> PathBuf {
    let mut entries = vec![
        dir(&format!("{name}/")),
        file(
            &format!("{name}/manifest.yaml"),
            format!("name: {name}\nversion: {version}\nplatforms: [{platform}]\n").as_bytes(),
        ),
        file(
            &format!("{name}/runtime.yml"),
            format!("name: {name}\nversion: {version}\nmounts: []\n").as_bytes(),
        ),
        file(
            &format!("{name}/versions.lock"),
            format!("platform: {platform}\ncomponents: {{}}\n").as_bytes(),
        ),
    ];
    for i in 0..files {
        entries.push(file(
            &format!("{name}/isolated/f{:02}/file{i}.txt", i % 20),
            format!("{name} {i} {}\n", "x".repeat(i % 500)).as_bytes(),
        ));
    }
    std::fs::create_dir_all(dist).unwrap();
    let path = dist.join(format!("{name}-{version}-{platform}.tar.gz"));
    std::fs::write(&path, tarball::tgz(&entries)).unwrap();
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn faults_at_mirrors_and_registries_are_survived_or_refused_with_one_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let registry = oci::Registry::start();
    let dist = d.join("dist");
    let a = small_prebuilt(&dist, "rt-a", "1.0.0", "ubuntu-amd64", 400);
    let b = small_prebuilt(&dist, "rt-b", "1.0.0", "ubuntu-amd64", 400);
    let ns = registry.oci("joblet");
    let pushed = json(&ok(jrt(d, "root")
        .args(["--json", "push"])
        .arg(&a)
        .arg(&b)
        .arg(&ns)));
    let index_a = pushed[0]["digest"].as_str().unwrap().to_string();
    let digest = |p: &Path| format!("sha256:{}", packages::sha256(&std::fs::read(p).unwrap()));
    let (da, db) = (digest(&a), digest(&b));

    // Mirrors as containerd lists them: the first is down, the second (a pull-through cache
    // on the node) has the blobs, with faults; the registry itself has everything.
    let mirror = server::Server::start();
    let host = &registry.host;
    // containerd's `?ns=` names the registry the mirror stands in for (form-encoded).
    let ns_param = host.replace(':', "%3A");
    let blob_path =
        |repo: &str, digest: &str| format!("/v2/joblet/{repo}/blobs/{digest}?ns={ns_param}");
    mirror.put(&blob_path("rt-a", &da), std::fs::read(&a).unwrap());
    mirror.put(&blob_path("rt-b", &db), std::fs::read(&b).unwrap());
    let config = d.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "oci_mirrors:\n  \"{host}\":\n    - http://127.0.0.1:{}\n    - {}\n",
            free_port(),
            mirror.base
        ),
    )
    .unwrap();
    let install = |root: &str, spec: &str, platform: &str| {
        let mut cmd = jrt(d, root);
        cmd.arg("--config").arg(&config).args([
            "--registry",
            &ns,
            "install",
            spec,
            "--platform",
            platform,
        ]);
        cmd
    };

    // The mirror cuts the blob after 2000 bytes: resumed there with Range, not restarted
    // and not fetched from the registry.
    mirror.faults(
        &blob_path("rt-a", &da),
        vec![server::Fault::None, server::Fault::CutAfter(2000)],
    );
    ok(&mut install("root", "rt-a", "ubuntu-amd64"));
    let asked = mirror.requests_for(&blob_path("rt-a", &da));
    assert_eq!(
        asked.len(),
        3,
        "HEAD, the cut GET, the resumed GET: {asked:?}"
    );
    assert_eq!(asked[2].range.as_deref(), Some("bytes=2000-"));
    assert_eq!(
        registry.blob_gets("joblet/rt-a", &da),
        0,
        "the registry served the blob"
    );
    ok(jrt(d, "root").args(["--registry", &ns, "verify", "rt-a"]));

    // The mirror serves wrong bytes: one clear error, nothing installed, nothing kept; the
    // next try gets good bytes.
    mirror.faults(
        &blob_path("rt-b", &db),
        vec![server::Fault::None, server::Fault::Flip(100)],
    );
    let text = fails(&mut install("root", "rt-b", "ubuntu-amd64"));
    assert!(
        text.contains("checksum mismatch") && text.contains(&db),
        "{text}"
    );
    assert!(!d.join("root/rt-b").exists());
    let parts: Vec<_> = std::fs::read_dir(d.join("cache/packages"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(parts.is_empty(), "{parts:?}");
    ok(&mut install("root", "rt-b", "ubuntu-amd64"));

    // A platform the index lacks: the error lists what is offered.
    let text = fails(&mut install("root", "rt-a", "rhel-arm64"));
    assert!(
        text.contains("no package for platform rhel-arm64") && text.contains("ubuntu-amd64"),
        "{text}"
    );
    // A version the registry does not have: the versions it has.
    let text = fails(&mut install("root", "rt-a@2.0.0", "ubuntu-amd64"));
    assert!(text.contains("available versions: 1.0.0"), "{text}");

    // A registry.json entry pointing at an OCI artifact by digest (so a signed registry.json
    // covers it): installed through the index, this platform's manifest and its layer. An
    // entry whose checksum is not the digest it names is refused.
    let host_ref = format!("{host}/joblet/rt-a@{index_a}");
    let size = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{host_ref}"),
    ])
    .len();
    let entry = |checksum: &str| {
        format!(
            r#"{{"version":"1","runtimes":{{"rt-a":{{"1.0.0":{{"version":"1.0.0","download_url":"oci://{host_ref}","checksum":"{checksum}","size":{size},"platforms":["ubuntu-amd64"]}}}}}}}}"#
        )
    };
    let index_file = d.join("registry.json");
    std::fs::write(&index_file, entry(&index_a)).unwrap();
    ok(jrt(d, "root4").arg("--registry").arg(&index_file).args([
        "install",
        "rt-a",
        "--platform",
        "ubuntu-amd64",
    ]));
    ok(jrt(d, "root4")
        .arg("--registry")
        .arg(&index_file)
        .args(["verify", "rt-a"]));
    std::fs::write(&index_file, entry(&da)).unwrap();
    let text = fails(jrt(d, "root5").arg("--registry").arg(&index_file).args([
        "install",
        "rt-a",
        "--platform",
        "ubuntu-amd64",
    ]));
    assert!(text.contains("is not pinned by the digest"), "{text}");

    // Published versions are immutable: other bytes for a published platform are refused,
    // unless --force, which moves the tag.
    let other = small_prebuilt(&d.join("other"), "rt-a", "1.0.0", "ubuntu-amd64", 401);
    let text = fails(jrt(d, "root").arg("push").arg(&other).arg(&ns));
    assert!(
        text.contains("published") && text.contains("ubuntu-amd64") && text.contains("--force"),
        "{text}"
    );
    assert_eq!(skopeo_digest(&format!("{host}/joblet/rt-a:1.0.0")), index_a);
    let forced = json(&ok(jrt(d, "root")
        .args(["--json", "push", "--force"])
        .arg(&other)
        .arg(&ns)));
    assert_eq!(forced[0]["action"], "replaced");
    assert_eq!(
        skopeo_digest(&format!("{host}/joblet/rt-a:1.0.0")),
        forced[0]["digest"].as_str().unwrap()
    );

    // A registry whose manifest is over the cap, and one whose index points at a manifest
    // that is not what its digest says.
    let fake = server::Server::start();
    let fake_ns = format!("oci://{}/big", fake.base.trim_start_matches("http://"));
    let install_fake = || {
        fails(jrt(d, "root3").args([
            "--registry",
            &fake_ns,
            "install",
            "rt",
            "--platform",
            "ubuntu-amd64",
        ]))
    };
    fake.put(
        "/v2/big/rt/tags/list?n=1000",
        br#"{"tags":["1.0.0","latest"]}"#.to_vec(),
    );
    let mut huge = br#"{"schemaVersion":2,"manifests":[],"annotations":{"x":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', 5 << 20));
    huge.extend(br#""}}"#);
    fake.put("/v2/big/rt/manifests/1.0.0", huge);
    let text = install_fake();
    assert!(text.contains("larger than the 4194304 bytes"), "{text}");

    let claimed = format!("sha256:{}", "ab".repeat(32));
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{claimed}","size":10,"annotations":{{"dev.joblet.runtime.platform":"ubuntu-amd64"}}}}]}}"#
    );
    fake.put("/v2/big/rt/manifests/1.0.0", index.into_bytes());
    fake.put(&format!("/v2/big/rt/manifests/{claimed}"), b"{}".to_vec());
    let text = install_fake();
    assert!(
        text.contains(&format!("not the {claimed} it was asked for")),
        "{text}"
    );
    assert!(!d.join("root3/rt").exists());
}

#[test]
fn basic_auth_comes_from_dockers_config_and_bearer_tokens_from_the_challenge() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dist = d.join("dist");
    let a = small_prebuilt(&dist, "rt-a", "1.0.0", "ubuntu-amd64", 50);

    // htpasswd: without credentials, one error that says where they are looked for.
    let locked = oci::Registry::start_htpasswd("jrt", "s3cret");
    let ns = locked.oci("joblet");
    let text = fails(jrt(d, "root").arg("push").arg(&a).arg(&ns));
    assert!(
        text.contains("asks for credentials") && text.contains("Docker's config.json"),
        "{text}"
    );
    let docker = d.join("docker");
    oci::docker_config(&docker, &locked.host, "jrt", "wrong");
    let text = fails(
        jrt(d, "root")
            .env("DOCKER_CONFIG", &docker)
            .arg("push")
            .arg(&a)
            .arg(&ns),
    );
    assert!(text.contains("refused the credentials"), "{text}");
    oci::docker_config(&docker, &locked.host, "jrt", "s3cret");
    ok(jrt(d, "root")
        .env("DOCKER_CONFIG", &docker)
        .arg("push")
        .arg(&a)
        .arg(&ns));
    ok(jrt(d, "root").env("DOCKER_CONFIG", &docker).args([
        "--registry",
        &ns,
        "install",
        "rt-a",
        "--platform",
        "ubuntu-amd64",
    ]));

    // GHCR's flow: anonymous pulls get a token for the challenge's scope from the realm.
    let open = oci::Registry::start();
    ok(jrt(d, "root").arg("push").arg(&a).arg(open.oci("joblet")));
    let front = oci::TokenFront::start(&open.host, "joblet");
    ok(jrt(d, "root2").args([
        "--registry",
        &format!("oci://{}/joblet", front.host),
        "install",
        "rt-a",
        "--platform",
        "ubuntu-amd64",
    ]));
    // One token for the scope, asked once and reused for the tags, index, manifest and blob.
    let asked = front.asked.lock().unwrap().clone();
    assert_eq!(
        asked,
        [("repository:joblet/rt-a:pull".to_string(), true)],
        "{asked:?}"
    );
    // A scope the token service will not grant: refused, saying so.
    let text = fails(jrt(d, "root3").args([
        "--registry",
        &format!("oci://{}/other", front.host),
        "install",
        "rt-a",
        "--platform",
        "ubuntu-amd64",
    ]));
    assert!(text.contains("token service answered HTTP 401"), "{text}");
}
