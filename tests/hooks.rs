//! lockgate as users install it: `install.sh` into real repositories, then real `git commit`
//! and `git push` (to a local bare repository) running the installed hooks.

use crate::support::repo::Invocation;
use crate::support::{OsvServer, Run, TestRepo};
use std::path::{Path, PathBuf};

/// debug@4.4.2 is MAL-2025-46974 in ../shared/data/osv.
pub(crate) const MALWARE: (&str, &str) = ("debug", "4.4.2");
pub(crate) const MALWARE_ID: &str = "MAL-2025-46974";
/// No record in ../shared/data/osv names these.
pub(crate) const CLEAN: [(&str, &str); 3] = [
    ("left-pad", "1.3.0"),
    ("is-number", "7.0.0"),
    ("ms", "2.1.3"),
];

fn install_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh")
}

/// Runs `install.sh --binary <the compiled lockgate> args…` in the repository.
pub(crate) fn install(repo: &TestRepo, args: &[&str]) -> Run {
    let mut all = vec!["--binary", crate::support::repo::LOCKGATE_BIN];
    all.extend_from_slice(args);
    repo.program_command(install_sh(), &all).run()
}

/// A real `git` command with the hooks' OSV pointed at the test server.
pub(crate) fn git(repo: &TestRepo, server: &OsvServer, args: &[&str]) -> Run {
    repo.git_command(args)
        .env("LOCKGATE_OSV_URL", server.url())
        .run()
}

fn hooks_dir(repo: &TestRepo) -> PathBuf {
    repo.path().join(".git/hooks")
}

/// A bare repository beside the worktree, added as remote `origin`.
pub(crate) fn add_remote(repo: &TestRepo) -> PathBuf {
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

    repo.stage_npm_project("", &CLEAN[..2]);
    git(&repo, &server, &["commit", "-m", "clean"])
        .assert_success()
        .assert_stderr_contains("lockgate: commit allowed");
    let clean_head = repo.head().expect("the clean commit landed");

    repo.stage_npm_project("", &[CLEAN[0], CLEAN[1], MALWARE]);
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
    repo.stage_npm_project("", &CLEAN[..2]);
    git(&repo, &server, &["commit", "-m", "clean"])
        .assert_success()
        .assert_stderr_contains("lockgate: commit allowed");
    assert!(repo.path().join(".git/foreign-ran").exists());

    // The foreign hook's failure stops the commit before lockgate asks anything.
    std::fs::write(repo.path().join(".git/foreign-fails"), "").unwrap();
    let requests = server.request_count();
    repo.stage_npm_project("", &CLEAN);
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

    // Uninstalling puts the foreign hook back, as it was, removes the pre-push hook and what
    // lockgate kept of lockfiles by blob id (a stand-in file here: the test's lockfiles are
    // too small to be kept).
    let kept = repo.path().join(".git/lockgate/parsed");
    std::fs::create_dir_all(&kept).unwrap();
    std::fs::write(kept.join("0000.package_lock_json"), "kept").unwrap();
    install(&repo, &["--uninstall"])
        .assert_success()
        .assert_stdout_contains("removed the lockfile readings");
    assert!(!repo.path().join(".git/lockgate").exists());
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), foreign);
    assert!(!hooks.join("pre-commit.lockgate-chained").exists());
    assert!(!hooks.join("pre-push").exists());
    assert!(!hooks.join("pre-merge-commit").exists());
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

    repo.stage_npm_project("", &[MALWARE]);
    // A hooks folder in the work tree may be committed: the hooks name no path of this
    // machine and run lockgate from PATH.
    let hook = std::fs::read_to_string(repo.path().join(".githooks/pre-commit")).unwrap();
    let checkout = env!("CARGO_MANIFEST_DIR");
    assert!(!hook.contains(checkout), "{hook}");
    assert!(!hook.contains(crate::support::repo::LOCKGATE_BIN), "{hook}");
    let binary_dir = Path::new(crate::support::repo::LOCKGATE_BIN)
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        binary_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let refused = repo
        .git_command(&["commit", "-m", "add debug"])
        .env("LOCKGATE_OSV_URL", server.url())
        .env("PATH", path)
        .run();
    assert_ne!(refused.code, Some(0), "{}", refused.output());
    assert!(refused.stderr.contains(MALWARE_ID), "{}", refused.output());
}

#[test]
fn the_installer_says_what_a_committed_hooks_folder_needs_and_keeps_paths_elsewhere() {
    // .githooks is in the work tree: the installer says lockgate must be on PATH.
    let shared = TestRepo::new();
    shared.set_config("core.hooksPath", ".githooks");
    install(&shared, &["--no-pre-push"])
        .assert_success()
        .assert_stdout_contains("run `lockgate` from PATH");
    // A hooks folder git ignores (husky's `_`) is not shared: the binary is named there.
    let ignored = TestRepo::new();
    ignored.set_config("core.hooksPath", ".husky/_");
    ignored.write(".husky/_/.gitignore", "*\n");
    install(&ignored, &["--no-pre-push"]).assert_success();
    let hook = std::fs::read_to_string(ignored.path().join(".husky/_/pre-commit")).unwrap();
    assert!(hook.contains(crate::support::repo::LOCKGATE_BIN), "{hook}");
    // And the repository's own .git/hooks keeps naming the binary, as before.
    let plain = TestRepo::new();
    install(&plain, &["--no-pre-push"]).assert_success();
    let hook = std::fs::read_to_string(hooks_dir(&plain).join("pre-commit")).unwrap();
    assert!(hook.contains(crate::support::repo::LOCKGATE_BIN), "{hook}");
}

