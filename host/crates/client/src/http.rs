//! HTTP for registries and packages (reqwest, blocking).
//!
//! Timeouts on connect and on every read; retries with exponential backoff and full jitter
//! for connect errors, timeouts, cut connections, 5xx and 429 (honouring `Retry-After` up to a
//! cap), never for other 4xx; no transparent decompression (`Accept-Encoding: identity`, and
//! reqwest is built without decoders); redirects followed, but never from https to http.
//!
//! [`Body`] reads a package and survives a cut connection by resuming with `Range` from the
//! byte it got to. A server that ignores the range (answers 200) or resends from an earlier
//! byte is read from where it starts and the bytes already delivered are skipped; one that
//! answers a later range, or a 206 without `Content-Range`, would leave a gap and is refused.
//! The caller's checksum over the whole stream still decides whether the result is good.
//!
//! Every download also has a total deadline ([`Policy::deadline`]): a grace period plus its
//! size at the minimum rate. Per-read timeouts alone let a server that drips a byte every
//! few seconds keep an install alive for ever; the deadline is checked after every read (and
//! before every resume), so it overshoots by at most one read timeout.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header;
use url::Url;

use crate::pin::Size;

/// Retry and timeout settings.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub connect_timeout: Duration,
    /// How long one read may wait for data before the attempt counts as stalled.
    pub read_timeout: Duration,
    /// Attempts per request, the first included.
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; longer waits fail instead.
    pub max_retry_after: Duration,
    /// Allow plain http to other machines (`--allow-insecure-http`); loopback always may.
    pub allow_insecure_http: bool,
    /// The slowest average a download may have, in bytes per second (`download_min_rate`).
    pub min_rate: u64,
    /// Time every download gets on top of its size at `min_rate` (`download_grace_seconds`).
    pub grace: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            allow_insecure_http: false,
            min_rate: 64 << 10,
            grace: Duration::from_secs(30),
        }
    }
}

impl Policy {
    /// The total time a download of `size` bytes may take: `grace` plus `size` at `min_rate`.
    pub fn deadline(&self, size: u64) -> Duration {
        let rate = self.min_rate.max(1);
        self.grace
            .saturating_add(Duration::from_secs(size / rate))
            .saturating_add(Duration::from_nanos((size % rate) * 1_000_000_000 / rate))
    }
}

/// Why plain http is refused, for every download jrt makes.
const INSECURE: &str = "plain http to another machine is refused: anyone on the path could \
    change what jrt installs. Use https, or pass --allow-insecure-http (or set \
    allow_insecure_http: true in jrt's config.yaml)";

/// Whether `url` points at this machine (a test server, a local mirror).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether fetching `url` would be plain http that `allow_insecure` does not permit.
pub fn is_insecure(url: &Url, allow_insecure: bool) -> bool {
    url.scheme() == "http" && !allow_insecure && !is_loopback(url)
}

/// An HTTP failure, already classified.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    #[error("{url}: HTTP {status}{}", retries(*.retried))]
    Status {
        url: String,
        status: u16,
        retried: u32,
    },
    #[error("{url}: {message}{}", retries(*.retried))]
    Transport {
        url: String,
        message: String,
        retried: u32,
    },
    #[error("{url}: {message}")]
    Refused { url: String, message: String },
}

/// One request for [`Http::send`]: a method, a URL, headers and a body that can be sent
/// again on a retry.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: Vec<(header::HeaderName, String)>,
    pub body: Payload,
}

/// What a request sends.
#[derive(Debug, Clone)]
pub enum Payload {
    Empty,
    Bytes(Vec<u8>),
    /// `len` bytes of a file from `offset`: read afresh for every attempt, so a package of
    /// gigabytes is never held in memory.
    File {
        path: std::path::PathBuf,
        offset: u64,
        len: u64,
    },
}

impl Request {
    pub fn new(method: reqwest::Method, url: Url) -> Self {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: Payload::Empty,
        }
    }

    pub fn get(url: Url) -> Self {
        Request::new(reqwest::Method::GET, url)
    }

    pub fn headers(mut self, headers: Vec<(header::HeaderName, String)>) -> Self {
        self.headers = headers;
        self
    }

    pub fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: Payload) -> Self {
        self.body = body;
        self
    }
}

