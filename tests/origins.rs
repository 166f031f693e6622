//! Dependencies from outside the registry (git, tarball URLs, local paths) that a change adds:
//! below the top level they block, asked for by a manifest they are said; git sources that
//! follow a branch or a tag are said. Lockfiles in the shapes the real tools write
//! (tests/fixtures/npm/{pnpm,bun,yarn-classic}/git, tests/fixtures/pypi/uv/source-git-*),
//! edited by hand.

use crate::support::lockfiles::{npm_integrity, npm_resolved_url};
use crate::support::{OsvServer, Run, TestRepo};
use serde_json::json;

const SHA: &str = "b7d9818608d0fe7aec016186c6e3afc5df721145";

fn run(repo: &TestRepo, server: &OsvServer) -> Run {
    repo.lockgate(&["--osv-url", &server.url(), "--format", "json"])
}

/// A package.json that asks for is-odd ^3.0.1 alone.
const ASKS_FOR_IS_ODD: &str =
    "{\n  \"name\": \"app\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {\n    \
     \"is-odd\": \"^3.0.1\"\n  }\n}\n";

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|line| line.contains(needle)).unwrap() + 1
}

/// A registry entry of an npm lockfile (version 3).
fn npm_entry(name: &str, version: &str) -> serde_json::Value {
    json!({
        "version": version,
        "resolved": npm_resolved_url(name, version),
        "integrity": npm_integrity(name, version),
    })
}

/// An npm project (package.json and package-lock.json in sync) whose root asks for `asked`
/// (name → spec) and locks `nodes` (folder → entry).
fn stage_npm(repo: &TestRepo, asked: serde_json::Value, nodes: &[(&str, serde_json::Value)]) {
    let manifest = json!({"name": "app", "version": "1.0.0", "dependencies": asked});
    let mut packages = serde_json::Map::new();
    packages.insert(
        String::new(),
        json!({"name": "app", "version": "1.0.0", "dependencies": asked}),
    );
    for (folder, node) in nodes {
        packages.insert((*folder).to_string(), node.clone());
    }
    let lock = json!({
        "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
        "packages": packages,
    });
    repo.write_and_stage(
        "package.json",
        serde_json::to_string_pretty(&manifest).unwrap() + "\n",
    );
    repo.write_and_stage(
        "package-lock.json",
        serde_json::to_string_pretty(&lock).unwrap() + "\n",
    );
}

/// The nodes of an npm project that locks only registry packages: is-odd 3.0.1, its dependency
/// is-number 6.0.0, and left-pad 1.3.0.
fn registry_nodes() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("node_modules/is-number", npm_entry("is-number", "6.0.0")),
        (
            "node_modules/is-odd",
            json!({"version": "3.0.1", "resolved": npm_resolved_url("is-odd", "3.0.1"),
                   "integrity": npm_integrity("is-odd", "3.0.1"),
                   "dependencies": {"is-number": "^6.0.0"}}),
        ),
        ("node_modules/left-pad", npm_entry("left-pad", "1.3.0")),
    ]
}

