//! The Python Package Index's ecosystem: requirements files, the lockfiles of poetry, uv, pdm,
//! pipenv and PEP 751, and the lockfile checks of `pyproject.toml` projects (`sync.rs`) and of
//! pipenv's `Pipfile` (`pipenv.rs`).

pub mod lockfiles;
pub mod pipenv;
pub mod requirements;
pub mod sync;

use super::{file_name, Ecosystem, Files, Format, Includes, Named, ParseError, SyncProblem};
use crate::error::Error;
use crate::package::{self, LockedSet};
use std::collections::BTreeSet;

/// The Python Package Index's ecosystem.
pub struct PyPI;

/// `poetry.lock`.
pub static POETRY: Named = Named {
    file: "poetry.lock",
    parse: |text| lockfiles::Poetry::parse(text).map(|lock| lock.locked),
};
/// `uv.lock`.
pub static UV: Named = Named {
    file: "uv.lock",
    parse: |text| lockfiles::Uv::parse(text).map(|lock| lock.locked),
};
/// `pdm.lock`.
pub static PDM: Named = Named {
    file: "pdm.lock",
    parse: |text| lockfiles::Pdm::parse(text).map(|lock| lock.locked),
};
/// pipenv's `Pipfile.lock`.
pub static PIPFILE_LOCK: Named = Named {
    file: "Pipfile.lock",
    parse: lockfiles::parse_pipfile_lock,
};

/// PEP 751's `pylock.toml` (or `pylock.<name>.toml`).
pub struct Pylock;

impl Format for Pylock {
    fn name(&self) -> &'static str {
        "pylock.toml"
    }

    fn matches(&self, path: &str) -> bool {
        let name = file_name(path);
        name.starts_with("pylock.") && name.ends_with(".toml")
    }

    fn parse_text(
        &self,
        _path: &str,
        text: &str,
        _includes: &Includes<'_>,
    ) -> Result<LockedSet, ParseError> {
        lockfiles::parse_pylock(text)
    }
}

/// pip's `requirements*.txt` (and `requirements/*.txt`), with the files they include.
pub struct Requirements;

impl Format for Requirements {
    fn name(&self) -> &'static str {
        "requirements.txt"
    }

    fn matches(&self, path: &str) -> bool {
        requirements::is_requirements_file(path)
    }

    fn parse_text(
        &self,
        path: &str,
        text: &str,
        includes: &Includes<'_>,
    ) -> Result<LockedSet, ParseError> {
        requirements::parse(path, text, includes)
    }

    fn has_includes(&self) -> bool {
        true
    }

    fn may_be_included(&self, path: &str) -> bool {
        path.ends_with(".txt")
    }

    fn included_files(&self, path: &str, includes: &Includes<'_>) -> Vec<String> {
        requirements::includes(path, includes)
    }
}

static FORMATS: [&dyn Format; 6] = [&POETRY, &UV, &PDM, &PIPFILE_LOCK, &Pylock, &Requirements];

impl Ecosystem for PyPI {
    fn id(&self) -> package::Ecosystem {
        package::Ecosystem::PyPI
    }

    fn formats(&self) -> &'static [&'static dyn Format] {
        &FORMATS
    }

    fn is_trigger(&self, path: &str) -> bool {
        sync::is_trigger(path)
    }

    fn projects(
        &self,
        files: &dyn Files,
        changed: Option<&[String]>,
    ) -> Result<BTreeSet<String>, Error> {
        Ok(super::manifest_folders(
            files,
            changed,
            &[sync::PYPROJECT, pipenv::PIPFILE],
        ))
    }

    fn check_project(&self, files: &dyn Files, folder: &str) -> Result<Vec<SyncProblem>, Error> {
        let mut problems = sync::check_project(files, folder)?;
        problems.extend(pipenv::check_project(files, folder)?);
        Ok(problems)
    }

    fn unpinned_advice(&self) -> &'static str {
        "pin it with `==`, or lock with pip-compile or uv"
    }
}
