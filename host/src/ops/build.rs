//! `jrt build DIR... [--prebuilt]`: validate the manifests, then write each runtime's source
//! package, or set it up here for a platform and pack the result (a prebuilt package).

use std::path::PathBuf;

use jrt_client::progress::Progress;
use jrt_install::facts::FactsSource;
use jrt_install::source::SetupEnv;
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
    let plugins = ctx.plugins()?;
    let detected = super::detect::detect_with(
        &ctx,
        &plugins,
        &FactsSource::default(),
        options.platform.clone(),
    )?;
    let mut env = SetupEnv::new(&ctx.host, &plugins, &detected.facts, &detected.platform);
    env.policy.mirrors = session.mirrors.clone();
    let cache = session.cache()?;
    let http = session.online_http()?;
    Ok(dirs
        .iter()
        .map(|d| {
            jrt_publish::build::prebuilt(d, &options.out, &env, cache, http.as_ref(), progress)
        })
        .collect::<Result<Vec<_>, _>>()?)
}