/// A body of `len` bytes of `path` from `offset`, streamed with its length declared.
fn file_body(path: &std::path::Path, offset: u64, len: u64) -> io::Result<reqwest::blocking::Body> {
    use std::io::Seek;
    let mut file = jrt_fs::open_regular(path)?;
    file.seek(io::SeekFrom::Start(offset))?;
    Ok(reqwest::blocking::Body::sized(file.take(len), len))
}

/// Whether following a redirect to `next` would leave https for plain http.
pub fn is_downgrade(previous: &[Url], next: &Url) -> bool {
    next.scheme() == "http" && previous.iter().any(|u| u.scheme() == "https")
}

fn retries(n: u32) -> String {
    match n {
        0 => String::new(),
        1 => " (after 1 retry)".into(),
        n => format!(" (after {n} retries)"),
    }
}

/// A configured client.
#[derive(Debug, Clone)]
pub struct Http {
    client: Client,
    policy: Policy,
}

impl Http {
    /// A client with `policy`. Clients with the same timeouts are one shared client: each
    /// new one loads the system's root certificates again and starts a thread, which cost
    /// an install twice over (the registry's client and the installer's).
    pub fn new(policy: Policy) -> Result<Self, HttpError> {
        type Shared = Vec<((Duration, Duration, bool), Client)>;
        static SHARED: std::sync::OnceLock<std::sync::Mutex<Shared>> = std::sync::OnceLock::new();
        let key = (
            policy.connect_timeout,
            policy.read_timeout,
            policy.allow_insecure_http,
        );
        let shared = SHARED.get_or_init(Default::default);
        let mut clients = shared.lock().map_err(|_| HttpError::Transport {
            url: String::new(),
            message: "cannot set up HTTP: a thread panicked while setting it up".into(),
            retried: 0,
        })?;
        if let Some((_, client)) = clients.iter().find(|(k, _)| *k == key) {
            return Ok(Http {
                client: client.clone(),
                policy,
            });
        }
        let client = Self::client(&policy)?;
        clients.push((key, client.clone()));
        Ok(Http { client, policy })
    }

