//! pipenv's lockfile check: a folder with a `Pipfile` must have a `Pipfile.lock` whose
//! `_meta.hash.sha256` is the Pipfile's hash, as `pipenv verify` (and `pipenv install
//! --deploy`) judge it.
//!
//! pipenv 2026.10.3 computes the hash in `Pipfile.calculate_hash` (`pipenv/utils/pipfile.py`),
//! which mirrors plette's `Pipfile.get_hash` (`pipenv/vendor/plette/pipfiles.py`) with package
//! names in PEP 503 form: sha256 of `json.dumps(data, sort_keys=True, separators=(",", ":"))`
//! where `data` is `{"_meta": {"sources": [[source]], "requires": [requires]}, "default":
//! [packages], "develop": [dev-packages]}` plus every custom package category under its own
//! name. `[scripts]`, `[pipenv]` and `[pipfile]` are not covered; comments, layout and key
//! order are not either, since the hash is taken of the parsed TOML.

use super::sync::{hex, python_json_compact};
use crate::ecosystem::parse::{decode, ParseError};
use crate::ecosystem::SyncProblem;
use crate::ecosystem::{join_path, Files};
use crate::error::Error;
use crate::report::ProblemKind;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// pipenv's project file.
pub(crate) const PIPFILE: &str = "Pipfile";
/// pipenv's lockfile.
pub(crate) const PIPFILE_LOCK: &str = "Pipfile.lock";
const COMMAND: &str = "pipenv lock";

/// Tables of a Pipfile that are not package categories (plette's `PIPFILE_SECTIONS`, with the
/// names pipenv also skips).
const NOT_CATEGORIES: [&str; 9] = [
    "source",
    "packages",
    "dev-packages",
    "requires",
    "scripts",
    "pipfile",
    "pipenv",
    "default",
    "develop",
];

/// The Pipfile's `_meta.hash.sha256` as pipenv computes it. `default_sources` stands for the
/// `[[source]]` a Pipfile without one is hashed with.
pub fn pipfile_hash(pipfile: &toml::Table, default_sources: &toml::Value) -> String {
    let category = |name: &str| -> toml::Value {
        match pipfile.get(name) {
            Some(toml::Value::Table(packages)) => toml::Value::Table(
                packages
                    .iter()
                    .map(|(name, value)| (canonicalize_name(name), value.clone()))
                    .collect(),
            ),
            Some(other) => other.clone(),
            None => toml::Value::Table(toml::Table::new()),
        }
    };
    let mut meta = toml::Table::new();
    meta.insert(
        "sources".into(),
        pipfile
            .get("source")
            .cloned()
            .unwrap_or_else(|| default_sources.clone()),
    );
    meta.insert(
        "requires".into(),
        pipfile
            .get("requires")
            .cloned()
            .unwrap_or_else(|| toml::Value::Table(toml::Table::new())),
    );
    let mut data = toml::Table::new();
    data.insert("_meta".into(), toml::Value::Table(meta));
    data.insert("default".into(), category("packages"));
    data.insert("develop".into(), category("dev-packages"));
    for name in pipfile.keys() {
        if !NOT_CATEGORIES.contains(&name.as_str()) {
            data.insert(name.clone(), category(name));
        }
    }
    let mut out = String::new();
    python_json_compact(&toml::Value::Table(data), &mut out);
    hex(&Sha256::digest(out.as_bytes()))
}

/// packaging's `canonicalize_name`: lower case, runs of `-`, `_`, `.` made one `-` (unlike
/// lockgate's name normalisation, leading and trailing separators stay).
fn canonicalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// What the check reads of a Pipfile.lock; anything else in it is the parser's business.
#[derive(Deserialize)]
struct LockWire {
    #[serde(rename = "_meta", default)]
    meta: Option<MetaWire>,
}

