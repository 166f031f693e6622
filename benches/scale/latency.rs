//! Issue 20, point 5: batches in flight together. A new 50,000-entry lockfile staged against an
//! OSV stand-in that holds each querybatch answer half a second (OSV's round trip), beside the
//! same run against answers at once, the time one batch at a time would wait, and the most
//! requests the stand-in held at once.

use super::common::{ms, percentile, EmptyOsv};
use super::{check_clean, new_lockfile_repository, thousands, time_lockgate, Project};
use std::time::Duration;

/// Entries of the new lockfile.
const ENTRIES: usize = 50_000;
/// Held before each querybatch answer.
const DELAY: Duration = Duration::from_millis(500);
/// Timed runs.
const RUNS: usize = 3;

/// The scenario; `server` answers at once (the baseline).
pub fn batches_in_flight(server: &EmptyOsv) {
    let project = Project::generate(ENTRIES, ENTRIES as u64);
    let (manifest, lock) = project.render(false);
    let dir = new_lockfile_repository(&manifest, &lock);
    let repo = dir.path();
    check_clean(repo, &server.url, &[]);
    let at_once = time_lockgate(repo, &server.url, &[], RUNS);

    let delayed = EmptyOsv::with_delay(DELAY);
    let before = delayed.requests();
    delayed.reset_peak();
    let timings = time_lockgate(repo, &delayed.url, &[], RUNS);
    let batches = (delayed.requests() - before) / RUNS;
    let queued = DELAY * batches as u32;
    let median = percentile(&timings, 50);
    println!(
        "\nlatency: lockfile new in whole, {} entries, OSV holding each querybatch {} ms",
        thousands(project.locked()),
        DELAY.as_millis()
    );
    println!(
        "  lockgate median {:.0} ms (min {:.0}, max {:.0}, {RUNS} runs); answers at once: {:.0} ms",
        ms(median),
        ms(percentile(&timings, 0)),
        ms(*timings.iter().max().unwrap()),
        ms(percentile(&at_once, 50)),
    );
    println!(
        "  {batches} querybatch requests per run: one at a time would wait {batches} × {} ms = \
         {:.1} s; the stand-in held at most {} at once; {:.1}× faster than one at a time",
        DELAY.as_millis(),
        queued.as_secs_f64(),
        delayed.peak_in_flight(),
        queued.as_secs_f64() / median.as_secs_f64()
    );
}
