//! Setting up a source package: the family plugins plan it, the host checks and executes the
//! plans in the staging tree, then writes `runtime.yml` (Joblet's mounts and environment) and
//! `versions.lock` (what the probes found really installed).

use jrt_fs::cache::Cache;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::receipt::PluginUse;
use crate::setup::{self, Executor, SetupError};
use jrt_client::http::Http;
use jrt_package::manifest::Manifest;
use jrt_package::runtime_yml::{MountYml, Requirements, RuntimeYml};
use jrt_plugin_host::types::{HostFacts, Platform, ProbeOutput, SetupRequest};
use jrt_plugin_host::{Plugin, PluginHost};

/// What setting up needs besides the tree: the plugins and the host they run on.
pub struct SetupEnv {
    pub host: PluginHost,
    pub plugins: Vec<Plugin>,
    pub facts: HostFacts,
    pub platform: Platform,
    pub policy: setup::Policy,
    /// The host's interpreters and JDKs ([`crate::facts::interpreters`]), probed on first
    /// need: running every `python3.N` and `java` costs about a second, which installs of
    /// prebuilt packages never pay. Set it up front to skip probing (tests).
    pub interpreters: std::sync::OnceLock<crate::facts::interpreters::Found>,
}

impl SetupEnv {
    /// The default policy; the host's interpreters are probed on first need.
    pub fn new(
        host: PluginHost,
        plugins: Vec<Plugin>,
        facts: HostFacts,
        platform: Platform,
    ) -> Self {
        SetupEnv {
            host,
            plugins,
            facts,
            platform,
            policy: setup::Policy::default(),
            interpreters: Default::default(),
        }
    }

    /// The facts with the host's interpreters in `tools`, and the policy allowing copies of
    /// exactly their files.
    fn with_interpreters(&self) -> (HostFacts, setup::Policy) {
        let found = self
            .interpreters
            .get_or_init(crate::facts::interpreters::probe);
        let mut facts = self.facts.clone();
        facts.tools.extend(found.tools.iter().cloned());
        let mut policy = self.policy.clone();
        policy
            .copy_prefixes
            .extend(found.copy_allowed.iter().cloned());
        (facts, policy)
    }
}

/// Gives installs their [`SetupEnv`] when a package turns out to need setting up. Whether it
/// does is only known once it is unpacked (a prebuilt package has `runtime.yml` at its top),
/// and making one (loading the plugins, asking them for the platform) is work an install of
/// prebuilt packages should not pay.
pub trait ProvideSetup: Sync {
    fn setup_env(&self) -> Result<&SetupEnv, SetUpError>;
}

impl ProvideSetup for SetupEnv {
    fn setup_env(&self) -> Result<&SetupEnv, SetUpError> {
        Ok(self)
    }
}

/// Why a [`SetupEnv`] could not be made.
pub type MakeError = Box<dyn std::error::Error + Send + Sync>;

/// A [`SetupEnv`] made by `make` when first asked for, once, shared by every install thread.
pub struct OnDemand<F> {
    make: F,
    env: std::sync::OnceLock<Result<SetupEnv, std::sync::Arc<MakeError>>>,
}

impl<F: Fn() -> Result<SetupEnv, MakeError> + Sync> OnDemand<F> {
    pub fn new(make: F) -> Self {
        OnDemand {
            make,
            env: std::sync::OnceLock::new(),
        }
    }
}

impl<F: Fn() -> Result<SetupEnv, MakeError> + Sync> ProvideSetup for OnDemand<F> {
    fn setup_env(&self) -> Result<&SetupEnv, SetUpError> {
        match self
            .env
            .get_or_init(|| (self.make)().map_err(std::sync::Arc::new))
        {
            Ok(env) => Ok(env),
            Err(e) => Err(SetUpError::NoPlugins(e.clone())),
        }
    }
}