#[test]
fn npm_a_nested_git_dependency_blocks_and_one_the_project_asks_for_is_said() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    stage_npm(
        &repo,
        json!({"is-odd": "^3.0.0", "left-pad": "^1.3.0"}),
        &registry_nodes(),
    );
    repo.commit("project");

    // is-odd 3.0.2 now takes is-number from a git repository, following a branch.
    let git = format!("git+https://git.example.test/evil/is-number.git#{SHA}");
    stage_npm(
        &repo,
        json!({"is-odd": "^3.0.0", "left-pad": "^1.3.0"}),
        &[
            (
                "node_modules/is-number",
                json!({"version": "6.0.0", "resolved": git}),
            ),
            (
                "node_modules/is-odd",
                json!({"version": "3.0.2", "resolved": npm_resolved_url("is-odd", "3.0.2"),
                "integrity": npm_integrity("is-odd", "3.0.2"),
                "dependencies": {
                    "is-number": "git+https://git.example.test/evil/is-number.git#main"
                }}),
            ),
            ("node_modules/left-pad", npm_entry("left-pad", "1.3.0")),
        ],
    );
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    let lock = repo.read("package-lock.json");
    let deep = blocked.single_problem(
        "source-deep",
        "package-lock.json",
        line_of(&lock, "\"node_modules/is-number\""),
        &format!(
            "is-number comes from the git repository {git}, and no manifest of the project \
             asks for it: is-odd@3.0.2 depends on it."
        ),
    );
    assert_eq!(deep["blocking"], true);
    let unpinned = blocked.problems_of("git-ref-unpinned");
    assert_eq!(unpinned.len(), 1, "{}", blocked.output());
    assert_eq!(unpinned[0]["blocking"], false);
    let message = unpinned[0]["message"].as_str().unwrap();
    assert!(
        message.contains("follows main (a branch or a tag) (locked now at b7d9818608d0"),
        "{message}"
    );
    assert!(blocked.problems_of("source-direct").is_empty());

    // The project asks for a git dependency itself, at a commit: said, not blocking.
    let direct = format!("git+ssh://git@git.example.test/acme/tool.git#{SHA}");
    let mut nodes = registry_nodes();
    nodes.push((
        "node_modules/tool",
        json!({"version": "2.0.0", "resolved": direct}),
    ));
    stage_npm(
        &repo,
        json!({"is-odd": "^3.0.0", "left-pad": "^1.3.0",
               "tool": format!("git+ssh://git@git.example.test/acme/tool.git#{SHA}")}),
        &nodes,
    );
    let warned = run(&repo, &server);
    warned.assert_code(0);
    let said = warned.single_problem(
        "source-direct",
        "package-lock.json",
        line_of(&repo.read("package-lock.json"), "\"node_modules/tool\""),
        &format!("tool comes from the git repository {direct}, not from a registry"),
    );
    assert_eq!(said["blocking"], false);
    assert_eq!(warned.problem_kinds(), ["source-direct"]);

    // Levels: `off` silences it, `block` makes it block; an exemption covers it.
    repo.write_and_stage(".lockgate.toml", "[checks]\nsource-direct = \"off\"\n");
    assert_eq!(run(&repo, &server).problem_kinds(), Vec::<String>::new());
    repo.write_and_stage(".lockgate.toml", "[checks]\nsource-direct = \"block\"\n");
    run(&repo, &server).assert_code(1);
    repo.write_and_stage(
        ".lockgate.toml",
        "[checks]\nsource-direct = \"block\"\n\n[[exempt]]\npackage = \"tool\"\n\
         check = \"source-direct\"\nreason = \"our own fork\"\nuntil = 2099-01-01\n",
    );
    let exempt = run(&repo, &server);
    exempt.assert_code(0);
    assert_eq!(exempt.problem_kinds(), Vec::<String>::new());
}

#[test]
fn yarn_classic_a_tarball_url_below_the_top_level_blocks() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("package.json", ASKS_FOR_IS_ODD);
    let lock = format!(
        "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n\
         is-odd@^3.0.1:\n  version \"3.0.1\"\n  resolved \"{}#0\"\n  integrity {}\n  \
         dependencies:\n    is-number \"https://files.example.test/is-number-6.0.0.tgz\"\n\n\
         \"is-number@https://files.example.test/is-number-6.0.0.tgz\":\n  version \"6.0.0\"\n  \
         resolved \"https://files.example.test/is-number-6.0.0.tgz\"\n",
        npm_resolved_url("is-odd", "3.0.1"),
        npm_integrity("is-odd", "3.0.1"),
    );
    repo.write_and_stage("yarn.lock", &lock);
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    blocked.single_problem(
        "source-deep",
        "yarn.lock",
        line_of(&lock, "\"is-number@https"),
        "is-number comes from the tarball URL https://files.example.test/is-number-6.0.0.tgz, \
         and no manifest of the project asks for it: is-odd@3.0.1 depends on it.",
    );
    // A tarball is no git source: nothing to pin.
    assert!(blocked.problems_of("git-ref-unpinned").is_empty());

    // Configured off, nothing is said.
    repo.write_and_stage(".lockgate.toml", "[checks]\nsource-deep = \"off\"\n");
    let off = run(&repo, &server);
    assert!(
        off.problems_of("source-deep").is_empty(),
        "{}",
        off.output()
    );
}

