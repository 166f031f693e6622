//! Policy and configuration through the compiled binary: severity thresholds on real GitHub
//! advisories, ignores that expire, the malware-ignore guard, private registries, dev-only
//! packages, strict configuration files, and the SARIF report.

use crate::support::{package_json_matching, OsvServer, Run, TestRepo};
use serde_json::{json, Value};

/// From ../shared/data/osv/advisories/npm: cookie 0.6.0 is GHSA-pxg6-pf52-xh8x (LOW, label
/// only), tough-cookie 4.1.2 GHSA-72xf-g2v4-qvf3 (CVSS 3.1, medium), minimist 1.2.5
/// GHSA-xvch-5gv4-984h (CVSS 3.1, critical); debug 4.4.2 is MAL-2025-46974.
const LOW: (&str, &str) = ("cookie", "0.6.0");
const MEDIUM: (&str, &str) = ("tough-cookie", "4.1.2");
pub(crate) const CRITICAL: (&str, &str) = ("minimist", "1.2.5");
const MALWARE: (&str, &str) = ("debug", "4.4.2");

/// A lockfile v3 whose entries resolve from `host`, some marked dev-only.
fn lockfile(packages: &[(&str, &str)], host: &str, dev: &[&str]) -> String {
    let mut entries = serde_json::Map::new();
    let mut root = serde_json::Map::new();
    for (name, version) in packages {
        root.insert(name.to_string(), json!(format!("^{version}")));
        let mut entry = json!({
            "version": version,
            "resolved": format!("https://{host}/{name}/-/{name}-{version}.tgz"),
            "integrity": "sha512-AAAA",
        });
        if dev.contains(name) {
            entry["dev"] = json!(true);
        }
        entries.insert(format!("node_modules/{name}"), entry);
    }
    entries.insert(
        String::new(),
        json!({"name": "fixture", "version": "1.0.0", "dependencies": root}),
    );
    let lock = json!({"name": "fixture", "version": "1.0.0", "lockfileVersion": 3,
                      "requires": true, "packages": entries});
    serde_json::to_string_pretty(&lock).unwrap()
}

fn project(packages: &[(&str, &str)], host: &str, dev: &[&str]) -> TestRepo {
    let repo = TestRepo::new();
    repo.write_and_stage("package.json", package_json_matching(packages));
    repo.write_and_stage("package-lock.json", lockfile(packages, host, dev));
    repo
}

fn run(repo: &TestRepo, server: &OsvServer, extra: &[&str]) -> Run {
    let url = server.url();
    let mut args = vec!["--osv-url", &url, "--format", "json", "--no-cache"];
    args.extend_from_slice(extra);
    repo.lockgate(&args)
}

/// (package name, blocking) of each finding, and the kinds of the problems.
fn outcome(run: &Run) -> (Vec<(String, bool)>, Vec<String>) {
    let report = run.stdout_json();
    let findings = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["package"]["name"].as_str().unwrap().to_string(),
                f["blocking"] == true,
            )
        })
        .collect();
    let problems = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_string())
        .collect();
    (findings, problems)
}

fn blocking(run: &Run) -> Vec<String> {
    outcome(run)
        .0
        .into_iter()
        .filter(|(_, blocking)| *blocking)
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn severity_thresholds_decide_what_blocks() {
    let server = OsvServer::start();
    let repo = project(&[LOW, MEDIUM, CRITICAL], "registry.example.test", &[]);
    let lenient = run(&repo, &server, &[]);
    lenient.assert_success();
    assert_eq!(outcome(&lenient).0.len(), 3, "all three are reported");
    assert!(blocking(&lenient).is_empty());

    for (level, expected) in [
        ("low", vec!["cookie", "minimist", "tough-cookie"]),
        ("medium", vec!["minimist", "tough-cookie"]),
        ("high", vec!["minimist"]),
        ("critical", vec!["minimist"]),
        ("any", vec!["cookie", "minimist", "tough-cookie"]),
    ] {
        let run = run(&repo, &server, &["--fail-on", level]);
        run.assert_code(1);
        let mut names = blocking(&run);
        names.sort();
        assert_eq!(names, expected, "--fail-on {level}");
    }
    let report = run(&repo, &server, &[]).stdout_json();
    let severities: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["severity"]["level"].as_str().unwrap().to_string(),
                f["severity"]["source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        severities.contains(&("low".into(), "database".into())),
        "{severities:?}"
    );
    assert!(
        severities.contains(&("critical".into(), "CVSS_V3".into())),
        "{severities:?}"
    );

    // The file says high; the flag wins over it.
    repo.write(".lockgate.toml", "fail-on = \"high\"\n");
    let from_file = run(&repo, &server, &[]);
    assert_eq!(blocking(&from_file), ["minimist"]);
    assert!(from_file.stdout_json()["config"]
        .as_str()
        .unwrap()
        .ends_with(".lockgate.toml"));
    let mut overridden = blocking(&run(&repo, &server, &["--fail-on", "low"]));
    overridden.sort();
    assert_eq!(overridden.len(), 3);
}

#[test]
fn an_advisory_without_any_severity_is_unknown_and_blocks_past_malicious() {
    let server = OsvServer::builder()
        .without_shared_data()
        .record(
            json!({"id": "GHSA-0000-0000-0000", "modified": "2026-01-01T00:00:00Z",
            "summary": "no severity at all",
            "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"},
                          "versions": ["1.3.0"]}]}),
        )
        .start();
    let repo = project(&[("left-pad", "1.3.0")], "registry.example.test", &[]);
    let default = run(&repo, &server, &[]);
    default.assert_success();
    assert_eq!(
        default.stdout_json()["findings"][0]["severity"]["source"],
        "unknown"
    );
    run(&repo, &server, &["--fail-on", "critical"]).assert_code(1);
    repo.lockgate(&["--osv-url", &server.url(), "--no-cache"])
        .assert_stderr_contains("severity: unknown");
}

