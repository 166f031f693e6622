//! Where a change downloads from: a host no registry of the project's, a version kept with
//! another URL, a URL that names another package. Each edit is the one an attacker makes to a
//! lockfile the real tool wrote, checked through the compiled binary.

use crate::support::lockfiles::{npm_resolved_url, CLEAN_NPM, CLEAN_NPM_AND_IS_ODD};
use crate::support::{npm_lock_v3, package_json_matching, OsvServer, Run, TestRepo};

fn run(repo: &TestRepo, server: &OsvServer) -> Run {
    repo.lockgate(&["--osv-url", &server.url(), "--format", "json"])
}

/// The 1-based line of the first line of `text` that contains `needle` (or, for a needle
/// starting with a newline, that is the rest of it).
fn line_of(text: &str, needle: &str) -> usize {
    let found = match needle.strip_prefix('\n') {
        Some(whole) => text.lines().position(|line| line == whole),
        None => text.lines().position(|line| line.contains(needle)),
    };
    found.unwrap() + 1
}

/// `packages` locked by npm, with each of `moved` (name, URL) resolved from that URL instead.
fn npm_lock_with(packages: &[(&str, &str)], moved: &[(&str, &str)]) -> String {
    let mut lock: serde_json::Value = serde_json::from_str(&npm_lock_v3(packages)).unwrap();
    for (name, url) in moved {
        lock["packages"][format!("node_modules/{name}")]["resolved"] = serde_json::json!(url);
    }
    serde_json::to_string_pretty(&lock).unwrap() + "\n"
}

/// Stages `packages` as the npm project, with `moved` resolved from elsewhere; returns the lock.
fn stage_npm(repo: &TestRepo, packages: &[(&str, &str)], moved: &[(&str, &str)]) -> String {
    let lock = npm_lock_with(packages, moved);
    repo.write_and_stage("package.json", package_json_matching(packages));
    repo.write_and_stage("package-lock.json", &lock);
    lock
}

#[test]
fn an_upgrade_that_swaps_the_host_blocks_at_its_line_unless_the_host_is_allowed() {
    let server = OsvServer::start();
    let repo = TestRepo::with_committed_npm_project(&CLEAN_NPM);
    let upgraded = [("left-pad", "1.3.1"), ("is-number", "7.0.0")];
    let evil = "https://evil.example.test/left-pad/-/left-pad-1.3.1.tgz";
    let lock = stage_npm(&repo, &upgraded, &[("left-pad", evil)]);
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    let problem = blocked.single_problem(
        "download-host",
        "package-lock.json",
        line_of(&lock, "\"node_modules/left-pad\""),
        "left-pad@1.3.1 downloads from evil.example.test",
    );
    assert_eq!(problem["blocking"], true);
    let message = problem["message"].as_str().unwrap();
    for words in [
        "did not download from before",
        "in .npmrc",
        "allowed-hosts under [checks]",
    ] {
        assert!(message.contains(words), "{words:?} in {message}");
    }

    // Allowed in .lockgate.toml, exactly or by a suffix...
    for allowed in ["evil.example.test", "*.example.test"] {
        repo.write_and_stage(
            ".lockgate.toml",
            format!("[checks]\nallowed-hosts = [\"{allowed}\"]\n"),
        );
        let passed = run(&repo, &server);
        passed.assert_code(0);
        assert_eq!(
            passed.problems_of("download-host"),
            Vec::<serde_json::Value>::new()
        );
    }
    // ... (a suffix is not the host itself) ...
    repo.write_and_stage(
        ".lockgate.toml",
        "[checks]\nallowed-hosts = [\"*.evil.example.test\"]\n",
    );
    run(&repo, &server).assert_code(1);
    // ... or as the project's registry.
    repo.remove_and_stage(".lockgate.toml");
    repo.write_and_stage(".npmrc", "registry=https://evil.example.test/\n");
    run(&repo, &server).assert_code(0);
    repo.remove_and_stage(".npmrc");

    // Levels: warn says it without blocking; off says nothing.
    repo.write_and_stage(".lockgate.toml", "[checks]\ndownload-host = \"warn\"\n");
    let warned = run(&repo, &server);
    warned.assert_code(0);
    assert_eq!(warned.problems_of("download-host")[0]["blocking"], false);
    repo.write_and_stage(".lockgate.toml", "[checks]\ndownload-host = \"off\"\n");
    let off = run(&repo, &server);
    off.assert_code(0);
    assert!(off.problems_of("download-host").is_empty());
    // An exemption names the package, a reason and an end.
    repo.write_and_stage(
        ".lockgate.toml",
        "[[exempt]]\npackage = \"left-pad\"\ncheck = \"download-host\"\nreason = \"our fork\"\nuntil = 2099-12-31\n",
    );
    let exempt = run(&repo, &server);
    exempt.assert_code(0);
    assert!(exempt.problems_of("download-host").is_empty());
}

