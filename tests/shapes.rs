//! Every shape a repository comes in, end to end: bare repositories and mirrors, submodules
//! (gitlinks) and symlinks where a lockfile belongs, unmerged indexes, linked worktrees, sparse
//! checkouts and shallow clones, each built with the real `git` and checked by the compiled binary.

use crate::hooks::{CLEAN, MALWARE, MALWARE_ID};
use crate::staged::run;
use crate::support::{npm_lock_v3, package_json_matching, OsvServer, Run, TestRepo};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What git's pre-push input says of a ref the remote does not have.
const ZERO: &str = "0000000000000000000000000000000000000000";

/// lockgate with the test OSV server and `args`, run in `dir` (relative to the worktree).
fn lockgate_in(repo: &TestRepo, server: &OsvServer, dir: &str, args: &[&str]) -> Run {
    repo.lockgate_command(&["--osv-url", &server.url()])
        .args(args)
        .current_dir(dir)
        .run()
}

/// The real `git` with `args`, run in `dir` (relative to the worktree); it must succeed.
fn git_in(repo: &TestRepo, dir: &str, args: &[&str]) -> Run {
    let run = repo.git_command(args).current_dir(dir).run();
    run.assert_success();
    run
}

/// `git rev-parse <revision>` in `dir`.
fn rev_parse(repo: &TestRepo, dir: &str, revision: &str) -> String {
    git_in(repo, dir, &["rev-parse", revision])
        .stdout
        .trim()
        .to_string()
}

/// A folder beside the worktree, as a path relative to it and as an absolute path.
fn beside(repo: &TestRepo, name: &str) -> (String, PathBuf) {
    (format!("../{name}"), repo.root().join(name))
}

