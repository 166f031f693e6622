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

/// Each way a check can fail to run, set up in a fresh repository: (what, the exit code, the
/// problem kind the report must carry, its path).
type Failure = (&'static str, i32, &'static str, &'static str);

fn failures() -> Vec<Failure> {
    vec![
        (
            "unparsable lockfile",
            2,
            "lockfile-unreadable",
            "package-lock.json",
        ),
        // The configuration may live outside the repository: its path is absolute.
        (
            "unreadable configuration",
            2,
            "could-not-check",
            "/.lockgate.toml",
        ),
        ("not a repository", 2, "could-not-check", "."),
        ("OSV unreachable", 2, "advisory-source-unavailable", ""),
        ("malware", 1, "", ""),
    ]
}

/// Runs the failure `what` with `--format format`.
fn fail(what: &str, format: &str) -> Run {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[("debug", "4.4.2")]);
    let mut url = server.url();
    let mut folder = ".";
    match what {
        "unparsable lockfile" => {
            repo.write_and_stage("package-lock.json", "{\"lockfileVersion\": 3,\n");
        }
        "unreadable configuration" => {
            repo.write(".lockgate.toml", "fail-on = \"high\"\nno-such-key = 1\n");
        }
        "not a repository" => folder = "..",
        "OSV unreachable" => url = crate::support::unreachable_url(),
        _ => {}
    }
    repo.lockgate_command(&["--osv-url", &url, "--retries", "0", "--format", format])
        .current_dir(folder)
        .run()
}

#[test]
fn json_and_sarif_are_whole_and_valid_in_every_failure_mode() {
    let report_schema = crate::support::schemas::report_validator();
    let sarif_schema = crate::support::schemas::sarif_validator();
    for (what, code, kind, path) in failures() {
        let json = fail(what, "json");
        json.assert_code(code);
        let report = json.stdout_json();
        crate::support::schemas::assert_valid(&report_schema, &report);
        assert_eq!(report["blocked"], true, "{what}");
        let sarif_run = fail(what, "sarif");
        sarif_run.assert_code(code);
        let sarif = sarif_run.stdout_json();
        crate::support::schemas::assert_valid(&sarif_schema, &sarif);
        let results = sarif["runs"][0]["results"].as_array().unwrap().clone();
        assert!(!results.is_empty(), "{what}");
        if kind.is_empty() {
            continue;
        }
        // The JSON report carries the failure as a blocking problem at its file.
        let problem = report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|problem| problem["kind"] == kind)
            .unwrap_or_else(|| panic!("{what}: no {kind} problem\n{}", json.output()))
            .clone();
        assert_eq!(problem["blocking"], true, "{what}");
        let reported = problem["path"].as_str().unwrap();
        match path {
            "" => {}
            absolute if absolute.starts_with('/') => {
                assert!(reported.ends_with(absolute), "{what}: {reported}")
            }
            relative => assert_eq!(reported, relative, "{what}"),
        }
        // A check that could not run at all still says why on stderr, for a person.
        if kind == "could-not-check" {
            json.assert_stderr_contains("lockgate: error: ");
        }
        // SARIF: an error result, located at a file of the repository or nowhere.
        let result = results
            .iter()
            .find(|result| result["ruleId"] == format!("lockgate/{kind}"))
            .unwrap_or_else(|| panic!("{what}: no {kind} result\n{}", sarif_run.output()));
        assert_eq!(result["level"], "error", "{what}");
        let location = &result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
        if path.is_empty() || path == "." || path.starts_with('/') {
            assert!(location.is_null(), "{what}: {location}");
        } else {
            assert_eq!(location, path, "{what}");
        }
    }
    // And the validator refuses what is not the report.
    assert!(!report_schema.is_valid(&serde_json::json!({"version": 1, "findings": "none"})));
}

