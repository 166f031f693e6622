//! What lockgate knows of each package ecosystem, one folder each (`npm/`, `pypi/`,
//! `packagist/`): a [`Format`] is one lockfile format (which paths it reads, how it parses),
//! and an [`Ecosystem`] is one static value naming its OSV id and version and name rules, its
//! formats, the files that call for a lockfile check, how a change maps to the projects it
//! touches, and that check. [`ECOSYSTEMS`] is the only list of them the rest of the program
//! loops over: adding an ecosystem is a folder and a line there.

pub mod glob;
pub mod json_lines;
pub mod memo;
pub mod npm;
pub mod packagist;
pub mod parse;
pub mod pypi;
pub(crate) mod yaml;

pub(crate) use yaml::{
    document as yaml_document, document_with_lines as yaml_document_with_lines, line as yaml_line,
    text as yaml_text,
};

use crate::error::Error;
use crate::matching::Scheme;
use crate::package::{self, LockedSet};
use crate::report::{Problem, ProblemKind};
pub use parse::{decode, ParseError};
use std::collections::{BTreeMap, BTreeSet};

/// Every ecosystem lockgate supports.
pub static ECOSYSTEMS: &[&Ecosystem] = &[&npm::NPM, &pypi::PYPI, &packagist::PACKAGIST];

/// A read-only view of the files of one snapshot (the index, a commit, or a map in tests).
pub trait Files {
    /// Every file path, `/`-separated and relative to the repository root.
    fn paths(&self) -> Box<dyn Iterator<Item = &str> + '_>;
    /// Whether `path` is a file.
    fn contains(&self, path: &str) -> bool;
    /// The content of `path`; `None` when there is no such file.
    fn read(&self, path: &str) -> Result<Option<std::sync::Arc<[u8]>>, Error>;
}

/// Paths to file contents: the files the unit tests and the benchmarks use.
impl Files for BTreeMap<String, String> {
    fn paths(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        Box::new(self.keys().map(String::as_str))
    }

    fn contains(&self, path: &str) -> bool {
        self.contains_key(path)
    }

    fn read(&self, path: &str) -> Result<Option<std::sync::Arc<[u8]>>, Error> {
        Ok(self
            .get(path)
            .map(|text| std::sync::Arc::from(text.as_bytes())))
    }
}

/// Reads another file of the same snapshot by repository path; `Ok(None)` when there is none.
/// Only formats with includes (pip's `-r`) use it.
pub type Includes<'a> = dyn Fn(&str) -> Result<Option<String>, ParseError> + 'a;

/// One lockfile format: which files it reads and how.
pub struct Format {
    /// The format's usual file name, for messages and tests (`package-lock.json`).
    pub name: &'static str,
    /// Which files are in this format, by repository path; `None`: those named `name`.
    pub pattern: Option<fn(&str) -> bool>,
    /// What a file's text locks. Pure: no paths, no I/O.
    pub read: fn(&str) -> Result<LockedSet, ParseError>,
    /// For a format whose files include others (pip's `-r`), how.
    pub includes: Option<&'static IncludeRules>,
}

