//! What a lockfile says of each entry, checked from the staged change alone: a version kept with
//! another checksum is a tampered lockfile.

use crate::support::lockfiles::{npm_integrity, CLEAN_NPM, CLEAN_NPM_AND_IS_ODD};
use crate::support::{npm_lock_v3, OsvServer, Run, TestRepo};

/// The 1-based line of left-pad's entry in package-lock.json text.
fn left_pad_line(lock: &str) -> usize {
    lock.lines()
        .position(|line| line.contains("\"node_modules/left-pad\""))
        .unwrap()
        + 1
}

fn run(repo: &TestRepo, server: &OsvServer) -> Run {
    repo.lockgate(&["--osv-url", &server.url(), "--format", "json"])
}

#[test]
fn a_version_kept_with_another_checksum_blocks_at_its_line() {
    let server = OsvServer::start();
    let repo = TestRepo::with_committed_npm_project(&CLEAN_NPM);
    let lock = npm_lock_v3(&CLEAN_NPM);
    let original = npm_integrity("left-pad", "1.3.0");
    let swapped = npm_integrity("left-pad", "6.6.6");

    // The integrity of left-pad@1.3.0 swapped for another tarball's.
    repo.write_and_stage("package-lock.json", lock.replace(&original, &swapped));
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    let problem = &blocked.stdout_json()["problems"][0];
    assert_eq!(problem["kind"], "checksum-changed");
    assert_eq!(problem["path"], "package-lock.json");
    assert_eq!(problem["line"], left_pad_line(&lock));
    let message = problem["message"].as_str().unwrap();
    assert!(
        message.starts_with("left-pad@1.3.0 keeps its version but its checksum changed"),
        "{message}"
    );

    // Configured to warn, it is said and does not block.
    repo.write_and_stage(".lockgate.toml", "[checks]\nchecksum-changed = \"warn\"\n");
    let warned = run(&repo, &server);
    warned.assert_code(0);
    assert_eq!(warned.stdout_json()["problems"][0]["blocking"], false);
    repo.remove_and_stage(".lockgate.toml");

    // npm relocking an old entry from SHA-1 to SHA-512 is not a change of tarball.
    repo.write_and_stage(
        "package-lock.json",
        lock.replace(&original, "sha1-Yr5VC4ZlBsNb1tk5dHAm4P+VmVc="),
    );
    repo.commit("an old lockfile, with SHA-1");
    repo.write_and_stage("package-lock.json", &lock);
    let upgraded = run(&repo, &server);
    upgraded.assert_code(0);
    assert_eq!(upgraded.stdout_json()["problems"], serde_json::json!([]));
}

#[test]
fn an_upgrade_that_gains_an_install_script_blocks_unless_approved() {
    let server = OsvServer::start();
    let repo = TestRepo::with_committed_npm_project(&CLEAN_NPM);
    // left-pad 1.3.0 → 1.3.1, which now has a postinstall script.
    let upgraded = [("left-pad", "1.3.1"), ("is-number", "7.0.0")];
    let mut lock: serde_json::Value = serde_json::from_str(&npm_lock_v3(&upgraded)).unwrap();
    lock["packages"]["node_modules/left-pad"]["hasInstallScript"] = serde_json::json!(true);
    let lock = serde_json::to_string_pretty(&lock).unwrap();
    repo.write_and_stage(
        "package.json",
        crate::support::package_json_matching(&upgraded),
    );
    repo.write_and_stage("package-lock.json", &lock);
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    let problem = &blocked.stdout_json()["problems"][0];
    assert_eq!(problem["kind"], "install-script-gained");
    let message = problem["message"].as_str().unwrap();
    assert!(
        message.starts_with("left-pad 1.3.1 runs an install script, and 1.3.0 did not"),
        "{message}"
    );
    assert_eq!(problem["line"], left_pad_line(&lock));

    // The package manager's own list approves it (bun's trustedDependencies here)...
    let mut manifest: serde_json::Value =
        serde_json::from_str(&crate::support::package_json_matching(&upgraded)).unwrap();
    manifest["trustedDependencies"] = serde_json::json!(["left-pad"]);
    repo.write_and_stage("package.json", manifest.to_string());
    run(&repo, &server).assert_code(0);
    // npm's allowScripts approves a name, or one version of it: another version is not.
    for (allowed, code) in [
        (serde_json::json!({"left-pad": true}), 0),
        (serde_json::json!({"left-pad@1.3.1": true}), 0),
        (serde_json::json!({"left-pad@1.3.0": true}), 1),
        (serde_json::json!({"left-pad": false}), 1),
    ] {
        let mut manifest: serde_json::Value =
            serde_json::from_str(&crate::support::package_json_matching(&upgraded)).unwrap();
        manifest["allowScripts"] = allowed.clone();
        repo.write_and_stage("package.json", manifest.to_string());
        let run = run(&repo, &server);
        assert_eq!(
            run.code,
            Some(code),
            "allowScripts {allowed}: {}",
            run.output()
        );
    }
    // ... and so does lockgate's.
    repo.write_and_stage(
        "package.json",
        crate::support::package_json_matching(&upgraded),
    );
    repo.write_and_stage(
        ".lockgate.toml",
        "[checks]\nallow-scripts = [\"left-pad\"]\n",
    );
    run(&repo, &server).assert_code(0);
}

