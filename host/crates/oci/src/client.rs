//! Talking to one registry host (and the mirrors configured for it) over the distribution
//! API: tags, manifests, blobs, uploads and mounts, each request answered for auth by the
//! challenge flow of [`crate::auth`], with tokens cached per endpoint and scope.
//!
//! Reads (tags, manifests, blobs) try the host's mirrors in order, as containerd does (with
//! `?ns=<host>` so one mirror can serve many registries), and fall back to the registry
//! itself; whatever a mirror serves is verified by digest exactly like the registry's bytes.
//! Writes go to the registry only.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

use reqwest::Method;
use reqwest::blocking::Response;
use reqwest::header::{self, HeaderName};
use url::Url;

use jrt_client::fetch::{FetchError, Opened, Store};
use jrt_client::http::{Http, HttpError, Payload, Request};
use jrt_client::pin::Size;

use crate::auth::{Challenge, Credentials, Keychain};
use crate::model::{self, Descriptor, Digest, Document};
use crate::reference::{Location, LocationError, Reference};

/// The most one page of a tag list may weigh.
const MAX_TAGS_PAGE_BYTES: u64 = 1 << 20;
/// Tags jrt reads of one repository, and pages it follows to get them.
pub const MAX_TAGS: usize = 10_000;
const MAX_TAG_PAGES: usize = 100;
/// The most of an error body jrt reads to explain a failure.
const MAX_ERROR_BYTES: u64 = 64 << 10;

/// What went wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error(transparent)]
    Location(#[from] LocationError),
    #[error(transparent)]
    Http(HttpError),
    #[error("{url}: HTTP {status}{}", in_parens(.detail))]
    Status {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("{url}: the registry asks for credentials: {message}")]
    Auth { url: String, message: String },
    #[error("{url}: larger than the {cap} bytes jrt accepts")]
    TooLarge { url: String, cap: u64 },
    #[error("{url}: the content's digest is {actual}, not the {expected} it was asked for")]
    Digest {
        url: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{url}: {message}")]
    Invalid { url: String, message: String },
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
}

fn in_parens(d: &str) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!(" ({d})")
    }
}

/// Where requests for a host go: a mirror (named by the host it mirrors) or the registry.
#[derive(Debug, Clone)]
struct Endpoint {
    base: Url,
    /// For a mirror: the registry host it stands in for (sent as `?ns=`).
    mirror_of: Option<String>,
}

impl Endpoint {
    fn url(&self, path: &str) -> Result<Url, OciError> {
        let mut url = self.base.join(path).map_err(|e| OciError::Invalid {
            url: self.base.to_string(),
            message: format!("cannot make a URL of {path}: {e}"),
        })?;
        if let Some(ns) = &self.mirror_of {
            url.query_pairs_mut().append_pair("ns", ns);
        }
        Ok(url)
    }

    fn host(&self) -> String {
        match (self.base.host_str(), self.base.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => String::new(),
        }
    }
}

/// The distribution client.
pub struct Client {
    http: Http,
    /// For mirrors: one retry, not the registry's five, so a node whose mirror is down
    /// falls back to the registry in a moment (a cut blob is still resumed once).
    mirror_http: Http,
    keychain: Keychain,
    /// Mirror base URLs by registry host, tried in order before the host itself.
    mirrors: BTreeMap<String, Vec<Url>>,
    /// `Authorization` values by (endpoint, scopes); `None` when the endpoint wants none.
    tokens: Mutex<HashMap<(String, String), Option<String>>>,
    /// Blobs larger than this go up in chunks of this size (PATCH); others in one PUT.
    pub chunk_size: u64,
}

// Tokens are secrets: never in a debug print.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("mirrors", &self.mirrors)
            .field("chunk_size", &self.chunk_size)
            .finish_non_exhaustive()
    }
}

/// The result of asking a registry to mount a blob from another repository.
pub enum Mount {
    /// The blob is now in the repository.
    Mounted,
    /// The registry did not mount it and opened an upload instead, at this URL.
    Upload(Url),
}

