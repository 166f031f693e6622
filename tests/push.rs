//! What a push adds to each ref it updates, and what a merge brings into a branch, with real
//! `git merge`, `git push` to a local bare repository, the hooks `install.sh` installs, and the
//! real pre-commit framework.

use crate::hooks::{
    add_remote, framework, git, install, pre_commit_command, use_published_hooks, CLEAN, MALWARE,
    MALWARE_ID,
};
use crate::policy::CRITICAL;
use crate::support::{OsvServer, Run, TestRepo};
use std::path::Path;

/// minimist 1.2.6 is the version GHSA-xvch-5gv4-984h (minimist 1.2.5, critical) names as fixed.
const FIXED: (&str, &str) = ("minimist", "1.2.6");
const CRITICAL_ID: &str = "GHSA-xvch-5gv4-984h";

/// A repository with lockgate's hooks installed and a bare remote `origin` holding `main`,
/// whose one commit locks a clean package. The OSV server is fresh.
pub(crate) fn pushed_main() -> (OsvServer, TestRepo) {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    add_remote(&repo);
    install(&repo, &[]).assert_success();
    repo.stage_npm_project("", &CLEAN[..1]);
    repo.commit("clean start");
    git(&repo, &server, &["push", "-q", "origin", "main"])
        .assert_success()
        .assert_stderr_contains("push allowed");
    (server, repo)
}

/// A teammate's branch `feature`, cut from `main`, whose commit `message` locks `packages`,
/// committed and pushed with the hooks skipped (`--no-verify`). Back on `main` afterwards.
fn teammate_pushes(repo: &TestRepo, server: &OsvServer, packages: &[(&str, &str)], message: &str) {
    git(repo, server, &["checkout", "-q", "-b", "feature"]).assert_success();
    repo.stage_npm_project("", packages);
    git(
        repo,
        server,
        &["commit", "-q", "--no-verify", "-m", message],
    )
    .assert_success();
    git(
        repo,
        server,
        &["push", "-q", "--no-verify", "origin", "feature"],
    )
    .assert_success();
    git(repo, server, &["checkout", "-q", "main"]).assert_success();
}

/// `git rev-parse --short=12 <revision>`.
fn short(repo: &TestRepo, revision: &str) -> String {
    repo.git(&["rev-parse", "--short=12", revision])
        .stdout
        .trim()
        .to_string()
}

/// A push or merge refused for the malware (the pre-commit framework prints its hooks' report
/// on stdout, git's hooks on stderr).
#[track_caller]
fn assert_refused(run: &Run) {
    assert_eq!(
        run.code.map(|code| code == 0),
        Some(false),
        "{}",
        run.output()
    );
    assert!(run.output().contains(MALWARE_ID), "{}", run.output());
}

#[test]
fn a_teammates_branch_merged_with_malware_is_stopped_at_merge_and_at_push() {
    let (server, repo) = pushed_main();
    teammate_pushes(&repo, &server, &[CLEAN[0], MALWARE], "add debug");
    let main_before = short(&repo, "main");

    // The merge brings the malware into main: the pre-merge-commit hook refuses it.
    let merge = git(
        &repo,
        &server,
        &["merge", "--no-ff", "-m", "merge feature", "feature"],
    );
    assert_refused(&merge);
    assert_eq!(short(&repo, "main"), main_before);
    merge.assert_stderr_contains("merge BLOCKED");
    repo.git(&["merge", "--abort"]);

    // Made anyway, the merge adds nothing that is not on the remote already, and is refused
    // on push: main gains the malware. The report names the commit that added it.
    git(
        &repo,
        &server,
        &[
            "merge",
            "-q",
            "--no-ff",
            "--no-verify",
            "-m",
            "merge feature",
            "feature",
        ],
    )
    .assert_success();
    let push = git(&repo, &server, &["push", "origin", "main"]);
    assert_refused(&push);
    push.assert_stderr_contains(&format!(
        "debug@4.4.2 is MALWARE (added in commit {} \"add debug\")",
        short(&repo, "feature")
    ))
    .assert_stderr_contains("rewrite the commits that carry it");
    assert_eq!(
        short(&repo, "origin/main"),
        main_before,
        "nothing reached the remote"
    );
}

