//! The pre-commit mode end to end: staged npm lockfiles in real repositories, the compiled
//! binary, and the OSV server on 127.0.0.1 over the real records.

use crate::support::{
    npm_lock_v1, npm_lock_v3, package_json_matching, unreachable_url, Fault, OsvServer, TestRepo,
};
use serde_json::json;

/// debug@4.4.2 is MAL-2025-46974 (the September 2025 compromise) in ../shared/data/osv.
const MALWARE: (&str, &str) = ("debug", "4.4.2");
/// No record in ../shared/data/osv names these.
const CLEAN: [(&str, &str); 2] = [("left-pad", "1.3.0"), ("is-number", "7.0.0")];

fn osv_args(server: &OsvServer) -> Vec<String> {
    vec!["--osv-url".into(), server.url()]
}

pub(crate) fn run(repo: &TestRepo, server: &OsvServer, extra: &[&str]) -> crate::support::Run {
    let mut args: Vec<String> = osv_args(server);
    args.extend(extra.iter().map(|arg| arg.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    repo.lockgate(&args)
}

#[test]
fn staged_malware_blocks_with_id_summary_and_link() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[MALWARE, CLEAN[0]]);
    let run = run(&repo, &server, &[]);
    run.assert_code(1)
        .assert_stderr_contains("package-lock.json: debug@4.4.2 is MALWARE")
        .assert_stderr_contains("MAL-2025-46974")
        .assert_stderr_contains("https://osv.dev/vulnerability/MAL-2025-46974")
        .assert_stderr_contains("commit BLOCKED");
    assert_eq!(server.fetched_vuln_ids(), ["MAL-2025-46974"]);
}

#[test]
fn clean_addition_passes_after_one_batched_round_trip() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &CLEAN);
    run(&repo, &server, &[])
        .assert_code(0)
        .assert_stderr_contains("2 packages checked, no known malware");
    assert_eq!(server.request_count(), 1, "{:?}", server.requests());
}

#[test]
fn commit_without_lockfile_changes_makes_no_request_and_prints_nothing() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[MALWARE]);
    repo.commit("malware already in HEAD (checked by --all, not by the commit hook)");
    repo.write_and_stage("README.md", "hello\n");
    repo.write_and_stage("src/index.js", "console.log(1)\n");
    let run = run(&repo, &server, &[]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(server.request_count(), 0);
}

#[test]
fn only_added_or_changed_packages_are_queried() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project(
        "",
        &[("left-pad", "1.3.0"), ("ms", "2.1.2"), ("gone", "1.0.0")],
    );
    repo.commit("before");
    repo.stage_npm_project(
        "",
        &[
            ("left-pad", "1.3.0"),
            ("ms", "2.1.3"),
            ("is-number", "7.0.0"),
        ],
    );
    run(&repo, &server, &[]).assert_code(0);
    assert_eq!(server.queried(), ["npm:is-number@7.0.0", "npm:ms@2.1.3"]);
}

#[test]
fn first_commit_checks_everything_staged() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    assert!(repo.head().is_none());
    repo.stage_npm_project("", &[MALWARE, CLEAN[0], CLEAN[1]]);
    run(&repo, &server, &[]).assert_code(1);
    assert_eq!(
        server.queried(),
        [
            "npm:debug@4.4.2",
            "npm:is-number@7.0.0",
            "npm:left-pad@1.3.0"
        ]
    );
}

#[test]
fn lockfile_in_a_subdirectory_is_found_and_named() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("README.md", "monorepo\n");
    repo.commit("root");
    repo.stage_npm_project("services/web", &[MALWARE]);
    run(&repo, &server, &[])
        .assert_code(1)
        .assert_stderr_contains("services/web/package-lock.json: debug@4.4.2 is MALWARE");
}

#[test]
fn shrinkwrap_and_lockfile_v1_are_read() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("package.json", package_json_matching(&[MALWARE]));
    repo.write_and_stage("npm-shrinkwrap.json", npm_lock_v1(&[MALWARE]));
    run(&repo, &server, &[])
        .assert_code(1)
        .assert_stderr_contains("npm-shrinkwrap.json: debug@4.4.2 is MALWARE");
}

#[test]
fn deleted_lockfile_adds_nothing() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[MALWARE]);
    repo.commit("before");
    repo.remove_and_stage("package-lock.json");
    repo.remove_and_stage("package.json");
    run(&repo, &server, &[]).assert_code(0);
    assert_eq!(server.request_count(), 0);
}

