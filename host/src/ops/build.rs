//! `jrt build DIR... [--prebuilt]`: validate the manifests, then write each runtime's source
//! package, or set it up here for a platform and pack the result (a prebuilt package).

use std::path::PathBuf;

use jrt_client::progress::Progress;
use jrt_install::facts::FactsSource;
use jrt_publish::build::Built;

use super::{Error, Session};

/// How `jrt build` runs.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Prebuilt packages for this platform instead of the detected one.
    pub platform: Option<String>,
    pub out: PathBuf,
    pub prebuilt: bool,
}

/// Builds every runtime in `dirs`; nothing is built from a manifest that does not validate.
pub fn run(
    session: &Session,
    dirs: &[PathBuf],
    options: &BuildOptions,
    progress: &dyn Progress,
) -> Result<Vec<Built>, Error> {
    let ctx = session.plugins()?;
    let problems = super::validate::validate(&ctx, dirs)?;
    if problems.iter().any(|p| p.severity == "error") {
        return Err(Error::Invalid {
            problems,
            dirs: dirs.len(),
            action: "built",
        });
    }
    if !options.prebuilt {
        if options.platform.is_some() {
            return Err(Error::Usage(
                "--platform applies to --prebuilt builds; a source package serves every platform"
                    .into(),
            ));
        }
        return Ok(dirs
            .iter()
            .map(|d| jrt_publish::build::source(d, &options.out))
            .collect::<Result<Vec<_>, _>>()?);
    }
    let env = session.setup_env(ctx, &FactsSource::default(), options.platform.clone())?;
    let cache = session.cache()?;
    let http = session.online_http()?;
    // Setups fetch into the cache: `jrt cache prune` must wait for this build.
    let cache_lock = cache.lock_path();
    std::fs::create_dir_all(cache.root()).map_err(jrt_fs::io("cannot create", cache.root()))?;
    let _cache =
        jrt_fs::lock::shared(&cache_lock).map_err(jrt_fs::io("cannot lock", &cache_lock))?;
    let mut built = Vec::new();
    for d in bases_first(dirs)? {
        fetch_base(session, d, &options.out, &env.platform.id)?;
        built.push(jrt_publish::build::prebuilt(
            d,
            &options.out,
            &env,
            cache,
            http.as_ref(),
            progress,
        )?);
    }
    Ok(built)
}

/// `dirs` with every runtime after the base it names, when that base is among them (its
/// package must exist before the runtime's own layer can be made from it).
fn bases_first(dirs: &[PathBuf]) -> Result<Vec<&PathBuf>, Error> {
    let mut pending: Vec<(&PathBuf, String, Option<String>)> = Vec::new();
    for d in dirs {
        let m = jrt_publish::build::manifest_of(d)?;
        let base = jrt_publish::build::base_of(&m)?.map(|(name, _)| name);
        pending.push((d, m.name, base));
    }
    let mut out = Vec::new();
    while !pending.is_empty() {
        let waits = |base: &Option<String>, pending: &[(&PathBuf, String, Option<String>)]| {
            base.as_ref()
                .is_some_and(|b| pending.iter().any(|(_, name, _)| name == b))
        };
        let Some(i) = (0..pending.len()).find(|&i| !waits(&pending[i].2, &pending)) else {
            return Err(Error::Usage(format!(
                "the bases of {} name each other in a circle",
                pending
                    .iter()
                    .map(|(_, n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        out.push(pending.remove(i).0);
    }
    Ok(out)
}

/// For a runtime with a `base`: puts the base's published prebuilt package for `platform`
/// into `out` (downloaded from the registries and verified) unless it is there already
/// (built earlier into the same `out`). Its own layer is then the difference from exactly
/// the bytes that are published.
fn fetch_base(
    session: &Session,
    dir: &std::path::Path,
    out: &std::path::Path,
    platform: &str,
) -> Result<(), Error> {
    let manifest = jrt_publish::build::manifest_of(dir)?;
    let Some((name, version)) = jrt_publish::build::base_of(&manifest)? else {
        return Ok(());
    };
    let dest = out.join(format!("{name}-{version}-{platform}.tar.gz"));
    if dest.is_file() {
        return Ok(());
    }
    let registries = session.registries()?;
    let installer = session.installer()?;
    let spec = jrt_registry::Spec {
        name: name.clone(),
        req: jrt_registry::VersionReq::Exact(
            semver::Version::parse(&version).map_err(|e| Error::Usage(e.to_string()))?,
        ),
    };
    let resolved = super::install::resolve_all(&registries, &[spec], platform, &installer)?
        .pop()
        .map(|(_, r)| r)
        .ok_or_else(|| Error::Usage(format!("{name}@{version} is in no registry")))?;
    let Some((_, artifact)) = &resolved.artifact else {
        return Err(Error::Usage(format!(
            "{}: its base {name}@{version} has no prebuilt package for {platform} in the \
             registries; build it first into {}",
            manifest.name,
            out.display()
        )));
    };
    let url = registries[resolved.registry]
        .resolve_url(&artifact.download_url)
        .map_err(|e| Error::Usage(e.to_string()))?;
    std::fs::create_dir_all(out).map_err(jrt_fs::io("cannot create", out))?;
    installer.download_package(&url, &artifact.checksum, artifact.size, platform, &dest)?;
    Ok(())
}
