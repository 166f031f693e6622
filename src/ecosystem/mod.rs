//! What lockgate knows of each package ecosystem, one folder each (`npm/`, `pypi/`), behind two
//! small traits: a [`Format`] is one lockfile format (which paths it reads, how it parses), and
//! an [`Ecosystem`] owns its formats, the files that call for a lockfile check, how a change
//! maps to the projects it touches, and that check. [`ECOSYSTEMS`] is the only list of them the
//! rest of the program loops over: adding an ecosystem is a folder and a line there.

pub mod npm;
pub mod packagist;
pub mod parse;
pub mod pypi;
mod yaml;

pub(crate) use yaml::{document as yaml_document, line as yaml_line, text as yaml_text};

use crate::error::Error;
use crate::package::{self, LockedSet};
use crate::report::Problem;
pub use parse::{decode, ParseError};
use std::collections::{BTreeMap, BTreeSet};

/// Every ecosystem lockgate supports.
pub static ECOSYSTEMS: &[&dyn Ecosystem] = &[&npm::Npm, &pypi::PyPI, &packagist::Packagist];

/// A read-only view of the files of one snapshot (the index, a commit, or a map in tests).
pub trait Files {
    /// Every file path, `/`-separated and relative to the repository root.
    fn paths(&self) -> Box<dyn Iterator<Item = &str> + '_>;
    /// Whether `path` is a file.
    fn contains(&self, path: &str) -> bool;
    /// The content of `path`; `None` when there is no such file.
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, Error>;
}

/// Paths to file contents: the files the unit tests and the benchmarks use.
impl Files for BTreeMap<String, String> {
    fn paths(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        Box::new(self.keys().map(String::as_str))
    }

    fn contains(&self, path: &str) -> bool {
        self.contains_key(path)
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.get(path).map(|text| text.as_bytes().to_vec()))
    }
}

/// Reads another file of the same snapshot by repository path; `Ok(None)` when there is none.
/// Only formats with includes (pip's `-r`) use it.
pub type Includes<'a> = dyn Fn(&str) -> Result<Option<String>, ParseError> + 'a;

/// One lockfile format.
pub trait Format: Sync {
    /// The format's usual file name, for messages and tests (`package-lock.json`).
    fn name(&self) -> &'static str;
    /// Whether the file at `path` (a repository path) is in this format.
    fn matches(&self, path: &str) -> bool;
    /// What the file at `path` locks, from its `text`. Pure: a format with includes reads them
    /// through `includes`, never from disk.
    fn parse_text(
        &self,
        path: &str,
        text: &str,
        includes: &Includes<'_>,
    ) -> Result<LockedSet, ParseError>;
    /// Whether what the file locks depends on other files (so a parse of its blob alone cannot
    /// be reused).
    fn has_includes(&self) -> bool {
        false
    }
    /// Whether a file at `path` may be included by a lockfile of this format (so a change to
    /// it alone can change what that lockfile locks).
    fn may_be_included(&self, _path: &str) -> bool {
        false
    }
    /// Every file the lockfile at `path` includes, directly or not.
    fn included_files(&self, _path: &str, _includes: &Includes<'_>) -> Vec<String> {
        Vec::new()
    }
    /// What the file at `path` locks, versions in their normal form. An empty file locks
    /// nothing (npm treats it as no lockfile; the lockfile check reports that), and a file with
    /// merge-conflict markers is refused rather than read as either side.
    fn parse(
        &self,
        path: &str,
        text: &str,
        includes: &Includes<'_>,
    ) -> Result<LockedSet, ParseError> {
        if text.trim().is_empty() {
            return Ok(LockedSet::default());
        }
        parse::check_conflict_markers(text)?;
        self.parse_text(path, text, includes)
            .map(LockedSet::normalised)
    }
}

/// One ecosystem: its lockfile formats and its lockfile check.
pub trait Ecosystem: Sync {
    /// The ecosystem as OSV names it.
    fn id(&self) -> package::Ecosystem;
    /// The lockfile formats it reads.
    fn formats(&self) -> &'static [&'static dyn Format];
    /// Whether a change to `path` calls for the lockfile check of the project around it.
    fn is_trigger(&self, path: &str) -> bool;
    /// The projects to check: those the `changed` paths touch, or with `None`, every one.
    fn projects(
        &self,
        files: &dyn Files,
        changed: Option<&[String]>,
    ) -> Result<BTreeSet<String>, Error>;
    /// The lockfile check of the project in `folder`: is its lockfile there, readable, and what
    /// the package manager's frozen install would accept.
    fn check_project(&self, files: &dyn Files, folder: &str) -> Result<Vec<Problem>, Error>;
}

/// The format of the lockfile at `path`, if it is one.
pub fn format_of(path: &str) -> Option<&'static dyn Format> {
    ECOSYSTEMS
        .iter()
        .flat_map(|ecosystem| ecosystem.formats())
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
        .any(|ecosystem| ecosystem.is_trigger(path))
}

/// Whether a change to `path` may change what a lockfile that includes it locks.
pub fn may_be_included(path: &str) -> bool {
    ECOSYSTEMS
        .iter()
        .flat_map(|ecosystem| ecosystem.formats())
        .any(|format| format.may_be_included(path))
}

/// The lockfile checks, read from `files`, offline: of the projects the `changed` paths touch,
/// or with `None`, of every project.
pub fn project_problems(
    files: &dyn Files,
    changed: Option<&[String]>,
) -> Result<Vec<Problem>, Error> {
    let mut problems = Vec::new();
    for ecosystem in ECOSYSTEMS {
        let changed: Option<Vec<String>> = changed.map(|changed| {
            changed
                .iter()
                .filter(|path| ecosystem.is_trigger(path))
                .cloned()
                .collect()
        });
        for project in ecosystem.projects(files, changed.as_deref())? {
            problems.extend(ecosystem.check_project(files, &project)?);
        }
    }
    Ok(problems)
}

/// The projects an ecosystem whose projects are marked by one manifest file checks: the folders
/// of the `changed` paths, or with `None`, of every file named `manifest`.
pub fn manifest_folders(
    files: &dyn Files,
    changed: Option<&[String]>,
    manifest: &str,
) -> BTreeSet<String> {
    let folder = |path: &str| folder_of(path).to_string();
    match changed {
        Some(changed) => changed.iter().map(|path| folder(path)).collect(),
        None => files
            .paths()
            .filter(|path| file_name(path) == manifest)
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

/// A [`Format`] recognised by its exact file name, parsed by a function of its text.
pub struct Named {
    /// The file name.
    pub file: &'static str,
    /// The parser.
    pub parse: fn(&str) -> Result<LockedSet, ParseError>,
}

impl Format for Named {
    fn name(&self) -> &'static str {
        self.file
    }

    fn matches(&self, path: &str) -> bool {
        file_name(path) == self.file
    }

    fn parse_text(
        &self,
        _path: &str,
        text: &str,
        _includes: &Includes<'_>,
    ) -> Result<LockedSet, ParseError> {
        (self.parse)(text)
    }
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
            assert_eq!(format_of(path).map(|f| f.name()), expected, "{path}");
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
}
