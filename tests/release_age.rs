//! The minimum release age and pulled versions end to end: a stand-in npm registry on 127.0.0.1
//! (full and abbreviated documents by `Accept`, scoped names, 404s), lockfiles that record upload
//! times, and a fixed clock (`LOCKGATE_NOW`).

use crate::support::fixtures::{fixture, write_case};
use crate::support::raw_http::{response, Answer, RawServer};
use crate::support::{package_json_matching, OsvServer, Run, TestRepo};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The clock every run here goes by.
const NOW: &str = "2026-12-05T00:00:00Z";

/// A stand-in npm registry: each package's full document; the abbreviated one is made from it.
struct Registry {
    server: RawServer,
    asked: Arc<Mutex<Vec<String>>>,
    /// The `Authorization` header of each request (empty when none).
    credentials: Arc<Mutex<Vec<String>>>,
}

impl Registry {
    fn start(documents: Vec<(&'static str, serde_json::Value)>) -> Registry {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        let credentials = Arc::new(Mutex::new(Vec::new()));
        let seen = credentials.clone();
        let server = RawServer::start_with_headers(move |_, target, headers| {
            let authorization = header(headers, "authorization");
            seen.lock().unwrap().push(authorization);
            let accept = header(headers, "accept");
            let abbreviated = accept.contains("vnd.npm.install-v1");
            log.lock().unwrap().push(format!(
                "{} {target}",
                if abbreviated { "abbreviated" } else { "full" }
            ));
            let name = target.trim_start_matches('/').replace("%2f", "/");
            let Some((_, full)) = documents.iter().find(|(known, _)| *known == name) else {
                return Answer::Bytes(response("404 Not Found", &[], b"{}"));
            };
            let body = if abbreviated {
                json!({
                    "name": full["name"],
                    "modified": full["time"]["modified"],
                    "versions": full["versions"],
                })
            } else {
                full.clone()
            };
            Answer::Bytes(response(
                "200 OK",
                &[("content-type", "application/json")],
                body.to_string().as_bytes(),
            ))
        });
        Registry {
            server,
            asked,
            credentials,
        }
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

/// A request header's value (empty when absent).
fn header(headers: &[(String, String)], name: &str) -> String {
    headers
        .iter()
        .find(|(found, _)| found == name)
        .map(|(_, value)| value.clone())
        .unwrap_or_default()
}

/// A full npm document: `versions` published at those times.
fn document(name: &str, versions: &[(&str, &str)]) -> serde_json::Value {
    let mut time = serde_json::Map::new();
    let mut listed = serde_json::Map::new();
    for (version, published) in versions {
        time.insert(version.to_string(), json!(published));
        listed.insert(
            version.to_string(),
            json!({"name": name, "version": version}),
        );
    }
    let newest = versions
        .iter()
        .map(|(_, published)| *published)
        .max()
        .unwrap_or_default();
    time.insert("created".into(), json!("2016-01-01T00:00:00Z"));
    time.insert("modified".into(), json!(newest));
    json!({"name": name, "time": time, "versions": listed})
}

/// A package-lock.json (v3) whose packages download from `registry`.
fn lock_from(registry: &str, packages: &[(&str, &str)]) -> String {
    let mut entries = serde_json::Map::new();
    let dependencies: serde_json::Map<String, serde_json::Value> = packages
        .iter()
        .map(|(name, version)| (name.to_string(), json!(format!("^{version}"))))
        .collect();
    entries.insert(
        String::new(),
        json!({"name": "app", "version": "1.0.0", "dependencies": dependencies}),
    );
    for (name, version) in packages {
        let file = name.rsplit('/').next().unwrap();
        entries.insert(
            format!("node_modules/{name}"),
            json!({
                "version": version,
                "resolved": format!("{registry}/{name}/-/{file}-{version}.tgz"),
                "integrity": "sha512-AAAA",
            }),
        );
    }
    json!({"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": entries})
        .to_string()
}

fn stage(repo: &TestRepo, registry: &Registry, packages: &[(&str, &str)]) {
    repo.write_and_stage("package.json", package_json_matching(packages));
    repo.write_and_stage(
        "package-lock.json",
        lock_from(&registry.server.url(), packages),
    );
}

fn run(repo: &TestRepo, osv: &OsvServer, extra: &[&str]) -> Run {
    let url = osv.url();
    let mut args = vec!["--osv-url", url.as_str(), "--format", "json"];
    args.extend_from_slice(extra);
    repo.lockgate_command(&args)
        .env("LOCKGATE_NOW", NOW)
        .env_remove("LOCKGATE_RELEASE_AGE")
        .run()
}

/// The problems of a run, but what the lockfile checks say of checksums (requirements files
/// here pin none): `kind message`.
fn problems(run: &Run) -> Vec<String> {
    run.stdout_json()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|problem| problem["kind"] != "checksum-missing")
        .map(|problem| {
            format!(
                "{} {}",
                problem["kind"].as_str().unwrap(),
                problem["message"].as_str().unwrap()
            )
        })
        .collect()
}

fn registry() -> Registry {
    Registry::start(vec![
        (
            "left-pad",
            document("left-pad", &[("1.3.0", "2018-04-09T01:23:45Z")]),
        ),
        (
            "@acme/fresh",
            document(
                "@acme/fresh",
                &[
                    ("1.0.0", "2026-10-01T00:00:00Z"),
                    ("1.0.1", "2026-12-04T06:00:00Z"),
                ],
            ),
        ),
        (
            "gone",
            json!({"name": "gone", "time": {"modified": "2026-12-03T00:00:00Z", "unpublished": {"time": "2026-12-03T00:00:00Z", "versions": ["1.0.0"]}}, "versions": {}}),
        ),
    ])
}

#[test]
fn a_fresh_version_blocks_with_when_it_becomes_acceptable_and_an_old_one_costs_one_request() {
    let osv = OsvServer::start();
    let registry = registry();
    let repo = TestRepo::new();
    repo.write_and_stage(".lockgate.toml", "release-age = \"3d\"\n");

    // An old package: the abbreviated document's `modified` answers for it.
    stage(&repo, &registry, &[("left-pad", "1.3.0")]);
    run(&repo, &osv, &[]).assert_code(0);
    assert_eq!(registry.asked(), ["abbreviated /left-pad"]);
    repo.commit("left-pad");

    // A version published yesterday (a scoped name): blocked, with when it is accepted.
    stage(
        &repo,
        &registry,
        &[("left-pad", "1.3.0"), ("@acme/fresh", "1.0.1")],
    );
    let blocked = run(&repo, &osv, &[]);
    blocked.assert_code(1);
    let said = problems(&blocked);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with(
            "release-too-recent @acme/fresh@1.0.1 was published 2026-12-04T06:00:00Z (18 hours ago"
        ),
        "{said:?}"
    );
    assert!(
        said[0].contains("accepted from 2026-12-07T06:00:00Z"),
        "{said:?}"
    );
    assert_eq!(
        registry.asked()[1..],
        ["abbreviated /@acme%2ffresh", "full /@acme%2ffresh"]
    );
    // The text report says the same, from the cache: publish times never change.
    repo.lockgate_command(&["--osv-url", &osv.url()])
        .env("LOCKGATE_NOW", NOW)
        .env_remove("LOCKGATE_RELEASE_AGE")
        .run()
        .assert_code(1)
        .assert_stderr_contains("@acme/fresh@1.0.1 was published");
    assert_eq!(registry.asked().len(), 3, "{:?}", registry.asked());

    // Three days on, it passes.
    repo.lockgate_command(&["--osv-url", &osv.url()])
        .env("LOCKGATE_NOW", "2026-12-07T06:00:01Z")
        .env_remove("LOCKGATE_RELEASE_AGE")
        .run()
        .assert_code(0);

    // An exemption with a reason and an end date lets it through.
    repo.write_and_stage(
        ".lockgate.toml",
        "release-age = \"3d\"\n\n[[exempt]]\npackage = \"@acme/*\"\ncheck = \"release-age\"\nreason = \"our own release\"\nuntil = 2026-12-31\n",
    );
    run(&repo, &osv, &[]).assert_code(0);
}

#[test]
fn a_pulled_version_blocks_whatever_its_age_and_an_unreachable_registry_is_not_a_pass() {
    let osv = OsvServer::start();
    let registry = registry();
    let repo = TestRepo::new();
    repo.write_and_stage(".lockgate.toml", "release-age = \"1h\"\n");
    stage(
        &repo,
        &registry,
        &[("gone", "1.0.0"), ("never-published", "2.0.0")],
    );
    let run_ = run(&repo, &osv, &[]);
    run_.assert_code(1);
    let said = problems(&run_);
    assert!(
        said.iter()
            .any(|p| p.starts_with("version-pulled gone@1.0.0") && p.contains("unpublished")),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|p| p.starts_with("version-pulled never-published@2.0.0")),
        "{said:?}"
    );

