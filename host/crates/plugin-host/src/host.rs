//! [`PluginHost`]: loads plugin components and calls their functions, one fresh sandboxed
//! store per call.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Engine, Store, Trap};

use super::LogLevel;
use super::bindings::{types, v1_0_0, v1_1_0, v1_2_0};
use super::cache::{CacheOutcome, CodeCache, Precompiled};
use super::convert::Convert;
use super::error::chain;
use super::sandbox::{LogSink, StoreState};
use super::{API_MAJOR, API_VERSION, PluginError, PluginFailure, engine};

/// Resource limits for one plugin call.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most linear memory (and table space) a call may use.
    pub memory_bytes: usize,
    /// Wall-clock time a call may take before it is interrupted.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            timeout: Duration::from_secs(10),
        }
    }
}

/// How to set up a [`PluginHost`].
#[derive(Clone)]
pub struct HostOptions {
    /// Where compiled code is cached; none compiles on every load.
    pub cache_dir: Option<PathBuf>,
    pub limits: Limits,
    /// Plugin log lines at or above this level are written to stderr.
    pub log_level: LogLevel,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            cache_dir: None,
            limits: Limits::default(),
            log_level: LogLevel::Warn,
        }
    }
}

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into jrt.
    Builtin,
    /// Added with `jrt plugin add`; the path of its stored copy.
    Added(PathBuf),
    /// Loaded directly from a file (before adding it).
    File(PathBuf),
    /// Downloaded from a URL (before adding it).
    Url(String),
}

/// What a plugin says about itself, plus what the host knows of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PluginMeta {
    pub name: String,
    pub version: String,
    pub families: Vec<String>,
    pub api_version: String,
    pub sha256: String,
}

/// A loaded, checked plugin, ready to call.
pub struct Plugin {
    pub meta: PluginMeta,
    pub origin: Origin,
    /// Where its compiled code came from.
    pub cache: CacheOutcome,
    pre: Pre,
}

/// A component ready to instantiate, bound with the WIT version it was built for.
enum Pre {
    V1_2(v1_2_0::FamilyPluginPre<StoreState>),
    V1_1(v1_1_0::FamilyPluginPre<StoreState>),
    V1_0(v1_0_0::FamilyPluginPre<StoreState>),
}

/// Calls a plugin through the bindings of the version it was built for: `$newest` for the
/// newest, `$older` (the same code, typed per version: it converts its arguments down and its
/// results up) for each older one.
macro_rules! by_version {
    ($pre:expr, |$p:ident| newest: $newest:expr, older: $older:expr) => {
        match $pre {
            Pre::V1_2($p) => $newest,
            Pre::V1_1($p) => $older,
            Pre::V1_0($p) => $older,
        }
    };
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("meta", &self.meta)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Loads and calls plugins. Cheap to keep around; every call is isolated from the others.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<StoreState>,
    cache: CodeCache,
    limits: Limits,
    log: LogSink,
}

impl PluginHost {
    /// Creates the engine, the linker (WASI p2 with an empty context, plus `host.log`) and
    /// the epoch clock.
    pub fn new(options: HostOptions) -> Result<Self, PluginError> {
        let engine = engine::new_engine()?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| PluginError::Engine(chain(&e)))?;
        // Every bound version's imports, so old plugins keep loading beside new ones.
        v1_2_0::FamilyPlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(|e| PluginError::Engine(chain(&e)))?;
        v1_1_0::FamilyPlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(|e| PluginError::Engine(chain(&e)))?;
        v1_0_0::FamilyPlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(|e| PluginError::Engine(chain(&e)))?;
        refuse_waiting(&mut linker).map_err(|e| PluginError::Engine(chain(&e)))?;
        engine::start_ticker(&engine);
        let threshold = level_rank(options.log_level);
        let log: LogSink = Arc::new(move |plugin, level, message| {
            if level_rank(level) >= threshold {
                eprintln!(
                    "jrt: plugin {plugin}: {}",
                    jrt_input::display::safe(message)
                );
            }
        });
        let fingerprint = jrt_engine::fingerprint(&engine);
        Ok(PluginHost {
            cache: CodeCache::new(options.cache_dir, fingerprint),
            engine,
            linker,
            limits: options.limits,
            log,
        })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The file name this host's compiled code for a wasm with this sha256 has in the
    /// compiled-code cache (cache housekeeping keeps these and removes the rest).
    pub fn compiled_file_name(&self, sha256: &str) -> Option<String> {
        self.cache
            .entry_path(sha256)
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
    }

