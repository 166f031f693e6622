//! pipenv's `Pipfile.lock` freshness: every case of tests/fixtures/pypi/pipenv/ (made by the real
//! pipenv, `make-cases.py` there) judged by lockgate as `pipenv verify` judged it, through the
//! `Files` API and end to end in real repositories.

use crate::support::{OsvServer, Run, TestRepo};
use lockgate::ecosystem::{project_problems, Fixing};
use lockgate::report::{Problem, ProblemKind};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pypi/pipenv");

/// A case: its name, its files (Pipfile, Pipfile.lock when it has one), and whether pipenv
/// verify passed it.
struct Case {
    name: String,
    files: BTreeMap<String, String>,
    fresh: bool,
}

/// pipenv verify's cases, as the harness (tests/fixtures.rs) finds them; the scenarios beside
/// them (packages.txt) are the harness's alone.
fn cases() -> Vec<Case> {
    let cases: Vec<Case> = crate::fixtures::cases_of("pypi/pipenv")
        .into_iter()
        .filter(|case| case.root.join("verdict.txt").is_file())
        .map(|case| {
            let verdict = std::fs::read_to_string(case.root.join("verdict.txt")).unwrap();
            let fresh = match verdict.lines().next() {
                Some("exit 0") => true,
                Some("exit 1") => false,
                other => panic!("{}: unexpected verdict {other:?}", case.name),
            };
            Case {
                files: read_files(&case.root, "app"),
                name: case.name,
                fresh,
            }
        })
        .collect();
    assert!(cases.len() >= 12, "{} cases", cases.len());
    assert!(cases.iter().any(|case| case.fresh) && cases.iter().any(|case| !case.fresh));
    cases
}

/// The Pipfile and Pipfile.lock of `root`, under `folder/` of a repository.
fn read_files(root: &Path, folder: &str) -> BTreeMap<String, String> {
    ["Pipfile", "Pipfile.lock"]
        .into_iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(root.join(file)).ok()?;
            Some((format!("{folder}/{file}"), text))
        })
        .collect()
}

/// What lockgate says of `files` with `--all` (every project) and for a commit staging them.
fn problems(files: &BTreeMap<String, String>) -> Vec<Problem> {
    let all = project_problems(files, None, Fixing::Staged).unwrap();
    let changed: Vec<String> = files.keys().cloned().collect();
    let staged = project_problems(files, Some(&changed), Fixing::Staged).unwrap();
    assert_eq!(all, staged);
    all
}

fn assert_agrees(name: &str, files: &BTreeMap<String, String>, fresh: bool) {
    let problems = problems(files);
    if fresh {
        assert!(
            problems.is_empty(),
            "{name}: pipenv says fresh\n{problems:#?}"
        );
        return;
    }
    assert_eq!(problems.len(), 1, "{name}: {problems:#?}");
    let problem = &problems[0];
    assert!(problem.blocking, "{name}");
    assert!(
        matches!(
            problem.kind,
            ProblemKind::LockfileOutOfSync
                | ProblemKind::LockfileMissing
                | ProblemKind::LockfileUnreadable
        ),
        "{name}: {problem:?}"
    );
    assert_eq!(problem.path, "app/Pipfile.lock", "{name}");
    let command = "run `pipenv lock` in app and stage app/Pipfile.lock";
    assert!(
        problem.message.contains(command),
        "{name}: {}",
        problem.message
    );
}

/// `files` with one hex digit of the lock's `_meta.hash` changed.
fn with_wrong_hash(files: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut files = files.clone();
    let lock = files.get_mut("app/Pipfile.lock").unwrap();
    let at = lock.find("\"sha256\": \"").unwrap() + "\"sha256\": \"".len();
    let digit = if &lock[at..=at] == "0" { "1" } else { "0" };
    lock.replace_range(at..=at, digit);
    files
}

