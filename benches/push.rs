//! Benchmark of issue 20's fourth point, "a long push costs one commit's memory": what the
//! pre-push hook costs against the number of pushed commits, each of which changes the
//! lockfile of a large npm project, as real history does.
//!
//! A real-shaped synthetic npm project (benches/common/npm_project.rs) of 10,000 locked entries
//! is committed and pushed to a bare remote; then commits follow, each upgrading one package (its
//! entry, and every range that asks for it; package.json too for a direct dependency). For 1, 5
//! and 20 pushed commits, the release binary runs as git's pre-push hook runs it
//! (`--pre-push origin <url>`, git's line `<local ref> <local sha> <remote ref> <remote sha>` on
//! stdin), against a loopback OSV stand-in that answers no hits, without the result cache, and
//! with nothing kept by blob id (`.git/lockgate/parsed` is removed before each run: every pushed
//! version is parsed, as on a fresh clone; repeated runs would otherwise read what the one
//! before kept, up to its 16 files, and time that instead).
//! Printed: the median time, the time a commit, the peak resident set (GNU time's `%M`, from one
//! more run apart from the timed ones), and the ratios the issue asks for: peak RSS of 20 commits
//! to 1 commit's (at most 2×), and the cost of each further commit from 5 to 20 against from 1
//! to 5 (time linear in commits: about 1×).
//!
//! Run with `cargo bench --bench push`. `LOCKGATE_BENCH_ENTRIES=25000` sets the project's size
//! (the figure: 25,000), `LOCKGATE_BENCH_COMMITS=1,5,20,50` the pushes measured, and
//! `LOCKGATE_BENCH_KEEP=1` keeps the repositories for profiling (the folder and each push's
//! stdin line are printed).

mod common;
#[path = "../tests/support/lockfiles.rs"]
#[allow(dead_code)]
mod lockfiles;
#[path = "common/npm_project.rs"]
#[allow(dead_code)]
mod npm_project;
#[path = "../tests/support/random.rs"]
mod random;

use common::{git, ms, percentile, read_peak_rss, under_gnu_time, EmptyOsv, GNU_TIME};
use npm_project::Project;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Locked entries of the project, unless `LOCKGATE_BENCH_ENTRIES` says otherwise.
const ENTRIES: usize = 10_000;
/// Pushed commits measured, unless `LOCKGATE_BENCH_COMMITS` says otherwise.
const COMMITS: [usize; 3] = [1, 5, 20];
/// Timed runs of each push.
const RUNS: usize = 5;

