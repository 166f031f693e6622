//! Private names stay private: packages resolved from a private registry, or private by
//! configuration (an npm scope with a registry of its own in `.npmrc`, a name pinned to an
//! explicit uv index, `private-packages`), are never named to OSV or to a public registry, in
//! every mode; the report counts them; and a private name resolved from a public registry
//! blocks (dependency confusion). What OSV and the registries were sent is read from the
//! stand-ins' request logs.

use crate::support::raw_http::{response, Answer, RawServer};
use crate::support::{package_json_matching, OsvServer, Run, TestRepo};
use serde_json::json;
use std::sync::{Arc, Mutex};

/// Every private name below has one of these in it; no public one does.
const PRIVATE_MARKS: [&str; 3] = ["acme", "corp", "internal"];

/// `private-registries` (the explicit uv index is private only when listed), `private-packages`.
const CONFIG: &str =
    "private-registries = [\"npm.corp.example.test\", \"pypi.acme.example.test\"]\n\
                      private-packages = [\"internal-*\"]\n";

/// `@acme` has a registry of its own.
const NPMRC: &str = "@acme:registry=https://npm.acme.example.test/\n";

/// A package-lock.json (v3) of `(name, version, resolved URL)`; no URL: no `resolved`.
fn npm_lock(packages: &[(&str, &str, Option<&str>)]) -> String {
    let mut entries = serde_json::Map::new();
    let dependencies: serde_json::Map<String, serde_json::Value> = packages
        .iter()
        .map(|(name, version, _)| (name.to_string(), json!(format!("^{version}"))))
        .collect();
    entries.insert(
        String::new(),
        json!({"name": "app", "version": "1.0.0", "dependencies": dependencies}),
    );
    for (name, version, resolved) in packages {
        let mut entry = json!({"version": version, "integrity": "sha512-AAAA"});
        if let Some(url) = resolved {
            entry["resolved"] = json!(url);
        }
        entries.insert(format!("node_modules/{name}"), entry);
    }
    serde_json::to_string_pretty(
        &json!({"name": "app", "version": "1.0.0", "lockfileVersion": 3,
        "requires": true, "packages": entries}),
    )
    .unwrap()
}

/// The npm URL of a tarball of `name@version` on `registry`.
fn tarball(registry: &str, name: &str, version: &str) -> String {
    let file = name.rsplit('/').next().unwrap();
    format!("{registry}/{name}/-/{file}-{version}.tgz")
}

/// Writes and stages an npm project in `folder` locking `packages`.
fn stage_npm(repo: &TestRepo, folder: &str, packages: &[(&str, &str, Option<&str>)]) {
    let pairs: Vec<(&str, &str)> = packages
        .iter()
        .map(|(name, version, _)| (*name, *version))
        .collect();
    repo.write_and_stage(
        &format!("{folder}package.json"),
        package_json_matching(&pairs),
    );
    repo.write_and_stage(&format!("{folder}package-lock.json"), npm_lock(packages));
}

