//! Lockfile enforcement end to end: npm's own verdicts (`../shared/npm-sync-cases/`) replayed as
//! staged changes in real repositories, and the staged-mode triggers of the sync check.

use crate::support::fixtures::{files_under, fixture, write_case};
use crate::support::{npm_lock_v3, package_json_matching, OsvServer, Run, TestRepo};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// npm's verdicts on package.json ↔ lockfile sync, one folder per case.
const CASES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/npm-sync-cases");

/// No record in ../shared/data/osv names these.
const CLEAN: [(&str, &str); 2] = [("left-pad", "1.3.0"), ("is-number", "7.0.0")];

fn run_json(repo: &TestRepo, server: &OsvServer) -> Run {
    repo.lockgate(&["--osv-url", &server.url(), "--format", "json"])
}

/// The problems of a JSON report as `kind path`.
fn problems(run: &Run) -> Vec<String> {
    run.stdout_json()["problems"]
        .as_array()
        .expect("problems is an array")
        .iter()
        .map(|problem| format!("{} {}", problem["kind"], problem["path"]))
        .collect()
}

/// Asserts the run blocked on exactly one problem: the root lockfile out of sync, in npm's words.
#[track_caller]
fn assert_out_of_sync(run: &Run, message: &str) {
    run.assert_code(1);
    assert_eq!(
        problems(run),
        [r#""lockfile-out-of-sync" "package-lock.json""#]
    );
    assert_eq!(run.stdout_json()["problems"][0]["message"], message);
}

/// lockgate's verdict on one case, or why it could not be read. A pass is exit 0; a block is
/// exit 1 from a sync problem (never from an advisory: the cases name only clean packages), or
/// exit 2 naming the lockfile that cannot be parsed (the staged-lockfile contract of exit 2).
fn verdict(name: &str, run: &Run) -> Result<&'static str, String> {
    match run.code {
        Some(0) => Ok("pass"),
        Some(1) => {
            let report: Value = run.stdout_json();
            let blocking_findings = report["findings"]
                .as_array()
                .is_some_and(|findings| findings.iter().any(|f| f["blocking"] == true));
            let blocking_problems = report["problems"]
                .as_array()
                .is_some_and(|problems| problems.iter().any(|p| p["blocking"] != false));
            if blocking_findings || !blocking_problems {
                return Err(format!(
                    "{name}: blocked for another reason\n{}",
                    run.output()
                ));
            }
            Ok("block")
        }
        Some(2)
            if run.stderr.contains("package-lock.json")
                || run.stdout_json()["problems"][0]["path"] == "package-lock.json" =>
        {
            Ok("block")
        }
        _ => Err(format!("{name}: unexpected outcome\n{}", run.output())),
    }
}

/// Cases whose expected verdict a later check changed, with the real tool's own verdict.
/// 18-yarn-lock-only expects a yarn project to pass on the strength of its yarn.lock alone (the
/// npm check does not read it); since lockgate checks yarn.lock as `yarn install
/// --frozen-lockfile` does, its hand-made yarn.lock, which lacks left-pad and is-number, blocks,
/// and yarn 1.22 itself refuses it ("Your lockfile needs to be updated, but yarn was run with
/// `--frozen-lockfile`"). 15-lock-integrity-resolved-edited points is-odd's `resolved` at another
/// host than every other entry of the new lockfile: npm installs it, lockgate's download-host
/// check blocks it (that edit is the lockfile injection the check is for).
/// 22-shrinkwrap-wins-sw-ok-lock-stale made its package-lock.json stale by editing is-odd's
/// `version` to 2.0.0 while its `resolved` still names the 3.0.1 tarball: npm ignores that file
/// beside npm-shrinkwrap.json, but lockgate checks every lockfile, and download-name-mismatch
/// blocks an entry whose version its tarball contradicts.
const SUPERSEDED: [(&str, &str, &str); 3] = [
    (
        "15-lock-integrity-resolved-edited",
        "block",
        "is-odd downloads from a host no other entry uses: download-host blocks it",
    ),
    (
        "22-shrinkwrap-wins-sw-ok-lock-stale",
        "block",
        "package-lock.json locks is-odd as 2.0.0 from the 3.0.1 tarball: download-name-mismatch",
    ),
    (
        "18-yarn-lock-only",
        "block",
        "yarn 1.22 --frozen-lockfile refuses its incomplete yarn.lock, and so does lockgate",
    ),
];