    fn client(policy: &Policy) -> Result<Client, HttpError> {
        // reqwest is built without a crypto provider; install ring once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let allow_insecure = policy.allow_insecure_http;
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if is_downgrade(attempt.previous(), attempt.url()) {
                let to = attempt.url().to_string();
                attempt.error(format!("refusing a redirect from https to {to}"))
            } else if is_insecure(attempt.url(), allow_insecure) {
                let to = attempt.url().to_string();
                attempt.error(format!("refusing a redirect to {to}: {INSECURE}"))
            } else if attempt.previous().len() >= 10 {
                attempt.error("more than 10 redirects")
            } else {
                attempt.follow()
            }
        });
        Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.read_timeout)
            .redirect(redirect)
            .user_agent(concat!("jrt/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Transport {
                url: String::new(),
                message: format!("cannot set up HTTP: {e}"),
                retried: 0,
            })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Puts `resp` under the deadline for a download of at most `cap` bytes: its
    /// Content-Length when it declares one (capped), else `cap`.
    pub fn timed(&self, resp: Response, cap: u64) -> Timed<Response> {
        let size = resp.content_length().unwrap_or(cap).min(cap);
        self.timed_reader(resp, size)
    }

    /// Puts any reader under the deadline for `size` bytes.
    fn timed_reader<R: Read>(&self, inner: R, size: u64) -> Timed<R> {
        Timed {
            inner,
            deadline: Deadline::start(&self.policy, size),
            got: 0,
        }
    }

    /// Sends a GET (with `range_from` as a `Range` start, and extra headers), retrying what is
    /// worth retrying. Returns a response with a success or 304 status.
    pub fn get(
        &self,
        url: &Url,
        range_from: Option<u64>,
        extra: &[(header::HeaderName, String)],
    ) -> Result<Response, HttpError> {
        let mut headers = extra.to_vec();
        if let Some(from) = range_from.filter(|f| *f > 0) {
            headers.push((header::RANGE, format!("bytes={from}-")));
        }
        let (resp, retried) = self.send(&Request::get(url.clone()).headers(headers))?;
        let status = resp.status();
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(resp);
        }
        Err(HttpError::Status {
            url: url.to_string(),
            status: status.as_u16(),
            retried,
        })
    }

    /// Sends `request`, retrying what is worth retrying (connect errors, timeouts, 5xx, 429),
    /// and returns the first response with any other status, for the caller to judge (a
    /// registry's 401 carries the challenge the caller answers), with the retries it took.
    /// Only a request whose body can be sent again is retried after it was sent.
    pub fn send(&self, request: &Request) -> Result<(Response, u32), HttpError> {
        let url = &request.url;
        if is_insecure(url, self.policy.allow_insecure_http) {
            return Err(HttpError::Refused {
                url: url.to_string(),
                message: INSECURE.into(),
            });
        }
        let mut retried = 0;
        loop {
            let mut req = self
                .client
                .request(request.method.clone(), url.clone())
                .header(header::ACCEPT_ENCODING, "identity");
            for (name, value) in &request.headers {
                req = req.header(name.clone(), value.clone());
            }
            let can_retry = match &request.body {
                Payload::Empty => true,
                Payload::Bytes(b) => {
                    req = req.body(b.clone());
                    true
                }
                Payload::File { path, offset, len } => {
                    req = req.body(file_body(path, *offset, *len).map_err(|e| {
                        HttpError::Transport {
                            url: url.to_string(),
                            message: format!("cannot read {}: {e}", path.display()),
                            retried,
                        }
                    })?);
                    true
                }
            };
            let wait = match req.send() {
                Ok(resp) => {
                    let status = resp.status();
                    let retryable =
                        status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
                    if !retryable || !can_retry || retried + 1 >= self.policy.attempts {
                        return Ok((resp, retried));
                    }
                    match retry_after(&resp) {
                        Some(d) if d > self.policy.max_retry_after => return Ok((resp, retried)),
                        Some(d) => d,
                        None => self.backoff(retried),
                    }
                }
                Err(e) => {
                    if is_redirect_refusal(&e) {
                        return Err(HttpError::Refused {
                            url: url.to_string(),
                            message: describe(&e),
                        });
                    }
                    if retried + 1 >= self.policy.attempts {
                        return Err(HttpError::Transport {
                            url: url.to_string(),
                            message: describe(&e),
                            retried,
                        });
                    }
                    self.backoff(retried)
                }
            };
            std::thread::sleep(wait);
            retried += 1;
        }
    }

    /// Exponential backoff with full jitter.
    pub fn backoff(&self, retried: u32) -> Duration {
        let exp = self
            .policy
            .base_delay
            .saturating_mul(1u32 << retried.min(16))
            .min(self.policy.max_delay);
        let nanos = exp.as_nanos() as u64;
        if nanos == 0 {
            return exp;
        }
        Duration::from_nanos(nanos / 2 + random_u64() % (nanos / 2 + 1))
    }
}

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(resp: &Response) -> Option<Duration> {
    let value = resp
        .headers()
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

fn is_redirect_refusal(e: &reqwest::Error) -> bool {
    e.is_redirect()
}

/// A read error in words: reqwest's own wrapper says little, its sources say what happened.
fn describe_io(e: &io::Error) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<reqwest::Error>());
    match inner {
        Some(r) if r.is_timeout() => "the read timed out".to_string(),
        Some(r) => {
            let text = describe(r);
            text.strip_prefix("request or response body error: ")
                .or_else(|| text.strip_prefix("error decoding response body: "))
                .unwrap_or(&text)
                .to_string()
        }
        None if e.kind() == io::ErrorKind::TimedOut => "the read timed out".to_string(),
        None => e.to_string(),
    }
}

/// The most specific message in a reqwest error chain.
fn describe(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if e.is_timeout() {
        parts.push("timed out".into());
    }
    parts.join(": ")
}

/// A download's total time budget, from when its first response arrived.
#[derive(Debug, Clone)]
struct Deadline {
    started: Instant,
    limit: Duration,
    size: u64,
    min_rate: u64,
    grace: Duration,
}

impl Deadline {
    fn start(policy: &Policy, size: u64) -> Self {
        Deadline {
            started: Instant::now(),
            limit: policy.deadline(size),
            size,
            min_rate: policy.min_rate,
            grace: policy.grace,
        }
    }

