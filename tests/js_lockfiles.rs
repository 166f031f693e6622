//! yarn (classic and berry), pnpm and bun lockfiles, from fixtures the real tools made
//! (tests/fixtures/js/generate.sh): the package sets each tool itself lists, the verdicts of
//! each tool's frozen install, and end-to-end commits through the compiled binary.

use crate::support::{OsvServer, Run, TestRepo};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/js");

/// (fixture folder, lockfile name, install command).
const TOOLS: [(&str, &str, &str); 4] = [
    ("yarn-classic", "yarn.lock", "yarn install"),
    ("yarn-berry", "yarn.lock", "yarn install"),
    ("pnpm", "pnpm-lock.yaml", "pnpm install"),
    ("bun", "bun.lock", "bun install"),
];

fn folder(parts: &[&str]) -> PathBuf {
    parts
        .iter()
        .fold(PathBuf::from(FIXTURES), |path, part| path.join(part))
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Writes the project files of a fixture folder (not the recorded listings and verdicts).
fn write_project(repo: &TestRepo, root: &Path, into: &str) {
    for file in files_under(root) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if matches!(
            name.as_str(),
            "listing.json" | "listing.txt" | "packages.txt" | "verdict.txt"
        ) {
            continue;
        }
        let relative = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let path = if into.is_empty() {
            relative
        } else {
            format!("{into}/{relative}")
        };
        repo.write(&path, std::fs::read(&file).unwrap());
    }
}

/// pnpm 8 (lockfile 6.0) and 7 (5.4), locked by the real tools too; git is not among them.
const OLDER_PNPM: [(&str, &str, &str); 2] = [
    ("pnpm8", "pnpm-lock.yaml", "pnpm install"),
    ("pnpm7", "pnpm-lock.yaml", "pnpm install"),
];

