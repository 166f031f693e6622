//! Benchmark of issue 20, "cost follows the change": what the pre-commit hook costs against the
//! size of the lockfile and of the repository, each as a ratio to git's own check of the index,
//! `git diff --cached --quiet`, on the same repository.
//!
//! 1. Real-shaped synthetic npm projects of 2,000, 10,000, 25,000 and 50,000 locked entries
//!    (100,000 with `LOCKGATE_BENCH_HUGE=1`): a package.json and a package-lock.json v3 as npm
//!    writes it, with `resolved` URLs on the placeholder host, sha512 `integrity` strings,
//!    `license`, `dev` flags, dependency edges that resolve the way npm resolves them (a tree
//!    from the root's direct dependencies, more edges across it) and about one entry in eight
//!    nested (`node_modules/a/node_modules/b`, another major of `b` that `a` asks for). For each
//!    size, in a git repository run hermetically: (a) one package added (lockfile and
//!    package.json staged over the committed project), with `HEAD`'s lockfile kept by blob id
//!    (`.git/lockgate/parsed`, as after the hook ran on the commit that staged it) and again
//!    with nothing kept, (b) the project new in whole (staged over a commit without it), (c)
//!    `--all` on the repository of (a), nothing kept (a fresh clone). The release binary runs
//!    as git's hook would, against a loopback OSV stand-in that answers no hits (TCP_NODELAY,
//!    one write per answer), without the result cache. Before each timed run the kept
//!    readings are put back to what the row says.
//! 2. A commit that touches no lockfile (README.md staged) in repositories of 2,000, 20,000 and
//!    100,000 tracked files.
//!
//! Beside each ratio, for reference, `git diff-index --cached --quiet HEAD`: git's porcelain
//! `diff --quiet` reads and compares the two blobs (a textconv or external diff could make them
//! equal), the plumbing compares their ids only.
//!
//! Peak memory (the child's maximum resident set, getrusage's `ru_maxrss`) is read from one
//! more run of each lockgate scenario under GNU time (`/usr/bin/time -f %M`), apart from the
//! timed runs, so the timings hold no extra process. Without GNU time the column is empty.
//!
//! First, a check of the stand-in itself (`scale/peers.rs`): one querybatch round trip against
//! it as written (TCP_NODELAY, one write per answer) and against the same written with two
//! writes and Nagle's algorithm on, which adds a delayed ACK (~40 ms) to every answer.
//!
//! Opt-in parts (slow; each `=1`), after the table:
//! - `LOCKGATE_BENCH_PEERS`: `npm audit` and `npm ci --dry-run` on generated 5,000- and
//!   10,000-entry projects beside lockgate's `--all` and +1 staged on the same projects, npm
//!   pointed at a loopback registry stand-in with a throw-away cache and configuration
//!   (`scale/peers.rs`).
//! - `LOCKGATE_BENCH_LATENCY`: a new 50,000-entry lockfile against an OSV that holds each
//!   querybatch answer 0.5 s: batches in flight together (`scale/latency.rs`).
//! - `LOCKGATE_BENCH_FINDINGS`: 200 findings against none in a new 50,000-entry lockfile, online
//!   and `--offline` (`scale/findings.rs`).
//!
//! Run with `cargo bench --bench scale`; figures go in BENCHMARKS.md. For profiling,
//! `LOCKGATE_BENCH_ONLY=10000,100000` runs only the lockfile sizes and tree sizes listed (`=0`
//! none, to run only the opt-in parts), and `LOCKGATE_BENCH_KEEP=1` keeps the repositories
//! (their folders are printed).

mod common;
#[path = "scale/findings.rs"]
mod findings;
#[path = "scale/latency.rs"]
mod latency;
#[path = "../tests/support/lockfiles.rs"]
#[allow(dead_code)]
mod lockfiles;
#[path = "common/npm_project.rs"]
mod npm_project;
#[path = "scale/peers.rs"]
mod peers;
#[path = "../tests/support/random.rs"]
mod random;