#[test]
fn pnpm_a_git_dependency_of_a_registry_package_blocks() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("package.json", ASKS_FOR_IS_ODD);
    let repo_url = "https://git.example.test/evil/gdep.git";
    let lock = format!(
        "lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n  excludeLinksFromLockfile: false\n\n\
         importers:\n\n  .:\n    dependencies:\n      is-odd:\n        specifier: ^3.0.1\n        version: 3.0.1\n\n\
         packages:\n\n  gdep@git+{repo_url}#{SHA}:\n    resolution: {{commit: {SHA}, repo: {repo_url}, type: git}}\n    version: 1.0.0\n\n  \
         is-odd@3.0.1:\n    resolution: {{integrity: {}}}\n\n\
         snapshots:\n\n  gdep@git+{repo_url}#{SHA}: {{}}\n\n  is-odd@3.0.1:\n    dependencies:\n      gdep: git+{repo_url}#{SHA}\n",
        npm_integrity("is-odd", "3.0.1"),
    );
    repo.write_and_stage("pnpm-lock.yaml", &lock);
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    blocked.single_problem(
        "source-deep",
        "pnpm-lock.yaml",
        line_of(&lock, "  gdep@git+"),
        &format!(
            "gdep comes from the git repository {repo_url}#{SHA}, and no manifest of the \
             project asks for it: is-odd@3.0.1 depends on it."
        ),
    );
    // pnpm records no specifier for a package's own dependencies: nothing is guessed.
    assert!(blocked.problems_of("git-ref-unpinned").is_empty());
}

#[test]
fn pnpm_and_bun_fixtures_from_the_real_tools_ask_for_their_git_dependency() {
    // Both projects ask for `gdep` at the tag v1 in package.json (tests/fixtures/npm/*/git).
    let server = OsvServer::start();
    for (tool, lockfile) in [
        ("pnpm", "pnpm-lock.yaml"),
        ("bun", "bun.lock"),
        ("yarn-classic", "yarn.lock"),
    ] {
        let root = crate::support::fixtures::fixture(&format!("npm/{tool}/git"));
        let repo = TestRepo::new();
        for file in ["package.json", lockfile] {
            repo.write_and_stage(file, std::fs::read(root.join(file)).unwrap());
        }
        let said = run(&repo, &server);
        said.assert_code(0);
        assert_eq!(
            said.problem_kinds(),
            ["source-direct", "git-ref-unpinned"],
            "{tool}: {}",
            said.output()
        );
        let message = said.problems_of("git-ref-unpinned")[0]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            message.contains(&format!(
                "follows v1 (a branch or a tag) (locked now at {SHA})"
            )),
            "{tool}: {message}"
        );
    }
}

/// A uv project asking for `helper` from git with `reference` (`branch=main`, `rev=<sha>`).
fn stage_uv(repo: &TestRepo, reference: (&str, &str)) {
    let (key, value) = reference;
    let url = "https://git.example.test/acme/helper.git";
    repo.write_and_stage(
        "pyproject.toml",
        format!(
            "[project]\nname = \"case\"\nversion = \"0.1.0\"\nrequires-python = \">=3.10\"\n\
             dependencies = [\"helper\"]\n\n[tool.uv.sources]\nhelper = {{ git = \"{url}\", {key} = \"{value}\" }}\n"
        ),
    );
    repo.write_and_stage(
        "uv.lock",
        format!(
            "version = 1\nrevision = 3\nrequires-python = \">=3.10\"\n\n\
             [[package]]\nname = \"case\"\nversion = \"0.1.0\"\nsource = {{ virtual = \".\" }}\n\
             dependencies = [\n    {{ name = \"helper\" }},\n]\n\n[package.metadata]\n\
             requires-dist = [{{ name = \"helper\", git = \"{url}?{key}={value}\" }}]\n\n\
             [[package]]\nname = \"helper\"\nversion = \"1.0.0\"\nsource = {{ git = \"{url}?{key}={value}#{SHA}\" }}\n"
        ),
    );
}