#[test]
fn a_download_over_plain_http_blocks_but_a_registry_on_this_machine_does_not() {
    let server = OsvServer::start();
    let repo = TestRepo::with_committed_npm_project(&CLEAN_NPM);
    let lock = npm_lock_v3(&CLEAN_NPM_AND_IS_ODD);
    let mut value: serde_json::Value = serde_json::from_str(&lock).unwrap();
    value["packages"]["node_modules/is-odd"]["resolved"] =
        serde_json::json!("http://mirror.example.test/is-odd/-/is-odd-3.0.1.tgz");
    repo.write_and_stage(
        "package-lock.json",
        serde_json::to_string_pretty(&value).unwrap(),
    );
    repo.write_and_stage(
        "package.json",
        crate::support::package_json_matching(&CLEAN_NPM_AND_IS_ODD),
    );
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    let problem = &blocked.stdout_json()["problems"][0];
    assert_eq!(problem["kind"], "download-insecure");
    assert!(problem["message"]
        .as_str()
        .unwrap()
        .starts_with("is-odd@3.0.1 downloads over plain http"));

    value["packages"]["node_modules/is-odd"]["resolved"] =
        serde_json::json!("http://127.0.0.1:4873/is-odd/-/is-odd-3.0.1.tgz");
    repo.write_and_stage(
        "package-lock.json",
        serde_json::to_string_pretty(&value).unwrap(),
    );
    let local = run(&repo, &server);
    local.assert_code(0);
    assert_eq!(local.stdout_json()["problems"], serde_json::json!([]));
}

#[test]
fn a_requirements_file_that_pins_hashes_needs_them_for_every_requirement() {
    let server = OsvServer::builder().without_shared_data().start();
    let repo = TestRepo::new();
    let hash = "--hash=sha256:70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6";
    repo.write_and_stage(
        "requirements.txt",
        format!("requests==2.32.3 \\\n    {hash}\nidna==3.10\n"),
    );
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    let problem = &blocked.stdout_json()["problems"][0];
    assert_eq!(problem["kind"], "hash-missing");
    assert_eq!(problem["line"], 3);
    assert!(problem["message"]
        .as_str()
        .unwrap()
        .starts_with("idna==3.10 has no --hash"));

    repo.write_and_stage(
        "requirements.txt",
        format!("requests==2.32.3 \\\n    {hash}\nidna==3.10 {hash}\n"),
    );
    run(&repo, &server).assert_code(0);
    // No hashes at all is pip's ordinary mode.
    repo.write_and_stage("requirements.txt", "requests==2.32.3\nidna==3.10\n");
    run(&repo, &server).assert_code(0);
}

#[test]
fn a_new_package_that_runs_an_install_script_is_said_without_blocking() {
    let server = OsvServer::start();
    let repo = TestRepo::with_committed_npm_project(&CLEAN_NPM);
    let packages = CLEAN_NPM_AND_IS_ODD;
    let mut lock: serde_json::Value = serde_json::from_str(&npm_lock_v3(&packages)).unwrap();
    lock["packages"]["node_modules/is-odd"]["hasInstallScript"] = serde_json::json!(true);
    repo.write_and_stage(
        "package.json",
        crate::support::package_json_matching(&packages),
    );
    repo.write_and_stage("package-lock.json", lock.to_string());
    let said = run(&repo, &server);
    said.assert_code(0);
    let problem = &said.stdout_json()["problems"][0];
    assert_eq!(problem["kind"], "install-script-new");
    assert_eq!(problem["blocking"], false);
    assert!(problem["message"]
        .as_str()
        .unwrap()
        .starts_with("is-odd@3.0.1 is new and runs an install script"));
    // Approved, it is not said.
    repo.write_and_stage(".lockgate.toml", "[checks]\nallow-scripts = [\"is-odd\"]\n");
    assert_eq!(
        run(&repo, &server).stdout_json()["problems"],
        serde_json::json!([])
    );
}

