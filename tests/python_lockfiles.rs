//! Python lockfiles from fixtures the real tools made (tests/fixtures/python/generate.sh): the
//! package sets each tool itself lists, and the verdicts of each tool's own staleness check.

use crate::support::{OsvServer, Run, TestRepo};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/python");

fn folder(parts: &[&str]) -> PathBuf {
    parts
        .iter()
        .fold(PathBuf::from(FIXTURES), |path, part| path.join(part))
}

/// `name==version` lines of a packages.txt, up to any `#` section.
fn listed(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .take_while(|line| !line.starts_with('#'))
        .filter(|line| !line.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn parsed_package_sets_equal_what_each_tool_lists() {
    let tools = [
        ("pip-tools", "requirements.txt"),
        ("uv", "uv.lock"),
        ("poetry", "poetry.lock"),
        ("pipenv", "Pipfile.lock"),
        ("pdm", "pdm.lock"),
        ("pylock", "pylock.toml"),
    ];
    let mut compared = 0;
    for (tool, lockfile) in tools {
        let mut scenarios: Vec<PathBuf> = std::fs::read_dir(folder(&[tool]))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.join(lockfile).exists())
            .collect();
        scenarios.sort();
        assert!(
            scenarios.len() >= 4,
            "{tool}: {} scenarios",
            scenarios.len()
        );
        for scenario in scenarios {
            let name = format!("{tool}/{}", scenario.file_name().unwrap().to_string_lossy());
            let format = lockgate::ecosystem::format_of(lockfile).unwrap();
            // pip-compile writes one file per input (requirements.in → requirements.txt,
            // dev.in → dev.txt); the tool's listing covers them all.
            let mut files = vec![scenario.join(lockfile)];
            if tool == "pip-tools" && scenario.join("dev.txt").exists() {
                files.push(scenario.join("dev.txt"));
            }
            let mut locked = lockgate::package::LockedSet::default();
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap();
                let set = format
                    .parse(lockfile, &text, &lockgate::ecosystem::no_includes)
                    .unwrap_or_else(|error| panic!("{name}: {error}"));
                locked.extend(set);
            }
            let parsed: BTreeSet<String> = locked
                .packages()
                .iter()
                .map(|package| format!("{}=={}", package.name, package.version))
                .collect();
            assert_eq!(parsed, listed(&scenario.join("packages.txt")), "{name}");
            // pipenv leaves packages whose markers excluded them unresolved: not locked.
            let unpinned: Vec<&str> = locked
                .unpinned
                .iter()
                .map(|u| u.package.name.as_str())
                .collect();
            let expected_unpinned: &[&str] = if name == "pipenv/markers" {
                &["colorama", "tomli"]
            } else {
                &[]
            };
            assert_eq!(unpinned, expected_unpinned, "{name}");
            compared += 1;
        }
    }
    eprintln!("python lockfiles: {compared} parsed sets equal the tools' own listings");
}

fn verdict(run: &Run) -> &'static str {
    match run.code {
        Some(0) => "pass",
        Some(1) => "block",
        _ => panic!("unexpected outcome\n{}", run.output()),
    }
}

#[test]
fn staleness_verdicts_agree_with_each_tools_own_check() {
    let server = OsvServer::builder().without_shared_data().start();
    let mut total = 0;
    for tool in ["poetry", "uv", "pdm"] {
        let cases = folder(&[tool, "stale"]);
        let mut names: Vec<String> = std::fs::read_dir(&cases)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for case in names {
            let root = cases.join(&case);
            let recorded = std::fs::read_to_string(root.join("verdict.txt")).unwrap();
            let expected = if recorded.starts_with("exit 0") {
                "pass"
            } else {
                "block"
            };
            let repo = TestRepo::new();
            for entry in std::fs::read_dir(&root).unwrap() {
                let path = entry.unwrap().path();
                let file = path.file_name().unwrap().to_string_lossy().into_owned();
                if file != "verdict.txt" {
                    repo.write(&file, std::fs::read(&path).unwrap());
                }
            }
            repo.stage_all();
            let run = repo.lockgate(&["--osv-url", &server.url(), "--format", "json"]);
            assert_eq!(
                verdict(&run),
                expected,
                "{tool}/stale/{case}: the tool said {}\n{}",
                recorded.lines().next().unwrap_or_default(),
                run.output()
            );
            if expected == "block" {
                let problem = &run.stdout_json()["problems"][0];
                assert_eq!(problem["kind"], "lockfile-out-of-sync", "{tool}/{case}");
                let message = problem["message"].as_str().unwrap();
                assert!(message.contains(&format!("run `{tool} lock`")), "{message}");
            }
            total += 1;
        }
    }
    eprintln!(
        "python staleness: lockgate agrees with poetry, uv and pdm on {total} of {total} cases"
    );
}

#[test]
fn a_pyproject_change_without_its_lockfile_blocks() {
    let server = OsvServer::builder().without_shared_data().start();
    for (tool, lockfile) in [
        ("poetry", "poetry.lock"),
        ("uv", "uv.lock"),
        ("pdm", "pdm.lock"),
    ] {
        let root = folder(&[tool, "stale", "in-sync"]);
        let repo = TestRepo::new();
        for file in ["pyproject.toml", lockfile] {
            repo.write_and_stage(
                &format!("app/{file}"),
                std::fs::read(root.join(file)).unwrap(),
            );
        }
        repo.lockgate(&["--osv-url", &server.url()])
            .assert_success();
        repo.commit("locked project");
        let asked = server.request_count();
        // The dependency-added case's pyproject.toml, staged alone.
        let added = folder(&[tool, "stale", "dep-added", "pyproject.toml"]);
        repo.write_and_stage("app/pyproject.toml", std::fs::read(added).unwrap());
        let run = repo.lockgate(&["--osv-url", &server.url()]);
        run.assert_code(1)
            .assert_stderr_contains(&format!("app/{lockfile}"))
            .assert_stderr_contains(&format!("run `{tool} lock` in app"));
        assert!(!run.stderr.contains("npm install"), "{}", run.output());
        assert_eq!(
            server.request_count(),
            asked,
            "{tool}: the check is offline"
        );
    }
}