#[test]
fn every_npm_sync_case_agrees_with_its_expected_verdict() {
    let server = OsvServer::start();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(CASES_DIR)
        .expect("../shared/npm-sync-cases is beside the repository")
        .map(|entry| entry.expect("read a case").path())
        .filter(|path| path.join("case.json").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 50, "only {} cases found", cases.len());

    let mut disagreements = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap())
                .unwrap_or_else(|e| panic!("{name}/case.json: {e}"));
        let mut expect = meta["expect"].as_str().expect("case.json has expect");
        if let Some((_, superseded, why)) = SUPERSEDED.iter().find(|(case, ..)| *case == name) {
            eprintln!("{name}: expecting {superseded}, not {expect}: {why}");
            expect = superseded;
        }

        let repo = TestRepo::new();
        for file in files_under(case) {
            let relative = file
                .strip_prefix(case)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if relative != "case.json" {
                repo.write(&relative, std::fs::read(&file).unwrap());
            }
        }
        repo.stage_all();
        let run = run_json(&repo, &server);
        match verdict(&name, &run) {
            Ok(got) if got == expect => {}
            Ok(got) => disagreements.push(format!(
                "{name}: expected {expect}, lockgate said {got}\n{}",
                run.output()
            )),
            Err(why) => disagreements.push(why),
        }
    }
    eprintln!(
        "npm-sync-cases: lockgate agrees on {} of {} cases ({} with the verdict of a later check)",
        cases.len() - disagreements.len(),
        cases.len(),
        SUPERSEDED.len()
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n\n"));
}

#[test]
fn package_json_staged_without_its_lockfile_blocks_with_what_to_run() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("web/package.json", package_json_matching(&CLEAN));
    let run = repo.lockgate(&["--osv-url", &server.url()]);
    run.assert_code(1)
        .assert_stderr_contains("web/package-lock.json")
        .assert_stderr_contains("run `npm install` in web");
    assert_eq!(server.request_count(), 0, "the sync check is offline");
    assert_eq!(
        problems(&run_json(&repo, &server)),
        [r#""lockfile-missing" "web/package-lock.json""#]
    );
}

#[test]
fn package_json_edit_out_of_sync_with_the_committed_lockfile_blocks() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("package.json", package_json_matching(&CLEAN));
    repo.write_and_stage("package-lock.json", npm_lock_v3(&CLEAN));
    repo.commit("project");

    // Only package.json is staged: the lockfile is unchanged, so nothing is queried, but the
    // committed lockfile no longer answers the new dependency.
    let mut manifest: Value = serde_json::from_str(&package_json_matching(&CLEAN)).unwrap();
    manifest["dependencies"]["is-even"] = json!("^1.0.0");
    repo.write_and_stage("package.json", manifest.to_string());
    let run = run_json(&repo, &server);
    assert_out_of_sync(&run, "Missing: is-even@^1.0.0 from lock file");
    assert_eq!(server.request_count(), 0);
}

#[test]
fn deleting_the_lockfile_while_package_json_stays_blocks() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("package.json", package_json_matching(&CLEAN));
    repo.write_and_stage("package-lock.json", npm_lock_v3(&CLEAN));
    repo.commit("project");
    repo.remove_and_stage("package-lock.json");
    let run = run_json(&repo, &server);
    run.assert_code(1);
    assert_eq!(
        problems(&run),
        [r#""lockfile-missing" "package-lock.json""#]
    );
}

#[test]
fn a_workspace_member_change_is_judged_through_its_root() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let root = json!({"name": "mono", "version": "1.0.0", "workspaces": ["packages/*"]});
    let member = json!({"name": "a", "version": "1.0.0", "dependencies": {"left-pad": "^1.3.0"}});
    let lock = json!({"name": "mono", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
        "packages": {
            "": {"name": "mono", "version": "1.0.0", "workspaces": ["packages/*"]},
            "node_modules/a": {"resolved": "packages/a", "link": true},
            "node_modules/left-pad": {"version": "1.3.0"},
            "packages/a": {"name": "a", "version": "1.0.0", "dependencies": {"left-pad": "^1.3.0"}}}});
    repo.write_and_stage("package.json", root.to_string());
    repo.write_and_stage("packages/a/package.json", member.to_string());
    repo.write_and_stage("package-lock.json", lock.to_string());
    repo.commit("monorepo");

    // The member asks for something the root's lockfile does not hold; the member has no
    // lockfile of its own and must not be told to get one.
    let mut member = member;
    member["dependencies"]["is-even"] = json!("^1.0.0");
    repo.write_and_stage("packages/a/package.json", member.to_string());
    let run = run_json(&repo, &server);
    assert_out_of_sync(&run, "Missing: is-even@^1.0.0 from lock file");
}