    // The registry cannot be reached: exit 2, unless on-unreachable says warn.
    let repo = TestRepo::new();
    repo.write_and_stage(".lockgate.toml", "release-age = \"3d\"\n");
    repo.write_and_stage(
        "package.json",
        package_json_matching(&[("left-pad", "1.3.0")]),
    );
    repo.write_and_stage(
        "package-lock.json",
        lock_from(&crate::support::unreachable_url(), &[("left-pad", "1.3.0")]),
    );
    let unreachable = run(&repo, &osv, &["--retries", "0", "--timeout", "2"]);
    unreachable.assert_code(2);
    assert!(problems(&unreachable)[0].starts_with("release-age-unchecked left-pad@1.3.0"));
    for (policy, code) in [("warn", 0), ("offline", 2), ("block", 2)] {
        let args = [
            "--retries",
            "0",
            "--timeout",
            "2",
            "--on-unreachable",
            policy,
        ];
        run(&repo, &osv, &args).assert_code(code);
    }
}

#[test]
fn the_lockfiles_own_upload_time_needs_no_request_and_no_change_no_registry() {
    let osv = OsvServer::start();
    let repo = TestRepo::new();
    // uv.lock records upload times: charset-normalizer 3.5.3's newest file is of
    // 2026-11-23T02:46:51Z. No registry is reachable, and none is needed.
    write_case(&repo, &fixture("pypi/uv/small"), "");
    repo.write(".lockgate.toml", "release-age = \"3d\"\n");
    repo.stage_all();
    let url = osv.url();
    let run = repo
        .lockgate_command(&["--osv-url", &url, "--format", "json"])
        .env("LOCKGATE_NOW", "2026-11-24T00:00:00Z")
        .env_remove("LOCKGATE_RELEASE_AGE")
        .run();
    run.assert_code(1);
    let said = problems(&run);
    assert!(
        said.iter().any(|p| p.starts_with(
            "release-too-recent charset-normalizer@3.5.3 was published 2026-11-23T02:46:51Z"
        ) && p.contains("as the lockfile says")),
        "{said:?}"
    );
    repo.commit("project");

    // A commit that adds no package asks nothing of anyone.
    let registry = registry();
    repo.write_and_stage("README.md", "readme\n");
    let before = osv.request_count();
    run_plain(&repo, &osv).assert_code(0);
    assert_eq!(osv.request_count(), before);
    assert!(registry.asked().is_empty());
}

