//! Composer projects end to end: composer.json and composer.lock (made by the real composer,
//! tests/fixtures/packagist/composer/) staged in real repositories, real Packagist records from
//! ../shared/data/osv served by the OSV stand-in, and the lockfile check.

use crate::support::osv_server::OSV_DATA_DIR;
use crate::support::{OsvServer, Run, TestRepo};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/packagist/composer"
);

/// A file of a case composer built.
fn fixture(case: &str, file: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{case}/{file}")).unwrap()
}

/// The stand-in, also serving the shared Packagist records (guzzlehttp/guzzle 6.5.5 is
/// GHSA-cwmx-hcrq-mhc3 and GHSA-w248-ffj2-4v5q; intercom/intercom-php 5.0.2 is MAL-2026-3637).
fn server() -> OsvServer {
    let mut builder = OsvServer::builder();
    for folder in ["malicious/packagist", "advisories/packagist"] {
        let folder = std::path::Path::new(OSV_DATA_DIR).join(folder);
        for entry in std::fs::read_dir(&folder).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            builder = builder.record(serde_json::from_str(&text).unwrap());
        }
    }
    builder.start()
}

fn run(repo: &TestRepo, server: &OsvServer, extra: &[&str]) -> Run {
    let url = server.url();
    let mut args = vec!["--osv-url", &url, "--format", "json"];
    args.extend_from_slice(extra);
    repo.lockgate(&args)
}

fn stage_case(repo: &TestRepo, folder: &str, case: &str) {
    for file in ["composer.json", "composer.lock"] {
        let path = if folder.is_empty() {
            file.to_string()
        } else {
            format!("{folder}/{file}")
        };
        repo.write_and_stage(&path, fixture(case, file));
    }
}

#[test]
fn packagist_malware_blocks_and_vulnerabilities_are_reported() {
    let server = server();
    let repo = TestRepo::new();
    stage_case(&repo, "", "osv-records");
    let run_default = run(&repo, &server, &[]);
    run_default.assert_code(1);
    assert_eq!(
        run_default.findings(),
        [
            "MAL-2026-3637 intercom/intercom-php@5.0.2",
            "GHSA-cwmx-hcrq-mhc3 guzzlehttp/guzzle@6.5.5",
            "GHSA-w248-ffj2-4v5q guzzlehttp/guzzle@6.5.5",
        ]
    );
    let report = run_default.stdout_json();
    let blocking: Vec<bool> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["blocking"].as_bool().unwrap())
        .collect();
    assert_eq!(
        blocking,
        [true, false, false],
        "only malware blocks by default"
    );
    assert!(
        run_default.problem_kinds().is_empty(),
        "{}",
        run_default.output()
    );
    assert_eq!(
        server.queried(),
        [
            "Packagist:guzzlehttp/guzzle@6.5.5",
            "Packagist:intercom/intercom-php@5.0.2"
        ]
    );

    // The vulnerabilities block from the severity asked for (both are HIGH).
    let strict = run(&repo, &server, &["--fail-on", "high"]);
    strict.assert_code(1);
    let blocking = strict.stdout_json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|finding| finding["blocking"] == true);
    assert!(blocking, "{}", strict.output());
}

#[test]
fn a_stale_composer_lock_is_blocked() {
    let server = server();
    let repo = TestRepo::new();
    stage_case(&repo, "app", "fresh");
    run(&repo, &server, &[]).assert_success();
    repo.commit("a Composer project");
    repo.write_and_stage(
        "app/composer.json",
        fixture("content-hash-stale", "composer.json"),
    );
    let stale = run(&repo, &server, &[]);
    stale.assert_code(1);
    assert_eq!(stale.problem_kinds(), ["lockfile-out-of-sync"]);
    let problem = &stale.stdout_json()["problems"][0];
    assert_eq!(problem["path"], "app/composer.lock");
    assert!(
        problem["message"]
            .as_str()
            .unwrap()
            .contains("composer update --lock"),
        "{problem}"
    );
    repo.lockgate(&["--osv-url", &server.url()])
        .assert_code(1)
        .assert_stderr_contains(
            "the lock file is not up to date with the latest changes in app/composer.json",
        );
}

#[test]
fn all_finds_malware_and_a_stale_lock_in_committed_projects() {
    let server = server();
    let repo = TestRepo::new();
    stage_case(&repo, "shop", "osv-records");
    stage_case(&repo, "tools", "content-hash-stale");
    repo.commit("two Composer projects");
    let all = run(&repo, &server, &["--all"]);
    all.assert_code(1);
    assert!(
        all.findings()
            .contains(&"MAL-2026-3637 intercom/intercom-php@5.0.2".to_string()),
        "{}",
        all.output()
    );
    assert_eq!(all.problem_kinds(), ["lockfile-out-of-sync"]);
    assert_eq!(
        all.stdout_json()["problems"][0]["path"],
        "tools/composer.lock"
    );
}

#[test]
fn the_offline_database_answers_for_packagist_as_osv_does() {
    use crate::support::export::{shared_records, Export, ExportServer};
    let export = Export::new();
    // `db update` without `--ecosystem` updates every ecosystem (the command line has no
    // `--ecosystem Packagist` yet), so the others are published too.
    export
        .publish("npm", &shared_records(&["malicious/npm"]))
        .publish("PyPI", &shared_records(&["malicious/pypi"]))
        .publish(
            "Packagist",
            &shared_records(&["malicious/packagist", "advisories/packagist"]),
        );
    let server = ExportServer::start(export.path());
    let repo = TestRepo::new();
    repo.lockgate(&["db", "update", "--export-url", &server.url()])
        .assert_success()
        .assert_stderr_contains("Packagist: built from the whole export");
    stage_case(&repo, "", "osv-records");
    let url = crate::support::unreachable_url();
    let run = repo.lockgate(&["--offline", "--format", "json", "--osv-url", &url]);
    run.assert_code(1);
    assert_eq!(
        run.findings(),
        [
            "MAL-2026-3637 intercom/intercom-php@5.0.2",
            "GHSA-cwmx-hcrq-mhc3 guzzlehttp/guzzle@6.5.5",
            "GHSA-w248-ffj2-4v5q guzzlehttp/guzzle@6.5.5",
        ]
    );
}
