//! The offline database end to end: `lockgate db update` from an export served on 127.0.0.1
//! (real records from ../shared/data/osv), `--offline` checks, incremental and interrupted
//! updates, missing and stale data, and `--on-unreachable=offline`.

use crate::support::export::{shared_records, Export, ExportServer};
use crate::support::{unreachable_url, Run, TestRepo};
use serde_json::{json, Value};

/// debug@4.4.2 is MAL-2025-46974 (the September 2025 compromise).
const MALWARE: (&str, &str) = ("debug", "4.4.2");
/// No record in ../shared/data/osv names these.
const CLEAN: (&str, &str) = ("left-pad", "1.3.0");

fn npm_records() -> Vec<Value> {
    shared_records(&["malicious/npm", "advisories/npm"])
}

fn update(repo: &TestRepo, export_url: &str, extra: &[&str]) -> Run {
    let mut args = vec!["db", "update", "--export-url", export_url];
    args.extend_from_slice(extra);
    repo.lockgate(&args)
}

/// An offline check whose OSV URL could not be reached anyway.
fn offline(repo: &TestRepo, extra: &[&str]) -> Run {
    let url = unreachable_url();
    let mut args = vec!["--offline", "--format", "json", "--osv-url", &url];
    args.extend_from_slice(extra);
    repo.lockgate(&args)
}

/// A copy of a shared record with a later `modified` and `edit` applied.
fn edited(records: &[Value], id: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut record = records
        .iter()
        .find(|record| record["id"] == id)
        .unwrap_or_else(|| panic!("{id} is among the shared records"))
        .clone();
    record["modified"] = json!("2026-11-30T12:00:00Z");
    edit(&mut record);
    record
}

#[test]
fn db_update_then_offline_check_blocks_malware_without_a_network() {
    let export = Export::new();
    export
        .publish("npm", &npm_records())
        .publish(
            "PyPI",
            &shared_records(&["malicious/pypi", "advisories/pypi"]),
        )
        .publish(
            "Packagist",
            &shared_records(&["malicious/packagist", "advisories/packagist"]),
        );
    let server = ExportServer::start(export.path());
    let repo = TestRepo::new();
    update(&repo, &server.url(), &[])
        .assert_success()
        .assert_stderr_contains("npm: built from the whole export")
        .assert_stderr_contains("PyPI: built from the whole export")
        .assert_stderr_contains("Packagist: built from the whole export");
    assert_eq!(
        server.requests(),
        ["npm/all.zip", "PyPI/all.zip", "Packagist/all.zip"]
    );

    repo.stage_npm_project("", &[MALWARE, CLEAN]);
    let run = offline(&repo, &[]);
    run.assert_code(1);
    assert_eq!(run.findings(), ["MAL-2025-46974 debug@4.4.2"]);
    let database = &run.stdout_json()["offline_databases"][0];
    assert_eq!(database["ecosystem"], "npm");
    assert_eq!(database["age_days"], 0);
    // Withdrawn records are not in the database: 276 + 32 npm files, 4 withdrawn.
    assert_eq!(database["records"], 303);

    let text = repo.lockgate(&["--offline"]);
    text.assert_code(1)
        .assert_stderr_contains("answered from the offline database of npm");
}

#[test]
fn a_later_update_fetches_only_the_changed_records() {
    let records = npm_records();
    let export = Export::new();
    export.publish("npm", &records);
    let server = ExportServer::start(export.path());
    let repo = TestRepo::new();
    update(&repo, &server.url(), &["--ecosystem", "npm"]).assert_success();
    repo.stage_npm_project("", &[("debug", "4.4.1")]);
    offline(&repo, &[]).assert_success();

    // Upstream: debug 4.4.1 is added to MAL-2025-46974, and MAL-2024-10301 (lottie-player) is
    // withdrawn.
    let mut changed = records.clone();
    let debug = edited(&records, "MAL-2025-46974", |record| {
        record["affected"][0]["versions"] = json!(["4.4.1", "4.4.2"]);
    });
    let withdrawn = edited(&records, "MAL-2024-10301", |record| {
        record["withdrawn"] = json!("2026-11-30T12:00:00Z");
    });
    changed.retain(|record| record["id"] != "MAL-2025-46974" && record["id"] != "MAL-2024-10301");
    changed.extend([debug, withdrawn]);
    export.publish("npm", &changed);

    let before = server.requests().len();
    update(&repo, &server.url(), &["--ecosystem", "npm"])
        .assert_success()
        .assert_stderr_contains("2 changed records fetched");
    let mut asked = server.requests()[before..].to_vec();
    asked.sort();
    assert_eq!(
        asked,
        [
            "npm/MAL-2024-10301.json",
            "npm/MAL-2025-46974.json",
            "npm/modified_id.csv"
        ]
    );

    let run = offline(&repo, &[]);
    run.assert_code(1);
    assert_eq!(run.findings(), ["MAL-2025-46974 debug@4.4.1"]);
    repo.stage_npm_project("", &[("@lottiefiles/lottie-player", "2.0.5")]);
    offline(&repo, &[]).assert_success();

    // Nothing new: only the list is read.
    let before = server.requests().len();
    update(&repo, &server.url(), &["--ecosystem", "npm"])
        .assert_success()
        .assert_stderr_contains("already up to date");
    assert_eq!(server.requests()[before..], ["npm/modified_id.csv"]);
}

