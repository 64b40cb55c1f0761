//! The CNCF distribution registry (Debian's `docker-registry`) for the OCI tests, on a free
//! port of 127.0.0.1 with its own config and storage, without auth or with htpasswd; and a
//! small bearer-token front for it that plays GHCR's part (a 401 challenge, a token service
//! that hands out tokens for pull scopes and refuses others). Both stop when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Registry {
    pub host: String,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Registry {
    /// A registry without auth.
    pub fn start() -> Registry {
        Registry::start_with("")
    }

    /// A registry that wants basic auth for `user`:`password` (an htpasswd file made with
    /// Apache's `htpasswd -B`).
    pub fn start_htpasswd(user: &str, password: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("htpasswd");
        let out = Command::new("htpasswd")
            .args(["-Bbn", user, password])
            .output()
            .expect("htpasswd (apache2-utils) runs: .ci/run installs it");
        assert!(out.status.success());
        std::fs::write(&file, out.stdout).unwrap();
        let auth = format!(
            "auth:\n  htpasswd:\n    realm: jrt-test\n    path: {}\n",
            file.display()
        );
        let mut r = Registry::start_with(&auth);
        r._dir = dir;
        r
    }

    fn start_with(auth: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        // A port another test took between our probe and the registry's bind makes the
        // registry exit; try again on another.
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n\
                     storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                     http:\n  addr: 127.0.0.1:{port}\n{auth}",
                    dir.path().join("data").display()
                ),
            )
            .unwrap();
            let log = dir.path().join(format!("registry-{port}.log"));
            let child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
                .stderr(Stdio::from(
                    std::fs::File::create(log.with_extension("err")).unwrap(),
                ))
                .spawn()
                .expect("docker-registry (Debian's CNCF distribution) runs: .ci/run installs it");
            let mut r = Registry {
                host: format!("127.0.0.1:{port}"),
                child,
                log,
                _dir: tempfile::tempdir().unwrap(),
            };
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = r.child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    r._dir = dir;
                    return r;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = r.child.kill();
        }
        panic!("docker-registry did not start");
    }

    /// `oci://HOST/<namespace>`.
    pub fn oci(&self, namespace: &str) -> String {
        format!("oci://{}/{namespace}", self.host)
    }

    /// Everything the registry logged (its access log lines included).
    pub fn log(&self) -> String {
        let mut text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.push_str(&std::fs::read_to_string(self.log.with_extension("err")).unwrap_or_default());
        text
    }

    /// How many GETs of `/v2/<repo>/blobs/<digest>` the registry answered.
    pub fn blob_gets(&self, repo: &str, digest: &str) -> usize {
        let needle = format!("\"GET /v2/{repo}/blobs/{digest}");
        self.log().matches(&needle).count()
    }

    /// How many GETs of any blob the registry answered.
    pub fn all_blob_gets(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("\"GET /v2/") && l.contains("/blobs/sha256:"))
            .count()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A registry front that wants bearer tokens, as GHCR does: a request without a valid token
/// gets 401 with `WWW-Authenticate: Bearer realm=…/token,service=…,scope=…`; `/token` hands
/// out a token for `repository:<allowed>/…:pull` scopes only and answers 401 to any other.
/// Valid requests go on to the registry behind it.
pub struct TokenFront {
    pub host: String,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
    /// Every scope asked of the token service, and whether it was granted.
    pub asked: Arc<Mutex<Vec<(String, bool)>>>,
}

impl TokenFront {
    /// A front for `upstream` (`HOST:PORT`) granting pull scopes under `allowed/`.
    pub fn start(upstream: &str, allowed: &str) -> TokenFront {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let host = format!("127.0.0.1:{}", addr.port());
        let stop = Arc::new(AtomicBool::new(false));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let (sp, ask) = (stop.clone(), asked.clone());
        let (upstream, allowed, me) = (upstream.to_string(), allowed.to_string(), host.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let (upstream, allowed, me, ask) =
                        (upstream.clone(), allowed.clone(), me.clone(), ask.clone());
                    std::thread::spawn(move || front(conn, &upstream, &allowed, &me, &ask));
                }
            }
        });
        TokenFront {
            host,
            stop,
            addr,
            asked,
        }
    }
}

impl Drop for TokenFront {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

fn token_for(scope: &str) -> String {
    format!("tok-{}", scope.replace([':', '/', ','], "."))
}

fn front(
    conn: TcpStream,
    upstream: &str,
    allowed: &str,
    me: &str,
    asked: &Mutex<Vec<(String, bool)>>,
) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut head = String::new();
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.is_empty() {
        return;
    }
    let request_line = line.clone();
    let mut headers = Vec::new();
    let mut length = 0usize;
    let mut auth = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let key = k.trim().to_ascii_lowercase();
            match key.as_str() {
                "content-length" => length = v.trim().parse().unwrap_or(0),
                "authorization" => auth = Some(v.trim().to_string()),
                "connection" | "host" => continue,
                _ => {}
            }
        }
        head.push_str(&h);
        headers.push(h);
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut out = conn;
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let reply = |out: &mut TcpStream, status: &str, extra: &str, body: &str| {
        let _ = write!(
            out,
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\n\
             Connection: close\r\n{extra}\r\n{body}",
            body.len()
        );
    };
    if let Some(query) = target.strip_prefix("/token?") {
        let scopes: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.into_owned())
            .collect();
        let ok = !scopes.is_empty()
            && scopes
                .iter()
                .all(|s| s.starts_with(&format!("repository:{allowed}/")) && s.ends_with(":pull"));
        asked.lock().unwrap().push((scopes.join(" "), ok));
        if ok {
            let token = token_for(&scopes.join(" "));
            return reply(
                &mut out,
                "200 OK",
                "",
                &format!("{{\"token\":\"{token}\"}}"),
            );
        }
        return reply(
            &mut out,
            "401 Unauthorized",
            "",
            "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"scope not granted\"}]}",
        );
    }
    // The scope this request needs: pull of the repository in its path.
    let repo = target
        .strip_prefix("/v2/")
        .and_then(|rest| {
            ["/tags/", "/manifests/", "/blobs/"]
                .iter()
                .find_map(|m| rest.find(m).map(|i| &rest[..i]))
        })
        .unwrap_or("");
    let scope = format!("repository:{repo}:pull");
    let granted = auth.as_deref() == Some(&format!("Bearer {}", token_for(&scope)));
    if !granted {
        let challenge = format!(
            "WWW-Authenticate: Bearer realm=\"http://{me}/token\",service=\"jrt-test\",scope=\"{scope}\"\r\n"
        );
        return reply(
            &mut out,
            "401 Unauthorized",
            &challenge,
            "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}",
        );
    }
    // Granted: on to the registry, one connection per request.
    let Ok(mut up) = TcpStream::connect(upstream) else {
        return reply(&mut out, "502 Bad Gateway", "", "");
    };
    let _ = write!(
        up,
        "{method} {target} HTTP/1.1\r\nHost: {upstream}\r\nConnection: close\r\n{head}\r\n"
    );
    let _ = up.write_all(&body);
    let _ = std::io::copy(&mut up, &mut out);
    let _ = headers;
}

/// Writes a Docker `config.json` with basic credentials for `host` into `dir`.
pub fn docker_config(dir: &Path, host: &str, user: &str, password: &str) {
    use std::fmt::Write as _;
    let raw = format!("{user}:{password}");
    let mut b64 = String::new();
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in raw.as_bytes().chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = b64.write_char(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        format!("{{\"auths\":{{\"{host}\":{{\"auth\":\"{b64}\"}}}}}}"),
    )
    .unwrap();
}
