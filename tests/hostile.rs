//! Hostile input and faults, end to end: lockfiles written to hurt the machine or to slip past
//! the check, answers from a misbehaving OSV, and a run that must end in time. Each test is a
//! case of the fault matrix in RELIABILITY.md.

use crate::support::{package_json_matching, Fault, OsvServer, Run, TestRepo};
use std::time::{Duration, Instant};

/// Nine levels of nine aliases each: 9^9 copies of the innermost list once expanded.
fn yaml_bomb(indent: &str) -> String {
    let mut text = format!("{indent}a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for level in 1u8..9 {
        let previous = (b'a' + level - 1) as char;
        let name = (b'a' + level) as char;
        let aliases = vec![format!("*{previous}"); 9].join(",");
        text.push_str(&format!("{indent}{name}: &{name} [{aliases}]\n"));
    }
    text
}

#[test]
fn yaml_alias_bombs_are_refused_fast_and_small() {
    // pnpm-lock.yaml and berry's yarn.lock, staged and with --all: (file, text, where).
    let pnpm = format!(
        "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies: {{}}\npackages:\n{}",
        yaml_bomb("  ")
    );
    assert!(pnpm.len() < 1024, "the bomb is {} bytes", pnpm.len());
    let berry = format!(
        "__metadata:\n  version: 8\n  cacheKey: 10c0\n\n\"debug@npm:^4.4.2\":\n  version: \
         4.4.2\n{}",
        yaml_bomb("  ")
    );
    for (file, text, at) in [
        ("pnpm-lock.yaml", pnpm, "pnpm-lock.yaml:7:"),
        ("yarn.lock", berry, "yarn.lock:8:"),
    ] {
        let server = OsvServer::start();
        let repo = TestRepo::new();
        repo.write_and_stage("package.json", r#"{"name": "bomb", "version": "1.0.0"}"#)
            .write_and_stage(file, &text);
        let url = server.url();
        for args in [&[][..], &["--all"][..]] {
            let mut all = vec!["--osv-url", url.as_str()];
            all.extend_from_slice(args);
            repo.lockgate_limited(&all, 1)
                .assert_code(2)
                .assert_stderr_contains(at)
                .assert_stderr_contains("YAML aliases");
        }
        assert_eq!(server.request_count(), 0);
    }
}

#[test]
fn deeply_nested_lockfiles_are_refused_not_overflowed() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let deep_yaml = format!(
        "lockfileVersion: '9.0'\npackages: {}1{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_json = format!(
        "{{\"lockfileVersion\": 3, \"packages\": {}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_toml = format!(
        "version = 1\n[[package]]\nname = \"x\"\nversion = \"1\"\nextra = {}1{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    for (path, text) in [
        ("pnpm-lock.yaml", deep_yaml),
        ("package-lock.json", deep_json),
        ("uv.lock", deep_toml),
    ] {
        repo.write_and_stage(path, &text);
        let run = repo.lockgate_limited(&["--osv-url", &server.url()], 2);
        run.assert_code(2).assert_stderr_contains(path);
        repo.remove_and_stage(path);
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn the_memory_limit_leaves_room_for_an_ordinary_run() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let packages = [("left-pad", "1.3.0")];
    repo.stage_npm_project("", &packages);
    repo.lockgate_limited(&["--osv-url", &server.url()], 5)
        .assert_code(0);
}

/// Runs the binary against `server`, with the JSON report.
fn run_json(repo: &TestRepo, server: &OsvServer, extra: &[&str]) -> Run {
    let url = server.url();
    let mut args = vec!["--osv-url", url.as_str(), "--format", "json"];
    args.extend_from_slice(extra);
    repo.lockgate(&args)
}

/// Runs the binary against `server`, with the text report.
fn run_text(repo: &TestRepo, server: &OsvServer, extra: &[&str]) -> Run {
    let url = server.url();
    let mut args = vec!["--osv-url", url.as_str()];
    args.extend_from_slice(extra);
    repo.lockgate(&args)
}

/// A package-lock.json (v3, no `resolved`, as npm writes with registry URLs turned off) that
/// locks debug at `version` exactly as given.
fn npm_lock_spelling(version: &str) -> String {
    serde_json::json!({
        "name": "app", "lockfileVersion": 3, "requires": true,
        "packages": {
            "": {"name": "app", "dependencies": {"debug": "^4.4.2"}},
            "node_modules/debug": {"version": version}
        }
    })
    .to_string()
}

/// Stages an npm project locking debug at `spelling` and checks it (JSON report).
fn check_spelling(spelling: &str) -> (OsvServer, Run) {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("package.json", package_json_matching(&[("debug", "4.4.2")]))
        .write_and_stage("package-lock.json", npm_lock_spelling(spelling));
    let run = run_json(&repo, &server, &[]);
    (server, run)
}

#[test]
fn npm_versions_are_read_as_npm_reads_them_before_osv_is_asked() {
    // npm cleans each of these to 4.4.2, the release of MAL-2025-46974, and installs it.
    for spelling in [
        " 4.4.2",
        "4.4.2\n",
        "\t4.4.2\t",
        "v4.4.2",
        "=v4.4.2",
        "04.4.2",
    ] {
        let (server, run) = check_spelling(spelling);
        run.assert_code(1);
        assert_eq!(
            run.findings(),
            ["MAL-2025-46974 debug@4.4.2"],
            "{spelling:?}"
        );
        assert_eq!(server.queried(), ["npm:debug@4.4.2"], "{spelling:?}");
        assert_eq!(run.stdout_json()["checked"], 1, "{spelling:?}");
    }
}

#[test]
fn a_version_npm_cannot_read_is_a_blocking_problem_not_a_skip() {
    for spelling in ["4.4.2:x", "4.4.2/x", "latest", "4.4"] {
        let (_server, run) = check_spelling(spelling);
        run.assert_code(1);
        let problems = run.stdout_json()["problems"].clone();
        let unreadable: Vec<&serde_json::Value> = problems
            .as_array()
            .unwrap()
            .iter()
            .filter(|problem| problem["kind"] == "version-unreadable")
            .collect();
        assert_eq!(unreadable.len(), 1, "{spelling:?}: {}", run.output());
        assert_eq!(unreadable[0]["blocking"], true);
        // Considered, not checked: every package is counted one way or the other.
        let report = run.stdout_json();
        assert_eq!(
            (report["checked"].clone(), report["unchecked"].clone()),
            (0.into(), 1.into())
        );
        assert!(unreadable[0]["message"]
            .as_str()
            .unwrap()
            .contains("debug is locked at version"));
    }
}

#[test]
fn a_respelled_version_is_not_a_new_package() {
    // Same release, new spelling: nothing new to ask about.
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("package.json", package_json_matching(&[("debug", "4.4.2")]))
        .write_and_stage("package-lock.json", npm_lock_spelling("4.4.1"));
    repo.commit("before");
    repo.write_and_stage("package-lock.json", npm_lock_spelling("v4.4.1 "));
    run_json(&repo, &server, &[]);
    assert_eq!(server.querybatch_request_count(), 0);
}

#[test]
fn python_versions_are_read_in_pep440_normal_form() {
    // req-matplotlib 11.2.18 is MAL-2023-1400: pip reads each spelling as that release.
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage(
        "Pipfile.lock",
        serde_json::json!({
            "_meta": {"hash": {"sha256": "0"}, "pipfile-spec": 6, "requires": {}, "sources": []},
            "default": {
                "req-matplotlib": {"version": "==V11.2.18"},
                "six": {"version": "== 1.16.0 "}
            },
            "develop": {}
        })
        .to_string(),
    );
    let run = run_json(&repo, &server, &[]);
    run.assert_code(1);
    assert_eq!(run.findings(), ["MAL-2023-1400 req-matplotlib@11.2.18"]);
    assert_eq!(
        server.queried(),
        ["PyPI:req-matplotlib@11.2.18", "PyPI:six@1.16.0"]
    );
}

/// Stages `packages` and runs the binary (JSON, then text) against a server whose every record
/// fetch fails; returns both runs and the first finding.
fn with_unfetchable_records(packages: &[(&str, &str)], extra: &[&str]) -> (Run, Run) {
    let server = OsvServer::builder()
        .fail_always(Fault::RecordStatus(503))
        .start();
    let repo = TestRepo::new();
    repo.stage_npm_project("", packages);
    let mut args = vec!["--retries", "0"];
    args.extend_from_slice(extra);
    let json = run_json(&repo, &server, &args);
    json.assert_code(1);
    assert_eq!(json.stdout_json()["findings"][0]["blocking"], true);
    assert_eq!(
        json.stdout_json()["findings"][0]["record_unavailable"],
        true
    );
    assert!(json
        .problem_kinds()
        .contains(&"advisory-source-unavailable".to_string()));
    let text = run_text(&repo, &server, &args);
    text.assert_code(1);
    (json, text)
}

#[test]
fn a_named_malware_id_blocks_even_when_its_record_cannot_be_fetched() {
    // The batch answer names MAL-2025-46974 for debug@4.4.2; every record fetch then fails.
    for policy in [
        &["--fail-open"][..],
        &["--on-unreachable", "warn"][..],
        &[][..],
    ] {
        let packages = [("debug", "4.4.2"), ("left-pad", "1.3.0")];
        let (json, text) = with_unfetchable_records(&packages, policy);
        let finding = &json.stdout_json()["findings"][0];
        assert_eq!(finding["id"], "MAL-2025-46974", "{policy:?}");
        assert_eq!(finding["malicious"], true);
        text.assert_stderr_contains("debug@4.4.2 is MALWARE")
            .assert_stderr_contains("could not be fetched");
    }
}

#[test]
fn an_unread_record_of_any_id_blocks_as_if_malware() {
    // A GHSA id whose record cannot be read might carry a MAL- alias: it cannot be classified.
    // minimist 1.2.5 has an ordinary advisory (GHSA-xvch-5gv4-984h) in ../shared/data/osv.
    let (json, text) = with_unfetchable_records(&[("minimist", "1.2.5")], &["--fail-open"]);
    let id = json.stdout_json()["findings"][0]["id"].clone();
    assert!(id.as_str().unwrap().starts_with("GHSA-"), "{id}");
    text.assert_stderr_contains("may be MALWARE");
}

/// A server that keeps a client paginating, slowly: without a deadline for the whole run, 100
/// pages of 300 ms each would hold the commit for half a minute.
fn slow_endless_server() -> OsvServer {
    OsvServer::builder()
        .endless_pages()
        .delay(Duration::from_millis(300))
        .start()
}

fn stage_clean_project(repo: &TestRepo) {
    let packages = [("left-pad", "1.3.0")];
    repo.stage_npm_project("", &packages);
}

#[test]
fn the_whole_run_has_a_deadline_and_says_how_far_it_got() {
    let server = slow_endless_server();
    let repo = TestRepo::new();
    stage_clean_project(&repo);
    let started = Instant::now();
    let run = run_text(&repo, &server, &["--deadline", "1.5"]);
    let took = started.elapsed();
    run.assert_code(2)
        .assert_stderr_contains("deadline of 1.5 s for asking OSV passed")
        .assert_stderr_contains("0 of 1 packages were answered (")
        .assert_stderr_contains("pages followed");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    // Failing open still allows, saying why.
    run_text(&repo, &server, &["--deadline", "1", "--fail-open"])
        .assert_code(0)
        .assert_stderr_contains("deadline of 1 s");
}

#[test]
fn the_deadline_comes_from_the_configuration_or_the_environment() {
    let server = slow_endless_server();
    let repo = TestRepo::new();
    stage_clean_project(&repo);
    repo.write(".lockgate.toml", "deadline = 1\n");
    let started = Instant::now();
    run_text(&repo, &server, &[])
        .assert_code(2)
        .assert_stderr_contains("deadline of 1 s");
    assert!(started.elapsed() < Duration::from_secs(4));
    let url = server.url();
    repo.lockgate_command(&["--osv-url", &url])
        .env("LOCKGATE_DEADLINE", "0.5")
        .run()
        .assert_code(2)
        .assert_stderr_contains("deadline of 0.5 s");
    repo.write(".lockgate.toml", "deadline = 0\n");
    run_text(&repo, &server, &[])
        .assert_code(2)
        .assert_stderr_contains(".lockgate.toml:1:1: `deadline` is 0");
}

#[test]
fn a_deadline_during_record_fetches_still_blocks_named_malware() {
    // Answers come quickly; each record takes longer than the run has left.
    let server = OsvServer::builder()
        .delay(Duration::from_millis(700))
        .start();
    let repo = TestRepo::new();
    let packages = [("debug", "4.4.2")];
    repo.stage_npm_project("", &packages);
    let run = run_json(&repo, &server, &["--deadline", "1", "--fail-open"]);
    run.assert_code(1);
    assert_eq!(run.findings(), ["MAL-2025-46974 debug@4.4.2"]);
    assert_eq!(run.stdout_json()["findings"][0]["record_unavailable"], true);
}

#[test]
fn a_diamond_of_requirements_includes_costs_one_read_per_file() {
    // requirements/f0.txt includes f1.txt 50 times, which includes f2.txt 50 times, … 15 deep:
    // followed blindly, 50^14 files; read once each, fifteen.
    let server = OsvServer::start();
    let repo = TestRepo::new();
    for level in 0..15 {
        let text = if level == 14 {
            "req-matplotlib==11.2.18\n".to_string()
        } else {
            format!("-r f{}.txt\n", level + 1).repeat(50)
        };
        repo.write_and_stage(&format!("requirements/f{level}.txt"), text);
    }
    let run = repo.lockgate_limited(&["--osv-url", &server.url(), "--format", "json"], 3);
    run.assert_code(1);
    // Each of the fifteen files is a requirements file that, with its includes, locks it.
    assert_eq!(
        run.findings(),
        vec!["MAL-2023-1400 req-matplotlib@11.2.18"; 15]
    );
}