/// The `language` Joblet shows for a runtime set up by these families (the first one's).
fn language(families: &[String]) -> String {
    match families.first().map(String::as_str) {
        Some("jdk") => "java".into(),
        Some(other) => other.into(),
        None => String::new(),
    }
}

#[derive(Serialize)]
struct VersionsLock<'a> {
    runtime: &'a str,
    version: &'a str,
    platform: &'a str,
    /// The families that set it up, and whether they were inferred from an upstream manifest.
    family: &'a [String],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    family_inferred: bool,
    components: std::collections::BTreeMap<String, String>,
    packages: Vec<LockedPackage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
}

#[derive(Serialize)]
struct LockedPackage {
    kind: String,
    name: String,
    version: String,
    /// The sha256 of the file it was installed from, as the plugin read it from the
    /// installer's report (plugins of API 1.2.0 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
}

/// Why a source package could not be set up (or its plans shown).
#[derive(Debug, thiserror::Error)]
pub enum SetUpError {
    #[error("setup_network must map family names to lists of host:port")]
    GrantShape,
    #[error("setup_network.{0} must be a list of host:port")]
    GrantList(String),
    #[error("setup_network.{family}: '{}' is not host:port", .entry.escape_debug())]
    GrantEntry { family: String, entry: String },
    #[error("the package has no readable manifest.yaml: {0}")]
    NoManifest(std::io::Error),
    #[error(transparent)]
    Manifest(#[from] jrt_package::manifest::ManifestError),
    #[error(
        "its manifest.yaml names no family (such as `family: [python]`), so no plugin can set it up"
    )]
    NoFamily,
    #[error("no plugin serves the family '{family}' (plugins serve: {})", .known.join(", "))]
    NoPlugin { family: String, known: Vec<String> },
    #[error(
        "its manifest does not pass the {plugin} plugin's checks ({}); nothing was run",
        .errors.join("; ")
    )]
    Invalid { plugin: String, errors: Vec<String> },
    #[error(transparent)]
    Plugin(#[from] jrt_plugin_host::PluginError),
    /// The plugins (or their view of the platform) could not be had for the setup.
    #[error("the plugins that set packages up are not available: {0}")]
    NoPlugins(std::sync::Arc<MakeError>),
    #[error("{error} (plan of plugin {plugin})")]
    Plan { plugin: String, error: SetupError },
    #[error("the plans' runtime.yml is refused: {0}")]
    RuntimeYml(jrt_package::runtime_yml::RuntimeYmlError),
    #[error(
        "plugin {plugin} recorded '{}' as the sha256 of {} {}, which is not 64 hex digits",
        jrt_input::display::safe(.sha256),
        jrt_input::display::safe(.name),
        jrt_input::display::safe(.version)
    )]
    BadHash {
        plugin: String,
        sha256: String,
        name: String,
        version: String,
    },
    #[error("cannot write {}: {error}", .path.display())]
    Yaml {
        path: std::path::PathBuf,
        error: serde_norway::Error,
    },
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
    #[error(transparent)]
    Fetch(#[from] jrt_client::fetch::FetchError),
    #[error("{url}: not a .tar.gz: {error}")]
    NotTarGz {
        url: String,
        error: jrt_extract::tar_entries::HeaderError,
    },
    #[error("{0}: the package has no manifest.yaml at its top")]
    NoManifestAtTop(String),
    #[error("the prebuilt package's {0}")]
    PrebuiltRuntimeYml(jrt_package::runtime_yml::RuntimeYmlError),
    #[error("cannot start the HTTP client: {0}")]
    Http(#[from] jrt_client::http::HttpError),
    #[error("cannot read what the setup made: {0}")]
    Scan(std::io::Error),
    #[error(transparent)]
    Extract(#[from] jrt_extract::ExtractError),
    #[error(transparent)]
    Url(#[from] jrt_registry::source::UrlError),
    /// An OCI source package's manifest could not be read.
    #[error(transparent)]
    Oci(Box<crate::Failure>),
}

/// The network a manifest grants the setup steps of `family`'s plugin:
/// `setup_network: {python: [pypi.org:443, files.pythonhosted.org:443]}`. Plugins built for
/// the 1.0.0 API cannot declare network per step, so their steps get none unless the
/// runtime's manifest grants it here (docs/plugins.md).
pub fn granted_network(
    manifest: &Manifest,
    family: &str,
) -> Result<Option<setup::Grant>, SetUpError> {
    use serde_norway::Value;
    let Some((_, value)) = manifest.fields.iter().find(|(k, _)| k == "setup_network") else {
        return Ok(None);
    };
    let Value::Mapping(map) = value else {
        return Err(SetUpError::GrantShape);
    };
    let Some(list) = map.get(Value::String(family.to_string())) else {
        return Ok(None);
    };
    let Value::Sequence(items) = list else {
        return Err(SetUpError::GrantList(family.to_string()));
    };
    let mut grant = setup::Grant::default();
    for item in items.iter().take(64) {
        let text = item.as_str().unwrap_or_default();
        let (host, port) = text
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h, p.parse::<u16>().ok().filter(|p| *p > 0)?)))
            .filter(|(h, _)| {
                !h.is_empty()
                    && h.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':')
                    })
            })
            .ok_or_else(|| SetUpError::GrantEntry {
                family: family.to_string(),
                entry: text.to_string(),
            })?;
        grant.hosts.push(format!("{host}:{port}"));
        grant.ports.push(port);
    }
    grant.ports.sort_unstable();
    grant.ports.dedup();
    Ok(Some(grant))
}