#[test]
fn a_missing_binary_stops_the_commit_and_says_how_to_install() {
    let repo = TestRepo::new();
    install(&repo, &[]).assert_success();
    repo.stage_npm_project("", &CLEAN[..1]);
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
    repo.stage_npm_project("", &CLEAN[..1]);
    repo.commit("clean start");
    git(&repo, &server, &["push", "origin", "main"]).assert_success();

    // The malicious package is added, then removed again: the last commit alone is clean.
    repo.stage_npm_project("", &[CLEAN[0], MALWARE]);
    repo.commit("add debug");
    repo.stage_npm_project("", &[CLEAN[0], CLEAN[1]]);
    repo.commit("drop debug, add is-number");
    let refused = git(&repo, &server, &["push", "origin", "main"]);
    assert_ne!(refused.code, Some(0), "{}", refused.output());
    assert!(refused.stderr.contains(MALWARE_ID), "{}", refused.output());
    assert!(
        refused.stderr.contains("push BLOCKED"),
        "{}",
        refused.output()
    );
    // The report names the pushed commit that added it (the tip no longer has it).
    let adding = repo
        .git2()
        .revparse_single("HEAD~1")
        .unwrap()
        .id()
        .to_string();
    assert!(
        refused.stderr.contains(&format!(
            "debug@4.4.2 is MALWARE (added in commit {} \"add debug\")",
            &adding[..12]
        )),
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
    repo.stage_npm_project("", &CLEAN[..2]);
    repo.commit("clean start");
    git(&repo, &server, &["push", "origin", "main"]).assert_success();

    // A clean new branch: only the package it adds is asked about, not what main already has.
    repo.git(&["checkout", "-q", "-b", "clean-topic"])
        .assert_success();
    repo.stage_npm_project("", &CLEAN);
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
    repo.stage_npm_project("", &[CLEAN[0], MALWARE]);
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
    repo.stage_npm_project("", &CLEAN[..1]);
    let start = repo.commit("clean start");
    repo.git(&["branch", "bad", &start.to_string()])
        .assert_success();
    repo.git(&["checkout", "-q", "bad"]).assert_success();
    repo.stage_npm_project("", &[CLEAN[0], MALWARE]);
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

/// Finds the pre-commit framework's command (CI and the README's test command install it from
/// PyPI into `target/venv`); there is no way to prove the `.pre-commit-hooks.yaml` without it.
pub(crate) fn pre_commit_command() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/pre-commit");
    if venv.is_file() {
        return venv;
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|folder| folder.join("pre-commit"))
        .find(|candidate| candidate.is_file())
        .expect(
            "the pre-commit framework is needed: python3 -m venv target/venv && \
             target/venv/bin/pip install pre-commit (see README.md, Set-up)",
        )
}

/// A git repository holding this checkout's files as they are now (tracked and new, not
/// ignored), committed: what the pre-commit framework clones as the hook repository.
/// Publishes this checkout's hooks as a repository beside `repo` and stages a
/// `.pre-commit-config.yaml` that uses both of them (`lockgate` and `lockgate-all`).
pub(crate) fn use_published_hooks(repo: &TestRepo) {
    let source = repo.root().join("lockgate-hooks");
    let rev = hook_repository(&source);
    repo.write_and_stage(
        ".pre-commit-config.yaml",
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: lockgate\n      - id: lockgate-all\n",
            source.display()
        ),
    );
}

pub(crate) fn hook_repository(into: &Path) -> String {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut command = std::process::Command::new("git");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("GIT_") {
            command.env_remove(name);
        }
    }
    let listed = command
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(manifest)
        .output()
        .expect("git ls-files in the lockgate checkout");
    assert!(listed.status.success(), "{listed:?}");
    for name in listed
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
    {
        let relative = Path::new(std::str::from_utf8(name).unwrap());
        let Ok(bytes) = std::fs::read(manifest.join(relative)) else {
            continue; // Deleted in the worktree.
        };
        let target = into.join(relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, bytes).unwrap();
        let mode = std::fs::metadata(manifest.join(relative))
            .unwrap()
            .permissions();
        std::fs::set_permissions(&target, mode).unwrap();
    }
    crate::support::repo::hermetic_git2();
    let repo = git2::Repository::init(into).unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let signature = git2::Signature::now("Lockgate Test", "test@lockgate.invalid").unwrap();
    repo.commit(Some("HEAD"), &signature, &signature, "lockgate", &tree, &[])
        .unwrap()
        .to_string()
}