/// cookie 0.6.0 has a low-severity advisory (GHSA-pxg6-pf52-xh8x) in ../shared/data/osv.
const LOW: (&str, &str) = ("cookie", "0.6.0");

#[test]
fn the_closing_line_never_says_clean_when_something_was_ignored_or_not_checked() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[LOW, ("left-pad", "1.3.0")]);
    let url = server.url();
    let run = |extra: &[&str]| {
        let mut args = vec!["--osv-url", url.as_str()];
        args.extend_from_slice(extra);
        repo.lockgate(&args)
    };
    // Reported below the threshold.
    run(&[])
        .assert_code(0)
        .assert_stderr_contains("allowed: 2 packages checked; 1 known vulnerability reported");
    // Ignored: counted as such, not "no known malware or vulnerabilities".
    repo.write(
        ".lockgate.toml",
        "[[ignore]]\nid = \"GHSA-pxg6-pf52-xh8x\"\nreason = \"not reachable\"\n",
    );
    let ignored = run(&[]);
    ignored
        .assert_code(0)
        .assert_stderr_contains("2 packages checked; 1 advisory ignored by the configuration");
    assert!(
        !ignored.stderr.contains("no known malware"),
        "{}",
        ignored.output()
    );
    // Not checked at all: none counted as checked.
    let dead = crate::support::unreachable_url();
    // (--no-cache: the answers of the runs above are in the result cache.)
    let failing_open = |extra: &[&str]| {
        let mut args = vec![
            "--osv-url",
            dead.as_str(),
            "--retries",
            "0",
            "--fail-open",
            "--no-cache",
        ];
        args.extend_from_slice(extra);
        repo.lockgate(&args)
    };
    failing_open(&[])
        .assert_code(0)
        .assert_stderr_contains("allowed WITHOUT an advisory check of 2 packages");
    let json = failing_open(&["--format", "json"]);
    assert_eq!(json.stdout_json()["checked"], 0);
    assert_eq!(json.stdout_json()["unchecked"], 2);
}

#[test]
fn an_ignore_is_unused_only_after_a_whole_answer() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", &[("left-pad", "1.3.0")]);
    repo.write(
        ".lockgate.toml",
        "[[ignore]]\nid = \"GHSA-pxg6-pf52-xh8x\"\nreason = \"not reachable\"\n",
    );
    let url = server.url();
    repo.lockgate(&["--all", "--osv-url", &url])
        .assert_code(0)
        .assert_stderr_contains("matched no advisory");
    // Without an answer nothing can be said of the ignore.
    let dead = crate::support::unreachable_url();
    let run = repo.lockgate(&[
        "--all",
        "--osv-url",
        &dead,
        "--retries",
        "0",
        "--fail-open",
        "--no-cache",
    ]);
    run.assert_code(0);
    assert!(
        !run.stderr.contains("matched no advisory"),
        "{}",
        run.output()
    );
}

#[test]
fn db_update_failures_say_why() {
    let repo = TestRepo::new();
    let update = |url: &str, cache: &str| {
        repo.lockgate(&[
            "db",
            "update",
            "--export-url",
            url,
            "--ecosystem",
            "npm",
            "--retries",
            "0",
            "--cache-dir",
            cache,
        ])
    };
    let cache = repo.root().join("cache");
    let cache = cache.to_str().unwrap();
    // No connection.
    update(&crate::support::unreachable_url(), cache)
        .assert_code(2)
        .assert_stderr_contains("Connection refused");
    // An HTTP status.
    let server = OsvServer::builder()
        .fail_always(crate::support::Fault::Status(503))
        .start();
    update(&server.url(), cache)
        .assert_code(2)
        .assert_stderr_contains("HTTP 503");
    // The disk: the cache folder cannot be made (a file stands in its way).
    repo.write("not-a-folder", "x");
    let blocked = repo.path().join("not-a-folder/cache");
    let demo = format!(
        "file://{}/tests/fixtures/demo/osv",
        env!("CARGO_MANIFEST_DIR")
    );
    let run = update(&demo, blocked.to_str().unwrap());
    run.assert_code(2).assert_stderr_contains("Not a directory");
    // Each cause is said once.
    assert_eq!(
        run.stderr.matches("Not a directory").count(),
        1,
        "{}",
        run.output()
    );
}

