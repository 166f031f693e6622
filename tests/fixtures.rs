//! One harness for every recorded corpus: it walks `tests/fixtures/<ecosystem>/<format>/<case>/`
//! and holds lockgate to what each case records the real tool said ([`KINDS`]), so a fixture
//! folder that nobody reads cannot exist. The corpora and how they were made: the README and
//! `generate.sh` beside them.

use crate::support::fixtures::{self, write_case, ROOT};
use crate::support::{OsvServer, Run, TestRepo};
use lockgate::ecosystem::{format_of, project_problems, Fixing, ParseError};
use lockgate::package::{Ecosystem, LockedSet, Package};
use lockgate::report::ProblemKind;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Folders of `tests/fixtures` that are not lockfile corpora (`integrity` is, with its own
/// manifest and harness: tests/attacks.rs).
const NOT_CORPORA: [&str; 5] = ["ci", "demo", "integrity", "report", "sarif"];

/// Folders of a corpus that hold no cases: what its generator installs the tools from.
const NOT_FORMATS: [&str; 1] = ["pypi/tools"];

/// The kinds of expectation a case may record: the file, what it says, and the check that holds
/// lockgate to it. A case is a folder with at least one of these files; adding a kind is a row.
const KINDS: [Kind; 5] = [
    Kind {
        file: "packages.txt",
        says: "the packages the tool lists (`# non-registry` after; unpinned.txt beside)",
        check: packages_listed,
    },
    Kind {
        file: "verdict.txt",
        says: "`exit <code>` of the tool's own check (frozen install, lock --check, npm ci)",
        check: tool_verdict,
    },
    Kind {
        file: "composer-verdict.txt",
        says: "`verdict: ok` or `verdict: blocked`: composer validate, then install --dry-run",
        check: composer_verdict,
    },
    Kind {
        file: "expected.txt",
        says: "what pip's parser finds starting from base.txt, by section",
        check: |case, recorded, tally| requirements_found(case, "base.txt", recorded, tally),
    },
    Kind {
        file: "expected-cycle.txt",
        says: "what a parser reading each file once finds from cycle-a.txt",
        check: |case, recorded, tally| requirements_found(case, "cycle-a.txt", recorded, tally),
    },
];

/// Where lockgate deliberately says otherwise than the tool's own check: the case, the problems
/// lockgate reports instead (`kind path`), and why.
const DISAGREEMENTS: [(&str, &[&str], &str); 10] = [
    (
        "npm/package-lock/real-marked",
        &["source-deep package-lock.json"],
        "npm ci passes; @markedjs/testutils (a registry package) depends on marked-repo, a \
         tarball from a repository host that no manifest of the project asks for: code from \
         outside the registry below the top level, which lockgate blocks (issue 19)",
    ),
    (
        "npm/yarn-berry/package-manager-names-other-major",
        &["lockfile-out-of-sync yarn.lock"],
        "yarn 4 run directly passes; packageManager pins yarn 1.22, which cannot read a yarn 2+ \
         lockfile, and is what corepack runs",
    ),
    (
        "npm/yarn-berry/berry4.4-package-manager-names-other-major",
        &["lockfile-out-of-sync yarn.lock"],
        "yarn 4.4 run directly passes; the pinned yarn 1.22 cannot read the lockfile",
    ),
    (
        "npm/pnpm/pnpm9-package-manager-names-other-major",
        &["lockfile-out-of-sync pnpm-lock.yaml"],
        "pnpm 9 ignores the pinned major; the pinned pnpm 8 (which pnpm 10 switches to) cannot \
         read lockfileVersion 9.0",
    ),
    (
        "npm/yarn-classic/workspace-dep-added",
        &["lockfile-out-of-sync yarn.lock"],
        "yarn 1.22 --frozen-lockfile passes, then installs is-even without locking it",
    ),
    (
        "npm/yarn-classic/ws-member-added-with-deps",
        &["lockfile-out-of-sync yarn.lock"],
        "yarn 1.22 --frozen-lockfile does not check workspace members: it passes, then \
         installs the new member's is-number@^7.0.0 from the registry, unlocked",
    ),
    (
        "npm/yarn-classic/ws-member-range-satisfied",
        &["lockfile-out-of-sync yarn.lock"],
        "yarn 1.22 passes, then resolves the member's left-pad@^1.0.0 from the registry: \
         yarn.lock has no entry for that range, so what is installed is not what was locked",
    ),
    (
        "npm/yarn-classic/ws-member-range-unsatisfied",
        &["lockfile-out-of-sync yarn.lock"],
        "yarn 1.22 passes, then installs a left-pad the lockfile never recorded",
    ),
    (
        "npm/yarn-classic/ws-nested-glob-member-added",
        &["lockfile-out-of-sync yarn.lock"],
        "yarn 1.22 passes, then installs the new member's is-odd unlocked",
    ),
    (
        "npm/package-lock/link-outside-project",
        &["lockfile-missing shared/package-lock.json"],
        "npm ci in app/ passes (it checks none of a linked folder's dependencies); shared/ has \
         dependencies and no lockfile of its own, which is shared/'s own problem",
    ),
];

/// Blocked cases where lockgate names other problems than the lockfile out of sync (`kind
/// path`): a missing or unreadable lockfile, or the manifest's requirement as well.
const PROBLEMS: [(&str, &[&str]); 16] = [
    (
        "npm/package-lock/dev-engines-package-manager-other-tool",
        &["package-json-invalid package.json"],
    ),
    (
        "npm/package-lock/npm12-dev-engines-package-manager-other-tool",
        &["package-json-invalid package.json"],
    ),
    (
        "npm/package-lock/npm12-overrides-added",
        &["package-json-invalid package.json"],
    ),
    (
        "npm/pnpm/pnpm9-package-manager-names-other-tool",
        &["lockfile-missing yarn.lock"],
    ),
    (
        "npm/package-lock/overrides-added",
        &["package-json-invalid package.json"],
    ),
    (
        "pypi/poetry/real-textual-stale",
        &["pyproject-unreadable pyproject.toml"],
    ),
    (
        "npm/pnpm/package-manager-names-other-tool",
        &["lockfile-missing yarn.lock"],
    ),
    (
        "npm/yarn-classic/package-manager-names-other-tool",
        &["lockfile-missing pnpm-lock.yaml"],
    ),
    (
        "packagist/composer/lockfile-missing",
        &["lockfile-missing composer.lock"],
    ),
    (
        "packagist/composer/constraint-unmet",
        &[
            "lockfile-out-of-sync composer.json",
            "lockfile-out-of-sync composer.lock",
        ],
    ),
    (
        "packagist/composer/dev-requirement-added",
        &[
            "lockfile-out-of-sync composer.json",
            "lockfile-out-of-sync composer.lock",
        ],
    ),
    (
        "packagist/composer/required-absent",
        &[
            "lockfile-out-of-sync composer.json",
            "lockfile-out-of-sync composer.lock",
        ],
    ),
    (
        "pypi/pipenv/lock-missing",
        &["lockfile-missing Pipfile.lock"],
    ),
    (
        "pypi/pipenv/lock-corrupt",
        &["lockfile-unreadable Pipfile.lock"],
    ),
    // poetry and pdm read pyproject.toml with Python's tomllib, which refuses a byte-order mark.
    (
        "pypi/poetry/bom-added",
        &["pyproject-unreadable pyproject.toml"],
    ),
    (
        "pypi/pdm/bom-added",
        &["pyproject-unreadable pyproject.toml"],
    ),
];

/// What lockgate tells a user to run, by format folder, when a lockfile needs relocking, and
/// whether the JSON message says it too (the npm ecosystem's messages quote the tool instead).
const COMMANDS: [(&str, &str, bool); 11] = [
    ("yarn-classic", "yarn install", false),
    ("yarn-berry", "yarn install", false),
    ("pnpm", "pnpm install", false),
    ("pnpm8", "pnpm install", false),
    ("bun", "bun install", false),
    ("package-lock", "npm install", false),
    ("poetry", "poetry lock", true),
    ("uv", "uv lock", true),
    ("pdm", "pdm lock", true),
    ("pipenv", "pipenv lock", true),
    ("composer", "composer update --lock", true),
];

/// A kind of recorded expectation.
struct Kind {
    file: &'static str,
    says: &'static str,
    check: fn(&Case, &str, &Tally) -> Result<(), String>,
}

/// One case folder.
pub(crate) struct Case {
    /// `ecosystem/format/case`.
    pub(crate) name: String,
    pub(crate) root: PathBuf,
    /// The format folder (`yarn-classic`).
    format: String,
}

/// The OSV server the end-to-end checks use, and the number of comparisons made.
struct Tally {
    server: OsvServer,
    compared: std::cell::Cell<usize>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            server: OsvServer::builder().without_shared_data().start(),
            compared: std::cell::Cell::new(0),
        }
    }

    /// Compares `got` with `want`, counting the comparison.
    fn same<T: PartialEq + std::fmt::Debug>(
        &self,
        what: &str,
        got: T,
        want: T,
    ) -> Result<(), String> {
        self.compared.set(self.compared.get() + 1);
        if got == want {
            Ok(())
        } else {
            Err(format!(
                "{what}:\n  lockgate: {got:?}\n  recorded: {want:?}"
            ))
        }
    }
}