/// The JSON report's problems of `kind`, as (path, message).
fn problems_of(run: &Run, kind: &str) -> Vec<(String, String)> {
    run.stdout_json()["problems"]
        .as_array()
        .expect("problems is a list")
        .iter()
        .filter(|problem| problem["kind"] == kind)
        .map(|problem| {
            (
                problem["path"].as_str().unwrap_or_default().to_string(),
                problem["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The OSV server, and a repository whose first commit (returned) locks one clean package.
fn clean_start() -> (OsvServer, TestRepo, git2::Oid) {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &CLEAN[..1]);
    let start = repo.commit("clean start");
    (server, repo, start)
}

/// Commits an npm project locking `packages` in `web/`, then clones the repository bare beside
/// it as `bare.git`; returns the bare repository's folder relative to the worktree.
fn bare_clone_of_project(repo: &TestRepo, packages: &[(&str, &str)]) -> String {
    repo.stage_npm_project("web", packages);
    repo.commit("project");
    let (relative, absolute) = beside(repo, "bare.git");
    git_in(
        repo,
        ".",
        &["clone", "-q", "--bare", ".", absolute.to_str().unwrap()],
    );
    relative
}

/// Writes an npm project (package.json and package-lock.json in sync) locking `packages` into
/// `folder`, a working tree that is not the test repository's own.
fn write_project(folder: &Path, packages: &[(&str, &str)]) {
    std::fs::create_dir_all(folder).unwrap();
    std::fs::write(folder.join("package.json"), package_json_matching(packages)).unwrap();
    std::fs::write(folder.join("package-lock.json"), npm_lock_v3(packages)).unwrap();
}

/// A commit or push the hook refused for the malware.
#[track_caller]
fn assert_refused(run: &Run) {
    assert_ne!(run.code, Some(0), "{}", run.output());
    assert!(run.stderr.contains(MALWARE_ID), "{}", run.output());
}

/// `lockgate --pre-push origin url --format json` as git's pre-push hook runs it for a push of
/// `main` from `remote` (what the remote has) to `local`.
fn pre_push_json(repo: &TestRepo, server: &OsvServer, local: git2::Oid, remote: git2::Oid) -> Run {
    repo.lockgate_command(&[
        "--osv-url",
        &server.url(),
        "--format",
        "json",
        "--pre-push",
        "origin",
        "url",
    ])
    .stdin(format!(
        "refs/heads/main {local} refs/heads/main {remote}\n"
    ))
    .run()
}

/// Runs `install.sh` for the repository at `path` with the compiled lockgate.
fn install_into(repo: &TestRepo, path: &Path) {
    repo.program_command(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"),
        &[
            "--binary",
            crate::support::repo::LOCKGATE_BIN,
            path.to_str().unwrap(),
        ],
    )
    .run()
    .assert_success();
}

// Bare repositories ---------------------------------------------------------------------------

#[test]
fn bare_repository_all_reads_heads_tree() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let bare = bare_clone_of_project(&repo, &[CLEAN[0], MALWARE]);
    let run = lockgate_in(&repo, &server, &bare, &["--all", "--format", "json"]);
    run.assert_code(1);
    let report = run.stdout_json();
    assert_eq!(
        report["lockfiles"],
        serde_json::json!(["web/package-lock.json"])
    );
    assert_eq!(report["read"], "HEAD");
    assert_eq!(run.findings(), [format!("{MALWARE_ID} debug@4.4.2")]);
    assert_eq!(server.queried(), ["npm:debug@4.4.2", "npm:left-pad@1.3.0"]);

    // The text report says what was read, since there is no index.
    lockgate_in(&repo, &server, &bare, &["--all"])
        .assert_code(1)
        .assert_stderr_contains("web/package-lock.json: debug@4.4.2 is MALWARE")
        .assert_stderr_contains("a bare repository has no index: read the lockfiles of HEAD");
}

#[test]
fn bare_repository_all_passes_a_clean_head_and_an_empty_one() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let bare = bare_clone_of_project(&repo, &CLEAN[..2]);
    let run = lockgate_in(&repo, &server, &bare, &["--all", "--format", "json"]);
    run.assert_code(0);
    assert_eq!(run.stdout_json()["checked"], 2);

    // A bare repository with no commit has nothing to check.
    let (empty, absolute) = beside(&repo, "empty.git");
    git_in(
        &repo,
        ".",
        &["init", "-q", "--bare", absolute.to_str().unwrap()],
    );
    lockgate_in(&repo, &server, &empty, &["--all"]).assert_code(0);
}

#[test]
fn bare_repository_staged_mode_is_exit_two_and_says_what_to_run() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let bare = bare_clone_of_project(&repo, &[MALWARE]);
    lockgate_in(&repo, &server, &bare, &[])
        .assert_code(2)
        .assert_stderr_contains("a bare repository has no staged changes; use --all or --pre-push");
    assert_eq!(server.request_count(), 0);
}

/// A bare repository given a working tree, as dotfiles are often kept
/// (`git --git-dir=~/.dotfiles --work-tree=~`), has an index: git exports `GIT_WORK_TREE` to the
/// hook, and the staged changes are checked as in any repository.
#[test]
fn a_bare_repository_with_a_work_tree_is_checked_from_its_index() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let (_, dotfiles) = beside(&repo, "dotfiles.git");
    let (home, home_path) = beside(&repo, "dothome");
    git_in(
        &repo,
        ".",
        &["init", "-q", "--bare", dotfiles.to_str().unwrap()],
    );
    std::fs::create_dir_all(&home_path).unwrap();
    install_into(&repo, &dotfiles);
    let git_dir = format!("--git-dir={}", dotfiles.display());
    let git = |args: &[&str]| {
        repo.git_command(&[git_dir.as_str(), "--work-tree=."])
            .args(args)
            .current_dir(&home)
            .env("LOCKGATE_OSV_URL", server.url())
            .run()
    };
    git(&["config", "user.name", "Lockgate Test"]).assert_success();
    git(&["config", "user.email", "test@lockgate.invalid"]).assert_success();

    write_project(&home_path, &[MALWARE]);
    git(&["add", "package.json", "package-lock.json"]).assert_success();
    assert_refused(&git(&["commit", "-m", "add debug"]));

    write_project(&home_path, &CLEAN[..1]);
    git(&["add", "package.json", "package-lock.json"]).assert_success();
    git(&["commit", "-m", "clean"])
        .assert_success()
        .assert_stderr_contains("commit allowed");
}