#[test]
fn uv_a_git_source_on_a_branch_is_said_and_one_on_a_commit_is_not() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    stage_uv(&repo, ("branch", "main"));
    let said = run(&repo, &server);
    said.assert_code(0);
    assert_eq!(
        said.problem_kinds(),
        ["source-direct", "git-ref-unpinned"],
        "{}",
        said.output()
    );
    said.single_problem(
        "git-ref-unpinned",
        "uv.lock",
        17,
        &format!(
            "helper comes from the git repository \
             https://git.example.test/acme/helper.git?branch=main#{SHA} and follows the branch \
             main (locked now at {SHA})"
        ),
    );

    stage_uv(&repo, ("rev", SHA));
    let pinned = run(&repo, &server);
    pinned.assert_code(0);
    assert_eq!(
        pinned.problem_kinds(),
        ["source-direct"],
        "{}",
        pinned.output()
    );

    // Configured to block, the branch blocks.
    stage_uv(&repo, ("branch", "main"));
    repo.write_and_stage(".lockgate.toml", "[checks]\ngit-ref-unpinned = \"block\"\n");
    run(&repo, &server).assert_code(1);
}

#[test]
fn poetry_a_git_source_on_a_branch_is_said() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let lock = format!(
        "# This file is automatically @generated by Poetry 2.1.3 and should not be changed by hand.\n\n\
         [[package]]\nname = \"helper\"\nversion = \"1.0.0\"\ndescription = \"\"\noptional = false\n\
         python-versions = \"*\"\ngroups = [\"main\"]\nfiles = []\n\n[package.source]\ntype = \"git\"\n\
         url = \"https://git.example.test/acme/helper.git\"\nreference = \"main\"\n\
         resolved_reference = \"{SHA}\"\n\n[metadata]\nlock-version = \"2.1\"\n\
         python-versions = \">=3.10\"\ncontent-hash = \"0\"\n"
    );
    repo.write_and_stage("poetry.lock", &lock);
    let said = run(&repo, &server);
    let unpinned = said.single_problem(
        "git-ref-unpinned",
        "poetry.lock",
        line_of(&lock, "name = \"helper\""),
        "helper comes from the git repository https://git.example.test/acme/helper.git",
    );
    let message = unpinned["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "follows main (a branch or a tag) (locked now at {SHA})"
        )),
        "{message}"
    );
    // Nothing in the lockfile depends on it: the project's own.
    assert_eq!(
        said.problems_of("source-direct").len(),
        1,
        "{}",
        said.output()
    );
    assert!(said.problems_of("source-deep").is_empty());
}

#[test]
fn a_local_path_below_the_top_level_blocks() {
    // A registry package of a uv project that depends on a folder of the machine.
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage(
        "pyproject.toml",
        "[project]\nname = \"case\"\nversion = \"0.1.0\"\nrequires-python = \">=3.10\"\n\
         dependencies = [\"six>=1.15\"]\n",
    );
    let lock = "version = 1\nrevision = 3\nrequires-python = \">=3.10\"\n\n\
         [[package]]\nname = \"case\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\n\
         dependencies = [\n    { name = \"six\" },\n]\n\n[package.metadata]\n\
         requires-dist = [{ name = \"six\", specifier = \">=1.15\" }]\n\n\
         [[package]]\nname = \"six\"\nversion = \"1.17.0\"\nsource = { registry = \"https://pypi.example.test/simple\" }\n\
         dependencies = [\n    { name = \"sidecar\" },\n]\n\
         sdist = { url = \"https://files.example.test/six-1.17.0.tar.gz\", hash = \"sha256:ff70335d468e7eb6ec65b95b99d3a2836546063f63acc5171de367e834932a81\" }\n\n\
         [[package]]\nname = \"sidecar\"\nversion = \"0.1.0\"\nsource = { directory = \"/opt/shared/sidecar\" }\n";
    repo.write_and_stage("uv.lock", lock);
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    let line = lock
        .lines()
        .position(|line| line == "name = \"sidecar\"")
        .unwrap()
        + 1;
    blocked.single_problem(
        "source-deep",
        "uv.lock",
        line,
        "sidecar comes from the local path /opt/shared/sidecar, and no manifest of the \
         project asks for it: six@1.17.0 depends on it.",
    );

    // Exempted, it passes.
    repo.write_and_stage(
        ".lockgate.toml",
        "[[exempt]]\npackage = \"sidecar\"\ncheck = \"source-deep\"\nreason = \"vendored\"\n\
         until = 2099-01-01\n",
    );
    let exempt = run(&repo, &server);
    assert!(
        exempt.problems_of("source-deep").is_empty(),
        "{}",
        exempt.output()
    );
}
