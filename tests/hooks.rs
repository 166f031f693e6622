//! lockgate as users install it: `install.sh` into real repositories, then real `git commit`
//! and `git push` (to a local bare repository) running the installed hooks.

use crate::support::{npm_lock_v3, package_json_matching, OsvServer, Run, TestRepo};
use std::path::{Path, PathBuf};

/// debug@4.4.2 is MAL-2025-46974 in ../shared/data/osv.
const MALWARE: (&str, &str) = ("debug", "4.4.2");
const MALWARE_ID: &str = "MAL-2025-46974";
/// No record in ../shared/data/osv names these.
const CLEAN: [(&str, &str); 3] = [
    ("left-pad", "1.3.0"),
    ("is-number", "7.0.0"),
    ("ms", "2.1.3"),
];

fn install_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh")
}

/// Runs `install.sh --binary <the compiled lockgate> args…` in the repository.
fn install(repo: &TestRepo, args: &[&str]) -> Run {
    let mut all = vec!["--binary", crate::support::repo::LOCKGATE_BIN];
    all.extend_from_slice(args);
    repo.program_command(install_sh(), &all).run()
}

/// Writes package.json and package-lock.json (in sync) locking `packages`, and stages them.
fn stage_project(repo: &TestRepo, packages: &[(&str, &str)]) {
    repo.write_and_stage("package.json", package_json_matching(packages));
    repo.write_and_stage("package-lock.json", npm_lock_v3(packages));
}

/// A real `git` command with the hooks' OSV pointed at the test server.
fn git(repo: &TestRepo, server: &OsvServer, args: &[&str]) -> Run {
    repo.git_command(args)
        .env("LOCKGATE_OSV_URL", server.url())
        .run()
}

fn hooks_dir(repo: &TestRepo) -> PathBuf {
    repo.path().join(".git/hooks")
}

/// A bare repository beside the worktree, added as remote `origin`.
fn add_remote(repo: &TestRepo) -> PathBuf {
    let remote = repo.root().join("remote.git");
    git2::Repository::init_bare(&remote).expect("init the bare remote");
    repo.git(&["remote", "add", "origin", remote.to_str().unwrap()])
        .assert_success();
    remote
}

#[test]
fn installed_pre_commit_hook_refuses_malware_and_lets_clean_commits_through() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    install(&repo, &[])
        .assert_success()
        .assert_stdout_contains("installed the pre-commit hook");

    stage_project(&repo, &CLEAN[..2]);
    git(&repo, &server, &["commit", "-m", "clean"])
        .assert_success()
        .assert_stderr_contains("lockgate: commit allowed");
    let clean_head = repo.head().expect("the clean commit landed");

    stage_project(&repo, &[CLEAN[0], CLEAN[1], MALWARE]);
    let refused = git(&repo, &server, &["commit", "-m", "add debug"]);
    assert_ne!(refused.code, Some(0), "{}", refused.output());
    assert!(refused.stderr.contains(MALWARE_ID), "{}", refused.output());
    assert_eq!(
        repo.head(),
        Some(clean_head),
        "the malicious commit must not land"
    );
}

#[test]
fn a_foreign_hook_is_chained_and_uninstall_restores_it() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let hooks = hooks_dir(&repo);
    std::fs::create_dir_all(&hooks).unwrap();
    let foreign = "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/foreign-ran\"\n\
                   [ ! -e \"$(git rev-parse --git-dir)/foreign-fails\" ]\n";
    let hook = hooks.join("pre-commit");
    std::fs::write(&hook, foreign).unwrap();
    make_executable(&hook);

    install(&repo, &[])
        .assert_success()
        .assert_stdout_contains("kept your pre-commit hook");
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-commit.lockgate-chained")).unwrap(),
        foreign
    );
    let installed = snapshot(&hooks);

    // Both run: the foreign hook first, then lockgate.
    stage_project(&repo, &CLEAN[..2]);
    git(&repo, &server, &["commit", "-m", "clean"])
        .assert_success()
        .assert_stderr_contains("lockgate: commit allowed");
    assert!(repo.path().join(".git/foreign-ran").exists());

    // The foreign hook's failure stops the commit before lockgate asks anything.
    std::fs::write(repo.path().join(".git/foreign-fails"), "").unwrap();
    let requests = server.request_count();
    stage_project(&repo, &CLEAN);
    let refused = git(
        &repo,
        &server,
        &["commit", "-m", "stopped by the foreign hook"],
    );
    assert_ne!(refused.code, Some(0), "{}", refused.output());
    assert_eq!(server.request_count(), requests);

    // Installing again changes nothing.
    install(&repo, &[])
        .assert_success()
        .assert_stdout_contains("already installed");
    assert_eq!(snapshot(&hooks), installed);

    // Uninstalling puts the foreign hook back, as it was, and removes the pre-push hook.
    install(&repo, &["--uninstall"]).assert_success();
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), foreign);
    assert!(!hooks.join("pre-commit.lockgate-chained").exists());
    assert!(!hooks.join("pre-push").exists());
}

