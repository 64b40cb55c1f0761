//! The host executing setup plans: a good plan end to end, every kind of unsafe plan refused
//! before anything runs, and failures that name the step and show the program's output.

#[path = "common/server.rs"]
mod server;
#[path = "common/tarball.rs"]
mod tarball;

use std::path::Path;
use std::time::Duration;

use jrt_install::setup::{Executor, Policy, SetupError, execute, run_probes};
use jrt_plugin_host::types::*;

fn plan(steps: Vec<SetupStep>) -> Plan {
    Plan {
        steps,
        mounts: vec![],
        environment: vec![],
        probes: vec![],
    }
}

fn write(target: &str, contents: &[u8], executable: bool) -> SetupStep {
    SetupStep::WriteFile(WriteFile {
        target: target.into(),
        contents: contents.to_vec(),
        executable,
    })
}

fn run(program: &str, args: &[&str], timeout: u32) -> SetupStep {
    SetupStep::Run(RunProgram {
        program: program.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        env: vec![("GREETING".into(), "hello".into())],
        timeout_seconds: timeout,
        network: vec![],
    })
}

fn fetch(url: &str, sha: &str, target: &str, unpack: bool, strip: u32) -> SetupStep {
    SetupStep::Fetch(Fetch {
        url: url.into(),
        sha256: sha.into(),
        target: target.into(),
        unpack,
        strip_components: strip,
    })
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tree")).unwrap();
        std::fs::create_dir(dir.path().join("cache")).unwrap();
        Env { dir }
    }
    fn tree(&self) -> std::path::PathBuf {
        self.dir.path().join("tree")
    }
    fn exec(&self, p: &Plan, policy: Policy) -> Result<Vec<String>, SetupError> {
        self.exec_with(p, policy, None)
    }
    fn exec_with(
        &self,
        p: &Plan,
        policy: Policy,
        http: Option<&jrt_client::http::Http>,
    ) -> Result<Vec<String>, SetupError> {
        let tree = self.tree();
        let cache = jrt_fs::cache::Cache::new(self.dir.path().join("cache"));
        execute(
            p,
            &Executor {
                tree: &tree,
                cache: &cache,
                http,
                policy,
                default_timeout: Duration::from_secs(30),
                task: None,
                network: None,
                fetched: None,
            },
        )
    }
}

fn sha(bytes: &[u8]) -> String {
    jrt_fs::sha256_hex(bytes)
}

