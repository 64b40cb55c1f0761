//! `jrt plugin list`, `jrt plugin add` and `jrt plugin remove`.

use std::path::Path;

use serde::Serialize;

use jrt_plugin_host::{Origin, Plugin, PluginError};

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
    /// For added plugins, whether it replaces a built-in one.
    pub overrides_builtin: bool,
    /// The built-in it shadows, such as `built-in python`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadows: Option<String>,
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
        shadows: (added && builtins.contains(&plugin.meta.name))
            .then(|| format!("built-in {}", plugin.meta.name)),
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

/// What a user may ask of an add.
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    /// The component's sha256 (hex), checked before anything is loaded or stored.
    pub sha256: Option<String>,
    /// Allow a plugin named like a built-in one to replace it.
    pub replace_builtin: bool,
}

/// Checks and adds a plugin component from a file.
pub fn add(ctx: &Context, file: &Path, options: &AddOptions) -> Result<Added, PluginError> {
    let label = file.display().to_string();
    if let Some(want) = &options.sha256 {
        let bytes = std::fs::read(file).map_err(|e| PluginError::io("cannot read", file, e))?;
        check_sha(&label, &bytes, want)?;
    }
    let builtins = builtin_names(ctx)?;
    let (plugin, replaced) = ctx
        .catalog
        .add(&ctx.host, file, |p| allow(&label, p, &builtins, options))?;
    Ok(Added {
        plugin: row(&plugin, &builtins),
        replaced_version: replaced.map(|e| e.version),
    })
}

/// Removes an added plugin; a built-in one it replaced is in effect again.
pub fn remove(ctx: &Context, name: &str) -> Result<jrt_plugin_host::catalog::Entry, PluginError> {
    match ctx.catalog.remove(name)? {
        Some(entry) => Ok(entry),
        None => Err(PluginError::NotAdded {
            name: name.to_string(),
            builtin: builtin_names(ctx)?.iter().any(|b| b == name),
        }),
    }
}

fn check_sha(label: &str, bytes: &[u8], want: &str) -> Result<(), PluginError> {
    let actual = jrt_fs::sha256_hex(bytes);
    if !actual.eq_ignore_ascii_case(want.trim()) {
        return Err(PluginError::ShaMismatch {
            source_name: label.to_string(),
            expected: want.trim().to_ascii_lowercase(),
            actual,
        });
    }
    Ok(())
}

/// Refuses a plugin that would shadow a built-in unless the user asked for it.
fn allow(
    label: &str,
    plugin: &Plugin,
    builtins: &[String],
    options: &AddOptions,
) -> Result<(), PluginError> {
    if builtins.contains(&plugin.meta.name) && !options.replace_builtin {
        return Err(PluginError::ShadowsBuiltin {
            source_name: label.to_string(),
            name: plugin.meta.name.clone(),
        });
    }
    Ok(())
}

/// Downloads a plugin component (size-capped) and adds it like a file.
pub fn add_url(
    ctx: &Context,
    url: &url::Url,
    http: &jrt_client::http::Http,
    options: &AddOptions,
) -> Result<Added, PluginError> {
    use jrt_plugin_host::catalog::MAX_PLUGIN_BYTES;
    use std::io::Read;
    let failed = |reason: String| PluginError::NotAPlugin {
        source_name: url.to_string(),
        reason,
    };
    // Plain http only to this machine (or when the user opted in): anyone on the path could
    // swap the component.
    if !matches!(url.scheme(), "https" | "http")
        || jrt_client::http::is_insecure(url, http.policy().allow_insecure_http)
    {
        return Err(PluginError::InsecureUrl {
            url: url.to_string(),
        });
    }
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
    http.timed(resp, MAX_PLUGIN_BYTES + 1)
        .take(MAX_PLUGIN_BYTES + 1)
        .read_to_end(&mut wasm)
        .map_err(|e| failed(format!("the download failed: {e}")))?;
    if wasm.len() as u64 > MAX_PLUGIN_BYTES {
        return Err(failed(format!(
            "it is over the {} MiB limit for plugins",
            MAX_PLUGIN_BYTES >> 20
        )));
    }
    if let Some(want) = &options.sha256 {
        check_sha(url.as_str(), &wasm, want)?;
    }
    let builtins = builtin_names(ctx)?;
    let (plugin, replaced) = ctx.catalog.add_bytes(
        &ctx.host,
        url.as_str(),
        wasm,
        Origin::Url(url.to_string()),
        |p| allow(url.as_str(), p, &builtins, options),
    )?;
    Ok(Added {
        plugin: row(&plugin, &builtins),
        replaced_version: replaced.map(|e| e.version),
    })
}

/// `jrt plugin add FILE|URL [--sha256 HEX]`: a URL is downloaded (not with `--offline`), a
/// path read; either is checked and added.
pub fn add_from(
    session: &super::Session,
    ctx: &Context,
    file: &str,
    options: &AddOptions,
) -> Result<Added, super::Error> {
    use super::Error;
    if let Some(hex) = &options.sha256
        && !jrt_fs::is_sha256_hex(hex)
    {
        return Err(Error::Usage(format!(
            "--sha256 '{hex}' is not 64 hex digits"
        )));
    }
    if !(file.starts_with("http://") || file.starts_with("https://")) {
        return Ok(add(ctx, Path::new(file), options)?);
    }
    let url =
        url::Url::parse(file).map_err(|e| Error::Usage(format!("'{file}' is not a URL: {e}")))?;
    if session.offline {
        return Err(Error::Usage(format!(
            "cannot download {file} with --offline"
        )));
    }
    Ok(add_url(ctx, &url, &session.http()?, options)?)
}
