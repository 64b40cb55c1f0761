//! Progress on a real terminal: `jrt install` of three runtimes with `--jobs 3` runs inside
//! tmux while a local server sends the packages (and the JDK a setup step fetches) over a
//! slow link, and the pane is captured as it draws. One line per runtime: bytes, rate, ETA
//! and files for the two prebuilt packages, the step and its name for the source package's
//! setup; afterwards only the final lines. With `--json` or `-q`, no bar is ever drawn.

mod common;
#[path = "common/packages.rs"]
mod packages;
#[path = "common/server.rs"]
mod server;
#[path = "common/tarball.rs"]
mod tarball;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use server::{Fault, Server};

/// A tmux server of this test's own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("jrt-test-{}-{name}", std::process::id()),
        };
        tmux.cmd(&["-f", "/dev/null", "start-server"]);
        tmux
    }

    fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux (apt install tmux) runs");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `command` (a shell line) in a new 160×24 window; it says how it exited, then
    /// waits so the pane can still be read.
    fn run(&self, command: &str) {
        let line = format!("{command}; echo JRT-EXIT=$?; sleep 120");
        self.cmd(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "160",
            "-y",
            "24",
            "-s",
            "jrt",
            &line,
        ]);
    }

    /// What the pane shows now, with what scrolled off above it. (Not `-J`: a bar fills the
    /// width exactly, and joining would run the bars into one line.)
    fn frame(&self) -> String {
        self.cmd(&["capture-pane", "-p", "-S", "-", "-t", "jrt"])
    }

    /// Captures frames until the command has exited; returns every distinct frame, the last
    /// being the final one.
    fn frames_until_exit(&self) -> Vec<String> {
        let started = Instant::now();
        let mut frames: Vec<String> = Vec::new();
        loop {
            let f = self.frame();
            let done = f.contains("JRT-EXIT=");
            if frames.last() != Some(&f) {
                frames.push(f);
            }
            if done {
                return frames;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "the install did not finish: {}",
                frames.last().map(String::as_str).unwrap_or("")
            );
            std::thread::sleep(Duration::from_millis(40));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// Two prebuilt runtimes (rt-a, rt-b; 300 KB each, most of it incompressible, in 300 files)
/// in a registry.json on `server`, and a JDK runtime (jdk21) whose setup fetches its build
/// from `server`. Every transfer that matters is slow: about 100 KB/s.
fn world(d: &Path, server: &Server) -> (String, PathBuf) {
    let mut runtimes = serde_json::Map::new();
    for name in ["rt-a", "rt-b"] {
        let mut entries = vec![
            tarball::dir(&format!("{name}/")),
            tarball::file(
                &format!("{name}/manifest.yaml"),
                format!("name: {name}\nversion: 1.0.0\n").as_bytes(),
            ),
            tarball::file(
                &format!("{name}/runtime.yml"),
                format!("name: {name}\nversion: 1.0.0\nmounts: []\n").as_bytes(),
            ),
            tarball::dir(&format!("{name}/isolated/")),
        ];
        for i in 0..300u64 {
            entries.push(tarball::file(
                &format!("{name}/isolated/f{i:03}"),
                &tarball::noise(i, 1000),
            ));
        }
        let bytes = tarball::tgz(&entries);
        let sha = packages::sha256(&bytes);
        let file = format!("/{name}-1.0.0.tar.gz");
        runtimes.insert(
            name.to_string(),
            serde_json::json!({ "1.0.0": {
                "version": "1.0.0",
                "description": "a test runtime",
                "download_url": &file[1..],
                "checksum": format!("sha256:{sha}"),
                "size": bytes.len(),
                "platforms": ["ubuntu-amd64", "ubuntu-arm64", "rhel-amd64", "rhel-arm64",
                              "amzn-amd64", "amzn-arm64"],
            }}),
        );
        server.put(&file, bytes);
        server.faults(&file, vec![slow()]);
    }
    let index = serde_json::json!({ "version": "1", "runtimes": runtimes });
    server.put("/registry.json", serde_json::to_vec(&index).unwrap());

    let jdk = packages::fake_jdk();
    let sha = packages::sha256(&jdk);
    server.put("/jdk.tar.gz", jdk);
    server.faults(
        "/jdk.tar.gz",
        vec![Fault::Throttle {
            chunk: 16,
            every: Duration::from_millis(25),
        }],
    );
    let url = server.url("/jdk.tar.gz");
    packages::jdk_runtime(&d.join("runtimes/jdk21"), &url, &sha);
    (server.url("/registry.json"), d.join("runtimes"))
}

fn slow() -> Fault {
    Fault::Throttle {
        chunk: 4096,
        every: Duration::from_millis(40),
    }
}

/// The shell line that runs jrt on `d`'s root and cache, with both registries.
fn jrt_line(d: &Path, registry: &str, runtimes: &Path, args: &str) -> String {
    let bin = assert_cmd::cargo::cargo_bin("jrt");
    format!(
        "env -i PATH=/usr/bin:/bin TERM=\"$TERM\" {} --root {} --cache-dir {} --registry {registry} --registry {} {args}",
        bin.display(),
        d.join("root").display(),
        common::cache_with_compiled(d).display(),
        runtimes.display(),
    )
}

/// A bar line: the runtime's label, a bar, then what it counts.
fn bar_line<'a>(frame: &'a str, label: &str) -> Option<&'a str> {
    frame
        .lines()
        .find(|l| l.trim_start().starts_with(label) && l.contains(" ["))
}

