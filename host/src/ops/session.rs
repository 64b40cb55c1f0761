//! A command's settings, resolved once: the global options a user gave, merged with jrt's
//! and Joblet's config files and the defaults (SPEC §2), into the root, the cache, the
//! registries to read, the HTTP policy and the mirrors every command works with.
//!
//! Building a session also refuses, when running as root, a root or cache that others could
//! write, before anything is read from or written to them.

use std::path::{Path, PathBuf};

use jrt_client::http::{Http, Policy};
use jrt_fs::cache::Cache;
use jrt_install::setup::mirror::Mirror;
use jrt_install::{Installer, Layout};
use jrt_plugin_host::{HostOptions, LogLevel};
use jrt_registry::source::{Registry, Trust};

use super::{Context, Error};

/// What the user said, before the config files and defaults are applied: the global options.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub root: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    /// `--registry` (and `JRT_REGISTRY`), highest priority first.
    pub registries: Vec<String>,
    /// `--config`; jrt's default file otherwise.
    pub config: Option<PathBuf>,
    pub offline: bool,
    pub public_key: Option<String>,
    pub allow_insecure_http: bool,
    /// How much plugins may log.
    pub log_level: Option<LogLevel>,
    /// `JRT_MIRROR`: `PREFIX=REPLACEMENT[,...]`, winning over config.yaml's on a tie.
    pub mirror_env: Option<String>,
}

/// Settings resolved: what every command works with.
pub struct Session {
    pub root: PathBuf,
    pub layout: Layout,
    pub cache: Option<Cache>,
    pub offline: bool,
    pub http_policy: Policy,
    /// For plan fetches: config.yaml's, then `JRT_MIRROR`'s.
    pub mirrors: Vec<Mirror>,
    /// Mirrors of OCI registries by host: config.yaml's `oci_mirrors`.
    pub oci_mirrors: std::collections::BTreeMap<String, Vec<url::Url>>,
    /// config.yaml's `oci_chunk_size`.
    pub oci_chunk_size: Option<u64>,
    pub public_key: Option<String>,
    /// (name, source) of the registries to read, highest priority first.
    pub registries: Vec<(String, String)>,
    log_level: LogLevel,
}

fn absolute(path: PathBuf) -> Result<PathBuf, Error> {
    std::path::absolute(&path).map_err(|e| Error::Io(jrt_fs::io("cannot make absolute", &path)(e)))
}

impl Session {
    /// Reads the config files and resolves `settings` against them and the defaults.
    pub fn new(settings: Settings) -> Result<Session, Error> {
        let config = crate::config::load(
            settings.config.as_deref(),
            crate::config::default_rnx_config().as_deref(),
        )?;
        let root = settings
            .root
            .or_else(|| config.root.clone())
            .or_else(jrt_fs::paths::default_root)
            .ok_or(Error::NoRoot)?;
        // Made absolute once, here: cached packages become file:// URLs, and receipts and
        // runtime.yml name paths that must not depend on where a later command runs.
        let root = absolute(root)?;
        let cache = settings
            .cache_dir
            .or_else(|| config.cache_dir.clone())
            .or_else(jrt_fs::paths::default_cache)
            .map(absolute)
            .transpose()?
            .map(Cache::new);
        let defaults = Policy::default();
        let http_policy = Policy {
            allow_insecure_http: settings.allow_insecure_http || config.allow_insecure_http,
            min_rate: config.download_min_rate.unwrap_or(defaults.min_rate),
            grace: config
                .download_grace_seconds
                .map(std::time::Duration::from_secs)
                .unwrap_or(defaults.grace),
            ..defaults
        };
        let mut mirrors = config.mirrors.clone();
        if let Some(text) = &settings.mirror_env {
            mirrors.extend(Mirror::parse_list(text)?);
        }
        let layout = Layout::new(&root);
        let meta = layout.meta();
        let mut trusted = vec![root.as_path(), meta.as_path()];
        trusted.extend(cache.as_ref().map(Cache::root));
        jrt_fs::paths::check_trusted(&trusted)?;
        Ok(Session {
            registries: super::registries::chosen(&settings.registries, &config),
            public_key: settings.public_key.or_else(|| config.public_key.clone()),
            root,
            layout,
            cache,
            offline: settings.offline,
            http_policy,
            mirrors,
            oci_mirrors: config.oci_mirrors.clone(),
            oci_chunk_size: config.oci_chunk_size,
            log_level: settings.log_level.unwrap_or(LogLevel::Warn),
        })
    }

    /// The cache, which downloads and installs need.
    pub fn cache(&self) -> Result<&Cache, Error> {
        self.cache.as_ref().ok_or(Error::NoCache)
    }

    /// A new HTTP client with the session's policy.
    pub fn http(&self) -> Result<Http, Error> {
        Ok(Http::new(self.http_policy)?)
    }

    /// The HTTP client, unless `--offline`.
    pub fn online_http(&self) -> Result<Option<Http>, Error> {
        if self.offline {
            Ok(None)
        } else {
            self.http().map(Some)
        }
    }

    /// Loads every registry, checking signatures when a public key is configured.
    pub fn registries(&self) -> Result<Vec<Registry>, Error> {
        let trust = match &self.public_key {
            None => None,
            Some(key) => Some(Trust {
                key: jrt_registry::signature::public_key(key)?,
                state_dir: self.cache()?.trust(),
            }),
        };
        Ok(super::registries::load(
            &self.registries,
            || Http::new(self.http_policy),
            self.cache.as_ref(),
            self.offline,
            trust.as_ref(),
        )?)
    }

    /// The plugin host and the catalog of added plugins.
    pub fn plugins(&self) -> Result<Context, Error> {
        Ok(Context::new(
            self.root.clone(),
            self.cache.clone(),
            HostOptions {
                log_level: self.log_level,
                ..HostOptions::default()
            },
        )?)
    }

    /// What setting source packages up needs: the plugins in effect (`ctx`'s), and the host
    /// facts and platform as they see them (with `platform` instead of the detected one).
    pub fn setup_env(
        &self,
        ctx: super::Context,
        source: &jrt_install::facts::FactsSource,
        platform: Option<String>,
    ) -> Result<jrt_install::source::SetupEnv, Error> {
        let plugins = ctx.plugins()?;
        let detected = super::detect::detect_with(&ctx, &plugins, source, platform)?;
        let mut env = jrt_install::source::SetupEnv::new(
            ctx.host,
            plugins,
            detected.facts,
            detected.platform,
        );
        env.policy.mirrors = self.mirrors.clone();
        Ok(env)
    }

    /// An installer for this session's root and cache.
    pub fn installer(&self) -> Result<Installer, Error> {
        let mut installer = Installer::new(&self.root, self.cache()?.root(), self.offline);
        installer.http_policy = self.http_policy;
        installer.oci_mirrors = self.oci_mirrors.clone();
        if let Some(size) = self.oci_chunk_size {
            installer.oci_chunk_size = size;
        }
        Ok(installer)
    }

    /// The runtime directories under `dirs`, or under `./runtimes` when none are given.
    pub fn runtime_dirs(dirs: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
        let dirs: Vec<PathBuf> = if dirs.is_empty() {
            jrt_registry::source::runtime_dirs(Path::new("runtimes")).collect()
        } else {
            dirs.to_vec()
        };
        if dirs.is_empty() {
            return Err(Error::Usage(
                "no runtime directories given, and ./runtimes holds none".into(),
            ));
        }
        Ok(dirs)
    }
}