    /// Loads a component: compiles it (or takes it from the cache), checks that it is a
    /// plugin of a compatible API version whose imports this host provides, and asks it for
    /// its `info`. `name` names the source in messages (a file path, `built-in python`).
    pub fn load(
        &self,
        name: &str,
        wasm: &[u8],
        sha256: &str,
        origin: Origin,
    ) -> Result<Plugin, PluginError> {
        self.load_with(name, wasm, sha256, origin, None)
    }

    /// [`PluginHost::load`] for a plugin compiled into jrt, with the code jrt's build
    /// compiled for it (when the build could): taken instead of compiling when it was made
    /// for this engine, else the plugin is compiled (and cached) like any other.
    pub fn load_builtin(
        &self,
        name: &str,
        wasm: &'static [u8],
        sha256: &str,
        precompiled: Option<Precompiled>,
    ) -> Result<Plugin, PluginError> {
        self.load_with(name, wasm, sha256, Origin::Builtin, precompiled)
    }

    fn load_with(
        &self,
        name: &str,
        wasm: &[u8],
        sha256: &str,
        origin: Origin,
        precompiled: Option<Precompiled>,
    ) -> Result<Plugin, PluginError> {
        let (component, cache) = self
            .cache
            .load(&self.engine, name, wasm, sha256, precompiled)?;
        let exported = check_api_version(&self.engine, &component, name)?;
        let not_a_plugin = |reason: String| PluginError::NotAPlugin {
            source_name: name.to_string(),
            reason,
        };
        let instance_pre = self.linker.instantiate_pre(&component).map_err(|e| {
            not_a_plugin(format!(
                "it needs imports jrt does not give plugins ({})",
                chain(&e)
            ))
        })?;
        let mismatch = |e: wasmtime::Error| {
            not_a_plugin(format!(
                "its exports do not match the world joblet:runtime/family-plugin@{exported} ({})",
                chain(&e)
            ))
        };
        // A 1.0.x component binds to 1.0.0, 1.1.x to 1.1.0; anything newer of major 1 to the
        // newest we know.
        let pre = match semver::Version::parse(&exported).map(|v| v.minor) {
            Ok(0) => Pre::V1_0(v1_0_0::FamilyPluginPre::new(instance_pre).map_err(mismatch)?),
            Ok(1) => Pre::V1_1(v1_1_0::FamilyPluginPre::new(instance_pre).map_err(mismatch)?),
            _ => Pre::V1_2(v1_2_0::FamilyPluginPre::new(instance_pre).map_err(mismatch)?),
        };
        let mut plugin = Plugin {
            meta: PluginMeta {
                name: name.to_string(),
                version: String::new(),
                families: Vec::new(),
                api_version: String::new(),
                sha256: sha256.to_string(),
            },
            origin,
            cache,
            pre,
        };
        // A built-in's answer as its build recorded it; any other plugin is asked.
        let info = match precompiled.and_then(|p| p.info) {
            Some(r) => types::PluginInfo {
                name: r.name.to_string(),
                version: r.version.to_string(),
                families: r.families.iter().map(|f| f.to_string()).collect(),
                api_version: r.api_version.to_string(),
            },
            None => self.info(&plugin)?,
        };
        let declared_major = info
            .api_version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u64>().ok());
        if declared_major != Some(API_MAJOR) {
            return Err(PluginError::ApiMismatch {
                source_name: name.to_string(),
                found: info.api_version,
                supported: API_VERSION,
                major: API_MAJOR,
            });
        }
        if !jrt_name_ok(&info.name) {
            return Err(not_a_plugin(format!(
                "its info() names it '{}', which is not a valid plugin name (lower-case letters, digits, '-')",
                info.name
            )));
        }
        plugin.meta = PluginMeta {
            name: info.name,
            version: info.version,
            families: info.families,
            api_version: info.api_version,
            sha256: sha256.to_string(),
        };
        Ok(plugin)
    }

    /// `info()`: what the plugin says about itself.
    pub fn info(&self, plugin: &Plugin) -> Result<types::PluginInfo, PluginError> {
        by_version!(&plugin.pre, |pre|
            newest: self.call(plugin, "info", |s| {
                pre.instantiate(&mut *s)?.joblet_runtime_plugin().call_info(s)
            }),
            older: self
                .call(plugin, "info", |s| {
                    pre.instantiate(&mut *s)?.joblet_runtime_plugin().call_info(s)
                })
                .map(Convert::convert)
        )
    }

    /// `detect-platform(facts)`.
    pub fn detect_platform(
        &self,
        plugin: &Plugin,
        facts: &types::HostFacts,
    ) -> Result<types::Platform, PluginError> {
        by_version!(&plugin.pre, |pre|
            newest: self.call_fallible(plugin, "detect-platform", |s| {
                pre.instantiate(&mut *s)?
                    .joblet_runtime_plugin()
                    .call_detect_platform(s, facts)
            }),
            older: self.call_fallible(plugin, "detect-platform", |s| {
                let facts = facts.clone().convert();
                pre.instantiate(&mut *s)?
                    .joblet_runtime_plugin()
                    .call_detect_platform(s, &facts)
                    .map(|r| r.map(Convert::convert))
            })
        )
    }

    /// `validate-manifest(manifest)`.
    pub fn validate_manifest(
        &self,
        plugin: &Plugin,
        manifest: &types::Manifest,
    ) -> Result<Vec<types::Diagnostic>, PluginError> {
        by_version!(&plugin.pre, |pre|
            newest: self.call(plugin, "validate-manifest", |s| {
                pre.instantiate(&mut *s)?
                    .joblet_runtime_plugin()
                    .call_validate_manifest(s, manifest)
            }),
            older: self
                .call(plugin, "validate-manifest", |s| {
                    let manifest = manifest.clone().convert();
                    pre.instantiate(&mut *s)?
                        .joblet_runtime_plugin()
                        .call_validate_manifest(s, &manifest)
                })
                .map(Convert::convert)
        )
    }

    /// `plan-setup(request)`.
    pub fn plan_setup(
        &self,
        plugin: &Plugin,
        request: &types::SetupRequest,
    ) -> Result<types::Plan, PluginError> {
        by_version!(&plugin.pre, |pre|
            newest: self.call_fallible(plugin, "plan-setup", |s| {
                pre.instantiate(&mut *s)?
                    .joblet_runtime_plugin()
                    .call_plan_setup(s, request)
            }),
            older: self.call_fallible(plugin, "plan-setup", |s| {
                let request = request.clone().convert();
                pre.instantiate(&mut *s)?
                    .joblet_runtime_plugin()
                    .call_plan_setup(s, &request)
                    .map(|r| r.map(Convert::convert))
            })
        )
    }

    /// `capture-versions(manifest, probes)`.
    pub fn capture_versions(
        &self,
        plugin: &Plugin,
        manifest: &types::Manifest,
        probes: &[types::ProbeOutput],
    ) -> Result<types::VersionLock, PluginError> {
        by_version!(&plugin.pre, |pre|
            newest: self.call_fallible(plugin, "capture-versions", |s| {
                pre.instantiate(&mut *s)?
                    .joblet_runtime_plugin()
                    .call_capture_versions(s, manifest, probes)
            }),
            older: self.call_fallible(plugin, "capture-versions", |s| {
                let manifest = manifest.clone().convert();
                let probes: Vec<_> = probes.to_vec().convert();
                pre.instantiate(&mut *s)?
                    .joblet_runtime_plugin()
                    .call_capture_versions(s, &manifest, &probes)
                    .map(|r| r.map(Convert::convert))
            })
        )
    }

    /// Calls a function whose WIT result is `result<T, plugin-error>` (of any bound version,
    /// converted to the host's).
    fn call_fallible<T, E: Convert<types::PluginError>>(
        &self,
        plugin: &Plugin,
        function: &'static str,
        f: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<Result<T, E>>,
    ) -> Result<T, PluginError> {
        self.call(plugin, function, f)?
            .map_err(|e| PluginError::Failed {
                plugin: plugin.meta.name.clone(),
                function,
                failure: PluginFailure::from(e.convert()),
            })
    }

    /// Instantiates the plugin in a fresh store and runs `f`, turning traps, timeouts and
    /// memory exhaustion into errors. The store is dropped afterwards, so a trapped instance
    /// is never reused.
    fn call<T>(
        &self,
        plugin: &Plugin,
        function: &'static str,
        f: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<T>,
    ) -> Result<T, PluginError> {
        let name: Arc<str> = Arc::from(plugin.meta.name.as_str());
        let state = StoreState::new(name, self.limits.memory_bytes, self.log.clone());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        let ticks = self
            .limits
            .timeout
            .as_nanos()
            .div_ceil(engine::TICK.as_nanos()) as u64;
        store.set_epoch_deadline(ticks.max(1) + 1);
        store.epoch_deadline_trap();
        let result = f(&mut store);
        result.map_err(|e| self.classify(plugin, function, &store, &e))
    }

    fn classify(
        &self,
        plugin: &Plugin,
        function: &'static str,
        store: &Store<StoreState>,
        e: &wasmtime::Error,
    ) -> PluginError {
        let plugin = plugin.meta.name.clone();
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => PluginError::Timeout {
                plugin,
                function,
                timeout: self.limits.timeout,
            },
            _ if store.data().limiter.denied => PluginError::OutOfMemory {
                plugin,
                function,
                limit_mib: self.limits.memory_bytes >> 20,
            },
            _ => PluginError::Trap {
                plugin,
                function,
                trap: chain(e),
                stderr: last_lines(&store.data().stderr_text(), 5),
            },
        }
    }
}