/// A manifest or index as a registry served it, verified.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub document: Document,
    pub media_type: String,
}

impl Client {
    /// A client over `http` with Docker's credentials and `mirrors` (registry host → mirror
    /// base URLs, as containerd's `hosts.toml` lists them).
    pub fn new(http: Http, keychain: Keychain, mirrors: BTreeMap<String, Vec<Url>>) -> Client {
        let mirror_http = Http::new(jrt_client::http::Policy {
            attempts: 2,
            ..*http.policy()
        })
        .unwrap_or_else(|_| http.clone());
        Client {
            http,
            mirror_http,
            keychain,
            mirrors: mirrors
                .into_iter()
                .map(|(h, urls)| (h.to_ascii_lowercase(), urls))
                .collect(),
            tokens: Mutex::new(HashMap::new()),
            chunk_size: 64 << 20,
        }
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    fn registry(loc: &Location) -> Endpoint {
        Endpoint {
            base: loc.registry_url(),
            mirror_of: None,
        }
    }

    /// Where reads go, in order: the mirrors, then the registry.
    fn readers(&self, loc: &Location) -> Vec<Endpoint> {
        let mut out: Vec<Endpoint> = self
            .mirrors
            .get(&loc.host)
            .into_iter()
            .flatten()
            .map(|m| {
                let mut base = m.clone();
                if !base.path().ends_with('/') {
                    base.set_path(&format!("{}/", base.path()));
                }
                Endpoint {
                    base,
                    mirror_of: Some(loc.host.clone()),
                }
            })
            .collect();
        out.push(Client::registry(loc));
        out
    }

    /// Runs `read` against each reader in turn: a mirror that fails, for whatever reason,
    /// gives way to the next (its bytes were verified, so a wrong answer is a failure too);
    /// the registry's own answer is final.
    fn read<T>(
        &self,
        loc: &Location,
        mut read: impl FnMut(&Endpoint) -> Result<T, OciError>,
    ) -> Result<T, OciError> {
        let endpoints = self.readers(loc);
        let last = endpoints.len() - 1;
        for (i, ep) in endpoints.iter().enumerate() {
            match read(ep) {
                Err(_) if i < last => continue,
                other => return other,
            }
        }
        unreachable_read()
    }

    /// The cached `Authorization` for an endpoint and scopes.
    fn cached(&self, ep: &Endpoint, scopes: &[String]) -> Option<Option<String>> {
        let key = (ep.base.to_string(), scopes.join(" "));
        self.tokens.lock().ok()?.get(&key).cloned()
    }

    fn remember(&self, ep: &Endpoint, scopes: &[String], value: Option<String>) {
        let key = (ep.base.to_string(), scopes.join(" "));
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(key, value);
        }
    }

    /// Sends `req` with the endpoint's cached credentials for `scopes`; a 401 is answered
    /// once by its challenge, and the request sent again.
    fn http_for(&self, ep: &Endpoint) -> &Http {
        if ep.mirror_of.is_some() {
            &self.mirror_http
        } else {
            &self.http
        }
    }