/// `lock` with the wheels of package `name` removed: offered only as a source distribution.
fn without_wheels(lock: &str, name: &str) -> String {
    let mut out = Vec::new();
    let (mut inside, mut skipping) = (false, false);
    for line in lock.lines() {
        if line.starts_with("name = ") {
            inside = line == format!("name = \"{name}\"");
        }
        if inside && line == "wheels = [" {
            skipping = true;
        }
        if !skipping {
            out.push(line);
        }
        if skipping && line == "]" {
            skipping = false;
        }
    }
    out.join("\n") + "\n"
}

/// The 1-based line of `name`'s `name = ` in uv.lock text.
fn uv_entry_line(lock: &str, name: &str) -> usize {
    lock.lines()
        .position(|line| line == format!("name = \"{name}\""))
        .unwrap()
        + 1
}

#[test]
fn python_packages_offered_only_as_source_distributions_are_said_and_an_upgrade_to_one_blocks() {
    use crate::support::fixtures::{fixture, write_case};
    let server = OsvServer::start();
    let repo = TestRepo::new();
    write_case(&repo, &fixture("pypi/uv/small"), "");
    let lock = std::fs::read_to_string(repo.path().join("uv.lock")).unwrap();

    // A new lockfile in which idna 3.20 comes only as its sdist: said, not blocking.
    repo.write_and_stage("uv.lock", without_wheels(&lock, "idna"));
    repo.stage_all();
    let said = run(&repo, &server);
    said.assert_code(0);
    let sdist = said.single_problem(
        "sdist-only",
        "uv.lock",
        uv_entry_line(&lock, "idna"),
        "idna@3.20 is new and offered only as source distributions",
    );
    assert_eq!(sdist["blocking"], false);
    repo.write_and_stage("uv.lock", &lock);
    repo.commit("project");

    // urllib3 2.8.0 (wheels) → 2.8.1 with only an sdist: its build now runs at install.
    let upgraded = without_wheels(&lock, "urllib3")
        .replace("version = \"2.8.0\"", "version = \"2.8.1\"")
        .replace("urllib3-2.8.0.tar.gz", "urllib3-2.8.1.tar.gz");
    repo.write_and_stage("uv.lock", &upgraded);
    let blocked = run(&repo, &server);
    blocked.assert_code(1);
    blocked.single_problem(
        "install-script-gained",
        "uv.lock",
        uv_entry_line(&upgraded, "urllib3"),
        "urllib3 2.8.1 is offered only as a source distribution, and 2.8.0 had wheels",
    );

    // An exemption with a reason lets it through.
    repo.write_and_stage(
        ".lockgate.toml",
        "[[exempt]]\npackage = \"urllib3\"\ncheck = \"install-script-gained\"\n\
         reason = \"pure Python, builds with hatchling\"\nuntil = 2099-01-01\n",
    );
    run(&repo, &server).assert_code(0);
}

#[test]
fn new_entries_that_pin_no_checksum_or_only_sha1_are_said_once_per_lockfile() {
    let server = OsvServer::start();
    let repo = TestRepo::with_committed_npm_project(&CLEAN_NPM);
    let packages = [
        ("left-pad", "1.3.0"),
        ("is-number", "7.0.0"),
        ("is-odd", "3.0.1"),
        ("kind-of", "6.0.3"),
    ];
    let mut lock: serde_json::Value = serde_json::from_str(&npm_lock_v3(&packages)).unwrap();
    // is-odd: no integrity at all; kind-of: SHA-1 only.
    let entries = &mut lock["packages"];
    entries["node_modules/is-odd"]
        .as_object_mut()
        .unwrap()
        .remove("integrity");
    entries["node_modules/kind-of"]["integrity"] =
        serde_json::json!("sha1-Yr5VC4ZlBsNb1tk5dHAm4P+VmVc=");
    let text = serde_json::to_string_pretty(&lock).unwrap();
    repo.write_and_stage(
        "package.json",
        crate::support::package_json_matching(&packages),
    );
    repo.write_and_stage("package-lock.json", &text);
    let said = run(&repo, &server);
    said.assert_code(0);
    let missing = said.problems_of("checksum-missing");
    let messages: Vec<&str> = missing
        .iter()
        .map(|problem| problem["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 2, "{}", said.output());
    assert!(
        messages[0].starts_with("is-odd@3.0.1 pins no checksum"),
        "{messages:?}"
    );
    assert!(
        messages[1].starts_with("kind-of@6.0.3 pins only a SHA-1 checksum"),
        "{messages:?}"
    );

    // Configured to block, it blocks; the packages the change keeps are not said.
    repo.write_and_stage(".lockgate.toml", "[checks]\nchecksum-missing = \"block\"\n");
    run(&repo, &server).assert_code(1);
}
