//! Python lockfiles end to end, starting from projects the real tools made
//! (tests/fixtures/pypi/generate.sh). The package sets each tool lists and the verdicts of each
//! tool's own staleness check are checked by the harness (tests/fixtures.rs).

use crate::support::fixtures::fixture;
use crate::support::{OsvServer, TestRepo};

#[test]
fn a_pyproject_change_without_its_lockfile_blocks() {
    let server = OsvServer::builder().without_shared_data().start();
    for (tool, lockfile) in [
        ("poetry", "poetry.lock"),
        ("uv", "uv.lock"),
        ("pdm", "pdm.lock"),
    ] {
        let root = fixture(&format!("pypi/{tool}/in-sync"));
        let repo = TestRepo::new();
        for file in ["pyproject.toml", lockfile] {
            repo.write_and_stage(
                &format!("app/{file}"),
                std::fs::read(root.join(file)).unwrap(),
            );
        }
        repo.lockgate(&["--osv-url", &server.url()])
            .assert_success();
        repo.commit("locked project");
        let asked = server.request_count();
        // The dependency-added case's pyproject.toml, staged alone.
        let added = fixture(&format!("pypi/{tool}/dep-added/pyproject.toml"));
        repo.write_and_stage("app/pyproject.toml", std::fs::read(added).unwrap());
        let run = repo.lockgate(&["--osv-url", &server.url()]);
        run.assert_code(1)
            .assert_stderr_contains(&format!("app/{lockfile}"))
            .assert_stderr_contains(&format!("run `{tool} lock` in app"));
        assert!(!run.stderr.contains("npm install"), "{}", run.output());
        assert_eq!(
            server.request_count(),
            asked,
            "{tool}: the check is offline"
        );
    }
}