    fn send(&self, ep: &Endpoint, req: Request, scopes: &[String]) -> Result<Response, OciError> {
        let with = |value: &Option<String>| {
            let mut r = req.clone();
            if let Some(v) = value {
                r.headers.push((header::AUTHORIZATION, v.clone()));
            }
            r
        };
        let cached = self.cached(ep, scopes);
        let first = with(&cached.clone().flatten());
        let http = self.http_for(ep);
        let (resp, _) = http.send(&first).map_err(OciError::Http)?;
        if resp.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let value = self.answer(ep, &resp, scopes)?;
        self.remember(ep, scopes, Some(value.clone()));
        let (resp, _) = http.send(&with(&Some(value))).map_err(OciError::Http)?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(OciError::Auth {
                url: req.url.to_string(),
                message: format!(
                    "it refused the credentials jrt sent for {}{}",
                    scopes.join(" "),
                    in_parens(&error_detail(resp))
                ),
            });
        }
        Ok(resp)
    }

    /// The `Authorization` value that answers a 401's challenge.
    fn answer(
        &self,
        ep: &Endpoint,
        resp: &Response,
        scopes: &[String],
    ) -> Result<String, OciError> {
        let url = resp.url().to_string();
        let auth_err = |message: String| OciError::Auth {
            url: url.clone(),
            message,
        };
        let host = ep.host();
        let creds = self.keychain.get(&host);
        let missing = || {
            let mut m = format!("there are no credentials for {host} in Docker's config.json");
            if let Some(note) = self.keychain.helper_note(&host) {
                m = format!("{m}: {note}");
            }
            m
        };
        let challenge = resp
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(Challenge::parse)
            .ok_or_else(|| {
                auth_err("its 401 has no Bearer or Basic challenge jrt can answer".into())
            })?;
        match challenge {
            Challenge::Basic => match creds {
                Some(Credentials::Basic { user, password }) => {
                    Ok(Credentials::basic_header(user, password))
                }
                Some(Credentials::Registry(t)) => Ok(format!("Bearer {t}")),
                _ => Err(auth_err(missing())),
            },
            Challenge::Bearer { realm, service, .. } => {
                if let Some(Credentials::Registry(t)) = creds {
                    return Ok(format!("Bearer {t}"));
                }
                let realm_url = Url::parse(&realm).map_err(|e| {
                    auth_err(format!(
                        "its token realm '{}' is not a URL: {e}",
                        jrt_input::display::one_line(&realm)
                    ))
                })?;
                let token = self.token(&realm_url, service.as_deref(), scopes, creds)?;
                Ok(format!("Bearer {token}"))
            }
        }
    }

    /// A token for `scopes` from the realm: anonymous, with basic credentials, or by the
    /// OAuth2 refresh-token grant.
    fn token(
        &self,
        realm: &Url,
        service: Option<&str>,
        scopes: &[String],
        creds: Option<&Credentials>,
    ) -> Result<String, OciError> {
        let mut req = match creds {
            Some(Credentials::Identity(refresh)) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                form.append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", refresh)
                    .append_pair("client_id", "jrt");
                if let Some(s) = service {
                    form.append_pair("service", s);
                }
                for s in scopes {
                    form.append_pair("scope", s);
                }
                Request::new(Method::POST, realm.clone())
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Payload::Bytes(form.finish().into_bytes()))
            }
            _ => {
                let mut url = realm.clone();
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(s) = service {
                        q.append_pair("service", s);
                    }
                    for s in scopes {
                        q.append_pair("scope", s);
                    }
                }
                Request::get(url)
            }
        };
        if let Some(Credentials::Basic { user, password }) = creds {
            req = req.header(
                header::AUTHORIZATION,
                Credentials::basic_header(user, password),
            );
        }
        let shown = realm.to_string();
        let (resp, _) = self.http.send(&req).map_err(OciError::Http)?;
        if !resp.status().is_success() {
            return Err(OciError::Auth {
                url: shown,
                message: format!(
                    "the token service answered HTTP {} for {}{}",
                    resp.status().as_u16(),
                    scopes.join(" "),
                    in_parens(&error_detail(resp))
                ),
            });
        }
        let bytes = read_capped(&self.http, resp, 1 << 20)?;
        crate::auth::token_of_response(&bytes).map_err(|message| OciError::Auth {
            url: shown,
            message,
        })
    }

    /// Every tag of `repo`, following the registry's `Link` pages; `None` when the registry
    /// does not know the repository.
    pub fn tags(&self, repo: &Location) -> Result<Option<Vec<String>>, OciError> {
        let scopes = pull(repo);
        self.read(repo, |ep| {
            let mut url = ep.url(&format!("v2/{}/tags/list", repo.repository))?;
            url.query_pairs_mut().append_pair("n", "1000");
            let mut tags = Vec::new();
            for _ in 0..MAX_TAG_PAGES {
                let resp = self.send(ep, Request::get(url.clone()), &scopes)?;
                if resp.status() == reqwest::StatusCode::NOT_FOUND {
                    return not_found(ep, resp);
                }
                let resp = success(resp)?;
                let next = next_link(&resp, &url)?;
                #[derive(serde::Deserialize)]
                struct Page {
                    #[serde(default)]
                    tags: Option<Vec<String>>,
                }
                let shown = url.to_string();
                let bytes = read_capped(&self.http, resp, MAX_TAGS_PAGE_BYTES)?;
                let page: Page = serde_json::from_slice(&bytes).map_err(|e| OciError::Invalid {
                    url: shown.clone(),
                    message: format!("not a tag list: {e}"),
                })?;
                tags.extend(page.tags.unwrap_or_default());
                if tags.len() > MAX_TAGS {
                    return Err(OciError::Invalid {
                        url: shown,
                        message: format!("more than {MAX_TAGS} tags"),
                    });
                }
                match next {
                    Some(n) => url = n,
                    None => return Ok(Some(tags)),
                }
            }
            Err(OciError::Invalid {
                url: url.to_string(),
                message: format!("the tag list goes on for more than {MAX_TAG_PAGES} pages"),
            })
        })
    }

    /// The manifest or index at `loc`'s reference, verified (by digest when the reference
    /// is one); `None` when the registry has no such tag or digest.
    pub fn manifest(&self, loc: &Location) -> Result<Option<Fetched>, OciError> {
        let reference = loc.reference.clone().ok_or_else(|| OciError::Invalid {
            url: loc.to_string(),
            message: "no tag or digest to read".into(),
        })?;
        let scopes = pull(loc);
        self.read(loc, |ep| {
            let url = ep.url(&format!("v2/{}/manifests/{reference}", loc.repository))?;
            let accept = [
                model::INDEX_TYPE,
                model::MANIFEST_TYPE,
                model::DOCKER_LIST_TYPE,
            ]
            .join(", ");
            let req = Request::get(url.clone()).header(header::ACCEPT, accept);
            let resp = self.send(ep, req, &scopes)?;
            if resp.status() == reqwest::StatusCode::NOT_FOUND {
                return not_found(ep, resp);
            }
            let resp = success(resp)?;
            let media_type = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let bytes = read_capped(&self.http, resp, model::MAX_MANIFEST_BYTES)?;
            let digest = Digest::of(&bytes);
            if let Reference::Digest(expected) = &reference
                && *expected != digest
            {
                return Err(OciError::Digest {
                    url: url.to_string(),
                    expected: expected.clone(),
                    actual: digest,
                });
            }
            let document =
                Document::parse(&bytes, Some(&media_type)).map_err(|e| OciError::Invalid {
                    url: url.to_string(),
                    message: e.to_string(),
                })?;
            Ok(Some(Fetched {
                bytes,
                digest,
                document,
                media_type,
            }))
        })
    }

    /// Opens the blob `desc` of `repo` for a verified read through `store` (the cache entry
    /// when there is one; else a mirror that has it, or the registry, resumable with
    /// `Range`). The caller verifies it with [`Opened::verified`] against `desc`.
    pub fn open_blob(
        &self,
        store: &Store,
        repo: &Location,
        desc: &Descriptor,
        offline: bool,
    ) -> Result<(Opened, Url), OciError> {
        let checksum = &desc.digest.0;
        let size = Size::Declared(desc.size);
        let path = format!("v2/{}/blobs/{}", repo.repository, desc.digest);
        let cached = std::fs::symlink_metadata(store.path(checksum)).is_ok_and(|m| m.is_file());
        if cached || offline {
            let url = Client::registry(repo).url(&path)?;
            let opened = jrt_client::fetch::open(store, None, &url, checksum, size, offline)?;
            return Ok((opened, url));
        }
        let scopes = pull(repo);
        self.read(repo, |ep| {
            let url = ep.url(&path)?;
            // A HEAD first: it earns the token for the download (whose requests must carry
            // it from the first), and shows whether a mirror has the blob at all.
            let resp = self.send(ep, Request::new(Method::HEAD, url.clone()), &scopes)?;
            success(resp)?;
            let auth: Vec<(HeaderName, String)> = self
                .cached(ep, &scopes)
                .flatten()
                .map(|v| vec![(header::AUTHORIZATION, v)])
                .unwrap_or_default();
            let opened = jrt_client::fetch::open_with(
                store,
                Some(self.http_for(ep)),
                &url,
                &auth,
                checksum,
                size,
                false,
            )?;
            Ok((opened, url))
        })
    }

    /// A small blob (a config) read whole, at most `cap` bytes, verified by its digest.
    pub fn blob_bytes(
        &self,
        repo: &Location,
        desc: &Descriptor,
        cap: u64,
    ) -> Result<Vec<u8>, OciError> {
        if desc.size > cap {
            return Err(OciError::TooLarge {
                url: format!("{}@{}", repo, desc.digest),
                cap,
            });
        }
        let scopes = pull(repo);
        self.read(repo, |ep| {
            let url = ep.url(&format!("v2/{}/blobs/{}", repo.repository, desc.digest))?;
            let resp = success(self.send(ep, Request::get(url.clone()), &scopes)?)?;
            let bytes = read_capped(&self.http, resp, cap)?;
            let digest = Digest::of(&bytes);
            if digest != desc.digest {
                return Err(OciError::Digest {
                    url: url.to_string(),
                    expected: desc.digest.clone(),
                    actual: digest,
                });
            }
            Ok(bytes)
        })
    }

    /// Whether `repo` has the blob.
    pub fn has_blob(&self, repo: &Location, digest: &Digest) -> Result<bool, OciError> {
        let ep = Client::registry(repo);
        let url = ep.url(&format!("v2/{}/blobs/{digest}", repo.repository))?;
        let resp = self.send(&ep, Request::new(Method::HEAD, url), &push(repo, &[]))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(false);
        }
        success(resp).map(|_| true)
    }

    /// Asks the registry to mount `digest` from the repository `from` of the same registry
    /// (so shared layers are never uploaded twice).
    pub fn mount(&self, repo: &Location, digest: &Digest, from: &str) -> Result<Mount, OciError> {
        let ep = Client::registry(repo);
        let mut url = ep.url(&format!("v2/{}/blobs/uploads/", repo.repository))?;
        url.query_pairs_mut()
            .append_pair("mount", &digest.to_string())
            .append_pair("from", from);
        let resp = self.send(&ep, Request::new(Method::POST, url), &push(repo, &[from]))?;
        if resp.status() == reqwest::StatusCode::CREATED {
            return Ok(Mount::Mounted);
        }
        let resp = success(resp)?;
        Ok(Mount::Upload(location(&ep, &resp)?))
    }

    /// Uploads `size` bytes of the file at `path` as the blob `digest`: in one PUT when it is
    /// at most [`Client::chunk_size`], else in PATCHed chunks and a closing PUT. `session` is
    /// an upload the registry already opened (by a mount it declined).
    pub fn upload(
        &self,
        repo: &Location,
        path: &Path,
        digest: &Digest,
        size: u64,
        session: Option<Url>,
    ) -> Result<(), OciError> {
        let ep = Client::registry(repo);
        let scopes = push(repo, &[]);
        let mut at = match session {
            Some(u) => u,
            None => {
                let url = ep.url(&format!("v2/{}/blobs/uploads/", repo.repository))?;
                let resp = self.send(&ep, Request::new(Method::POST, url), &scopes)?;
                location(&ep, &success(resp)?)?
            }
        };
        let octets = (header::CONTENT_TYPE, "application/octet-stream".to_string());
        let mut offset = 0;
        if size > self.chunk_size {
            while offset < size {
                let len = self.chunk_size.min(size - offset);
                let req = Request::new(Method::PATCH, at.clone())
                    .headers(vec![
                        octets.clone(),
                        (
                            header::CONTENT_RANGE,
                            format!("{offset}-{}", offset + len - 1),
                        ),
                    ])
                    .body(Payload::File {
                        path: path.to_path_buf(),
                        offset,
                        len,
                    });
                let resp = success(self.send(&ep, req, &scopes)?)?;
                at = location(&ep, &resp)?;
                offset += len;
            }
        }
        at.query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        let body = if offset < size {
            Payload::File {
                path: path.to_path_buf(),
                offset,
                len: size - offset,
            }
        } else {
            Payload::Bytes(Vec::new())
        };
        let req = Request::new(Method::PUT, at)
            .headers(vec![octets])
            .body(body);
        success(self.send(&ep, req, &scopes)?)?;
        Ok(())
    }

    /// Uploads a small blob held in memory (a config).
    pub fn upload_bytes(&self, repo: &Location, bytes: &[u8]) -> Result<Digest, OciError> {
        let digest = Digest::of(bytes);
        if self.has_blob(repo, &digest)? {
            return Ok(digest);
        }
        let ep = Client::registry(repo);
        let scopes = push(repo, &[]);
        let url = ep.url(&format!("v2/{}/blobs/uploads/", repo.repository))?;
        let resp = self.send(&ep, Request::new(Method::POST, url), &scopes)?;
        let mut at = location(&ep, &success(resp)?)?;
        at.query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        let req = Request::new(Method::PUT, at)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Payload::Bytes(bytes.to_vec()));
        success(self.send(&ep, req, &scopes)?)?;
        Ok(digest)
    }

    /// Puts a manifest or index at `reference` (a tag, or its own digest).
    pub fn put_manifest(
        &self,
        repo: &Location,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest, OciError> {
        let ep = Client::registry(repo);
        let url = ep.url(&format!("v2/{}/manifests/{reference}", repo.repository))?;
        let req = Request::new(Method::PUT, url.clone())
            .header(header::CONTENT_TYPE, media_type)
            .body(Payload::Bytes(bytes.to_vec()));
        let resp = success(self.send(&ep, req, &push(repo, &[]))?)?;
        let digest = Digest::of(bytes);
        let said = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Digest::parse(v).ok());
        if let Some(said) = said
            && said != digest
        {
            return Err(OciError::Digest {
                url: url.to_string(),
                expected: digest,
                actual: said,
            });
        }
        Ok(digest)
    }
}

