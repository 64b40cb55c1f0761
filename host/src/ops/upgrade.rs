//! `jrt outdated` and `jrt upgrade [NAME...] [--prune]`: newer versions of installed runtimes,
//! within what each was installed with (its receipt's `requested`: `^1.3` never becomes 2.x,
//! an exact version never moves). An upgrade installs the new version beside the old one, so
//! jobs that name the old version keep running; `--prune` removes the older versions once the
//! new one is in place.

use std::collections::BTreeMap;
use std::sync::Arc;

use semver::Version;
use serde::Serialize;

use jrt_install::{InstallError, Outcome};
use jrt_registry::{Spec, VersionReq};

use super::install::{InstallOptions, InstallReport};
use super::installed::Installed;
use super::{Error, Session};

/// One installed runtime with a newer version available.
#[derive(Debug, Clone, Serialize)]
pub struct Outdated {
    pub name: String,
    /// The newest version installed.
    pub installed: String,
    /// What it was installed with.
    pub requested: String,
    /// The newest version `requested` allows.
    pub wanted: String,
    /// The newest version at all (it may be outside `requested`).
    pub latest: Option<String>,
    pub platform: String,
}

/// The newest installed version of each runtime, with its receipt's request and platform.
fn newest_installed(session: &Session) -> BTreeMap<String, (Version, Installed, String)> {
    let mut newest: BTreeMap<String, (Version, Installed, String)> = BTreeMap::new();
    for i in super::installed::installed(&session.layout) {
        let Ok(v) = Version::parse(&i.version) else {
            continue;
        };
        let receipt =
            jrt_install::receipt::Receipt::read(&jrt_install::layout::receipt_path(&i.path));
        // Receipts from before jrt kept the request: the newest stable version.
        let requested = receipt
            .ok()
            .and_then(|r| r.requested)
            .unwrap_or_else(|| "latest".into());
        if newest.get(&i.name).is_none_or(|(old, _, _)| v > *old) {
            newest.insert(i.name.clone(), (v, i, requested));
        }
    }
    newest
}

/// `jrt outdated`: installed runtimes whose request allows a newer version than installed.
pub fn outdated(session: &Session) -> Result<Vec<Outdated>, Error> {
    let registries = session.registries()?;
    let installer = session.installer()?;
    let mut out = Vec::new();
    for (name, (version, installed, requested)) in newest_installed(session) {
        let spec: Spec = format!("{name}@{requested}").parse().unwrap_or(Spec {
            name: name.clone(),
            req: VersionReq::Latest,
        });
        let resolve = |spec: Spec| {
            super::install::resolve_all(&registries, &[spec], &installed.platform, &installer)
                .ok()
                .and_then(|mut r| r.pop())
                .map(|(_, r)| r.version)
        };
        // A runtime the registries no longer offer is not outdated, just unknown to them.
        let Some(wanted) = resolve(spec) else {
            continue;
        };
        if wanted <= version {
            continue;
        }
        let latest = resolve(Spec {
            name: name.clone(),
            req: VersionReq::Latest,
        });
        out.push(Outdated {
            name,
            installed: version.to_string(),
            requested,
            wanted: wanted.to_string(),
            latest: latest.map(|v| v.to_string()),
            platform: installed.platform,
        });
    }
    Ok(out)
}

/// What `jrt upgrade` did.
#[derive(Debug, Serialize)]
pub struct Upgraded {
    pub outdated: Vec<Outdated>,
    #[serde(skip)]
    pub results: Vec<Result<Outcome, InstallError>>,
    /// `name@version` removed by `--prune`.
    pub pruned: Vec<String>,
}

/// `jrt upgrade [NAME...]`: installs the version each outdated runtime's request now
/// allows (all of them, or those named); with `prune`, then removes their older versions.
pub fn upgrade(
    session: &Session,
    names: &[String],
    prune: bool,
    jobs: usize,
    progress: Option<Arc<dyn jrt_client::progress::Progress>>,
) -> Result<Upgraded, Error> {
    let installed = newest_installed(session);
    if let Some(missing) = names.iter().find(|n| !installed.contains_key(*n)) {
        return Err(Error::Usage(format!("{missing} is not installed")));
    }
    let outdated: Vec<Outdated> = outdated(session)?
        .into_iter()
        .filter(|o| names.is_empty() || names.contains(&o.name))
        .collect();
    if outdated.is_empty() {
        return Ok(Upgraded {
            outdated,
            results: Vec::new(),
            pruned: Vec::new(),
        });
    }
    // The request itself, so the receipt keeps it; it resolves to `wanted`.
    let specs: Vec<Spec> = outdated
        .iter()
        .filter_map(|o| format!("{}@{}", o.name, o.requested).parse().ok())
        .collect();
    let options = InstallOptions {
        jobs,
        platform: outdated.first().map(|o| o.platform.clone()),
        ..InstallOptions::default()
    };
    let InstallReport::Done { results, .. } =
        super::install::run(session, &specs, &options, progress)?
    else {
        return Err(Error::Usage("an upgrade is not a dry run".into()));
    };
    let mut pruned = Vec::new();
    if prune {
        for (o, result) in outdated.iter().zip(&results) {
            let Ok(done) = result else {
                continue;
            };
            let mut older: Vec<(Version, Installed)> = super::installed::installed(&session.layout)
                .into_iter()
                .filter(|i| i.name == o.name && i.version != done.version)
                .filter_map(|i| Version::parse(&i.version).ok().map(|v| (v, i)))
                .collect();
            older.sort_by(|a, b| a.0.cmp(&b.0));
            for (version, old) in older {
                let spec = Spec {
                    name: old.name.clone(),
                    req: VersionReq::Exact(version),
                };
                super::installed::remove(&session.layout, &spec)?;
                pruned.push(format!("{}@{}", old.name, old.version));
            }
        }
    }
    Ok(Upgraded {
        outdated,
        results,
        pruned,
    })
}