/// `git commit <path>` commits from a temporary index that git names in GIT_INDEX_FILE for the
/// hook; `.git/index` holds something else. lockgate must judge the temporary one.
#[test]
fn real_git_commit_with_paths_uses_the_temporary_index() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &CLEAN);
    repo.commit("clean");
    repo.install_pre_commit_hook(&["--osv-url", &server.url()], &[]);

    // Malware in the work tree only, committed with `git commit <path>`: not in .git/index.
    repo.write("package.json", package_json_matching(&[MALWARE, CLEAN[1]]));
    repo.write("package-lock.json", npm_lock_v3(&[MALWARE, CLEAN[1]]));
    let refused = repo.git(&[
        "commit",
        "-m",
        "add debug",
        "package.json",
        "package-lock.json",
    ]);
    assert_ne!(refused.code, Some(0), "{}", refused.output());
    assert!(
        refused.stderr.contains("MAL-2025-46974"),
        "{}",
        refused.output()
    );

    // `git commit -a` also commits from a temporary index.
    let refused = repo.git(&["commit", "-a", "-m", "add debug"]);
    assert_ne!(refused.code, Some(0), "{}", refused.output());
    assert!(
        refused.stderr.contains("MAL-2025-46974"),
        "{}",
        refused.output()
    );

    // Malware staged in .git/index, but the commit names only README.md: the temporary index
    // holds HEAD plus README.md, so there is nothing to check and the commit goes through.
    repo.stage("package.json").stage("package-lock.json");
    repo.write("README.md", "docs\n");
    repo.git(&["add", "-N", "README.md"]).assert_success();
    let allowed = repo.git(&["commit", "-m", "docs only", "README.md"]);
    allowed.assert_success();
    assert!(!allowed.stderr.contains("MAL-"), "{}", allowed.output());
}

#[test]
fn real_git_commit_of_a_clean_change_goes_through() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.install_pre_commit_hook(&["--osv-url", &server.url()], &[]);
    repo.stage_npm_project("", &CLEAN);
    repo.git(&["commit", "-m", "clean"]).assert_success();
    assert!(repo.head().is_some());
    assert_eq!(server.querybatch_request_count(), 1);
}

#[test]
fn more_than_a_thousand_changed_packages_take_two_batches() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let names: Vec<String> = (0..1001).map(|i| format!("pkg-{i:04}")).collect();
    let packages: Vec<(&str, &str)> = names.iter().map(|name| (name.as_str(), "1.0.0")).collect();
    repo.stage_npm_project("", &packages);
    run(&repo, &server, &[]).assert_code(0);
    let batches: Vec<usize> = server
        .requests()
        .iter()
        .filter(|request| request.path == "/v1/querybatch")
        .map(|request| {
            let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
            body["queries"].as_array().unwrap().len()
        })
        .collect();
    // Sent together, they may arrive in either order.
    let mut batches = batches;
    batches.sort_unstable();
    assert_eq!(batches, [1, 1000]);
    assert_eq!(server.querybatch_queries().len(), 1001);
}

#[test]
fn the_batches_of_a_large_change_are_in_flight_together_and_each_answer_finds_its_package() {
    // Four batches against a server that takes a while to answer each, with four threads.
    let server = OsvServer::builder()
        .workers(4)
        .delay(std::time::Duration::from_millis(300))
        .start();
    let repo = TestRepo::new();
    let names: Vec<String> = (0..3000).map(|i| format!("c-{i:04}")).collect();
    let mut packages: Vec<(&str, &str)> =
        names.iter().map(|name| (name.as_str(), "1.0.0")).collect();
    // Sorted after the 3,000 others: both are asked in the last batch.
    packages.extend([MALWARE, ("lodash", "4.17.4")]);
    repo.stage_npm_project("", &packages);
    let run = run(&repo, &server, &["--format", "json", "--fail-on", "any"]);
    run.assert_code(1);
    let report = run.stdout_json();
    let mut found: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            format!(
                "{}@{} {}",
                finding["package"]["name"].as_str().unwrap(),
                finding["package"]["version"].as_str().unwrap(),
                finding["id"].as_str().unwrap()
            )
        })
        .collect();
    found.sort();
    found.dedup();
    assert_eq!(
        found,
        [
            "debug@4.4.2 MAL-2025-46974",
            "lodash@4.17.4 GHSA-35jh-r3h4-6jhm",
            "lodash@4.17.4 GHSA-jf85-cpcp-j695",
            "lodash@4.17.4 GHSA-p6mc-m468-83gw",
        ]
    );
    assert_eq!(report["checked"], 3002);
    assert!(
        server.most_querybatches_at_once() >= 2,
        "the batches went one after another"
    );
}