use common::{git, lockgate, ms, percentile, read_peak_rss, under_gnu_time, EmptyOsv, GNU_TIME};
use npm_project::Project;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Lockfile sizes (entries) and timed runs of each scenario at that size.
const SIZES: [(usize, usize); 4] = [(2_000, 15), (10_000, 9), (25_000, 7), (50_000, 5)];
/// The size added with `LOCKGATE_BENCH_HUGE=1`, and its runs.
const HUGE: (usize, usize) = (100_000, 3);
/// Fewest timed runs of git's check (it is cheap: more runs steady its median).
const GIT_RUNS: usize = 15;
/// Tracked files of the no-lockfile scenario (folders of 50 files), and its runs.
const TREES: [(usize, usize); 3] = [(2_000, 21), (20_000, 15), (100_000, 9)];

fn main() {
    let started = Instant::now();
    peers::stand_in_delay();
    let server = EmptyOsv::start();
    let rss = Path::new(GNU_TIME).exists();
    println!(
        "peak RSS: {}",
        if rss {
            "one extra run per lockgate scenario under /usr/bin/time -f %M (ru_maxrss)"
        } else {
            "not measured (no /usr/bin/time)"
        }
    );
    let mut rows = Vec::new();
    let mut sizes = SIZES.to_vec();
    if opted_in("LOCKGATE_BENCH_HUGE") {
        sizes.push(HUGE);
    }
    for (entries, runs) in sizes.into_iter().filter(|(size, _)| chosen(*size)) {
        lockfile_scenarios(&server, entries, runs, rss, &mut rows);
    }
    for (files, runs) in TREES.into_iter().filter(|(size, _)| chosen(*size)) {
        let dir = tree_repository(files / 50);
        let before = server.requests();
        let lockgate = time_lockgate(dir.path(), &server.url, &[], runs);
        assert_eq!(
            server.requests(),
            before,
            "the fast path must not reach OSV"
        );
        let git = time_git(dir.path(), runs);
        let plumbing = time_diff_index(dir.path(), runs);
        let peak = rss.then(|| peak_rss(dir.path(), &server.url, &[], Kept::Head));
        rows.push(Row {
            scenario: "no lockfile staged".into(),
            size: format!("{} files", thousands(files)),
            file_mib: None,
            lockgate,
            git,
            plumbing,
            peak,
        });
        print_row(rows.last().unwrap());
    }
    if !rows.is_empty() {
        println!();
        print_table(&rows);
    }
    if opted_in("LOCKGATE_BENCH_PEERS") {
        peers::npm_peers(&server, rss);
    }
    if opted_in("LOCKGATE_BENCH_LATENCY") {
        latency::batches_in_flight(&server);
    }
    if opted_in("LOCKGATE_BENCH_FINDINGS") {
        findings::findings();
    }
    println!("\ntotal wall time {:.0} s", started.elapsed().as_secs_f64());
}

/// Whether the environment variable `name` is `1` (an opt-in part of the benchmark).
fn opted_in(name: &str) -> bool {
    std::env::var(name).is_ok_and(|value| value == "1")
}