fn unreachable_read<T>() -> Result<T, OciError> {
    // `readers` always ends with the registry, whose answer is returned.
    Err(OciError::Invalid {
        url: String::new(),
        message: "no endpoint to read from".into(),
    })
}

/// A 404: the registry's word that there is no such thing; a mirror's only that it does not
/// have it, so the next endpoint is asked.
fn not_found<T>(ep: &Endpoint, resp: Response) -> Result<Option<T>, OciError> {
    if ep.mirror_of.is_some() {
        return success(resp).map(|_| None);
    }
    Ok(None)
}

fn pull(repo: &Location) -> Vec<String> {
    vec![format!("repository:{}:pull", repo.repository)]
}

fn push(repo: &Location, from: &[&str]) -> Vec<String> {
    let mut scopes = vec![format!("repository:{}:pull,push", repo.repository)];
    scopes.extend(from.iter().map(|f| format!("repository:{f}:pull")));
    scopes
}

/// A success, or the status and the registry's own explanation.
fn success(resp: Response) -> Result<Response, OciError> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    Err(OciError::Status {
        url: resp.url().to_string(),
        status: resp.status().as_u16(),
        detail: error_detail(resp),
    })
}

/// The distribution spec's error body (`{"errors":[{"code","message"}]}`) in one line.
fn error_detail(resp: Response) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let mut bytes = Vec::new();
    let _ = resp.take(MAX_ERROR_BYTES).read_to_end(&mut bytes);
    let Ok(body) = serde_json::from_slice::<Body>(&bytes) else {
        return String::new();
    };
    let text = body
        .errors
        .iter()
        .take(3)
        .map(|e| format!("{}: {}", e.code, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    jrt_input::display::one_line(&text)
        .chars()
        .take(300)
        .collect()
}

/// Reads a response of at most `cap` bytes, under the download deadline.
fn read_capped(http: &Http, resp: Response, cap: u64) -> Result<Vec<u8>, OciError> {
    let url = resp.url().to_string();
    if resp.content_length().is_some_and(|n| n > cap) {
        return Err(OciError::TooLarge { url, cap });
    }
    let mut bytes = Vec::new();
    http.timed(resp, cap)
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| OciError::Invalid {
            url: url.clone(),
            message: format!("reading it failed: {e}"),
        })?;
    if bytes.len() as u64 > cap {
        return Err(OciError::TooLarge { url, cap });
    }
    Ok(bytes)
}