#[test]
fn paginated_answers_are_followed_to_the_end() {
    // lodash@4.17.4 is affected by three advisories in ../shared/data/osv; one per page, and a
    // first page that holds only a token (OSV may do that; it does not mean "done").
    let server = OsvServer::builder().page_size(1).empty_first_page().start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[("lodash", "4.17.4"), CLEAN[0]]);
    let run = run(&repo, &server, &["--format", "json"]);
    run.assert_code(0);
    let report = run.stdout_json();
    let mut ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "GHSA-35jh-r3h4-6jhm",
            "GHSA-jf85-cpcp-j695",
            "GHSA-p6mc-m468-83gw"
        ]
    );
    let tokens = server
        .querybatch_queries_with_page_tokens()
        .iter()
        .filter(|query| query.page_token.is_some())
        .count();
    assert!(
        tokens >= 3,
        "expected the pages to be followed, saw {tokens} token re-sends"
    );
}

#[test]
fn malware_known_only_by_an_alias_blocks() {
    let record = json!({
        "id": "GHSA-zzzz-alias-only", "modified": "2025-09-09T00:00:00Z",
        "aliases": ["MAL-2099-0001"],
        "summary": "Malicious code in quiet-helper (npm)",
        "affected": [{"package": {"ecosystem": "npm", "name": "quiet-helper"}, "versions": ["1.0.1"]}]
    });
    let server = OsvServer::builder().record(record).start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[("quiet-helper", "1.0.1")]);
    run(&repo, &server, &[])
        .assert_code(1)
        .assert_stderr_contains("quiet-helper@1.0.1 is MALWARE")
        .assert_stderr_contains("GHSA-zzzz-alias-only");
}

#[test]
fn vulnerabilities_are_reported_and_block_only_with_fail_on_vuln() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[("minimist", "1.2.5")]);
    run(&repo, &server, &[])
        .assert_code(0)
        .assert_stderr_contains("minimist@1.2.5 has a known vulnerability")
        .assert_stderr_contains("GHSA-xvch-5gv4-984h")
        .assert_stderr_contains("fixed in 1.2.6");
    let blocked = run(&repo, &server, &["--fail-on-vuln"]);
    blocked
        .assert_code(1)
        .assert_stderr_contains("BLOCKED")
        // What to do about it: the version that fixes it, or how to accept it.
        .assert_stderr_contains("to unblock: upgrade minimist to 1.2.6 or later")
        .assert_stderr_contains("[[ignore]] id = \"GHSA-xvch-5gv4-984h\" reason = ");
    // Reported, not blocking: no advice to unblock.
    assert!(!run(&repo, &server, &[]).stderr.contains("to unblock"));
}

#[test]
fn withdrawn_records_never_block() {
    // MAL-2025-7048 (@amber-team/amazon-utils) was withdrawn upstream.
    let server = OsvServer::builder().return_withdrawn().start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[("@amber-team/amazon-utils", "1.0.0")]);
    let run = run(&repo, &server, &[]);
    run.assert_code(0);
    assert!(!run.stderr.contains("MAL-2025-7048"), "{}", run.output());
    assert_eq!(server.fetched_vuln_ids(), ["MAL-2025-7048"]);
}

#[test]
fn unreachable_osv_fails_closed_and_fail_open_allows_with_a_warning() {
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[MALWARE]);
    let url = unreachable_url();
    repo.lockgate(&["--osv-url", &url, "--retries", "0"])
        .assert_code(2)
        .assert_stderr_contains("OSV could not be asked about 1 package")
        .assert_stderr_contains("--fail-open")
        // Every way forward, the last resort last.
        .assert_stderr_contains("`lockgate db update`")
        .assert_stderr_contains("`on-unreachable = \"offline\"` in .lockgate.toml")
        .assert_stderr_contains("`LOCKGATE_ON_UNREACHABLE=offline`")
        .assert_stderr_contains("`git commit --no-verify`")
        .assert_stderr_contains("commit BLOCKED");
    // A JSON consumer gets the report too, saying what could not be checked.
    let report = repo
        .lockgate(&["--osv-url", &url, "--retries", "0", "--format", "json"])
        .assert_code(2)
        .stdout_json();
    assert_eq!(report["blocked"], true);
    assert_eq!(report["problems"][0]["kind"], "advisory-source-unavailable");
    repo.lockgate(&["--osv-url", &url, "--retries", "0", "--fail-open"])
        .assert_code(0)
        .assert_stderr_contains("warning")
        .assert_stderr_contains("WITHOUT an advisory check");
    repo.lockgate_command(&["--osv-url", &url, "--retries", "0"])
        .env("LOCKGATE_FAIL_OPEN", "1")
        .run()
        .assert_code(0);
}