#[test]
fn unrelated_files_trigger_no_check_and_no_parsing() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    // A package.json that does not even parse, committed earlier: untouched, it is not read.
    repo.write_and_stage("package.json", "{ not json");
    repo.commit("broken manifest, committed before lockgate");
    repo.write_and_stage("src/index.js", "console.log('hi')\n");
    repo.write_and_stage("node_modules/x/package.json", "{ also not json");
    let run = run_json(&repo, &server);
    run.assert_success();
    assert!(problems(&run).is_empty());
    assert_eq!(server.request_count(), 0);
}

#[test]
fn all_mode_checks_every_project_root() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("a/package.json", package_json_matching(&CLEAN));
    repo.write_and_stage("a/package-lock.json", npm_lock_v3(&CLEAN));
    repo.write_and_stage("b/package.json", package_json_matching(&CLEAN));
    repo.commit("two projects, one without a lockfile");
    let run = repo.lockgate(&["--osv-url", &server.url(), "--format", "json", "--all"]);
    run.assert_code(1);
    assert_eq!(
        problems(&run),
        [r#""lockfile-missing" "b/package-lock.json""#]
    );
}

/// `Missing: <name>@… from lock file` and `Invalid: lock file's <name>@…` lines, as
/// (kind, name): npm prints the version it would resolve online (or nothing, for a package it
/// cannot resolve), lockgate the range that is asked for, offline.
fn kind_and_name(line: &str) -> Option<(String, String)> {
    let (kind, rest) = line.split_once(": ")?;
    if kind != "Missing" && kind != "Invalid" {
        return None;
    }
    let rest = rest.strip_prefix("lock file's ").unwrap_or(rest);
    let at = rest.get(1..)?.find('@')? + 1;
    Some((kind.to_string(), rest[..at].to_string()))
}

#[test]
fn real_lockfiles_get_exactly_npms_list() {
    // ../shared/data/lockfiles: real npm lockfiles that npm ci rejects with 28 lines each.
    let server = OsvServer::builder().without_shared_data().start();
    for name in ["npm-2041-packages", "npm-5055-packages"] {
        let folder = Path::new(CASES_DIR).join("../data/lockfiles").join(name);
        let repo = TestRepo::new();
        for file in ["package.json", "package-lock.json", ".npmrc"] {
            repo.write_and_stage(file, std::fs::read(folder.join(file)).unwrap());
        }
        let run = run_json(&repo, &server);
        run.assert_code(1);
        let mut ours: Vec<(String, String)> = run.stdout_json()["problems"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|problem| problem["kind"] == "lockfile-out-of-sync")
            .filter_map(|problem| kind_and_name(problem["message"].as_str()?))
            .collect();
        let verdict = std::fs::read_to_string(folder.join("npm-ci-verdict.txt")).unwrap();
        let mut npm: Vec<(String, String)> = verdict.lines().filter_map(kind_and_name).collect();
        ours.sort();
        npm.sort();
        assert_eq!(npm.len(), 28, "{name}: npm's list");
        assert_eq!(ours, npm, "{name}");
    }
}

