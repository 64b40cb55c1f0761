//! Configuration files: jrt's own `$XDG_CONFIG_HOME/jrt/config.yaml` (or `--config`), and
//! Joblet's `~/.rnx/config.yaml`, whose `runtimes.registries[]` (`name, url, enabled,
//! priority`) jrt reads too. Everything else in Joblet's file is Joblet's business and ignored.
//!
//! jrt's file:
//! ```yaml
//! root: /opt/joblet/runtimes        # optional
//! cache_dir: /var/cache/jrt         # optional
//! registries:
//!   - name: company
//!     url: https://github.com/acme/joblet-runtimes
//!     priority: 10                  # higher is consulted first; ties keep file order
//!     enabled: true
//! allow_insecure_http: false        # plain http to other machines (loopback always may)
//! download_min_rate: 65536          # bytes/s: a download's deadline is its size at this
//! download_grace_seconds: 30        #   rate plus this grace
//! mirrors:                          # plan fetches from elsewhere (also JRT_MIRROR)
//!   - from: https://github.com/indygreg/python-build-standalone/releases/download/
//!     to: /srv/mirror/python-build-standalone/   # or an https:// or file:// URL
//! oci_chunk_size: 67108864          # jrt push: blobs larger go up in chunks of this size
//! oci_mirrors:                      # OCI registry host -> mirrors tried first, in order
//!   ghcr.io:                        #   (as containerd's hosts.toml: a pull-through cache,
//!     - http://127.0.0.1:30020      #   or a P2P agent such as Spegel or Dragonfly)
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One configured registry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RegistryEntry {
    #[serde(default)]
    pub name: String,
    pub url: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub priority: i64,
}

fn yes() -> bool {
    true
}

/// jrt's own settings file.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct JrtConfig {
    pub root: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    #[serde(default)]
    pub registries: Vec<RegistryEntry>,
    /// The minisign public key registries must be signed with (a .pub file or its `RW…` line).
    pub public_key: Option<String>,
    /// Allow plain http to other machines (registries, packages, plan fetches, plugins).
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// The slowest average a download may have, in bytes per second.
    pub download_min_rate: Option<u64>,
    /// Seconds every download gets on top of its size at the minimum rate.
    pub download_grace_seconds: Option<u64>,
    #[serde(default)]
    pub mirrors: Vec<MirrorEntry>,
    /// OCI registry host → mirror base URLs, tried in order before the registry.
    #[serde(default)]
    pub oci_mirrors: std::collections::BTreeMap<String, Vec<String>>,
    /// Blobs larger than this are pushed in chunks of this size (a proxy in front of a
    /// registry may cap request bodies).
    pub oci_chunk_size: Option<u64>,
}

/// One `mirrors` entry: a URL prefix and what replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MirrorEntry {
    pub from: String,
    pub to: String,
}

/// The part of Joblet's `~/.rnx/config.yaml` jrt reads.
#[derive(Debug, Clone, Default, Deserialize)]
struct RnxConfig {
    #[serde(default)]
    runtimes: RnxRuntimes,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RnxRuntimes {
    #[serde(default)]
    registries: Vec<RegistryEntry>,
}

/// A config file that is there but wrong.
#[derive(Debug, thiserror::Error)]
#[error("config file {}: {message}", path.display())]
pub struct ConfigError {
    pub path: PathBuf,
    pub message: String,
}

/// Everything the configuration files say, merged.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub root: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    /// Enabled registries, highest priority first.
    pub registries: Vec<RegistryEntry>,
    /// The minisign public key registries must be signed with.
    pub public_key: Option<String>,
    /// Plain http to other machines is allowed (`allow_insecure_http: true`).
    pub allow_insecure_http: bool,
    /// `download_min_rate` (bytes/s), when set.
    pub download_min_rate: Option<u64>,
    /// `download_grace_seconds`, when set.
    pub download_grace_seconds: Option<u64>,
    /// `mirrors`, checked.
    pub mirrors: Vec<jrt_install::setup::mirror::Mirror>,
    /// `oci_mirrors`, parsed.
    pub oci_mirrors: std::collections::BTreeMap<String, Vec<url::Url>>,
    /// `oci_chunk_size`, when set.
    pub oci_chunk_size: Option<u64>,
    /// The files that were read.
    pub files: Vec<PathBuf>,
}