fn sub_folders(folder: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .map(|entry| entry.expect("read a folder entry").path())
        .filter(|path| path.is_dir())
        .collect();
    folders.sort();
    folders
}

fn relative(path: &Path) -> String {
    path.strip_prefix(ROOT)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

/// Every `<ecosystem>/<format>/<case>/` folder, and the folders that are not a case the harness
/// reads: a case folder without an expectation, or an expectation file where no case reads it.
fn walk() -> (Vec<Case>, Vec<String>) {
    let mut cases = Vec::new();
    let mut unread = Vec::new();
    for ecosystem in sub_folders(Path::new(ROOT)) {
        let folder = relative(&ecosystem);
        if NOT_CORPORA.contains(&folder.as_str()) {
            continue;
        }
        let known = lockgate::ecosystem::ECOSYSTEMS
            .iter()
            .any(|known| known.id.as_osv().to_lowercase() == folder);
        if !known {
            unread.push(format!(
                "{folder}/: not an ecosystem of lockgate::ecosystem::ECOSYSTEMS"
            ));
        }
        for format in sub_folders(&ecosystem) {
            if NOT_FORMATS.contains(&relative(&format).as_str()) {
                continue;
            }
            for root in sub_folders(&format) {
                let name = relative(&root);
                if !KINDS.iter().any(|kind| root.join(kind.file).is_file()) {
                    unread.push(format!("{name}/: no {}", kind_files()));
                    continue;
                }
                // An expectation below a case's own folder is one that nothing reads.
                for file in fixtures::files_under(&root) {
                    let depth = file.strip_prefix(&root).unwrap().components().count();
                    let file_name = file.file_name().unwrap().to_string_lossy();
                    if depth > 1 && KINDS.iter().any(|kind| kind.file == file_name) {
                        unread.push(format!("{}: below its case folder", relative(&file)));
                    }
                }
                let format = format.file_name().unwrap().to_string_lossy().into_owned();
                cases.push(Case { name, root, format });
            }
        }
    }
    (cases, unread)
}

/// The cases of one format folder (`pypi/pipenv`), for tests that do more with a corpus than
/// the harness does.
pub(crate) fn cases_of(format: &str) -> Vec<Case> {
    let prefix = format!("{format}/");
    walk()
        .0
        .into_iter()
        .filter(|case| case.name.starts_with(&prefix))
        .collect()
}

fn kind_files() -> String {
    KINDS
        .iter()
        .map(|kind| format!("{} ({})", kind.file, kind.says))
        .collect::<Vec<_>>()
        .join(", ")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn every_case_agrees_with_what_its_tool_recorded() {
    let tally = Tally::new();
    let (cases, _) = walk();
    let mut failures = Vec::new();
    let mut checked = std::collections::BTreeMap::<&str, usize>::new();
    // Per format folder, of the cases with a tool's verdict: (cases, agreed, stricter).
    let mut verdicts = std::collections::BTreeMap::<String, (usize, usize, usize)>::new();
    for case in &cases {
        for kind in &KINDS {
            let path = case.root.join(kind.file);
            if !path.is_file() {
                continue;
            }
            let expectation = format!("{}/{}", case.name, kind.file);
            let outcome = (kind.check)(case, &read(&path), &tally);
            if matches!(kind.file, "verdict.txt" | "composer-verdict.txt") {
                let format = case.name.rsplit_once('/').map_or("", |(format, _)| format);
                let row = verdicts.entry(format.to_string()).or_default();
                row.0 += 1;
                if outcome.is_ok() {
                    row.1 += 1;
                    if DISAGREEMENTS.iter().any(|(name, ..)| *name == case.name) {
                        row.2 += 1;
                    }
                }
            }
            if let Err(why) = outcome {
                failures.push(format!("{expectation}: {why}"));
            }
            *checked.entry(kind.file).or_default() += 1;
        }
    }
    // Each disagreement names a case the harness read, where the tool passed.
    for (name, _, why) in DISAGREEMENTS {
        let case = cases.iter().find(|case| case.name == name);
        let passed = case
            .is_some_and(|case| recorded_exit(&read(&case.root.join("verdict.txt"))) == Some(0));
        if !passed {
            failures.push(format!(
                "{name}: listed as a disagreement ({why}), but no case where the tool passed"
            ));
        }
    }
    for (format, (cases, agreed, stricter)) in &verdicts {
        let same = agreed - stricter;
        let stricter = match stricter {
            0 => String::new(),
            n => format!(", stricter by design on {n} (DISAGREEMENTS, README)"),
        };
        eprintln!(
            "agreement: {format}: lockgate's verdict is the tool's on {same} of {cases} cases\
             {stricter}"
        );
    }
    eprintln!(
        "fixtures: {} cases, {checked:?} expectations, {} comparisons, {} deliberate \
         disagreements",
        cases.len(),
        tally.compared.get(),
        DISAGREEMENTS.len(),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(cases.len() >= 100, "only {} cases", cases.len());
}

#[test]
fn every_fixture_folder_is_a_case_the_harness_reads() {
    let (cases, unread) = walk();
    assert!(
        unread.is_empty(),
        "each case folder records one of {} for the harness (tests/fixtures.rs) to check:\n{}",
        kind_files(),
        unread.join("\n")
    );
    for folder in NOT_FORMATS {
        assert!(
            fixtures::fixture(folder).is_dir(),
            "{folder}: listed in NOT_FORMATS, gone"
        );
    }
    assert!(!cases.is_empty());
}

#[test]
fn a_broken_expectation_fails_its_check() {
    let tally = Tally::new();
    let (cases, _) = walk();
    let case = |name: &str| cases.iter().find(|case| case.name == name).expect(name);
    let small = case("npm/yarn-classic/small");
    let listed = read(&small.root.join("packages.txt"));
    assert!(packages_listed(small, &listed, &tally).is_ok());
    assert!(packages_listed(small, &format!("left-pad@9.9.9\n{listed}"), &tally).is_err());
    let stale = case("pypi/uv/dep-added");
    assert!(tool_verdict(stale, "exit 1\n", &tally).is_ok());
    assert!(tool_verdict(stale, "exit 0\n", &tally).is_err());
    let absent = case("packagist/composer/required-absent");
    let said = read(&absent.root.join("composer-verdict.txt"));
    assert!(composer_verdict(absent, &said, &tally).is_ok());
    let other = said.replace("acme/test-kit", "acme/other-kit");
    assert!(composer_verdict(absent, &other, &tally).is_err());
    let fresh_hash = said.replace("The lock file is not up to date", "The lock file is");
    assert!(composer_verdict(absent, &fresh_hash, &tally).is_err());
}

/// The lockfiles of a case: the files in its folder that lockgate reads as one, and the `.txt`
/// pip-compile wrote from each `.in` (`dev.in` → `dev.txt`, read as a requirements file).
fn lockfiles(case: &Case) -> Vec<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&case.root).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(input) = name.strip_suffix(".in") {
            names.insert(format!("{input}.txt"));
        } else if format_of(&name).is_some() {
            names.insert(name);
        }
    }
    names.into_iter().collect()
}

