//! Running a family plugin's setup plan safely (the host side of `plan-setup`).
//!
//! A plan is checked whole before any step runs ([`check`]): every path must stay inside the
//! staging tree, host copies must come from allow-listed prefixes, fetches must carry a
//! sha256, programs must live in the tree or under an allow-listed prefix, and symlinks must
//! point inside the tree. One bad step refuses the plan. [`execute`] then runs the steps in
//! order: fetches take the packages' download path ([`jrt_client::fetch`]: resumable, under a
//! deadline, verified against the plan's sha256 while they stream, stored in the cache's
//! `fetched/`, one lock per build), programs run confined
//! ([`jrt_sandbox`]) with a minimal environment, the tree as working directory, a timeout,
//! and their output captured and shown when they fail. What the plan made is checked before
//! it can be placed ([`check_tree`]).

mod check;
mod exec;
mod hostcopy;
pub mod mirror;
mod tree;

pub use check::{Policy, Refusal, check};
pub use exec::{Executor, Grant, RunOutput, execute, library_path_in_tree, run_probes, step_grant};
pub use tree::check_tree;

use jrt_plugin_host::types::SetupStep;
use std::path::PathBuf;

/// A short description of a step, for progress displays.
pub fn step_label(step: &SetupStep) -> String {
    match step {
        SetupStep::Mkdir(p) => format!("mkdir {p}"),
        SetupStep::CopyFromHost(c) => format!("copy {}", c.source),
        SetupStep::CopyLibraries(c) => format!("libraries of {}", c.binaries.join(", ")),
        SetupStep::Fetch(f) => format!("fetch {}", f.url),
        SetupStep::Run(r) => format!("run {} {}", r.program, r.args.join(" ")),
        SetupStep::WriteFile(w) => format!("write {}", w.target),
        SetupStep::Symlink(s) => format!("symlink {}", s.link),
    }
}

/// Why a step failed while it ran (the plan passed its checks).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
    #[error(transparent)]
    Refused(#[from] check::Refusal),
    #[error("'{path}' resolves outside the runtime tree{}", .real.as_ref().map(|r| format!(" (to {})", r.display())).unwrap_or_default())]
    Outside { path: String, real: Option<PathBuf> },
    #[error("'{}' is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("'{0}' already exists in the runtime tree")]
    Exists(String),
    #[error("'{path}' is not in the runtime tree: {error}")]
    Missing { path: String, error: std::io::Error },
    #[error("'{source_path}' does not stay beneath the allowed host path {prefix} ({error})")]
    NotBeneath {
        source_path: String,
        prefix: String,
        error: std::io::Error,
    },
    #[error(
        "{} is not a public directory on the host (mode {mode:o}); jrt copies only what every \
         user may read",
        .path.display()
    )]
    NotPublicDirectory { path: PathBuf, mode: u32 },
    #[error(
        "{} is not world-readable on the host (mode {mode:o}); jrt copies only public files",
        .path.display()
    )]
    NotWorldReadable { path: PathBuf, mode: u32 },
    #[error("{} is not a {what}", .path.display())]
    WrongKind { path: PathBuf, what: &'static str },
    #[error("ldd {}: {stderr}", .binary.display())]
    Ldd { binary: PathBuf, stderr: String },
    #[error(transparent)]
    Extract(#[from] jrt_extract::ExtractError),
    #[error(transparent)]
    Sandbox(#[from] jrt_sandbox::SandboxError),
    /// A plan fetch that failed, and the URL the plan pinned when a mirror was read instead.
    #[error("{error}{}{}", .mirror_of.as_ref().map(|m| format!(" (the mirror of {m})")).unwrap_or_default(), if matches!(.error, jrt_client::fetch::FetchError::Http(_)) { "; if this machine cannot reach it, set a mirror (mirrors: in jrt's config.yaml, or JRT_MIRROR=PREFIX=REPLACEMENT)" } else { "" })]
    Fetch {
        error: jrt_client::fetch::FetchError,
        mirror_of: Option<String>,
    },
    #[error(transparent)]
    Mirror(#[from] mirror::MirrorError),
    #[error(
        "the setup made {what} at '{}'; a runtime holds only files, directories and symlinks, \
         so nothing was installed",
        .path.escape_debug()
    )]
    SpecialFile { what: &'static str, path: String },
}

/// Why a plan was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the setup plan is refused: step {step} ({kind}): {reason}")]
    Refused {
        step: usize,
        kind: &'static str,
        reason: check::Refusal,
    },
    #[error("setup step {step} ({kind}) failed: {reason}")]
    Failed {
        step: usize,
        kind: &'static str,
        reason: Box<StepError>,
    },
    #[error(
        "setup step {step}: `{program}` {}{}",
        match .code { Some(c) => format!("exited with status {c}"), None => "was killed".into() },
        output_tail(.output)
    )]
    Program {
        step: usize,
        program: String,
        code: Option<i32>,
        output: String,
    },
    #[error("setup step {step}: `{program}` did not finish within {seconds} s and was killed{}", output_tail(.output))]
    Timeout {
        step: usize,
        program: String,
        seconds: u32,
        output: String,
    },
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
}

fn output_tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(20)..];
    format!("; its last output:\n{}", tail.join("\n"))
}