fn run_plain(repo: &TestRepo, osv: &OsvServer) -> Run {
    repo.lockgate_command(&["--osv-url", &osv.url()])
        .env("LOCKGATE_NOW", NOW)
        .env_remove("LOCKGATE_RELEASE_AGE")
        .run()
}

#[test]
fn release_age_settings_are_checked_when_read() {
    let repo = TestRepo::new();
    for (config, said) in [
        ("release-age = \"soon\"\n", "is not a duration"),
        ("[release-age]\nrubygems = \"3d\"\n", "not an ecosystem"),
        (
            "[[exempt]]\npackage = \"x\"\ncheck = \"age\"\nreason = \"r\"\nuntil = 2027-01-01\n",
            "`check` is \"age\"",
        ),
        (
            "[[exempt]]\npackage = \"x\"\ncheck = \"release-age\"\nreason = \"r\"\n",
            "missing field `until`",
        ),
    ] {
        repo.write(".lockgate.toml", config);
        repo.lockgate(&[])
            .assert_code(2)
            .assert_stderr_contains(said);
    }
}

#[test]
fn the_projects_own_registry_and_stricter_setting_are_used_and_named() {
    let osv = OsvServer::start();
    let registry = Registry::start(vec![(
        "weekly",
        document("weekly", &[("2.0.0", "2026-11-30T00:00:00Z")]),
    )]);
    let repo = TestRepo::new();
    // The lockfile records no download URL: the registry comes from .npmrc, and so does npm's
    // own minimum release age of 7 days, stricter than lockgate's 3.
    let mut lock: serde_json::Value = serde_json::from_str(&lock_from(
        "https://unused.example.test",
        &[("weekly", "2.0.0")],
    ))
    .unwrap();
    lock["packages"]["node_modules/weekly"]
        .as_object_mut()
        .unwrap()
        .remove("resolved");
    repo.write_and_stage(
        "package.json",
        package_json_matching(&[("weekly", "2.0.0")]),
    );
    repo.write_and_stage("package-lock.json", lock.to_string());
    // Its credentials are the project's: a token the environment holds, for that registry only.
    let host = registry.server.url().replace("http:", "");
    repo.write_and_stage(
        ".npmrc",
        format!(
            "registry={}/\nmin-release-age=7\n{host}/:_authToken=${{LOCKGATE_TEST_TOKEN}}\n",
            registry.server.url()
        ),
    );
    let url = osv.url();
    let blocked = repo
        .lockgate_command(&["--osv-url", &url, "--format", "json"])
        .env("LOCKGATE_NOW", NOW)
        .env("LOCKGATE_TEST_TOKEN", "s3cret")
        .env_remove("LOCKGATE_RELEASE_AGE")
        .run();
    assert_eq!(
        *registry.credentials.lock().unwrap(),
        ["Bearer s3cret", "Bearer s3cret"]
    );
    assert!(!blocked.stdout.contains("s3cret") && !blocked.stderr.contains("s3cret"));
    blocked.assert_code(1);
    let said = problems(&blocked);
    assert!(
        said[0].contains("under the minimum release age of 7 days (npm's min-release-age in .npmrc, stricter than lockgate's 3 days)")
            && said[0].contains("accepted from 2026-12-07T00:00:00Z"),
        "{said:?}"
    );
    assert_eq!(registry.asked(), ["abbreviated /weekly", "full /weekly"]);
    // Without the project's setting, 5 days is old enough for lockgate's 3.
    repo.write_and_stage(".npmrc", format!("registry={}/\n", registry.server.url()));
    run(&repo, &osv, &[]).assert_code(0);
    // Without any registry named, it is said, not blocking.
    repo.remove_and_stage(".npmrc");
    let unasked = run(&repo, &osv, &[]);
    unasked.assert_code(0);
    assert!(problems(&unasked)[0].contains("name it in [registries]"));
}

