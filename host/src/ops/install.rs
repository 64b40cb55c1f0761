//! `jrt install`: resolve each spec, then install them (in parallel with `--jobs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use jrt_install::source::{MakeError, OnDemand, ProvideSetup};
use jrt_install::{InstallError, Installer, Outcome};
use jrt_registry::source::Registry;
use jrt_registry::{Resolved, Spec};

use super::{Error, Session};

/// How `jrt install` runs.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    pub force: bool,
    /// Install for this platform instead of the detected one.
    pub platform: Option<String>,
    pub jobs: usize,
    /// Show the plan instead of installing.
    pub dry_run: bool,
}

/// What `jrt install` did.
pub enum InstallReport {
    /// `--dry-run`: what would be done.
    Plan(Vec<Planned>),
    /// Each spec's result, in the order given, and notes on what bare names now run.
    Done {
        results: Vec<Result<Outcome, InstallError>>,
        notes: Vec<String>,
    },
}

/// `jrt install SPEC...`: detect the platform, resolve every spec, then plan or install them.
pub fn run(
    session: &Session,
    specs: &[Spec],
    options: &InstallOptions,
    progress: Option<Arc<dyn jrt_client::progress::Progress>>,
) -> Result<InstallReport, Error> {
    run_with(session, session.registries()?, specs, options, progress)
}

/// [`run`] against the given `registries` (a lock file's, for `--locked`).
pub fn run_with(
    session: &Session,
    registries: Vec<Registry>,
    specs: &[Spec],
    options: &InstallOptions,
    progress: Option<Arc<dyn jrt_client::progress::Progress>>,
) -> Result<InstallReport, Error> {
    // The platform natively: only a package that turns out to need setting up loads the
    // plugins (and asks them for the platform, with the GPU facts setups use).
    let source = jrt_install::facts::FactsSource::default();
    let platform = super::platform::detect(&source, options.platform.clone())?.id;
    let mut installer = session.installer()?;
    let resolved = resolve_all(&registries, specs, &platform, &installer)?;
    let setup = OnDemand::new(|| {
        session
            .setup_env(session.plugins()?, &source, options.platform.clone())
            .map_err(MakeError::from)
    });
    if options.dry_run {
        let mut planned = plan(&registries, &resolved, &platform);
        let http = if session.offline {
            None
        } else {
            installer.http().ok()
        };
        plan_setups(
            &mut planned,
            &installer,
            &registries,
            &resolved,
            &setup,
            http,
        );
        return Ok(InstallReport::Plan(planned));
    }
    if let Some(progress) = progress {
        installer.progress = progress;
    }
    let before = super::installed::installed(&session.layout);
    let results = install_all(
        &installer,
        &registries,
        &resolved,
        &platform,
        options.force,
        options.jobs,
        Some(&setup),
    )?;
    let done: Vec<(String, String)> = results
        .iter()
        .flatten()
        .map(|o| (o.name.clone(), o.version.clone()))
        .collect();
    let after = super::installed::installed(&session.layout);
    let notes = super::installed::default_notes(&before, &after, &done);
    Ok(InstallReport::Done { results, notes })
}

/// What `--dry-run` shows for one spec.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub name: String,
    pub version: String,
    pub registry: String,
    pub url: String,
    pub size: u64,
    pub checksum: String,
    pub platform: String,
    /// `prebuilt` (extract only) or `source` (set up by the family plugins).
    pub package_kind: &'static str,
    pub families: Vec<String>,
    /// For source packages: what the family plugins would do, one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<String>,
    /// Why the setup plan could not be shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_error: Option<String>,
}

/// Resolves every spec for `platform`; the first error stops. OCI namespaces are asked
/// through the installer's client (made only when one is consulted).
pub fn resolve_all(
    registries: &[Registry],
    specs: &[Spec],
    platform: &str,
    installer: &Installer,
) -> Result<Vec<(usize, Resolved)>, Error> {
    let oci = if registries
        .iter()
        .any(|r| matches!(r.source, jrt_registry::source::Source::Oci(_)))
    {
        if installer.offline {
            return Err(Error::Usage(
                "an OCI registry is configured, and --offline forbids asking it for tags".into(),
            ));
        }
        Some(installer.oci()?)
    } else {
        None
    };
    specs
        .iter()
        .map(|spec| {
            jrt_registry::lookup::find(spec, registries, platform, oci)
                .map(|r| (r.registry, r))
                .map_err(Error::from)
        })
        .collect()
}