/// A uv project in `py/` whose `acme-data` is pinned to an explicit index, locked from
/// `acme_index` (its own index, or not).
fn stage_uv(repo: &TestRepo, acme_index: &str) {
    repo.write_and_stage(
        "py/pyproject.toml",
        "[project]\nname = \"case\"\nversion = \"0.1.0\"\nrequires-python = \">=3.10\"\n\
         dependencies = [\"acme-data>=1\", \"six>=1.15\"]\n\n\
         [[tool.uv.index]]\nname = \"acme\"\nurl = \"https://pypi.acme.example.test/simple\"\n\
         explicit = true\n\n[tool.uv.sources]\nacme-data = { index = \"acme\" }\n",
    );
    let file = |index: &str, name: &str| {
        let host = index.trim_end_matches("/simple");
        format!(
            "{{ url = \"{host}/files/{name}\", hash = \"sha256:{}\", size = 100, \
             upload-time = \"2024-12-04T17:35:28Z\" }}",
            "a".repeat(64)
        )
    };
    let public = "https://pypi.example.test/simple";
    let lock = format!(
        "version = 1\nrevision = 3\nrequires-python = \">=3.10\"\n\n\
         [[package]]\nname = \"acme-data\"\nversion = \"1.2.0\"\n\
         source = {{ registry = \"{acme_index}\" }}\n\
         sdist = {}\nwheels = [\n    {},\n]\n\n\
         [[package]]\nname = \"case\"\nversion = \"0.1.0\"\nsource = {{ virtual = \".\" }}\n\
         dependencies = [\n    {{ name = \"acme-data\" }},\n    {{ name = \"six\" }},\n]\n\n\
         [package.metadata]\nrequires-dist = [\n\
         {{ name = \"acme-data\", specifier = \">=1\", index = \"https://pypi.acme.example.test/simple\" }},\n\
         {{ name = \"six\", specifier = \">=1.15\" }},\n]\n\n\
         [[package]]\nname = \"six\"\nversion = \"1.17.0\"\n\
         source = {{ registry = \"{public}\" }}\n\
         sdist = {}\nwheels = [\n    {},\n]\n",
        file(acme_index, "acme_data-1.2.0.tar.gz"),
        file(acme_index, "acme_data-1.2.0-py3-none-any.whl"),
        file(public, "six-1.17.0.tar.gz"),
        file(public, "six-1.17.0-py2.py3-none-any.whl"),
    );
    repo.write_and_stage("py/uv.lock", lock);
}

/// Panics if any request OSV received names a private package; returns what was queried.
#[track_caller]
fn assert_nothing_private_sent(osv: &OsvServer) -> Vec<String> {
    for request in osv.requests() {
        let said = format!("{} {}", request.path, request.body).to_ascii_lowercase();
        for mark in PRIVATE_MARKS {
            assert!(!said.contains(mark), "OSV was sent {mark:?}: {said}");
        }
    }
    osv.queried()
}

fn json_run(repo: &TestRepo, osv: &OsvServer, extra: &[&str]) -> Run {
    let url = osv.url();
    let mut args = vec!["--osv-url", url.as_str(), "--format", "json", "--no-cache"];
    args.extend_from_slice(extra);
    repo.lockgate(&args)
}

fn kinds(run: &Run) -> Vec<String> {
    run.problem_kinds()
}