/// A stand-in Python index: each project's Simple API JSON page, by path.
fn python_index(
    pages: Vec<(&'static str, serde_json::Value)>,
) -> (RawServer, Arc<Mutex<Vec<String>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    let server = RawServer::start_with_headers(move |_, target, headers| {
        let accept = header(headers, "accept");
        log.lock().unwrap().push(format!("{accept} {target}"));
        match pages.iter().find(|(path, _)| *path == target) {
            Some((_, page)) => Answer::Bytes(response(
                "200 OK",
                &[("content-type", "application/vnd.pypi.simple.v1+json")],
                page.to_string().as_bytes(),
            )),
            None => Answer::Bytes(response("404 Not Found", &[], b"{}")),
        }
    });
    (server, asked)
}

#[test]
fn python_releases_are_judged_by_the_simple_api_upload_times_yanks_and_quarantine() {
    let osv = OsvServer::start();
    let file = |name: &str, time: &str, yanked: serde_json::Value| json!({"filename": name, "upload-time": time, "yanked": yanked, "hashes": {"sha256": "aa"}});
    let (index, asked) = python_index(vec![
        (
            "/simple/requests/",
            json!({"meta": {"api-version": "1.1"}, "files": [
                file("requests-2.32.3.tar.gz", "2024-05-29T15:37:47Z", json!(false)),
                file("requests-2.32.4-py3-none-any.whl", "2026-12-04T12:00:00Z", json!(false)),
            ]}),
        ),
        (
            "/simple/urllib3/",
            json!({"meta": {"api-version": "1.1"}, "files": [
                file("urllib3-2.6.0.tar.gz", "2025-01-01T00:00:00Z", json!("broken metadata")),
            ]}),
        ),
        (
            "/simple/evil-pkg/",
            json!({"meta": {"api-version": "1.4"}, "project-status": {"status": "quarantined"}, "files": []}),
        ),
    ]);
    let repo = TestRepo::new();
    repo.write_and_stage(
        ".lockgate.toml",
        format!("[registries]\nPyPI = \"{}/simple\"\n", index.url()),
    );
    repo.write_and_stage("requirements.txt", "requests==2.32.3\n");
    run(&repo, &osv, &[]).assert_code(0);
    repo.commit("requests");
    repo.write_and_stage(
        "requirements.txt",
        "requests==2.32.4\nurllib3==2.6.0\nevil-pkg==1.0\n",
    );
    let blocked = run(&repo, &osv, &[]);
    blocked.assert_code(1);
    let mut said = problems(&blocked);
    said.sort();
    assert_eq!(said.len(), 3, "{said:?}");
    assert!(
        said[0]
            .starts_with("release-too-recent requests@2.32.4 was published 2026-12-04T12:00:00Z"),
        "{said:?}"
    );
    assert!(
        said[1].starts_with("version-pulled evil-pkg@1.0") && said[1].contains("quarantined"),
        "{said:?}"
    );
    assert!(
        said[2].starts_with("version-pulled urllib3@2.6.0")
            && said[2].contains("yanked: broken metadata"),
        "{said:?}"
    );
    assert!(asked
        .lock()
        .unwrap()
        .iter()
        .all(|line| line.starts_with("application/vnd.pypi.simple.v1+json ")));
}

#[test]
fn an_upgrade_that_loses_provenance_warns_or_blocks_as_configured() {
    let osv = OsvServer::start();
    let mut doc = document(
        "signed",
        &[
            ("1.0.0", "2025-01-01T00:00:00Z"),
            ("1.1.0", "2025-06-01T00:00:00Z"),
        ],
    );
    doc["versions"]["1.0.0"]["dist"] = json!({"attestations": {"url": "https://npm.example.test/-/npm/v1/attestations/signed@1.0.0", "provenance": {"predicateType": "https://slsa.dev/provenance/v1"}}});
    doc["versions"]["1.0.0"]["_npmUser"] =
        json!({"name": "GitHub Actions", "trustedPublisher": {"id": "github"}});
    doc["versions"]["1.1.0"]["_npmUser"] = json!({"name": "someone"});
    let registry = Registry::start(vec![("signed", doc)]);
    let repo = TestRepo::new();
    stage(&repo, &registry, &[("signed", "1.0.0")]);
    run(&repo, &osv, &[]).assert_code(0);
    repo.commit("signed 1.0.0");

    stage(&repo, &registry, &[("signed", "1.1.0")]);
    let warned = run(&repo, &osv, &[]);
    warned.assert_code(0);
    let said = problems(&warned);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("trust-downgrade signed upgraded to 1.1.0")
            && said[0].contains("1.0.0 had provenance attestations, 1.1.0 has none")
            && said[0].contains("1.0.0 was published by a trusted publisher"),
        "{said:?}"
    );
    // One request for the upgrade: the full document, which says both sides.
    assert_eq!(registry.asked().last().unwrap(), "full /signed");

    repo.write_and_stage(".lockgate.toml", "trust-downgrade = \"block\"\n");
    run(&repo, &osv, &[]).assert_code(1);
    repo.write_and_stage(".lockgate.toml", "trust-downgrade = \"off\"\n");
    let off = run(&repo, &osv, &[]);
    off.assert_code(0);
    assert!(problems(&off).is_empty());
}

