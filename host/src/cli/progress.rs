//! Progress bars on a terminal (indicatif): one line per runtime being installed, all in one
//! display when several install at once.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use jrt_client::progress::{Progress, Task};

pub struct Bars {
    multi: MultiProgress,
    style: ProgressStyle,
    steps: ProgressStyle,
}

impl Bars {
    pub fn new() -> Bars {
        // Downloads: bytes, rate and time left; the message counts the files extracted as
        // the bytes arrive. Setups: the step, its name, and how long it has run.
        let style = ProgressStyle::with_template(
            "{prefix:>24} [{bar:24}] {bytes:>9}/{total_bytes:<9} {bytes_per_sec:>11} ETA {eta:<3} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let steps = ProgressStyle::with_template(
            "{prefix:>24} [{bar:24}] step {pos}/{len} {elapsed:>4} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            style,
            steps,
        }
    }
}

struct Bar(ProgressBar);

impl Task for Bar {
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }

    fn message(&self, message: &str) {
        self.0.set_message(message.to_string());
    }

    fn finish(&self, message: &str) {
        self.0.finish_with_message(message.to_string());
    }
}

impl Progress for Bars {
    fn task(&self, label: &str, total: u64) -> Box<dyn Task> {
        let bar = self.multi.add(ProgressBar::new(total));
        bar.set_style(self.style.clone());
        bar.set_prefix(label.to_string());
        Box::new(Bar(bar))
    }

    fn steps(&self, label: &str, total: u64) -> Box<dyn Task> {
        let bar = self.multi.add(ProgressBar::new(total));
        bar.set_style(self.steps.clone());
        bar.set_prefix(label.to_string());
        // Long steps (pip) show their elapsed time ticking.
        bar.enable_steady_tick(std::time::Duration::from_millis(500));
        Box::new(Bar(bar))
    }
}