#[test]
fn hooks_land_where_core_hooks_path_points() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.set_config("core.hooksPath", ".githooks");
    install(&repo, &["--no-pre-push"]).assert_success();
    assert!(repo.path().join(".githooks/pre-commit").exists());
    assert!(!repo.path().join(".githooks/pre-push").exists());
    assert!(!hooks_dir(&repo).join("pre-commit").exists());

    stage_project(&repo, &[MALWARE]);
    let refused = git(&repo, &server, &["commit", "-m", "add debug"]);
    assert_ne!(refused.code, Some(0), "{}", refused.output());
    assert!(refused.stderr.contains(MALWARE_ID), "{}", refused.output());
}

#[test]
fn a_missing_binary_stops_the_commit_and_says_how_to_install() {
    let repo = TestRepo::new();
    install(&repo, &[]).assert_success();
    stage_project(&repo, &CLEAN[..1]);
    let run = repo
        .git_command(&["commit", "-m", "x"])
        .env("LOCKGATE", "/nonexistent/lockgate")
        .run();
    assert_ne!(run.code, Some(0), "{}", run.output());
    run.assert_stderr_contains("cannot find the lockgate binary")
        .assert_stderr_contains("cargo install --locked --path");
    assert_eq!(repo.head(), None);
}

#[test]
fn push_of_an_existing_branch_is_refused_when_any_pushed_commit_adds_malware() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    add_remote(&repo);
    install(&repo, &[]).assert_success();
    stage_project(&repo, &CLEAN[..1]);
    repo.commit("clean start");
    git(&repo, &server, &["push", "origin", "main"]).assert_success();

    // The malicious package is added, then removed again: the last commit alone is clean.
    stage_project(&repo, &[CLEAN[0], MALWARE]);
    repo.commit("add debug");
    stage_project(&repo, &[CLEAN[0], CLEAN[1]]);
    repo.commit("drop debug, add is-number");
    let refused = git(&repo, &server, &["push", "origin", "main"]);
    assert_ne!(refused.code, Some(0), "{}", refused.output());
    assert!(refused.stderr.contains(MALWARE_ID), "{}", refused.output());
    assert!(
        refused.stderr.contains("push BLOCKED"),
        "{}",
        refused.output()
    );
}

#[test]
fn push_of_a_new_branch_checks_what_the_remote_lacks() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    add_remote(&repo);
    install(&repo, &[]).assert_success();
    stage_project(&repo, &CLEAN[..2]);
    repo.commit("clean start");
    git(&repo, &server, &["push", "origin", "main"]).assert_success();

    // A clean new branch: only the package it adds is asked about, not what main already has.
    repo.git(&["checkout", "-q", "-b", "clean-topic"])
        .assert_success();
    stage_project(&repo, &CLEAN);
    repo.commit("add ms");
    let before = server.querybatch_queries().len();
    git(&repo, &server, &["push", "origin", "clean-topic"])
        .assert_success()
        .assert_stderr_contains("push allowed");
    let asked: Vec<String> = server.querybatch_queries()[before..]
        .iter()
        .map(|(_, name, version)| format!("{name}@{version}"))
        .collect();
    assert_eq!(asked, ["ms@2.1.3"]);

    // A new branch whose commit adds malware is refused.
    repo.git(&["checkout", "-q", "-b", "bad-topic", "main"])
        .assert_success();
    stage_project(&repo, &[CLEAN[0], MALWARE]);
    repo.commit("add debug");
    let refused = git(&repo, &server, &["push", "origin", "bad-topic"]);
    assert_ne!(refused.code, Some(0), "{}", refused.output());
    assert!(refused.stderr.contains(MALWARE_ID), "{}", refused.output());

    // Deleting a remote branch checks nothing.
    let requests = server.request_count();
    git(
        &repo,
        &server,
        &["push", "origin", "--delete", "clean-topic"],
    )
    .assert_success();
    assert_eq!(server.request_count(), requests);
}

#[test]
fn several_refs_in_one_push_are_all_checked() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    add_remote(&repo);
    stage_project(&repo, &CLEAN[..1]);
    let start = repo.commit("clean start");
    repo.git(&["branch", "bad", &start.to_string()])
        .assert_success();
    repo.git(&["checkout", "-q", "bad"]).assert_success();
    stage_project(&repo, &[CLEAN[0], MALWARE]);
    repo.commit("add debug");
    repo.git(&["checkout", "-q", "main"]).assert_success();

    // Driven by hand, as git's pre-push would: two refs, the second carries the malware.
    let bad = repo.git2().revparse_single("bad").unwrap().id();
    let zero = "0".repeat(40);
    let input = format!("refs/heads/main {start} refs/heads/main {zero}\nrefs/heads/bad {bad} refs/heads/bad {zero}\n");
    let run = repo
        .lockgate_command(&[
            "--osv-url",
            &server.url(),
            "--pre-push",
            "origin",
            "unused-url",
        ])
        .stdin(input)
        .run();
    run.assert_code(1).assert_stderr_contains(MALWARE_ID);
}

#[test]
fn bad_pre_push_input_is_exit_two_naming_the_line() {
    let repo = TestRepo::new();
    repo.lockgate_command(&["--pre-push", "origin", "url"])
        .stdin("refs/heads/main not-a-sha refs/heads/main also-not\n")
        .run()
        .assert_code(2)
        .assert_stderr_contains("line 1");
}

/// File name → content of every file in `folder`.
fn snapshot(folder: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