#[test]
fn server_errors_are_retried_then_fail_closed() {
    let server = OsvServer::builder()
        .fail_first(1, Fault::Status(503))
        .start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[MALWARE]);
    // Each run asks the server afresh: answers it cached would hide the failures.
    run(&repo, &server, &["--no-cache"]).assert_code(1);

    let server = OsvServer::builder().fail_always(Fault::Status(500)).start();
    run(&repo, &server, &["--no-cache", "--retries", "1"])
        .assert_code(2)
        .assert_stderr_contains("HTTP 500");
    assert_eq!(server.request_count(), 2);

    let server = OsvServer::builder().fail_always(Fault::NotJson).start();
    run(&repo, &server, &["--no-cache"])
        .assert_code(2)
        .assert_stderr_contains("unreadable answer");

    let server = OsvServer::builder()
        .fail_always(Fault::MissingResults)
        .start();
    run(&repo, &server, &["--no-cache"])
        .assert_code(2)
        .assert_stderr_contains("0 results for 1 queries");
}

#[test]
fn malformed_lockfile_stops_the_commit_naming_file_and_line() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("app/package.json", package_json_matching(&CLEAN));
    let truncated = npm_lock_v3(&CLEAN);
    let truncated = &truncated[..truncated.len() / 2];
    repo.write_and_stage("app/package-lock.json", truncated);
    let run = run(&repo, &server, &[]);
    run.assert_code(2)
        .assert_stderr_contains("app/package-lock.json:");
    assert!(run.stderr.contains("ends too early"), "{}", run.output());
    assert_eq!(server.request_count(), 0);

    repo.write_and_stage(
        "app/package-lock.json",
        r#"{"packages": {"node_modules/a": {"version": 7}}}"#,
    );
    run_expect_parse_error(&repo, &server, "app/package-lock.json:1:");
}

fn run_expect_parse_error(repo: &TestRepo, server: &OsvServer, needle: &str) {
    run(repo, server, &[])
        .assert_code(2)
        .assert_stderr_contains(needle);
}

#[test]
fn escape_sequences_from_osv_are_not_printed() {
    let record = json!({
        "id": "MAL-2099-0002", "modified": "2025-09-09T00:00:00Z",
        "summary": "Malicious code \u{1b}[2J\u{1b}]0;owned\u{7}in \u{1b}[31mtrap\u{1b}[0m (npm)",
        "affected": [{"package": {"ecosystem": "npm", "name": "trap"}, "versions": ["0.0.1"]}]
    });
    let server = OsvServer::builder().record(record).start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[("trap", "0.0.1")]);
    let text = run(&repo, &server, &[]);
    text.assert_code(1)
        .assert_stderr_contains("Malicious code in trap (npm)");
    assert!(
        !text.stderr.contains('\u{1b}') && !text.stderr.contains('\u{7}'),
        "{:?}",
        text.stderr
    );
    let json = run(&repo, &server, &["--format", "json"]);
    assert!(!json.stdout.contains("\\u001b"), "{}", json.stdout);
}

