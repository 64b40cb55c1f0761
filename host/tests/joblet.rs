//! A registry jrt publishes, installed the way Joblet's own installer (`InstallFromRegistry`)
//! installs one: read the entry's `download_url` only, extract the package, find `runtime.yml`
//! or `setup.sh` at its top, run the script in a chroot laid out as Joblet's (the host's
//! `/usr`, `/lib*`, `/bin`, `/sbin`, `/etc`, `/var` read-only, an empty
//! `/opt/joblet/runtimes`, `/proc`, `/sys`, `/dev`, a tmpfs `/tmp`) under Joblet's
//! environment, then copy `/opt/joblet/runtimes/<name>` out to `<base>/<name>/<version>`.
//! Mounting the chroot needs root; CI runs as root, so there it always runs.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/tarball.rs"]
mod tarball;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A jdk runtime whose JDK build is pinned at `/tmp/jdk.tar.gz` (inside Joblet's chroot),
/// built with `jrt build` and published with `jrt registry add` into `<d>/site`.
fn published(d: &Path) -> (PathBuf, Vec<u8>) {
    let jdk = packages::fake_jdk();
    let sha = jrt_fs::sha256_hex(&jdk);
    let rt = d.join("runtimes/jdk21");
    std::fs::create_dir_all(&rt).unwrap();
    std::fs::write(
        rt.join("manifest.yaml"),
        format!(
            "name: jdk21\nversion: 1.0.0\ndescription: test JDK\nfamily: [jdk]\n\
             platforms: [ubuntu-amd64, ubuntu-arm64, rhel-amd64, rhel-arm64, amzn-amd64, amzn-arm64]\n\
             java_version: 21.0.1\nallow_host_jdk: false\njdk_builds:\n  \
             amd64: file:///tmp/jdk.tar.gz#sha256={sha}\n  arm64: file:///tmp/jdk.tar.gz#sha256={sha}\n"
        ),
    )
    .unwrap();
    let site = d.join("site");
    common::jrt_in(d, &rt)
        .args(["build", "--out"])
        .arg(&site)
        .arg(&rt)
        .assert()
        .success();
    common::jrt_in(d, &rt)
        .current_dir(&site)
        .args([
            "registry",
            "add",
            "--index",
            "registry.json",
            "--base-url",
            "https://example.org/rel",
            "jdk21-1.0.0.tar.gz",
        ])
        .assert()
        .success();
    (site, jdk)
}

/// What Joblet does with a registry entry, in a private mount namespace. Returns the
/// script's (status, output) and where the runtime was copied to, if it was.
fn joblet_install(d: &Path, site: &Path, jdk: &[u8], with_jrt: bool) -> (bool, String, PathBuf) {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(site.join("registry.json")).unwrap()).unwrap();
    let entry = &index["runtimes"]["jdk21"]["1.0.0"];
    // download_url only (never `artifacts`); here the published file by its name.
    let url = entry["download_url"].as_str().unwrap();
    let file = site.join(url.rsplit('/').next().unwrap());
    let extracted = d.join("extracted");
    std::fs::create_dir_all(&extracted).unwrap();
    assert!(
        Command::new("tar")
            .arg("-xzf")
            .arg(&file)
            .arg("-C")
            .arg(&extracted)
            .status()
            .unwrap()
            .success()
    );
    let top = extracted.join("jdk21");
    assert!(
        !top.join("runtime.yml").exists() && top.join("setup.sh").is_file(),
        "Joblet needs runtime.yml or setup.sh at the top"
    );
    let chroot = d.join("chroot");
    let base = d.join("base");
    std::fs::create_dir_all(&chroot).unwrap();
    std::fs::write(d.join("jdk.tar.gz"), jdk).unwrap();
    let script = r#"
set -euo pipefail
root="$1"; pkg="$2"; base="$3"; jrt="$4"; jdk="$5"
mkdir -p "$root"/{proc,sys,dev,tmp,opt/joblet/runtimes}
for d in usr lib lib32 lib64 libx32 bin sbin etc var; do
  if [ -L "/$d" ]; then ln -sfn "$(readlink "/$d")" "$root/$d"
  elif [ -d "/$d" ]; then
    mkdir -p "$root/$d"; mount --rbind "/$d" "$root/$d"; mount -o remount,bind,ro "$root/$d"
  fi
done
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o size=1g,mode=1777 tmpfs "$root/tmp"
if [ -n "$jrt" ]; then
  mount -t tmpfs tmpfs "$root/usr/local/bin"; cp "$jrt" "$root/usr/local/bin/jrt"
fi
cp "$jdk" "$root/tmp/jdk.tar.gz"
mkdir -p "$root/tmp/pkg"; cp -a "$pkg" "$root/tmp/pkg/jdk21"
printf 'cd /tmp/pkg/jdk21\nexec /bin/bash ./setup.sh\n' > "$root/tmp/run-setup.sh"
status=0
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin:/sbin:/usr/sbin HOME=/root \
  RUNTIME_SPEC=jdk21 RUNTIME_VERSION=1.0.0 RUNTIME_DIR=/opt/joblet/runtimes \
  BUILD_ID=install-$(date +%s) JOBLET_CHROOT=true /bin/bash /tmp/run-setup.sh || status=$?
if [ "$status" = 0 ]; then
  [ -f "$root/opt/joblet/runtimes/jdk21/runtime.yml" ] || { echo "no runtime.yml at the top"; exit 3; }
  mkdir -p "$base/jdk21"; cp -a "$root/opt/joblet/runtimes/jdk21" "$base/jdk21/1.0.0"
fi
exit "$status"
"#;
    let jrt_bin = if with_jrt {
        assert_cmd::cargo::cargo_bin("jrt").display().to_string()
    } else {
        String::new()
    };
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "bash",
            "-c",
            script,
            "joblet",
        ])
        .arg(&chroot)
        .arg(&top)
        .arg(&base)
        .arg(jrt_bin)
        .arg(d.join("jdk.tar.gz"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text, base.join("jdk21/1.0.0"))
}