#[test]
fn parsed_package_sets_equal_what_each_tool_lists() {
    let mut compared = 0;
    for (tool, lockfile, _) in TOOLS.into_iter().chain(OLDER_PNPM) {
        for scenario in ["small", "workspace", "scoped", "alias", "git"] {
            let root = folder(&[tool, scenario]);
            if !root.join(lockfile).exists() {
                // yarn 4 and pnpm 7/8 cannot lock a git+file dependency (see the README).
                assert!(
                    matches!((tool, scenario), ("yarn-berry" | "pnpm7" | "pnpm8", "git")),
                    "{tool}/{scenario}"
                );
                continue;
            }
            let text = std::fs::read_to_string(root.join(lockfile)).unwrap();
            let format = lockgate::ecosystem::format_of(lockfile).unwrap();
            let locked = format
                .parse(lockfile, &text, &lockgate::ecosystem::no_includes)
                .unwrap_or_else(|error| panic!("{tool}/{scenario}: {error}"));
            let listed = std::fs::read_to_string(root.join("packages.txt")).unwrap();
            let (registry, others) = listed.split_once("# non-registry").unwrap_or((&listed, ""));
            let expected: BTreeSet<String> = registry.lines().map(str::to_string).collect();
            let parsed: BTreeSet<String> =
                locked.packages().iter().map(ToString::to_string).collect();
            assert_eq!(parsed, expected, "{tool}/{scenario}: registry packages");
            // Git and file sources; workspace members are the project's own code.
            let expected_others: BTreeSet<String> = others
                .lines()
                .filter(|line| !line.trim().is_empty())
                .filter(|line| !line.ends_with(" workspace") && !line.ends_with(" link"))
                .map(str::to_string)
                .collect();
            let parsed_others: BTreeSet<String> = locked
                .non_registry()
                .iter()
                .map(|entry| format!("{} {}", entry.name, entry.kind.as_str()))
                .collect();
            assert_eq!(
                parsed_others, expected_others,
                "{tool}/{scenario}: other sources"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 27);
}

/// Where lockgate is deliberately stricter than a tool's frozen install.
const STRICTER: [(&str, &str, &str); 1] = [(
    "yarn-classic",
    "workspace-dep-added",
    "yarn 1.22 --frozen-lockfile passes, then installs is-even without locking it",
)];

fn verdict(run: &Run) -> &'static str {
    match run.code {
        Some(0) => "pass",
        Some(1) => "block",
        _ => panic!("unexpected outcome\n{}", run.output()),
    }
}

#[test]
fn frozen_install_verdicts_agree() {
    let server = OsvServer::builder().without_shared_data().start();
    let mut agreed = 0;
    let mut total = 0;
    for (tool, lockfile, command) in TOOLS {
        for case in [
            "in-sync",
            "dep-added",
            "range-changed",
            "dep-removed",
            "workspace-dep-added",
        ] {
            let root = folder(&[tool, "sync", case]);
            let recorded = std::fs::read_to_string(root.join("verdict.txt")).unwrap();
            let tool_verdict = if recorded.starts_with("exit 0") {
                "pass"
            } else {
                "block"
            };
            let stricter = STRICTER.iter().find(|(t, c, _)| (*t, *c) == (tool, case));
            let expected = if stricter.is_some() {
                "block"
            } else {
                tool_verdict
            };

            let repo = TestRepo::new();
            write_project(&repo, &root, "");
            repo.stage_all();
            let run = repo.lockgate(&["--osv-url", &server.url(), "--format", "json"]);
            let got = verdict(&run);
            assert_eq!(
                got,
                expected,
                "{tool}/sync/{case}: the tool said {tool_verdict}\n{}",
                run.output()
            );
            if got == "block" {
                let report = run.stdout_json();
                let problem = &report["problems"][0];
                assert_eq!(problem["kind"], "lockfile-out-of-sync", "{tool}/{case}");
                assert_eq!(problem["path"], lockfile, "{tool}/{case}");
                let text = repo.lockgate(&["--osv-url", &server.url()]);
                text.assert_stderr_contains(&format!("run `{command}`"));
            }
            total += 1;
            agreed += usize::from(got == tool_verdict);
        }
    }
    eprintln!(
        "frozen installs: lockgate agrees with the tool on {agreed} of {total} cases; stricter on \
         {} (installs something unlocked)",
        total - agreed
    );
    assert_eq!(total - agreed, STRICTER.len());
}

/// Appends an entry for `debug@4.4.2` (MAL-2025-46974) to a lockfile of `tool`.
fn with_malware(tool: &str, text: &str) -> String {
    match tool {
        "yarn-classic" => format!(
            "{text}\ndebug@^4.4.2:\n  version \"4.4.2\"\n  resolved \"https://registry.example.test/debug/-/debug-4.4.2.tgz\"\n"
        ),
        "yarn-berry" => format!(
            "{text}\n\"debug@npm:^4.4.2\":\n  version: 4.4.2\n  resolution: \"debug@npm:4.4.2\"\n  languageName: node\n  linkType: hard\n"
        ),
        "pnpm" => text.replacen(
            "\npackages:\n",
            "\npackages:\n\n  debug@4.4.2:\n    resolution: {integrity: sha512-AAAA}\n",
            1,
        ),
        "bun" => text.replacen(
            "\"packages\": {",
            "\"packages\": {\n    \"debug\": [\"debug@4.4.2\", \"\", {}, \"sha512-AAAA\"],",
            1,
        ),
        _ => unreachable!(),
    }
}

#[test]
fn a_staged_lockfile_of_each_tool_adding_malware_blocks() {
    let server = OsvServer::start();
    for (tool, lockfile, _) in TOOLS {
        let root = folder(&[tool, "small"]);
        let repo = TestRepo::new();
        write_project(&repo, &root, "web");
        repo.stage_all();
        repo.commit("project");
        let text = std::fs::read_to_string(root.join(lockfile)).unwrap();
        let edited = with_malware(tool, &text);
        assert_ne!(edited, text, "{tool}: the malware entry was not added");
        repo.write_and_stage(&format!("web/{lockfile}"), edited);
        let run = repo.lockgate(&["--osv-url", &server.url(), "--format", "json"]);
        run.assert_code(1);
        assert_eq!(run.findings(), ["MAL-2025-46974 debug@4.4.2"], "{tool}");
        assert_eq!(
            run.stdout_json()["checked"],
            1,
            "{tool}: only the added package is asked about"
        );
    }
}

#[test]
fn a_package_json_edit_without_its_lockfile_blocks_with_the_tools_command() {
    let server = OsvServer::start();
    for (tool, lockfile, command) in TOOLS {
        let root = folder(&[tool, "small"]);
        let repo = TestRepo::new();
        write_project(&repo, &root, "");
        repo.stage_all();
        repo.commit("project");
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join("package.json")).unwrap()).unwrap();
        manifest["dependencies"]["is-even"] = "^1.0.0".into();
        repo.write_and_stage("package.json", manifest.to_string());
        let run = repo.lockgate(&["--osv-url", &server.url()]);
        run.assert_code(1)
            .assert_stderr_contains(&format!("{lockfile}: "))
            .assert_stderr_contains("is-even")
            .assert_stderr_contains(&format!(
                "run `{command}` in the repository root and stage {lockfile}"
            ));
        assert_eq!(
            server.request_count(),
            0,
            "{tool}: nothing to ask OSV about"
        );
    }
}