#[test]
fn json_report_follows_the_design_contract() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("web", &[MALWARE, CLEAN[0]]);
    let run = run(&repo, &server, &["--format", "json"]);
    run.assert_code(1);
    let report = run.stdout_json();
    assert_eq!(report["version"], 1);
    assert_eq!(report["mode"], "staged");
    assert_eq!(report["blocked"], true);
    assert_eq!(report["checked"], 2);
    let finding = &report["findings"][0];
    assert_eq!(finding["id"], "MAL-2025-46974");
    assert_eq!(finding["malicious"], true);
    assert_eq!(finding["blocking"], true);
    assert_eq!(finding["lockfile"], "web/package-lock.json");
    assert_eq!(
        finding["package"],
        json!({"ecosystem": "npm", "name": "debug", "version": "4.4.2"})
    );
    assert!(finding["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "GHSA-8mgj-vmr8-frr6"));
    assert!(report["problems"].as_array().unwrap().is_empty());
}

#[test]
fn non_registry_sources_are_listed_not_queried() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let lock = json!({
        "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
        "packages": {
            "": {"name": "app", "version": "1.0.0", "dependencies": {
                "gdep": "git+ssh://git@git.example.test/team/gdep.git#v1",
                "tdep": "file:vendor/tdep-1.0.0.tgz",
                "left-pad": "^1.3.0"}},
            "node_modules/gdep": {"version": "1.0.0",
                "resolved": "git+ssh://git@git.example.test/team/gdep.git#df8644ee06362d06c17e5e258af740b2b8f67bac"},
            "node_modules/tdep": {"version": "1.0.0", "resolved": "file:vendor/tdep-1.0.0.tgz"},
            "node_modules/left-pad": {"version": "1.3.0",
                "resolved": "https://registry.example.test/left-pad/-/left-pad-1.3.0.tgz"}
        }
    });
    let manifest = json!({"name": "app", "version": "1.0.0", "dependencies": {
        "gdep": "git+ssh://git@git.example.test/team/gdep.git#v1",
        "tdep": "file:vendor/tdep-1.0.0.tgz",
        "left-pad": "^1.3.0"}});
    repo.write_and_stage(
        "package.json",
        serde_json::to_string_pretty(&manifest).unwrap(),
    );
    repo.write_and_stage(
        "package-lock.json",
        serde_json::to_string_pretty(&lock).unwrap(),
    );
    repo.write_and_stage("vendor/tdep-1.0.0.tgz", "not really a tarball");
    let run = run(&repo, &server, &["--format", "json"]);
    run.assert_code(0);
    assert_eq!(server.queried(), ["npm:left-pad@1.3.0"]);
    let report = run.stdout_json();
    let kinds: Vec<(&str, &str)> = report["non_registry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["name"].as_str().unwrap(),
                entry["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds, [("gdep", "git"), ("tdep", "file")]);
}

#[test]
fn outside_a_repository_is_exit_two() {
    let repo = TestRepo::new();
    repo.lockgate_command(&[])
        .current_dir("..")
        .run()
        .assert_code(2)
        .assert_stderr_contains("not inside a git repository");
}

#[test]
fn proxy_variables_are_honoured_and_no_proxy_bypasses_them() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &CLEAN);
    let dead_proxy = unreachable_url();
    repo.lockgate_command(&["--osv-url", &server.url(), "--retries", "0"])
        .env("HTTPS_PROXY", &dead_proxy)
        .run()
        .assert_code(2);
    assert_eq!(
        server.request_count(),
        0,
        "the request went around the proxy"
    );
    repo.lockgate_command(&["--osv-url", &server.url(), "--retries", "0"])
        .env("HTTPS_PROXY", &dead_proxy)
        .env("NO_PROXY", "127.0.0.1")
        .run()
        .assert_code(0);
    assert_eq!(server.request_count(), 1);
}

#[test]
fn all_mode_shows_progress_on_a_terminal_only() {
    // OSV answering slowly: past the half-second delay, --all shows where it is, on a
    // terminal (util-linux `script` gives it one), and erases the line before the report.
    let server = OsvServer::builder()
        .delay(std::time::Duration::from_millis(700))
        .start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &CLEAN);
    repo.commit("project");
    let command = format!(
        "{} --all --osv-url {}",
        crate::support::repo::LOCKGATE_BIN,
        server.url()
    );
    let on_terminal = repo
        .program_command("script", &["-qec", &command, "/dev/null"])
        .run();
    on_terminal.assert_success();
    assert!(
        on_terminal
            .stdout
            .contains("\rlockgate: asked OSV about 2 of 2 packages"),
        "{}",
        on_terminal.output()
    );
    assert!(on_terminal.stdout.contains("check allowed"));

    let piped = run(&repo, &server, &["--all"]);
    piped.assert_success();
    assert!(!piped.stderr.contains("asked OSV"), "{}", piped.output());
}

#[test]
fn empty_lockgate_variables_count_as_unset_and_a_closed_pipe_is_no_crash() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[MALWARE]);
    // `export LOCKGATE_FAIL_OPEN=` must not turn every commit into a usage error.
    repo.lockgate_command(&["--osv-url", &server.url()])
        .env("LOCKGATE_FAIL_OPEN", "")
        .env("LOCKGATE_ON_UNREACHABLE", "")
        .run()
        .assert_code(1);
    // A reader that stops early (`| true`) leaves the decision's exit code, not a panic.
    let script = format!(
        "\"$0\" --osv-url {} --format sarif | true; echo \"exit=${{PIPESTATUS[0]}}\"",
        server.url()
    );
    let run = repo
        .program_command("bash", &["-c", &script, crate::support::repo::LOCKGATE_BIN])
        .run();
    assert!(run.stdout.contains("exit=1"), "{}", run.output());
    assert!(!run.stderr.contains("panicked"), "{}", run.output());
}