/// Scenarios (a), (b) and (c) at one lockfile size.
fn lockfile_scenarios(
    server: &EmptyOsv,
    entries: usize,
    runs: usize,
    rss: bool,
    rows: &mut Vec<Row>,
) {
    let project = Project::generate(entries, entries as u64);
    let (manifest, lock) = project.render(false);
    let (manifest_plus, lock_plus) = project.render(true);
    let file_mib = Some(lock.len() as f64 / 1_048_576.0);
    let size = format!("{} entries", thousands(project.locked()));

    // (a) and (c): the project committed, one package added and staged.
    let committed = plus_one_repository(&manifest, &lock, &manifest_plus, &lock_plus);
    let repo = committed.path();
    check_clean(repo, &server.url, &[]);
    let git_staged = time_git(repo, runs);
    let plumbing_staged = time_diff_index(repo, runs);
    for (scenario, extra, kept) in [
        ("+1 package staged", &[][..], Kept::Head),
        ("+1 package staged, nothing kept", &[][..], Kept::Nothing),
        ("--all, nothing kept", &["--all"][..], Kept::Nothing),
    ] {
        let lockgate = time_lockgate_kept(repo, &server.url, extra, runs, 0, kept);
        let peak = rss.then(|| peak_rss(repo, &server.url, extra, kept));
        rows.push(Row {
            scenario: scenario.into(),
            size: size.clone(),
            file_mib,
            lockgate,
            git: git_staged.clone(),
            plumbing: plumbing_staged.clone(),
            peak,
        });
        print_row(rows.last().unwrap());
    }
    drop(committed);

    // (b): the project new in whole, staged over a commit without it.
    let fresh = new_lockfile_repository(&manifest, &lock);
    let repo = fresh.path();
    check_clean(repo, &server.url, &[]);
    let git = time_git(repo, runs);
    let plumbing = time_diff_index(repo, runs);
    let lockgate = time_lockgate(repo, &server.url, &[], runs);
    let peak = rss.then(|| peak_rss(repo, &server.url, &[], Kept::Head));
    rows.push(Row {
        scenario: "lockfile new in whole".into(),
        size,
        file_mib,
        lockgate,
        git,
        plumbing,
        peak,
    });
    print_row(rows.last().unwrap());
}

/// One line of the table.
struct Row {
    scenario: String,
    size: String,
    /// The lockfile's size, MiB.
    file_mib: Option<f64>,
    lockgate: Vec<Duration>,
    git: Vec<Duration>,
    /// `git diff-index --cached --quiet HEAD`, for reference.
    plumbing: Vec<Duration>,
    /// lockgate's peak resident set, KiB.
    peak: Option<u64>,
}

impl Row {
    fn cells(&self) -> Vec<String> {
        let lockgate = percentile(&self.lockgate, 50);
        let git = percentile(&self.git, 50);
        let peak_mib = self.peak.map(|kib| kib as f64 / 1024.0);
        vec![
            self.scenario.clone(),
            self.size.clone(),
            self.file_mib.map_or("-".into(), |mib| format!("{mib:.1}")),
            format!("{}/{}", self.lockgate.len(), self.git.len()),
            format!("{:.1}", ms(lockgate)),
            format!("{:.1}", ms(git)),
            format!("{:.1}", ms(percentile(&self.plumbing, 50))),
            format!("{:.1}×", lockgate.as_secs_f64() / git.as_secs_f64()),
            peak_mib.map_or("-".into(), |mib| format!("{mib:.0}")),
            match (peak_mib, self.file_mib) {
                (Some(peak), Some(file)) => format!("{:.1}×", peak / file),
                _ => "-".into(),
            },
        ]
    }
}

const HEADER: [&str; 10] = [
    "scenario",
    "size",
    "lockfile MiB",
    "runs lockgate/git",
    "lockgate ms",
    "git ms",
    "diff-index ms",
    "ratio",
    "peak RSS MiB",
    "RSS/file",
];

fn print_row(row: &Row) {
    let cells = row.cells();
    println!(
        "{} / {}: lockgate median {} ms (min {:.1}, max {:.1}), git diff --cached --quiet {} ms, \
         ratio {}, peak RSS {} MiB ({} runs)",
        cells[0],
        cells[1],
        cells[4],
        ms(percentile(&row.lockgate, 0)),
        ms(*row.lockgate.iter().max().unwrap()),
        cells[5],
        cells[7],
        cells[8],
        cells[3]
    );
}