#[test]
fn unparsable_lockfiles_are_named_with_their_line() {
    let cases = [
        (
            "yarn.lock",
            "# yarn lockfile v1\n\nis-odd@^3.0.1\n  version \"3.0.1\"\n",
            "yarn.lock:3:",
        ),
        (
            "pnpm-lock.yaml",
            "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: [\n",
            "pnpm-lock.yaml:4:",
        ),
        (
            "bun.lock",
            "{\n  \"lockfileVersion\": 1,\n  \"packages\": {\n    \"a\": [1],\n  }\n}\n",
            "bun.lock:4:",
        ),
    ];
    for (name, text, needle) in cases {
        let repo = TestRepo::new();
        repo.write_and_stage(name, text);
        repo.lockgate(&["--osv-url", "http://127.0.0.1:9"])
            .assert_code(2)
            .assert_stderr_contains(needle);
    }
}

#[test]
fn all_mode_and_pre_push_read_every_tools_lockfile() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    for (tool, ..) in TOOLS {
        write_project(&repo, &folder(&[tool, "small"]), tool);
    }
    repo.stage_all();
    let base = repo.commit("one small project per tool");

    // --all: four lockfiles, each package asked about once however many lock it.
    let run = repo.lockgate(&["--all", "--osv-url", &server.url(), "--format", "json"]);
    run.assert_success();
    let report = run.stdout_json();
    assert_eq!(report["lockfiles"].as_array().unwrap().len(), 4);
    assert_eq!(report["checked"], 4, "is-odd, is-number 6 and 7, left-pad");
    assert_eq!(server.querybatch_queries().len(), 4);

    // pre-push: a pushed commit adding debug@4.4.2 to the pnpm project is refused.
    let text = std::fs::read_to_string(folder(&["pnpm", "small", "pnpm-lock.yaml"])).unwrap();
    repo.write_and_stage("pnpm/pnpm-lock.yaml", with_malware("pnpm", &text));
    let head = repo.commit("add debug");
    let input = format!("refs/heads/main {head} refs/heads/main {base}\n");
    repo.lockgate_command(&["--osv-url", &server.url(), "--pre-push", "origin", "url"])
        .stdin(input)
        .run()
        .assert_code(1)
        .assert_stderr_contains("pnpm/pnpm-lock.yaml: debug@4.4.2 is MALWARE");
}