/// What the lockfiles of a case lock together, each read with its includes from the folder.
fn parse_lockfiles(case: &Case) -> Result<LockedSet, String> {
    let includes = |path: &str| -> Result<Option<String>, ParseError> {
        Ok(std::fs::read_to_string(case.root.join(path)).ok())
    };
    let mut locked = LockedSet::default();
    for name in lockfiles(case) {
        let format = format_of(&name)
            .or_else(|| format_of("requirements.txt"))
            .unwrap();
        let text = read(&case.root.join(&name));
        let set = format
            .parse(&name, &text, &includes)
            .map_err(|error| format!("{name}: {error}"))?;
        locked.extend(set);
    }
    Ok(locked)
}

/// A package as its tool lists it: `name==version` for PyPI, `name@version` otherwise.
fn listed(package: &Package) -> String {
    if package.ecosystem == Ecosystem::PyPI {
        format!("{}=={}", package.name, package.version)
    } else {
        package.to_string()
    }
}

/// `packages.txt`: the registry packages, one a line, then after `# non-registry` the other
/// sources as `name kind` (workspace members and links are the project's own code, not
/// packages); `unpinned.txt`, when there is one: requirements the tool left without a version.
fn packages_listed(case: &Case, recorded: &str, tally: &Tally) -> Result<(), String> {
    let locked = parse_lockfiles(case)?;
    let (registry, others) = recorded
        .split_once("# non-registry")
        .unwrap_or((recorded, ""));
    let expected: BTreeSet<String> = registry
        .lines()
        .take_while(|line| !line.starts_with('#'))
        .filter(|line| !line.trim().is_empty())
        .map(str::to_string)
        .collect();
    let parsed: BTreeSet<String> = locked.packages().iter().map(listed).collect();
    tally.same("registry packages", parsed, expected)?;

    let expected_others: BTreeSet<String> = others
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter(|line| !line.ends_with(" workspace") && !line.ends_with(" link"))
        .map(str::to_string)
        .collect();
    let parsed_others: BTreeSet<String> = locked
        .non_registry()
        .iter()
        .map(|entry| format!("{} {}", entry.name, entry.kind.as_str()))
        .collect();
    tally.same("other sources", parsed_others, expected_others)?;

    let unpinned_file = case.root.join("unpinned.txt");
    let expected_unpinned: Vec<String> = if unpinned_file.is_file() {
        read(&unpinned_file)
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_string)
            .collect()
    } else {
        Vec::new()
    };
    let unpinned: Vec<String> = locked
        .unpinned
        .iter()
        .map(|unpinned| unpinned.package.name.clone())
        .collect();
    tally.same("unpinned requirements", unpinned, expected_unpinned)
}