/// A Markdown table of every row.
fn print_table(rows: &[Row]) {
    let cells: Vec<Vec<String>> = rows.iter().map(Row::cells).collect();
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|column| {
            cells
                .iter()
                .map(|row| row[column].chars().count())
                .chain([HEADER[column].len()])
                .max()
                .unwrap()
        })
        .collect();
    let line = |values: &[String]| {
        let mut out = String::from("|");
        for (column, value) in values.iter().enumerate() {
            let pad = widths[column] - value.chars().count();
            if column < 2 {
                write!(out, " {value}{} |", " ".repeat(pad)).unwrap();
            } else {
                write!(out, " {}{value} |", " ".repeat(pad)).unwrap();
            }
        }
        out
    };
    println!(
        "{}",
        line(&HEADER.iter().map(|h| h.to_string()).collect::<Vec<_>>())
    );
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(column, width)| {
            if column < 2 {
                "-".repeat(*width)
            } else {
                format!("{}:", "-".repeat(width - 1))
            }
        })
        .collect();
    println!("{}", line(&rule));
    for row in &cells {
        println!("{}", line(row));
    }
}

/// Whether `LOCKGATE_BENCH_ONLY` (sizes, comma-separated) lets `size` run; unset, all run.
fn chosen(size: usize) -> bool {
    std::env::var("LOCKGATE_BENCH_ONLY").map_or(true, |only| {
        only.split(',')
            .any(|listed| listed.trim().parse() == Ok(size))
    })
}

/// A scratch folder, removed when dropped unless `LOCKGATE_BENCH_KEEP=1` (then printed).
struct Scratch {
    path: std::path::PathBuf,
    _removed: Option<tempfile::TempDir>,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("temp dir");
        if std::env::var("LOCKGATE_BENCH_KEEP").is_ok_and(|value| value == "1") {
            println!("kept: {}", dir.path().display());
            return Scratch {
                path: dir.keep(),
                _removed: None,
            };
        }
        Scratch {
            path: dir.path().to_path_buf(),
            _removed: Some(dir),
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

fn init(repo: &Path) {
    git(repo, &["init", "-q", "-b", "main"]);
}

fn write(repo: &Path, path: &str, text: &str) {
    std::fs::write(repo.join(path), text).unwrap();
}

/// The project (`manifest`, `lock`) committed, and the same with one package more staged.
fn plus_one_repository(
    manifest: &str,
    lock: &str,
    manifest_plus: &str,
    lock_plus: &str,
) -> Scratch {
    let dir = Scratch::new();
    let repo = dir.path();
    init(repo);
    write(repo, "README.md", "# scale\n");
    write(repo, "package.json", manifest);
    write(repo, "package-lock.json", lock);
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "project"]);
    write(repo, "package.json", manifest_plus);
    write(repo, "package-lock.json", lock_plus);
    git(repo, &["add", "package.json", "package-lock.json"]);
    dir
}

/// The project (`manifest`, `lock`) new in whole, staged over a commit without it.
fn new_lockfile_repository(manifest: &str, lock: &str) -> Scratch {
    let dir = Scratch::new();
    let repo = dir.path();
    init(repo);
    write(repo, "README.md", "# scale\n");
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "readme"]);
    write(repo, "package.json", manifest);
    write(repo, "package-lock.json", lock);
    git(repo, &["add", "."]);
    dir
}

/// A committed repository of `folders` × 50 files with README.md changed and staged.
fn tree_repository(folders: usize) -> Scratch {
    let dir = Scratch::new();
    let repo = dir.path();
    init(repo);
    common::write_tree(repo, folders);
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "tree"]);
    write(repo, "README.md", "changed\n");
    git(repo, &["add", "README.md"]);
    dir
}

/// One run that must pass: exit 0, no findings, no problems (the project is in sync).
fn check_clean(repo: &Path, osv_url: &str, extra: &[&str]) {
    let output = lockgate(repo, osv_url, extra)
        .output()
        .expect("run lockgate");
    common::assert_passed(&output, "the generated project");
}

fn time_lockgate(repo: &Path, osv_url: &str, extra: &[&str], runs: usize) -> Vec<Duration> {
    time_lockgate_exit(repo, osv_url, extra, runs, 0)
}