/// How the files of a [`Format`] include others.
pub struct IncludeRules {
    /// Whether a file at a path may be included (so a change to it alone can change what an
    /// including lockfile locks).
    pub may_be_included: fn(&str) -> bool,
    /// Every file the lockfile at a path includes, directly or not.
    pub included_files: fn(&str, &Includes<'_>) -> Vec<String>,
    /// What the file at a path locks, from its text and the files it includes.
    pub read: fn(&str, &str, &Includes<'_>) -> Result<LockedSet, ParseError>,
}

impl Format {
    /// A format recognised by its exact file name.
    pub const fn named(
        name: &'static str,
        read: fn(&str) -> Result<LockedSet, ParseError>,
    ) -> Format {
        Format {
            name,
            pattern: None,
            read,
            includes: None,
        }
    }

    /// Whether the file at `path` (a repository path) is in this format.
    pub fn matches(&self, path: &str) -> bool {
        match self.pattern {
            Some(pattern) => pattern(path),
            None => file_name(path) == self.name,
        }
    }

    /// Whether what a file locks depends on other files (so a parse of its blob alone cannot
    /// be reused).
    pub fn has_includes(&self) -> bool {
        self.includes.is_some()
    }

    /// Whether a file at `path` may be included by a lockfile of this format.
    pub fn may_be_included(&self, path: &str) -> bool {
        self.includes
            .is_some_and(|rules| (rules.may_be_included)(path))
    }

    /// Every file the lockfile at `path` includes, directly or not.
    pub fn included_files(&self, path: &str, includes: &Includes<'_>) -> Vec<String> {
        self.includes
            .map(|rules| (rules.included_files)(path, includes))
            .unwrap_or_default()
    }

    /// What the file at `path` locks, versions in their normal form. An empty file locks
    /// nothing (npm treats it as no lockfile; the lockfile check reports that), and a file with
    /// merge-conflict markers is refused rather than read as either side.
    pub fn parse(
        &self,
        path: &str,
        text: &str,
        includes: &Includes<'_>,
    ) -> Result<LockedSet, ParseError> {
        if text.trim().is_empty() {
            return Ok(LockedSet::default());
        }
        parse::check_conflict_markers(text)?;
        let locked = match self.includes {
            Some(rules) => (rules.read)(path, text, includes),
            None => (self.read)(text),
        };
        locked.map(LockedSet::normalised)
    }
}

/// A registry to ask: its base URL (an npm registry, a Python index), and the `Authorization`
/// the project's own configuration gives for it.
#[derive(Clone, Copy, Debug)]
pub struct RegistryAt<'a> {
    /// The base URL.
    pub base: &'a str,
    /// The credentials, as the header's value.
    pub authorization: Option<&'a str>,
}

/// How a version was published: with provenance attestations (npm `dist.attestations`, PEP 740),
/// and by a trusted publisher (npm: OIDC from CI, `_npmUser.trustedPublisher`); and whether it
/// runs an install script, where the registry says (npm `hasInstallScript`, or `scripts`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    /// It has provenance.
    pub attested: bool,
    /// A trusted publisher published it.
    pub trusted_publisher: bool,
    /// It runs an install script (`None`: the registry does not say).
    pub install_script: Option<bool>,
}

/// What the registry says of each version, and how each was published.
pub type WithEvidence = (BTreeMap<String, Published>, BTreeMap<String, Evidence>);

/// What a package registry says of one version (its `registry` module asks it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Published {
    /// Published at this time (Unix seconds).
    At(u64),
    /// Published before this time (the document's `modified`): old enough, whatever the exact
    /// time.
    Before(u64),
    /// No longer served: why.
    Pulled(String),
    /// Served, but the registry gives no time for it: why.
    Unknown(String),
}

/// What is wrong with a project's lockfile, as its package manager's frozen install judges it:
/// what every ecosystem's lockfile check returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncProblem {
    /// Its kind, as the report names it.
    pub kind: ProblemKind,
    /// The file it is about.
    pub path: String,
    /// What is wrong, in the package manager's terms.
    pub reason: String,
    /// What fixes it, when lockgate knows.
    pub fix: Option<Fix>,
    /// Whether it blocks.
    pub blocking: bool,
    /// Where in the file, when known: 1-based line and column (0 when unknown).
    pub position: (usize, usize),
}

/// How to fix a [`SyncProblem`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// What else would fix it (`fix it`, `remove the lockfile too`).
    pub alternative: Option<String>,
    /// The command that fixes it (`npm install`), run in `folder`.
    pub command: Option<String>,
    /// The folder to run it in (`""` for the repository root).
    pub folder: String,
    /// The files to commit afterwards.
    pub files: Vec<String>,
    /// Whether the files are to be fixed by hand (no command writes them).
    pub by_hand: bool,
}

/// Where a problem is being fixed: in the commit being made (files are staged), or in a pushed
/// commit (files are committed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fixing<'a> {
    /// The commit being made.
    Staged,
    /// A pushed commit, as its short id and subject.
    Pushed(&'a str),
}

impl SyncProblem {
    /// A problem of `kind` with `path`, for `reason`, blocking.
    pub fn new(kind: ProblemKind, path: &str, reason: impl Into<String>) -> SyncProblem {
        SyncProblem {
            kind,
            path: path.to_string(),
            reason: reason.into(),
            fix: None,
            blocking: true,
            position: (0, 0),
        }
    }

