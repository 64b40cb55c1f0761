//! Registry auth as Docker and containerd do it: a request without credentials earns a 401
//! whose `WWW-Authenticate` challenge says how to authenticate; `Bearer` means "get a token
//! for this scope from this realm" (anonymously, or with the user's credentials), `Basic`
//! means "send the credentials". Credentials come from Docker's `config.json` (`auths`:
//! `auth` as base64 `user:password`, `identitytoken` for the OAuth2 refresh flow,
//! `registrytoken` sent as a bearer token as it is). Credential helpers are programs; jrt
//! does not run them, and says so when a registry asks for credentials only a helper has.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The most a Docker config or a token response may weigh.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// What the user has for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Basic {
        user: String,
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`), exchanged at the realm for access tokens.
    Identity(String),
    /// A bearer token to send as it is (`registrytoken`).
    Registry(String),
}

// Never print secrets, not even in a debug log.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { user, .. } => write!(f, "Basic({user}, ***)"),
            Credentials::Identity(_) => f.write_str("Identity(***)"),
            Credentials::Registry(_) => f.write_str("Registry(***)"),
        }
    }
}

impl Credentials {
    /// The `Authorization` value for basic auth.
    pub fn basic_header(user: &str, password: &str) -> String {
        use ct_codecs::{Base64, Encoder};
        let raw = format!("{user}:{password}");
        let encoded = Base64::encode_to_string(raw.as_bytes()).unwrap_or_default();
        format!("Basic {encoded}")
    }
}

/// A Docker config that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

/// The credentials of Docker's config, by registry host.
#[derive(Debug, Clone, Default)]
pub struct Keychain {
    by_host: BTreeMap<String, Credentials>,
    /// Hosts whose credentials live in a helper jrt does not run, and the helper's name.
    helpers: BTreeMap<String, String>,
    /// The store every host's credentials live in, when the config names one.
    store: Option<String>,
}

impl Keychain {
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; none is an empty keychain.
    pub fn from_environment() -> Result<Keychain, ConfigError> {
        let dir = match std::env::var_os("DOCKER_CONFIG") {
            Some(d) => PathBuf::from(d),
            None => match std::env::var_os("HOME") {
                Some(h) => PathBuf::from(h).join(".docker"),
                None => return Ok(Keychain::default()),
            },
        };
        Keychain::read(&dir.join("config.json"))
    }

    /// Reads a Docker `config.json`; a missing file is an empty keychain.
    pub fn read(path: &Path) -> Result<Keychain, ConfigError> {
        let bytes = match jrt_fs::read_no_follow(path, MAX_CONFIG_BYTES) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Keychain::default()),
            Err(e) => return Err(jrt_fs::io("cannot read", path)(e).into()),
        };
        Keychain::parse(&bytes).map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    fn parse(bytes: &[u8]) -> Result<Keychain, String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Config {
            #[serde(default)]
            auths: BTreeMap<String, Entry>,
            #[serde(default)]
            cred_helpers: BTreeMap<String, String>,
            #[serde(default)]
            creds_store: Option<String>,
        }
        #[derive(Deserialize)]
        struct Entry {
            auth: Option<String>,
            username: Option<String>,
            password: Option<String>,
            identitytoken: Option<String>,
            registrytoken: Option<String>,
        }
        jrt_input::caps::json_depth(bytes).map_err(|e| e.to_string())?;
        let config: Config = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let mut by_host = BTreeMap::new();
        for (key, entry) in config.auths {
            let host = host_of_key(&key);
            let creds = if let Some(token) = entry.registrytoken.filter(|t| !t.is_empty()) {
                Credentials::Registry(token)
            } else if let Some(token) = entry.identitytoken.filter(|t| !t.is_empty()) {
                Credentials::Identity(token)
            } else if let Some(auth) = entry.auth.filter(|a| !a.is_empty()) {
                use ct_codecs::{Base64, Decoder};
                let decoded = Base64::decode_to_vec(auth.trim(), None)
                    .map_err(|_| format!("auths.{key}.auth is not base64"))?;
                let text = String::from_utf8(decoded)
                    .map_err(|_| format!("auths.{key}.auth is not UTF-8"))?;
                let (user, password) = text
                    .split_once(':')
                    .ok_or_else(|| format!("auths.{key}.auth is not user:password"))?;
                Credentials::Basic {
                    user: user.to_string(),
                    password: password.to_string(),
                }
            } else if let (Some(user), Some(password)) = (entry.username, entry.password) {
                Credentials::Basic { user, password }
            } else {
                continue;
            };
            by_host.insert(host, creds);
        }
        Ok(Keychain {
            by_host,
            helpers: config
                .cred_helpers
                .into_iter()
                .map(|(k, v)| (host_of_key(&k), v))
                .collect(),
            store: config.creds_store.filter(|s| !s.is_empty()),
        })
    }

    /// A keychain with one entry (tests, and `--username`-style callers).
    pub fn with(host: &str, credentials: Credentials) -> Keychain {
        let mut k = Keychain::default();
        k.by_host.insert(host.to_ascii_lowercase(), credentials);
        k
    }

    pub fn get(&self, host: &str) -> Option<&Credentials> {
        self.by_host.get(&host.to_ascii_lowercase())
    }

    /// Why no credentials are found for `host` when the config points at a helper.
    pub fn helper_note(&self, host: &str) -> Option<String> {
        let helper = self
            .helpers
            .get(&host.to_ascii_lowercase())
            .or(self.store.as_ref())?;
        Some(format!(
            "Docker's config keeps its credentials in the helper docker-credential-{helper}, \
             which jrt does not run; add an `auths` entry (for example with `docker login` \
             and a config without credsStore)"
        ))
    }
}

/// Docker's keys are hosts, or URLs such as `https://index.docker.io/v1/`.
fn host_of_key(key: &str) -> String {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or(rest).to_ascii_lowercase()
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Bearer {
        realm: String,
        service: Option<String>,
        /// The scope the registry asked for, when it said.
        scope: Option<String>,
    },
    Basic,
}