#[test]
fn a_scoped_registry_and_hosts_head_already_used_are_allowed() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let mirror = "https://mirror.example.test/is-number/-/is-number-7.0.0.tgz";
    stage_npm(&repo, &CLEAN_NPM, &[("is-number", mirror)]);
    repo.commit("one entry from a mirror");

    // A package added from the mirror HEAD's lockfile already used.
    let more = CLEAN_NPM_AND_IS_ODD;
    let is_odd = "https://mirror.example.test/is-odd/-/is-odd-3.0.1.tgz";
    stage_npm(&repo, &more, &[("is-number", mirror), ("is-odd", is_odd)]);
    let passed = run(&repo, &server);
    passed.assert_code(0);
    assert!(passed.problems_of("download-host").is_empty());

    // A scoped package from the scope's registry, as .npmrc names it.
    let scoped = [
        ("left-pad", "1.3.0"),
        ("is-number", "7.0.0"),
        ("@acme/tool", "1.0.0"),
    ];
    let acme = "https://npm.acme.example.test/@acme/tool/-/tool-1.0.0.tgz";
    stage_npm(
        &repo,
        &scoped,
        &[("is-number", mirror), ("@acme/tool", acme)],
    );
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    assert!(blocked.problems_of("download-host")[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("@acme/tool@1.0.0 downloads from npm.acme.example.test"));
    repo.write_and_stage(".npmrc", "@acme:registry=https://npm.acme.example.test/\n");
    let allowed = run(&repo, &server);
    allowed.assert_code(0);
    assert!(allowed.problems_of("download-host").is_empty());
}

#[test]
fn a_yarn_entry_added_from_an_unknown_host_blocks() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let entry = |name: &str, version: &str, url: &str| {
        format!(
            "{name}@^{version}:\n  version \"{version}\"\n  resolved \"{url}#0123456789abcdef0123456789abcdef01234567\"\n  integrity {}\n",
            crate::support::lockfiles::npm_integrity(name, version)
        )
    };
    let header = "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n";
    let yarn = |entries: &[String]| format!("{header}{}", entries.join("\n"));
    let left_pad = entry("left-pad", "1.3.0", &npm_resolved_url("left-pad", "1.3.0"));
    let is_number = entry(
        "is-number",
        "7.0.0",
        &npm_resolved_url("is-number", "7.0.0"),
    );
    repo.write_and_stage("package.json", package_json_matching(&CLEAN_NPM));
    repo.write_and_stage("yarn.lock", yarn(&[is_number.clone(), left_pad.clone()]));
    repo.commit("yarn project");

    let added = CLEAN_NPM_AND_IS_ODD;
    let is_odd = entry(
        "is-odd",
        "3.0.1",
        "https://evil.example.test/is-odd/-/is-odd-3.0.1.tgz",
    );
    let lock = yarn(&[is_number, is_odd, left_pad]);
    repo.write_and_stage("package.json", package_json_matching(&added));
    repo.write_and_stage("yarn.lock", &lock);
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    let problem = blocked.single_problem(
        "download-host",
        "yarn.lock",
        line_of(&lock, "is-odd@^3.0.1:"),
        "is-odd@3.0.1 downloads from evil.example.test",
    );
    let message = problem["message"].as_str().unwrap();
    assert!(message.contains(".yarnrc.yml"), "{message}");
}

#[test]
fn a_first_commit_blocks_the_entry_whose_host_most_others_do_not_use() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let packages = [
        ("left-pad", "1.3.0"),
        ("is-number", "7.0.0"),
        ("is-odd", "3.0.1"),
        ("is-even", "1.0.0"),
    ];
    let odd = "https://files.evil.example.test/is-odd/-/is-odd-3.0.1.tgz";
    let lock = stage_npm(&repo, &packages, &[("is-odd", odd)]);
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    let problem = blocked.single_problem(
        "download-host",
        "package-lock.json",
        line_of(&lock, "\"node_modules/is-odd\""),
        "is-odd@3.0.1 downloads from files.evil.example.test",
    );
    let message = problem["message"].as_str().unwrap();
    assert!(
        message.contains("most of this new lockfile's entries download from registry.example.test"),
        "{message}"
    );
}