/// The manifest's grant for `family`, for a plugin of the 1.0 API (which cannot declare
/// network per step); newer plugins declare it, and the manifest grants them nothing.
fn manifest_grant(
    manifest: &Manifest,
    family: &str,
    plugin: &Plugin,
) -> Result<Option<setup::Grant>, SetUpError> {
    if semver::Version::parse(&plugin.meta.api_version).is_ok_and(|v| v.major == 1 && v.minor == 0)
    {
        granted_network(manifest, family)
    } else {
        Ok(None)
    }
}

/// Every `host:port` the plan's run steps get, in order, once each (for the receipt).
fn hosts_used(plan: &jrt_plugin_host::types::Plan, grant: Option<&setup::Grant>) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    for step in &plan.steps {
        if let jrt_plugin_host::types::SetupStep::Run(r) = step
            && let Some(g) = setup::step_grant(r, grant)
        {
            for h in g.hosts {
                if !hosts.contains(&h) {
                    hosts.push(h);
                }
            }
        }
    }
    hosts
}

/// Runs the family plugin's own manifest checks at install time, before any plan is asked for:
/// a package whose manifest was never validated at publish time (or was changed after) is
/// refused here, with every error the plugin found.
fn validated(
    env: &SetupEnv,
    plugin: &Plugin,
    manifest: &jrt_plugin_host::types::Manifest,
) -> Result<(), SetUpError> {
    use jrt_plugin_host::types::Severity;
    let diagnostics = env.host.validate_manifest(plugin, manifest)?;
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {}", d.field, d.message))
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(SetUpError::Invalid {
        plugin: plugin.meta.name.clone(),
        errors,
    })
}

/// What setting a package up did.
pub struct SetUp {
    pub plugins: Vec<PluginUse>,
    /// The families, when inferred from an upstream manifest (for the receipt).
    pub inferred_family: Vec<String>,
    /// Worth showing: limits the machine could not enforce, setuid bits stripped.
    pub notes: Vec<String>,
    /// The sha256 of the builds the plans fetched into the cache.
    pub fetched: Vec<String>,
}

