//! `jrt list`, `jrt info`, `jrt remove` and `jrt verify`: what is installed, and its state.

use std::path::PathBuf;

use serde::Serialize;

use jrt_fs::lock;
use jrt_install::layout::{self, Layout};
use jrt_install::receipt::{Drift, Receipt};
use jrt_registry::source::Registry;
use jrt_registry::{Spec, VersionReq};

/// One installed runtime.
#[derive(Debug, Clone, Serialize)]
pub struct Installed {
    pub name: String,
    pub version: String,
    pub path: PathBuf,
    pub platform: String,
    pub package_kind: String,
    pub registry: String,
    pub checksum: String,
    pub installed_at: u64,
    /// Whether a bare name (`--runtime=NAME`, `NAME@latest`, `jrt run NAME`) gets this
    /// version: the first version directory in byte order, as Joblet's resolver picks it.
    pub default: bool,
}

/// The version a bare `name` gets on this node, when one is installed.
pub fn default_version(all: &[Installed], name: &str) -> Option<String> {
    all.iter()
        .rfind(|i| i.name == name && i.default)
        .map(|i| i.version.clone())
}

/// What installing `done` (name, version) changed about what bare names run, in words:
/// a second version that takes over a bare name, or one that does not get it.
pub fn default_notes(
    before: &[Installed],
    after: &[Installed],
    done: &[(String, String)],
) -> Vec<String> {
    let mut notes = Vec::new();
    for (name, version) in done {
        let (Some(was), Some(now)) = (default_version(before, name), default_version(after, name))
        else {
            continue;
        };
        if was != now {
            notes.push(format!(
                "a bare --runtime={name} now runs {now} (it ran {was}); jobs that need {was} \
                 should ask for --runtime={name}@{was}"
            ));
        } else if &now != version {
            notes.push(format!(
                "{name}@{version} is installed, but a bare --runtime={name} runs {now}: ask for \
                 --runtime={name}@{version}"
            ));
        }
    }
    notes
}

/// Every installed runtime, sorted by name then semver.
pub fn installed(layout: &Layout) -> Vec<Installed> {
    let mut out = Vec::new();
    let Ok(names) = std::fs::read_dir(layout.root()) else {
        return out;
    };
    for name in names.flatten() {
        let name_s = name.file_name().to_string_lossy().into_owned();
        if name_s.starts_with('.') {
            continue;
        }
        let Ok(versions) = std::fs::read_dir(name.path()) else {
            continue;
        };
        for v in versions.flatten() {
            let dir = v.path();
            if let Ok(r) = Receipt::read(&layout::receipt_path(&dir)) {
                out.push(Installed {
                    name: r.name,
                    version: r.version,
                    path: dir,
                    platform: r.platform,
                    package_kind: r.package_kind,
                    registry: r.registry,
                    checksum: r.checksum,
                    installed_at: r.installed_at,
                    default: false,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        a.name.cmp(&b.name).then_with(|| {
            match (
                semver::Version::parse(&a.version),
                semver::Version::parse(&b.version),
            ) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                _ => a.version.cmp(&b.version),
            }
        })
    });
    mark_defaults(&mut out);
    out
}

/// Marks what a bare name gets on this node. Joblet's resolver (`FindRuntimeDirectory` in
/// `internal/joblet/runtime/resolver.go`) walks `<base>/<name>/<version>/` in `os.ReadDir`
/// order, which is byte order of the names, and takes the first `runtime.yml` whose name
/// matches: so 1.3.3 wins over 1.3.4, and 1.3.10 over 1.3.3. Not semver, and jrt follows it
/// so that `jrt run NAME` runs what a job with `--runtime=NAME` gets.
fn mark_defaults(all: &mut [Installed]) {
    let dir_name = |i: &Installed| i.path.file_name().map(|n| n.as_encoded_bytes().to_vec());
    for i in 0..all.len() {
        let mine = dir_name(&all[i]);
        all[i].default = !all
            .iter()
            .any(|other| other.name == all[i].name && dir_name(other) < mine);
    }
}

/// The installs a spec names: `name` all versions, `name@ver` one, requirements those that
/// match.
pub fn matching<'a>(all: &'a [Installed], spec: &Spec) -> Vec<&'a Installed> {
    all.iter()
        .filter(|i| i.name == spec.name)
        .filter(|i| match &spec.req {
            VersionReq::Latest => true,
            VersionReq::Exact(v) => i.version == v.to_string(),
            VersionReq::Req(req, _) => {
                semver::Version::parse(&i.version).is_ok_and(|v| req.matches(&v))
            }
        })
        .collect()
}

/// One runtime version a registry offers.
#[derive(Debug, Clone, Serialize)]
pub struct Available {
    pub name: String,
    pub version: String,
    pub description: String,
    pub registry: String,
    pub platforms: Vec<String>,
    pub prebuilt: Vec<String>,
    pub family: Vec<String>,
    pub size: u64,
    pub checksum: String,
    pub yanked: bool,
    pub installed: bool,
}