    /// Fails once the budget is spent, saying so (not "timed out": no single read did).
    fn check(&self, got: u64) -> io::Result<()> {
        let elapsed = self.started.elapsed();
        if elapsed <= self.limit {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the download deadline passed after {:.1} s with {got} of {} bytes: a download \
                 may take {} s plus its size at {} bytes/s, {:.1} s here (download_min_rate \
                 and download_grace_seconds in jrt's config.yaml change it)",
                elapsed.as_secs_f64(),
                self.size,
                self.grace.as_secs(),
                self.min_rate,
                self.limit.as_secs_f64(),
            ),
        ))
    }
}

/// A reader under a total deadline ([`Http::timed`]).
pub struct Timed<R> {
    inner: R,
    deadline: Deadline,
    got: u64,
}

impl<R> Timed<R> {
    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: Read> Read for Timed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.deadline.check(self.got)?;
        let n = self.inner.read(buf)?;
        self.got += n as u64;
        if n > 0 {
            self.deadline.check(self.got)?;
        }
        Ok(n)
    }
}

/// A download's body that resumes after a cut connection. Delivers exactly the bytes from
/// `start` on, as one stream, until the server has sent the whole resource: the size the
/// caller declares, or for [`Size::AtMost`] the length the server gives (over the limit is
/// refused before a byte is read; without a length, the body ends where the server ends it,
/// and cannot be resumed).
pub struct Body {
    http: Http,
    url: Url,
    /// Bytes of the resource delivered so far (including the `start` the caller already had).
    offset: u64,
    /// Where this transfer began (what an earlier run had already collected).
    start: u64,
    size: Size,
    /// The resource's whole length, once known.
    total: Option<u64>,
    response: Option<Response>,
    /// Bytes of the current response to discard (the server restarted from 0).
    skip: u64,
    retried: u32,
    /// The whole transfer's budget, resumes and backoff included.
    deadline: Deadline,
    /// Why the transfer gave up; every later read repeats it.
    failed: Option<String>,
    /// Sent with every request (a registry's `Authorization`).
    headers: Vec<(header::HeaderName, String)>,
    /// Every response, for tests and `-v`: (status, range asked for).
    pub requests: Vec<(u16, u64)>,
}

impl Body {
    /// Opens `url`, resuming at `start` when it is not 0, sending `headers` with every
    /// request.
    pub fn open(
        http: &Http,
        url: &Url,
        headers: &[(header::HeaderName, String)],
        start: u64,
        size: Size,
    ) -> Result<Self, HttpError> {
        let total = match size {
            Size::Declared(n) => Some(n),
            Size::AtMost(_) => None,
        };
        let mut body = Body {
            http: http.clone(),
            url: url.clone(),
            offset: start,
            start,
            size,
            total,
            response: None,
            skip: 0,
            retried: 0,
            // The budget covers what is left to fetch, not what an earlier run already got.
            deadline: Deadline::start(http.policy(), size.limit().saturating_sub(start)),
            failed: None,
            headers: headers.to_vec(),
            requests: Vec::new(),
        };
        body.connect()?;
        if let (Size::AtMost(_), Some(total)) = (size, body.total) {
            // Now that the length is known, the budget is the length's.
            body.deadline = Deadline::start(http.policy(), total.saturating_sub(start));
        }
        Ok(body)
    }

    /// The resource's whole length as the response gives it: `Content-Range`'s total for a
    /// 206, `Content-Length` for a 200.
    fn length_of(resp: &Response) -> Option<u64> {
        if resp.status() == StatusCode::PARTIAL_CONTENT {
            let v = resp.headers().get(header::CONTENT_RANGE)?.to_str().ok()?;
            v.rsplit_once('/')?.1.trim().parse().ok()
        } else {
            resp.content_length()
        }
    }

    fn connect(&mut self) -> Result<(), HttpError> {
        let resp = self.http.get(&self.url, Some(self.offset), &self.headers)?;
        self.requests.push((resp.status().as_u16(), self.offset));
        // Line the response up with what was delivered: a 206 from our offset continues
        // it; a 200 (range ignored) or a 206 from earlier restarts, and the bytes already
        // delivered are dropped; a 206 from later than ours leaves a gap and is refused.
        let start = if resp.status() == StatusCode::PARTIAL_CONTENT {
            content_range_start(&resp)
        } else {
            Some(0)
        };
        match start {
            Some(s) if s <= self.offset => self.skip = self.offset - s,
            _ => {
                return Err(HttpError::Refused {
                    url: self.url.to_string(),
                    message: format!(
                        "asked for bytes from {} but the server sent another range",
                        self.offset
                    ),
                });
            }
        }
        if let Size::AtMost(limit) = self.size
            && self.total.is_none()
        {
            self.total = Body::length_of(&resp);
            if let Some(total) = self.total.filter(|&t| t > limit) {
                return Err(HttpError::Refused {
                    url: self.url.to_string(),
                    message: format!("it is {total} bytes, over the {limit}-byte limit"),
                });
            }
        }
        self.response = Some(resp);
        Ok(())
    }

