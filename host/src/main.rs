//! The `jrt` command line: parses arguments, calls into the library's `ops`, prints the
//! result as text or JSON, and maps errors to exit codes (0 ok, 1 failure, 2 usage).

mod cli;

use jrt_fs::cache::Cache;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::Parser;

use cli::args::{Cli, Command, PluginCommand, RegistryCommand};
use cli::print;
use jrt::ops::{self, Context, detect::DetectError};
use jrt_install::facts::FactsSource;
use jrt_install::{Installer, Layout};
use jrt_plugin_host::{HostOptions, LogLevel};
use jrt_registry::Spec;

/// An error in what the user typed, not a failure (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

/// A failure already reported in the command's own output (exit 1, nothing more to print).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Reported(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let usage = e.downcast_ref::<UsageError>().is_some();
            if e.downcast_ref::<Reported>().is_none() {
                // Errors quote registries, packages and programs: nothing of theirs may drive
                // the terminal.
                let message = jrt_input::display::safe(&format!("{e:#}")).into_owned();
                if cli.json {
                    println!("{}", serde_json::json!({ "error": message }));
                } else {
                    eprintln!("error: {message}");
                }
            }
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// Progress bars only for a person at a terminal: not with --json or -q, not when piped.
fn shows_bars(cli: &Cli) -> bool {
    !cli.json && !cli.quiet && std::io::stderr().is_terminal() && std::io::stdout().is_terminal()
}

fn parse_spec(text: &str) -> Result<Spec> {
    text.parse::<Spec>()
        .map_err(|e| anyhow::Error::new(UsageError(e.to_string())))
}

