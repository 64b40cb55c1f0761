//! `jrt plugin list` and `jrt plugin add`.

use std::path::Path;

use serde::Serialize;

use crate::plugin::{Origin, Plugin, PluginError};

use super::Context;

/// One row of `jrt plugin list`.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    pub version: String,
    pub families: Vec<String>,
    pub api_version: String,
    pub sha256: String,
    /// `built-in` or `added`.
    pub source: &'static str,
    /// For added plugins, the built-in one it replaces.
    pub overrides_builtin: bool,
}

fn row(plugin: &Plugin, builtins: &[String]) -> Row {
    let added = !matches!(plugin.origin, Origin::Builtin);
    Row {
        name: plugin.meta.name.clone(),
        version: plugin.meta.version.clone(),
        families: plugin.meta.families.clone(),
        api_version: plugin.meta.api_version.clone(),
        sha256: plugin.meta.sha256.clone(),
        source: if added { "added" } else { "built-in" },
        overrides_builtin: added && builtins.contains(&plugin.meta.name),
    }
}

fn builtin_names(ctx: &Context) -> Result<Vec<String>, PluginError> {
    Ok(ctx
        .builtin_plugins()?
        .into_iter()
        .map(|p| p.meta.name)
        .collect())
}

/// The plugins in effect.
pub fn list(ctx: &Context) -> Result<Vec<Row>, PluginError> {
    let (plugins, builtins) = ctx.plugins_and_builtin_names()?;
    Ok(plugins.iter().map(|p| row(p, &builtins)).collect())
}

/// What `jrt plugin add` did.
#[derive(Debug, Clone, Serialize)]
pub struct Added {
    pub plugin: Row,
    /// The version of the added plugin of the same name it replaced.
    pub replaced_version: Option<String>,
}

/// Checks and adds a plugin component from a file.
pub fn add(ctx: &Context, file: &Path) -> Result<Added, PluginError> {
    let (plugin, replaced) = ctx.catalog.add(&ctx.host, file)?;
    let builtins = builtin_names(ctx)?;
    Ok(Added {
        plugin: row(&plugin, &builtins),
        replaced_version: replaced.map(|e| e.version),
    })
}

/// Downloads a plugin component (size-capped) and adds it like a file.
pub fn add_url(
    ctx: &Context,
    url: &url::Url,
    http: &crate::http::Http,
) -> Result<Added, PluginError> {
    use crate::plugin::catalog::MAX_PLUGIN_BYTES;
    use std::io::Read;
    let failed = |reason: String| PluginError::NotAPlugin {
        source_name: url.to_string(),
        reason,
    };
    let resp = http
        .get(url, None, &[])
        .map_err(|e| failed(format!("it cannot be downloaded: {e}")))?;
    if resp.content_length().is_some_and(|l| l > MAX_PLUGIN_BYTES) {
        return Err(failed(format!(
            "it is over the {} MiB limit for plugins",
            MAX_PLUGIN_BYTES >> 20
        )));
    }
    let mut wasm = Vec::new();
    resp.take(MAX_PLUGIN_BYTES + 1)
        .read_to_end(&mut wasm)
        .map_err(|e| failed(format!("the download failed: {e}")))?;
    if wasm.len() as u64 > MAX_PLUGIN_BYTES {
        return Err(failed(format!(
            "it is over the {} MiB limit for plugins",
            MAX_PLUGIN_BYTES >> 20
        )));
    }
    let (plugin, replaced) =
        ctx.catalog
            .add_bytes(&ctx.host, url.as_str(), wasm, Origin::Url(url.to_string()))?;
    let builtins = builtin_names(ctx)?;
    Ok(Added {
        plugin: row(&plugin, &builtins),
        replaced_version: replaced.map(|e| e.version),
    })
}