/// npm's exit code, from the first line of a verdict recorded beside a fixture.
fn npm_exit(verdict: &Path) -> i32 {
    let verdict = std::fs::read_to_string(verdict).unwrap();
    let first = verdict.lines().next().unwrap();
    first.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn editing_a_file_dependency_folder_checks_the_project_that_installs_it() {
    let server = OsvServer::start();
    // Made by the real npm (tests/fixtures/npm/package-lock/generate.sh); the harness checks
    // that npm's verdict on it as made, a pass, is lockgate's.
    let case = fixture("npm/package-lock/file-folder-dependency");
    let repo = TestRepo::new();
    write_case(&repo, &case, "");
    repo.stage_all();
    run_json(&repo, &server).assert_success();
    repo.commit("project with a file: folder dependency");

    // npm ci refuses once lib/package.json asks for is-odd (verdict-after-edit.txt).
    assert_eq!(npm_exit(&case.join("verdict-after-edit.txt")), 1);
    repo.write_and_stage(
        "lib/package.json",
        r#"{"name": "lib", "version": "1.0.0", "dependencies": {"is-odd": "^3.0.1"}}"#,
    );
    let run = run_json(&repo, &server);
    assert_out_of_sync(&run, "Missing: is-odd@^3.0.1 from lock file");
}

#[test]
fn a_byte_order_mark_does_not_hide_a_workspace_root() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let root = r#"{"name": "mono", "version": "1.0.0", "workspaces": ["packages/*"]}"#;
    let lock = json!({"name": "mono", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
        "packages": {
            "": {"name": "mono", "version": "1.0.0", "workspaces": ["packages/*"]},
            "node_modules/a": {"resolved": "packages/a", "link": true},
            "packages/a": {"name": "a", "version": "1.0.0"}}});
    repo.write_and_stage("package.json", format!("\u{feff}{root}"));
    repo.write_and_stage(
        "packages/a/package.json",
        r#"{"name": "a", "version": "1.0.0"}"#,
    );
    repo.write_and_stage("package-lock.json", lock.to_string());
    repo.commit("workspaces, package.json saved with a BOM");
    repo.write_and_stage(
        "packages/a/package.json",
        r#"{"name": "a", "version": "1.0.0", "dependencies": {"is-even": "^1.0.0"}}"#,
    );
    let run = run_json(&repo, &server);
    assert_out_of_sync(&run, "Missing: is-even@^1.0.0 from lock file");
}

#[test]
fn an_npmrc_change_alone_is_judged() {
    // 76-legacy-peer-deps-npmrc passes only because of its .npmrc; removing that line alone
    // makes npm ci refuse the peer dependency added after locking.
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let case = Path::new(CASES_DIR).join("76-legacy-peer-deps-npmrc");
    for name in ["package.json", "package-lock.json", ".npmrc"] {
        repo.write_and_stage(name, std::fs::read(case.join(name)).unwrap());
    }
    run_json(&repo, &server).assert_success();
    repo.commit("legacy peer deps");
    repo.write_and_stage(".npmrc", "");
    let run = run_json(&repo, &server);
    assert_out_of_sync(&run, "Missing: is-even@^1.0.0 from lock file");
}