fn run(cli: &Cli) -> Result<()> {
    let config = jrt::config::load(
        cli.config.as_deref(),
        jrt::config::default_rnx_config().as_deref(),
    )?;
    let root = match cli.root.clone().or_else(|| config.root.clone()) {
        Some(r) => r,
        None => jrt_fs::paths::default_root()
            .context("cannot tell where runtimes go: set --root or JRT_ROOT (HOME is unset)")?,
    };
    let cache = cli
        .cache_dir
        .clone()
        .or_else(|| config.cache_dir.clone())
        .or_else(jrt_fs::paths::default_cache)
        .map(Cache::new);
    let public_key = cli.public_key.clone().or_else(|| config.public_key.clone());
    let defaults = jrt_client::http::Policy::default();
    let http_policy = jrt_client::http::Policy {
        allow_insecure_http: cli.allow_insecure_http || config.allow_insecure_http,
        min_rate: config.download_min_rate.unwrap_or(defaults.min_rate),
        grace: config
            .download_grace_seconds
            .map(std::time::Duration::from_secs)
            .unwrap_or(defaults.grace),
        ..defaults
    };
    let load_registries = || -> Result<Vec<jrt_registry::source::Registry>> {
        let chosen = ops::registries::chosen(&cli.registry, &config);
        let trust = match &public_key {
            None => None,
            Some(key) => Some(jrt_registry::source::Trust {
                key: jrt_registry::signature::public_key(key)?,
                state_dir: cache
                    .as_ref()
                    .context("cannot tell where to keep registry serials: set --cache-dir")?
                    .trust(),
            }),
        };
        Ok(ops::registries::load(
            &chosen,
            || jrt_client::http::Http::new(http_policy),
            cache.as_ref(),
            cli.offline,
            trust.as_ref(),
        )?)
    };
    let log_level = match (cli.quiet, cli.verbose) {
        (true, _) => LogLevel::Error,
        (false, 0) => LogLevel::Warn,
        (false, 1) => LogLevel::Info,
        (false, 2) => LogLevel::Debug,
        _ => LogLevel::Trace,
    };
    let plugin_ctx = || {
        Context::new(
            root.clone(),
            cache.clone(),
            HostOptions {
                log_level,
                ..HostOptions::default()
            },
        )
    };
    // Mirrors for plan fetches: config.yaml's, then JRT_MIRROR's (which win a tie).
    let mut mirrors = config.mirrors.clone();
    if let Some(text) = std::env::var_os("JRT_MIRROR") {
        mirrors.extend(jrt_install::setup::mirror::Mirror::parse_list(
            &text.to_string_lossy(),
        )?);
    }
    let layout = Layout::new(&root);
    // As root, a root or cache that others can write would let them plant plugins or swap
    // staging: refuse before anything is read from or written to them.
    let meta_dir = layout.meta();
    let mut trusted = vec![root.as_path(), meta_dir.as_path()];
    trusted.extend(cache.as_ref().map(Cache::root));
    jrt_fs::paths::check_trusted(&trusted)?;
    match &cli.command {
        Command::Install {
            specs,
            force,
            platform,
            jobs,
            dry_run,
        } => {
            let specs = specs
                .iter()
                .map(|s| parse_spec(s))
                .collect::<Result<Vec<_>>>()?;
            let registries = load_registries()?;
            let ctx = plugin_ctx()?;
            let plugins = ctx.plugins()?;
            let detected =
                ops::detect::detect_with(&ctx, &plugins, &FactsSource::default(), platform.clone())
                    .map_err(usage_if_unknown_platform)?;
            let platform = detected.platform.id.clone();
            let resolved = ops::install::resolve_all(&registries, &specs, &platform)?;
            let cache = cache.context("cannot tell where to cache downloads: set --cache-dir")?;
            let mut installer = Installer::new(&root, cache.root(), cli.offline);
            installer.http_policy = http_policy;
            // Source packages may reuse a host interpreter: the host finds them (when a
            // source package is set up), the plugins decide, and only the found
            // interpreters' own files become copyable.
            let mut env = jrt_install::source::SetupEnv::new(
                &ctx.host,
                &plugins,
                &detected.facts,
                &detected.platform,
            );
            env.policy.mirrors = mirrors.clone();
            if *dry_run {
                let mut plan = ops::install::plan(&registries, &resolved, &platform);
                let http = if cli.offline {
                    None
                } else {
                    installer.http().ok()
                };
                ops::install::plan_setups(
                    &mut plan,
                    &installer,
                    &registries,
                    &resolved,
                    &env,
                    http,
                );
                return print::output(cli.json, &plan, print::plan);
            }
            if shows_bars(cli) {
                installer.progress = std::sync::Arc::new(cli::progress::Bars::new());
            }
            let before = ops::installed::installed(&layout);
            let results = ops::install::install_all(
                &installer,
                &registries,
                &resolved,
                &platform,
                *force,
                *jobs,
                Some(&env),
            )?;
            print::install_results(cli.json, cli.quiet, &results);
            let done: Vec<(String, String)> = results
                .iter()
                .flatten()
                .map(|o| (o.name.clone(), o.version.clone()))
                .collect();
            if !cli.json {
                let after = ops::installed::installed(&layout);
                for note in ops::installed::default_notes(&before, &after, &done) {
                    eprintln!("note: {}", jrt_input::display::safe(&note));
                }
            }
            let failed = results.iter().filter(|r| r.is_err()).count();
            if failed > 0 {
                bail!(Reported(format!("{failed} install(s) failed")));
            }
            Ok(())
        }
        Command::List { available } => {
            if *available {
                let registries = load_registries()?;
                let rows = ops::installed::available(&registries, &layout);
                print::output(cli.json, &rows, print::available)
            } else {
                let rows = ops::installed::installed(&layout);
                print::output(cli.json, &rows, print::installed)
            }
        }
        Command::Info { spec } => {
            let spec = parse_spec(spec)?;
            let registries = load_registries()?;
            let rows: Vec<_> = ops::installed::available(&registries, &layout)
                .into_iter()
                .filter(|a| a.name == spec.name)
                .collect();
            let installed: Vec<_> = ops::installed::installed(&layout)
                .into_iter()
                .filter(|i| i.name == spec.name)
                .collect();
            if rows.is_empty() && installed.is_empty() {
                let indexes: Vec<_> = registries.iter().map(|r| &r.index).collect();
                // Reuse the resolver's message, which lists what is available.
                jrt_registry::spec::resolve(&spec, &indexes, "ubuntu-amd64")?;
            }
            let info =
                serde_json::json!({ "name": spec.name, "versions": rows, "installed": installed });
            print::output(cli.json, &info, |_| print::info(&rows, &installed))
        }
        Command::Remove { spec } => {
            let spec = parse_spec(spec)?;
            let removed = ops::installed::remove(&layout, &spec)?;
            print::output(cli.json, &removed, |rows| {
                if !cli.quiet {
                    for r in rows {
                        println!("removed {}@{} from {}", r.name, r.version, r.path.display());
                    }
                }
            })
        }
        Command::Run {
            spec,
            user,
            privileged,
            command,
        } => {
            let spec = ops::run::joblet_spec(spec)?;
            let options = ops::run::RunOptions {
                user: user.as_deref().map(ops::run::parse_user).transpose()?,
                privileged: *privileged,
            };
            let (dir, yml) = ops::run::find(&layout, &spec)?;
            let code = ops::run::run(&layout, &dir, &yml, command, &options)?;
            std::process::exit(code)
        }
        Command::Verify { specs } => {
            let specs = specs
                .iter()
                .map(|s| parse_spec(s))
                .collect::<Result<Vec<_>>>()?;
            let results = ops::installed::verify(&layout, &specs)?;
            print::output(cli.json, &results, print::verified)?;
            let bad = results.iter().filter(|v| !v.ok()).count();
            if bad > 0 {
                bail!(Reported(format!(
                    "{bad} install(s) differ from their receipts"
                )));
            }
            Ok(())
        }
        Command::Build {
            dirs,
            platform,
            out,
            prebuilt,
        } => {
            // Nothing is built from a manifest that does not validate.
            let ctx = plugin_ctx()?;
            let problems = ops::validate::validate(&ctx, dirs)?;
            if problems.iter().any(|p| p.severity == "error") {
                print::validated(&problems, dirs.len());
                bail!(Reported(
                    "the manifests have errors; nothing was built".into()
                ));
            }
            let built = if *prebuilt {
                let plugins = ctx.plugins()?;
                let detected = ops::detect::detect_with(
                    &ctx,
                    &plugins,
                    &FactsSource::default(),
                    platform.clone(),
                )
                .map_err(usage_if_unknown_platform)?;
                let mut env = jrt_install::source::SetupEnv::new(
                    &ctx.host,
                    &plugins,
                    &detected.facts,
                    &detected.platform,
                );
                env.policy.mirrors = mirrors.clone();
                let cache =
                    cache.context("cannot tell where to cache downloads: set --cache-dir")?;
                let http = if cli.offline {
                    None
                } else {
                    Some(jrt_client::http::Http::new(http_policy)?)
                };
                let progress: Box<dyn jrt_client::progress::Progress> = if shows_bars(cli) {
                    Box::new(cli::progress::Bars::new())
                } else {
                    Box::new(jrt_client::progress::Silent)
                };
                dirs.iter()
                    .map(|d| {
                        jrt_publish::build::prebuilt(
                            d,
                            out,
                            &env,
                            &cache,
                            http.as_ref(),
                            progress.as_ref(),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                if platform.is_some() {
                    return Err(UsageError(
                        "--platform applies to --prebuilt builds; a source package serves every platform"
                            .into(),
                    )
                    .into());
                }
                dirs.iter()
                    .map(|d| jrt_publish::build::source(d, out))
                    .collect::<Result<Vec<_>, _>>()?
            };
            print::output(cli.json, &built, |rows| {
                for b in rows {
                    println!(
                        "built {} ({} bytes, sha256:{})",
                        b.path.display(),
                        b.size,
                        b.sha256
                    );
                    if let Some(lock) = &b.versions_lock {
                        println!("      {}", lock.display());
                    }
                }
            })
        }
        Command::Registry { command } => match command {
            RegistryCommand::Add {
                packages,
                index,
                base_url,
                force,
            } => {
                let added = jrt_publish::index::add(index, packages, base_url, *force)?;
                print::output(cli.json, &added, |a| {
                    for (what, how) in &a.changes {
                        println!("{how:9} {what}");
                    }
                    println!("{} at serial {}", a.index.display(), a.serial);
                })
            }
            RegistryCommand::Sign {
                key,
                index,
                expires_in_days,
            } => {
                let password = std::env::var("JRT_SIGNING_PASSWORD").unwrap_or_default();
                let sig_path =
                    jrt_publish::sign::sign_index(index, key, &password, *expires_in_days)?;
                print::output(cli.json, &sig_path, |p| println!("signed: {}", p.display()))
            }
            RegistryCommand::Verify { index } => {
                let key = public_key.as_deref().ok_or_else(|| {
                    UsageError(
                        "registry verify needs --public-key (or public_key in the config)".into(),
                    )
                })?;
                let key = jrt_registry::signature::public_key(key)?;
                let serial = jrt_publish::sign::verify_index(index, &key)?;
                let shown = index.display().to_string();
                print::output(cli.json, &shown, |s| {
                    println!("{s}: signature ok, serial {serial}")
                })
            }
        },
        Command::Release { tag, runtimes } => {
            let tag = jrt_publish::release::Tag::parse(tag)
                .map_err(|e| anyhow::Error::new(UsageError(e.to_string())))?;
            let dirs: Vec<PathBuf> = jrt_registry::source::runtime_dirs(runtimes).collect();
            // Validate first: a release of broken manifests changes nothing.
            let problems = ops::validate::validate(&plugin_ctx()?, &dirs)?;
            if problems.iter().any(|p| p.severity == "error") {
                print::validated(&problems, dirs.len());
                bail!(Reported(
                    "the manifests have errors; nothing was changed".into()
                ));
            }
            let released = jrt_publish::release::release(&dirs, &tag)?;
            print::output(cli.json, &released, |rows| {
                for r in rows {
                    if r.changed {
                        println!("{}: {} -> {}", r.name, r.from, r.to);
                    } else {
                        println!("{}: {} (unchanged)", r.name, r.to);
                    }
                }
            })
        }
        Command::Validate { dirs } => {
            let dirs: Vec<PathBuf> = if dirs.is_empty() {
                jrt_registry::source::runtime_dirs(Path::new("runtimes")).collect()
            } else {
                dirs.clone()
            };
            if dirs.is_empty() {
                return Err(UsageError(
                    "no runtime directories given, and ./runtimes holds none".into(),
                )
                .into());
            }
            let problems = ops::validate::validate(&plugin_ctx()?, &dirs)?;
            print::output(cli.json, &problems, |rows| {
                print::validated(rows, dirs.len())
            })?;
            let errors = problems.iter().filter(|p| p.severity == "error").count();
            if errors > 0 {
                bail!(Reported(format!("{errors} error(s) in the manifests")));
            }
            Ok(())
        }
        Command::Detect {
            platform,
            sysroot,
            machine,
        } => {
            let source = FactsSource {
                sysroot: sysroot.clone().unwrap_or_else(|| PathBuf::from("/")),
                machine: machine.clone(),
            };
            let report = ops::detect::detect(&plugin_ctx()?, &source, platform.clone())
                .map_err(usage_if_unknown_platform)?;
            print::output(cli.json, &report, |r| print::detect(r, cli.quiet))
        }
        Command::Plugin { command } => match command {
            PluginCommand::List => {
                let rows = ops::plugins::list(&plugin_ctx()?)?;
                print::output(cli.json, &rows, print::plugins)
            }
            PluginCommand::Add {
                file,
                sha256,
                replace_builtin,
            } => {
                let ctx = plugin_ctx()?;
                if let Some(hex) = sha256
                    && !jrt_fs::is_sha256_hex(hex)
                {
                    return Err(UsageError(format!("--sha256 '{hex}' is not 64 hex digits")).into());
                }
                let options = ops::plugins::AddOptions {
                    sha256: sha256.clone(),
                    replace_builtin: *replace_builtin,
                };
                let added = if file.starts_with("http://") || file.starts_with("https://") {
                    let url = url::Url::parse(file)
                        .map_err(|e| UsageError(format!("'{file}' is not a URL: {e}")))?;
                    if cli.offline {
                        return Err(
                            UsageError(format!("cannot download {file} with --offline")).into()
                        );
                    }
                    let http = jrt_client::http::Http::new(http_policy)?;
                    ops::plugins::add_url(&ctx, &url, &http, &options)?
                } else {
                    ops::plugins::add(&ctx, Path::new(file), &options)?
                };
                print::output(cli.json, &added, |a| print::plugin_added(a, cli.quiet))
            }
            PluginCommand::Remove { name } => {
                let removed = ops::plugins::remove(&plugin_ctx()?, name)?;
                print::output(cli.json, &removed, |r| {
                    if !cli.quiet {
                        println!("removed plugin {} {}", r.name, r.version)
                    }
                })
            }
        },
    }
}

fn usage_if_unknown_platform(e: DetectError) -> anyhow::Error {
    match e {
        DetectError::UnknownPlatform(m) => anyhow::Error::new(UsageError(m)),
        other => anyhow::Error::new(other),
    }
}