/// The plan `--dry-run` prints.
pub fn plan(
    registries: &[Registry],
    resolved: &[(usize, Resolved)],
    platform: &str,
) -> Vec<Planned> {
    resolved
        .iter()
        .map(|(i, r)| {
            let registry = &registries[*i];
            let (url, checksum, size) = r.package();
            Planned {
                name: r.name.clone(),
                version: r.version.to_string(),
                registry: registry.source.display(),
                url: registry
                    .resolve_url(url)
                    .map(|u| u.to_string())
                    .unwrap_or_else(|_| url.to_string()),
                size,
                checksum: checksum.to_string(),
                platform: platform.to_string(),
                package_kind: if r.artifact.is_some() {
                    "prebuilt"
                } else {
                    "source"
                },
                families: r.entry.family.clone(),
                setup: Vec::new(),
                setup_error: None,
            }
        })
        .collect()
}

/// Adds the setup plans of the source packages to a dry-run `plan` (reading each package's
/// manifest, which downloads and verifies the package into the cache).
pub fn plan_setups(
    planned: &mut [Planned],
    installer: &Installer,
    registries: &[Registry],
    resolved: &[(usize, Resolved)],
    setup: &dyn ProvideSetup,
    http: Option<&jrt_client::http::Http>,
) {
    for (p, (i, r)) in planned.iter_mut().zip(resolved) {
        if r.artifact.is_some() {
            continue;
        }
        let (url, checksum, size) = r.package();
        let result = registries[*i]
            .resolve_url(url)
            .map_err(jrt_install::source::SetUpError::from)
            .and_then(|url| {
                if url.scheme() == "oci" {
                    // Its manifest.yaml is in its config blob: no package download.
                    return installer
                        .manifest_of_oci(&url, checksum)
                        .map_err(|e| jrt_install::source::SetUpError::Oci(Box::new(e)));
                }
                jrt_install::source::manifest_of_package(
                    &installer.packages,
                    http,
                    &url,
                    checksum,
                    size,
                    installer.offline,
                )
            })
            .and_then(|m| {
                p.families = m.family.clone();
                let env = setup.setup_env()?;
                Ok((jrt_install::source::plans(env, &m)?, env))
            });
        match result {
            Ok((plans, env)) => {
                for (plugin, plan, network) in plans {
                    p.setup.extend(jrt_install::source::describe(
                        &plugin,
                        &plan,
                        network.as_ref(),
                        &env.policy.mirrors,
                    ));
                }
            }
            // Shown in the plan (text and JSON), beside the package it is about.
            Err(e) => p.setup_error = Some(e.to_string()),
        }
    }
}

/// Installs the resolved packages, `jobs` at a time; results are in the order given. A root
/// that cannot be written fails the whole batch before anything is downloaded.
pub fn install_all(
    installer: &Installer,
    registries: &[Registry],
    resolved: &[(usize, Resolved)],
    platform: &str,
    force: bool,
    jobs: usize,
    setup: Option<&dyn ProvideSetup>,
) -> Result<Vec<Result<Outcome, InstallError>>, InstallError> {
    installer.prepare()?;
    let results: Vec<Mutex<Option<Result<Outcome, InstallError>>>> =
        resolved.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, resolved.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((reg, r)) = resolved.get(i) else {
                        break;
                    };
                    let result = installer.install(&registries[*reg], r, platform, force, setup);
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    Ok(results
        .into_iter()
        .map(|m| {
            m.into_inner().ok().flatten().unwrap_or_else(|| {
                Err(InstallError::Registry {
                    name: String::new(),
                    version: String::new(),
                    message: "the install thread stopped unexpectedly".into(),
                })
            })
        })
        .collect())
}
