//! Python projects end to end: requirements files staged in real repositories, real PyPI
//! malware records from ../shared/data/osv/malicious/pypi, name normalisation, unpinned
//! requirements, includes.

use crate::support::fixtures::{fixture, write_case};
use crate::support::{OsvServer, Run, TestRepo};

/// req-matplotlib 11.2.18 is MAL-2023-1400; Nasrtox 8.0 is MAL-2024-1546 (its record spells the
/// name with a capital N); every version of beautifulsup is MAL-2023-1628.
const MALWARE: &str = "req-matplotlib==11.2.18";

fn run(repo: &TestRepo, server: &OsvServer, extra: &[&str]) -> Run {
    let url = server.url();
    let mut args = vec!["--osv-url", &url, "--format", "json"];
    args.extend_from_slice(extra);
    repo.lockgate(&args)
}

#[test]
fn a_pinned_malicious_pypi_package_blocks() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("requirements.txt", format!("six==1.16.0\n{MALWARE}\n"));
    let run = run(&repo, &server, &[]);
    run.assert_code(1);
    assert_eq!(run.findings(), ["MAL-2023-1400 req-matplotlib@11.2.18"]);
    assert_eq!(
        server.queried(),
        ["PyPI:req-matplotlib@11.2.18", "PyPI:six@1.16.0"]
    );
}

#[test]
fn names_are_normalised_before_they_are_matched() {
    // PEP 503: NASRTOX, Nasrtox and nasrtox are one package; Req_Matplotlib is req-matplotlib.
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage(
        "requirements-prod.txt",
        "NASRTOX==8.0\nReq_Matplotlib==11.2.18 --hash=sha256:0000\n",
    );
    let run = run(&repo, &server, &[]);
    run.assert_code(1);
    assert_eq!(
        run.findings(),
        [
            "MAL-2024-1546 nasrtox@8.0",
            "MAL-2023-1400 req-matplotlib@11.2.18"
        ]
    );
}

#[test]
fn unpinned_requirements_warn_and_are_still_checked_for_malware() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("requirements.txt", "requests>=2\n");
    let run_clean = run(&repo, &server, &[]);
    run_clean.assert_success();
    let problem = &run_clean.stdout_json()["problems"][0];
    assert_eq!(problem["kind"], "unpinned-requirement");
    assert_eq!(problem["blocking"], false);
    run(&repo, &server, &["--fail-on-unpinned"]).assert_code(1);

    // Malware published under the name blocks whatever version would be installed.
    repo.write_and_stage("requirements.txt", "requests>=2\nbeautifulsup>=1\n");
    let run = run(&repo, &server, &[]);
    run.assert_code(1);
    assert_eq!(run.findings(), ["MAL-2023-1628 beautifulsup@"]);
    repo.lockgate(&["--osv-url", &server.url()])
        .assert_code(1)
        .assert_stderr_contains("beautifulsup (any version) is MALWARE");
}

#[test]
fn includes_are_read_from_the_commit_and_cycles_refused() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage(
        "requirements.txt",
        "-r requirements/common.txt\nsix==1.16.0\n",
    );
    repo.write_and_stage("requirements/common.txt", "-c ../constraints.txt\nidna\n");
    repo.write_and_stage("constraints.txt", "idna==3.7\n");
    run(&repo, &server, &[]).assert_success();
    repo.commit("requirements with an include and a constraints file");

    // Only the constraints file changes: the requirements that include it are checked again.
    repo.write_and_stage("constraints.txt", format!("idna==3.7\n{MALWARE}\n"));
    run(&repo, &server, &[]).assert_success(); // A constraint alone requires nothing.
    repo.write_and_stage("constraints.txt", "idna==3.6\n");
    let run_changed = run(&repo, &server, &[]);
    run_changed.assert_success();
    let asked: Vec<String> = server
        .querybatch_queries()
        .into_iter()
        .map(|(_, name, version)| format!("{name}@{version}"))
        .collect();
    assert!(asked.contains(&"idna@3.6".to_string()), "{asked:?}");

    repo.write_and_stage(
        "requirements/common.txt",
        format!("-r ../requirements.txt\n{MALWARE}\n"),
    );
    repo.lockgate(&["--osv-url", &server.url()])
        .assert_code(2)
        .assert_stderr_contains(
            "include cycle: requirements/common.txt → requirements.txt → requirements/common.txt",
        );
}

#[test]
fn a_pushed_change_to_an_included_file_alone_is_checked() {
    let server = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage("requirements.txt", "-r common.txt\n");
    repo.write_and_stage("common.txt", "six==1.16.0\n");
    let base = repo.commit("requirements with an include");
    repo.write_and_stage("common.txt", format!("six==1.16.0\n{MALWARE}\n"));
    let head = repo.commit("the included file gains a pin");
    repo.lockgate_command(&["--osv-url", &server.url(), "--pre-push", "origin", "url"])
        .stdin(format!("refs/heads/main {head} refs/heads/main {base}\n"))
        .run()
        .assert_code(1)
        .assert_stderr_contains("requirements.txt: req-matplotlib@11.2.18 is MALWARE");
}

#[test]
fn a_workspace_member_staged_alone_is_judged_against_the_root_lockfile() {
    // The member's pyproject.toml is the only staged file; uv and pdm lock the whole workspace in
    // the root's lockfile, so the root is checked (tests/fixtures/pypi: uv lock --check and pdm
    // lock --check exit 1 on these edits).
    for (fresh, edited, lockfile) in [
        (
            "uv/ws-member-description-edited",
            "uv/ws-member-range-changed",
            "uv.lock",
        ),
        (
            "pdm/pdm-ws-member-description",
            "pdm/pdm-ws-member-dep-changed",
            "pdm.lock",
        ),
    ] {
        let server = OsvServer::builder().without_shared_data().start();
        let repo = TestRepo::new();
        write_case(&repo, &fixture(&format!("pypi/{fresh}")), "");
        repo.stage_all().commit("a fresh workspace");
        let member = std::fs::read(fixture(&format!("pypi/{edited}/packages/a/pyproject.toml")))
            .expect("the edited member");
        repo.write_and_stage("packages/a/pyproject.toml", member);
        let run = run(&repo, &server, &[]);
        run.assert_code(1);
        let problems = &run.stdout_json()["problems"];
        assert_eq!(problems[0]["kind"], "lockfile-out-of-sync", "{fresh}");
        assert_eq!(problems[0]["path"], lockfile, "{fresh}");
    }
}