/// Sets up the extracted source package in `tree`. Returns the plugins that did it.
pub fn set_up(
    env: &SetupEnv,
    tree: &Path,
    cache: &Cache,
    http: Option<&Http>,
    progress: &dyn jrt_client::progress::Progress,
) -> Result<SetUp, SetUpError> {
    // Named as the package names it, not by its staging path.
    let bytes = std::fs::read(tree.join("manifest.yaml")).map_err(SetUpError::NoManifest)?;
    let manifest = Manifest::parse(&bytes, Path::new("manifest.yaml"))?;
    if manifest.family.is_empty() {
        return Err(SetUpError::NoFamily);
    }
    let wit = jrt_plugin_host::to_wit(&manifest);
    let (facts, policy) = env.with_interpreters();
    let request = SetupRequest {
        manifest: wit.clone(),
        platform: env.platform.clone(),
        facts,
    };
    let mut used = Vec::new();
    let fetched = std::sync::Mutex::new(Vec::new());
    let mut mounts = Vec::new();
    let mut environment = std::collections::BTreeMap::new();
    let mut probes = Vec::new();
    let mut serving = Vec::new();
    let mut notes: Vec<String> = manifest.inferred_note().into_iter().collect();
    for family in &manifest.family {
        let plugin = env
            .plugins
            .iter()
            .find(|p| p.meta.families.iter().any(|f| f == family))
            .ok_or_else(|| {
                let known: Vec<String> = env
                    .plugins
                    .iter()
                    .flat_map(|p| p.meta.families.clone())
                    .collect();
                SetUpError::NoPlugin {
                    family: family.clone(),
                    known,
                }
            })?;
        validated(env, plugin, &wit)?;
        let plan = env.host.plan_setup(plugin, &request)?;
        let network = manifest_grant(&manifest, family, plugin)?;
        let task = progress.steps(
            &format!("{} ({})", manifest.name, plugin.meta.name),
            plan.steps.len() as u64,
        );
        let done = setup::execute(
            &plan,
            &Executor {
                tree,
                cache,
                http,
                policy: policy.clone(),
                default_timeout: Duration::from_secs(1800),
                task: Some(task.as_ref()),
                network: network.clone(),
                fetched: Some(&fetched),
            },
        );
        task.finish(if done.is_ok() { "set up" } else { "failed" });
        let hosts = hosts_used(&plan, network.as_ref());
        notes.extend(done.map_err(|error| SetUpError::Plan {
            plugin: plugin.meta.name.clone(),
            error,
        })?);
        mounts.extend(plan.mounts.into_iter().map(|m| MountYml {
            source: m.source,
            target: m.target,
            readonly: m.readonly,
        }));
        environment.extend(plan.environment);
        probes.extend(plan.probes);
        used.push(PluginUse {
            name: plugin.meta.name.clone(),
            version: plugin.meta.version.clone(),
            sha256: plugin.meta.sha256.clone(),
            network: hosts,
        });
        serving.push(plugin);
    }

    let mut runtime = RuntimeYml {
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        description: manifest.description.clone(),
        language: language(&manifest.family),
        mounts,
        environment,
        requirements: Requirements {
            architectures: vec![
                match env.platform.arch {
                    jrt_plugin_host::types::Arch::Amd64 => "amd64",
                    jrt_plugin_host::types::Arch::Arm64 => "arm64",
                }
                .to_string(),
            ],
        },
        packages: Vec::new(),
    };
    // Each plan's mounts were checked; together they must still be (no target twice).
    jrt_package::runtime_yml::check(
        runtime
            .mounts
            .iter()
            .map(|m| (m.source.as_str(), m.target.as_str())),
        runtime
            .environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(SetUpError::RuntimeYml)?;

    let tree_real = tree.canonicalize().unwrap_or_else(|_| tree.to_path_buf());
    let probe_env: Vec<(String, String)> = setup::library_path_in_tree(
        &tree_real,
        runtime
            .mounts
            .iter()
            .map(|m| (m.source.as_str(), m.target.as_str())),
        &runtime.environment.clone().into_iter().collect::<Vec<_>>(),
    )
    .into_iter()
    .collect();
    let outputs: Vec<ProbeOutput> =
        setup::run_probes(tree, &probes, &probe_env, Duration::from_secs(120));
    let mut lock = VersionsLock {
        runtime: &manifest.name,
        version: &manifest.version,
        platform: &env.platform.id,
        family: &manifest.family,
        family_inferred: manifest.family_inferred,
        components: Default::default(),
        packages: Vec::new(),
        notes: Vec::new(),
    };
    for plugin in serving {
        let captured = env.host.capture_versions(plugin, &wit, &outputs)?;
        lock.components.extend(captured.components);
        for p in captured.packages {
            // A plugin's word, written into a file fleets pin by: a hash that is not one
            // is refused rather than recorded.
            if let Some(sha) = &p.sha256
                && !jrt_fs::is_sha256_hex(sha)
            {
                return Err(SetUpError::BadHash {
                    plugin: plugin.meta.name.clone(),
                    sha256: sha.clone(),
                    name: p.name.clone(),
                    version: p.version.clone(),
                });
            }
            lock.packages.push(LockedPackage {
                kind: p.kind,
                name: p.name,
                version: p.version,
                sha256: p.sha256.map(|s| s.to_ascii_lowercase()),
            });
        }
        lock.notes.extend(captured.notes);
    }
    write_yaml(&tree.join("versions.lock"), &lock)?;
    // Written once the versions are known: Joblet lists a runtime's packages from it.
    runtime.packages = lock
        .packages
        .iter()
        .map(|p| format!("{}=={}", p.name, p.version))
        .collect();
    write_yaml(&tree.join("runtime.yml"), &runtime)?;
    notes.dedup();
    Ok(SetUp {
        fetched: fetched.into_inner().unwrap_or_default(),
        plugins: used,
        inferred_family: if manifest.family_inferred {
            manifest.family.clone()
        } else {
            Vec::new()
        },
        notes,
    })
}

fn write_yaml<T: Serialize>(path: &Path, value: &T) -> Result<(), SetUpError> {
    let text = serde_norway::to_string(value).map_err(|error| SetUpError::Yaml {
        path: path.to_path_buf(),
        error,
    })?;
    let text = format!(
        "# Written by jrt {}; do not edit.\n{text}",
        env!("CARGO_PKG_VERSION")
    );
    std::fs::write(path, text).map_err(jrt_fs::io("cannot write", path))?;
    Ok(())
}

/// What each family plugin would do for `manifest`: `(plugin, plan)` in setup order.
/// What the plugin would do, and the network its steps would get.
pub type Planned = (String, jrt_plugin_host::types::Plan, Option<setup::Grant>);

pub fn plans(env: &SetupEnv, manifest: &Manifest) -> Result<Vec<Planned>, SetUpError> {
    if manifest.family.is_empty() {
        return Err(SetUpError::NoFamily);
    }
    let (facts, policy) = env.with_interpreters();
    let request = SetupRequest {
        manifest: jrt_plugin_host::to_wit(manifest),
        platform: env.platform.clone(),
        facts,
    };
    manifest
        .family
        .iter()
        .map(|family| {
            let plugin = env
                .plugins
                .iter()
                .find(|p| p.meta.families.iter().any(|f| f == family))
                .ok_or_else(|| SetUpError::NoPlugin {
                    family: family.clone(),
                    known: env
                        .plugins
                        .iter()
                        .flat_map(|p| p.meta.families.clone())
                        .collect(),
                })?;
            validated(env, plugin, &request.manifest)?;
            let plan = env.host.plan_setup(plugin, &request)?;
            setup::check(&plan, &policy).map_err(|error| SetUpError::Plan {
                plugin: plugin.meta.name.clone(),
                error,
            })?;
            let network = manifest_grant(manifest, family, plugin)?;
            Ok((plugin.meta.name.clone(), plan, network))
        })
        .collect()
}

/// One line per step, mount, variable and probe of a plan, and the network its steps get,
/// for `--dry-run`.
pub fn describe(
    plugin: &str,
    plan: &jrt_plugin_host::types::Plan,
    network: Option<&setup::Grant>,
    mirrors: &[setup::mirror::Mirror],
) -> Vec<String> {
    use jrt_plugin_host::types::SetupStep as S;
    let mut out: Vec<String> = plan
        .steps
        .iter()
        .map(|step| match step {
            S::Mkdir(p) => format!("{plugin}: mkdir {p}"),
            S::CopyFromHost(c) => format!("{plugin}: copy {} -> {}", c.source, c.target),
            S::CopyLibraries(c) => format!(
                "{plugin}: copy the libraries of {} -> {}",
                c.binaries.join(", "),
                c.target
            ),
            S::Fetch(f) => {
                // The URL jrt will read: after mirroring.
                let (url, via) = match setup::mirror::apply(mirrors, &f.url) {
                    Ok(u) if u != f.url => (u, format!(" (mirror of {})", f.url)),
                    Ok(u) => (u, String::new()),
                    Err(e) => (f.url.clone(), format!(" ({e})")),
                };
                format!(
                    "{plugin}: fetch {url}{via} (sha256:{}) -> {}{}",
                    f.sha256,
                    f.target,
                    if f.unpack { " (unpack)" } else { "" }
                )
            }
            S::Run(r) => format!(
                "{plugin}: run {} {}{}",
                r.program,
                r.args.join(" "),
                match setup::step_grant(r, network) {
                    Some(g) if !g.hosts.is_empty() => format!(" (network: {})", g.hosts.join(", ")),
                    _ => " (no network)".to_string(),
                }
            ),
            S::WriteFile(w) => format!(
                "{plugin}: write {} ({} bytes{})",
                w.target,
                w.contents.len(),
                if w.executable { ", executable" } else { "" }
            ),
            S::Symlink(s) => format!("{plugin}: symlink {} -> {}", s.link, s.target),
        })
        .collect();
    out.extend(plan.mounts.iter().map(|m| {
        format!(
            "{plugin}: mount {} at {}{}",
            m.source,
            m.target,
            if m.readonly { " (read-only)" } else { "" }
        )
    }));
    out.extend(
        plan.environment
            .iter()
            .map(|(k, v)| format!("{plugin}: env {k}={v}")),
    );
    out.extend(plan.probes.iter().map(|p| {
        format!(
            "{plugin}: probe {}: {} {}",
            p.name,
            p.program,
            p.args.join(" ")
        )
    }));
    out
}

/// Reads `manifest.yaml` out of a package, verifying the whole package on the way (and
/// caching it, so the install that follows reads it from disk).
pub fn manifest_of_package(
    cache: &jrt_client::fetch::Store,
    http: Option<&Http>,
    url: &url::Url,
    checksum: &jrt_registry::Checksum,
    size: u64,
    offline: bool,
) -> Result<Manifest, SetUpError> {
    let size = jrt_client::pin::Size::Declared(size);
    let opened = jrt_client::fetch::open(cache, http, url, checksum, size, offline)?;
    let task =
        jrt_client::progress::Progress::task(&jrt_client::progress::Silent, "", size.limit());
    // Nothing from the package is trusted unless the whole package verifies.
    let found = opened.verified(url.as_str(), size, checksum, task.as_ref(), |reader| {
        jrt_extract::tar_entries::top_members(
            reader,
            &["manifest.yaml"],
            jrt_input::caps::MAX_YAML_BYTES,
        )
        .map(|mut m| m.remove("manifest.yaml"))
        .map_err(|error| SetUpError::NotTarGz {
            url: url.to_string(),
            error,
        })
    })?;
    let bytes = found?.ok_or_else(|| SetUpError::NoManifestAtTop(url.to_string()))?;
    Ok(Manifest::parse(&bytes, Path::new("manifest.yaml"))?)
}