/// The exit code on the first line of a recorded verdict (`exit 1`, `npm 11.19.1: …: exit 0`),
/// or composer's summary of its two commands (`verdict: ok` is 0, `verdict: blocked` 1).
fn recorded_exit(recorded: &str) -> Option<i32> {
    match recorded.lines().next()? {
        "verdict: ok" => Some(0),
        "verdict: blocked" => Some(1),
        first => first.rsplit_once("exit ")?.1.trim().parse().ok(),
    }
}

/// The package a recorded engines refusal names: npm's `Not compatible with your version of
/// node/npm: a@1.0.0`, pnpm's `Your Node version is incompatible with "…/packages/a"` (a folder
/// for the project's own packages) or yarn 1's `error a@1.0.0: The engine "node" is
/// incompatible`.
fn engine_refused(recorded: &str) -> Option<String> {
    recorded.lines().find_map(|line| {
        if let Some((_, who)) = line.split_once("Not compatible with your version of node/npm: ") {
            return Some(who.trim().to_string());
        }
        if let Some((_, who)) = line.split_once("Your Node version is incompatible with \"") {
            return Some(who.trim_end_matches(['.', '"']).to_string());
        }
        let who = line
            .strip_prefix("error ")?
            .split_once(": The engine \"node\"")?
            .0;
        Some(who.to_string())
    })
}