/// A uv project locking idna and six, each an sdist and a wheel, with `files` as the files host
/// and `index` as the index; `idna_files` overrides idna's files host.
fn uv_lock(index: &str, files: &str, idna_files: &str, idna_version: &str) -> String {
    let package = |name: &str, version: &str, files: &str| {
        format!(
            "[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = {{ registry = \"{index}/simple\" }}\n\
             sdist = {{ url = \"{files}/packages/aa/{name}-{version}.tar.gz\", hash = \"sha256:{hash}\", size = 100, upload-time = \"2024-01-01T00:00:00Z\" }}\n\
             wheels = [\n    {{ url = \"{files}/packages/bb/{name}-{version}-py3-none-any.whl\", hash = \"sha256:{hash}\", size = 100, upload-time = \"2024-01-01T00:00:00Z\" }},\n]\n",
            hash = "0".repeat(64)
        )
    };
    format!(
        "version = 1\nrevision = 3\nrequires-python = \">=3.10\"\n\n\
         [[package]]\nname = \"demo\"\nversion = \"0.1.0\"\nsource = {{ virtual = \".\" }}\n\
         dependencies = [\n    {{ name = \"idna\" }},\n    {{ name = \"six\" }},\n]\n\n\
         [package.metadata]\nrequires-dist = [\n    {{ name = \"idna\", specifier = \">=3\" }},\n    {{ name = \"six\", specifier = \">=1\" }},\n]\n\n{}\n{}",
        package("idna", idna_version, idna_files),
        package("six", "1.16.0", files),
    )
}

const PYPROJECT: &str = "[project]\nname = \"demo\"\nversion = \"0.1.0\"\nrequires-python = \">=3.10\"\ndependencies = [\"idna>=3\", \"six>=1\"]\n";

/// A repository whose `HEAD` commits the uv project, its files on files.example.test.
fn committed_uv_project() -> TestRepo {
    let repo = TestRepo::new();
    repo.write_and_stage("pyproject.toml", PYPROJECT);
    let files = "https://files.example.test";
    repo.write_and_stage(
        "uv.lock",
        uv_lock("https://pypi.example.test", files, files, "3.10"),
    );
    repo.commit("uv project");
    repo
}

/// idna's entry in uv.lock, for [`line_of`].
const IDNA: &str = "\nname = \"idna\"";

/// Stages, over [`committed_uv_project`], idna `version` with its files on evil.example.test
/// and checks that this blocks, with one problem of `kind` at idna's entry whose message starts
/// with `prefix`: that problem, and the repository.
fn idna_from_another_host_blocks(
    server: &OsvServer,
    version: &str,
    kind: &str,
    prefix: &str,
) -> (serde_json::Value, TestRepo) {
    let repo = committed_uv_project();
    let lock = uv_lock(
        "https://pypi.example.test",
        "https://files.example.test",
        "https://evil.example.test",
        version,
    );
    repo.write_and_stage("uv.lock", &lock);
    let blocked = run(&repo, server);
    blocked.assert_code(1);
    let problem = blocked.single_problem(kind, "uv.lock", line_of(&lock, IDNA), prefix);
    (problem, repo)
}

#[test]
fn a_uv_upgrade_whose_wheel_comes_from_another_host_blocks() {
    let server = OsvServer::builder().without_shared_data().start();
    let (problem, _) = idna_from_another_host_blocks(
        &server,
        "3.11",
        "download-host",
        "idna@3.11 downloads from evil.example.test",
    );
    let message = problem["message"].as_str().unwrap();
    assert!(message.contains("[[tool.uv.index]]"), "{message}");
}

