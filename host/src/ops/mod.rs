//! The commands' work, callable from tests: each submodule is one command, taking a
//! [`Context`] and returning data that `main.rs` prints as text or JSON.

pub mod detect;
pub mod install;
pub mod installed;
pub mod plugins;
pub mod registries;
pub mod run;
pub mod validate;

use jrt_fs::cache::Cache;
use std::path::PathBuf;

use crate::builtin;
use jrt_plugin_host::catalog::Catalog;
use jrt_plugin_host::{HostOptions, Origin, Plugin, PluginError, PluginHost};

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
                self.host.load(
                    &format!("built-in plugin {}", b.package),
                    b.wasm,
                    b.sha256,
                    Origin::Builtin,
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