/// A bare mirror that pushes on (a backup, a second forge) runs the pre-push hook with no
/// working tree and no index: what the pushed commits add is read from the commits.
#[test]
fn bare_mirror_pre_push_blocks_malware_in_a_pushed_commit() {
    let (server, repo, start) = clean_start();
    let (mirror, mirror_path) = beside(&repo, "mirror.git");
    let (_, backup_path) = beside(&repo, "backup.git");
    git_in(
        &repo,
        ".",
        &[
            "clone",
            "-q",
            "--mirror",
            ".",
            mirror_path.to_str().unwrap(),
        ],
    );
    git_in(
        &repo,
        ".",
        &["init", "-q", "--bare", backup_path.to_str().unwrap()],
    );
    git_in(
        &repo,
        &mirror,
        &["remote", "add", "backup", backup_path.to_str().unwrap()],
    );
    install_into(&repo, &mirror_path);
    let push = |args: &[&str]| {
        repo.git_command(args)
            .current_dir(&mirror)
            .env("LOCKGATE_OSV_URL", server.url())
            .run()
    };
    push(&["push", "backup", "main"])
        .assert_success()
        .assert_stderr_contains("push allowed");

    // The mirror fetches a commit that adds malware, then pushes it on.
    repo.stage_npm_project("", &[CLEAN[0], MALWARE]);
    let bad = repo.commit("add debug");
    git_in(&repo, &mirror, &["fetch", "-q", "origin"]);
    assert_refused(&push(&["push", "backup", "main"]));
    assert_eq!(
        rev_parse(&repo, &backup_path.to_string_lossy(), "main"),
        start.to_string()
    );

    // Driven by hand, as git's pre-push would: exit 1, and only the pushed commit is read.
    let before = server.querybatch_queries().len();
    repo.lockgate_command(&[
        "--osv-url",
        &server.url(),
        "--no-cache",
        "--pre-push",
        "backup",
        "url",
    ])
    .current_dir(&mirror)
    .stdin(format!("refs/heads/main {bad} refs/heads/main {start}\n"))
    .run()
    .assert_code(1)
    .assert_stderr_contains(&format!(
        "debug@4.4.2 is MALWARE (added in commit {}",
        &bad.to_string()[..12]
    ));
    let asked: Vec<String> = server.querybatch_queries()[before..]
        .iter()
        .map(|(_, name, version)| format!("{name}@{version}"))
        .collect();
    assert_eq!(asked, ["debug@4.4.2"]);
}

// Gitlinks and symlinks where a lockfile belongs ----------------------------------------------

/// Paths where a lockfile or the manifest it is judged against belongs.
const LOCKFILE_PATHS: [&str; 4] = [
    "package-lock.json",
    "web/package.json",
    "poetry.lock",
    "requirements.txt",
];

/// Stages a submodule entry (mode 160000, a gitlink to `commit`) at `path`, as `git submodule
/// add` would record it.
fn stage_gitlink(repo: &TestRepo, path: &str, commit: &str) {
    git_in(
        repo,
        ".",
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{commit},{path}"),
        ],
    );
}

/// Stages a symbolic link at `path` pointing at `target`.
fn stage_symlink(repo: &TestRepo, path: &str, target: &str) {
    let full = repo.path().join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, &full).unwrap();
    git_in(repo, ".", &["add", path]);
}

/// A blocked run whose JSON report has a `lockfile-not-a-file` problem at `path` saying `what`.
#[track_caller]
fn assert_not_a_file(run: &Run, path: &str, what: &str) {
    run.assert_code(1);
    let problems = problems_of(run, "lockfile-not-a-file");
    assert!(
        problems
            .iter()
            .any(|(problem, message)| problem == path && message.contains(what)),
        "no lockfile-not-a-file problem for {path} saying {what:?}\n{}",
        run.output()
    );
    assert_eq!(run.stdout_json()["blocked"], true);
}