/// The file of the case that states the refused package's `engines.node`: a package.json whose
/// `name@version` (or, for pnpm, whose folder) it is, else the lockfile.
fn engine_file(case: &Case, refused: &str) -> Result<String, String> {
    if let Some((_, folder)) = refused.split_once("/lockgate-frozen/check") {
        let folder = folder.trim_start_matches('/');
        return Ok(if folder.is_empty() {
            "package.json".to_string()
        } else {
            format!("{folder}/package.json")
        });
    }
    for (path, bytes) in fixtures::project_files(&case.root) {
        if !path.ends_with("package.json") {
            continue;
        }
        let manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let named = format!(
            "{}@{}",
            manifest["name"].as_str().unwrap_or_default(),
            manifest["version"].as_str().unwrap_or_default()
        );
        if named == refused {
            return Ok(path);
        }
    }
    match lockfiles(case).as_slice() {
        [lockfile] => Ok(lockfile.clone()),
        other => Err(format!("{refused}: which of {other:?} states its engines?")),
    }
}

/// lockgate's verdict on the case, staged whole in a new repository: the tool's, unless
/// [`DISAGREEMENTS`] says otherwise; a block names exactly the problems expected (each lockfile
/// out of sync, unless a table says otherwise), and for a lockfile out of sync the text report
/// (and for some formats the JSON message) says what to run.
fn tool_verdict(case: &Case, recorded: &str, tally: &Tally) -> Result<(), String> {
    let code = recorded_exit(recorded).ok_or("line 1 is not `exit <code>` nor `verdict: …`")?;
    let disagreement = DISAGREEMENTS.iter().find(|(name, ..)| *name == case.name);
    let tool = if code == 0 { "pass" } else { "block" };
    let expected = if disagreement.is_some() {
        "block"
    } else {
        tool
    };

    let repo = TestRepo::new();
    write_case(&repo, &case.root, "");
    repo.stage_all();
    let url = tally.server.url();
    let run = repo.lockgate(&["--osv-url", &url, "--format", "json"]);
    tally.same(
        &format!("verdict (the tool: {tool})\n{}", run.output()),
        verdict(&run)?,
        expected,
    )?;
    if expected == "pass" {
        return Ok(());
    }
    // What blocks is the verdict; warnings (a git dependency the project asks for) are not.
    let problems: BTreeSet<String> = run.stdout_json()["problems"]
        .as_array()
        .ok_or("no problems in the report")?
        .iter()
        .filter(|problem| problem["blocking"] != false)
        .map(|problem| {
            format!(
                "{} {}",
                problem["kind"].as_str().unwrap_or_default(),
                problem["path"].as_str().unwrap_or_default()
            )
        })
        .collect();
    let listed = disagreement.map(|(_, problems, _)| *problems).or_else(|| {
        PROBLEMS
            .iter()
            .find(|(name, _)| *name == case.name)
            .map(|(_, problems)| *problems)
    });
    let expected_problems: BTreeSet<String> = match listed {
        Some(problems) => problems.iter().map(ToString::to_string).collect(),
        None if engine_refused(recorded).is_some() => {
            let refused = engine_refused(recorded).unwrap_or_default();
            BTreeSet::from([format!(
                "engine-unsupported {}",
                engine_file(case, &refused)?
            )])
        }
        None => match lockfiles(case).as_slice() {
            [lockfile] => BTreeSet::from([format!("lockfile-out-of-sync {lockfile}")]),
            other => {
                return Err(format!(
                    "lockfiles {other:?}: say which problem in DISAGREEMENTS"
                ))
            }
        },
    };
    let out_of_sync = problems
        .iter()
        .any(|p| p.starts_with("lockfile-out-of-sync "));
    tally.same("problems", problems, expected_problems)?;
    if !out_of_sync {
        return Ok(());
    }

    let (command, in_json) = COMMANDS
        .iter()
        .find(|(format, ..)| *format == case.format)
        .map(|(_, command, in_json)| (format!("run `{command}`"), *in_json))
        .ok_or_else(|| format!("no command for {}: add it to COMMANDS", case.format))?;
    if in_json {
        let message = run.stdout_json()["problems"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        tally.same(
            &format!("the JSON message says `{command}`: {message}"),
            message.contains(&command),
            true,
        )?;
    }
    let text = repo.lockgate(&["--osv-url", &url]);
    tally.same(
        &format!("the text report says `{command}`\n{}", text.output()),
        text.stderr.contains(&command),
        true,
    )
}

/// Composer's recorded verdict: lockgate's verdict is composer's ([`tool_verdict`]), and it says
/// what composer said: the lock is stale exactly where composer says "The lock file is not up to
/// date" (so the content-hash is Composer's, byte for byte), the lockfile is missing exactly
/// where composer says so, and it names the same missing requirements (`- Required …` lines).
fn composer_verdict(case: &Case, recorded: &str, tally: &Tally) -> Result<(), String> {
    tool_verdict(case, recorded, tally)?;
    let files: std::collections::BTreeMap<String, String> = fixtures::project_files(&case.root)
        .into_iter()
        .map(|(path, bytes)| (path, String::from_utf8_lossy(&bytes).into_owned()))
        .collect();
    let problems = project_problems(&files, None, Fixing::Staged)
        .map_err(|error| format!("project_problems: {error}"))?;
    let says = |text: &str| {
        problems
            .iter()
            .any(|problem| problem.message.contains(text))
    };
    tally.same(
        "says the content-hash is stale",
        says("content-hash no longer matches"),
        recorded.contains("The lock file is not up to date"),
    )?;
    tally.same(
        "says the lockfile is missing",
        problems
            .iter()
            .any(|problem| problem.kind == ProblemKind::LockfileMissing),
        recorded.contains("No composer.lock file present"),
    )?;
    let expected: BTreeSet<String> = recorded
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- Required"))
        .map(|rest| format!("Required{}", rest.trim_end_matches('.')))
        .collect();
    let said: BTreeSet<String> = problems
        .iter()
        .filter_map(|problem| {
            let at = problem.message.find("Required")?;
            let reason = &problem.message[at..];
            Some(reason.split(": run `").next().unwrap_or(reason).to_string())
        })
        .collect();
    tally.same("missing requirements", said, expected)
}

/// A pass is exit 0, a block exit 1, or exit 2 for a staged lockfile that cannot be read (the
/// contract of exit 2; the tools refuse such a lockfile too).
fn verdict(run: &Run) -> Result<&'static str, String> {
    let unreadable = || {
        run.stdout_json()["problems"]
            .as_array()
            .is_some_and(|problems| problems.iter().any(|p| p["kind"] == "lockfile-unreadable"))
    };
    match run.code {
        Some(0) => Ok("pass"),
        Some(1) => Ok("block"),
        Some(2) if unreadable() => Ok("block"),
        _ => Err(format!("unexpected outcome\n{}", run.output())),
    }
}