#[test]
fn an_interrupted_download_leaves_the_old_database_working() {
    let records = npm_records();
    let export = Export::new();
    export.publish("npm", &records);
    let server = ExportServer::start(export.path());
    let repo = TestRepo::new();
    update(&repo, &server.url(), &["--ecosystem", "npm"]).assert_success();
    let pointer = repo.home().join(".cache/lockgate/db/npm/current");
    let version = std::fs::read_to_string(&pointer).unwrap();

    // Without the list the update needs the zip, whose download is cut half way.
    export.remove_list("npm");
    server.cut_zip_downloads();
    let failed = update(
        &repo,
        &server.url(),
        &["--ecosystem", "npm", "--retries", "0"],
    );
    failed
        .assert_code(2)
        .assert_stderr_contains("could not update the offline database");
    assert_eq!(std::fs::read_to_string(&pointer).unwrap(), version);

    repo.stage_npm_project("", &[MALWARE]);
    let run = offline(&repo, &[]);
    run.assert_code(1);
    assert_eq!(run.findings(), ["MAL-2025-46974 debug@4.4.2"]);
}

#[test]
fn an_ecosystem_without_data_is_unchecked_never_clean() {
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[CLEAN]);
    let run = offline(&repo, &[]);
    run.assert_code(2);
    assert_eq!(run.problem_kinds(), ["advisory-data-missing"]);
    let message = run.stdout_json()["problems"][0]["message"].clone();
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("lockgate db update --ecosystem npm"),
        "{message}"
    );
    offline(&repo, &["--fail-open"]).assert_success();
}

#[test]
fn an_old_database_is_named_and_warned_about() {
    let export = Export::new();
    export.publish("npm", &npm_records());
    let repo = TestRepo::new();
    update(&repo, &export.file_url(), &["--ecosystem", "npm"]).assert_success();
    let base = repo.home().join(".cache/lockgate/db/npm");
    let version = std::fs::read_to_string(base.join("current")).unwrap();
    let meta_path = base.join(version.trim()).join("meta.json");
    let mut meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    meta["updated"] = json!(now - 10 * 86_400);
    std::fs::write(&meta_path, meta.to_string()).unwrap();

    repo.stage_npm_project("", &[CLEAN]);
    let run = offline(&repo, &["--max-db-age", "7"]);
    run.assert_success();
    assert_eq!(run.problem_kinds(), ["advisory-data-stale"]);
    assert_eq!(run.stdout_json()["offline_databases"][0]["age_days"], 10);
    offline(&repo, &["--max-db-age", "30"]).assert_success();
    assert!(offline(&repo, &["--max-db-age", "30"])
        .problem_kinds()
        .is_empty());
}

