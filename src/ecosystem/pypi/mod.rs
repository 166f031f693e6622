//! The Python Package Index's ecosystem: requirements files, the lockfiles of poetry, uv, pdm,
//! pipenv and PEP 751, and the lockfile checks of `pyproject.toml` projects (`sync.rs`) and of
//! pipenv's `Pipfile` (`pipenv.rs`).

pub mod lockfiles;
pub mod pipenv;
pub mod registry;
pub mod requirements;
pub mod sync;
pub mod uv;
pub mod version;

use super::{file_name, Ecosystem, Files, Format, IncludeRules, SyncProblem};
use crate::error::Error;
use crate::matching::Scheme;
use crate::package;

// poetry, uv and pdm lockfiles are read again by their sync check, which asks for the same
// parse (ecosystem::memo): what they lock is copied out of it.

/// `poetry.lock`.
pub static POETRY: Format = Format::named("poetry.lock", |text| {
    crate::ecosystem::memo::parsed(text, lockfiles::Poetry::parse).map(|lock| lock.locked.clone())
});
/// `uv.lock`.
pub static UV: Format = Format::named("uv.lock", |text| {
    crate::ecosystem::memo::parsed(text, lockfiles::Uv::parse).map(|lock| lock.locked.clone())
});
/// `pdm.lock`.
pub static PDM: Format = Format::named("pdm.lock", |text| {
    crate::ecosystem::memo::parsed(text, lockfiles::Pdm::parse).map(|lock| lock.locked.clone())
});
/// pipenv's `Pipfile.lock`.
pub static PIPFILE_LOCK: Format = Format::named("Pipfile.lock", lockfiles::parse_pipfile_lock);

/// PEP 751's `pylock.toml` (or `pylock.<name>.toml`).
pub static PYLOCK: Format = Format {
    pattern: Some(|path| {
        let name = file_name(path);
        name.starts_with("pylock.") && name.ends_with(".toml")
    }),
    ..Format::named("pylock.toml", lockfiles::parse_pylock)
};

/// pip's `requirements*.txt` (and `requirements/*.txt`), with the files they include.
pub static REQUIREMENTS: Format = Format {
    pattern: Some(requirements::is_requirements_file),
    includes: Some(&IncludeRules {
        may_be_included: |path| path.ends_with(".txt"),
        included_files: requirements::includes,
        read: requirements::parse,
    }),
    // Read without includes only where no snapshot is at hand (`includes` reads them).
    ..Format::named("requirements.txt", |text| {
        requirements::parse("requirements.txt", text, &super::no_includes)
    })
};

/// The Python Package Index's ecosystem.
pub static PYPI: Ecosystem = Ecosystem {
    id: package::Ecosystem::PyPI,
    version_rules: "PEP 440",
    scheme: Scheme::Pep440,
    normal_version: version::pep440_normal,
    normal_name: version::normal_name,
    formats: &[&POETRY, &UV, &PDM, &PIPFILE_LOCK, &PYLOCK, &REQUIREMENTS],
    is_trigger: sync::is_trigger,
    projects: |files, changed| Ok(sync::projects(files, changed)),
    check_project,
    unpinned_advice: "pin it with `==`, or lock with pip-compile or uv",
    download_names: version::file_names,
};

/// The lockfile checks of a Python project: its pyproject.toml lock tool's, and pipenv's.
fn check_project(files: &dyn Files, folder: &str) -> Result<Vec<SyncProblem>, Error> {
    let mut problems = sync::check_project(files, folder)?;
    problems.extend(pipenv::check_project(files, folder)?);
    Ok(problems)
}