#[test]
fn a_fast_forward_to_merged_work_is_checked_on_push() {
    let (server, repo) = pushed_main();
    teammate_pushes(&repo, &server, &[CLEAN[0], MALWARE], "add debug");
    let main_before = short(&repo, "main");

    // A fast-forward runs no hook, and every commit it brings is on the remote already.
    git(
        &repo,
        &server,
        &["merge", "-q", "--ff-only", "origin/feature"],
    )
    .assert_success();
    let push = git(&repo, &server, &["push", "origin", "main"]);
    assert_refused(&push);
    assert_eq!(short(&repo, "origin/main"), main_before);
}

#[test]
fn a_new_branch_cut_from_a_remote_branch_is_checked_against_it() {
    let (server, repo) = pushed_main();
    // A clean remote branch that locks more than main.
    teammate_pushes(&repo, &server, &CLEAN[..2], "add is-number");
    git(&repo, &server, &["fetch", "-q", "origin"]).assert_success();

    // A new branch cut from it adds one package (committed without the hook, which would
    // cache the answer): only that one is asked about, not what main lacks.
    git(
        &repo,
        &server,
        &["checkout", "-q", "-b", "topic", "origin/feature"],
    )
    .assert_success();
    repo.stage_npm_project("", &CLEAN);
    repo.commit("add ms");
    let fresh = OsvServer::start();
    git(&repo, &fresh, &["push", "origin", "topic"])
        .assert_success()
        .assert_stderr_contains("push allowed: 1 package checked");
    assert_eq!(fresh.queried(), ["npm:ms@2.1.3"]);
}

#[test]
fn within_one_push_a_fixed_vulnerability_passes_and_removed_malware_blocks() {
    let (server, repo) = pushed_main();
    // Every vulnerability blocks here, so one that reached main would stop the push.
    repo.write(".lockgate.toml", "fail-on = \"any\"\n");

    // Added and fixed again before the push: main never gains it.
    repo.stage_npm_project("", &[CLEAN[0], CRITICAL]);
    git(&repo, &server, &["commit", "-q", "-m", "add minimist"]).assert_code(1);
    git(
        &repo,
        &server,
        &["commit", "-q", "--no-verify", "-m", "add minimist"],
    )
    .assert_success();
    repo.stage_npm_project("", &[CLEAN[0], FIXED]);
    git(&repo, &server, &["commit", "-q", "-m", "upgrade minimist"]).assert_success();
    let push = git(&repo, &server, &["push", "origin", "main"]);
    push.assert_success();
    assert!(!push.stderr.contains(CRITICAL_ID), "{}", push.output());

    // Malware added and removed again: it stays in the history, and blocks.
    let main_before = short(&repo, "main");
    repo.stage_npm_project("", &[CLEAN[0], FIXED, MALWARE]);
    git(
        &repo,
        &server,
        &["commit", "-q", "--no-verify", "-m", "add debug"],
    )
    .assert_success();
    let adding = short(&repo, "HEAD");
    repo.stage_npm_project("", &[CLEAN[0], FIXED]);
    git(&repo, &server, &["commit", "-q", "-m", "drop debug"]).assert_success();
    let push = git(&repo, &server, &["push", "origin", "main"]);
    assert_ne!(push.code, Some(0), "{}", push.output());
    push.assert_stderr_contains(&format!("(added in commit {adding} \"add debug\")"));
    assert_eq!(short(&repo, "origin/main"), main_before);

    // A vulnerability the pushed tip keeps is reported, with advice for a push.
    git(&repo, &server, &["reset", "-q", "--hard", "origin/main"]).assert_success();
    repo.stage_npm_project("", &[CLEAN[0], CRITICAL]);
    git(
        &repo,
        &server,
        &[
            "commit",
            "-q",
            "--no-verify",
            "-m",
            "back to minimist 1.2.5",
        ],
    )
    .assert_success();
    let push = git(&repo, &server, &["push", "origin", "main"]);
    push.assert_code(1)
        .assert_stderr_contains(CRITICAL_ID)
        .assert_stderr_contains("git commit --fixup");
}