#[test]
fn a_gitlink_where_a_lockfile_belongs_blocks_when_staged_in_all_and_when_pushed() {
    for path in LOCKFILE_PATHS {
        let server = OsvServer::start();
        let repo = TestRepo::new();
        repo.write_and_stage("README.md", "start\n");
        let start = repo.commit("start");
        stage_gitlink(&repo, path, &start.to_string());
        assert_not_a_file(
            &run(&repo, &server, &["--format", "json"]),
            path,
            "submodule",
        );

        let gitlinked = repo.commit("gitlink");
        assert_not_a_file(
            &run(&repo, &server, &["--all", "--format", "json"]),
            path,
            "submodule",
        );
        assert_not_a_file(
            &pre_push_json(&repo, &server, gitlinked, start),
            path,
            "submodule",
        );
        // The text report says what is wrong and what to do.
        run(&repo, &server, &["--all"])
            .assert_code(1)
            .assert_stderr_contains(&format!("lockgate: error: {path}: "))
            .assert_stderr_contains("not a file but a submodule (gitlink)");
    }
}

#[test]
fn a_symlink_where_a_lockfile_belongs_blocks_when_staged_in_all_and_when_pushed() {
    let (server, repo, start) = clean_start();
    // The lockfile becomes a link to one lockgate never reads (not a lockfile's name).
    repo.write_and_stage("vendor/lock.json", npm_lock_v3(&[MALWARE]));
    repo.write_and_stage("package.json", package_json_matching(&[MALWARE]));
    std::fs::remove_file(repo.path().join("package-lock.json")).unwrap();
    stage_symlink(&repo, "package-lock.json", "vendor/lock.json");
    assert_not_a_file(
        &run(&repo, &server, &["--format", "json"]),
        "package-lock.json",
        "symbolic link",
    );
    let linked = repo.commit("symlinked lockfile");
    assert_not_a_file(
        &run(&repo, &server, &["--all", "--format", "json"]),
        "package-lock.json",
        "symbolic link",
    );
    assert_not_a_file(
        &pre_push_json(&repo, &server, linked, start),
        "package-lock.json",
        "symbolic link",
    );
}

#[test]
fn a_submodule_folder_and_a_symlink_elsewhere_are_quiet() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("README.md", "start\n");
    let start = repo.commit("start");
    // A submodule at a folder (its lockfiles belong to its own repository) and a symlink that
    // is not at a lockfile path are ordinary.
    stage_gitlink(&repo, "vendor/web", &start.to_string());
    stage_symlink(&repo, "docs/latest", "../README.md");
    let staged = run(&repo, &server, &[]);
    staged.assert_code(0);
    assert_eq!(staged.stderr, "");
    repo.commit("submodule");
    let all = run(&repo, &server, &["--all", "--format", "json"]);
    all.assert_code(0);
    assert_eq!(all.stdout_json()["problems"], serde_json::json!([]));
}

// Unmerged (conflicted) indexes ---------------------------------------------------------------

/// `main` and `topic` both change `path` from a common start, and `git merge topic` stops with a
/// conflict; `extra` runs on `main` before the merge.
fn conflicted_merge(repo: &TestRepo, path: &str, extra: impl FnOnce(&TestRepo)) {
    repo.write_and_stage(path, "start\n");
    repo.git(&["commit", "-q", "-m", "start"]).assert_success();
    repo.git(&["checkout", "-q", "-b", "topic"])
        .assert_success();
    repo.write_and_stage(path, "topic\n");
    repo.git(&["commit", "-q", "-m", "topic"]).assert_success();
    repo.git(&["checkout", "-q", "main"]).assert_success();
    repo.write_and_stage(path, "main\n");
    repo.git(&["commit", "-q", "-m", "main"]).assert_success();
    extra(repo);
    let merge = repo.git(&["merge", "topic"]);
    assert_eq!(merge.code, Some(1), "{}", merge.output());
    assert!(merge.stdout.contains("CONFLICT"), "{}", merge.output());
}