#[derive(Deserialize)]
struct MetaWire {
    #[serde(default)]
    hash: Option<HashWire>,
    #[serde(default)]
    sources: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct HashWire {
    #[serde(default)]
    sha256: Option<String>,
}

/// Checks the pipenv project in `folder`: nothing when it has no Pipfile.
pub fn check_project<T: Files + ?Sized>(tree: &T, folder: &str) -> Result<Vec<SyncProblem>, Error> {
    let project = Project {
        folder,
        pipfile: join_path(folder, PIPFILE),
        lock: join_path(folder, PIPFILE_LOCK),
    };
    Ok(match read(tree, &project)? {
        None => Vec::new(),
        Some(Err(problem)) => vec![problem],
        Some(Ok((pipfile, lock))) => judge(&project, &pipfile, &lock).into_iter().collect(),
    })
}

/// Where a pipenv project's files are.
struct Project<'a> {
    folder: &'a str,
    pipfile: String,
    lock: String,
}

/// A project's Pipfile and Pipfile.lock as read, or why they cannot be judged.
type Read = Result<(toml::Table, LockWire), SyncProblem>;

/// The project's Pipfile and Pipfile.lock: none when it has no Pipfile, a problem when either
/// cannot be read (or the lock is missing).
fn read<T: Files + ?Sized>(tree: &T, project: &Project<'_>) -> Result<Option<Read>, Error> {
    let Project {
        folder,
        pipfile: pipfile_path,
        lock: lock_path,
    } = project;
    let Some(pipfile_bytes) = tree.read(pipfile_path)? else {
        return Ok(None);
    };
    let pipfile = match decode(&pipfile_bytes).and_then(|text| {
        toml::from_str::<toml::Table>(text).map_err(|error| ParseError::from_toml(text, &error))
    }) {
        Ok(pipfile) => pipfile,
        Err(error) => {
            return Ok(Some(Err(SyncProblem::new(
                ProblemKind::PyprojectUnreadable,
                pipfile_path,
                format!(
                    "not valid TOML ({}); pipenv cannot read it either",
                    error.message
                ),
            )
            .run(COMMAND, folder, &[pipfile_path, lock_path])
            .or("fix it by hand")
            .at(error.line, error.column))));
        }
    };
    let Some(lock_bytes) = tree.read(lock_path)? else {
        return Ok(Some(Err(SyncProblem::new(
            ProblemKind::LockfileMissing,
            lock_path,
            format!(
                "{pipfile_path} has no Pipfile.lock (`pipenv verify` and `pipenv install \
                 --deploy` refuse it)"
            ),
        )
        .run(COMMAND, folder, &[lock_path]))));
    };
    Ok(Some(
        decode(&lock_bytes)
            .and_then(|text| {
                serde_json::from_str::<LockWire>(text)
                    .map_err(|error| ParseError::from_json(&error))
            })
            .map(|lock| (pipfile, lock))
            .map_err(|error| {
                SyncProblem::new(
                    ProblemKind::LockfileUnreadable,
                    lock_path,
                    format!("not a Pipfile.lock pipenv can read ({})", error.message),
                )
                .run(COMMAND, folder, &[lock_path])
                .or("fix it by hand")
                .at(error.line, error.column)
            }),
    ))
}