    /// Drops the current connection and reconnects from `offset`, within the retry budget.
    fn reconnect(&mut self, why: String) -> io::Result<()> {
        self.response = None;
        if let Err(e) = self.deadline.check(self.delivered()) {
            return Err(self.give_up(e.to_string()));
        }
        if self.retried + 1 >= self.http.policy.attempts {
            let total = self
                .total
                .map_or_else(|| "an unknown length".to_string(), |t| t.to_string());
            return Err(self.give_up(format!(
                "{why} at byte {} of {total}{}",
                self.offset,
                retries(self.retried)
            )));
        }
        std::thread::sleep(self.http.backoff(self.retried));
        self.retried += 1;
        self.connect().map_err(|e| {
            let message = e.to_string();
            let message = message
                .strip_prefix(&format!("{}: ", self.url))
                .unwrap_or(&message)
                .to_string();
            self.give_up(message)
        })
    }

    /// Bytes this transfer delivered (what an earlier run had is not counted).
    fn delivered(&self) -> u64 {
        self.offset.saturating_sub(self.start)
    }

    fn give_up(&mut self, message: String) -> io::Error {
        self.failed = Some(message.clone());
        io::Error::other(message)
    }
}

fn content_range_start(resp: &Response) -> Option<u64> {
    let v = resp.headers().get(header::CONTENT_RANGE)?.to_str().ok()?;
    let rest = v.strip_prefix("bytes ")?;
    rest.split('-').next()?.trim().parse().ok()
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(why) = &self.failed {
            return Err(io::Error::other(why.clone()));
        }
        loop {
            if self.total.is_some_and(|t| self.offset >= t) {
                // Everything declared has arrived; anything more is the caller's to notice.
                return match self.response.as_mut() {
                    Some(r) => r.read(buf),
                    None => Ok(0),
                };
            }
            if let Err(e) = self.deadline.check(self.delivered()) {
                return Err(self.give_up(e.to_string()));
            }
            let Some(resp) = self.response.as_mut() else {
                self.reconnect("connection lost".into())?;
                continue;
            };
            match resp.read(buf) {
                // Without a length, the server's end is the end (the checksum judges it).
                Ok(0) if self.total.is_none() => return Ok(0),
                Ok(0) => {
                    // The body ended before the declared size: a cut connection, with or
                    // without Content-Length. Resume.
                    self.reconnect("the connection closed early".into())?;
                }
                Ok(n) if self.skip > 0 => {
                    let dropped = (n as u64).min(self.skip);
                    self.skip -= dropped;
                    let kept = n - dropped as usize;
                    if kept > 0 {
                        buf.copy_within(dropped as usize..n, 0);
                        self.offset += kept as u64;
                        return Ok(kept);
                    }
                }
                Ok(n) => {
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.reconnect(describe_io(&e))?,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_to_http_redirects_are_downgrades() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(is_downgrade(&[u("https://a/x")], &u("http://b/y")));
        assert!(is_downgrade(
            &[u("https://a/x"), u("https://b/y")],
            &u("http://c/z")
        ));
        assert!(!is_downgrade(&[u("http://a/x")], &u("http://b/y")));
        assert!(!is_downgrade(&[u("http://a/x")], &u("https://b/y")));
        assert!(!is_downgrade(&[u("https://a/x")], &u("https://b/y")));
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let http = Http::new(Policy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
            ..Policy::default()
        })
        .unwrap();
        for retried in 0..10 {
            let d = http.backoff(retried);
            let cap = Duration::from_millis((100u64 << retried.min(3)).min(800));
            assert!(
                d <= cap && d >= cap / 2,
                "retry {retried}: {d:?} outside [{:?}, {cap:?}]",
                cap / 2
            );
        }
    }
}