#[test]
fn a_private_package_is_never_named_to_another_registry() {
    let osv = OsvServer::start();
    let public = registry();
    let repo = TestRepo::new();
    repo.write_and_stage(
        ".lockgate.toml",
        format!(
            "private-registries = [\"npm.corp.example.test\"]\n\n[registries]\nnpm = \"{}\"\n",
            public.server.url()
        ),
    );
    // Downloaded from the private registry, which cannot be reached from here: it is asked
    // (and its silence blocks), the public registry never is.
    repo.write_and_stage(
        "package.json",
        package_json_matching(&[("internal-tool", "1.0.0")]),
    );
    repo.write_and_stage(
        "package-lock.json",
        lock_from(
            "https://npm.corp.example.test",
            &[("internal-tool", "1.0.0")],
        ),
    );
    let run_ = run(&repo, &osv, &["--retries", "0", "--timeout", "2"]);
    run_.assert_code(2);
    assert!(public.asked().is_empty(), "{:?}", public.asked());
    let said = problems(&run_);
    assert!(
        said.iter().any(
            |p| p.starts_with("release-age-unchecked internal-tool@1.0.0")
                && p.contains("npm.corp.example.test")
        ),
        "{said:?}"
    );
}

#[test]
fn a_python_upgrade_that_loses_its_pep_740_provenance_is_reported() {
    let osv = OsvServer::start();
    let (index, _) = python_index(vec![(
        "/simple/signed-lib/",
        json!({"meta": {"api-version": "1.3"}, "files": [
            {"filename": "signed_lib-1.0.0-py3-none-any.whl", "upload-time": "2025-01-01T00:00:00Z",
             "provenance": "https://pypi.example.test/integrity/signed-lib/1.0.0/signed_lib-1.0.0-py3-none-any.whl/provenance"},
            {"filename": "signed_lib-1.1.0-py3-none-any.whl", "upload-time": "2025-06-01T00:00:00Z", "provenance": null},
        ]}),
    )]);
    let repo = TestRepo::new();
    repo.write_and_stage(
        ".lockgate.toml",
        format!("[registries]\nPyPI = \"{}/simple\"\n", index.url()),
    );
    repo.write_and_stage("requirements.txt", "signed-lib==1.0.0\n");
    run(&repo, &osv, &[]).assert_code(0);
    repo.commit("signed-lib 1.0.0");
    repo.write_and_stage("requirements.txt", "signed-lib==1.1.0\n");
    let warned = run(&repo, &osv, &[]);
    warned.assert_code(0);
    let said = problems(&warned);
    assert!(
        said.len() == 1
            && said[0].starts_with("trust-downgrade signed-lib upgraded to 1.1.0")
            && said[0].contains("1.0.0 had provenance attestations, 1.1.0 has none"),
        "{said:?}"
    );
}

