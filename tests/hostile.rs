//! Hostile input and faults, end to end: lockfiles written to hurt the machine or to slip past
//! the check, answers from a misbehaving OSV, and a run that must end in time. Each test is a
//! case of the fault matrix in RELIABILITY.md.

use crate::support::repo::LOCKGATE_BIN;
use crate::support::{npm_lock_v3, package_json_matching, OsvServer, Run, TestRepo};
use std::time::{Duration, Instant};

/// Address space a hostile-input run may use: a YAML bomb that expanded would need gigabytes.
const MEMORY_LIMIT: &str = "--as=1073741824";

/// Runs the compiled binary in `repo` with its address space limited by `prlimit`, and checks
/// that it ended by itself within `seconds`.
fn lockgate_limited(repo: &TestRepo, args: &[&str], seconds: u64) -> Run {
    let mut all = vec![MEMORY_LIMIT, LOCKGATE_BIN];
    all.extend_from_slice(args);
    let started = Instant::now();
    let run = repo
        .program_command("prlimit", &all)
        .timeout(Duration::from_secs(seconds * 4))
        .run();
    assert!(
        started.elapsed() < Duration::from_secs(seconds),
        "took {:?}\n{}",
        started.elapsed(),
        run.output()
    );
    run
}

/// Nine levels of nine aliases each: 9^9 copies of the innermost list once expanded.
fn yaml_bomb(indent: &str) -> String {
    let mut text = format!("{indent}a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for level in 1u8..9 {
        let previous = (b'a' + level - 1) as char;
        let name = (b'a' + level) as char;
        let aliases = vec![format!("*{previous}"); 9].join(",");
        text.push_str(&format!("{indent}{name}: &{name} [{aliases}]\n"));
    }
    text
}

#[test]
fn yaml_alias_bomb_in_pnpm_lock_is_refused_fast_and_small() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let lock = format!(
        "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies: {{}}\npackages:\n{}",
        yaml_bomb("  ")
    );
    assert!(lock.len() < 1024, "the bomb is {} bytes", lock.len());
    repo.write_and_stage("package.json", r#"{"name": "bomb", "version": "1.0.0"}"#)
        .write_and_stage("pnpm-lock.yaml", &lock);
    let run = lockgate_limited(&repo, &["--osv-url", &server.url()], 1);
    run.assert_code(2)
        .assert_stderr_contains("pnpm-lock.yaml:7:")
        .assert_stderr_contains("YAML aliases");
    assert_eq!(server.request_count(), 0);
}

#[test]
fn yaml_alias_bomb_in_berry_yarn_lock_is_refused_fast_and_small() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let lock = format!(
        "__metadata:\n  version: 8\n  cacheKey: 10c0\n\n\"debug@npm:^4.4.2\":\n  version: \
         4.4.2\n{}",
        yaml_bomb("  ")
    );
    repo.write_and_stage("package.json", r#"{"name": "bomb", "version": "1.0.0"}"#)
        .write_and_stage("yarn.lock", &lock);
    let url = server.url();
    for args in [&[][..], &["--all"][..]] {
        let mut all = vec!["--osv-url", url.as_str()];
        all.extend_from_slice(args);
        let run = lockgate_limited(&repo, &all, 1);
        run.assert_code(2)
            .assert_stderr_contains("yarn.lock:8:")
            .assert_stderr_contains("YAML aliases");
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn deeply_nested_lockfiles_are_refused_not_overflowed() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let deep_yaml = format!(
        "lockfileVersion: '9.0'\npackages: {}1{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_json = format!(
        "{{\"lockfileVersion\": 3, \"packages\": {}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_toml = format!(
        "version = 1\n[[package]]\nname = \"x\"\nversion = \"1\"\nextra = {}1{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    for (path, text) in [
        ("pnpm-lock.yaml", deep_yaml),
        ("package-lock.json", deep_json),
        ("uv.lock", deep_toml),
    ] {
        repo.write_and_stage(path, &text);
        let run = lockgate_limited(&repo, &["--osv-url", &server.url()], 2);
        run.assert_code(2).assert_stderr_contains(path);
        repo.remove_and_stage(path);
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn the_memory_limit_leaves_room_for_an_ordinary_run() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    let packages = [("left-pad", "1.3.0")];
    repo.write_and_stage("package.json", package_json_matching(&packages))
        .write_and_stage("package-lock.json", npm_lock_v3(&packages));
    lockgate_limited(&repo, &["--osv-url", &server.url()], 5).assert_code(0);
}