#[test]
fn no_private_name_is_sent_to_osv_staged_all_or_pushed() {
    let osv = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage(".lockgate.toml", CONFIG);
    repo.write_and_stage(".npmrc", NPMRC);
    let base = repo.commit("settings");

    let public = "https://registry.example.test";
    let everything = [
        (
            "left-pad",
            "1.3.0",
            Some(tarball(public, "left-pad", "1.3.0")),
        ),
        // Private by the registry it was resolved from.
        (
            "corp-tool",
            "1.0.0",
            Some(tarball(
                "https://npm.corp.example.test",
                "corp-tool",
                "1.0.0",
            )),
        ),
        // Private by its scope, which .npmrc sends to a registry of its own.
        (
            "@acme/ui",
            "2.0.0",
            Some(tarball(
                "https://npm.acme.example.test",
                "@acme/ui",
                "2.0.0",
            )),
        ),
        // Private by `private-packages`; the lockfile records no URL.
        ("internal-helper", "0.3.0", None),
    ];
    let owned = |list: &[(&str, &str, Option<String>)]| -> Vec<(String, String, Option<String>)> {
        list.iter()
            .map(|(n, v, u)| (n.to_string(), v.to_string(), u.clone()))
            .collect()
    };
    let stage = |list: &[(String, String, Option<String>)]| {
        let borrowed: Vec<(&str, &str, Option<&str>)> = list
            .iter()
            .map(|(n, v, u)| (n.as_str(), v.as_str(), u.as_deref()))
            .collect();
        stage_npm(&repo, "", &borrowed);
    };
    stage(&owned(&everything));
    // Private by the explicit uv index it is pinned to.
    stage_uv(&repo, "https://pypi.acme.example.test/simple");
    // Private by `private-packages`, and unpinned: not even its name is looked up.
    repo.write_and_stage("tools/requirements.txt", "internal-cli>=1.0\nidna==3.10\n");

    let staged = json_run(&repo, &osv, &[]);
    assert_eq!(
        assert_nothing_private_sent(&osv),
        ["PyPI:idna@3.10", "PyPI:six@1.17.0", "npm:left-pad@1.3.0"],
        "{}",
        staged.output()
    );
    let report = staged.stdout_json();
    assert_eq!(report["private"], 5, "{}", staged.output());
    assert_eq!(report["checked"], 3);
    assert!(
        !kinds(&staged).contains(&"dependency-confusion".to_string()),
        "{}",
        staged.output()
    );
    let unpinned = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "unpinned-requirement")
        .unwrap();
    assert!(
        unpinned["message"]
            .as_str()
            .unwrap()
            .contains("it is private, so its name is not sent to OSV"),
        "{unpinned}"
    );
    staged.assert_code(0);
    // The text report says how many, and why.
    repo.lockgate(&["--osv-url", &osv.url(), "--no-cache"])
        .assert_success()
        .assert_stderr_contains(
            "lockgate: 5 private packages were not sent to OSV or any public registry \
             (resolved from a private registry, or private by configuration): their names are \
             yours",
        );
    let first = repo.commit("everything");

    // --all: the whole project, every lockfile read with its settings.
    let before = osv.querybatch_queries().len();
    let all = json_run(&repo, &osv, &["--all"]);
    all.assert_code(0);
    assert_eq!(all.stdout_json()["private"], 5, "{}", all.output());
    assert!(osv.querybatch_queries().len() > before);
    assert_nothing_private_sent(&osv);

    // A push whose first commit adds the private packages and whose second removes two of
    // them: what the history alone holds is not looked up either.
    let kept = [everything[0].clone(), everything[3].clone()];
    stage(&owned(&kept));
    let second = repo.commit("fewer");
    let before = osv.querybatch_queries().len();
    let pushed = repo
        .lockgate_command(&[
            "--osv-url",
            &osv.url(),
            "--format",
            "json",
            "--no-cache",
            "--pre-push",
            "origin",
            "url",
        ])
        .stdin(format!("refs/heads/main {second} refs/heads/main {base}\n"))
        .run();
    pushed.assert_code(0);
    assert_eq!(pushed.stdout_json()["private"], 5, "{}", pushed.output());
    assert!(osv.querybatch_queries().len() > before);
    assert_nothing_private_sent(&osv);
    assert_ne!(first, second);

    // --offline sends nothing, and counts the same way (what HEAD keeps: three).
    let offline = json_run(&repo, &osv, &["--all", "--offline"]);
    assert_eq!(offline.stdout_json()["private"], 3, "{}", offline.output());
}