#[test]
fn ignores_apply_until_they_expire_and_unused_ones_are_reported() {
    let server = OsvServer::start();
    let repo = project(&[CRITICAL], "registry.example.test", &[]);
    let config = |until: &str| {
        format!(
            "fail-on = \"any\"\n\n[[ignore]]\nid = \"CVE-2021-44906\"\nreason = \"not reachable\"\nuntil = {until}\n"
        )
    };
    // Ignored by an alias (GHSA-xvch-5gv4-984h is CVE-2021-44906) until a date to come.
    repo.write(".lockgate.toml", config("2999-12-31"));
    let future = run(&repo, &server, &[]);
    future.assert_success();
    let finding = &future.stdout_json()["findings"][0];
    assert_eq!(finding["ignored"], true);
    assert_eq!(finding["reason"], "not reachable");

    // Past its date it stops applying, and says so.
    repo.write(".lockgate.toml", config("2020-01-31"));
    let past = run(&repo, &server, &[]);
    past.assert_code(1);
    assert_eq!(outcome(&past).1, ["ignore-expired"]);

    // With --all, an ignore that matched nothing is reported as unused.
    repo.write(
        ".lockgate.toml",
        "[[ignore]]\nid = \"GHSA-none-none-none\"\nreason = \"old\"\n",
    );
    repo.commit("project");
    let all = run(&repo, &server, &["--all"]);
    assert!(
        outcome(&all).1.contains(&"ignore-unused".to_string()),
        "{}",
        all.output()
    );
}

#[test]
fn malware_is_only_ignored_as_an_exact_false_positive_and_always_said() {
    let server = OsvServer::start();
    let repo = project(&[MALWARE], "registry.example.test", &[]);
    repo.write(
        ".lockgate.toml",
        "[[ignore]]\nid = \"MAL-2025-46974\"\nreason = \"we trust it\"\n",
    );
    let refused = run(&repo, &server, &[]);
    refused.assert_code(1);
    assert_eq!(outcome(&refused).1, ["ignore-refused"]);

    repo.write(
        ".lockgate.toml",
        "[[ignore]]\nid = \"MAL-2025-46974\"\nmalicious = true\npackage = \"debug\"\nversion = \"4.4.1\"\nreason = \"wrong version\"\n",
    );
    run(&repo, &server, &[]).assert_code(1);

    repo.write(
        ".lockgate.toml",
        "[[ignore]]\nid = \"MAL-2025-46974\"\nmalicious = true\npackage = \"debug\"\nversion = \"4.4.2\"\nreason = \"a known false positive in our mirror\"\n",
    );
    let accepted = run(&repo, &server, &[]);
    accepted.assert_success();
    assert_eq!(outcome(&accepted).1, ["malware-ignored"]);
    repo.lockgate(&["--osv-url", &server.url(), "--no-cache"])
        .assert_success()
        .assert_stderr_contains("malware advisory MAL-2025-46974 is ignored for debug@4.4.2");
}

#[test]
fn private_registry_packages_are_not_the_public_ones() {
    let server = OsvServer::start();
    let repo = project(&[MALWARE], "npm.corp.example", &[]);
    run(&repo, &server, &[]).assert_code(1);
    repo.write(
        ".lockgate.toml",
        "private-registries = [\"npm.corp.example\"]\n",
    );
    // The project's own package: never named to OSV, so no public advisory is decided for it;
    // the report counts it and says why.
    let asked = server.querybatch_queries().len();
    let private = run(&repo, &server, &[]);
    private.assert_success();
    assert_eq!(private.stdout_json()["findings"], json!([]));
    assert_eq!(private.stdout_json()["private"], 1);
    assert_eq!(server.querybatch_queries().len(), asked);
    repo.lockgate(&["--osv-url", &server.url(), "--no-cache"])
        .assert_stderr_contains("1 private package was not sent to OSV");
}