#[test]
fn a_conflicted_lockfile_is_exit_two_naming_it() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("web", &CLEAN[..1]);
    repo.git(&["commit", "-q", "-m", "project"])
        .assert_success();
    repo.git(&["checkout", "-q", "-b", "topic"])
        .assert_success();
    repo.stage_npm_project("web", &[CLEAN[0], CLEAN[1]]);
    repo.git(&["commit", "-q", "-m", "add is-number"])
        .assert_success();
    repo.git(&["checkout", "-q", "main"]).assert_success();
    repo.stage_npm_project("web", &[CLEAN[0], CLEAN[2]]);
    repo.git(&["commit", "-q", "-m", "add ms"]).assert_success();
    let merge = repo.git(&["merge", "topic"]);
    assert_eq!(merge.code, Some(1), "{}", merge.output());

    for args in [&[][..], &["--all"][..]] {
        lockgate_in(&repo, &server, ".", args)
            .assert_code(2)
            .assert_stderr_contains(
                "resolve the merge conflicts in web/package-lock.json, web/package.json first",
            );
    }
    assert_eq!(server.request_count(), 0);

    // Once resolved and staged, the merge is checked as usual.
    repo.stage_npm_project("web", &[CLEAN[0], CLEAN[1], MALWARE]);
    run(&repo, &server, &[])
        .assert_code(1)
        .assert_stderr_contains(MALWARE_ID);
}

#[test]
fn a_conflicted_requirements_file_is_exit_two_naming_it() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    conflicted_merge(&repo, "requirements.txt", |_| {});
    run(&repo, &server, &[])
        .assert_code(2)
        .assert_stderr_contains("resolve the merge conflict in requirements.txt first");
}

/// A conflict in a file lockgate does not read is not lockgate's business: the rest of the
/// merge is checked as usual, and a merge that touches no lockfile costs nothing.
#[test]
fn a_conflict_elsewhere_is_quiet_and_the_merged_lockfiles_are_still_checked() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    conflicted_merge(&repo, "README.md", |_| {});
    let quiet = run(&repo, &server, &[]);
    quiet.assert_code(0);
    assert_eq!(quiet.stderr, "");
    assert_eq!(server.request_count(), 0);
    repo.git(&["merge", "--abort"]).assert_success();

    // The same conflict, with a lockfile that merges cleanly and adds malware.
    let repo = TestRepo::new();
    conflicted_merge(&repo, "README.md", |repo| {
        repo.git(&["checkout", "-q", "topic"]).assert_success();
        repo.stage_npm_project("", &[MALWARE]);
        repo.git(&["commit", "-q", "-m", "add debug"])
            .assert_success();
        repo.git(&["checkout", "-q", "main"]).assert_success();
    });
    run(&repo, &server, &[])
        .assert_code(1)
        .assert_stderr_contains(MALWARE_ID);
}

// Linked worktrees, sparse checkouts, shallow clones -------------------------------------------

#[test]
fn a_linked_worktree_is_checked_from_its_own_index() {
    let (server, repo, _) = clean_start();
    let (linked, linked_path) = beside(&repo, "linked");
    git_in(
        &repo,
        ".",
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "topic",
            linked_path.to_str().unwrap(),
        ],
    );
    // Hooks live in the common folder: the linked worktree runs the same pre-commit hook.
    repo.install_pre_commit_hook(&["--osv-url", &server.url()], &[]);

    write_project(&linked_path, &[CLEAN[0], MALWARE]);
    git_in(
        &repo,
        &linked,
        &["add", "package.json", "package-lock.json"],
    );

    // The main worktree's index has nothing staged.
    let main = run(&repo, &server, &[]);
    main.assert_code(0);
    assert_eq!(main.stderr, "");

    lockgate_in(&repo, &server, &linked, &[])
        .assert_code(1)
        .assert_stderr_contains("package-lock.json: debug@4.4.2 is MALWARE");
    assert_refused(
        &repo
            .git_command(&["commit", "-m", "add debug"])
            .current_dir(&linked)
            .run(),
    );

    // `git commit -a` in the linked worktree commits from a temporary index there too.
    write_project(&linked_path, &CLEAN[..2]);
    repo.git_command(&["commit", "-q", "-a", "-m", "add is-number"])
        .current_dir(&linked)
        .run()
        .assert_success();
}