impl Challenge {
    /// Parses the first challenge jrt can answer.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = auth_params(params);
        Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
        })
    }
}

/// `key="quoted, value",key2=token` as RFC 7235 writes auth-params.
fn auth_params(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        if key.is_empty() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                value.push(*c);
                chars.next();
            }
            value = value.trim().to_string();
        }
        out.insert(key, value);
    }
}

/// A token endpoint's answer: Docker's `token`, or OAuth2's `access_token`.
pub fn token_of_response(bytes: &[u8]) -> Result<String, String> {
    #[derive(Deserialize)]
    struct Answer {
        token: Option<String>,
        access_token: Option<String>,
    }
    jrt_input::caps::size(bytes, MAX_CONFIG_BYTES)
        .and_then(|()| jrt_input::caps::json_depth(bytes))
        .map_err(|e| e.to_string())?;
    let answer: Answer = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    answer
        .token
        .or(answer.access_token)
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| "the answer holds no usable token".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_of_ghcr_docker_hub_and_basic_parse() {
        let c = Challenge::parse(
            r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:joblet/python-3.11:pull""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into()),
                scope: Some("repository:joblet/python-3.11:pull".into()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="basic-realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Negotiate"), None);
        assert_eq!(Challenge::parse("Bearer service=x"), None, "no realm");
    }

    #[test]
    fn docker_config_entries_of_each_kind_are_read() {
        let json = br#"{
            "auths": {
                "https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"},
                "ghcr.io": {"identitytoken": "refresh"},
                "127.0.0.1:5000": {"registrytoken": "tok"},
                "empty.example": {}
            },
            "credHelpers": {"gcr.io": "gcloud"}
        }"#;
        let k = Keychain::parse(json).unwrap();
        assert_eq!(
            k.get("index.docker.io"),
            Some(&Credentials::Basic {
                user: "user".into(),
                password: "pass".into()
            })
        );
        assert_eq!(
            k.get("ghcr.io"),
            Some(&Credentials::Identity("refresh".into()))
        );
        assert_eq!(
            k.get("127.0.0.1:5000"),
            Some(&Credentials::Registry("tok".into()))
        );
        assert_eq!(k.get("empty.example"), None);
        assert!(
            k.helper_note("gcr.io")
                .unwrap()
                .contains("docker-credential-gcloud")
        );
        assert!(Keychain::parse(br#"{"auths":{"x":{"auth":"%%%"}}}"#).is_err());
        assert_eq!(
            format!("{:?}", k.get("index.docker.io").unwrap()),
            "Basic(user, ***)"
        );
    }

    #[test]
    fn token_answers_of_both_shapes_are_read() {
        assert_eq!(token_of_response(br#"{"token":"a"}"#).unwrap(), "a");
        assert_eq!(token_of_response(br#"{"access_token":"b"}"#).unwrap(), "b");
        assert!(token_of_response(br#"{"token":"bad\nvalue"}"#).is_err());
        assert!(token_of_response(br#"{}"#).is_err());
    }
}