#[test]
fn an_index_without_upload_times_is_completed_by_the_json_api_or_said_unchecked() {
    let osv = OsvServer::start();
    let (index, asked) = python_index(vec![
        (
            "/simple/old-index/",
            json!({"meta": {"api-version": "1.0"}, "files": [
                {"filename": "old_index-1.0.0.tar.gz"},
            ]}),
        ),
        (
            "/pypi/old-index/1.0.0/json",
            json!({"urls": [
                {"filename": "old_index-1.0.0.tar.gz", "upload_time_iso_8601": "2026-12-04T20:00:00.123456Z", "yanked": false},
            ]}),
        ),
        (
            "/simple/no-times/",
            json!({"meta": {"api-version": "1.0"}, "files": [
                {"filename": "no_times-2.0.tar.gz"},
            ]}),
        ),
    ]);
    let repo = TestRepo::new();
    repo.write_and_stage(
        ".lockgate.toml",
        format!("[registries]\nPyPI = \"{}/simple\"\n", index.url()),
    );
    repo.write_and_stage("requirements.txt", "old-index==1.0.0\nno-times==2.0\n");
    let blocked = run(&repo, &osv, &[]);
    // A time nobody gives is not a pass: unchecked, and (on-unreachable = block) exit 2.
    blocked.assert_code(2);
    let mut said = problems(&blocked);
    said.sort();
    assert!(
        said[0].starts_with("release-age-unchecked no-times@2.0")
            && said[0].contains("no upload time"),
        "{said:?}"
    );
    assert!(
        said[1]
            .starts_with("release-too-recent old-index@1.0.0 was published 2026-12-04T20:00:00Z"),
        "{said:?}"
    );
    assert!(asked
        .lock()
        .unwrap()
        .iter()
        .any(|line| line.ends_with("/pypi/old-index/1.0.0/json")));
}

/// A registry for every format: npm documents and Python index pages for exactly the
/// packages given, every version published at `published`.
fn universal(packages: &[(String, String, String)], published: &'static str) -> RawServer {
    let packages = packages.to_vec();
    RawServer::start_with_headers(move |_, target, headers| {
        let path = target.trim_start_matches('/');
        let abbreviated = header(headers, "accept").contains("vnd.npm.install-v1");
        let body = if let Some(project) = path.strip_prefix("simple/") {
            let project = project.trim_end_matches('/');
            let files: Vec<serde_json::Value> = packages
                .iter()
                .filter(|(ecosystem, name, _)| {
                    ecosystem == "PyPI" && name.to_lowercase().replace(['_', '.'], "-") == project
                })
                .map(|(_, name, version)| {
                    json!({"filename": format!("{}-{version}.tar.gz", name.replace('-', "_")),
                           "upload-time": published})
                })
                .collect();
            json!({"meta": {"api-version": "1.1"}, "files": files})
        } else {
            let name = path.replace("%2f", "/").replace("%2F", "/");
            let versions: Vec<(&str, &str)> = packages
                .iter()
                .filter(|(ecosystem, found, _)| ecosystem == "npm" && *found == name)
                .map(|(_, _, version)| (version.as_str(), published))
                .collect();
            let full = document(&name, &versions);
            if abbreviated {
                json!({"name": name, "modified": published, "versions": full["versions"]})
            } else {
                full
            }
        };
        Answer::Bytes(response("200 OK", &[], body.to_string().as_bytes()))
    })
}

