//! What can go wrong loading or calling a plugin.

use std::path::PathBuf;
use std::time::Duration;

use super::types;

/// A plugin's own typed answer that it cannot do what was asked (the WIT `plugin-error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginFailure {
    #[error("not supported: {0}")]
    Unsupported(String),
    #[error("{0}")]
    UnsupportedPlatform(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Unsatisfiable(String),
}

impl From<types::PluginError> for PluginFailure {
    fn from(e: types::PluginError) -> Self {
        match e {
            types::PluginError::Unsupported(m) => PluginFailure::Unsupported(m),
            types::PluginError::UnsupportedPlatform(m) => PluginFailure::UnsupportedPlatform(m),
            types::PluginError::InvalidInput(m) => PluginFailure::InvalidInput(m),
            types::PluginError::Unsatisfiable(m) => PluginFailure::Unsatisfiable(m),
        }
    }
}

/// Loading or calling a plugin failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin {plugin}: {function} did not finish within {timeout:?} and was stopped")]
    Timeout {
        plugin: String,
        function: &'static str,
        timeout: Duration,
    },
    #[error(
        "plugin {plugin}: {function} ran out of memory (the limit is {limit_mib} MiB) and was stopped"
    )]
    OutOfMemory {
        plugin: String,
        function: &'static str,
        limit_mib: usize,
    },
    #[error("plugin {plugin}: {function} crashed: {trap}{}", stderr_suffix(.stderr))]
    Trap {
        plugin: String,
        function: &'static str,
        trap: String,
        stderr: String,
    },
    #[error("plugin {plugin}: {function}: {failure}")]
    Failed {
        plugin: String,
        function: &'static str,
        failure: PluginFailure,
    },
    #[error("{source_name} is not a jrt plugin: {reason}")]
    NotAPlugin { source_name: String, reason: String },
    #[error(
        "{source_name} was built for the plugin API joblet:runtime@{found}, but this jrt speaks \
         joblet:runtime@{} to @{supported}; use a plugin built for major version {major} or a \
         jrt that speaks {found}",
        super::API_VERSIONS[0]
    )]
    ApiMismatch {
        source_name: String,
        found: String,
        supported: &'static str,
        major: u64,
    },
    #[error(
        "plugin {name} at {} has sha256 {actual}, but it was pinned as {expected}; \
         it changed after it was added: add it again with `jrt plugin add` if the change is yours",
        path.display()
    )]
    PinMismatch {
        name: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error(
        "{source_name} has sha256 {actual}, but --sha256 asked for {expected}; nothing was added"
    )]
    ShaMismatch {
        source_name: String,
        expected: String,
        actual: String,
    },
    #[error(
        "{source_name} is a plugin named '{name}', which would replace the built-in plugin \
         '{name}'; add it with --replace-builtin if that is what you want (nothing was added)"
    )]
    ShadowsBuiltin { source_name: String, name: String },
    #[error(
        "{url} is plain http on a host that is not this machine; plugins are downloaded over \
         https only (nothing was downloaded)"
    )]
    InsecureUrl { url: String },
    #[error("no added plugin is named '{name}'{}", if *.builtin { " (built-in plugins cannot be removed; an added one that replaced it can)" } else { "" })]
    NotAdded { name: String, builtin: bool },
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
    #[error("the plugin catalog {} is damaged: {reason}", path.display())]
    Catalog { path: PathBuf, reason: String },
    #[error("the WebAssembly engine failed: {0}")]
    Engine(String),
}

fn stderr_suffix(stderr: &str) -> String {
    let text = stderr.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(" (plugin stderr: {text})")
    }
}

impl PluginError {
    pub fn io(action: &'static str, path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        PluginError::Io(jrt_fs::IoError {
            action,
            path: path.into(),
            error,
        })
    }
}

/// Joins a wasmtime error's chain into one line.
pub(crate) fn chain(e: &wasmtime::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}