fn as_root() -> bool {
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "CI must run this as root");
    eprintln!("not root: cannot build Joblet's chroot");
    false
}

#[test]
fn joblet_installs_a_jrt_published_registry_through_the_nodes_jrt() {
    if !as_root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (site, jdk) = published(d);
    let (ok, out, installed) = joblet_install(d, &site, &jdk, true);
    assert!(ok, "{out}");
    assert!(
        out.contains("jrt: set up jdk21@1.0.0 in /opt/joblet/runtimes/jdk21"),
        "{out}"
    );
    let yml = std::fs::read_to_string(installed.join("runtime.yml")).unwrap();
    assert!(
        yml.contains("name: jdk21") && yml.contains("target: /opt/jdk"),
        "{yml}"
    );
    let lock = std::fs::read_to_string(installed.join("versions.lock")).unwrap();
    assert!(lock.contains("java: 21.0.1"), "{lock}");
    // What Joblet copied out runs as a job would (jrt run reads the same layout).
    let out = assert_cmd::Command::cargo_bin("jrt")
        .unwrap()
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("--root")
        .arg(d.join("base"))
        .args([
            "run",
            "jdk21",
            "--",
            "sh",
            "-c",
            "java -version 2>&1; echo $JAVA_HOME",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Temurin-21.0.1+12") && text.contains("/opt/jdk"),
        "{text}"
    );
}

#[test]
fn without_jrt_on_the_node_the_script_says_what_to_do() {
    if !as_root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (site, jdk) = published(d);
    let (ok, out, installed) = joblet_install(d, &site, &jdk, false);
    assert!(!ok);
    assert!(
        out.contains("jdk21@1.0.0 is a jrt package, and this node has no jrt: install jrt"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(!installed.exists());
}