#[test]
fn when_osv_is_unreachable_the_offline_policy_answers_from_the_database() {
    let export = Export::new();
    export.publish("npm", &npm_records());
    let repo = TestRepo::new();
    update(&repo, &export.file_url(), &["--ecosystem", "npm"]).assert_success();
    repo.stage_npm_project("", &[MALWARE]);
    let url = unreachable_url();
    let run = repo.lockgate(&[
        "--osv-url",
        &url,
        "--retries",
        "0",
        "--on-unreachable",
        "offline",
        "--format",
        "json",
    ]);
    run.assert_code(1);
    assert_eq!(run.findings(), ["MAL-2025-46974 debug@4.4.2"]);
    assert_eq!(run.problem_kinds(), ["advisory-source-unavailable"]);
    assert_eq!(run.stdout_json()["problems"][0]["blocking"], false);

    // The environment variable says the same (and, OSV having just failed, does not wait on
    // it again); warn allows without a check.
    repo.lockgate_command(&["--osv-url", &url, "--retries", "0"])
        .env("LOCKGATE_ON_UNREACHABLE", "offline")
        .run()
        .assert_code(1)
        .assert_stderr_contains("answered from the offline database without waiting");
    repo.lockgate(&[
        "--osv-url",
        &url,
        "--retries",
        "0",
        "--on-unreachable",
        "warn",
    ])
    .assert_success();
}

#[test]
fn after_osv_failed_the_offline_policy_goes_straight_to_the_database_for_a_while() {
    let export = Export::new();
    export.publish("npm", &npm_records());
    let repo = TestRepo::new();
    update(&repo, &export.file_url(), &["--ecosystem", "npm"]).assert_success();
    repo.stage_npm_project("", &[MALWARE]);
    let dead = unreachable_url();
    let offline_policy = [
        "--retries",
        "0",
        "--on-unreachable",
        "offline",
        "--no-cache",
    ];
    let mut args = vec!["--osv-url", dead.as_str()];
    args.extend_from_slice(&offline_policy);
    repo.lockgate(&args)
        .assert_code(1)
        .assert_stderr_contains("answered from the offline database instead");
    // OSV is back, but slow: the next runs do not wait on it, and say so in one line.
    let server = crate::support::OsvServer::builder()
        .delay(std::time::Duration::from_secs(2))
        .start();
    let url = server.url();
    let mut args = vec!["--osv-url", url.as_str()];
    args.extend_from_slice(&offline_policy);
    let started = std::time::Instant::now();
    repo.lockgate(&args)
        .assert_code(1)
        .assert_stderr_contains("s ago: answered from the offline database without waiting");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(server.request_count(), 0);
    // A run that reaches OSV ends that; then OSV is asked again.
    repo.lockgate(&["--osv-url", &url, "--no-cache"])
        .assert_code(1);
    repo.lockgate(&args).assert_code(1);
    assert_eq!(server.querybatch_request_count(), 2);
}

#[test]
fn always_offline_from_the_configuration_or_the_environment() {
    let export = Export::new();
    export.publish("npm", &npm_records());
    let repo = TestRepo::new();
    update(&repo, &export.file_url(), &["--ecosystem", "npm"]).assert_success();
    repo.stage_npm_project("", &[MALWARE]);
    let server = crate::support::OsvServer::start();
    let url = server.url();
    repo.write(".lockgate.toml", "offline = true\n");
    repo.lockgate(&["--osv-url", &url, "--format", "json"])
        .assert_code(1)
        .stdout_json()["offline_databases"][0]["ecosystem"]
        .as_str()
        .map(|ecosystem| assert_eq!(ecosystem, "npm"))
        .expect("an offline database answered");
    repo.write(".lockgate.toml", "");
    repo.lockgate_command(&["--osv-url", &url])
        .env("LOCKGATE_OFFLINE", "1")
        .run()
        .assert_code(1)
        .assert_stderr_contains("answered from the offline database of npm");
    assert_eq!(server.request_count(), 0);
    // The flag wins over the file.
    repo.write(".lockgate.toml", "offline = true\n");
    repo.lockgate(&["--osv-url", &url, "--offline=false"])
        .assert_code(1);
    assert_eq!(server.querybatch_request_count(), 1);
}

mod cache {
    //! The result cache of the online path.

    use super::MALWARE;
    use crate::support::{OsvServer, Run, TestRepo};

    fn check(repo: &TestRepo, server: &OsvServer, extra: &[&str]) -> Run {
        let url = server.url();
        let mut args = vec!["--all", "--osv-url", &url];
        args.extend_from_slice(extra);
        repo.lockgate(&args)
    }

