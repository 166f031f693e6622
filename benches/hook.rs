//! Benchmark of the pre-commit hook as git runs it: the compiled binary in a real repository.
//!
//! Scenarios: a commit that touches no lockfile in a repository of 20,000 files (the common
//! case, which must cost milliseconds and no network), and a commit that adds a lockfile of
//! 5,055 real packages, answered by a local OSV stand-in (one batched round trip per 1,000), and a
//! package.json edit over that lockfile (the offline sync check alone).
//! Run with `cargo bench --bench hook`; figures go in BENCHMARKS.md.

mod common;

use common::{git, report, EmptyOsv};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 30;

fn main() {
    let server = EmptyOsv::start();
    let small = repository(40);
    report(
        "no lockfile staged, 2,000-file repository",
        &time(small.path(), &server.url),
    );
    let dir = repository(400);
    let repo = dir.path().to_path_buf();

    // 1. A commit that touches no lockfile.
    report(
        "no lockfile staged, 20,000-file repository",
        &time(&repo, &server.url),
    );
    assert_eq!(server.requests(), 0, "the fast path must not reach OSV");

    // 2. A commit that adds a real lockfile of 5,055 packages.
    let data = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/lockfiles/npm-5055-packages"
    );
    for file in ["package.json", "package-lock.json", ".npmrc"] {
        if let Ok(text) = std::fs::read(format!("{data}/{file}")) {
            std::fs::write(repo.join(file), text).unwrap();
        }
    }
    git(&repo, &["add", "."]);
    let before = server.requests();
    let timings = time(&repo, &server.url);
    report(
        "5,055-package lockfile added (local OSV, no hits)",
        &timings,
    );
    println!(
        "  querybatch requests per run: {}",
        (server.requests() - before) / timings.len()
    );

    // 2b. The same commit again with the result cache (a retried commit, a hook run twice):
    // the first run fills the cache, the next ones ask nothing.
    let before = server.requests();
    let timings = time_with(&repo, &server.url, &[]);
    report(
        "5,055-package lockfile added again, answers cached",
        &timings,
    );
    println!(
        "  querybatch requests in {} runs: {}",
        timings.len(),
        server.requests() - before
    );

    // 3. A package.json edit over that lockfile, committed: the sync check reads and judges the
    // 5,055-entry lockfile, offline; nothing is queried.
    git(&repo, &["commit", "-q", "-m", "lockfile"]);
    let manifest = std::fs::read_to_string(repo.join("package.json")).unwrap();
    let edited = manifest.replacen('{', "{\n  \"description\": \"edited\",", 1);
    std::fs::write(repo.join("package.json"), edited).unwrap();
    git(&repo, &["add", "package.json"]);
    let before = server.requests();
    report(
        "package.json edited, 5,055-package lockfile committed (sync check only)",
        &time(&repo, &server.url),
    );
    assert_eq!(server.requests(), before, "the sync check is offline");
}

/// A committed repository of `folders` × 50 files with README.md changed and staged.
fn repository(folders: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    common::write_tree(repo, folders);
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "tree"]);
    std::fs::write(repo.join("README.md"), "changed\n").unwrap();
    git(repo, &["add", "README.md"]);
    dir
}

/// Runs the hook 30 times without the result cache, as a first commit of these packages would.
fn time(repo: &Path, osv_url: &str) -> Vec<Duration> {
    time_with(repo, osv_url, &["--no-cache"])
}

/// Runs the hook 30 times with `extra` arguments and a cache folder of its own (not the user's).
fn time_with(repo: &Path, osv_url: &str, extra: &[&str]) -> Vec<Duration> {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let output = Command::new(env!("CARGO_BIN_EXE_lockgate"))
                .args(["--osv-url", osv_url, "--format", "json"])
                .args(extra)
                .env("LOCKGATE_CACHE_DIR", repo.join(".git/lockgate-bench-cache"))
                // The registry side (release age) has a benchmark of its own; this one measures
                // the hook and OSV as before.
                .env("LOCKGATE_RELEASE_AGE", "0")
                .current_dir(repo)
                .env_remove("GIT_DIR")
                .env_remove("GIT_INDEX_FILE")
                .output()
                .expect("run lockgate");
            let elapsed = start.elapsed();
            assert!(
                output.status.code().is_some_and(|code| code <= 1),
                "{output:?}"
            );
            elapsed
        })
        .collect()
}
