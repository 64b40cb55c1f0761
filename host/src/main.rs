//! The `jrt` command line: parses arguments, calls into the library's `ops`, prints the
//! result as text or JSON, and maps errors to exit codes (0 ok, 1 failure, 2 usage).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};

use jrt::facts::FactsSource;
use jrt::ops::{self, Context, detect::DetectError};
use jrt::plugin::HostOptions;
use jrt::plugin::LogLevel;

#[derive(Parser, Debug)]
#[command(
    name = "jrt",
    version,
    about = "The runtime registry toolkit for Joblet"
)]
struct Cli {
    /// Where runtimes are installed (default: /opt/joblet/runtimes as root, else
    /// $XDG_DATA_HOME/jrt/runtimes).
    #[arg(long, global = true, env = "JRT_ROOT", value_name = "DIR")]
    root: Option<PathBuf>,
    /// A registry to consult (repeatable).
    #[arg(
        long,
        global = true,
        env = "JRT_REGISTRY",
        value_delimiter = ',',
        value_name = "SRC"
    )]
    registry: Vec<String>,
    /// A jrt config file.
    #[arg(long, global = true, env = "JRT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where downloads and compiled plugins are cached (default: $XDG_CACHE_HOME/jrt).
    #[arg(long, global = true, env = "JRT_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Use only what is cached; never touch the network.
    #[arg(long, global = true)]
    offline: bool,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Print less.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Print more (plugin log lines too).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show the platform and host facts, as the plugins see them.
    Detect {
        /// Use this platform (such as rhel-arm64) instead of the detected one.
        #[arg(long, value_name = "P")]
        platform: Option<String>,
        /// Read host files below this directory instead of / (a snapshot of another machine).
        #[arg(long, env = "JRT_SYSROOT", value_name = "DIR", hide = true)]
        sysroot: Option<PathBuf>,
        /// With --sysroot: the snapshot's `uname -m`.
        #[arg(long, value_name = "ARCH", hide = true, requires = "sysroot")]
        machine: Option<String>,
    },
    /// Manage runtime-family plugins.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Subcommand, Debug)]
enum PluginCommand {
    /// List the built-in and added plugins with their API version.
    List,
    /// Check a plugin component (.wasm) and add it.
    Add {
        /// The component file.
        file: String,
    },
}

/// An error that is the user's phrasing, not a failure (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let usage = e.downcast_ref::<UsageError>().is_some();
            let message = format!("{e:#}");
            if cli.json {
                let out = serde_json::json!({ "error": message });
                println!("{out}");
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

fn run(cli: &Cli) -> Result<()> {
    let root = match &cli.root {
        Some(r) => r.clone(),
        None => jrt::paths::default_root()
            .context("cannot tell where runtimes go: set --root or JRT_ROOT (HOME is unset)")?,
    };
    let log_level = match (cli.quiet, cli.verbose) {
        (true, _) => LogLevel::Error,
        (false, 0) => LogLevel::Warn,
        (false, 1) => LogLevel::Info,
        (false, 2) => LogLevel::Debug,
        _ => LogLevel::Trace,
    };
    let ctx = Context::new(
        root,
        cli.cache_dir.clone().or_else(jrt::paths::default_cache),
        HostOptions {
            log_level,
            ..HostOptions::default()
        },
    )?;
    match &cli.command {
        Command::Detect {
            platform,
            sysroot,
            machine,
        } => {
            let source = FactsSource {
                sysroot: sysroot.clone().unwrap_or_else(|| PathBuf::from("/")),
                machine: machine.clone(),
            };
            let report =
                ops::detect::detect(&ctx, &source, platform.clone()).map_err(|e| match e {
                    DetectError::UnknownPlatform(m) => anyhow::Error::new(UsageError(m)),
                    other => anyhow::Error::new(other),
                })?;
            if cli.json {
                print_json(&report)
            } else {
                print_detect(&report, cli.quiet);
                Ok(())
            }
        }
        Command::Plugin { command } => match command {
            PluginCommand::List => {
                let rows = ops::plugins::list(&ctx)?;
                if cli.json {
                    return print_json(&rows);
                }
                println!(
                    "{:<12} {:<9} {:<16} {:<5} {:<10} sha256",
                    "name", "version", "families", "api", "source"
                );
                for r in rows {
                    println!(
                        "{:<12} {:<9} {:<16} {:<5} {:<10} {}",
                        r.name,
                        r.version,
                        r.families.join(","),
                        r.api_version,
                        r.source,
                        &r.sha256[..16.min(r.sha256.len())]
                    );
                }
                Ok(())
            }
            PluginCommand::Add { file } => {
                if file.starts_with("http://") || file.starts_with("https://") {
                    return Err(UsageError(format!(
                        "cannot add {file}: adding plugins by URL is not supported yet; \
                         download the .wasm file and pass its path"
                    ))
                    .into());
                }
                let added = ops::plugins::add(&ctx, std::path::Path::new(file))?;
                if cli.json {
                    return print_json(&added);
                }
                if !cli.quiet {
                    let p = &added.plugin;
                    print!(
                        "added plugin {} {} (families: {}; api {}; sha256 {})",
                        p.name,
                        p.version,
                        p.families.join(", "),
                        p.api_version,
                        p.sha256
                    );
                    match (&added.replaced_version, p.overrides_builtin) {
                        (Some(v), _) => println!(", replacing {v}"),
                        (None, true) => println!(", overriding the built-in {}", p.name),
                        (None, false) => println!(),
                    }
                }
                Ok(())
            }
        },
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let pretty = std::io::stdout().is_terminal();
    let text = if pretty {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    };
    println!("{text}");
    Ok(())
}

fn print_detect(r: &ops::detect::Report, quiet: bool) {
    if quiet {
        println!("{}", r.platform);
        return;
    }
    println!("platform  {}", r.platform);
    println!(
        "distro    {} ({} {})",
        r.distro.name, r.distro.id, r.distro.version
    );
    println!("arch      {} ({})", r.arch, r.machine);
    println!("kernel    {}", r.kernel);
    if let Some(l) = &r.libc {
        println!("libc      {} {}", l.family, l.version);
    }
    match &r.gpu {
        Some(g) => {
            println!(
                "nvidia    driver {}, CUDA {}",
                g.driver_version,
                g.cuda_version.as_deref().unwrap_or("unknown")
            );
            for (i, d) in g.devices.iter().enumerate() {
                println!(
                    "gpu {i}     {} ({} MiB, compute {})",
                    d.name,
                    d.memory_mib,
                    d.compute_capability.as_deref().unwrap_or("unknown")
                );
            }
        }
        None => println!("nvidia    none"),
    }
    for a in &r.plugins {
        if let Some(e) = &a.error {
            eprintln!("warning: plugin {} refused: {e}", a.plugin);
        }
    }
}
