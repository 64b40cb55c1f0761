//! The `jrt` command line: parses arguments, calls into the library's `ops`, prints the
//! result as text or JSON, and maps errors to exit codes (0 ok, 1 failure, 2 usage).

mod cli;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Parser;

use cli::args::{CacheCommand, Cli, Command, PluginCommand, RegistryCommand};
use cli::print;
use jrt::ops::install::InstallReport;
use jrt::ops::kind::Kind;
use jrt::ops::{self, Session, Settings};
use jrt_install::facts::FactsSource;
use jrt_plugin_host::LogLevel;
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return grammar_error(e),
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let kind = kind_of(&e);
            // Manifests that do not validate: their problems first, then the one error line.
            if let Some(ops::Error::Invalid { problems, dirs, .. }) = e.downcast_ref::<ops::Error>()
                && !cli.json
            {
                print::validated(problems, *dirs);
            }
            if e.downcast_ref::<Reported>().is_none() {
                // Errors quote registries, packages and programs: nothing of theirs may drive
                // the terminal.
                let message = jrt_input::display::safe(&format!("{e:#}")).into_owned();
                if cli.json {
                    let mut doc = serde_json::json!({ "error": print::error(kind, &message) });
                    if let Some(ops::Error::Invalid { problems, .. }) =
                        e.downcast_ref::<ops::Error>()
                    {
                        doc["problems"] = serde_json::to_value(problems).unwrap_or_default();
                    }
                    println!("{doc}");
                } else {
                    eprintln!("error: {message}");
                }
            }
            ExitCode::from(if kind == Kind::Usage { 2 } else { 1 })
        }
    }
}

/// A command line clap refuses (exit 2); with `--json` anywhere in it, as a JSON error
/// document like every other failure. `--help` and `--version` print as usual.
fn grammar_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let json = std::env::args_os().any(|a| a == "--json");
    if !json || matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    let text = e.render().to_string();
    let message = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid command line")
        .trim_start_matches("error: ");
    let message = jrt_input::display::safe(message).into_owned();
    println!(
        "{}",
        serde_json::json!({ "error": print::error(Kind::Usage, &message) })
    );
    ExitCode::from(2)
}

/// The stable kind of a failure, for `--json` and the exit code.
fn kind_of(e: &anyhow::Error) -> Kind {
    if e.downcast_ref::<UsageError>().is_some() {
        return Kind::Usage;
    }
    if e.downcast_ref::<Reported>().is_some() {
        return Kind::Failed;
    }
    ops::kind::of(e.as_ref()).unwrap_or(Kind::Io)
}

/// Progress bars only for a person at a terminal: not with --json or -q, not when piped.
fn shows_bars(cli: &Cli) -> bool {
    !cli.json && !cli.quiet && std::io::stderr().is_terminal() && std::io::stdout().is_terminal()
}

/// Progress bars for installs, when [`shows_bars`].
fn bars(cli: &Cli) -> Option<std::sync::Arc<dyn jrt_client::progress::Progress>> {
    shows_bars(cli).then(|| {
        std::sync::Arc::new(cli::progress::Bars::new())
            as std::sync::Arc<dyn jrt_client::progress::Progress>
    })
}

fn parse_specs(texts: &[String]) -> Result<Vec<Spec>> {
    texts.iter().map(|s| parse_spec(s)).collect()
}

fn parse_spec(text: &str) -> Result<Spec> {
    text.parse::<Spec>()
        .map_err(|e| anyhow::Error::new(UsageError(e.to_string())))
}

/// The global options, as the library's settings.
fn settings(cli: &Cli) -> Settings {
    Settings {
        root: cli.root.clone(),
        cache_dir: cli.cache_dir.clone(),
        registries: cli.registry.clone(),
        config: cli.config.clone(),
        offline: cli.offline,
        public_key: cli.public_key.clone(),
        allow_insecure_http: cli.allow_insecure_http,
        log_level: Some(match (cli.quiet, cli.verbose) {
            (true, _) => LogLevel::Error,
            (false, 0) => LogLevel::Warn,
            (false, 1) => LogLevel::Info,
            (false, 2) => LogLevel::Debug,
            _ => LogLevel::Trace,
        }),
        mirror_env: std::env::var_os("JRT_MIRROR").map(|t| t.to_string_lossy().into_owned()),
    }
}