#[test]
fn lockgate_judges_every_case_as_pipenv_verify_did() {
    let cases = cases();
    for case in &cases {
        assert_agrees(&case.name, &case.files, case.fresh);
    }
    // The check can fail: the same files with a wrong hash are stale to lockgate, as they are
    // to pipenv (its verify compares the two strings).
    let mut mutated = 0;
    for case in cases.iter().filter(|case| case.fresh) {
        assert_agrees(&case.name, &with_wrong_hash(&case.files), false);
        mutated += 1;
    }
    assert!(mutated >= 5, "{mutated}");
    eprintln!(
        "pipenv: lockgate agrees with pipenv verify on {n} of {n} cases",
        n = cases.len()
    );
}

#[test]
fn the_locked_scenarios_are_fresh() {
    // generate.sh checks each committed scenario with `pipenv verify` and stops unless it passes.
    for scenario in ["small", "names", "markers", "groups"] {
        let files = read_files(&PathBuf::from(SCENARIOS).join(scenario), "app");
        assert_eq!(files.len(), 2, "{scenario}");
        assert_agrees(scenario, &files, true);
    }
}

fn case(name: &str) -> Case {
    let name = format!("pypi/pipenv/{name}");
    cases().into_iter().find(|case| case.name == name).unwrap()
}

fn stage(repo: &TestRepo, files: &BTreeMap<String, String>) {
    for (path, text) in files {
        repo.write_and_stage(path, text);
    }
}

/// lockgate with the JSON report, and `--all` when `all`.
fn run(repo: &TestRepo, server: &OsvServer, all: bool) -> Run {
    let extra: &[&str] = if all {
        &["--format", "json", "--all"]
    } else {
        &["--format", "json"]
    };
    crate::staged::run(repo, server, extra)
}

#[test]
fn committing_a_stale_pipfile_lock_blocks_end_to_end() {
    let server = OsvServer::builder().without_shared_data().start();
    for name in [
        "package-added",
        "python-version-changed",
        "lock-without-hash",
    ] {
        let repo = TestRepo::new();
        stage(&repo, &case(name).files);
        let run = run(&repo, &server, false);
        run.assert_code(1);
        let problem = &run.stdout_json()["problems"][0];
        assert_eq!(problem["kind"], "lockfile-out-of-sync", "{name}");
        assert_eq!(problem["path"], "app/Pipfile.lock", "{name}");
        assert!(
            problem["message"]
                .as_str()
                .unwrap()
                .contains("run `pipenv lock` in app"),
            "{name}: {problem}"
        );
        // --all finds it in what is staged, and in a commit that got past the hook.
        self::run(&repo, &server, true).assert_code(1);
        repo.commit("stale lock");
        self::run(&repo, &server, true).assert_code(1);
    }
}

#[test]
fn a_fresh_pipfile_lock_passes_end_to_end_and_a_later_pipfile_edit_blocks() {
    let server = OsvServer::builder().without_shared_data().start();
    let repo = TestRepo::new();
    stage(&repo, &case("fresh").files);
    run(&repo, &server, false).assert_success();
    run(&repo, &server, true).assert_success();
    repo.commit("locked");

    // Only the Pipfile is staged: it triggers the check, and the committed lock is stale.
    let added = case("package-added");
    repo.write_and_stage("app/Pipfile", &added.files["app/Pipfile"]);
    let blocked = repo.lockgate(&["--osv-url", &server.url()]);
    blocked
        .assert_code(1)
        .assert_stderr_contains("app/Pipfile.lock")
        .assert_stderr_contains("run `pipenv lock` in app");

    // A change pipenv does not hash ([scripts]) passes.
    repo.write_and_stage("app/Pipfile", &case("scripts-changed").files["app/Pipfile"]);
    run(&repo, &server, false).assert_success();
}

#[test]
fn a_pipfile_without_its_lock_blocks_end_to_end() {
    let server = OsvServer::builder().without_shared_data().start();
    let repo = TestRepo::new();
    stage(&repo, &case("lock-missing").files);
    let run = run(&repo, &server, false);
    run.assert_code(1);
    let problem = &run.stdout_json()["problems"][0];
    assert_eq!(problem["kind"], "lockfile-missing");
    assert_eq!(problem["path"], "app/Pipfile.lock");
}
