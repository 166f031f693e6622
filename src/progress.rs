//! A progress line on stderr for runs that take more than a moment (`--all` over big
//! repositories): shown only on a terminal, only after a short delay, and erased at the end so
//! the report that follows reads as if it had never been there.

use crate::osv::Step;
use std::io::{IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a run goes quiet before the progress line appears.
const DELAY: Duration = Duration::from_millis(500);

/// Where a run's progress line goes, if anywhere.
pub struct Progress {
    start: Instant,
    enabled: bool,
    shown: AtomicBool,
    /// Serialises writes from the fetching threads.
    line: Mutex<()>,
}

impl Progress {
    /// A progress line for this run: on when `wanted` and stderr is a terminal.
    pub fn new(wanted: bool) -> Self {
        Progress {
            start: Instant::now(),
            enabled: wanted && std::io::stderr().is_terminal(),
            shown: AtomicBool::new(false),
            line: Mutex::new(()),
        }
    }

    /// Updates the line with `step`, once the run has gone on for [`DELAY`].
    pub fn step(&self, step: Step) {
        if !self.enabled || self.start.elapsed() < DELAY {
            return;
        }
        let text = match step {
            Step::Queried { done, total } => {
                format!("asked OSV about {done} of {total} packages")
            }
            Step::Fetched { done, total } => format!("read {done} of {total} advisories"),
        };
        // \r and "erase to end of line": the line is rewritten in place.
        self.say(&text);
    }

    /// Shows `text` as the line, once the run has gone on for [`DELAY`].
    pub fn say(&self, text: &str) {
        if !self.enabled || self.start.elapsed() < DELAY {
            return;
        }
        let _guard = self.line.lock();
        self.shown.store(true, Ordering::Relaxed);
        let _ = write!(
            std::io::stderr(),
            "\rlockgate: {}\x1b[K",
            crate::sanitize::clean(text)
        );
    }

    /// Erases the line, if it was ever shown.
    pub fn finish(&self) {
        if self.shown.load(Ordering::Relaxed) {
            let _guard = self.line.lock();
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}
