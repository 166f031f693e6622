//! `lockgate watch` end to end: real repositories (a working tree, a bare mirror), an OSV export
//! on 127.0.0.1 with real records, records published, widened and withdrawn between cycles.

use crate::support::export::{shared_records, Export, ExportServer};
use crate::support::{Run, TestRepo};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// debug@4.4.2 is MAL-2025-46974 (the September 2025 compromise).
const RECORD: &str = "MAL-2025-46974";

fn npm_records() -> Vec<Value> {
    shared_records(&["malicious/npm", "advisories/npm"])
}

/// The shared records without `RECORD`: the feed before it was published.
fn before_publication() -> Vec<Value> {
    let mut records = npm_records();
    records.retain(|record| record["id"] != RECORD);
    records
}

/// `RECORD` as published now (a `modified` later than every shared record's), with `edit`.
fn published(edit: impl FnOnce(&mut Value)) -> Value {
    let mut record = npm_records()
        .into_iter()
        .find(|record| record["id"] == RECORD)
        .expect("the shared records hold MAL-2025-46974");
    record["modified"] = json!("2026-12-01T08:00:00Z");
    edit(&mut record);
    record
}

/// Someone who runs `lockgate watch`: a folder for its database, its state and its list.
struct Watcher {
    operator: TestRepo,
    server: ExportServer,
    export: Export,
    repositories: Vec<String>,
}

impl Watcher {
    fn new(records: &[Value], repositories: &[&std::path::Path]) -> Watcher {
        let export = Export::new();
        export.publish("npm", records);
        let server = ExportServer::start(export.path());
        let operator = TestRepo::new();
        let list: String = repositories
            .iter()
            .map(|path| format!("{}\n", path.display()))
            .collect();
        std::fs::write(
            operator.root().join("repos.txt"),
            format!("# watched\n{list}"),
        )
        .unwrap();
        Watcher {
            operator,
            server,
            export,
            repositories: repositories
                .iter()
                .map(|path| path.display().to_string())
                .collect(),
        }
    }

    /// One `lockgate watch` of the listed repositories, as JSON unless `extra` says otherwise.
    fn watch(&self, extra: &[&str]) -> Run {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(extra);
        self.watch_as(&all)
    }

    /// One `lockgate watch` of the listed repositories with `extra` (a later `--format` wins).
    fn watch_as(&self, extra: &[&str]) -> Run {
        let root = self.operator.root();
        let cache = root.join("cache").display().to_string();
        let state = root.join("state").display().to_string();
        let list = root.join("repos.txt").display().to_string();
        let url = self.server.url();
        let mut args = vec![
            "watch",
            "--repos",
            &list,
            "--state",
            &state,
            "--cache-dir",
            &cache,
            "--export-url",
            &url,
            "--ecosystem",
            "npm",
        ];
        args.extend_from_slice(extra);
        self.operator.lockgate(&args)
    }

    fn publish(&self, records: &[Value]) {
        self.export.publish("npm", records);
    }
}

/// The matches of a JSON cycle as `id repository branch lockfile name@version`.
fn matches(run: &Run) -> BTreeSet<String> {
    run.stdout_json()["matches"]
        .as_array()
        .expect("matches is an array")
        .iter()
        .map(|found| {
            format!(
                "{} {} {} {} {}@{}",
                found["id"].as_str().unwrap(),
                found["repository"].as_str().unwrap(),
                found["branch"].as_str().unwrap(),
                found["lockfile"].as_str().unwrap(),
                found["package"]["name"].as_str().unwrap(),
                found["package"]["version"].as_str().unwrap(),
            )
        })
        .collect()
}

/// Three repositories: `app` locks debug@4.4.2 on main; `lib` (watched as a bare mirror) locks
/// it only on its `feature` branch; `site` locks neither.
fn three_repositories() -> (TestRepo, TestRepo, TestRepo, std::path::PathBuf) {
    let app = TestRepo::new();
    app.stage_npm_project("web", &[("debug", "4.4.2"), ("left-pad", "1.3.0")]);
    app.commit("app");
    let lib = TestRepo::new();
    lib.stage_npm_project("", &[("left-pad", "1.3.0")]);
    lib.commit("lib");
    lib.git(&["checkout", "-q", "-b", "feature"])
        .assert_success();
    lib.stage_npm_project("", &[("debug", "4.4.2")]);
    lib.commit("feature");
    lib.git(&["checkout", "-q", "main"]).assert_success();
    let mirror = lib.root().join("lib.git");
    lib.git(&["clone", "-q", "--mirror", ".", mirror.to_str().unwrap()])
        .assert_success();
    let site = TestRepo::new();
    site.stage_npm_project("", &[("left-pad", "1.3.0")]);
    site.commit("site");
    (app, lib, site, mirror)
}

