//! A small HTTP/1.1 server on 127.0.0.1 for the download tests, with faults on demand: wrong
//! bytes, extra bytes, cut connections (with or without Content-Length), stalls, error
//! statuses, ignored ranges, slow links. Every request is logged. It stops when dropped.
//!
//! Files are shared, not copied, per request: the install benchmark serves a 95 MB package
//! from here, and a copy per request was 40 ms of what it measured.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to do to one response.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Serve the file properly (ranges honoured).
    None,
    /// Answer with this status and an empty body.
    Status(u16),
    /// 429 or 503 with `Retry-After: <secs>`.
    RetryAfter(u16, u64),
    /// Send this many body bytes, then close (Content-Length announces the full body).
    CutAfter(usize),
    /// Like `CutAfter`, without a Content-Length header.
    CutAfterNoLength(usize),
    /// Send this many body bytes, then go silent for a long while.
    StallAfter(usize),
    /// Send the body one byte at a time, this long apart (each read succeeds; only a total
    /// deadline stops it).
    Drip(Duration),
    /// Send the body `chunk` bytes at a time, `every` apart: a slow link, so a progress
    /// display has something to show.
    Throttle { chunk: usize, every: Duration },
    /// Answer a range request with 200 and the whole body.
    IgnoreRange,
    /// Answer a range request with a range that starts 100 bytes later than asked.
    WrongRange,
    /// Flip one byte at this offset of the body.
    Flip(usize),
    /// Append bytes after the body (and count them in Content-Length).
    Extra(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct Logged {
    pub path: String,
    pub range: Option<String>,
    pub if_none_match: Option<String>,
}

struct State {
    files: HashMap<String, Arc<Vec<u8>>>,
    headers: HashMap<String, Vec<(String, String)>>,
    /// Faults per path, consumed one per request; when empty, `Fault::None`.
    faults: HashMap<String, Vec<Fault>>,
    log: Vec<Logged>,
}

pub struct Server {
    pub base: String,
    addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start() -> Server {
        Server::start_on("127.0.0.1", "127.0.0.1")
    }

    /// A server listening on `bind` (such as `0.0.0.0`), reached as `host` in its URLs.
    pub fn start_on(bind: &str, host: &str) -> Server {
        let listener = TcpListener::bind((bind, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{host}:{}", addr.port());
        let state = Arc::new(Mutex::new(State {
            files: HashMap::new(),
            headers: HashMap::new(),
            faults: HashMap::new(),
            log: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            // Blocking accepts (no polling delay); dropping the server connects once to
            // wake this loop up and end it.
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let (st, sp) = (st.clone(), sp.clone());
                    std::thread::spawn(move || handle(conn, &st, &sp));
                }
            }
        });
        Server {
            base,
            addr,
            state,
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    pub fn put(&self, path: &str, bytes: Vec<u8>) {
        self.state.lock().unwrap().files.insert(
            format!("/{}", path.trim_start_matches('/')),
            Arc::new(bytes),
        );
    }

    pub fn header(&self, path: &str, name: &str, value: &str) {
        self.state
            .lock()
            .unwrap()
            .headers
            .entry(format!("/{}", path.trim_start_matches('/')))
            .or_default()
            .push((name.into(), value.into()));
    }

    /// Faults for the next requests of `path`, in order.
    pub fn faults(&self, path: &str, faults: Vec<Fault>) {
        self.state
            .lock()
            .unwrap()
            .faults
            .insert(format!("/{}", path.trim_start_matches('/')), faults);
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn requests_for(&self, path: &str) -> Vec<Logged> {
        let p = format!("/{}", path.trim_start_matches('/'));
        self.log().into_iter().filter(|l| l.path == p).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

fn handle(conn: TcpStream, state: &Mutex<State>, stop: &AtomicBool) {
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range = None;
    let mut if_none_match = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "range" => range = Some(v.trim().to_string()),
                "if-none-match" => if_none_match = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    let (file, extra_headers, fault) = {
        let mut st = state.lock().unwrap();
        st.log.push(Logged {
            path: path.clone(),
            range: range.clone(),
            if_none_match: if_none_match.clone(),
        });
        let fault = st.faults.get_mut(&path).and_then(|f| {
            if f.is_empty() {
                None
            } else {
                Some(f.remove(0))
            }
        });
        (
            st.files.get(&path).cloned(),
            st.headers.get(&path).cloned().unwrap_or_default(),
            fault.unwrap_or(Fault::None),
        )
    };
    let mut out = conn;
    let status_only = |out: &mut TcpStream, code: u16, extra: &str| {
        let _ = write!(
            out,
            "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n{extra}\r\n"
        );
    };
    match &fault {
        Fault::Status(code) => return status_only(&mut out, *code, ""),
        Fault::RetryAfter(code, secs) => {
            return status_only(&mut out, *code, &format!("Retry-After: {secs}\r\n"));
        }
        _ => {}
    }
    let Some(mut body) = file else {
        return status_only(&mut out, 404, "");
    };
    if let Fault::Flip(at) = fault {
        Arc::make_mut(&mut body)[at] ^= 0x01;
    }
    if let Fault::Extra(more) = &fault {
        Arc::make_mut(&mut body).extend_from_slice(more);
    }
    let etag = extra_headers
        .iter()
        .find(|(k, _)| k == "ETag")
        .map(|(_, v)| v);
    if let (Some(etag), Some(sent)) = (etag, &if_none_match)
        && etag == sent
    {
        return status_only(&mut out, 304, &format!("ETag: {etag}\r\n"));
    }
    let total = body.len();
    let start = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok())
        .filter(|_| fault != Fault::IgnoreRange);
    let mut head = String::new();
    let payload: &[u8] = match start {
        Some(s) if s < total => {
            let s = if fault == Fault::WrongRange {
                (s + 100).min(total - 1)
            } else {
                s
            };
            head.push_str(&format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {s}-{}/{total}\r\n",
                total - 1
            ));
            &body[s..]
        }
        Some(_) => return status_only(&mut out, 416, ""),
        None => {
            head.push_str("HTTP/1.1 200 OK\r\n");
            &body[..]
        }
    };
    if !matches!(fault, Fault::CutAfterNoLength(_)) {
        head.push_str(&format!("Content-Length: {}\r\n", payload.len()));
    }
    for (k, v) in &extra_headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    if out.write_all(head.as_bytes()).is_err() {
        return;
    }
    let send = match fault {
        Fault::CutAfter(n) | Fault::CutAfterNoLength(n) | Fault::StallAfter(n) => {
            n.min(payload.len())
        }
        _ => payload.len(),
    };
    let paced = match fault {
        Fault::Drip(every) => Some((1, every)),
        Fault::Throttle { chunk, every } => Some((chunk.max(1), every)),
        _ => None,
    };
    if let Some((chunk, every)) = paced {
        for piece in payload[..send].chunks(chunk) {
            if stop.load(Ordering::SeqCst) || out.write_all(piece).is_err() || out.flush().is_err()
            {
                break;
            }
            std::thread::sleep(every);
        }
    } else {
        let _ = out.write_all(&payload[..send]);
    }
    let _ = out.flush();
    if let Fault::StallAfter(_) = fault {
        for _ in 0..3000 {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let _ = out.shutdown(std::net::Shutdown::Both);
}
