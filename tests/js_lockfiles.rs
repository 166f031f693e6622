//! yarn (classic and berry), pnpm and bun lockfiles end to end through the compiled binary,
//! starting from projects the real tools made (tests/fixtures/npm/generate.sh). The package sets
//! each tool lists and its frozen-install verdicts are checked by the harness (tests/fixtures.rs).

use crate::support::fixtures::{fixture, write_case};
use crate::support::{OsvServer, TestRepo};

/// (fixture folder under tests/fixtures/npm, lockfile name, install command).
const TOOLS: [(&str, &str, &str); 4] = [
    ("yarn-classic", "yarn.lock", "yarn install"),
    ("yarn-berry", "yarn.lock", "yarn install"),
    ("pnpm", "pnpm-lock.yaml", "pnpm install"),
    ("bun", "bun.lock", "bun install"),
];

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
        let root = fixture(&format!("npm/{tool}/small"));
        let repo = TestRepo::new();
        write_case(&repo, &root, "web");
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
        let root = fixture(&format!("npm/{tool}/small"));
        let repo = TestRepo::new();
        write_case(&repo, &root, "");
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

/// A patch file edited and staged alone, with the lockfile left as it was, is stopped as yarn
/// and pnpm stop it (they record a hash of each patch).
#[test]
fn a_patch_file_edited_without_relocking_blocks() {
    let server = OsvServer::start();
    for (tool, command) in [("yarn-berry", "yarn install"), ("pnpm", "pnpm install")] {
        let repo = TestRepo::new();
        write_case(&repo, &fixture(&format!("npm/{tool}/patch")), "web");
        repo.stage_all();
        repo.commit("patched project");
        let patched = "web/patches/left-pad.patch";
        let text = std::fs::read_to_string(repo.path().join(patched)).unwrap();
        repo.write_and_stage(patched, text.replace("+hello", "+hello again"));
        let run = repo.lockgate(&["--osv-url", &server.url()]);
        run.assert_code(1)
            .assert_stderr_contains("left-pad.patch")
            .assert_stderr_contains(&format!("run `{command}` in web"));
        // The patch the lockfile was made with passes again.
        repo.write_and_stage(patched, &text);
        repo.lockgate(&["--osv-url", &server.url()]).assert_code(0);
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
        write_case(&repo, &fixture(&format!("npm/{tool}/small")), tool);
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
    let text = std::fs::read_to_string(fixture("npm/pnpm/small/pnpm-lock.yaml")).unwrap();
    repo.write_and_stage("pnpm/pnpm-lock.yaml", with_malware("pnpm", &text));
    let head = repo.commit("add debug");
    let input = format!("refs/heads/main {head} refs/heads/main {base}\n");
    repo.lockgate_command(&["--osv-url", &server.url(), "--pre-push", "origin", "url"])
        .stdin(input)
        .run()
        .assert_code(1)
        .assert_stderr_contains("pnpm/pnpm-lock.yaml: debug@4.4.2 is MALWARE");
}