#[test]
fn malware_deep_in_the_tree_shows_the_chain_that_brings_it_in() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage(
        "package.json",
        r#"{"name": "app", "version": "1.0.0", "dependencies": {"express": "4.18.2"}}"#,
    );
    let lock = serde_json::json!({"name": "app", "lockfileVersion": 3, "requires": true,
    "packages": {
        "": {"name": "app", "version": "1.0.0", "dependencies": {"express": "4.18.2"}},
        "node_modules/express": {"version": "4.18.2",
            "dependencies": {"body-parser": "1.20.1"}},
        "node_modules/body-parser": {"version": "1.20.1", "dependencies": {"debug": "4.4.2"}},
        "node_modules/body-parser/node_modules/debug": {"version": "4.4.2"}
    }});
    repo.write_and_stage("package-lock.json", lock.to_string());
    let url = server.url();
    repo.lockgate(&["--osv-url", &url])
        .assert_code(1)
        .assert_stderr_contains("brought in by: express@4.18.2 > body-parser@1.20.1 > debug@4.4.2");
    let run = run_json(&repo, &server, &[]);
    assert_eq!(
        run.stdout_json()["findings"][0]["dependency_path"],
        serde_json::json!(["express@4.18.2", "body-parser@1.20.1", "debug@4.4.2"])
    );
}

#[test]
fn the_chain_is_shown_for_every_format_that_records_edges() {
    // pnpm 9 records edges under `snapshots`, poetry under `[package.dependencies]`: the same
    // chain from the project's dependency to the malware, whatever the format.
    let server = OsvServer::start();
    let url = server.url();
    let pnpm = TestRepo::new();
    pnpm.write_and_stage(
        "package.json",
        r#"{"name": "app", "version": "1.0.0", "dependencies": {"express": "4.18.2"}}"#,
    )
    .write_and_stage(
        "pnpm-lock.yaml",
        "lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n      express:\n        \
         specifier: 4.18.2\n        version: 4.18.2\n\npackages:\n\n  body-parser@1.20.1:\n    \
         resolution: {integrity: sha512-b}\n\n  debug@4.4.2:\n    resolution: {integrity: \
         sha512-d}\n\n  express@4.18.2:\n    resolution: {integrity: sha512-e}\n\nsnapshots:\n\n  \
         body-parser@1.20.1:\n    dependencies:\n      debug: 4.4.2\n\n  debug@4.4.2: {}\n\n  \
         express@4.18.2:\n    dependencies:\n      body-parser: 1.20.1\n",
    );
    let run = run_json(&pnpm, &server, &[]);
    run.assert_code(1);
    let finding = &run.stdout_json()["findings"][0];
    assert_eq!(finding["id"], "MAL-2025-46974", "{}", run.output());
    assert_eq!(
        finding["dependency_path"],
        serde_json::json!(["express@4.18.2", "body-parser@1.20.1", "debug@4.4.2"])
    );
    assert_eq!(finding["line"], 16, "{}", run.output());

    let poetry = TestRepo::new();
    poetry.write_and_stage(
        "poetry.lock",
        "[[package]]\nname = \"plotting\"\nversion = \"1.0.0\"\noptional = false\n\n\
         [package.dependencies]\nreq-matplotlib = \">=11\"\n\n[[package]]\nname = \
         \"req-matplotlib\"\nversion = \"11.2.18\"\noptional = false\n",
    );
    poetry
        .lockgate(&["--osv-url", &url])
        .assert_code(1)
        .assert_stderr_contains("brought in by: plotting@1.0.0 > req-matplotlib@11.2.18");
}