#[test]
fn every_lockfile_format_blocks_a_fresh_version_and_passes_an_old_one() {
    use lockgate::ecosystem::format_of;
    let osv = OsvServer::builder().without_shared_data().start();
    let root = std::path::Path::new(crate::support::fixtures::ROOT);
    // One small case of each format, registries as the lockfile or [registries] names them.
    for (format, case) in [
        ("npm/package-lock", "engine-strict-satisfied"),
        ("npm/yarn-classic", "engine-strict-satisfied"),
        ("npm/yarn-berry", "engine-strict-satisfied"),
        ("npm/pnpm", "engine-strict-satisfied"),
        ("npm/bun", "engine-strict-satisfied"),
        ("pypi/poetry", "in-sync"),
        ("pypi/pdm", "in-sync"),
    ] {
        let folder = root.join(format).join(case);
        assert!(folder.is_dir(), "{}", folder.display());
        // What it locks, as lockgate reads it: the registry serves exactly that.
        let mut packages = Vec::new();
        for (path, bytes) in crate::support::fixtures::project_files(&folder) {
            let Some(parser) = format_of(&path) else {
                continue;
            };
            let text = String::from_utf8(bytes).unwrap();
            let locked = parser.parse(&path, &text, &|_| Ok(None)).unwrap();
            for entry in locked.entries.iter().filter(|entry| entry.is_queryable()) {
                packages.push((
                    entry.package.ecosystem.as_osv().to_string(),
                    entry.package.name.clone(),
                    entry.package.version.clone(),
                ));
            }
        }
        assert!(!packages.is_empty(), "{format}/{case} locks nothing");
        let registry = universal(&packages, "2026-12-04T00:00:00Z");
        let url = registry.url();
        let repo = TestRepo::new();
        write_case(&repo, &folder, "");
        // Registries and indexes the lockfiles record point at the stand-in; the rest asks
        // [registries].
        for (path, bytes) in crate::support::fixtures::project_files(&folder) {
            if format_of(&path).is_none() {
                continue;
            }
            let text = String::from_utf8(bytes).unwrap();
            let text = text
                .replace("https://registry.example.test", &url)
                .replace("https://pypi.example.test", &url);
            repo.write(&path, text);
        }
        repo.write(
            ".lockgate.toml",
            format!("[registries]\nnpm = \"{url}\"\nPyPI = \"{url}/simple\"\n"),
        );
        repo.stage_all();
        let check = |now: &str| {
            repo.lockgate_command(&["--osv-url", &osv.url(), "--format", "json"])
                .env("LOCKGATE_NOW", now)
                .env_remove("LOCKGATE_RELEASE_AGE")
                .run()
        };
        let fresh = check("2026-12-05T00:00:00Z");
        fresh.assert_code(1);
        let kinds: BTreeSet<String> = fresh.stdout_json()["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|problem| problem["kind"].as_str().unwrap().to_string())
            .collect();
        assert!(
            kinds.contains("release-too-recent"),
            "{format}: {}",
            fresh.output()
        );
        let old = check("2027-01-01T00:00:00Z");
        assert_eq!(old.code, Some(0), "{format}: {}", old.output());
    }
}

#[test]
fn an_exemption_written_before_the_version_it_names_was_published_does_not_apply() {
    let osv = OsvServer::start();
    let registry = registry();
    let exemption = "[[exempt]]\npackage = \"@acme/fresh\"\nversions = [\"1.0.1\"]\ncheck = \"release-age\"\nreason = \"our release\"\nuntil = 2026-12-31\n";
    // @acme/fresh 1.0.1 was published 2026-12-04T06:00:00Z.
    for (written, code) in [("2026-12-01T00:00:00Z", 1), ("2026-12-04T12:00:00Z", 0)] {
        let repo = TestRepo::new();
        repo.write_and_stage(".lockgate.toml", exemption);
        repo.git_command(&["commit", "-q", "-m", "exempt our release"])
            .env("GIT_AUTHOR_DATE", written)
            .env("GIT_COMMITTER_DATE", written)
            .run()
            .assert_success();
        stage(&repo, &registry, &[("@acme/fresh", "1.0.1")]);
        let run_ = run(&repo, &osv, &[]);
        run_.assert_code(code);
        if code == 1 {
            let said = problems(&run_);
            assert!(
                said[0].starts_with("release-too-recent @acme/fresh@1.0.1")
                    && said[0].contains("written before it was published, so it does not apply"),
                "{said:?}"
            );
        }
    }
}

/// A yarn 1 lockfile whose packages download from `registry` (the format records no install
/// scripts).
fn yarn_lock_from(registry: &str, packages: &[(&str, &str)]) -> String {
    let mut text = String::from("# yarn lockfile v1\n\n");
    for (name, version) in packages {
        text.push_str(&format!(
            "\n{name}@^{version}:\n  version \"{version}\"\n  resolved \
             \"{registry}/{name}/-/{name}-{version}.tgz\"\n  integrity sha512-AAAA\n"
        ));
    }
    text
}

#[test]
fn the_registry_says_which_packages_run_install_scripts_where_the_lockfile_does_not() {
    let osv = OsvServer::start();
    // native-thing 1.1.0 gained a postinstall script; other-native has one from the start.
    let mut native = document(
        "native-thing",
        &[
            ("1.0.0", "2026-01-01T00:00:00Z"),
            ("1.1.0", "2026-02-01T00:00:00Z"),
        ],
    );
    native["versions"]["1.1.0"]["hasInstallScript"] = json!(true);
    native["versions"]["1.1.0"]["scripts"] = json!({"postinstall": "node fetch.js"});
    let mut other = document("other-native", &[("2.0.0", "2026-01-01T00:00:00Z")]);
    other["versions"]["2.0.0"]["hasInstallScript"] = json!(true);
    other["versions"]["2.0.0"]["scripts"] = json!({"install": "node-gyp rebuild"});
    let registry = Registry::start(vec![
        ("native-thing", native),
        ("other-native", other),
        (
            "left-pad",
            document("left-pad", &[("1.3.0", "2018-01-01T00:00:00Z")]),
        ),
    ]);
    let url = registry.server.url();
    let repo = TestRepo::new();
    let stage = |packages: &[(&str, &str)]| {
        repo.write_and_stage("package.json", package_json_matching(packages));
        repo.write_and_stage("yarn.lock", yarn_lock_from(&url, packages));
    };
    repo.write_and_stage(".lockgate.toml", "release-age = \"3d\"\n");
    stage(&[("left-pad", "1.3.0"), ("native-thing", "1.0.0")]);
    run(&repo, &osv, &[]).assert_code(0);
    repo.commit("project");

    // The upgrade gains the script: the registry's document says so, and it blocks.
    stage(&[("left-pad", "1.3.0"), ("native-thing", "1.1.0")]);
    let blocked = run(&repo, &osv, &[]);
    blocked.assert_code(1);
    let said = problems(&blocked);
    assert!(
        said.iter().any(|p| p.starts_with(
            "install-script-gained native-thing 1.1.0 runs an install script, and 1.0.0 did not"
        ) && p.ends_with("(as its registry says)")),
        "{said:?}"
    );
    // Approved in [checks], it passes.
    repo.write_and_stage(
        ".lockgate.toml",
        "release-age = \"3d\"\n[checks]\nallow-scripts = [\"native-thing\"]\n",
    );
    run(&repo, &osv, &[]).assert_code(0);
    repo.commit("native-thing 1.1.0, approved");

    // A new package with an install script is said, and does not block.
    stage(&[
        ("left-pad", "1.3.0"),
        ("native-thing", "1.1.0"),
        ("other-native", "2.0.0"),
    ]);
    let said_new = run(&repo, &osv, &[]);
    said_new.assert_code(0);
    let said = problems(&said_new);
    assert!(
        said.iter().any(|p| p.starts_with(
            "install-script-new other-native@2.0.0 is new and runs an install script"
        )),
        "{said:?}"
    );
    // Asked again, the cache answers: no request, the same verdict.
    let before = registry.asked().len();
    let again = run(&repo, &osv, &[]);
    assert_eq!(problems(&again), said);
    assert_eq!(registry.asked().len(), before);
}