fn main() {
    let started = Instant::now();
    let entries = setting("LOCKGATE_BENCH_ENTRIES").map_or(ENTRIES, |sizes| sizes[0]);
    let counts = setting("LOCKGATE_BENCH_COMMITS").unwrap_or_else(|| COMMITS.to_vec());
    let most = *counts.iter().max().expect("at least one push");
    let server = EmptyOsv::start();
    let rss = Path::new(GNU_TIME).exists();

    let dir = tempfile::tempdir().expect("temp dir");
    let keep = std::env::var("LOCKGATE_BENCH_KEEP").is_ok_and(|value| value == "1");
    let repo = dir.path().join("work");
    let remote = dir.path().join("remote.git");
    std::fs::create_dir(&repo).unwrap();
    let mut project = Project::generate(entries, entries as u64);
    let lockfile_mib = write_project(&repo, &project);
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "project"]);
    git(dir.path(), &["init", "-q", "--bare", "remote.git"]);
    let url = remote.to_str().unwrap();
    git(&repo, &["remote", "add", "origin", url]);
    git(&repo, &["push", "-q", "origin", "main"]);
    let base = rev_parse(&repo, "HEAD");
    // Commit k upgrades one package, spread over the project; every range asking for it follows.
    let mut tips = Vec::new();
    for commit in 1..=most {
        let index = (commit * 7_919) % project.top.len();
        let package = &mut project.top[index];
        let (major, rest) = package.version.split_once('.').unwrap();
        let (minor, patch) = rest.split_once('.').unwrap();
        let patch: u64 = patch.parse().unwrap();
        package.version = format!("{major}.{minor}.{}", patch + 1);
        let message = format!("upgrade {} to {}", package.name, package.version);
        write_project(&repo, &project);
        git(&repo, &["add", "."]);
        git(&repo, &["commit", "-q", "-m", &message]);
        tips.push(rev_parse(&repo, "HEAD"));
    }
    println!(
        "npm project of {} entries, package-lock.json {lockfile_mib:.1} MiB, {} commits each \
         upgrading one package; built in {:.0} s",
        project.locked(),
        most,
        started.elapsed().as_secs_f64()
    );

    let mut rows = Vec::new();
    for &count in &counts {
        let input = format!(
            "refs/heads/main {} refs/heads/main {base}\n",
            tips[count - 1]
        );
        if keep {
            print!("kept: {}, stdin: {input}", repo.display());
        }
        let output = run(lockgate(&repo, &server.url, url), &input);
        common::assert_passed(&output, "the pushed commits");
        let timings: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let command = lockgate(&repo, &server.url, url);
                let start = Instant::now();
                let output = run(command, &input);
                let elapsed = start.elapsed();
                assert!(output.status.success(), "{output:?}");
                elapsed
            })
            .collect();
        let median = percentile(&timings, 50);
        let peak = rss.then(|| peak_rss(lockgate(&repo, &server.url, url), &input));
        println!(
            "{count} commits: median {:.1} ms (min {:.1}), {:.1} ms a commit, peak RSS {} ({RUNS} runs)",
            ms(median),
            ms(percentile(&timings, 0)),
            ms(median) / count as f64,
            peak.map_or("-".into(), |kib| format!("{:.0} MiB", kib as f64 / 1024.0)),
        );
        rows.push((count, median, peak));
    }

    println!();
    println!("| pushed commits | lockgate ms | ms a commit | peak RSS MiB | RSS / 1 commit's |");
    println!("|---:|---:|---:|---:|---:|");
    let one = rows.iter().find(|(count, ..)| *count == 1);
    for (count, median, peak) in &rows {
        let relative = match (one.and_then(|row| row.2), peak) {
            (Some(one), Some(peak)) => format!("{:.2}×", *peak as f64 / one as f64),
            _ => "-".into(),
        };
        println!(
            "| {count} | {:.1} | {:.1} | {} | {relative} |",
            ms(*median),
            ms(*median) / *count as f64,
            peak.map_or("-".into(), |kib| format!("{:.0}", kib as f64 / 1024.0)),
        );
    }
    let row = |wanted: usize| rows.iter().find(|(count, ..)| *count == wanted);
    if let (Some(one), Some(five), Some(twenty)) = (row(1), row(5), row(20)) {
        if let (Some(one_peak), Some(twenty_peak)) = (one.2, twenty.2) {
            println!(
                "\npeak RSS, 20 commits / 1 commit: {:.2}× (the issue asks at most 2×)",
                twenty_peak as f64 / one_peak as f64
            );
        }
        // The cost of one more commit, early in the push and later on: equal when linear.
        let early = (ms(five.1) - ms(one.1)) / 4.0;
        let late = (ms(twenty.1) - ms(five.1)) / 15.0;
        println!(
            "time a further commit: {early:.1} ms from 1 to 5 commits, {late:.1} ms from 5 to 20 \
             ({:.2}×; 1× is linear)",
            late / early
        );
        println!(
            "time a commit, 20 commits / 1 commit: {:.2}×",
            (ms(twenty.1) / 20.0) / ms(one.1)
        );
    }
    println!("\ntotal wall time {:.0} s", started.elapsed().as_secs_f64());
    if keep {
        let _ = dir.keep();
    }
}

/// The numbers in the environment variable `name` (comma-separated), if set.
fn setting(name: &str) -> Option<Vec<usize>> {
    let value = std::env::var(name).ok()?;
    let numbers: Vec<usize> = value
        .split(',')
        .map(|number| number.trim().parse().expect("a number"))
        .collect();
    (!numbers.is_empty()).then_some(numbers)
}

/// Writes the project's package.json and package-lock.json; the lockfile's size in MiB.
fn write_project(repo: &Path, project: &Project) -> f64 {
    let (manifest, lock) = project.render(false);
    std::fs::write(repo.join("package.json"), manifest).unwrap();
    std::fs::write(repo.join("package-lock.json"), &lock).unwrap();
    lock.len() as f64 / 1_048_576.0
}

/// `git rev-parse <revision>`.
fn rev_parse(repo: &Path, revision: &str) -> String {
    let output = Command::new("git")
        .args(["rev-parse", revision])
        .current_dir(repo)
        .output()
        .expect("run git");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// The hook's command line as git runs the pre-push hook (remote name and URL).
fn lockgate(repo: &Path, osv_url: &str, remote_url: &str) -> Command {
    // Nothing kept: see the module's documentation.
    match std::fs::remove_dir_all(repo.join(".git/lockgate")) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            panic!("remove the kept readings: {error}")
        }
        _ => {}
    }
    common::lockgate(repo, osv_url, &["--pre-push", "origin", remote_url])
}

/// Runs `command` with `input` on its stdin.
fn run(mut command: Command, input: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run lockgate");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().expect("wait for lockgate")
}

/// The peak resident set in KiB (the child's `ru_maxrss`) of one run of `template` under GNU
/// time, with the same arguments, environment and folder.
fn peak_rss(template: Command, input: &str) -> u64 {
    let report = tempfile::NamedTempFile::new().unwrap();
    let output = run(under_gnu_time(&template, report.path()), input);
    assert!(output.status.success(), "{output:?}");
    read_peak_rss(report.path())
}