/// Replaces the clock subscriptions (the only way a plugin can wait: sockets are off and
/// stdin is closed) with functions that trap. A wait happens inside a host call, where the
/// epoch deadline cannot interrupt it, so `sleep(1 hour)` would otherwise hang jrt. Pure
/// functions have nothing to wait for.
fn refuse_waiting(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    use wasmtime::component::Resource;
    use wasmtime_wasi::p2::DynPollable;

    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap(
        "subscribe-duration",
        |_, (_,): (u64,)| -> wasmtime::Result<(Resource<DynPollable>,)> {
            Err(wasmtime::format_err!(
                "plugins may not wait (sleep or subscribe to a clock)"
            ))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |_, (_,): (u64,)| -> wasmtime::Result<(Resource<DynPollable>,)> {
            Err(wasmtime::format_err!(
                "plugins may not wait (sleep or subscribe to a clock)"
            ))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The monotonic-clock interface as wasmtime-wasi names it; components importing any
/// semver-compatible 0.2.x version bind to it.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Finds the exported `joblet:runtime/plugin@X.Y.Z` and refuses another major version.
/// Returns `X.Y.Z`.
fn check_api_version(
    engine: &Engine,
    component: &wasmtime::component::Component,
    name: &str,
) -> Result<String, PluginError> {
    const PREFIX: &str = "joblet:runtime/plugin@";
    let ty = component.component_type();
    let mut exports = Vec::new();
    for (export, _) in ty.exports(engine) {
        if let Some(version) = export.strip_prefix(PREFIX) {
            let major = version
                .split('.')
                .next()
                .and_then(|m| m.parse::<u64>().ok());
            if major != Some(API_MAJOR) {
                return Err(PluginError::ApiMismatch {
                    source_name: name.to_string(),
                    found: version.to_string(),
                    supported: API_VERSION,
                    major: API_MAJOR,
                });
            }
            return Ok(version.to_string());
        }
        exports.push(export.to_string());
    }
    Err(PluginError::NotAPlugin {
        source_name: name.to_string(),
        reason: format!(
            "it does not export joblet:runtime/plugin@{API_VERSION} (it exports: {})",
            if exports.is_empty() {
                "nothing".to_string()
            } else {
                exports.join(", ")
            }
        ),
    })
}

fn jrt_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
}

fn level_rank(level: LogLevel) -> u8 {
    match level {
        LogLevel::Trace => 0,
        LogLevel::Debug => 1,
        LogLevel::Info => 2,
        LogLevel::Warn => 3,
        LogLevel::Error => 4,
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}