#[test]
fn a_new_record_is_reported_where_it_is_locked_then_not_again_and_not_once_withdrawn() {
    let (app, _lib, site, mirror) = three_repositories();
    let watcher = Watcher::new(&before_publication(), &[app.path(), &mirror, site.path()]);

    // The first cycle indexes every tip and matches every record: nothing is locked yet.
    let first = watcher.watch(&[]);
    first.assert_code(0);
    assert_eq!(matches(&first), BTreeSet::new());
    assert_eq!(first.stdout_json()["branch_tips"], 4);

    // The record is published: exactly the two tips that lock the version, with the path.
    let mut records = before_publication();
    records.push(published(|_| {}));
    watcher.publish(&records);
    let before = watcher.server.requests().len();
    let run = watcher.watch(&[]);
    run.assert_code(1)
        .assert_stderr_contains("1 changed records");
    let app_name = &watcher.repositories[0];
    let mirror_name = &watcher.repositories[1];
    assert_eq!(
        matches(&run),
        BTreeSet::from([
            format!("{RECORD} {app_name} refs/heads/main web/package-lock.json debug@4.4.2"),
            format!("{RECORD} {mirror_name} refs/heads/feature package-lock.json debug@4.4.2"),
        ])
    );
    let found = &run.stdout_json()["matches"][0];
    assert_eq!(found["malicious"], true);
    assert_eq!(found["dependency_path"], json!(["debug@4.4.2"]));
    assert_eq!(run.stdout_json()["branch_tips_moved"], 0, "no tip moved");
    // Only the list and the one changed record were fetched.
    let mut asked = watcher.server.requests()[before..].to_vec();
    asked.sort();
    asked.dedup();
    assert_eq!(asked, ["npm/MAL-2025-46974.json", "npm/modified_id.csv"]);

    // The next cycle: nothing new.
    watcher.watch(&[]).assert_code(0);
    assert_eq!(matches(&watcher.watch(&[])), BTreeSet::new());

    // `--since` replays the window, reporting again.
    let replay = watcher.watch(&["--since", "2026-11-30"]);
    replay.assert_code(1);
    assert_eq!(matches(&replay).len(), 2);

    // Withdrawn: it stops matching, and says so.
    records.pop();
    records.push(published(|record| {
        record["modified"] = json!("2026-12-02T08:00:00Z");
        record["withdrawn"] = json!("2026-12-02T08:00:00Z");
    }));
    watcher.publish(&records);
    let run = watcher.watch(&[]);
    run.assert_code(0);
    assert_eq!(run.stdout_json()["withdrawn"], json!([RECORD]));
    assert_eq!(matches(&run), BTreeSet::new());
}

#[test]
fn a_moved_tip_is_read_again_and_nothing_else_is() {
    let (app, _lib, site, mirror) = three_repositories();
    let watcher = Watcher::new(&npm_records(), &[app.path(), &mirror, site.path()]);
    let first = watcher.watch(&[]);
    first.assert_code(1);
    assert_eq!(
        matches(&first).len(),
        2,
        "the known record, at its two tips"
    );
    watcher.watch(&[]).assert_code(0);

    // site now locks the malicious version too: only its tip is read, and only it is reported.
    site.stage_npm_project("", &[("debug", "4.4.2"), ("is-number", "7.0.0")]);
    site.commit("debug");
    let run = watcher.watch(&[]);
    run.assert_code(1);
    let site_name = &watcher.repositories[2];
    assert_eq!(
        matches(&run),
        BTreeSet::from([format!(
            "{RECORD} {site_name} refs/heads/main package-lock.json debug@4.4.2"
        )])
    );
    assert_eq!(run.stdout_json()["branch_tips_moved"], 1);
    assert_eq!(run.stdout_json()["lockfiles_indexed"], 1);

    // A tip that moves back to a lockfile already indexed reads nothing new.
    site.stage_npm_project("", &[("left-pad", "1.3.0")]);
    site.commit("clean again");
    let run = watcher.watch(&[]);
    run.assert_code(0);
    assert_eq!(run.stdout_json()["lockfiles_indexed"], 0);
}

#[test]
fn text_and_sarif_reports_and_the_interval_log() {
    let (app, _lib, site, mirror) = three_repositories();
    let watcher = Watcher::new(&npm_records(), &[app.path(), &mirror, site.path()]);
    let sarif = watcher.watch_as(&["--format", "sarif", "--since", "2000-01-01"]);
    sarif.assert_code(1);
    let log = sarif.stdout_json();
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 2);
    assert_eq!(log["runs"][0]["results"][0]["ruleId"], RECORD);

    let text = watcher.watch_as(&["--since", "2000-01-01", "--interval", "1", "--cycles", "2"]);
    text.assert_code(1)
        .assert_stderr_contains(&format!("MALWARE {RECORD}: npm debug@4.4.2 is locked by"));
    let cycles = text
        .stderr
        .lines()
        .filter(|line| line.starts_with("lockgate watch: "))
        .count();
    assert_eq!(cycles, 2, "{}", text.stderr);
}

#[test]
fn bad_input_is_a_clear_error() {
    let watcher = Watcher::new(&npm_records(), &[std::path::Path::new("/nonexistent/repo")]);
    // A repository that cannot be opened is named, and the others are still watched.
    let run = watcher.watch(&[]);
    run.assert_code(0);
    assert!(run.stdout_json()["problems"][0]
        .as_str()
        .unwrap()
        .contains("/nonexistent/repo"));
    let run = watcher
        .operator
        .lockgate(&["watch", "--since", "yesterday", "x"]);
    run.assert_code(2).assert_stderr_contains("is not a date");
    let run = watcher.operator.lockgate(&["watch"]);
    run.assert_code(2)
        .assert_stderr_contains("no repository named");
}