fn read_yaml<T: for<'de> Deserialize<'de> + Default>(
    path: &Path,
    required: bool,
) -> Result<Option<T>, ConfigError> {
    let err = |message: String| ConfigError {
        path: path.to_path_buf(),
        message,
    };
    match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Some(T::default())),
        Ok(bytes) => serde_norway::from_slice(&bytes)
            .map(Some)
            .map_err(|e| err(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
        Err(e) => Err(err(e.to_string())),
    }
}

/// `$XDG_CONFIG_HOME/jrt/config.yaml`.
pub fn default_jrt_config() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|d| d.join("jrt").join("config.yaml"))
}

/// `~/.rnx/config.yaml`.
pub fn default_rnx_config() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".rnx").join("config.yaml"))
}

/// Loads jrt's file (`explicit` must exist; the default may not) and Joblet's.
pub fn load(explicit: Option<&Path>, rnx: Option<&Path>) -> Result<Config, ConfigError> {
    let mut config = Config::default();
    let mut entries: Vec<RegistryEntry> = Vec::new();
    let jrt_path = explicit.map(Path::to_path_buf).or_else(default_jrt_config);
    if let Some(path) = &jrt_path
        && let Some(jrt) = read_yaml::<JrtConfig>(path, explicit.is_some())?
    {
        config.root = jrt.root;
        config.cache_dir = jrt.cache_dir;
        config.public_key = jrt.public_key;
        config.allow_insecure_http = jrt.allow_insecure_http;
        if jrt.download_min_rate == Some(0) {
            return Err(ConfigError {
                path: path.clone(),
                message: "download_min_rate must be at least 1 (bytes per second)".into(),
            });
        }
        config.download_min_rate = jrt.download_min_rate;
        config.download_grace_seconds = jrt.download_grace_seconds;
        for m in &jrt.mirrors {
            let mirror = jrt_install::setup::mirror::Mirror::new(&m.from, &m.to).map_err(|e| {
                ConfigError {
                    path: path.clone(),
                    message: e.to_string(),
                }
            })?;
            config.mirrors.push(mirror);
        }
        if jrt.oci_chunk_size.is_some_and(|n| n < 1024) {
            return Err(ConfigError {
                path: path.clone(),
                message: "oci_chunk_size must be at least 1024 (bytes)".into(),
            });
        }
        config.oci_chunk_size = jrt.oci_chunk_size;
        for (host, urls) in &jrt.oci_mirrors {
            let parsed = urls
                .iter()
                .map(|u| {
                    url::Url::parse(u)
                        .ok()
                        .filter(|p| matches!(p.scheme(), "http" | "https"))
                        .ok_or_else(|| ConfigError {
                            path: path.clone(),
                            message: format!(
                                "oci_mirrors.{host}: '{}' is not an http(s) URL",
                                jrt_input::display::one_line(u)
                            ),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            config.oci_mirrors.insert(host.to_ascii_lowercase(), parsed);
        }
        entries.extend(jrt.registries);
        config.files.push(path.clone());
    }
    if let Some(path) = rnx
        && let Some(rnx) = read_yaml::<RnxConfig>(path, false)?
    {
        entries.extend(rnx.runtimes.registries);
        config.files.push(path.to_path_buf());
    }
    for (i, e) in entries.iter_mut().enumerate() {
        if e.name.is_empty() {
            e.name = format!("registry-{}", i + 1);
        }
    }
    // Stable: equal priorities keep file order (jrt's file before Joblet's).
    entries.sort_by_key(|e| std::cmp::Reverse(e.priority));
    config.registries = entries.into_iter().filter(|e| e.enabled).collect();
    Ok(config)
}