/// `expected.txt` of hand-written requirements files: pinned packages as `name==version`, then
/// `# non-registry` lines as written, `# unpinned` requirements as written, and `# constraints`
/// (which add no package: the pinned set being equal says so). Starting from `start`, a parser
/// finds exactly that; for an include cycle, reporting the cycle is the other correct outcome.
fn requirements_found(
    case: &Case,
    start: &str,
    recorded: &str,
    tally: &Tally,
) -> Result<(), String> {
    let mut sections: Vec<(String, BTreeSet<String>)> = vec![(String::new(), BTreeSet::new())];
    for line in recorded.lines() {
        if let Some(header @ ("non-registry" | "unpinned" | "constraints")) =
            line.strip_prefix("# ")
        {
            sections.push((header.to_string(), BTreeSet::new()));
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            sections.last_mut().unwrap().1.insert(line.to_string());
        }
    }
    let section = |name: &str| {
        sections
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, lines)| lines.clone())
            .unwrap_or_default()
    };
    let format = format_of("requirements.txt").unwrap();
    let includes = |path: &str| -> Result<Option<String>, ParseError> {
        Ok(std::fs::read_to_string(case.root.join(path)).ok())
    };
    let locked = match format.parse(start, &read(&case.root.join(start)), &includes) {
        Ok(locked) => locked,
        Err(error) if start.starts_with("cycle") && error.to_string().contains("cycle") => {
            return Ok(());
        }
        Err(error) => return Err(format!("{start}: {error}")),
    };
    // Pinned to a version lockgate cannot read (`===2.1-custom`) is pinned too: lockgate
    // reports it as not checkable, and it is locked all the same.
    let pinned: BTreeSet<String> = locked
        .packages()
        .iter()
        .chain(&locked.unreadable())
        .map(listed)
        .collect();
    tally.same("pinned", pinned, section(""))?;
    let unpinned: BTreeSet<String> = locked
        .unpinned
        .iter()
        .map(|unpinned| unpinned.requirement.clone())
        .collect();
    tally.same("unpinned", unpinned, section("unpinned"))?;
    // Non-registry lines as written: each names the location lockgate records.
    let others = locked.non_registry();
    let written = section("non-registry");
    tally.same("non-registry count", others.len(), written.len())?;
    for other in &others {
        if !written.iter().any(|line| line.contains(&other.source)) {
            return Err(format!(
                "non-registry {other:?}: no line {written:?} names it"
            ));
        }
    }
    Ok(())
}
