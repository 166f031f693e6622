//! Real lockfiles edited the way an attacker would, through the compiled binary: for every
//! format, a project locked by its own tool before and after an upgrade
//! (tests/fixtures/integrity/, made by generate.py there), and each attack on the "after" side
//! staged on top of the committed "before". Every case says what lockgate must report (kind,
//! verdict, line, the words of its message) in tests/fixtures/integrity/cases.json.

use crate::support::fixtures::fixture;
use crate::support::{OsvServer, Run, TestRepo};
use serde_json::Value;
use std::path::Path;

/// Every kind an attack here can raise: none of them may be reported on the tools' own output.
pub(crate) const ATTACK_KINDS: &[&str] = &[
    "download-host",
    "download-url-changed",
    "download-name-mismatch",
    "download-insecure",
    "source-deep",
    "source-direct",
    "git-ref-unpinned",
    "checksum-changed",
    "install-script-gained",
];

/// The manifest beside the fixtures.
pub(crate) fn manifest() -> Value {
    let path = fixture("integrity/cases.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("cases.json is JSON")
}

/// A repository whose `HEAD` commits `format`'s "before" project, with its "after" project
/// files (not the lockfile) staged: the upgrade, waiting for its lockfile.
pub(crate) fn upgrade(format: &str, spec: &Value) -> TestRepo {
    let repo = TestRepo::new();
    let root = fixture("integrity").join(format);
    let lockfile = spec["lockfile"].as_str().unwrap();
    let project: Vec<&str> = spec["project"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    for name in project.iter().chain([&lockfile]) {
        repo.write_and_stage(name, read(&root.join("before").join(name)));
    }
    repo.commit("before the upgrade");
    for name in &project {
        repo.write_and_stage(name, read(&root.join("after").join(name)));
    }
    repo
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Stages `format`'s lockfile as `case` has it (`after` for the tool's own) and runs lockgate.
pub(crate) fn stage_and_run(
    repo: &TestRepo,
    server: &OsvServer,
    format: &str,
    spec: &Value,
    case: &str,
) -> Run {
    let lockfile = spec["lockfile"].as_str().unwrap();
    let path = fixture("integrity").join(format).join(case).join(lockfile);
    repo.write_and_stage(lockfile, read(&path));
    repo.lockgate(&["--osv-url", &server.url(), "--format", "json"])
}

/// The problems of `run` whose kind is one of `kinds`.
pub(crate) fn problems_of(run: &Run, kinds: &[&str]) -> Vec<Value> {
    let report = run.stdout_json();
    let problems = report["problems"].as_array().cloned().unwrap_or_default();
    problems
        .into_iter()
        .filter(|problem| kinds.contains(&problem["kind"].as_str().unwrap_or_default()))
        .collect()
}

#[test]
fn every_attack_on_a_real_lockfile_is_reported_where_it_stands() {
    let server = OsvServer::builder().without_shared_data().start();
    let manifest = manifest();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (format, spec) in manifest["formats"].as_object().unwrap() {
        let lockfile = spec["lockfile"].as_str().unwrap();
        let repo = upgrade(format, spec);
        for (case, expected) in spec["cases"].as_object().unwrap() {
            if expected["applies"] == false {
                continue;
            }
            let run = stage_and_run(&repo, &server, format, spec, case);
            let report = run.stdout_json();
            let problems = report["problems"].as_array().cloned().unwrap_or_default();
            let mut wrong = Vec::new();
            if report["blocked"] != expected["blocked"] {
                wrong.push(format!(
                    "blocked is {}, not {}",
                    report["blocked"], expected["blocked"]
                ));
            }
            for want in expected["problems"].as_array().unwrap() {
                let found = problems.iter().find(|problem| {
                    problem["kind"] == want["kind"] && problem["line"] == want["line"]
                });
                let Some(found) = found else {
                    wrong.push(format!(
                        "no {} at line {} of {lockfile}",
                        want["kind"], want["line"]
                    ));
                    continue;
                };
                if found["path"] != lockfile {
                    wrong.push(format!("{} names {}", want["kind"], found["path"]));
                }
                if found["blocking"] != want["blocking"] {
                    wrong.push(format!(
                        "{} blocking is {}",
                        want["kind"], found["blocking"]
                    ));
                }
                let message = found["message"].as_str().unwrap_or_default();
                for word in want["words"].as_array().unwrap() {
                    if !message.contains(word.as_str().unwrap()) {
                        wrong.push(format!("{} says no {word}: {message}", want["kind"]));
                    }
                }
            }
            checked += 1;
            if !wrong.is_empty() {
                failures.push(format!(
                    "{format}/{case}: {}\n  problems: {}",
                    wrong.join("; "),
                    serde_json::to_string(&problems).unwrap()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(checked > 0, "no case was checked");
}

#[test]
fn the_tools_own_upgrades_pass_clean() {
    let server = OsvServer::builder().without_shared_data().start();
    let manifest = manifest();
    let mut failures = Vec::new();
    for (format, spec) in manifest["formats"].as_object().unwrap() {
        let repo = upgrade(format, spec);
        let run = stage_and_run(&repo, &server, format, spec, "after");
        let attacks = problems_of(&run, ATTACK_KINDS);
        if run.code != Some(0) || !attacks.is_empty() {
            failures.push(format!("{format}: exit {:?}\n{}", run.code, run.output()));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_manifest_covers_every_format_and_attack() {
    let manifest = manifest();
    let formats = manifest["formats"].as_object().unwrap();
    // Every folder is a format of the manifest, and every folder in it one of its cases.
    for folder in std::fs::read_dir(fixture("integrity")).unwrap() {
        let folder = folder.unwrap().path();
        if !folder.is_dir() {
            continue;
        }
        let format = folder.file_name().unwrap().to_string_lossy().into_owned();
        let cases = formats
            .get(&format)
            .unwrap_or_else(|| panic!("integrity/{format}/: not in cases.json"));
        for case in std::fs::read_dir(&folder).unwrap() {
            let case = case.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                case == "before" || case == "after" || cases["cases"][&case]["applies"] == true,
                "integrity/{format}/{case}/: not a case of cases.json"
            );
        }
    }
    for format in [
        "package-lock",
        "yarn-classic",
        "yarn-berry",
        "pnpm",
        "pnpm8",
        "bun",
        "uv",
        "poetry",
        "pdm",
        "pylock",
        "composer",
    ] {
        let cases = formats[format]["cases"]
            .as_object()
            .unwrap_or_else(|| panic!("{format} has no cases"));
        for case in [
            "host-swapped",
            "url-swapped",
            "checksum-swapped",
            "install-script",
            "git-deep",
            "name-mismatch",
            "plain-http",
        ] {
            let entry = &cases[case];
            let folder = fixture("integrity").join(format).join(case);
            match entry["applies"].as_bool() {
                Some(true) => assert!(folder.is_dir(), "{format}/{case}: no folder"),
                Some(false) => {
                    assert!(!folder.exists(), "{format}/{case}: a folder for no case");
                    assert!(entry["why"].as_str().is_some_and(|why| !why.is_empty()));
                }
                None => panic!("{format}/{case}: not in cases.json"),
            }
        }
    }
}