#[test]
fn another_tools_lockfile_counts_unless_package_manager_names_npm() {
    let server = OsvServer::start();
    for (package_manager, expected) in [
        (None, 0),
        (Some("yarn@1.22.22"), 0),
        (Some("npm@11.1.0"), 1),
    ] {
        let repo = TestRepo::new();
        let mut manifest: Value = serde_json::from_str(&package_json_matching(&CLEAN)).unwrap();
        if let Some(manager) = package_manager {
            manifest["packageManager"] = json!(manager);
        }
        repo.write_and_stage("package.json", manifest.to_string());
        // A yarn.lock that locks what package.json asks for (^version ranges).
        let yarn_lock: String = CLEAN
            .iter()
            .map(|(name, version)| {
                format!("{name}@^{version}:\n  version \"{version}\"\n  integrity sha512-AAAA\n\n")
            })
            .collect();
        repo.write_and_stage("yarn.lock", format!("# yarn lockfile v1\n\n\n{yarn_lock}"));
        let run = run_json(&repo, &server);
        assert_eq!(
            run.code,
            Some(expected),
            "{package_manager:?}\n{}",
            run.output()
        );
        if expected == 1 {
            assert_eq!(
                problems(&run),
                [r#""lockfile-missing" "package-lock.json""#]
            );
            let message = run.stdout_json()["problems"][0]["message"].clone();
            assert!(
                message
                    .as_str()
                    .unwrap()
                    .contains("packageManager names npm"),
                "{message}"
            );
        }
    }
}

/// A folder holding a `node` that answers `--version` with `version`, as the one on `PATH`.
fn node_folder(repo: &TestRepo, version: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let folder = repo.home().join(format!("node-{version}"));
    std::fs::create_dir_all(&folder).unwrap();
    let program = folder.join("node");
    std::fs::write(&program, format!("#!/bin/sh\necho {version}\n")).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    folder
}

#[test]
fn engines_are_judged_against_the_declared_node_else_the_one_on_path() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let mut manifest: Value = serde_json::from_str(&package_json_matching(&CLEAN)).unwrap();
    manifest["engines"] = json!({"node": ">=22"});
    repo.write_and_stage("package.json", manifest.to_string());
    repo.write_and_stage("package-lock.json", npm_lock_v3(&CLEAN));
    repo.write_and_stage(".npmrc", "engine-strict=true\n");
    let old = node_folder(&repo, "v20.20.2");
    let new = node_folder(&repo, "v22.12.0");
    // lockgate asks nothing else of PATH: a folder with nothing in it stands for the rest.
    let empty = repo.home().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let sh = empty.display().to_string();
    let run_on = |path: &str| {
        repo.lockgate_command(&["--osv-url", &server.url(), "--format", "json"])
            .env("PATH", path)
            .run()
    };
    let message = |run: &Run| {
        run.stdout_json()["problems"][0]["message"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // No Node.js version declared: npm ci's verdict is the machine's, so the `node` on PATH
    // judges, as it would judge the install.
    let run = run_on(&format!("{}:{sh}", old.display()));
    run.assert_code(1);
    assert_eq!(problems(&run), [r#""engine-unsupported" "package.json""#]);
    let said = message(&run);
    assert!(
        said.contains(">=22")
            && said.contains("v20.20.2")
            && said.contains("on PATH")
            && said.contains(".nvmrc"),
        "{said}"
    );
    run_on(&format!("{}:{sh}", new.display())).assert_code(0);

    // With no `node` to ask, lockgate says it cannot judge, without blocking. A relative PATH
    // folder is not searched: a repository cannot put its own `node` first.
    std::fs::create_dir_all(repo.path().join("bin")).unwrap();
    std::fs::copy(new.join("node"), repo.path().join("bin/node")).unwrap();
    for path in [sh.clone(), format!("bin:{sh}")] {
        let run = run_on(&path);
        run.assert_code(0);
        let note = &run.stdout_json()["problems"][0];
        assert_eq!(note["kind"], "engine-unsupported");
        assert_eq!(note["blocking"], false);
        let said = message(&run);
        assert!(
            said.contains("cannot judge") && said.contains(".nvmrc"),
            "{said}"
        );
    }
    repo.commit("project");

    // A declared version judges, whatever is on PATH; declaring it is a change that calls for
    // the check.
    repo.write_and_stage("app/.keep", "");
    repo.write_and_stage(".nvmrc", "v20.11.1\n");
    let run = run_on(&format!("{}:{sh}", new.display()));
    run.assert_code(1);
    assert_eq!(problems(&run), [r#""engine-unsupported" "package.json""#]);
    let said = message(&run);
    assert!(
        said.contains(">=22") && said.contains("v20.11.1") && said.contains(".nvmrc"),
        "{said}"
    );

    // A name only a version manager resolves leaves it to the `node` on PATH.
    repo.write_and_stage(".nvmrc", "lts/iron\n");
    let run = run_on(&format!("{}:{sh}", old.display()));
    run.assert_code(1);
    assert!(message(&run).contains("lts/iron"), "{}", message(&run));
    run_on(&format!("{}:{sh}", new.display())).assert_code(0);

    // A major it allows passes.
    repo.write_and_stage(".nvmrc", "22\n");
    let run = run_on(&format!("{}:{sh}", old.display()));
    run.assert_code(0);
    assert_eq!(problems(&run), Vec::<String>::new());
}

#[test]
fn yarn_classic_judges_engines_unless_told_to_ignore_them() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    write_case(
        &repo,
        &fixture("npm/yarn-classic/engines-raised-not-strict"),
        "",
    );
    repo.stage_all();
    let run = run_json(&repo, &server);
    run.assert_code(1);
    assert_eq!(problems(&run), [r#""engine-unsupported" "package.json""#]);
    repo.write_and_stage(".yarnrc", "ignore-engines true\n");
    run_json(&repo, &server).assert_code(0);
}