/// `program` (the framework, or `git` running the hooks it installed) in `repo`, as the
/// framework needs it: it builds the hook with cargo, so the real toolchain and crate cache, and
/// one target folder kept across runs so only the first run compiles.
pub(crate) fn framework(
    repo: &TestRepo,
    server: &OsvServer,
    program: &Path,
    args: &[&str],
) -> Invocation {
    let real_home = PathBuf::from(std::env::var_os("HOME").expect("HOME is set"));
    let cargo_home = std::env::var_os("CARGO_HOME").map_or(real_home.join(".cargo"), PathBuf::from);
    let rustup_home =
        std::env::var_os("RUSTUP_HOME").map_or(real_home.join(".rustup"), PathBuf::from);
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-build");
    repo.program_command(program, args)
        .env("PRE_COMMIT_HOME", repo.root().join("pre-commit-home"))
        .env("CARGO_HOME", &cargo_home)
        .env("RUSTUP_HOME", &rustup_home)
        .env("CARGO_TARGET_DIR", &target)
        .env("LOCKGATE_OSV_URL", server.url())
        .timeout(std::time::Duration::from_secs(1200))
}

#[test]
fn the_pre_commit_framework_runs_the_published_hooks() {
    let pre_commit = pre_commit_command();
    let server = OsvServer::start();
    let repo = TestRepo::new();
    use_published_hooks(&repo);

    let framework = |program: &Path, args: &[&str]| framework(&repo, &server, program, args);
    framework(&pre_commit, &["install"]).run().assert_success();

    repo.stage_npm_project("", &CLEAN[..2]);
    let clean = framework(Path::new("git"), &["commit", "-m", "clean"]).run();
    clean.assert_success();
    assert!(
        clean
            .output()
            .contains("lockgate (malicious packages, lockfile sync)"),
        "{}",
        clean.output()
    );
    assert!(repo.head().is_some());

    repo.stage_npm_project("", &[CLEAN[0], MALWARE]);
    let refused = framework(Path::new("git"), &["commit", "-m", "add debug"]).run();
    assert_ne!(refused.code, Some(0), "{}", refused.output());
    assert!(
        refused.output().contains(MALWARE_ID),
        "{}",
        refused.output()
    );

    // The manual stage runs `lockgate --all` over the index, which still holds the malware.
    let all = framework(
        &pre_commit,
        &["run", "lockgate-all", "--hook-stage", "manual"],
    )
    .run();
    assert_ne!(all.code, Some(0), "{}", all.output());
    assert!(all.output().contains(MALWARE_ID), "{}", all.output());
}

/// The pre-commit framework runs the `lockgate` hook only for the files its `files` pattern
/// names: every lockfile format and every file that calls for a lockfile check must be there,
/// or a change to it alone slips past the framework. The names are every file of the fixtures
/// that lockgate reads or that starts a check, as lockgate itself recognises them.
#[test]
fn the_frameworks_files_pattern_names_every_file_lockgate_reads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let hooks = std::fs::read_to_string(root.join(".pre-commit-hooks.yaml")).unwrap();
    let pattern = hooks
        .lines()
        .find_map(|line| line.trim().strip_prefix("files: "))
        .expect("the lockgate hook has a files pattern");
    let mut names = std::collections::BTreeSet::new();
    let mut folders = vec![root.join("tests/fixtures")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let relevant = lockgate::ecosystem::is_relevant(&name);
            // Requirements files and patches are named by a prefix or suffix the pattern
            // spells as one.
            let by_shape = name.starts_with("requirements")
                || name.starts_with("pylock.")
                || name.ends_with(".patch");
            if relevant && !by_shape {
                names.insert(name);
            }
        }
    }
    assert!(names.len() >= 12, "{names:?}");
    assert!(
        lockgate::ecosystem::is_relevant("patches/left-pad.patch")
            && pattern.contains("|[^/]*\\.patch|"),
        "patch files start a check, and the pattern names them: {pattern}"
    );
    // The CI and build files the lint reads.
    for file in [
        "\\.github/workflows/[^/]*\\.ya?ml",
        "\\.gitlab-ci\\.yml",
        "azure-pipelines\\.yml",
        "\\.circleci/config\\.yml",
        "bitbucket-pipelines\\.yml",
        "Dockerfile[^/]*",
        "[^/]*\\.Dockerfile",
        "Jenkinsfile[^/]*",
    ] {
        assert!(pattern.contains(&format!("|{file}")), "{file}: {pattern}");
    }
    for path in [
        ".github/workflows/ci.yml",
        "Dockerfile.prod",
        "api.Dockerfile",
    ] {
        assert!(lockgate::cilint::ci_file(path).is_some(), "{path}");
    }
    for name in &names {
        let escaped = name.replace('.', "\\.");
        assert!(
            pattern.contains(&format!("|{escaped}|"))
                || pattern.contains(&format!("({escaped}|"))
                || pattern.contains(&format!("|{escaped})")),
            "{name} is missing from .pre-commit-hooks.yaml's files pattern"
        );
    }
}
