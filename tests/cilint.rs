//! The CI-configuration lint end to end: every case of tests/fixtures/ci/ committed in a real
//! repository, linted by `lockgate --all` and as a staged commit; each finding (file, line,
//! rule) is the one the case expects, and only an `npm` finding blocks.

use crate::support::fixtures::{write_case, ROOT};
use crate::support::{OsvServer, Run, TestRepo};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("ci"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 8, "{cases:?}");
    cases
}

/// The repository with the case's files written (not `expected.txt`).
fn repo_with(case: &Path) -> TestRepo {
    let repo = TestRepo::new();
    write_case(&repo, case, "");
    repo.stage_all();
    repo
}

/// `path:line rule` for each lint finding of a JSON report (`path unreadable` for the others).
fn findings(run: &Run) -> BTreeSet<String> {
    let report = run.stdout_json();
    report["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|problem| {
            let path = problem["path"].as_str()?;
            match problem["kind"].as_str()? {
                "ci-install-unlocked" => {
                    let message = problem["message"].as_str()?;
                    let rule = message.rsplit_once('(')?.1.strip_suffix(" rule)")?;
                    Some(format!("{path}:{} {rule}", problem["line"]))
                }
                "ci-file-unreadable" => Some(format!("{path} unreadable")),
                _ => None,
            }
        })
        .collect()
}

fn expected(case: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(case.join("expected.txt"))
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn every_case_is_linted_as_expected_with_all_and_when_staged() {
    let server = OsvServer::builder().without_shared_data().start();
    let url = server.url();
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let expected = expected(&case);
        let blocks = expected.iter().any(|finding| finding.ends_with(" npm"));
        let repo = repo_with(&case);
        // Staged for the first commit.
        let staged = repo.lockgate(&["--osv-url", &url, "--format", "json"]);
        assert_eq!(
            findings(&staged),
            expected,
            "{name}, staged\n{}",
            staged.output()
        );
        assert_eq!(
            staged.code,
            Some(i32::from(blocks)),
            "{name}\n{}",
            staged.output()
        );
        // Committed, with --all.
        repo.commit("ci files");
        let all = repo.lockgate(&["--osv-url", &url, "--format", "json", "--all"]);
        assert_eq!(findings(&all), expected, "{name}, --all\n{}", all.output());
        // A commit that does not touch them says nothing of them.
        repo.write_and_stage("README.md", "readme\n");
        let unrelated = repo.lockgate(&["--osv-url", &url, "--format", "json"]);
        assert!(
            findings(&unrelated).is_empty(),
            "{name}\n{}",
            unrelated.output()
        );
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn the_text_report_names_the_line_and_the_command_to_use() {
    let repo = repo_with(&Path::new(ROOT).join("ci/github-npm-install"));
    let run = repo.lockgate(&[]);
    run.assert_code(1)
        .assert_stderr_contains(".github/workflows/ci.yml:17")
        .assert_stderr_contains("use `npm ci`");
}

#[test]
fn each_rule_blocks_warns_or_is_off_as_the_configuration_says() {
    let server = OsvServer::builder().without_shared_data().start();
    let url = server.url();
    let repo = repo_with(&Path::new(ROOT).join("ci/gitlab-anchors"));
    let blocking = |run: &Run| -> BTreeSet<String> {
        run.stdout_json()["problems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|problem| problem["blocking"] == true)
            .filter_map(|problem| Some(problem["rule"].as_str()?.to_string()))
            .collect()
    };
    // By default npm blocks, yarn warns; then as the configuration says.
    let settings: [(&str, &[&str], i32); 3] = [
        ("", &["npm"], 1),
        (
            "[ci-lint]\nnpm = \"warn\"\nyarn = \"block\"\n",
            &["yarn"],
            1,
        ),
        ("[ci-lint]\nnpm = \"off\"\nyarn = \"off\"\n", &[], 0),
    ];
    for (config, blocks, code) in settings {
        repo.write(".lockgate.toml", config);
        let run = repo.lockgate(&["--osv-url", &url, "--format", "json"]);
        let expected: BTreeSet<String> = blocks.iter().map(ToString::to_string).collect();
        assert_eq!(blocking(&run), expected, "{config}");
        run.assert_code(code);
        if code == 0 {
            assert!(findings(&run).is_empty(), "{}", run.output());
        }
    }
    // A rule that does not exist is an error that names the file.
    repo.write(".lockgate.toml", "[ci-lint]\nnmp = \"off\"\n");
    repo.lockgate(&["--osv-url", &url])
        .assert_code(2)
        .assert_stderr_contains(".lockgate.toml");
}

/// A workflow committed with the hook skipped is stopped when it is pushed.
#[test]
fn a_pushed_workflow_that_installs_without_the_lockfile_is_stopped() {
    let (server, repo) = crate::push::pushed_main();
    let workflow =
        std::fs::read(Path::new(ROOT).join("ci/github-npm-install/.github/workflows/ci.yml"))
            .unwrap();
    repo.write_and_stage(".github/workflows/ci.yml", workflow);
    crate::hooks::git(&repo, &server, &["commit", "-q", "--no-verify", "-m", "ci"])
        .assert_success();
    let push = crate::hooks::git(&repo, &server, &["push", "origin", "main"]);
    assert_ne!(push.code, Some(0), "{}", push.output());
    assert!(
        push.output().contains(".github/workflows/ci.yml:17"),
        "{}",
        push.output()
    );
}