#[test]
fn a_good_plan_builds_the_tree() {
    let env = Env::new();
    let pkg = tarball::tgz(&[
        tarball::dir("jdk-21/"),
        tarball::file("jdk-21/release", b"JAVA_VERSION=\"21.0.1\"\n"),
    ]);
    let pkg_path = env.dir.path().join("jdk.tar.gz");
    std::fs::write(&pkg_path, &pkg).unwrap();
    let url = format!("file://{}", pkg_path.display());
    let true_bin = std::fs::read("/usr/bin/true").unwrap();
    let ls_bin = std::fs::read("/bin/ls").unwrap();
    let p = plan(vec![
        SetupStep::Mkdir("isolated/usr/bin".into()),
        write("isolated/usr/bin/hello", b"#!/bin/sh\necho \"$GREETING from $(pwd)\" > made-by-run.txt\necho out; echo err >&2\n", true),
        run("isolated/usr/bin/hello", &[], 10),
        SetupStep::Symlink(MakeSymlink { link: "isolated/bin".into(), target: "usr/bin".into() }),
        fetch(&url, &sha(&pkg), "isolated/opt/java", true, 1),
        fetch(&url, &sha(&pkg), "isolated/opt", true, 0),
        fetch(&url, &sha(&pkg), "downloads/jdk.tar.gz", false, 0),
        write("isolated/usr/bin/true", &true_bin, true),
        write("isolated/usr/bin/ls", &ls_bin, true),
        // A directory: every ELF file below it.
        SetupStep::CopyLibraries(CopyLibraries { binaries: vec!["isolated/usr/bin".into()], target: "isolated/lib".into() }),
    ]);
    env.exec(&p, Policy::default()).unwrap();
    let t = env.tree();
    let made = std::fs::read_to_string(t.join("made-by-run.txt")).unwrap();
    assert!(
        made.starts_with("hello from ") && made.trim_end().ends_with("/tree"),
        "{made}"
    );
    assert_eq!(
        std::fs::read_link(t.join("isolated/bin")).unwrap().to_str(),
        Some("usr/bin")
    );
    assert!(t.join("isolated/opt/java/release").is_file());
    assert!(t.join("isolated/opt/jdk-21/release").is_file());
    assert_eq!(std::fs::read(t.join("downloads/jdk.tar.gz")).unwrap(), pkg);
    let mut libs: Vec<String> = std::fs::read_dir(t.join("isolated/lib"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    libs.sort();
    // The closure of coreutils' true and ls as Debian 12 (the build machine) and Ubuntu link
    // them: glibc (libc, the loader) stays the job root's, true needs nothing else, and ls
    // brings SELinux's library and the PCRE2 it needs in turn, each under its soname.
    assert_eq!(libs, ["libpcre2-8.so.0", "libselinux.so.1"]);

    let probes = run_probes(
        &t,
        &[Probe {
            name: "hello".into(),
            program: "isolated/usr/bin/hello".into(),
            args: vec![],
        }],
        &[],
        Duration::from_secs(10),
    );
    // Probes see the tree read-only: the script's write fails, the rest of it runs.
    assert_eq!(probes[0].exit_code, Some(0));
    assert_eq!(probes[0].stdout, "out\n");
    assert!(
        probes[0].stderr.contains("Read-only file system"),
        "{}",
        probes[0].stderr
    );
    assert!(probes[0].stderr.ends_with("err\n"), "{}", probes[0].stderr);
}

fn refused(p: Plan) -> (String, bool) {
    let env = Env::new();
    let e = env.exec(&p, Policy::default()).unwrap_err();
    assert!(matches!(e, SetupError::Refused { .. }), "{e}");
    let anything_ran = std::fs::read_dir(env.tree()).unwrap().next().is_some();
    (e.to_string(), anything_ran)
}

#[test]
fn unsafe_plans_are_refused_before_anything_runs() {
    let first = SetupStep::Mkdir("made".into());
    let zeros = "0".repeat(64);
    let cases: Vec<(SetupStep, &str)> = vec![
        (
            SetupStep::Mkdir("../escape".into()),
            "leaves the runtime tree",
        ),
        (SetupStep::Mkdir("/etc/evil".into()), "is absolute"),
        (
            SetupStep::CopyFromHost(CopyFromHost {
                source: "/etc/shadow".into(),
                target: "s".into(),
                exclude: vec![],
            }),
            "outside the allowed host paths",
        ),
        (
            SetupStep::CopyFromHost(CopyFromHost {
                source: "/usr/lib/../../etc/shadow".into(),
                target: "s".into(),
                exclude: vec![],
            }),
            "without '..'",
        ),
        (
            fetch("https://example.com/jdk.tar.gz", "", "jdk", true, 1),
            "every fetch must be pinned",
        ),
        (
            fetch("ftp://example.com/jdk.tar.gz", &zeros, "jdk", true, 1),
            "scheme 'ftp'",
        ),
        (
            fetch("https://example.com/x", &zeros, "../x", false, 0),
            "leaves the runtime tree",
        ),
        (
            run("/usr/sbin/useradd", &["x"], 10),
            "outside the allowed host paths",
        ),
        (run("../../bin/sh", &[], 10), "leaves the runtime tree"),
        (
            SetupStep::Symlink(MakeSymlink {
                link: "etc".into(),
                target: "/etc".into(),
            }),
            "absolute path '/etc'",
        ),
        (
            SetupStep::Symlink(MakeSymlink {
                link: "a/b".into(),
                target: "../../..".into(),
            }),
            "points outside",
        ),
        (write("big", &vec![0u8; 17 << 20], false), "byte limit"),
        (write("a\nb", b"x", false), "control characters"),
    ];
    for (bad, want) in cases {
        let (e, ran) = refused(plan(vec![first.clone(), bad]));
        assert!(
            e.contains("step 2") && e.contains(want),
            "{e} (wanted {want})"
        );
        assert!(!ran, "step 1 ran although the plan was refused: {e}");
    }
    let mut p = plan(vec![first.clone()]);
    p.mounts.push(Mount {
        source: "isolated".into(),
        target: "usr/local".into(),
        readonly: true,
    });
    assert!(refused(p).0.contains("mount target 'usr/local'"));
    let mut p = plan(vec![first]);
    p.probes.push(Probe {
        name: "x".into(),
        program: "/sbin/reboot".into(),
        args: vec![],
    });
    assert!(refused(p).0.contains("probe"));
}

#[test]
fn writes_through_a_symlink_out_of_the_tree_fail() {
    let env = Env::new();
    // A host directory with a symlink pointing out, as /usr/lib/ssl/certs -> /etc/ssl/certs is.
    let host = env.dir.path().join("hostlib");
    std::fs::create_dir(&host).unwrap();
    let outside = env.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, host.join("certs")).unwrap();
    let policy = Policy {
        copy_prefixes: vec![format!("{}/", host.display())],
        ..Policy::default()
    };
    let p = plan(vec![
        SetupStep::CopyFromHost(CopyFromHost {
            source: host.join("certs").display().to_string(),
            target: "certs".into(),
            exclude: vec![],
        }),
        write("certs/evil", b"x", false),
    ]);
    let e = env.exec(&p, policy).unwrap_err().to_string();
    assert!(
        e.contains("step 2 (write-file)") && e.contains("resolves outside the runtime tree"),
        "{e}"
    );
    assert!(
        std::fs::read_dir(&outside).unwrap().next().is_none(),
        "a file was written outside the tree"
    );
}

#[test]
fn failures_name_the_step_and_show_the_output() {
    let env = Env::new();
    let p = plan(vec![
        write("fail.sh", b"#!/bin/sh\necho installing numpy\necho 'ERROR: no matching distribution' >&2\nexit 3\n", true),
        run("fail.sh", &[], 10),
    ]);
    let e = env.exec(&p, Policy::default()).unwrap_err().to_string();
    assert!(e.contains("step 2: `fail.sh` exited with status 3"), "{e}");
    assert!(
        e.contains("installing numpy") && e.contains("no matching distribution"),
        "{e}"
    );

    let env = Env::new();
    let p = plan(vec![
        write("slow.sh", b"#!/bin/sh\necho started\nsleep 100\n", true),
        run("slow.sh", &[], 1),
    ]);
    let started = std::time::Instant::now();
    let e = env.exec(&p, Policy::default()).unwrap_err().to_string();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        e.contains("did not finish within 1 s") && e.contains("started"),
        "{e}"
    );

    let env = Env::new();
    let p = plan(vec![fetch(
        &format!("file://{}", Path::new("/usr/bin/true").display()),
        &"ab".repeat(32),
        "t",
        false,
        0,
    )]);
    let e = env.exec(&p, Policy::default()).unwrap_err().to_string();
    assert!(
        e.contains("step 1 (fetch)") && e.contains("checksum mismatch"),
        "{e}"
    );
    assert!(!env.tree().join("t").exists());
}