/// What `pipenv verify` says of the lock: nothing when its `_meta.hash` is the Pipfile's.
fn judge(project: &Project<'_>, pipfile: &toml::Table, lock: &LockWire) -> Option<SyncProblem> {
    let meta = lock.meta.as_ref();
    let recorded = meta
        .and_then(|meta| meta.hash.as_ref())
        .and_then(|hash| hash.sha256.as_deref())
        .filter(|hash| !hash.is_empty());
    let reason = match recorded {
        None => "it records no _meta.hash of the Pipfile it was locked from".to_string(),
        Some(recorded) => {
            // A Pipfile without [[source]] is hashed with the index of the locking machine's
            // pip configuration, else pipenv's built-in default (`Project.__init__` sets
            // plette's DEFAULT_SOURCE_TOML), and pipenv records that source as the lock's
            // `_meta.sources`: lockgate takes it from there.
            let default_sources = meta
                .and_then(|meta| meta.sources.clone())
                .and_then(|sources| toml::Value::deserialize(sources).ok())
                .unwrap_or_else(|| toml::Value::Array(Vec::new()));
            if recorded == pipfile_hash(pipfile, &default_sources) {
                return None;
            }
            format!(
                "its _meta.hash does not match {}: [packages], [dev-packages], [[source]], \
                 [requires] or a package category changed since it was locked",
                project.pipfile
            )
        }
    };
    let lock_path = &project.lock;
    Some(
        SyncProblem::new(
            ProblemKind::LockfileOutOfSync,
            lock_path,
            format!("{lock_path} is out-of-date for pipenv ({reason})"),
        )
        .run(COMMAND, project.folder, &[lock_path]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn files(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(path, text)| ((*path).to_string(), (*text).to_string()))
            .collect()
    }

    const LOCK: &str = r#"{"_meta": {"hash": {"sha256": "HASH"}, "sources": []}, "default": {}}"#;

    #[test]
    fn names_are_canonicalized_as_packaging_does() {
        // packaging.utils.canonicalize_name("_Foo..Bar-") == "-foo-bar-"
        assert_eq!(canonicalize_name("_Foo..Bar-"), "-foo-bar-");
        assert_eq!(canonicalize_name("IniConfig"), "iniconfig");
    }

    #[test]
    fn the_hash_is_the_one_pipenv_computes() {
        // The value printed by pipenv 2026.10.3 for this Pipfile:
        // `python -c "from pipenv.project import Project; print(Project().pipfile.calculate_hash())"`.
        let pipfile: toml::Table = toml::from_str(concat!(
            "[[source]]\nurl = \"https://pypi.example.test/simple\"\nverify_ssl = true\n",
            "name = \"pypi\"\n\n[packages]\nSix = \"==1.16.0\"\n",
            "\"Zope.Interface\" = {version = \"*\", extras = [\"test\"], ",
            "markers = \"os_name == 'nt'\"}\n\n[dev-packages]\n\n[docs]\nSphinx = \">=7\"\n\n",
            "[requires]\npython_version = \"3.11\"\n\n[scripts]\nt = \"x\"\n\n",
            "[pipenv]\nallow_prereleases = true\n",
        ))
        .unwrap();
        let none = toml::Value::Array(Vec::new());
        assert_eq!(
            pipfile_hash(&pipfile, &none),
            "ace6b31863e85555632bff29f3e093b81325d092da2126a9d332d54fa6cf9619"
        );
    }

    #[test]
    fn unreadable_files_are_problems_at_their_line() {
        let tree = files(&[("app/Pipfile", "[packages]\nsix = \n")]);
        let problems = check_project(&tree, "app").unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].kind, ProblemKind::PyprojectUnreadable);
        assert_eq!(
            (problems[0].path.as_str(), problems[0].position),
            ("app/Pipfile", (2, 7))
        );

        let tree = files(&[
            ("Pipfile", "[packages]\n"),
            ("Pipfile.lock", "{\n  \"_meta\": {\n"),
        ]);
        let problems = check_project(&tree, "").unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].kind, ProblemKind::LockfileUnreadable);
        assert_eq!(problems[0].path, "Pipfile.lock");
        assert!(problems[0].position.0 > 0, "{problems:?}");
    }

    #[test]
    fn a_lock_of_another_shape_is_unreadable_not_a_panic() {
        for lock in [
            "[]",
            "{\"_meta\": []}",
            "{\"_meta\": {\"hash\": 3}}",
            "\u{0}",
        ] {
            let tree = files(&[("Pipfile", "[packages]\n"), ("Pipfile.lock", lock)]);
            let problems = check_project(&tree, "").unwrap();
            assert_eq!(problems.len(), 1, "{lock}");
            assert!(problems[0].blocking);
        }
        let tree = files(&[("Pipfile", "[packages]\n"), ("Pipfile.lock", LOCK)]);
        let problems = check_project(&tree, "").unwrap();
        assert_eq!(problems[0].kind, ProblemKind::LockfileOutOfSync);
        let fix = problems[0].fix.as_ref().unwrap();
        assert_eq!(fix.command.as_deref(), Some("pipenv lock"));
    }

    #[test]
    fn no_pipfile_no_check() {
        let tree = files(&[("Pipfile.lock", "not json")]);
        assert!(check_project(&tree, "").unwrap().is_empty());
    }
}