/// A linked worktree of a bare repository (a common way to keep several branches checked out)
/// is not bare: it has an index, and staged mode reads it.
#[test]
fn a_worktree_of_a_bare_repository_is_checked_from_its_index() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let bare = bare_clone_of_project(&repo, &CLEAN[..1]);
    let (linked, linked_path) = beside(&repo, "linked");
    git_in(
        &repo,
        &bare,
        &[
            "worktree",
            "add",
            "-q",
            linked_path.to_str().unwrap(),
            "main",
        ],
    );
    write_project(&linked_path.join("web"), &[CLEAN[0], MALWARE]);
    git_in(&repo, &linked, &["add", "web"]);
    lockgate_in(&repo, &server, &linked, &[])
        .assert_code(1)
        .assert_stderr_contains("web/package-lock.json: debug@4.4.2 is MALWARE");
    let all = lockgate_in(&repo, &server, &linked, &["--all", "--format", "json"]);
    all.assert_code(1);
    assert_eq!(all.stdout_json()["read"], Value::Null, "the index is read");
}

/// A repository whose commit holds an npm project locking `packages` in `web/` and a `docs/`
/// folder, checked out sparsely (cone mode, with `options`) with `docs/` only.
fn sparse_checkout(packages: &[(&str, &str)], options: &[&str]) -> TestRepo {
    let repo = TestRepo::new();
    repo.stage_npm_project("web", packages);
    repo.write_and_stage("docs/README.md", "docs\n");
    repo.commit("start");
    let mut args = vec!["sparse-checkout", "set", "--cone"];
    args.extend_from_slice(options);
    args.push("docs");
    git_in(&repo, ".", &args);
    assert!(
        !repo.path().join("web").exists(),
        "web/ is outside the cone"
    );
    repo
}

/// Writes `contents` as a blob with the real git and stages it at `path` without touching the
/// working tree, as `git add --sparse` does for a path outside the sparse checkout.
fn stage_blob_only(repo: &TestRepo, path: &str, contents: &str) {
    let blob = repo
        .git_command(&["hash-object", "-w", "--stdin"])
        .stdin(contents)
        .run();
    blob.assert_success();
    git_in(
        repo,
        ".",
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("100644,{},{path}", blob.stdout.trim()),
        ],
    );
}

#[test]
fn a_sparse_checkout_is_checked_from_the_index_not_the_working_tree() {
    let server = OsvServer::start();
    let repo = sparse_checkout(&CLEAN[..1], &[]);

    // --all reads the index (and its blobs) although web/ is not in the working tree.
    let all = run(&repo, &server, &["--all", "--format", "json"]);
    all.assert_code(0);
    assert_eq!(
        all.stdout_json()["lockfiles"],
        serde_json::json!(["web/package-lock.json"])
    );
    assert_eq!(all.stdout_json()["problems"], serde_json::json!([]));

    // A change staged outside the cone is checked, with its package.json read from the index.
    stage_blob_only(
        &repo,
        "web/package.json",
        &package_json_matching(&[CLEAN[0], MALWARE]),
    );
    stage_blob_only(
        &repo,
        "web/package-lock.json",
        &npm_lock_v3(&[CLEAN[0], MALWARE]),
    );
    let staged = run(&repo, &server, &["--format", "json"]);
    staged.assert_code(1);
    assert_eq!(staged.findings(), [format!("{MALWARE_ID} debug@4.4.2")]);
    assert_eq!(staged.stdout_json()["problems"], serde_json::json!([]));
    assert!(!repo.path().join("web").exists());
    run(&repo, &server, &["--all"])
        .assert_code(1)
        .assert_stderr_contains("web/package-lock.json: debug@4.4.2 is MALWARE");
}