#[test]
fn host_copies_leave_out_what_the_plan_excludes_and_allow_exact_files() {
    let env = Env::new();
    let host = env.dir.path().join("hostpy");
    std::fs::create_dir_all(host.join("lib/site-packages/hostonly")).unwrap();
    std::fs::create_dir_all(host.join("lib/encodings")).unwrap();
    std::fs::write(host.join("lib/os.py"), b"# os").unwrap();
    std::fs::write(host.join("lib/encodings/utf_8.py"), b"# utf8").unwrap();
    std::fs::write(host.join("lib/site-packages/hostonly/x.py"), b"# host").unwrap();
    std::fs::write(host.join("python"), b"#!/bin/sh\n").unwrap();
    std::fs::write(host.join("python-config"), b"#!/bin/sh\n").unwrap();
    let policy = Policy {
        copy_prefixes: vec![
            format!("{}/lib/", host.display()),
            // An exact file: allows that file, not its namesakes.
            host.join("python").display().to_string(),
        ],
        ..Policy::default()
    };
    let copy = |source: std::path::PathBuf, target: &str, exclude: &[&str]| {
        SetupStep::CopyFromHost(CopyFromHost {
            source: source.display().to_string(),
            target: target.into(),
            exclude: exclude.iter().map(|e| e.to_string()).collect(),
        })
    };
    let p = plan(vec![
        copy(host.join("lib"), "rt/lib", &["site-packages"]),
        copy(host.join("python"), "rt/python", &[]),
    ]);
    env.exec(&p, policy.clone()).unwrap();
    let t = env.tree();
    assert!(t.join("rt/lib/os.py").is_file());
    assert!(t.join("rt/lib/encodings/utf_8.py").is_file());
    assert!(!t.join("rt/lib/site-packages").exists());
    assert!(t.join("rt/python").is_file());

    let env = Env::new();
    let e = env
        .exec(
            &plan(vec![copy(host.join("python-config"), "x", &[])]),
            policy.clone(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("outside the allowed host paths"), "{e}");
    let e = env
        .exec(
            &plan(vec![copy(host.join("lib"), "y", &["../etc"])]),
            policy,
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("leaves the runtime tree"), "{e}");
}

#[test]
fn run_steps_see_only_the_passed_through_variables() {
    let env = Env::new();
    // cargo sets these for the test process; one is passed through, the other is not.
    let policy = Policy {
        pass_env: vec!["CARGO_PKG_NAME".into()],
        ..Policy::default()
    };
    let p = plan(vec![SetupStep::Run(RunProgram {
        program: "/bin/sh".into(),
        args: vec![
            "-c".into(),
            "echo \"$CARGO_PKG_NAME|$CARGO_MANIFEST_DIR|$FROM_PLAN\" > env.txt".into(),
        ],
        env: vec![("FROM_PLAN".into(), "plan".into())],
        timeout_seconds: 10,
        network: vec![],
    })]);
    env.exec(&p, policy).unwrap();
    assert_eq!(
        std::fs::read_to_string(env.tree().join("env.txt")).unwrap(),
        "jrt||plan\n"
    );
}

#[test]
fn host_copies_refuse_private_files() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let host = env.dir.path().join("hostlib");
    std::fs::create_dir_all(host.join("sub")).unwrap();
    std::fs::write(host.join("public.so"), b"public").unwrap();
    std::fs::write(host.join("sub/private.so"), b"secret").unwrap();
    std::fs::set_permissions(
        host.join("sub/private.so"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let policy = Policy {
        copy_prefixes: vec![format!("{}/", host.display())],
        ..Policy::default()
    };
    let copy = |source: std::path::PathBuf, target: &str| {
        SetupStep::CopyFromHost(CopyFromHost {
            source: source.display().to_string(),
            target: target.into(),
            exclude: vec![],
        })
    };
    // A private file is refused, alone or inside a directory; never turned into a 0644 copy.
    for (source, target) in [(host.join("sub/private.so"), "x"), (host.clone(), "d")] {
        let e = env
            .exec(&plan(vec![copy(source, target)]), policy.clone())
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not world-readable on the host"), "{e}");
    }
    assert!(!env.tree().join("x").exists());
    assert!(!env.tree().join("d/sub/private.so").exists());
}

/// A planted ELF whose RUNPATH and absolute DT_NEEDED name libraries outside the allow-list
/// (one of them private): copy-libraries copies neither.
#[test]
fn copy_libraries_takes_only_allow_listed_public_libraries() {
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;
    let env = Env::new();
    let evil = env.dir.path().join("evil");
    std::fs::create_dir_all(&evil).unwrap();
    std::fs::write(evil.join("e.c"), "int evil(void) { return 7; }\n").unwrap();
    std::fs::write(
        evil.join("main.c"),
        "int evil(void);\nint other(void);\nint main(void) { return evil() + other(); }\n",
    )
    .unwrap();
    std::fs::write(evil.join("o.c"), "int other(void) { return 1; }\n").unwrap();
    let gcc = |args: &[&str]| {
        let out = Command::new("gcc")
            .args(args)
            .current_dir(&evil)
            .output()
            .expect("gcc (the machine's C compiler) runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    gcc(&[
        "-shared",
        "-fPIC",
        "-o",
        "libevil.so",
        "-Wl,-soname,libevil.so",
        "e.c",
    ]);
    // No soname: the binary records its absolute path as DT_NEEDED.
    gcc(&["-shared", "-fPIC", "-o", "libother.so", "o.c"]);
    let other = evil.join("libother.so").display().to_string();
    let rpath = format!("-Wl,-rpath,{}", evil.display());
    gcc(&["-o", "planted", "main.c", "-L.", "-levil", &other, &rpath]);
    std::fs::set_permissions(
        evil.join("libevil.so"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let planted = std::fs::read(evil.join("planted")).unwrap();

    let p = plan(vec![
        write("bin/planted", &planted, true),
        SetupStep::CopyLibraries(CopyLibraries {
            binaries: vec!["bin/planted".into()],
            target: "lib".into(),
        }),
    ]);
    // Contained either way: refused, or set up without the planted libraries.
    let _ = env.exec(&p, Policy::default());
    for lib in ["libevil.so", "libother.so"] {
        assert!(
            !env.tree().join("lib").join(lib).exists(),
            "{lib} was copied"
        );
    }
    // Even allow-listed, the private one is not copied: the sandboxed ldd cannot read it (as
    // root), or jrt refuses to copy it (as its owner).
    let env = Env::new();
    let policy = Policy {
        copy_prefixes: vec![format!("{}/", evil.display())],
        ..Policy::default()
    };
    if let Err(e) = env.exec(&p, policy) {
        assert!(e.to_string().contains("not world-readable"), "{e}");
    }
    assert!(!env.tree().join("lib/libevil.so").exists());
}

#[test]
fn the_fetch_cache_is_checked_again_and_file_urls_read_only_regular_files() {
    let env = Env::new();
    let good = b"the build the plan pins".to_vec();
    let source = env.dir.path().join("build.bin");
    std::fs::write(&source, &good).unwrap();
    let url = format!("file://{}", source.display());
    let p = plan(vec![fetch(&url, &sha(&good), "build.bin", false, 0)]);
    env.exec(&p, Policy::default()).unwrap();
    let cached = env.dir.path().join("cache/fetched").join(sha(&good));
    assert_eq!(std::fs::read(&cached).unwrap(), good);

    // A file planted under the pinned hash is hashed, found wrong, and fetched again; a
    // link planted there is replaced, not followed.
    let planted = env.dir.path().join("planted");
    std::fs::write(&planted, b"an attacker's build").unwrap();
    for plant in ["copy", "link"] {
        std::fs::remove_file(&cached).unwrap();
        if plant == "copy" {
            std::fs::copy(&planted, &cached).unwrap();
        } else {
            std::os::unix::fs::symlink(&planted, &cached).unwrap();
        }
        std::fs::remove_dir_all(env.tree()).unwrap();
        std::fs::create_dir(env.tree()).unwrap();
        env.exec(&p, Policy::default()).unwrap();
        assert_eq!(std::fs::read(env.tree().join("build.bin")).unwrap(), good);
        assert!(!std::fs::symlink_metadata(&cached).unwrap().is_symlink());
        assert_eq!(std::fs::read(&cached).unwrap(), good, "{plant}");
        assert_eq!(std::fs::read(&planted).unwrap(), b"an attacker's build");
    }

    // A FIFO behind file:// (which would block the install, or feed it for ever) and a
    // device are refused at once, naming the path.
    let fifo = env.dir.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for path in [fifo.as_path(), Path::new("/dev/zero")] {
        let p = plan(vec![fetch(
            &format!("file://{}", path.display()),
            &"ab".repeat(32),
            "x",
            false,
            0,
        )]);
        let started = std::time::Instant::now();
        let e = env.exec(&p, Policy::default()).unwrap_err().to_string();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            e.contains("not a regular file") && e.contains(&path.display().to_string()),
            "{e}"
        );
    }
}

/// Plan fetches take the packages' download path: a cut connection resumes with `Range`, the
/// build is verified and stored once, and a build the server says is over the limit, or whose
/// bytes do not match, is refused with nothing stored.
#[test]
fn plan_fetches_resume_verify_and_store_like_packages() {
    let server = server::Server::start();
    let build = tarball::noise(7, 300_000);
    server.put("build.bin", build.clone());
    server.faults("build.bin", vec![server::Fault::CutAfter(100_000)]);
    let http = jrt_client::http::Http::new(jrt_client::http::Policy {
        base_delay: Duration::from_millis(5),
        ..jrt_client::http::Policy::default()
    })
    .unwrap();
    let env = Env::new();
    let p = plan(vec![fetch(
        &server.url("build.bin"),
        &sha(&build),
        "build.bin",
        false,
        0,
    )]);
    env.exec_with(&p, Policy::default(), Some(&http)).unwrap();
    assert_eq!(std::fs::read(env.tree().join("build.bin")).unwrap(), build);
    let ranges: Vec<Option<String>> = server
        .requests_for("build.bin")
        .into_iter()
        .map(|l| l.range)
        .collect();
    assert_eq!(ranges, [None, Some("bytes=100000-".into())]);
    let stored = env.dir.path().join("cache/fetched");
    let mut names: Vec<String> = std::fs::read_dir(&stored)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [sha(&build), format!("{}.lock", sha(&build))]);

    // Other bytes than pinned: refused, and neither an entry nor a .part is kept.
    let other = "ab".repeat(32);
    let p = plan(vec![fetch(
        &server.url("build.bin"),
        &other,
        "other.bin",
        false,
        0,
    )]);
    let e = env
        .exec_with(&p, Policy::default(), Some(&http))
        .unwrap_err()
        .to_string();
    assert!(e.contains("checksum mismatch") && e.contains(&other), "{e}");
    assert!(!stored.join(&other).exists() && !stored.join(format!("{other}.part")).exists());
}