#[test]
fn a_private_name_resolved_from_a_public_registry_blocks_as_dependency_confusion() {
    let osv = OsvServer::start();
    let repo = TestRepo::new();
    repo.write_and_stage(".lockgate.toml", CONFIG);
    repo.write_and_stage(".npmrc", NPMRC);
    repo.commit("settings");

    // npm: @acme/ui from the public registry, though .npmrc sends @acme to its own.
    let public = "https://registry.example.test";
    let confused = tarball(public, "@acme/ui", "2.0.0");
    let helper = tarball(public, "internal-helper", "0.3.0");
    stage_npm(
        &repo,
        "",
        &[
            ("@acme/ui", "2.0.0", Some(&confused)),
            ("internal-helper", "0.3.0", Some(&helper)),
            (
                "left-pad",
                "1.3.0",
                Some(&tarball(public, "left-pad", "1.3.0")),
            ),
        ],
    );
    let blocked = json_run(&repo, &osv, &[]);
    blocked.assert_code(1);
    let report = blocked.stdout_json();
    let confusions: Vec<&serde_json::Value> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "dependency-confusion")
        .collect();
    assert_eq!(confusions.len(), 2, "{}", blocked.output());
    let lock = repo.read("package-lock.json");
    let line = lock
        .lines()
        .position(|line| line.contains("\"node_modules/@acme/ui\""))
        .unwrap()
        + 1;
    assert_eq!(confusions[0]["path"], "package-lock.json");
    assert_eq!(confusions[0]["line"], line);
    assert_eq!(confusions[0]["blocking"], true);
    let message = confusions[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "@acme/ui@2.0.0 is private (the project's settings send its scope @acme to \
             npm.acme.example.test), but the lockfile downloads it from registry.example.test"
        ) && message.contains("dependency confusion"),
        "{message}"
    );
    assert!(
        confusions[1]["message"]
            .as_str()
            .unwrap()
            .contains("`private-packages` in .lockgate.toml names it (\"internal-*\")"),
        "{}",
        confusions[1]
    );
    // Private names are still not sent, even resolved from the public registry.
    assert_eq!(assert_nothing_private_sent(&osv), ["npm:left-pad@1.3.0"]);

    // A level of warn says it without blocking; an exemption silences it.
    repo.write_and_stage(
        ".lockgate.toml",
        format!("{CONFIG}\n[checks]\ndependency-confusion = \"warn\"\n"),
    );
    let warned = json_run(&repo, &osv, &[]);
    warned.assert_code(0);
    repo.write_and_stage(
        ".lockgate.toml",
        format!(
            "{CONFIG}\n[[exempt]]\npackage = \"@acme/*\"\ncheck = \"dependency-confusion\"\n\
             reason = \"moving registries\"\nuntil = 2099-01-01\n\n\
             [[exempt]]\npackage = \"internal-helper\"\ncheck = \"dependency-confusion\"\n\
             reason = \"moving registries\"\nuntil = 2099-01-01\n"
        ),
    );
    let exempt = json_run(&repo, &osv, &[]);
    exempt.assert_code(0);
    assert!(!kinds(&exempt).contains(&"dependency-confusion".to_string()));
    repo.write_and_stage(".lockgate.toml", CONFIG);

    // Resolved from the private registries: nothing to say.
    stage_npm(
        &repo,
        "",
        &[
            (
                "@acme/ui",
                "2.0.0",
                Some(&tarball(
                    "https://npm.acme.example.test",
                    "@acme/ui",
                    "2.0.0",
                )),
            ),
            (
                "internal-helper",
                "0.3.0",
                Some(&tarball(
                    "https://npm.corp.example.test",
                    "internal-helper",
                    "0.3.0",
                )),
            ),
        ],
    );
    let own = json_run(&repo, &osv, &[]);
    own.assert_code(0);
    assert!(!kinds(&own).contains(&"dependency-confusion".to_string()));
    repo.commit("npm");

    // uv: acme-data, pinned to the explicit index, locked from the public one.
    stage_uv(&repo, "https://pypi.example.test/simple");
    let blocked = json_run(&repo, &osv, &[]);
    blocked.assert_code(1);
    let said: Vec<String> = blocked.stdout_json()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "dependency-confusion")
        .map(|p| p["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(said.len(), 1, "{}", blocked.output());
    assert!(
        said[0].starts_with(
            "acme-data@1.2.0 is private (the project pins it to the explicit index \
             https://pypi.acme.example.test/simple), but the lockfile downloads it from \
             pypi.example.test"
        ),
        "{said:?}"
    );
    assert_nothing_private_sent(&osv);
    // From its own index: nothing to say.
    stage_uv(&repo, "https://pypi.acme.example.test/simple");
    let own = json_run(&repo, &osv, &[]);
    assert!(
        !kinds(&own).contains(&"dependency-confusion".to_string()),
        "{}",
        own.output()
    );
}

/// A stand-in npm registry that logs the names it is asked about and knows every one, published
/// long ago.
fn registry() -> (RawServer, Arc<Mutex<Vec<String>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    let server = RawServer::start(move |_, target| {
        let name = target.trim_start_matches('/').replace("%2f", "/");
        log.lock().unwrap().push(name.clone());
        let versions: serde_json::Map<String, serde_json::Value> =
            ["0.3.0", "1.0.0", "1.3.0", "2.0.0"]
                .iter()
                .map(|version| {
                    (
                        version.to_string(),
                        json!({"name": name, "version": version}),
                    )
                })
                .collect();
        let body = json!({"name": name, "modified": "2020-01-01T00:00:00Z",
            "time": {"created": "2016-01-01T00:00:00Z", "modified": "2020-01-01T00:00:00Z"},
            "versions": versions});
        Answer::Bytes(response(
            "200 OK",
            &[("content-type", "application/json")],
            body.to_string().as_bytes(),
        ))
    });
    (server, asked)
}

#[test]
fn the_release_age_registry_never_sees_a_private_name() {
    let osv = OsvServer::start();
    // The public registry and the company's own, both on this machine: the private one by the
    // name `localhost`, which `private-registries` lists.
    let (public, public_asked) = registry();
    let (own, own_asked) = registry();
    let own_url = own.url().replace("127.0.0.1", "localhost");
    let repo = TestRepo::new();
    repo.write_and_stage(
        ".lockgate.toml",
        format!(
            "private-registries = [\"localhost\"]\nprivate-packages = [\"internal-*\"]\n\
             release-age = \"3d\"\n\n[registries]\nnpm = \"{}\"\n",
            public.url()
        ),
    );
    repo.write_and_stage(".npmrc", format!("@acme:registry={own_url}/\n"));
    stage_npm(
        &repo,
        "",
        &[
            (
                "left-pad",
                "1.3.0",
                Some(&tarball(&public.url(), "left-pad", "1.3.0")),
            ),
            (
                "corp-tool",
                "1.0.0",
                Some(&tarball(&own_url, "corp-tool", "1.0.0")),
            ),
            // No URL: [registries] names the public one, which a private name never goes to.
            ("internal-helper", "0.3.0", None),
            // Resolved from the public registry, though its scope has its own: dependency
            // confusion, and still not named to the public registry.
            (
                "@acme/ui",
                "2.0.0",
                Some(&tarball(&public.url(), "@acme/ui", "2.0.0")),
            ),
        ],
    );
    let run = repo
        .lockgate_command(&["--osv-url", &osv.url(), "--format", "json", "--no-cache"])
        .env("LOCKGATE_NOW", "2026-12-05T00:00:00Z")
        .env_remove("LOCKGATE_RELEASE_AGE")
        .run();
    assert_eq!(
        *public_asked.lock().unwrap(),
        ["left-pad"],
        "{}",
        run.output()
    );
    // The company's registry may hear its own names.
    assert_eq!(
        *own_asked.lock().unwrap(),
        ["corp-tool"],
        "{}",
        run.output()
    );
    assert_nothing_private_sent(&osv);
    run.assert_code(1);
    let problems = run.stdout_json()["problems"].clone();
    let said: Vec<String> = problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{} {}", p["kind"].as_str().unwrap(), p["message"]))
        .collect();
    assert!(
        said.iter()
            .any(|p| p.starts_with("dependency-confusion") && p.contains("@acme/ui@2.0.0")),
        "{said:?}"
    );
    assert!(
        said.iter().any(|p| p.starts_with("release-age-unchecked")
            && p.contains("internal-helper@0.3.0")
            && p.contains("it is private")),
        "{said:?}"
    );
}