#[test]
fn malware_that_comes_and_goes_in_two_lockfiles_is_named_by_the_commit_that_first_added_it() {
    let (server, repo) = pushed_main();
    let commit = |message: &str| {
        git(
            &repo,
            &server,
            &["commit", "-q", "--no-verify", "-m", message],
        )
        .assert_success();
        short(&repo, "HEAD")
    };
    // The root lockfile goes from the remote's version A to B (with the malware), back to A,
    // away, back as B, and back to A: the pushed tip adds nothing to the remote's, and B is read
    // again four commits after it was last read. A second project comes and keeps its own
    // history beside it.
    repo.stage_npm_project("", &[CLEAN[0], MALWARE]);
    repo.stage_npm_project("app", &CLEAN[1..2]);
    let root_adds = commit("add debug");
    repo.stage_npm_project("", &CLEAN[..1]);
    commit("drop debug");
    repo.remove_and_stage("package-lock.json");
    commit("delete the lockfile");
    repo.stage_npm_project("app", &[CLEAN[1], MALWARE]);
    let app_adds = commit("app: add debug");
    repo.stage_npm_project("", &[CLEAN[0], MALWARE]);
    commit("restore the lockfile with debug");
    repo.stage_npm_project("", &CLEAN[..1]);
    repo.stage_npm_project("app", &CLEAN[1..2]);
    commit("drop debug again");
    let main_before = short(&repo, "origin/main");

    let push = git(&repo, &server, &["push", "origin", "main"]);
    assert_refused(&push);
    push.assert_stderr_contains(&format!(
        "lockgate: package-lock.json: debug@4.4.2 is MALWARE (added in commit {root_adds} \"add debug\")"
    ))
    .assert_stderr_contains(&format!(
        "lockgate: app/package-lock.json: debug@4.4.2 is MALWARE (added in commit {app_adds} \"app: add debug\")"
    ));
    assert_eq!(short(&repo, "origin/main"), main_before);
}

#[test]
fn the_pre_commit_framework_checks_what_is_pushed_and_what_a_merge_brings() {
    let pre_commit = pre_commit_command();
    let server = OsvServer::start();
    let repo = TestRepo::new();
    add_remote(&repo);
    use_published_hooks(&repo);
    let framework = |program: &Path, args: &[&str]| framework(&repo, &server, program, args);
    let git = Path::new("git");
    framework(
        &pre_commit,
        &[
            "install",
            "--hook-type",
            "pre-commit",
            "--hook-type",
            "pre-merge-commit",
            "--hook-type",
            "pre-push",
        ],
    )
    .run()
    .assert_success();

    // A first push holds the root commit: the framework names the branch and no refs.
    repo.stage_npm_project("", &CLEAN[..1]);
    repo.commit("clean start");
    let first = framework(git, &["push", "origin", "main"]).run();
    first.assert_success();
    assert!(
        first.output().contains("lockgate (what the push adds"),
        "{}",
        first.output()
    );
    assert_eq!(server.queried(), ["npm:left-pad@1.3.0"]);

    // A teammate's branch with malware, pushed with the hooks skipped.
    framework(git, &["checkout", "-q", "-b", "feature"])
        .run()
        .assert_success();
    repo.stage_npm_project("", &[CLEAN[0], MALWARE]);
    framework(git, &["commit", "-q", "--no-verify", "-m", "add debug"])
        .run()
        .assert_success();
    framework(git, &["push", "-q", "--no-verify", "origin", "feature"])
        .run()
        .assert_success();
    framework(git, &["checkout", "-q", "main"])
        .run()
        .assert_success();

    // Its merge into main is refused at the pre-merge-commit stage...
    let merge = framework(git, &["merge", "--no-ff", "-m", "merge feature", "feature"]).run();
    assert_refused(&merge);
    repo.git(&["merge", "--abort"]);

    // ... and, made anyway, at the pre-push stage: FROM and TO name what main gains.
    framework(
        git,
        &[
            "merge",
            "-q",
            "--no-ff",
            "--no-verify",
            "-m",
            "merge feature",
            "feature",
        ],
    )
    .run()
    .assert_success();
    let push = framework(git, &["push", "origin", "main"]).run();
    assert_refused(&push);
    assert!(push.output().contains("add debug"), "{}", push.output());
}