/// An upload's `Location`, which may be relative to the endpoint.
fn location(ep: &Endpoint, resp: &Response) -> Result<Url, OciError> {
    let value = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| OciError::Invalid {
            url: resp.url().to_string(),
            message: "the registry opened an upload without saying where (no Location)".into(),
        })?;
    let url = resp.url().join(value).map_err(|e| OciError::Invalid {
        url: resp.url().to_string(),
        message: format!("its upload Location is not a URL: {e}"),
    })?;
    same_origin(ep, &url, resp.url())?;
    Ok(url)
}

/// The next page of a list, from RFC 5988 `Link: <url>; rel="next"`.
fn next_link(resp: &Response, current: &Url) -> Result<Option<Url>, OciError> {
    let Some(link) = resp
        .headers()
        .get(header::LINK)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    for part in link.split(',') {
        let (target, params) = part.split_once(';').unwrap_or((part, ""));
        if !params.replace(' ', "").contains("rel=\"next\"") {
            continue;
        }
        let target = target.trim().trim_start_matches('<').trim_end_matches('>');
        let url = current.join(target).map_err(|e| OciError::Invalid {
            url: current.to_string(),
            message: format!("its next-page link is not a URL: {e}"),
        })?;
        if url.origin() != current.origin() {
            return Err(OciError::Invalid {
                url: current.to_string(),
                message: "its next-page link leaves the registry".into(),
            });
        }
        return Ok(Some(url));
    }
    Ok(None)
}

/// Uploads stay on the registry that opened them: credentials go with every request.
fn same_origin(ep: &Endpoint, url: &Url, from: &Url) -> Result<(), OciError> {
    if url.origin() == ep.base.origin() || url.origin() == from.origin() {
        return Ok(());
    }
    Err(OciError::Invalid {
        url: from.to_string(),
        message: format!("its upload Location {url} leaves the registry"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_come_first_and_carry_the_namespace() {
        let http = Http::new(jrt_client::http::Policy::default()).unwrap();
        let mirrors = BTreeMap::from([(
            "ghcr.io".to_string(),
            vec![Url::parse("http://127.0.0.1:30020").unwrap()],
        )]);
        let client = Client::new(http, Keychain::default(), mirrors);
        let loc = Location::parse("oci://ghcr.io/joblet/python-3.11").unwrap();
        let eps = client.readers(&loc);
        assert_eq!(eps.len(), 2);
        assert_eq!(
            eps[0]
                .url("v2/joblet/python-3.11/tags/list")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:30020/v2/joblet/python-3.11/tags/list?ns=ghcr.io"
        );
        assert_eq!(
            eps[1].url("v2/x/tags/list").unwrap().as_str(),
            "https://ghcr.io/v2/x/tags/list"
        );
    }
}
