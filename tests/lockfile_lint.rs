//! lockgate beside lockfile-lint (from the npm registry; the README's test command installs it
//! into target/npm-tools) on the npm and yarn lockfiles of tests/fixtures/integrity, original
//! and attacked. On the checks both tools make (allowed hosts, https, the package name in the
//! URL, integrity) their verdicts agree case by case, except where [`DIFFERENCES`] says why.

use crate::attacks::{manifest, problems_of, stage_and_run, upgrade};
use crate::support::fixtures::fixture;
use crate::support::{OsvServer, TestRepo};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The lockfile-lint the README's test command installs.
const VERSION: &str = "5.0.1";

/// lockfile-lint's checks that lockgate makes too, on the fixtures' registry host.
const FLAGS: &[&str] = &[
    "--allowed-hosts",
    "registry.example.test",
    "--validate-https",
    "--validate-package-names",
    "--validate-integrity",
    "--format",
    "plain",
];

/// lockgate's kinds for those checks: hosts (a git or tarball source is a host too), https,
/// the name in the URL, integrity.
const COMPARED: &[&str] = &[
    "download-host",
    "download-url-changed",
    "source-deep",
    "source-direct",
    "download-insecure",
    "download-name-mismatch",
    "checksum-changed",
    "checksum-missing",
];

/// Where the verdicts differ, and why: (format, case, lockfile-lint blocks, lockgate blocks,
/// reason). Every other case must agree.
const DIFFERENCES: &[(&str, &str, bool, bool, &str)] = &[
    (
        "package-lock",
        "checksum-swapped",
        false,
        true,
        "lockfile-lint's integrity check asks only that each hash be SHA-512, and another \
         tarball's SHA-512 is one; lockgate compares with the lockfile at HEAD, where the kept \
         version had another checksum",
    ),
    (
        "yarn-classic",
        "checksum-swapped",
        false,
        true,
        "as for package-lock: lockfile-lint judges the hash's algorithm in one file, lockgate \
         the change from HEAD",
    ),
    (
        "package-lock",
        "name-mismatch",
        false,
        true,
        "lockfile-lint checks the name in a URL only on the two public registries it knows by \
         host (lockfile-lint-api's REGISTRY table) and skips any other registry, such as the \
         fixtures' placeholder host; lockgate reads the name from any registry URL",
    ),
    (
        "yarn-classic",
        "name-mismatch",
        false,
        true,
        "as for package-lock: lockfile-lint skips the name check on a registry it does not know",
    ),
    (
        "yarn-berry",
        "before",
        true,
        false,
        "lockfile-lint reads berry's entry for the project itself (`resolution: \
         \"attacks@workspace:.\"`) as a download with the scheme `workspace:` and fails \
         --validate-https on every berry lockfile; lockgate knows it is the project",
    ),
    (
        "yarn-berry",
        "after",
        true,
        false,
        "the same `workspace:` entry: lockfile-lint judges the whole file, lockgate what the \
         upgrade changes",
    ),
];

fn lockfile_lint() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/npm-tools/node_modules/.bin/lockfile-lint");
    assert!(
        path.is_file(),
        "{} is missing: run the README's test command (it installs lockfile-lint@{VERSION} with npm)",
        path.display()
    );
    path
}

/// lockfile-lint's verdict on one file: whether it reports a problem.
fn lint_blocks(program: &Path, kind: &str, file: &Path) -> (bool, String) {
    let output = Command::new(program)
        .args(["--type", kind, "--path"])
        .arg(file)
        .args(FLAGS)
        .output()
        .expect("run lockfile-lint");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    match output.status.code() {
        Some(0) => (false, text),
        Some(1) if text.contains("detected") => (true, text),
        other => panic!(
            "lockfile-lint on {} ended with {other:?}: {text}",
            file.display()
        ),
    }
}

#[test]
fn lockfile_lint_and_lockgate_agree_on_the_checks_both_make() {
    let program = lockfile_lint();
    let version = Command::new(&program).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        VERSION,
        "the differences below were measured with lockfile-lint {VERSION}"
    );
    let server = OsvServer::builder().without_shared_data().start();
    let manifest = manifest();
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for (format, kind) in [
        ("package-lock", "npm"),
        ("yarn-classic", "yarn"),
        ("yarn-berry", "yarn"),
    ] {
        let spec = &manifest["formats"][format];
        let lockfile = spec["lockfile"].as_str().unwrap();
        let mut cases = vec!["before".to_string(), "after".to_string()];
        for (case, expected) in spec["cases"].as_object().unwrap() {
            if expected["applies"] == true {
                cases.push(case.clone());
            }
        }
        let repo = upgrade(format, spec);
        for case in &cases {
            let file = fixture("integrity").join(format).join(case).join(lockfile);
            let (lint, said) = lint_blocks(&program, kind, &file);
            let run = if case == "before" {
                // The project's first commit: the whole lockfile is new.
                let first = TestRepo::new();
                let root = fixture("integrity").join(format).join("before");
                for name in spec["project"].as_array().unwrap() {
                    let name = name.as_str().unwrap();
                    first.write_and_stage(name, std::fs::read(root.join(name)).unwrap());
                }
                first.write_and_stage(lockfile, std::fs::read(&file).unwrap());
                first.lockgate(&["--osv-url", &server.url(), "--format", "json"])
            } else {
                stage_and_run(&repo, &server, format, spec, case)
            };
            let compared = problems_of(&run, COMPARED);
            let lockgate = compared.iter().any(|problem| problem["blocking"] == true);
            table.push(format!(
                "{format}/{case}: lockfile-lint {}, lockgate {}",
                verdict(lint),
                verdict(lockgate)
            ));
            let expected = DIFFERENCES
                .iter()
                .find(|(f, c, ..)| *f == format && c == case)
                .map_or((lint, lint), |(_, _, lint, lockgate, _)| (*lint, *lockgate));
            if (lint, lockgate) != expected {
                failures.push(format!(
                    "{format}/{case}: lockfile-lint {} (expected {}), lockgate {} (expected {})\n  \
                     lockfile-lint said: {}\n  lockgate said: {}",
                    verdict(lint),
                    verdict(expected.0),
                    verdict(lockgate),
                    verdict(expected.1),
                    said.trim(),
                    serde_json::to_string(&compared).unwrap()
                ));
            }
        }
    }
    eprintln!("{}", table.join("\n"));
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn verdict(blocks: bool) -> &'static str {
    if blocks {
        "blocks"
    } else {
        "passes"
    }
}
