//! Tests of the test support itself: the OSV stand-in speaks OSV's wire format over real HTTP,
//! and test repositories stage, commit and run git hermetically. None needs `lockgate` to work.

use std::os::unix::fs::PermissionsExt;

use serde_json::{json, Value};

use crate::support::osv_server::{http_request, HttpReply, MAX_QUERIES_PER_BATCH};
use crate::support::{
    npm_lock_v1, npm_lock_v2, npm_lock_v3, package_json, package_json_matching, unreachable_url,
    Fault, OsvServer, Run, TestRepo,
};

fn querybatch(server: &OsvServer, queries: &[(&str, &str, &str)]) -> HttpReply {
    let queries: Vec<Value> = queries
        .iter()
        .map(|(ecosystem, name, version)| {
            json!({ "package": { "ecosystem": ecosystem, "name": name }, "version": version })
        })
        .collect();
    let body = json!({ "queries": queries }).to_string();
    http_request(&server.url(), "POST", "/v1/querybatch", Some(&body))
}

fn ids(result: &Value) -> Vec<&str> {
    result["vulns"]
        .as_array()
        .map(|vulns| vulns.iter().map(|v| v["id"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

/// A minimal MAL record for one npm package, affecting every version.
fn mal_record(id: &str, name: &str) -> Value {
    json!({
        "id": id,
        "modified": "2025-01-02T03:04:05Z",
        "summary": format!("Malicious code in {name} (npm)"),
        "affected": [{
            "package": { "ecosystem": "npm", "name": name },
            "ranges": [{ "type": "SEMVER", "events": [{ "introduced": "0" }] }]
        }]
    })
}

#[test]
fn querybatch_matches_the_shared_records_in_query_order() {
    let server = OsvServer::start();
    let reply = querybatch(
        &server,
        &[
            ("npm", "debug", "4.4.2"),            // MAL-2025-46974, `versions` list
            ("npm", "debug", "4.4.1"),            // clean version of the same package
            ("npm", "@solana/web3.js", "1.95.7"), // MAL-2024-11183, introduced..fixed
            ("npm", "@solana/web3.js", "1.95.8"), // the fixed version
            ("PyPI", "NASRTOX", "8.0.0"),         // MAL-2024-1546: PEP 503 name, 8.0 == 8.0.0
            ("PyPI", "fastapi", "0.136.3"),       // MAL-2026-4750 is withdrawn
            ("pypi", "nasrtox", "8.0"),           // ecosystems are case-sensitive
            ("npm", "lockgate-no-such-package", "1.0.0"),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.json()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 8);
    assert_eq!(ids(&results[0]), ["MAL-2025-46974"]);
    assert!(results[0]["vulns"][0]["modified"].is_string());
    assert_eq!(results[1], json!({}));
    assert_eq!(ids(&results[2]), ["MAL-2024-11183"]);
    assert_eq!(results[3], json!({}));
    assert_eq!(ids(&results[4]), ["MAL-2024-1546"]);
    assert_eq!(results[5], json!({}));
    assert_eq!(results[6], json!({}));
    assert_eq!(results[7], json!({}));
    assert_eq!(server.querybatch_queries().len(), 8);
    assert_eq!(
        server.querybatch_queries()[0],
        ("npm".to_owned(), "debug".to_owned(), "4.4.2".to_owned())
    );
    assert_eq!(server.handler_panics(), 0);
}

#[test]
fn withdrawn_records_are_served_only_when_asked() {
    let server = OsvServer::builder().return_withdrawn().start();
    let reply = querybatch(&server, &[("PyPI", "fastapi", "0.136.3")]);
    assert_eq!(ids(&reply.json()["results"][0]), ["MAL-2026-4750"]);
}

#[test]
fn vulns_endpoint_serves_full_records_and_404s() {
    let server = OsvServer::start();
    let record = http_request(&server.url(), "GET", "/v1/vulns/MAL-2025-46974", None);
    assert_eq!(record.status, 200);
    let record = record.json();
    assert_eq!(record["id"], "MAL-2025-46974");
    assert_eq!(record["affected"][0]["package"]["name"], "debug");
    // Withdrawn records are still served by id, as OSV does.
    let withdrawn = http_request(&server.url(), "GET", "/v1/vulns/MAL-2026-4750", None);
    assert!(withdrawn.json()["withdrawn"].is_string());
    let missing = http_request(&server.url(), "GET", "/v1/vulns/MAL-0000-0", None);
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json(),
        json!({ "code": 5, "message": "Bug not found." })
    );
    assert_eq!(
        server.fetched_vuln_ids(),
        ["MAL-2025-46974", "MAL-2026-4750", "MAL-0000-0"]
    );
}

#[test]
fn a_query_without_a_version_gets_every_record_of_the_package() {
    // OSV's querybatch treats `version` as optional: without it, all records of the package.
    let server = OsvServer::start();
    let body = json!({ "queries": [{ "package": { "ecosystem": "npm", "name": "debug" } }] });
    let reply = http_request(
        &server.url(),
        "POST",
        "/v1/querybatch",
        Some(&body.to_string()),
    );
    assert_eq!(reply.status, 200);
    let answer = reply.json();
    let found = ids(&answer["results"][0]);
    assert!(found.contains(&"MAL-2025-46974"), "{found:?}");
}

#[test]
fn invalid_batches_are_rejected_whole() {
    let server = OsvServer::start();
    let too_many: Vec<(&str, &str, &str)> =
        vec![("npm", "debug", "4.4.2"); MAX_QUERIES_PER_BATCH + 1];
    let reply = querybatch(&server, &too_many);
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["code"], 3);
    let reply = querybatch(&server, &too_many[..MAX_QUERIES_PER_BATCH]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["results"].as_array().unwrap().len(), 1000);

    let missing_name = json!({ "queries": [
        { "package": { "ecosystem": "npm", "name": "debug" }, "version": "4.4.2" },
        { "package": { "ecosystem": "npm" }, "version": "4.4.2" }
    ]});
    let reply = http_request(
        &server.url(),
        "POST",
        "/v1/querybatch",
        Some(&missing_name.to_string()),
    );
    assert_eq!(reply.status, 400);
    let reply = http_request(
        &server.url(),
        "POST",
        "/v1/querybatch",
        Some("{\"queries\": ["),
    );
    assert_eq!(reply.status, 400);
    // Only the accepted batch's queries count as asked.
    assert_eq!(server.querybatch_queries().len(), 1000);
    assert_eq!(server.querybatch_request_count(), 4);
}

#[test]
fn pagination_continues_with_page_tokens() {
    let server = OsvServer::builder()
        .without_shared_data()
        .record(mal_record("MAL-9000-1", "paged"))
        .record(mal_record("MAL-9000-2", "paged"))
        .record(mal_record("MAL-9000-3", "paged"))
        .page_size(2)
        .empty_first_page()
        .start();
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query =
            json!({ "package": { "ecosystem": "npm", "name": "paged" }, "version": "1.0.0" });
        if let Some(token) = &token {
            query["page_token"] = json!(token);
        }
        let body = json!({ "queries": [query] }).to_string();
        let reply = http_request(&server.url(), "POST", "/v1/querybatch", Some(&body));
        assert_eq!(reply.status, 200, "{}", reply.body);
        let result = reply.json()["results"][0].clone();
        if pages == 0 {
            // The first page holds a token and no vulns: not "done".
            assert!(result.get("vulns").is_none(), "{result}");
        }
        seen.extend(ids(&result).into_iter().map(str::to_owned));
        pages += 1;
        match result["next_page_token"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["MAL-9000-1", "MAL-9000-2", "MAL-9000-3"]);
    assert_eq!(
        server.querybatch_queries().len(),
        1,
        "re-sends are not new queries"
    );
    assert_eq!(server.querybatch_queries_with_page_tokens().len(), 3);
}

#[test]
fn extra_records_include_alias_only_malware_and_escapes() {
    let mut aliased = mal_record("GHSA-0000-0000-0000", "alias-only");
    aliased["aliases"] = json!(["MAL-9000-99"]);
    let mut escape = mal_record("MAL-9000-98", "escape");
    escape["summary"] = json!("\u{1b}[2J\u{1b}[31mgotcha\u{1b}[0m");
    let server = OsvServer::builder().record(aliased).record(escape).start();
    let reply = querybatch(
        &server,
        &[("npm", "alias-only", "1.0.0"), ("npm", "escape", "1.0.0")],
    );
    let results = reply.json()["results"].clone();
    assert_eq!(ids(&results[0]), ["GHSA-0000-0000-0000"]);
    let record = http_request(&server.url(), "GET", "/v1/vulns/MAL-9000-98", None).json();
    assert!(record["summary"].as_str().unwrap().contains('\u{1b}'));
}

#[test]
fn faults_are_injected_then_cleared() {
    let server = OsvServer::builder()
        .fail_first(2, Fault::Status(503))
        .start();
    let statuses: Vec<u16> = (0..3)
        .map(|_| querybatch(&server, &[("npm", "debug", "4.4.2")]).status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
    assert_eq!(server.request_count(), 3);
    assert_eq!(
        server.querybatch_queries().len(),
        1,
        "faulted requests were not answered"
    );

    let server = OsvServer::builder().fail_always(Fault::NotJson).start();
    let reply = querybatch(&server, &[("npm", "debug", "4.4.2")]);
    assert_eq!(reply.status, 200);
    assert!(serde_json::from_str::<Value>(&reply.body).is_err());

    let server = OsvServer::builder()
        .fail_always(Fault::MissingResults)
        .start();
    let reply = querybatch(&server, &[("npm", "debug", "4.4.2")]);
    assert_eq!(reply.json(), json!({ "results": [] }));

    let refused = unreachable_url();
    let authority = refused.strip_prefix("http://").unwrap();
    assert!(std::net::TcpStream::connect(authority).is_err());
}

#[test]
fn requests_are_recorded() {
    let server = OsvServer::start();
    querybatch(&server, &[("npm", "left-pad", "1.3.0")]);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/v1/querybatch");
    let body: Value = serde_json::from_str(&requests[0].body).unwrap();
    assert_eq!(body["queries"][0]["package"]["name"], "left-pad");
}

#[test]
fn repo_stages_commits_and_runs_git_hermetically() {
    let repo = TestRepo::new();
    assert_eq!(repo.head(), None);
    repo.write_and_stage("package.json", package_json(&[("debug", "^4.4.1")]))
        .write_and_stage("web/package-lock.json", npm_lock_v3(&[("debug", "4.4.1")]));
    let first = repo.commit("first");
    repo.write_and_stage("web/package-lock.json", npm_lock_v3(&[("debug", "4.4.2")]))
        .remove_and_stage("package.json");
    let second = repo.commit("second");
    assert_eq!(repo.head(), Some(second));
    let parent = repo
        .git2()
        .find_commit(second)
        .unwrap()
        .parent_id(0)
        .unwrap();
    assert_eq!(parent, first);

    let status = repo.git(&["status", "--porcelain"]);
    status.assert_success();
    assert_eq!(status.stdout, "", "everything staged was committed");
    let log = repo.git(&["log", "--format=%s %an <%ae>"]);
    log.assert_success();
    assert_eq!(
        log.stdout,
        "second Lockgate Test <test@lockgate.invalid>\nfirst Lockgate Test <test@lockgate.invalid>\n"
    );
    // Only the repository's own config is visible to git.
    let config = repo.git(&["config", "--list", "--show-scope"]);
    config.assert_success();
    for line in config.stdout.lines() {
        assert!(
            line.starts_with("local\t") || line.starts_with("command\t"),
            "{line}"
        );
    }
    let branch = repo.git(&["symbolic-ref", "--short", "HEAD"]);
    assert_eq!(branch.stdout.trim(), "main");

    // A commit made by the real git from the index staged via git2.
    repo.write_and_stage("README.md", "hello\n");
    repo.git(&["commit", "--quiet", "-m", "third"])
        .assert_success();
    assert_ne!(repo.head(), Some(second));
}

#[test]
fn hooks_are_installed_as_executable_scripts() {
    let repo = TestRepo::new();
    let hook = repo.install_pre_commit_hook(
        &["--osv-url", "http://127.0.0.1:9"],
        &[("LOCKGATE_FAIL_OPEN", "it's")],
    );
    let mode = std::fs::metadata(&hook).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111);
    let script = std::fs::read_to_string(&hook).unwrap();
    assert!(script.starts_with("#!/bin/sh\n"));
    assert!(script.contains("export LOCKGATE_FAIL_OPEN='it'\\''s'\n"));
    assert!(script.contains("'--osv-url' 'http://127.0.0.1:9' \"$@\""));
    // The script is valid shell.
    let syntax = std::process::Command::new("sh")
        .arg("-n")
        .arg(&hook)
        .status()
        .unwrap();
    assert!(syntax.success());
}

#[test]
fn invocations_scrub_and_set_the_environment() {
    let repo = TestRepo::new();
    // Discovery from a subfolder finds the test repository; set variables reach the child.
    let run = repo
        .git_command(&["rev-parse", "--show-toplevel"])
        .current_dir("sub")
        .env("LOCKGATE_MARKER", "1");
    std::fs::create_dir_all(repo.path().join("sub")).unwrap();
    let out = run.run();
    out.assert_success();
    assert_eq!(out.stdout.trim(), repo.path().display().to_string());
    let home = repo.git_command(&["config", "--global", "--list"]).run();
    // GIT_CONFIG_GLOBAL=/dev/null: an empty global config, not the user's.
    assert!(home.stdout.is_empty(), "{}", home.output());
    let stdin: Run = repo
        .git_command(&["hash-object", "--stdin"])
        .stdin("x\n")
        .run();
    stdin.assert_success();
    assert_eq!(
        stdin.stdout.trim(),
        "587be6b4c3f93f93c489c0111bba5596147a26cb"
    );
}

#[test]
fn npm_fixtures_are_realistic_json() {
    let packages = [("debug", "4.4.2"), ("@lottiefiles/lottie-player", "2.0.5")];
    let v3: Value = serde_json::from_str(&npm_lock_v3(&packages)).unwrap();
    assert_eq!(v3["lockfileVersion"], 3);
    assert_eq!(v3["packages"][""]["dependencies"]["debug"], "^4.4.2");
    let scoped = &v3["packages"]["node_modules/@lottiefiles/lottie-player"];
    assert_eq!(scoped["version"], "2.0.5");
    assert_eq!(
        scoped["resolved"],
        "https://registry.example.test/@lottiefiles/lottie-player/-/lottie-player-2.0.5.tgz"
    );
    let integrity = scoped["integrity"].as_str().unwrap();
    assert!(
        integrity.starts_with("sha512-") && integrity.len() == 7 + 88,
        "{integrity}"
    );
    assert!(v3.get("dependencies").is_none());

    let v2: Value = serde_json::from_str(&npm_lock_v2(&packages)).unwrap();
    assert_eq!(v2["packages"]["node_modules/debug"]["version"], "4.4.2");
    assert_eq!(v2["dependencies"]["debug"]["version"], "4.4.2");

    let v1: Value = serde_json::from_str(&npm_lock_v1(&packages)).unwrap();
    assert_eq!(v1["lockfileVersion"], 1);
    assert!(v1.get("packages").is_none());
    assert_eq!(
        v1["dependencies"]["@lottiefiles/lottie-player"]["version"],
        "2.0.5"
    );

    let empty: Value = serde_json::from_str(&npm_lock_v3(&[])).unwrap();
    assert_eq!(empty["packages"].as_object().unwrap().len(), 1);
    let empty_v1: Value = serde_json::from_str(&npm_lock_v1(&[])).unwrap();
    assert_eq!(empty_v1["dependencies"], json!({}));

    let manifest: Value = serde_json::from_str(&package_json_matching(&packages)).unwrap();
    assert_eq!(
        manifest["dependencies"]["@lottiefiles/lottie-player"],
        "^2.0.5"
    );
    assert!(package_json(&[]).ends_with("\"version\": \"1.0.0\"\n}\n"));
    assert!(npm_lock_v3(&packages).ends_with("}\n"));
}
