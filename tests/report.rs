//! The report tells the truth: what it names (fixed versions, positions), in what order, and
//! that JSON and SARIF stay whole when the check itself fails.

use crate::support::{OsvServer, Run, TestRepo};

fn run_json(repo: &TestRepo, server: &OsvServer, extra: &[&str]) -> Run {
    let url = server.url();
    let mut args = vec!["--osv-url", url.as_str(), "--format", "json"];
    args.extend_from_slice(extra);
    repo.lockgate(&args)
}

#[test]
fn fixed_versions_are_found_by_pep_503_name_nearest_above_first() {
    // GHSA-jh3w-4vvf-mjgr names `Django` and is fixed in 3.2.20, 4.1.10 and 4.2.3.
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("requirements.txt", "django==4.1.3\n");
    let run = run_json(&repo, &server, &["--fail-on", "any"]);
    run.assert_code(1);
    let report = run.stdout_json();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|finding| finding["id"] == "GHSA-jh3w-4vvf-mjgr")
        .unwrap_or_else(|| panic!("{report}"))
        .clone();
    assert_eq!(
        finding["fixed"],
        serde_json::json!(["4.1.10", "4.2.3", "3.2.20"])
    );
    let url = server.url();
    repo.lockgate(&["--osv-url", &url, "--fail-on", "any"])
        .assert_stderr_contains("(fixed in 4.1.10, 4.2.3, 3.2.20)");
}