#[test]
fn three_runtimes_install_with_a_bar_each_on_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let server = Server::start();
    let (registry, runtimes) = world(d, &server);
    let tmux = Tmux::start("bars");
    tmux.run(&jrt_line(
        d,
        &registry,
        &runtimes,
        "install rt-a rt-b jdk21 --jobs 3",
    ));
    let frames = tmux.frames_until_exit();

    // A frame with all three at work: bytes, rate and time left for each download (files
    // counted as they are extracted), the setup's step and its name.
    let busy = frames.iter().find(|f| {
        let download = |label| {
            bar_line(f, label).is_some_and(|l| {
                l.contains("KiB/") && l.contains("/s") && l.contains("ETA") && l.contains(" files")
            })
        };
        let setup =
            bar_line(f, "jdk21 (jdk)").is_some_and(|l| l.contains("step ") && l.contains("fetch"));
        download("rt-a@1.0.0") && download("rt-b@1.0.0") && setup
    });
    let Some(busy) = busy else {
        panic!(
            "no frame showed the three runtimes at work; the frames:\n{}",
            frames.join("\n----\n")
        );
    };
    println!("a frame of the install in progress:\n{busy}");

    let last = frames.last().unwrap();
    assert!(last.contains("JRT-EXIT=0"), "{last}");
    for name in ["rt-a", "rt-b", "jdk21"] {
        assert!(
            last.contains(&format!("installed {name}@1.0.0 to ")),
            "{name}: {last}"
        );
    }
    // The finished bars say what they did.
    assert!(
        bar_line(last, "rt-a@1.0.0").is_some_and(|l| l.contains("unpacked 303 files")),
        "{last}"
    );
    assert!(
        bar_line(last, "jdk21 (jdk)").is_some_and(|l| l.contains("set up")),
        "{last}"
    );
    println!("the last frame:\n{last}");
}

#[test]
fn json_and_quiet_draw_no_bar_on_a_terminal() {
    for (mode, args) in [
        ("json", "--json install rt-a rt-b jdk21 --jobs 3"),
        ("quiet", "-q install rt-a rt-b jdk21 --jobs 3"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let server = Server::start();
        let (registry, runtimes) = world(d, &server);
        let tmux = Tmux::start(mode);
        tmux.run(&jrt_line(d, &registry, &runtimes, args));
        let frames = tmux.frames_until_exit();
        for f in &frames {
            assert!(
                !f.contains("ETA") && !f.contains("] step ") && !f.contains("unpacked"),
                "{mode}: a bar was drawn:\n{f}"
            );
        }
        let last = frames.last().unwrap();
        assert!(last.contains("JRT-EXIT=0"), "{mode}: {last}");
        let printed = &last[..last.find("JRT-EXIT=").unwrap()];
        match mode {
            "json" => {
                let doc: serde_json::Value = serde_json::from_str(printed.trim())
                    .unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{printed}"));
                assert_eq!(doc["results"].as_array().unwrap().len(), 3, "{doc}");
            }
            _ => assert_eq!(printed.trim(), "", "-q prints nothing on success"),
        }
    }
}