    /// The same, at `line` and `column` of its file (0 when unknown).
    pub fn at(mut self, line: usize, column: usize) -> SyncProblem {
        self.position = (line, column);
        self
    }

    /// The same, fixed by running `command` in `folder` and committing `files`.
    pub fn run(mut self, command: &str, folder: &str, files: &[&str]) -> SyncProblem {
        self.fix = Some(Fix {
            alternative: None,
            command: Some(command.to_string()),
            folder: folder.to_string(),
            files: files.iter().map(|file| file.to_string()).collect(),
            by_hand: false,
        });
        self
    }

    /// The same, fixed by editing `files` by hand and committing them.
    pub fn edit(mut self, files: &[&str]) -> SyncProblem {
        self.fix = Some(Fix {
            alternative: None,
            command: None,
            folder: String::new(),
            files: files.iter().map(|file| file.to_string()).collect(),
            by_hand: true,
        });
        self
    }

    /// The same, with another way to fix it besides the command.
    pub fn or(mut self, alternative: &str) -> SyncProblem {
        if let Some(fix) = &mut self.fix {
            fix.alternative = Some(alternative.to_string());
        }
        self
    }

    /// The report's problem, its advice worded for where it is fixed.
    pub fn into_problem(self, fixing: Fixing<'_>) -> Problem {
        let verb = match fixing {
            Fixing::Staged => "stage",
            Fixing::Pushed(_) => "commit",
        };
        let mut message = self.reason;
        if let Some(fix) = &self.fix {
            message.push_str(": ");
            message.push_str(&fix.describe(verb));
        }
        if let Fixing::Pushed(commit) = fixing {
            message = format!(
                "in commit {commit}: {message}; fix it in a new commit, or in that commit (`git \
                 commit --amend`, or `git commit --fixup` then `git rebase -i --autosquash`), \
                 and push again"
            );
        }
        let (line, column) = self.position;
        Problem::new(self.kind, &self.path, &message, self.blocking).at(line, column)
    }
}

impl Fix {
    /// The advice, with `verb` (`stage`, `commit`) for what to do with the files.
    fn describe(&self, verb: &str) -> String {
        let files = self.files.join(" and ");
        match (&self.command, &self.alternative) {
            (Some(command), alternative) => {
                let place = if self.folder.is_empty() {
                    "the repository root"
                } else {
                    &self.folder
                };
                let run = format!("run `{command}` in {place} and {verb} {files}");
                match alternative {
                    Some(alternative) => format!("{run}; or {alternative}"),
                    None => run,
                }
            }
            (None, alternative) => {
                let edit = if self.by_hand { "fix it and " } else { "" };
                match alternative {
                    Some(alternative) => format!("{edit}{verb} {files}, or {alternative}"),
                    None => format!("{edit}{verb} {files}"),
                }
            }
        }
    }
}

/// The projects to check in a snapshot: those the changed paths touch, or with `None`, all.
pub type Projects = fn(&dyn Files, Option<&[String]>) -> Result<BTreeSet<String>, Error>;

/// One ecosystem: plain data and functions, one static value in each ecosystem's folder.
pub struct Ecosystem {
    /// The ecosystem as OSV names it.
    pub id: package::Ecosystem,
    /// Whose rules read its versions, for messages (`npm's semver`).
    pub version_rules: &'static str,
    /// How OSV orders its versions in `ECOSYSTEM` ranges.
    pub scheme: Scheme,
    /// The normal form of a locked version (what is compared, asked of OSV and cached), or
    /// `None` when the package manager would not read it as one exact version.
    pub normal_version: fn(&str) -> Option<String>,
    /// A package name as OSV keys it.
    pub normal_name: fn(&str) -> String,
    /// The lockfile formats it reads.
    pub formats: &'static [&'static Format],
    /// Whether a change to a path calls for the lockfile check of the project around it.
    pub is_trigger: fn(&str) -> bool,
    /// The projects to check: those the changed paths touch, or with `None`, every one.
    pub projects: Projects,
    /// The lockfile check of the project in a folder: is its lockfile there, readable, and
    /// what the package manager's frozen install would accept.
    pub check_project: fn(&dyn Files, &str) -> Result<Vec<SyncProblem>, Error>,
    /// How to pin a requirement that names no one version, in this ecosystem's tools.
    pub unpinned_advice: &'static str,
    /// The package name and version a download URL (or file name) of `package` names, where
    /// its shape names them (`None` for another shape: an index URL, Packagist's archives).
    pub download_names: fn(&str, &package::Package) -> Option<(String, String)>,
}