/// What the registries offer; a name is taken from the first registry that has it.
pub fn available(registries: &[Registry], layout: &Layout) -> Vec<Available> {
    let mut out: Vec<Available> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for reg in registries {
        for (name, versions) in &reg.index.runtimes {
            if !seen.insert(name.clone()) {
                continue;
            }
            let mut vs: Vec<_> = versions.iter().collect();
            vs.sort_by(
                |a, b| match (semver::Version::parse(a.0), semver::Version::parse(b.0)) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => a.0.cmp(b.0),
                },
            );
            for (version, e) in vs {
                out.push(Available {
                    name: name.clone(),
                    version: version.clone(),
                    description: e.description.clone(),
                    registry: reg.source.display(),
                    platforms: e.platforms.clone(),
                    prebuilt: e.artifacts.keys().cloned().collect(),
                    family: e.family.clone(),
                    size: e.size,
                    checksum: e.checksum.to_string(),
                    yanked: e.yanked,
                    installed: layout::receipt_path(&layout.install_dir(name, version)).is_file(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Why a remove failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error("{spec} is not installed{}", if .installed.is_empty() { String::new() } else { format!(" (installed: {})", .installed.join(", ")) })]
    NotInstalled {
        spec: String,
        installed: Vec<String>,
    },
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
}

/// A spec as the user meant it: a bare name stands for every version.
fn shown(spec: &Spec) -> String {
    match spec.req {
        VersionReq::Latest => spec.name.clone(),
        _ => spec.to_string(),
    }
}

/// Removes the installs `spec` names, each under its lock: the tree is first renamed into
/// the trash (it disappears from its path at once), then deleted.
pub fn remove(layout: &Layout, spec: &Spec) -> Result<Vec<Installed>, RemoveError> {
    let all = installed(layout);
    let targets: Vec<Installed> = matching(&all, spec).into_iter().cloned().collect();
    if targets.is_empty() {
        return Err(RemoveError::NotInstalled {
            spec: shown(spec),
            installed: all
                .iter()
                .filter(|i| i.name == spec.name)
                .map(|i| format!("{}@{}", i.name, i.version))
                .collect(),
        });
    }
    let io = jrt_fs::io;
    std::fs::create_dir_all(layout.trash()).map_err(io("cannot create", &layout.trash()))?;
    for t in &targets {
        let lock_file = layout.lock_file(&t.name, &t.version);
        let _lock = lock::exclusive(&lock_file).map_err(io("cannot lock", &lock_file))?;
        let trash = tempfile::Builder::new()
            .prefix(&format!("{}@{}.", t.name, t.version))
            .tempdir_in(layout.trash())
            .map_err(io("cannot create a directory in", &layout.trash()))?;
        let dest = trash.path().join("tree");
        std::fs::rename(&t.path, &dest).map_err(io("cannot remove", &t.path))?;
        drop(trash); // deletes the tree
        // Drop the name's directory when its last version went.
        let _ = std::fs::remove_dir(layout.runtime_dir(&t.name));
    }
    Ok(targets)
}

/// One install's verification.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub name: String,
    pub version: String,
    pub path: PathBuf,
    pub drift: Drift,
    /// A receipt that could not be read.
    pub error: Option<String>,
}

impl Verified {
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.drift.is_clean()
    }
}

/// Re-hashes installed trees against their receipts (all when `specs` is empty).
pub fn verify(layout: &Layout, specs: &[Spec]) -> Result<Vec<Verified>, RemoveError> {
    let all = installed(layout);
    let mut chosen: Vec<&Installed> = Vec::new();
    if specs.is_empty() {
        chosen.extend(all.iter());
    } else {
        for spec in specs {
            let m = matching(&all, spec);
            if m.is_empty() {
                return Err(RemoveError::NotInstalled {
                    spec: shown(spec),
                    installed: Vec::new(),
                });
            }
            chosen.extend(m);
        }
    }
    Ok(chosen
        .into_iter()
        .map(|i| match Receipt::read(&layout::receipt_path(&i.path)) {
            Ok(r) => Verified {
                name: i.name.clone(),
                version: i.version.clone(),
                path: i.path.clone(),
                drift: r.verify(&i.path),
                error: None,
            },
            Err(e) => Verified {
                name: i.name.clone(),
                version: i.version.clone(),
                path: i.path.clone(),
                drift: Drift::default(),
                error: Some(e.to_string()),
            },
        })
        .collect())
}

/// What `jrt info` shows of one runtime: its versions in the registries, and what of it is
/// installed.
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    pub name: String,
    pub versions: Vec<Available>,
    pub installed: Vec<Installed>,
}

/// `jrt info SPEC`. A runtime that is neither offered nor installed gets the resolver's error,
/// which lists what is available.
pub fn info(session: &super::Session, spec: &Spec) -> Result<Info, super::Error> {
    let registries = session.registries()?;
    let versions: Vec<_> = available(&registries, &session.layout)
        .into_iter()
        .filter(|a| a.name == spec.name)
        .collect();
    let installed: Vec<_> = installed(&session.layout)
        .into_iter()
        .filter(|i| i.name == spec.name)
        .collect();
    if versions.is_empty() && installed.is_empty() {
        let indexes: Vec<_> = registries.iter().map(|r| &r.index).collect();
        jrt_registry::spec::resolve(spec, &indexes, "ubuntu-amd64")?;
    }
    Ok(Info {
        name: spec.name.clone(),
        versions,
        installed,
    })
}
