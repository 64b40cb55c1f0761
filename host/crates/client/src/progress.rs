//! Progress reporting for long work. The library only counts; the binary decides how to show
//! it (bars on a terminal, nothing when piped or with `--json`).

use std::io::{self, Read};

/// Something that shows progress for several tasks at once.
pub trait Progress: Send + Sync {
    /// A new task of `total` units (bytes), labelled `label`.
    fn task(&self, label: &str, total: u64) -> Box<dyn Task>;
    /// A new task of `total` steps (a setup plan), whose message names the current step.
    fn steps(&self, label: &str, total: u64) -> Box<dyn Task> {
        self.task(label, total)
    }
}

impl std::fmt::Debug for dyn Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// One task's progress.
pub trait Task: Send {
    fn advance(&self, n: u64);
    /// What the task is doing now.
    fn message(&self, _message: &str) {}
    /// The task ended (successfully or not); `message` says how.
    fn finish(&self, message: &str);
}

/// Counts the bytes read through it into a task.
pub struct Counted<'a, R> {
    pub inner: R,
    pub task: &'a dyn Task,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.task.advance(n as u64);
        Ok(n)
    }
}

/// Shows nothing.
pub struct Silent;

struct SilentTask;

impl Task for SilentTask {
    fn advance(&self, _: u64) {}
    fn finish(&self, _: &str) {}
}

impl Progress for Silent {
    fn task(&self, _: &str, _: u64) -> Box<dyn Task> {
        Box::new(SilentTask)
    }
}