#[test]
fn dev_only_vulnerabilities_can_warn_but_dev_malware_still_blocks() {
    let server = OsvServer::start();
    let repo = project(
        &[CRITICAL, MALWARE],
        "registry.example.test",
        &["minimist", "debug"],
    );
    repo.write(".lockgate.toml", "fail-on = \"any\"\ndev = \"warn\"\n");
    let run = run(&repo, &server, &[]);
    run.assert_code(1);
    assert_eq!(blocking(&run), ["debug"]);
}

#[test]
fn a_bad_configuration_is_exit_two_naming_key_and_line() {
    let server = OsvServer::start();
    let repo = project(&[("left-pad", "1.3.0")], "registry.example.test", &[]);
    repo.write(
        ".lockgate.toml",
        "fail-on = \"high\"\n\nfial-on = \"low\"\n",
    );
    repo.lockgate(&["--osv-url", &server.url()])
        .assert_code(2)
        .assert_stderr_contains(".lockgate.toml:3:1")
        .assert_stderr_contains("unknown field `fial-on`");
    repo.lockgate(&[
        "--osv-url",
        &server.url(),
        "--config",
        "/nonexistent/lockgate.toml",
    ])
    .assert_code(2)
    .assert_stderr_contains("/nonexistent/lockgate.toml");
    // LOCKGATE_CONFIG names a file elsewhere, which wins over the repository's.
    let elsewhere = repo.root().join("team.toml");
    std::fs::write(&elsewhere, "fail-on = \"any\"\n").unwrap();
    repo.lockgate_command(&["--osv-url", &server.url(), "--format", "json"])
        .env("LOCKGATE_CONFIG", &elsewhere)
        .run()
        .assert_success()
        .assert_stdout_contains("team.toml");
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let server = OsvServer::start();
    let repo = project(&[MALWARE], "registry.example.test", &[]);
    let plain = repo.lockgate(&["--osv-url", &server.url()]);
    assert!(!plain.stderr.contains('\u{1b}'), "{}", plain.output());
    let coloured = repo.lockgate(&["--osv-url", &server.url(), "--color", "always"]);
    assert!(
        coloured.stderr.contains("\u{1b}[1;31mis MALWARE"),
        "{}",
        coloured.output()
    );
}

#[test]
fn sarif_locates_each_finding_at_its_lockfile_entry() {
    let server = OsvServer::start();
    let repo = project(
        &[("left-pad", "1.3.0"), MALWARE],
        "registry.example.test",
        &[],
    );
    let run = repo.lockgate(&["--osv-url", &server.url(), "--format", "sarif"]);
    run.assert_code(1);
    let sarif: Value = run.stdout_json();
    assert_eq!(sarif["version"], "2.1.0");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "MAL-2025-46974");
    assert_eq!(result["level"], "error");
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "package-lock.json");
    let line = location["region"]["startLine"].as_u64().unwrap() as usize;
    let text = repo.read("package-lock.json");
    assert!(
        text.lines()
            .nth(line - 1)
            .unwrap()
            .contains("node_modules/debug"),
        "line {line} of\n{text}"
    );
    let driver = &sarif["runs"][0]["tool"]["driver"];
    let rule = &driver["rules"][0];
    assert_eq!(rule["properties"]["security-severity"], "10.0");
    // The tool's link is lockgate's own documentation (Cargo.toml's homepage, none yet), never
    // an advisory database: advisories are linked from their rules.
    assert_eq!(
        driver["informationUri"].as_str(),
        Some(env!("CARGO_PKG_HOMEPAGE")).filter(|uri| !uri.is_empty())
    );
    assert!(rule["helpUri"]
        .as_str()
        .is_some_and(|uri| uri.contains("MAL-2025-46974")));
}

#[test]
fn sarif_output_validates_against_the_official_schema() {
    let validator = crate::support::schemas::sarif_validator();
    // Malware, vulnerabilities, an ignored one, an unpinned requirement and an out-of-sync
    // lockfile: every kind of result lockgate writes.
    let server = OsvServer::start();
    let repo = project(&[MALWARE, CRITICAL, LOW], "registry.example.test", &[]);
    repo.write(
        ".lockgate.toml",
        "fail-on = \"medium\"\n[[ignore]]\nid = \"GHSA-pxg6-pf52-xh8x\"\nreason = \"tolerated\"\n",
    );
    repo.write_and_stage("requirements.txt", "requests>=2\n");
    repo.write_and_stage(
        "web/package.json",
        package_json_matching(&[("left-pad", "1.3.0")]),
    );
    let run = repo.lockgate(&["--osv-url", &server.url(), "--format", "sarif"]);
    run.assert_code(1);
    let sarif: Value = run.stdout_json();
    crate::support::schemas::assert_valid(&validator, &sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results
        .iter()
        .any(|r| r["suppressions"][0]["justification"] == "tolerated"));
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "lockgate/lockfile-missing"));

    // And the validator does refuse what is not SARIF.
    let mut broken = sarif.clone();
    broken["version"] = json!("9");
    assert!(!validator.is_valid(&broken));
}
