//! The commands' work, callable from tests: each submodule is one command, taking the
//! [`Session`] (or the plugin [`Context`] it makes) and returning data that `main.rs` prints
//! as text or JSON, or an [`Error`] that says whether the user's input was at fault.

pub mod build;
pub mod cache;
pub mod detect;
pub mod install;
pub mod installed;
pub mod kind;
pub mod lock;
pub mod platform;
pub mod plugins;
pub mod push;
pub mod registries;
pub mod release;
pub mod run;
pub mod session;
pub mod upgrade;
pub mod validate;

pub use session::{Session, Settings};

use jrt_fs::cache::Cache;
use std::path::PathBuf;

use crate::builtin;
use jrt_plugin_host::catalog::Catalog;
use jrt_plugin_host::{HostOptions, Plugin, PluginError, PluginHost};

/// What every command needs: the plugin host and the catalog of added plugins.
pub struct Context {
    pub host: PluginHost,
    pub catalog: Catalog,
}

impl Context {
    /// A context for the runtime root `root`, caching compiled plugins in `cache_dir`.
    pub fn new(
        root: PathBuf,
        cache: Option<Cache>,
        options: HostOptions,
    ) -> Result<Self, PluginError> {
        let host = PluginHost::new(HostOptions {
            cache_dir: cache.map(|c| c.compiled()),
            ..options
        })?;
        Ok(Context {
            host,
            catalog: Catalog::new(jrt_fs::paths::plugins_dir(&root)),
        })
    }

    /// The built-in plugins.
    pub fn builtin_plugins(&self) -> Result<Vec<Plugin>, PluginError> {
        builtin::BUILTIN
            .iter()
            .map(|b| {
                self.host.load_builtin(
                    &format!("built-in plugin {}", b.package),
                    b.wasm,
                    b.sha256,
                    b.precompiled,
                )
            })
            .collect()
    }

    /// The plugins in effect: the built-ins, with an added plugin of the same name
    /// replacing its built-in, then the other added plugins in the order they were added.
    pub fn plugins(&self) -> Result<Vec<Plugin>, PluginError> {
        Ok(self.plugins_and_builtin_names()?.0)
    }

    /// [`Context::plugins`], plus the names of all built-ins (also those an added plugin
    /// replaces), loading each component once.
    pub fn plugins_and_builtin_names(&self) -> Result<(Vec<Plugin>, Vec<String>), PluginError> {
        let added = self.catalog.load_all(&self.host)?;
        let builtins = self.builtin_plugins()?;
        let names = builtins.iter().map(|b| b.meta.name.clone()).collect();
        let mut plugins: Vec<Plugin> = builtins
            .into_iter()
            .filter(|b| !added.iter().any(|a| a.meta.name == b.meta.name))
            .collect();
        plugins.extend(added);
        Ok((plugins, names))
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asked for something that cannot be (exit 2).
    #[error("{0}")]
    Usage(String),
    #[error("cannot tell where runtimes go: set --root or JRT_ROOT (HOME is unset)")]
    NoRoot,
    #[error("cannot tell where jrt's cache is: set --cache-dir or JRT_CACHE_DIR (HOME is unset)")]
    NoCache,
    /// Manifests that do not validate: nothing was done with them.
    #[error("the manifests have errors; nothing was {action}")]
    Invalid {
        problems: Vec<validate::Problem>,
        dirs: usize,
        action: &'static str,
    },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Mirror(#[from] jrt_install::setup::mirror::MirrorError),
    #[error(transparent)]
    Untrusted(#[from] jrt_fs::paths::UntrustedDir),
    #[error(transparent)]
    Http(#[from] jrt_client::http::HttpError),
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error(transparent)]
    Signature(#[from] jrt_registry::signature::SignatureError),
    #[error(transparent)]
    Source(#[from] jrt_registry::source::SourceError),
    #[error(transparent)]
    Resolve(#[from] jrt_registry::ResolveError),
    #[error(transparent)]
    Oci(#[from] jrt_install::Failure),
    #[error(transparent)]
    Lookup(#[from] jrt_registry::lookup::LookupError),
    #[error(transparent)]
    Push(#[from] jrt_publish::push::PushError),
    #[error(transparent)]
    Detect(#[from] detect::DetectError),
    #[error(transparent)]
    Install(#[from] jrt_install::InstallError),
    #[error(transparent)]
    Build(#[from] jrt_publish::build::BuildError),
    #[error(transparent)]
    Release(#[from] jrt_publish::release::ReleaseError),
    #[error(transparent)]
    Remove(#[from] installed::RemoveError),
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
}