#[test]
fn a_version_kept_with_another_url_blocks_and_a_move_to_a_configured_mirror_warns() {
    let server = OsvServer::builder().without_shared_data().start();
    // idna 3.10's wheel now comes from elsewhere, same version.
    let (problem, repo) = idna_from_another_host_blocks(
        &server,
        "3.10",
        "download-url-changed",
        "idna@3.10 keeps its version but now downloads from https://evil.example.test/",
    );
    assert_eq!(problem["blocking"], true);
    let message = problem["message"].as_str().unwrap();
    assert!(
        message.contains("instead of https://files.example.test/"),
        "{message}"
    );

    // The whole project moved to a mirror its pyproject.toml names: said, not blocking.
    let mirror = "https://mirror.example.test";
    repo.write_and_stage(
        "pyproject.toml",
        format!("{PYPROJECT}\n[[tool.uv.index]]\nname = \"mirror\"\nurl = \"{mirror}/simple\"\ndefault = true\n"),
    );
    let moved = uv_lock(mirror, mirror, mirror, "3.10");
    repo.write_and_stage("uv.lock", &moved);
    let warned = run(&repo, &server);
    warned.assert_code(0);
    let problems = warned.problems_of("download-url-changed");
    assert!(!problems.is_empty(), "{}", warned.output());
    assert!(problems.iter().all(|problem| problem["blocking"] == false));
    let message = problems
        .iter()
        .map(|problem| problem["message"].as_str().unwrap())
        .find(|message| message.contains("files.example.test"))
        .unwrap();
    assert!(
        message.contains("moved from files.example.test to mirror.example.test, a registry the project configures"),
        "{message}"
    );

    // npm: the same version from another host blocks too; with an exemption it does not.
    let npm = TestRepo::with_committed_npm_project(&CLEAN_NPM);
    let evil = "https://evil.example.test/left-pad/-/left-pad-1.3.0.tgz";
    let lock = stage_npm(&npm, &CLEAN_NPM, &[("left-pad", evil)]);
    let blocked = run(&npm, &server);
    blocked.assert_code(1);
    let problem = &blocked.problems_of("download-url-changed")[0];
    assert_eq!(problem["line"], line_of(&lock, "\"node_modules/left-pad\""));
    npm.write_and_stage(
        ".lockgate.toml",
        "[[exempt]]\npackage = \"left-pad\"\nversions = [\"1.3.0\"]\ncheck = \"download-url-changed\"\nreason = \"vendored\"\nuntil = 2099-12-31\n",
    );
    npm.write_and_stage(".npmrc", "registry=https://evil.example.test/\n");
    run(&npm, &server).assert_code(0);
}

#[test]
fn a_url_that_names_another_package_or_version_blocks() {
    let server = OsvServer::start();
    let repo = TestRepo::with_committed_npm_project(&CLEAN_NPM);
    let packages = CLEAN_NPM_AND_IS_ODD;
    // is-odd's entry downloads another package's tarball from the same registry.
    let other = npm_resolved_url("is-even", "1.0.0");
    let lock = stage_npm(&repo, &packages, &[("is-odd", &other)]);
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    blocked.single_problem(
        "download-name-mismatch",
        "package-lock.json",
        line_of(&lock, "\"node_modules/is-odd\""),
        "is-odd downloads https://registry.example.test/is-even/-/is-even-1.0.0.tgz (is-even 1.0.0)",
    );
    // Another version of the same package: npm installs the tarball's.
    let newer = npm_resolved_url("is-odd", "3.0.2");
    stage_npm(&repo, &packages, &[("is-odd", &newer)]);
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    let message = blocked.problems_of("download-name-mismatch")[0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with("is-odd is locked as version 3.0.1, but its download URL"),
        "{message}"
    );
    assert!(message.contains("is version 3.0.2's"), "{message}");
    repo.write_and_stage(
        ".lockgate.toml",
        "[checks]\ndownload-name-mismatch = \"warn\"\n",
    );
    run(&repo, &server).assert_code(0);

    // uv: idna's wheel is a file of another project.
    let python = committed_uv_project();
    let files = "https://files.example.test";
    let lock = uv_lock("https://pypi.example.test", files, files, "3.10")
        .replace("idna-3.10-py3-none-any.whl", "evil-3.10-py3-none-any.whl");
    python.write_and_stage("uv.lock", &lock);
    let blocked = run(&python, &OsvServer::builder().without_shared_data().start());
    blocked.assert_code(1);
    let problem = blocked.single_problem(
        "download-name-mismatch",
        "uv.lock",
        line_of(&lock, IDNA),
        "idna@3.10 downloads",
    );
    let message = problem["message"].as_str().unwrap();
    assert!(message.contains("(evil 3.10)"), "{message}");
}