#[test]
fn one_order_whatever_answered_network_cache_or_offline_database() {
    use crate::support::export::{shared_records, Export};
    let export = Export::new();
    export.publish("npm", &shared_records(&["malicious/npm", "advisories/npm"]));
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let packages = [
        ("minimist", "1.2.5"),
        ("debug", "4.4.2"),
        ("cookie", "0.6.0"),
        ("tough-cookie", "4.1.2"),
    ];
    repo.stage_npm_project("web", &packages);
    repo.stage_npm_project("api", &packages[1..]);
    repo.stage_npm_project("", &packages[..2]);
    repo.lockgate(&[
        "db",
        "update",
        "--export-url",
        &export.file_url(),
        "--ecosystem",
        "npm",
    ])
    .assert_success();
    let url = server.url();
    // Findings and their order, without what says where the answer came from.
    let lines = |extra: &[&str]| {
        let mut args = vec!["--osv-url", url.as_str(), "--all"];
        args.extend_from_slice(extra);
        let run = repo.lockgate(&args);
        run.assert_code(1);
        run.stderr
            .lines()
            .filter(|line| !line.contains("offline database") && !line.contains("BLOCKED"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let network = lines(&["--no-cache"]);
    let cold = lines(&[]);
    let cached = lines(&[]);
    let offline = lines(&["--offline"]);
    assert!(network.len() > 8, "{network:#?}");
    assert_eq!(network, cold);
    assert_eq!(network, cached);
    assert_eq!(network, offline);
    // Malware first, then by lockfile and package.
    let heads: Vec<&String> = network
        .iter()
        .filter(|line| line.starts_with("lockgate: "))
        .collect();
    assert!(heads[0].contains("is MALWARE"), "{heads:#?}");
}

#[test]
fn every_unreadable_file_is_named_not_only_the_first() {
    // Merge-conflict markers in both a manifest and its lockfile, and a second project's
    // broken lockfile: each is reported at its line, and the run is exit 2 (not checked).
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let conflicted = |a: &str, b: &str| {
        format!("{{\n<<<<<<< HEAD\n{a}\n=======\n{b}\n>>>>>>> other\n\"version\": \"1.0.0\"}}\n")
    };
    repo.write_and_stage(
        "package.json",
        conflicted("\"name\": \"a\",", "\"name\": \"b\","),
    )
    .write_and_stage(
        "package-lock.json",
        conflicted("\"lockfileVersion\": 3,", "\"lockfileVersion\": 2,"),
    );
    repo.stage_npm_project("web", &[("left-pad", "1.3.0")]);
    repo.write_and_stage("api/package-lock.json", "{\"lockfileVersion\": 3,\n");
    let url = server.url();
    for args in [&[][..], &["--all"][..]] {
        let mut all = vec!["--osv-url", url.as_str()];
        all.extend_from_slice(args);
        let text = repo.lockgate(&all);
        text.assert_code(2)
            .assert_stderr_contains("package-lock.json:2:1: merge-conflict marker")
            .assert_stderr_contains("package.json: not valid package.json")
            .assert_stderr_contains("api/package-lock.json:2: the file ends too early")
            .assert_stderr_contains("BLOCKED: 2 lockfiles could not be read, so not checked");
        // The lockfile that can be read is still checked.
        all.extend_from_slice(&["--format", "json"]);
        let report = repo.lockgate(&all).stdout_json();
        assert_eq!(
            report["lockfiles"],
            serde_json::json!(["web/package-lock.json"])
        );
        let mut unreadable: Vec<&str> = report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|problem| problem["kind"] == "lockfile-unreadable")
            .map(|problem| problem["path"].as_str().unwrap())
            .collect();
        unreadable.sort_unstable();
        assert_eq!(
            unreadable,
            ["api/package-lock.json", "package-lock.json"],
            "{args:?}"
        );
    }
}