/// The ecosystem `id` names.
pub fn of(id: package::Ecosystem) -> &'static Ecosystem {
    ECOSYSTEMS
        .iter()
        .find(|ecosystem| ecosystem.id == id)
        .expect("every OSV ecosystem lockgate knows is in ECOSYSTEMS")
}

/// The format of the lockfile at `path`, if it is one.
pub fn format_of(path: &str) -> Option<&'static Format> {
    ECOSYSTEMS
        .iter()
        .flat_map(|ecosystem| ecosystem.formats)
        .find(|format| format.matches(path))
        .copied()
}

/// Whether a change to `path` matters to lockgate: a lockfile it reads, or a file a lockfile
/// check starts from.
pub fn is_relevant(path: &str) -> bool {
    format_of(path).is_some() || is_trigger(path)
}

/// Whether a change to `path` calls for the lockfile check of some project.
pub fn is_trigger(path: &str) -> bool {
    ECOSYSTEMS
        .iter()
        .any(|ecosystem| (ecosystem.is_trigger)(path))
}

/// Whether a change to `path` may change what a lockfile that includes it locks.
pub fn may_be_included(path: &str) -> bool {
    ECOSYSTEMS
        .iter()
        .flat_map(|ecosystem| ecosystem.formats)
        .any(|format| format.may_be_included(path))
}

/// The lockfile checks, read from `files`, offline: of the projects the `changed` paths touch,
/// or with `None`, of every project; their advice worded for where they are fixed.
pub fn project_problems(
    files: &dyn Files,
    changed: Option<&[String]>,
    fixing: Fixing<'_>,
) -> Result<Vec<Problem>, Error> {
    let mut problems = Vec::new();
    for ecosystem in ECOSYSTEMS {
        let changed: Option<Vec<String>> = changed.map(|changed| {
            changed
                .iter()
                .filter(|path| (ecosystem.is_trigger)(path))
                .cloned()
                .collect()
        });
        for project in (ecosystem.projects)(files, changed.as_deref())? {
            problems.extend(
                (ecosystem.check_project)(files, &project)?
                    .into_iter()
                    .map(|problem| problem.into_problem(fixing)),
            );
        }
    }
    Ok(problems)
}

/// The projects an ecosystem whose projects are marked by a manifest file checks: the folders
/// of the `changed` paths, or with `None`, of every file named one of `manifests`.
pub fn manifest_folders(
    files: &dyn Files,
    changed: Option<&[String]>,
    manifests: &[&str],
) -> BTreeSet<String> {
    let folder = |path: &str| folder_of(path).to_string();
    match changed {
        Some(changed) => changed.iter().map(|path| folder(path)).collect(),
        None => files
            .paths()
            .filter(|path| manifests.contains(&file_name(path)))
            .map(folder)
            .collect(),
    }
}

/// The file name of a repository path.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The folder of a repository path (`""` for the root).
pub fn folder_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(folder, _)| folder)
}

/// `folder/name`, or `name` at the root.
pub fn join_path(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_string()
    } else {
        format!("{folder}/{name}")
    }
}

/// Joins a relative path onto a project-relative folder and resolves `.` and `..`, keeping `..`
/// that climb above the project. Absolute paths come back as they are.
pub fn join_relative(folder: &str, path: &str) -> String {
    let path = path.replace('\\', "/");
    if path.starts_with('/') {
        return path;
    }
    let mut parts: Vec<&str> = Vec::new();
    for segment in folder.split('/').chain(path.split('/')) {
        match segment {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            segment => parts.push(segment),
        }
    }
    parts.join("/")
}

