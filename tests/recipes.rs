//! The CI recipes in hooks/ci/: each GitHub workflow and GitLab file is valid by its
//! platform's schema (check-jsonschema's vendored schemas, from PyPI into target/venv as the
//! README's test command installs it), says nothing lockgate's own CI lint objects to, and
//! every lockgate command line in them runs.

use crate::support::{OsvServer, TestRepo};
use std::path::{Path, PathBuf};
use std::process::Command;

const RECIPES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/hooks/ci");

fn check_jsonschema() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/check-jsonschema");
    assert!(
        path.is_file(),
        "{} is missing: run the README's test command (it installs check-jsonschema)",
        path.display()
    );
    path
}

/// Whether `file` is valid by check-jsonschema's built-in `schema`.
fn valid(schema: &str, file: &Path) -> (bool, String) {
    let out = Command::new(check_jsonschema())
        .args(["--builtin-schema", schema])
        .arg(file)
        .output()
        .expect("run check-jsonschema");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[test]
fn the_recipes_are_valid_by_their_platforms_schemas_and_a_broken_one_is_not() {
    let recipes = [
        ("vendor.github-workflows", "github-actions.yml"),
        ("vendor.github-workflows", "github-watch.yml"),
        ("vendor.gitlab-ci", "gitlab-ci.yml"),
    ];
    let scratch = tempfile::tempdir().unwrap();
    for (schema, name) in recipes {
        let file = Path::new(RECIPES).join(name);
        let (ok, said) = valid(schema, &file);
        assert!(ok, "{name}: {said}");
        // The check can fail: the same file with its jobs' key misspelt is refused.
        let text = std::fs::read_to_string(&file).unwrap();
        let broken_text = if name.starts_with("github") {
            text.replace("runs-on:", "run-on:")
        } else {
            text.replace("  script:", "  scripts:")
        };
        let broken = scratch.path().join(name);
        std::fs::write(&broken, broken_text).unwrap();
        assert!(!valid(schema, &broken).0, "{name}: a broken copy passed");
    }
}

#[test]
fn lockgates_own_lint_has_nothing_to_say_of_the_recipes_and_their_commands_run() {
    let server = OsvServer::builder().without_shared_data().start();
    let repo = TestRepo::new();
    let read = |name: &str| std::fs::read(Path::new(RECIPES).join(name)).unwrap();
    repo.write(".github/workflows/lockgate.yml", read("github-actions.yml"));
    repo.write(".gitlab-ci.yml", read("gitlab-ci.yml"));
    repo.stage_all();
    repo.commit("recipes");
    let url = server.url();
    let cache = repo.path().join(".lockgate-cache");
    let cache = cache.to_str().unwrap();
    // The command lines of the recipes, as they stand there (with a local OSV).
    for args in [
        &["--all", "--on-unreachable=offline", "--format", "sarif"][..],
        &["--all", "--on-unreachable=offline", "--format", "json"][..],
        &["--all", "--offline", "--format", "json"][..],
    ] {
        let mut args = args.to_vec();
        args.extend(["--osv-url", &url, "--cache-dir", cache]);
        let run = repo.lockgate(&args);
        run.assert_code(0);
        if args.contains(&"json") {
            let problems = &run.stdout_json()["problems"];
            assert_eq!(problems, &serde_json::json!([]), "{}", run.output());
        }
    }
    // The cron line: five schedule fields, then a command that runs lockgate.
    let cron = String::from_utf8(read("cron")).unwrap();
    let lines: Vec<&str> = cron
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 2, "{cron}");
    let commands: Vec<&str> = lines
        .iter()
        .map(|line| {
            let fields: Vec<&str> = line.splitn(6, ' ').collect();
            assert_eq!(fields.len(), 6, "{line}");
            fields[5]
        })
        .collect();
    assert!(commands[0].contains("lockgate --all --offline"), "{cron}");
    assert!(commands[1].starts_with("lockgate watch --repos"), "{cron}");
}

#[test]
fn the_watch_recipes_command_lines_run() {
    use crate::support::export::{shared_records, Export};
    let export = Export::new();
    export.publish("npm", &shared_records(&["malicious/npm"]));
    let watched = TestRepo::new();
    watched.stage_npm_project("", &[("debug", "4.4.2")]);
    watched.commit("a compromised version");
    let operator = TestRepo::new();
    let mirror = operator.root().join("mirror.git");
    watched
        .git(&["clone", "-q", "--mirror", ".", mirror.to_str().unwrap()])
        .assert_success();
    std::fs::write(
        operator.path().join("mirrors.txt"),
        format!("{}\n", mirror.display()),
    )
    .unwrap();
    let cache = operator.root().join("cache");
    let state = cache.join("watch");
    // As the recipes run it: the list of mirrors, the state in the cache, SARIF or JSON.
    for (format, found) in [("sarif", 1), ("json", 0)] {
        let run = operator
            .lockgate_command(&["watch", "--repos", "mirrors.txt", "--format", format])
            .env("LOCKGATE_CACHE_DIR", &cache)
            .env("LOCKGATE_WATCH_STATE", &state)
            .env("LOCKGATE_EXPORT_URL", export.file_url())
            .run();
        // The first cycle reports the known record; the next has nothing new.
        run.assert_code(found);
        assert!(state.join("state.json").is_file());
    }
    for name in ["github-watch.yml", "gitlab-ci.yml", "cron"] {
        let text = std::fs::read_to_string(Path::new(RECIPES).join(name)).unwrap();
        assert!(text.contains("lockgate watch --repos"), "{name}");
    }
}