/// Timed runs that each end with exit code `code` (1: blocked by findings), each started with
/// `HEAD`'s lockfile kept (as after the hook ran on the commit that staged it).
fn time_lockgate_exit(
    repo: &Path,
    osv_url: &str,
    extra: &[&str],
    runs: usize,
    code: i32,
) -> Vec<Duration> {
    time_lockgate_kept(repo, osv_url, extra, runs, code, Kept::Head)
}

/// What lockgate's readings kept by blob id (`.git/lockgate/parsed`) hold when a run starts.
#[derive(Clone, Copy)]
enum Kept {
    /// `HEAD`'s lockfile only: as after the hook ran on the commit that staged it (the run
    /// before each timed one kept it; the staged lockfile's is removed).
    Head,
    /// Nothing: a fresh clone, or the first run of another lockgate binary.
    Nothing,
}

/// Removes the kept readings `kept` says a run starts without.
fn forget_kept(repo: &Path, kept: Kept) {
    let head = match kept {
        Kept::Nothing => None,
        Kept::Head => Command::new("git")
            .args(["rev-parse", "--verify", "-q", "HEAD:package-lock.json"])
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .current_dir(repo)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string()),
    };
    let folder = repo.join(".git/lockgate/parsed");
    let mut kept_head = false;
    for file in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
        let name = file.file_name().to_string_lossy().into_owned();
        match &head {
            Some(head) if name.starts_with(head.as_str()) => kept_head = true,
            _ => std::fs::remove_file(file.path()).expect("remove a kept reading"),
        }
    }
    assert!(
        head.is_none() || kept_head,
        "HEAD's lockfile was not kept in {}",
        folder.display()
    );
}

/// [`time_lockgate_exit`], each run started with `kept`.
fn time_lockgate_kept(
    repo: &Path,
    osv_url: &str,
    extra: &[&str],
    runs: usize,
    code: i32,
    kept: Kept,
) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            forget_kept(repo, kept);
            let mut command = lockgate(repo, osv_url, extra);
            let start = Instant::now();
            let output = command.output().expect("run lockgate");
            let elapsed = start.elapsed();
            assert_eq!(output.status.code(), Some(code), "{output:?}");
            elapsed
        })
        .collect()
}

/// `git diff --cached --quiet`: git comparing the index with HEAD (exit 1: they differ).
fn time_git(repo: &Path, runs: usize) -> Vec<Duration> {
    time_git_command(repo, &["diff", "--cached", "--quiet"], runs)
}

/// `git diff-index --cached --quiet HEAD`: the plumbing compares blob ids only (the porcelain
/// above reads and compares both blobs, since a textconv or external diff could make them equal).
fn time_diff_index(repo: &Path, runs: usize) -> Vec<Duration> {
    time_git_command(repo, &["diff-index", "--cached", "--quiet", "HEAD"], runs)
}

fn time_git_command(repo: &Path, args: &[&str], runs: usize) -> Vec<Duration> {
    (0..runs.max(GIT_RUNS))
        .map(|_| {
            let mut command = Command::new("git");
            command
                .args(args)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .current_dir(repo);
            let start = Instant::now();
            let status = command.status().expect("run git");
            let elapsed = start.elapsed();
            assert!(status.code().is_some_and(|code| code <= 1), "{status:?}");
            elapsed
        })
        .collect()
}

/// lockgate's peak resident set in KiB (the child's `ru_maxrss`), from one run under GNU time
/// with the same arguments, environment, folder and kept readings as the timed runs.
fn peak_rss(repo: &Path, osv_url: &str, extra: &[&str], kept: Kept) -> u64 {
    forget_kept(repo, kept);
    peak_rss_of(&lockgate(repo, osv_url, extra))
}

/// The peak resident set in KiB of one run of `template` (program, arguments, environment and
/// folder as set there) under GNU time; the run must succeed.
fn peak_rss_of(template: &Command) -> u64 {
    let report = tempfile::NamedTempFile::new().unwrap();
    let status = under_gnu_time(template, report.path())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run GNU time");
    assert!(status.success(), "{status:?}");
    read_peak_rss(report.path())
}

/// 12,345 → "12,345".
fn thousands(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
