//! Shell completions and man pages, generated from the argument grammar ([`super::args`]), so
//! they can never disagree with what jrt accepts.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;

use super::args::Cli;

/// Prints `shell`'s completion script for jrt on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "jrt", &mut std::io::stdout());
    Ok(())
}

/// Writes `jrt.1` and a page per command (`jrt-install.1`, `jrt-registry-add.1`, …) into
/// `out`, each atomically; returns the pages written.
pub fn man_pages(out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let cmd = Cli::command();
    let mut written = Vec::new();
    write_pages(&cmd, "jrt", out, &mut written)?;
    Ok(written)
}

fn write_pages(
    cmd: &clap::Command,
    name: &str,
    out: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    // The page's title is its full command name (`jrt-registry-add`), as git's pages are.
    let page = cmd.clone().name(name.to_string());
    let mut bytes = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut bytes)
        .context("cannot render a man page")?;
    let path = out.join(format!("{name}.1"));
    jrt_fs::write_atomic(&path, &bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), out, written)?;
    }
    Ok(())
}