fn run(cli: &Cli) -> Result<()> {
    // Generated from the grammar alone: no root, cache or config is needed (or read).
    match &cli.command {
        Command::Completions { shell } => return cli::docs::completions(*shell),
        Command::Man { out } => {
            let written = cli::docs::man_pages(out)?;
            let doc = serde_json::json!({ "written": written });
            return print::output(cli.json, &doc, |_| {
                if !cli.quiet {
                    println!("wrote {} man pages to {}", written.len(), out.display());
                }
            });
        }
        _ => {}
    }
    let session = Session::new(settings(cli))?;
    match &cli.command {
        Command::Completions { .. } | Command::Man { .. } => Ok(()),
        Command::Install {
            specs,
            locked,
            force,
            platform,
            jobs,
            dry_run,
        } => {
            let specs = parse_specs(specs)?;
            let options = ops::install::InstallOptions {
                force: *force,
                platform: platform.clone(),
                jobs: *jobs,
                dry_run: *dry_run,
            };
            let bars = bars(cli);
            let report = match locked {
                Some(file) => ops::lock::install_locked(&session, file, &options, bars)?,
                None => ops::install::run(&session, &specs, &options, bars)?,
            };
            match report {
                InstallReport::Plan(plan) => {
                    print::output(cli.json, &serde_json::json!({ "plan": plan }), |_| {
                        print::plan(&plan)
                    })
                }
                InstallReport::Done { results, notes } => {
                    if cli.json {
                        let doc = serde_json::json!({
                            "results": print::result_rows(&results),
                            "notes": notes,
                        });
                        print::output(true, &doc, |_| {})?;
                    } else {
                        print::install_results(cli.quiet, &results);
                        for note in notes {
                            eprintln!("note: {}", jrt_input::display::safe(&note));
                        }
                    }
                    let failed = results.iter().filter(|r| r.is_err()).count();
                    if failed > 0 {
                        bail!(Reported(format!("{failed} install(s) failed")));
                    }
                    Ok(())
                }
            }
        }
        Command::List { available } => {
            if *available {
                let rows = ops::installed::available(&session.registries()?, &session.layout);
                print::output(cli.json, &rows, print::available)
            } else {
                let rows = ops::installed::installed(&session.layout);
                print::output(cli.json, &rows, print::installed)
            }
        }
        Command::Info { spec } => {
            let info = ops::installed::info(&session, &parse_spec(spec)?)?;
            print::output(cli.json, &info, |i| print::info(&i.versions, &i.installed))
        }
        Command::Remove { spec } => {
            let removed = ops::installed::remove(&session.layout, &parse_spec(spec)?)?;
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
            let (dir, yml) = ops::run::find(&session.layout, &spec)?;
            let code = ops::run::run(&session.layout, &dir, &yml, command, &options)?;
            std::process::exit(code)
        }
        Command::Verify { specs } => {
            let specs = parse_specs(specs)?;
            let results = ops::installed::verify(&session.layout, &specs)?;
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
            let options = ops::build::BuildOptions {
                platform: platform.clone(),
                out: out.clone(),
                prebuilt: *prebuilt,
            };
            let progress: Box<dyn jrt_client::progress::Progress> = if shows_bars(cli) {
                Box::new(cli::progress::Bars::new())
            } else {
                Box::new(jrt_client::progress::Silent)
            };
            let built = ops::build::run(&session, dirs, &options, progress.as_ref())?;
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
        Command::Lock {
            specs,
            platforms,
            output,
        } => {
            let specs = parse_specs(specs)?;
            let lock = ops::lock::lock(&session, &specs, platforms)?;
            jrt_fs::write_atomic(output, &lock.to_json())
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
            print::output(cli.json, &lock, |l| {
                if !cli.quiet {
                    for (name, r) in &l.runtimes {
                        let platforms: Vec<&str> = r.platforms.keys().map(String::as_str).collect();
                        println!("locked {name}@{} for {}", r.version, platforms.join(", "));
                    }
                    println!("wrote {}", output.display());
                }
            })
        }
        Command::Sync { lock, prune, jobs } => {
            let options = ops::install::InstallOptions {
                jobs: *jobs,
                ..Default::default()
            };
            let bars = bars(cli);
            let synced = ops::lock::sync(&session, lock, *prune, &options, bars)?;
            let failed = synced.failed.len();
            let doc = serde_json::json!({
                "installed": synced.installed,
                "unchanged": synced.unchanged,
                "removed": synced.removed,
                "failed": synced.failed.iter().map(print::install_error).collect::<Vec<_>>(),
            });
            print::output(cli.json, &doc, |_| print::synced(&synced, cli.quiet))?;
            if failed > 0 {
                bail!(Reported(format!("{failed} install(s) failed")));
            }
            Ok(())
        }
        Command::Outdated => {
            let rows = ops::upgrade::outdated(&session)?;
            print::output(cli.json, &rows, print::outdated)
        }
        Command::Upgrade { names, prune, jobs } => {
            let done = ops::upgrade::upgrade(&session, names, *prune, *jobs, bars(cli))?;
            let failed = done.results.iter().filter(|r| r.is_err()).count();
            if cli.json {
                let doc = serde_json::json!({
                    "outdated": done.outdated,
                    "results": print::result_rows(&done.results),
                    "pruned": done.pruned,
                });
                print::output(true, &doc, |_| {})?;
            } else {
                if done.outdated.is_empty() && !cli.quiet {
                    println!("everything is up to date");
                }
                print::install_results(cli.quiet, &done.results);
                for p in &done.pruned {
                    if !cli.quiet {
                        println!("removed {p}");
                    }
                }
            }
            if failed > 0 {
                return Err(Reported(format!("{failed} upgrade(s) failed")).into());
            }
            Ok(())
        }
        Command::Cache { command } => match command {
            CacheCommand::Dir => {
                let root = session.cache()?.root().to_path_buf();
                print::output(cli.json, &serde_json::json!({ "dir": root }), |_| {
                    println!("{}", root.display())
                })
            }
            CacheCommand::Size => {
                let sizes = ops::cache::sizes(&session)?;
                print::output(cli.json, &sizes, |s| {
                    for a in &s.areas {
                        println!(
                            "{:<11} {:>10}  {:>6} files  {}",
                            a.name,
                            print::size(a.bytes),
                            a.files,
                            a.path.display()
                        );
                    }
                    println!("{:<11} {:>10}", "total", print::size(s.bytes));
                })
            }
            CacheCommand::Prune { older_than } => {
                let freed = ops::cache::prune(&session, *older_than)?;
                print::output(cli.json, &freed, |f| print::freed(f, cli.quiet))
            }
            CacheCommand::Clean => {
                let freed = ops::cache::clean(&session)?;
                print::output(cli.json, &freed, |f| print::freed(f, cli.quiet))
            }
        },
        Command::Push {
            packages,
            dest,
            force,
        } => {
            let pushed = ops::push::run(&session, packages, dest, *force)?;
            print::output(cli.json, &pushed, |rows| {
                for p in rows {
                    println!(
                        "{} {} ({}; {} uploaded in {} blobs, {} mounted, {} already there)",
                        p.action,
                        p.reference,
                        p.digest,
                        print::size(p.bytes_uploaded),
                        p.blobs_uploaded,
                        p.blobs_mounted,
                        p.blobs_present
                    );
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
                    for c in &a.changes {
                        println!("{:9} {}", c.change, c.entry);
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
                let doc = serde_json::json!({ "index": index, "signature": sig_path });
                print::output(cli.json, &doc, |_| {
                    println!("signed: {}", sig_path.display())
                })
            }
            RegistryCommand::Verify { index } => {
                let key = session.public_key.as_deref().ok_or_else(|| {
                    UsageError(
                        "registry verify needs --public-key (or public_key in the config)".into(),
                    )
                })?;
                let key = jrt_registry::signature::public_key(key)?;
                let serial = jrt_publish::sign::verify_index(index, &key)?;
                let doc = serde_json::json!({ "index": index, "serial": serial });
                print::output(cli.json, &doc, |_| {
                    println!("{}: signature ok, serial {serial}", index.display())
                })
            }
        },
        Command::Release { tag, runtimes } => {
            let released = ops::release::run(&session, tag, runtimes)?;
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
            let dirs = Session::runtime_dirs(dirs)?;
            let problems = ops::validate::validate(&session.plugins()?, &dirs)?;
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
            let report = ops::detect::detect(&session.plugins()?, &source, platform.clone())
                .map_err(ops::Error::from)?;
            print::output(cli.json, &report, |r| print::detect(r, cli.quiet))
        }
        Command::Plugin { command } => match command {
            PluginCommand::List => {
                let rows = ops::plugins::list(&session.plugins()?)?;
                print::output(cli.json, &rows, print::plugins)
            }
            PluginCommand::Add {
                file,
                sha256,
                replace_builtin,
            } => {
                let options = ops::plugins::AddOptions {
                    sha256: sha256.clone(),
                    replace_builtin: *replace_builtin,
                };
                let added = ops::plugins::add_from(&session, &session.plugins()?, file, &options)?;
                print::output(cli.json, &added, |a| print::plugin_added(a, cli.quiet))
            }
            PluginCommand::Remove { name } => {
                let removed = ops::plugins::remove(&session.plugins()?, name)?;
                print::output(cli.json, &removed, |r| {
                    if !cli.quiet {
                        println!("removed plugin {} {}", r.name, r.version)
                    }
                })
            }
        },
    }
}