/// git's sparse index folds each folder outside the cone into one entry, behind an index
/// extension libgit2 cannot read: lockgate stops (exit 2) and says how to turn it off, and
/// reads the index again once it is a full one.
#[test]
fn a_sparse_index_is_exit_two_saying_how_to_turn_it_off() {
    let server = OsvServer::start();
    let repo = sparse_checkout(&[MALWARE], &["--sparse-index"]);
    for args in [&[][..], &["--all"][..]] {
        lockgate_in(&repo, &server, ".", args)
            .assert_code(2)
            .assert_stderr_contains("the index is a sparse index")
            .assert_stderr_contains("git sparse-checkout reapply --no-sparse-index");
    }
    git_in(
        &repo,
        ".",
        &["sparse-checkout", "reapply", "--no-sparse-index"],
    );
    assert!(!repo.path().join("web").exists(), "still sparse");
    run(&repo, &server, &["--all"])
        .assert_code(1)
        .assert_stderr_contains("web/package-lock.json: debug@4.4.2 is MALWARE");
}

#[test]
fn a_shallow_clone_checks_what_it_pushes() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[MALWARE]);
    repo.commit("malware deep in the history");
    repo.stage_npm_project("", &CLEAN[..1]);
    repo.commit("cleaned");
    let (shallow, shallow_path) = beside(&repo, "shallow");
    let url = format!("file://{}", repo.path().display());
    git_in(
        &repo,
        ".",
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &url,
            shallow_path.to_str().unwrap(),
        ],
    );
    git_in(&repo, &shallow, &["config", "user.name", "Lockgate Test"]);
    git_in(
        &repo,
        &shallow,
        &["config", "user.email", "test@lockgate.invalid"],
    );
    assert_eq!(
        git_in(&repo, &shallow, &["rev-parse", "--is-shallow-repository"])
            .stdout
            .trim(),
        "true"
    );
    let boundary = rev_parse(&repo, &shallow, "HEAD");

    // A clean commit, pushed to the remote it came from: only what it adds is asked about.
    write_project(&shallow_path, &CLEAN[..2]);
    lockgate_in(&repo, &server, &shallow, &[]).assert_code(0);
    git_in(
        &repo,
        &shallow,
        &["commit", "-q", "-a", "-m", "add is-number"],
    );
    let clean = rev_parse(&repo, &shallow, "HEAD");
    let pre_push = |remote: &str, input: String| {
        repo.lockgate_command(&["--osv-url", &server.url(), "--pre-push", remote, &url])
            .current_dir(&shallow)
            .stdin(input)
            .run()
    };
    let before = server.querybatch_queries().len();
    pre_push(
        "origin",
        format!("refs/heads/main {clean} refs/heads/main {boundary}\n"),
    )
    .assert_success();
    let asked: Vec<String> = server.querybatch_queries()[before..]
        .iter()
        .map(|(_, name, version)| format!("{name}@{version}"))
        .collect();
    assert_eq!(asked, ["is-number@7.0.0"]);

    // To a remote known only by URL, a new branch is checked down to the shallow boundary,
    // which stands for a first commit: everything is read, nothing is missing.
    pre_push(
        &url,
        format!("refs/heads/topic {clean} refs/heads/topic {ZERO}\n"),
    )
    .assert_success();

    // A commit that adds malware is refused.
    write_project(&shallow_path, &[CLEAN[0], CLEAN[1], MALWARE]);
    git_in(&repo, &shallow, &["commit", "-q", "-a", "-m", "add debug"]);
    let bad = rev_parse(&repo, &shallow, "HEAD");
    pre_push(
        "origin",
        format!("refs/heads/main {bad} refs/heads/main {boundary}\n"),
    )
    .assert_code(1)
    .assert_stderr_contains(MALWARE_ID);
}