/// A committed npm project of 2,000 packages, its lockfile over 256 KiB; with `run_first`, the
/// hook ran on it before the commit, as git runs it.
fn large_project(server: &OsvServer, run_first: bool) -> (TestRepo, Vec<(String, &'static str)>) {
    let repo = TestRepo::new();
    let packages: Vec<(String, &str)> = (0..2000).map(|i| (format!("c-{i:04}"), "1.0.0")).collect();
    repo.stage_npm_project("", &borrowed(&packages));
    if run_first {
        run(&repo, server, &[]).assert_code(0);
    }
    repo.commit("project");
    (repo, packages)
}

fn borrowed<'a>(packages: &'a [(String, &'a str)]) -> Vec<(&'a str, &'a str)> {
    packages
        .iter()
        .map(|(name, version)| (name.as_str(), *version))
        .collect()
}

/// Stages, over [`large_project`]: malware added, one package upgraded, one kept at its version
/// with another checksum; runs the hook and checks that it says exactly that.
fn stage_and_judge_a_large_change(
    repo: &TestRepo,
    server: &OsvServer,
    packages: &[(String, &str)],
) {
    let mut packages = borrowed(packages);
    packages.push(MALWARE);
    packages[5].1 = "1.0.1";
    let lock = npm_lock_v3(&packages).replace(
        &crate::support::lockfiles::npm_integrity("c-0007", "1.0.0"),
        &crate::support::lockfiles::npm_integrity("c-0007", "9.9.9"),
    );
    let line = 1 + lock[..lock.find("\"node_modules/c-0007\"").unwrap()]
        .matches('\n')
        .count();
    repo.write_and_stage("package.json", package_json_matching(&packages));
    repo.write_and_stage("package-lock.json", &lock);
    let run = run(repo, server, &["--format", "json"]);
    run.assert_code(1);
    let report = run.stdout_json();
    // What the change adds: debug and the upgrade, not the 1,999 packages it keeps.
    assert_eq!(report["checked"], 2, "{report}");
    assert_eq!(report["findings"][0]["id"], "MAL-2025-46974");
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["kind"], "checksum-changed");
    assert_eq!(problems[0]["line"], line);
    assert!(problems[0]["message"]
        .as_str()
        .unwrap()
        .contains("c-0007@1.0.0"));
}

#[test]
fn a_large_lockfiles_change_is_judged_as_a_small_ones_is() {
    // What the change keeps is compared package by package only where an entry changed.
    let server = OsvServer::start();
    let (repo, packages) = large_project(&server, false);
    stage_and_judge_a_large_change(&repo, &server, &packages);
}

#[test]
fn a_lockfile_kept_from_the_last_commit_is_judged_as_a_fresh_parse_is() {
    // The hook keeps what a large lockfile locks by blob id (issue 20), so the next commit does
    // not parse HEAD's side again. The verdicts must be a fresh parse's, and a damaged kept file
    // is parsed afresh and replaced.
    let server = OsvServer::start();
    let (repo, packages) = large_project(&server, true);
    let head = repo.git(&["rev-parse", "HEAD:package-lock.json"]).stdout;
    let kept = repo
        .path()
        .join(".git/lockgate/parsed")
        .join(format!("{}.package_lock_json", head.trim()));
    assert!(
        kept.is_file(),
        "the hook kept nothing at {}",
        kept.display()
    );
    stage_and_judge_a_large_change(&repo, &server, &packages);
    // The staged side is kept too, for the commit after this one.
    let staged = repo.git(&["rev-parse", ":package-lock.json"]).stdout;
    assert!(kept
        .with_file_name(format!("{}.package_lock_json", staged.trim()))
        .is_file());
    // Damaged: every 1,000th byte flipped.
    let mut bytes = std::fs::read(&kept).unwrap();
    for at in (0..bytes.len()).step_by(1000) {
        bytes[at] ^= 0x55;
    }
    std::fs::write(&kept, &bytes).unwrap();
    stage_and_judge_a_large_change(&repo, &server, &packages);
    assert_ne!(
        std::fs::read(&kept).unwrap(),
        bytes,
        "the damaged file stayed"
    );
}

// How git leaves the index ---------------------------------------------------------------------
//
// lockgate reads the index file itself and compares with HEAD only the folders whose cache-tree
// entry does not name HEAD's tree there (as `git diff --cached` does); what it cannot read that
// way (a split index, conflicts) goes to libgit2. Each shape below must find the staged
// lockfile, and only it.

/// A committed repository of `folders` folders of files, a clean npm project at the root and
/// one in `web/app`, written and committed with git itself (so the index has git's cache tree).
fn committed_tree(folders: usize) -> TestRepo {
    let repo = TestRepo::new();
    for folder in 0..folders {
        for file in 0..5 {
            repo.write(
                &format!("src/m{folder:02}/f{file}.js"),
                format!("// {folder} {file}\n"),
            );
        }
    }
    for dir in ["", "web/app/"] {
        repo.write(&format!("{dir}package.json"), package_json_matching(&CLEAN));
        repo.write(&format!("{dir}package-lock.json"), npm_lock_v3(&CLEAN));
    }
    repo.git(&["add", "."]).assert_success();
    repo.git(&["commit", "-q", "-m", "tree"]).assert_success();
    repo
}

/// Stages, with git, malware in the nested project (and a change elsewhere).
fn stage_nested_malware(repo: &TestRepo) {
    repo.write(
        "web/app/package.json",
        package_json_matching(&[MALWARE, CLEAN[1]]),
    );
    repo.write(
        "web/app/package-lock.json",
        npm_lock_v3(&[MALWARE, CLEAN[1]]),
    );
    repo.write("src/m03/f1.js", "// changed\n");
    repo.git(&["add", "web/app", "src/m03/f1.js"])
        .assert_success();
}

/// Each finding of a JSON report as `lockfile: id name@version`.
fn located_findings(run: &crate::support::Run) -> Vec<String> {
    let report = run.stdout_json();
    let lockfiles = report["findings"]
        .as_array()
        .expect("a findings list")
        .iter()
        .map(|finding| finding["lockfile"].as_str().unwrap_or_default().to_string());
    lockfiles
        .zip(run.findings())
        .map(|(lockfile, finding)| format!("{lockfile}: {finding}"))
        .collect()
}

#[track_caller]
fn assert_nested_malware_found(repo: &TestRepo, server: &OsvServer, case: &str) {
    let run = run(repo, server, &["--format", "json"]);
    assert_eq!(run.code, Some(1), "{case}\n{}", run.output());
    assert_eq!(
        located_findings(&run),
        ["web/app/package-lock.json: MAL-2025-46974 debug@4.4.2"],
        "{case}"
    );
}

#[test]
fn a_nested_lockfile_is_found_whatever_state_the_cache_tree_is_in() {
    let server = OsvServer::start();
    let repo = committed_tree(12);
    // Nothing staged: the root's cache tree names HEAD's tree; nothing is asked.
    let quiet = run(&repo, &server, &[]);
    quiet.assert_code(0);
    assert_eq!(quiet.stderr, "");
    assert_eq!(server.request_count(), 0);

    // `git add`: the folders along the staged paths are invalidated, the rest still valid.
    stage_nested_malware(&repo);
    assert_nested_malware_found(&repo, &server, "after git add");
    // `git write-tree`: every folder valid again, naming trees HEAD does not have.
    repo.git(&["write-tree"]).assert_success();
    assert_nested_malware_found(&repo, &server, "after git write-tree");
    // Index version 4: paths compressed against the previous one.
    repo.git(&["update-index", "--index-version", "4"])
        .assert_success();
    assert_nested_malware_found(&repo, &server, "index version 4");
    repo.git(&["update-index", "--index-version", "2"])
        .assert_success();
    // Every folder invalidated: the index rebuilt from nothing.
    repo.git(&["rm", "-q", "-r", "--cached", "."])
        .assert_success();
    repo.git(&["add", "."]).assert_success();
    assert_nested_malware_found(&repo, &server, "every folder invalidated");
    // Written by libgit2 (as other tools write it).
    repo.write_and_stage("README-libgit2.md", "libgit2\n");
    assert_nested_malware_found(&repo, &server, "written by libgit2");

    // Committed: the next commit that touches no lockfile asks nothing.
    repo.git(&["commit", "-q", "-m", "malware"])
        .assert_success();
    repo.write("src/m05/f2.js", "// again\n");
    repo.git(&["add", "src/m05/f2.js"]).assert_success();
    let quiet = run(&repo, &server, &["--format", "json"]);
    quiet.assert_code(0);
    assert!(quiet.findings().is_empty(), "{}", quiet.output());
}

#[test]
fn a_nested_lockfile_deleted_or_replaced_is_judged_as_before() {
    let server = OsvServer::start();
    // Deleted with its manifest: nothing to ask.
    let repo = committed_tree(6);
    repo.git(&[
        "rm",
        "-q",
        "web/app/package-lock.json",
        "web/app/package.json",
    ])
    .assert_success();
    run(&repo, &server, &[]).assert_code(0);
    assert_eq!(server.request_count(), 0);
    // A whole folder deleted, another file staged: still nothing.
    repo.git(&["rm", "-q", "-r", "src/m01"]).assert_success();
    run(&repo, &server, &[]).assert_code(0);
    assert_eq!(server.request_count(), 0);

    // Replaced by a symbolic link: blocked as not a file.
    let repo = committed_tree(6);
    std::fs::remove_file(repo.path().join("web/app/package-lock.json")).unwrap();
    std::os::unix::fs::symlink(
        "../../package-lock.json",
        repo.path().join("web/app/package-lock.json"),
    )
    .unwrap();
    repo.git(&["add", "web/app/package-lock.json"])
        .assert_success();
    let linked = run(&repo, &server, &["--format", "json"]);
    linked.assert_code(1);
    // (and package.json's dependencies have no lockfile file beside them any more)
    assert_eq!(
        linked.problem_kinds(),
        ["lockfile-not-a-file", "lockfile-missing"],
        "{}",
        linked.output()
    );

    // Replaced by a submodule (a gitlink): blocked as not a file.
    let repo = committed_tree(6);
    let head = repo.head().unwrap().to_string();
    repo.git(&["rm", "-q", "--cached", "web/app/package-lock.json"])
        .assert_success();
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{head},web/app/package-lock.json"),
    ])
    .assert_success();
    let gitlinked = run(&repo, &server, &["--format", "json"]);
    gitlinked.assert_code(1);
    assert_eq!(
        gitlinked.problem_kinds(),
        ["lockfile-not-a-file", "lockfile-missing"],
        "{}",
        gitlinked.output()
    );
}