    fn cache_files(repo: &TestRepo, kind: &str) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        let mut folders = vec![repo.home().join(".cache/lockgate/results").join(kind)];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
                if entry.path().is_dir() {
                    folders.push(entry.path());
                } else {
                    files.push(entry.path());
                }
            }
        }
        files
    }

    #[test]
    fn a_second_identical_run_asks_nothing() {
        let server = OsvServer::start();
        let repo = TestRepo::new();
        repo.stage_npm_project("", &[MALWARE, ("left-pad", "1.3.0")]);
        check(&repo, &server, &[]).assert_code(1);
        let asked = server.request_count();
        assert_eq!(asked, 2, "one querybatch and one record");
        check(&repo, &server, &[])
            .assert_code(1)
            .assert_stderr_contains("MAL-2025-46974");
        assert_eq!(server.request_count(), asked);
        // --no-cache asks again.
        check(&repo, &server, &["--no-cache"]).assert_code(1);
        assert_eq!(server.request_count(), asked + 2);
    }

    #[test]
    fn answers_expire_records_are_kept_by_modified() {
        let server = OsvServer::start();
        let repo = TestRepo::new();
        repo.stage_npm_project("", &[MALWARE]);
        check(&repo, &server, &[]).assert_code(1);
        // A TTL of 0 minutes: the answer is stale, so OSV is asked again, but the record it
        // names has the same `modified` and is not fetched again.
        check(&repo, &server, &["--cache-ttl", "0"])
            .assert_code(1)
            .assert_stderr_contains("MAL-2025-46974");
        assert_eq!(server.querybatch_request_count(), 2);
        assert_eq!(server.fetched_vuln_ids(), ["MAL-2025-46974"]);
    }

    #[test]
    fn a_corrupt_cache_file_is_discarded_not_trusted() {
        let server = OsvServer::start();
        let repo = TestRepo::new();
        repo.stage_npm_project("", &[MALWARE]);
        check(&repo, &server, &[]).assert_code(1);
        let queries = cache_files(&repo, "queries");
        let records = cache_files(&repo, "records");
        assert_eq!((queries.len(), records.len()), (1, 1));
        // A truncated answer that would read as "no advisories", and a record of garbage.
        std::fs::write(
            &queries[0],
            r#"{"format": 1, "ecosystem": "npm", "hits": ["#,
        )
        .unwrap();
        std::fs::write(&records[0], "\u{1b}[2J not json").unwrap();
        check(&repo, &server, &[])
            .assert_code(1)
            .assert_stderr_contains("MAL-2025-46974");
        assert_eq!(server.request_count(), 4, "both asked again");
        let rewritten: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&queries[0]).unwrap()).unwrap();
        assert_eq!(rewritten["hits"][0]["id"], "MAL-2025-46974");
    }

    #[test]
    fn two_runs_at_once_share_the_cache_safely() {
        let server = OsvServer::builder()
            .delay(std::time::Duration::from_millis(200))
            .start();
        let repo = TestRepo::new();
        repo.stage_npm_project(
            "",
            &[MALWARE, ("left-pad", "1.3.0"), ("is-number", "7.0.0")],
        );
        let (first, second) = std::thread::scope(|scope| {
            let first = scope.spawn(|| check(&repo, &server, &[]));
            let second = scope.spawn(|| check(&repo, &server, &[]));
            (first.join().unwrap(), second.join().unwrap())
        });
        first
            .assert_code(1)
            .assert_stderr_contains("MAL-2025-46974");
        second
            .assert_code(1)
            .assert_stderr_contains("MAL-2025-46974");
        // Whatever the interleaving, every file left is whole and a third run asks nothing.
        for file in cache_files(&repo, "queries")
            .iter()
            .chain(&cache_files(&repo, "records"))
        {
            let text = std::fs::read(file).unwrap();
            serde_json::from_slice::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        }
        let asked = server.request_count();
        check(&repo, &server, &[]).assert_code(1);
        assert_eq!(server.request_count(), asked);
    }
}

#[test]
fn the_readme_demo_blocks_offline() {
    // The README's first set-up command, step by step: the export shipped in the repository,
    // loaded with a file:// URL, then an offline check of the demo lockfile.
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo");
    let repo = TestRepo::new();
    let url = format!("file://{}", demo.join("osv").display());
    update(&repo, &url, &["--ecosystem", "npm"]).assert_success();
    for file in ["package.json", "package-lock.json"] {
        repo.write_and_stage(file, std::fs::read(demo.join(file)).unwrap());
    }
    repo.lockgate(&["--offline"])
        .assert_code(1)
        .assert_stderr_contains("debug@4.4.2 is MALWARE")
        .assert_stderr_contains("MAL-2025-46974");
}