/// No includes at all (a snapshot with no other files, such as before the first commit).
pub fn no_includes(_: &str) -> Result<Option<String>, ParseError> {
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_lockfiles_by_exact_file_name() {
        let cases = [
            ("package-lock.json", Some("package-lock.json")),
            ("web/app/package-lock.json", Some("package-lock.json")),
            ("npm-shrinkwrap.json", Some("npm-shrinkwrap.json")),
            ("old-package-lock.json", None),
            ("api/poetry.lock", Some("poetry.lock")),
            ("pylock.dev.toml", Some("pylock.toml")),
            ("requirements-dev.txt", Some("requirements.txt")),
            ("notes.txt", None),
            ("package-lock.json.bak", None),
            ("package.json", None),
        ];
        for (path, expected) in cases {
            assert_eq!(format_of(path).map(|f| f.name), expected, "{path}");
        }
    }

    #[test]
    fn conflict_markers_are_refused_with_their_line() {
        let text = "{\n<<<<<<< HEAD\n  \"a\": 1\n=======\n  \"a\": 2\n>>>>>>> branch\n}\n";
        let format = format_of("package-lock.json").unwrap();
        let error = format
            .parse("package-lock.json", text, &no_includes)
            .unwrap_err();
        assert_eq!((error.line, error.column), (2, 1));
        assert!(error.message.contains("merge-conflict"));
    }

    #[test]
    fn every_parser_records_the_line_each_entry_stands_on() {
        let cases = [
            ("package-lock.json", "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {},\n    \"node_modules/debug\": {\n      \"version\": \"4.4.2\"\n    }\n  }\n}\n", 5),
            ("package-lock.json", "{\n  \"lockfileVersion\": 1,\n  \"dependencies\": {\n    \"ms\": {\"version\": \"2.1.3\"},\n    \"debug\": {\n      \"version\": \"4.4.2\"\n    }\n  }\n}\n", 5),
            ("yarn.lock", "# yarn lockfile v1\n\nms@^2:\n  version \"2.1.3\"\n\ndebug@^4.4.2:\n  version \"4.4.2\"\n", 6),
            ("yarn.lock", "__metadata:\n  version: 8\n\n\"debug@npm:^4.4.2\":\n  version: 4.4.2\n  resolution: \"debug@npm:4.4.2\"\n", 4),
            ("pnpm-lock.yaml", "lockfileVersion: '9.0'\n\npackages:\n\n  ms@2.1.3:\n    resolution: {integrity: x}\n\n  debug@4.4.2:\n    resolution: {integrity: x}\n", 8),
            ("bun.lock", "{\n  \"lockfileVersion\": 1,\n  \"packages\": {\n    \"debug\": [\"debug@4.4.2\", \"\", {}, \"sha512-x\"],\n  }\n}\n", 4),
            ("poetry.lock", "[[package]]\nname = \"ms\"\nversion = \"1.0\"\n\n[[package]]\nname = \"debug\"\nversion = \"4.4.2\"\n", 6),
            ("uv.lock", "version = 1\n\n[[package]]\nname = \"debug\"\nversion = \"4.4.2\"\nsource = { registry = \"https://pypi.example.test/simple\" }\n", 4),
            ("pdm.lock", "[[package]]\nname = \"debug\"\nversion = \"4.4.2\"\n", 2),
            ("pylock.toml", "lock-version = \"1.0\"\n\n[[packages]]\nname = \"debug\"\nversion = \"4.4.2\"\n", 4),
            ("Pipfile.lock", "{\n  \"default\": {\n    \"debug\": {\n      \"version\": \"==4.4.2\"\n    }\n  },\n  \"develop\": {}\n}\n", 3),
            ("requirements.txt", "six==1.16.0\ndebug==4.4.2 \\\n    --hash=sha256:x\n", 2),
        ];
        for (file, text, line) in cases {
            let format = format_of(file).unwrap();
            let locked = format.parse(file, text, &no_includes).unwrap();
            let entry = locked
                .entries
                .iter()
                .find(|entry| entry.package.name == "debug")
                .unwrap_or_else(|| panic!("{file}: no entry in {locked:?}"));
            assert_eq!(entry.line, Some(line), "{file}: {text}");
        }
    }

    #[test]
    fn entries_keep_checksums_install_scripts_upload_times_and_edges() {
        let npm = r#"{"lockfileVersion": 3, "packages": {
            "": {"dependencies": {"a": "^1"}},
            "node_modules/a": {"version": "1.0.0", "integrity": "sha512-a", "hasInstallScript": true,
                "dependencies": {"b": "^2"}},
            "node_modules/b": {"version": "2.0.0", "dev": true}}}"#;
        let locked = format_of("package-lock.json")
            .unwrap()
            .parse("package-lock.json", npm, &no_includes)
            .unwrap();
        let a = &locked.entries[0];
        assert_eq!(a.checksum.as_deref(), Some("sha512-a"));
        assert_eq!(a.install_scripts, Some(true));
        assert_eq!(a.dependencies[0].version.as_deref(), Some("2.0.0"));
        assert!(locked.entries[1].dev);
        let b = crate::package::Package::new(package::Ecosystem::Npm, "b", "2.0.0");
        assert_eq!(locked.dependency_path(&b).unwrap(), ["a@1.0.0", "b@2.0.0"]);

        let uv = "version = 1\n\n[[package]]\nname = \"a\"\nversion = \"1.0\"\nsource = { registry = \"https://pypi.example.test/simple\" }\ndependencies = [{ name = \"b\" }]\nsdist = { url = \"https://files.example.test/a-1.0.tar.gz\", hash = \"sha256:aa\", upload-time = \"2026-01-02T03:04:05Z\" }\n\n[[package]]\nname = \"b\"\nversion = \"2.0\"\nsource = { registry = \"https://pypi.example.test/simple\" }\n";
        let locked = format_of("uv.lock")
            .unwrap()
            .parse("uv.lock", uv, &no_includes)
            .unwrap();
        let a = &locked.entries[0];
        assert_eq!(a.checksum.as_deref(), Some("sha256:aa"));
        assert_eq!(a.uploaded.as_deref(), Some("2026-01-02T03:04:05Z"));
        assert!(matches!(
            &a.source,
            package::Source::Registry { host: Some(host), .. } if host == "pypi.example.test"
        ));
        let b = crate::package::Package::new(package::Ecosystem::PyPI, "b", "2.0");
        assert_eq!(locked.dependency_path(&b).unwrap(), ["a@1.0", "b@2.0"]);
    }

    #[test]
    fn sync_advice_says_stage_for_a_commit_and_commit_for_a_push() {
        let problems = [
            SyncProblem::new(
                ProblemKind::LockfileOutOfSync,
                "web/package-lock.json",
                "Missing: a@^1 from lock file",
            )
            .run("npm install", "web", &["web/package-lock.json"]),
            SyncProblem::new(
                ProblemKind::LockfileUnreadable,
                "package-lock.json",
                "bad JSON; npm ci cannot use it",
            )
            .run("npm install", "", &["package-lock.json"])
            .or("fix it by hand"),
            SyncProblem {
                fix: Some(Fix {
                    alternative: Some("remove the lockfile too".into()),
                    command: None,
                    folder: String::new(),
                    files: vec!["package.json".into()],
                    by_hand: false,
                }),
                ..SyncProblem::new(
                    ProblemKind::PackageJsonMissing,
                    "package.json",
                    "a lockfile without a package.json",
                )
            },
        ];
        let staged: Vec<String> = problems
            .iter()
            .map(|problem| problem.clone().into_problem(Fixing::Staged).message)
            .collect();
        assert_eq!(
            staged,
            [
                "Missing: a@^1 from lock file: run `npm install` in web and stage web/package-lock.json",
                "bad JSON; npm ci cannot use it: run `npm install` in the repository root and stage package-lock.json; or fix it by hand",
                "a lockfile without a package.json: stage package.json, or remove the lockfile too",
            ]
        );
        for problem in problems {
            let said = problem
                .into_problem(Fixing::Pushed("1a2b3c4d5e6f \"add a\""))
                .message;
            assert!(!said.contains("stage"), "{said}");
            assert!(
                said.starts_with("in commit 1a2b3c4d5e6f \"add a\": "),
                "{said}"
            );
            assert!(said.contains("git commit --amend"), "{said}");
        }
    }
}