#[test]
fn an_unborn_head_reads_everything_git_staged() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write("README.md", "first\n");
    repo.write("web/package.json", package_json_matching(&[MALWARE]));
    repo.write("web/package-lock.json", npm_lock_v3(&[MALWARE]));
    repo.git(&["add", "."]).assert_success();
    run(&repo, &server, &[])
        .assert_code(1)
        .assert_stderr_contains("web/package-lock.json: debug@4.4.2 is MALWARE");
}

/// `GIT_INDEX_FILE` as a hook may be handed it, relative to the working tree: that index is
/// judged, not `.git/index`.
#[test]
fn another_index_named_by_git_index_file_is_the_one_judged() {
    let server = OsvServer::start();
    let repo = committed_tree(4);
    // The other index holds HEAD plus the malware; .git/index holds nothing staged.
    repo.write("web/app/package.json", package_json_matching(&[MALWARE]));
    repo.write("web/app/package-lock.json", npm_lock_v3(&[MALWARE]));
    let other = ".git/other-index";
    repo.git_command(&["read-tree", "HEAD"])
        .env("GIT_INDEX_FILE", other)
        .run()
        .assert_success();
    repo.git_command(&["add", "web/app"])
        .env("GIT_INDEX_FILE", other)
        .run()
        .assert_success();
    run(&repo, &server, &[]).assert_code(0);
    assert_eq!(server.request_count(), 0);
    let mut args = vec!["--osv-url".to_string(), server.url()];
    args.push("--format".into());
    args.push("json".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let judged = repo
        .lockgate_command(&args)
        .env("GIT_INDEX_FILE", other)
        .run();
    judged.assert_code(1);
    assert_eq!(
        located_findings(&judged),
        ["web/app/package-lock.json: MAL-2025-46974 debug@4.4.2"]
    );
}

/// A split index (`core.splitIndex`) is left to libgit2, which cannot read it: the same exit 2
/// naming the extension as before lockgate read the index itself.
#[test]
fn a_split_index_is_left_to_libgit2_as_before() {
    let server = OsvServer::start();
    let repo = committed_tree(4);
    stage_nested_malware(&repo);
    repo.git(&["update-index", "--split-index"])
        .assert_success();
    run(&repo, &server, &[])
        .assert_code(2)
        .assert_stderr_contains("could not read the index")
        .assert_stderr_contains("'link'");
    repo.git(&["update-index", "--no-split-index"])
        .assert_success();
    assert_nested_malware_found(&repo, &server, "split index undone");
}
