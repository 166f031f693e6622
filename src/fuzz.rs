//! One entry point per parser of hostile input, shared by the cargo-fuzz targets in
//! `tests/fuzz/` and the mutation test `cargo test` runs (`tests/robustness.rs`), so the two
//! cannot drift apart: a [`Target`] names a parser, [`Target::run`] feeds it bytes as lockgate
//! would, and [`Target::seeds`] picks its starting inputs from real files.
//!
//! A target's only contract is that it returns: a parse error is a normal outcome, a panic, a
//! hang or unbounded memory is a bug.

use crate::ecosystem::{self, no_includes, Format, ParseError};
use crate::package::{Ecosystem, Package};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A parser of input lockgate does not control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// `package-lock.json` / `npm-shrinkwrap.json`.
    Npm,
    /// `yarn.lock`, classic and berry.
    Yarn,
    /// `pnpm-lock.yaml`.
    Pnpm,
    /// Bun's text `bun.lock`.
    Bun,
    /// A requirements file with its `-r`/`-c` includes (see [`split_requirements`]).
    Requirements,
    /// `poetry.lock`.
    Poetry,
    /// `uv.lock`.
    Uv,
    /// `pdm.lock`.
    Pdm,
    /// `Pipfile.lock`.
    Pipfile,
    /// `pylock.toml`.
    Pylock,
    /// `composer.lock`.
    Composer,
    /// A tree of manifests, lockfiles and settings files (each started by a line `##> path`),
    /// judged by every ecosystem's lockfile check, as `--all` and as a commit touching them.
    Projects,
    /// `.lockgate.toml`.
    Config,
    /// One OSV record (`/v1/vulns/{id}`, or one record of the export), then what lockgate
    /// computes from it: severity, fixed versions, matching, the offline index lines.
    OsvRecord,
    /// A `/v1/querybatch` answer.
    OsvBatch,
    /// The offline export's `all.zip`, every record read and indexed.
    ExportZip,
    /// The offline export's `modified_id.csv`.
    ExportCsv,
    /// A CI or build file, read as each kind the lint knows (YAML pipeline, Dockerfile,
    /// Jenkinsfile) and its scripts split into commands.
    CiFile,
}

/// The line that starts another file in a [`Target::Requirements`] input: `##> path`.
pub const FILE_MARKER: &str = "##> ";

impl Target {
    /// Every target, in a fixed order.
    pub const ALL: [Target; 18] = [
        Target::Npm,
        Target::Yarn,
        Target::Pnpm,
        Target::Bun,
        Target::Requirements,
        Target::Poetry,
        Target::Uv,
        Target::Pdm,
        Target::Pipfile,
        Target::Pylock,
        Target::Composer,
        Target::Projects,
        Target::Config,
        Target::OsvRecord,
        Target::OsvBatch,
        Target::ExportZip,
        Target::ExportCsv,
        Target::CiFile,
    ];

    /// The target's name (the cargo-fuzz target is this with `-` for `_`).
    pub fn name(self) -> &'static str {
        match self {
            Target::Npm => "npm",
            Target::Yarn => "yarn",
            Target::Pnpm => "pnpm",
            Target::Bun => "bun",
            Target::Requirements => "requirements",
            Target::Poetry => "poetry",
            Target::Uv => "uv",
            Target::Pdm => "pdm",
            Target::Pipfile => "pipfile",
            Target::Pylock => "pylock",
            Target::Composer => "composer",
            Target::Projects => "projects",
            Target::Config => "config",
            Target::OsvRecord => "osv_record",
            Target::OsvBatch => "osv_batch",
            Target::ExportZip => "export_zip",
            Target::ExportCsv => "export_csv",
            Target::CiFile => "ci_file",
        }
    }

    /// The target called `name`.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL
            .into_iter()
            .find(|target| target.name() == name.replace('-', "_"))
    }

    /// The lockfile format the target parses, for the lockfile targets.
    pub fn format(self) -> Option<&'static Format> {
        let file = match self {
            Target::Npm => "package-lock.json",
            Target::Yarn => "yarn.lock",
            Target::Pnpm => "pnpm-lock.yaml",
            Target::Bun => "bun.lock",
            Target::Requirements => "requirements.txt",
            Target::Poetry => "poetry.lock",
            Target::Uv => "uv.lock",
            Target::Pdm => "pdm.lock",
            Target::Pipfile => "Pipfile.lock",
            Target::Pylock => "pylock.toml",
            Target::Composer => "composer.lock",
            _ => return None,
        };
        ecosystem::format_of(file)
    }

    /// Feeds `data` to the parser as lockgate reads such input; returns whether it was accepted.
    pub fn run(self, data: &[u8]) -> bool {
        match self {
            Target::Requirements => {
                let Ok(text) = ecosystem::decode(data) else {
                    return false;
                };
                let (main, others) = split_requirements(text);
                let read = |path: &str| -> Result<Option<String>, ParseError> {
                    Ok(others.get(path).map(|text| text.to_string()))
                };
                let format = self.format().expect("a lockfile target");
                format.parse("requirements.txt", main, &read).is_ok()
            }
            Target::Projects => {
                let Ok(text) = ecosystem::decode(data) else {
                    return false;
                };
                projects(text)
            }
            Target::Config => match std::str::from_utf8(data) {
                Ok(text) => crate::config::Config::parse(".lockgate.toml", text).is_ok(),
                Err(_) => false,
            },
            Target::OsvRecord => osv_record(data),
            Target::CiFile => {
                use crate::cilint::{lint, CiFile};
                [CiFile::Yaml, CiFile::Dockerfile, CiFile::Jenkinsfile]
                    .into_iter()
                    .map(|kind| lint("ci", kind, data, &|_| None))
                    .all(|problems| {
                        problems
                            .iter()
                            .all(|p| p.kind != crate::report::ProblemKind::CiFileUnreadable)
                    })
            }
            Target::OsvBatch => crate::osv::batch_results(data, 2).is_ok(),
            Target::ExportZip => {
                let mut add = |_: usize, _: usize, name: &str, bytes: &[u8]| {
                    for ecosystem in [Ecosystem::Npm, Ecosystem::PyPI] {
                        crate::offline::index_record(ecosystem, name, bytes)?;
                    }
                    Ok(())
                };
                crate::offline::update::read_export(std::io::Cursor::new(data), "all.zip", &mut add)
                    .is_ok()
            }
            Target::ExportCsv => {
                let Ok(text) = std::str::from_utf8(data) else {
                    return false;
                };
                let meta = crate::offline::Meta {
                    format: 1,
                    ecosystem: "npm".into(),
                    updated: 0,
                    newest_modified: "2000-01-01T00:00:00Z".into(),
                    newest_ids: vec!["MAL-2000-1".into()],
                    records: 0,
                };
                crate::offline::update::changed_ids(text, &meta).is_some()
            }
            lockfile_target => {
                let format = lockfile_target
                    .format()
                    .expect("every other target is a lockfile");
                match ecosystem::decode(data) {
                    Ok(text) => format.parse(format.name, text, &no_includes).is_ok(),
                    Err(_) => false,
                }
            }
        }
    }

    /// Whether the file at `path` is a starting input for this target, by its name.
    fn takes(self, path: &Path) -> bool {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        let text = path.to_string_lossy().replace('\\', "/");
        match self {
            Target::Requirements => self.format().is_some_and(|format| format.matches(&text)),
            Target::Projects => {
                ecosystem::is_relevant(&text) || ecosystem::format_of(&text).is_some()
            }
            Target::Config => {
                name == ".lockgate.toml"
                    || name == "lockgate.toml"
                    || name.ends_with("lockgate.example.toml")
            }
            Target::OsvRecord | Target::OsvBatch => {
                name.ends_with(".json") && text.contains("/osv/")
            }
            Target::ExportZip => name == "all.zip",
            Target::CiFile => crate::cilint::ci_file(&text).is_some(),
            Target::ExportCsv => name == "modified_id.csv",
            lockfile_target => {
                let format = ecosystem::format_of(&text).map(|format| format.name);
                format == lockfile_target.format().map(|format| format.name)
                    || (lockfile_target == Target::Npm && format == Some("npm-shrinkwrap.json"))
            }
        }
    }

    /// Starting inputs for this target from the files under `roots` (folders or files), each
    /// with a name that says where it came from; records of an `all.zip` count as OSV records,
    /// a folder's requirements files are joined into one input so their includes resolve, and
    /// OSV batch answers are made from the records' ids.
    pub fn seeds(self, roots: &[PathBuf]) -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        for root in roots {
            walk(root, &mut files);
        }
        files.sort();
        let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
        let read = |path: &Path| std::fs::read(path).ok();
        // The files this target takes, by folder (for the targets whose inputs are trees).
        let mut by_folder: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
        for path in files.iter().filter(|path| self.takes(path)) {
            let folder = path.parent().unwrap_or(Path::new("")).to_path_buf();
            by_folder.entry(folder).or_default().push(path.clone());
        }
        match self {
            Target::Projects => {
                // One input per folder: its package.json first, then every other file by name.
                for (folder, paths) in by_folder {
                    let mut joined = read(&folder.join("package.json")).unwrap_or_default();
                    for path in &paths {
                        let name = path.file_name().unwrap_or_default().to_string_lossy();
                        let Some(bytes) = read(path).filter(|_| name != "package.json") else {
                            continue;
                        };
                        joined.extend_from_slice(format!("\n{FILE_MARKER}{name}\n").as_bytes());
                        joined.extend_from_slice(&bytes);
                    }
                    seeds.push((folder.display().to_string(), joined));
                }
            }
            Target::Requirements => {
                for (folder, paths) in by_folder {
                    for (index, path) in paths.iter().enumerate() {
                        let Some(first) = read(path) else { continue };
                        let mut joined = first;
                        // The others under the names the first one's includes use.
                        for (other_index, other) in paths.iter().enumerate() {
                            let Some(bytes) = read(other) else { continue };
                            if other_index == index {
                                continue;
                            }
                            let relative = other.strip_prefix(&folder).unwrap_or(other);
                            joined.extend_from_slice(
                                format!("\n{FILE_MARKER}{}\n", relative.display()).as_bytes(),
                            );
                            joined.extend_from_slice(&bytes);
                        }
                        seeds.push((path.display().to_string(), joined));
                    }
                }
            }
            Target::OsvRecord | Target::OsvBatch => {
                let mut records: Vec<(String, Vec<u8>)> = files
                    .iter()
                    .filter(|path| self.takes(path))
                    .filter_map(|path| Some((path.display().to_string(), read(path)?)))
                    .collect();
                for zip in files.iter().filter(|path| Target::ExportZip.takes(path)) {
                    let Some(bytes) = read(zip) else { continue };
                    let mut add = |_: usize, _: usize, name: &str, json: &[u8]| {
                        records.push((name.to_string(), json.to_vec()));
                        Ok(())
                    };
                    let _ = crate::offline::update::read_export(
                        std::io::Cursor::new(bytes),
                        &zip.display().to_string(),
                        &mut add,
                    );
                }
                if self == Target::OsvRecord {
                    seeds = records;
                } else {
                    seeds = batch_answers(&records);
                }
            }
            Target::ExportZip => {
                for path in files.iter().filter(|path| self.takes(path)) {
                    if let Some(bytes) = read(path) {
                        seeds.push((path.display().to_string(), bytes));
                    }
                }
                // Small exports too: mutations of a 300 KiB zip mostly break its directory.
                let records = Target::OsvRecord.seeds(roots);
                for (index, chunk) in records.chunks(3).enumerate().take(24) {
                    seeds.push((format!("small-export-{index}.zip"), small_zip(chunk, index)));
                }
            }
            Target::Config => {
                for path in files.iter().filter(|path| self.takes(path)) {
                    if let Some(bytes) = read(path) {
                        seeds.push((path.display().to_string(), bytes));
                    }
                }
                for (index, text) in CONFIG_SEEDS.iter().enumerate() {
                    seeds.push((format!("config-{index}"), text.as_bytes().to_vec()));
                }
            }
            _ => {
                for path in files.iter().filter(|path| self.takes(path)) {
                    if let Some(bytes) = read(path) {
                        seeds.push((path.display().to_string(), bytes));
                    }
                }
            }
        }
        seeds
    }
}

/// Every ecosystem's lockfile check over the files of a [`Target::Projects`] input: the first
/// part is `package.json`, the others are named by their `##> path` lines.
fn projects(text: &str) -> bool {
    let (first, others) = split_requirements(text);
    let mut files: BTreeMap<String, String> = others
        .into_iter()
        .map(|(path, body)| (path, body.to_string()))
        .collect();
    files.insert("package.json".to_string(), first.to_string());
    let changed: Vec<String> = files.keys().cloned().collect();
    let all = ecosystem::project_problems(&files, None, ecosystem::Fixing::Staged);
    let staged = ecosystem::project_problems(&files, Some(&changed), ecosystem::Fixing::Staged);
    all.is_ok() && staged.is_ok()
}

/// Splits a [`Target::Requirements`] input into the main file's text and the files it may
/// include, each started by a line `##> path` (the main file is `requirements.txt`).
pub fn split_requirements(text: &str) -> (&str, BTreeMap<String, &str>) {
    let separator = format!("\n{FILE_MARKER}");
    let mut parts = text.split(separator.as_str());
    let main = parts.next().unwrap_or_default();
    let mut others = BTreeMap::new();
    for part in parts {
        let (path, body) = part.split_once('\n').unwrap_or((part, ""));
        others.insert(path.trim().to_string(), body);
    }
    (main, others)
}

/// A record, and what lockgate works out from it for each package it names.
fn osv_record(data: &[u8]) -> bool {
    let Ok(advisory) = crate::advisory::Advisory::from_json(data) else {
        return false;
    };
    let _ = advisory.is_malicious();
    for ecosystem in [Ecosystem::Npm, Ecosystem::PyPI] {
        let _ = crate::offline::index_record(ecosystem, "record.json", data);
    }
    for affected in advisory.affected.iter().take(64) {
        let Some(named) = &affected.package else {
            continue;
        };
        let ecosystem = match named.ecosystem.as_str() {
            "PyPI" => Ecosystem::PyPI,
            _ => Ecosystem::Npm,
        };
        // The versions the record itself names, and a few ordinary ones.
        let mut versions: Vec<&str> = vec!["0", "1.0.0", "2.0.0rc1", "1.2.3-beta.1"];
        versions.extend(affected.versions.iter().take(16).map(String::as_str));
        for event in affected
            .ranges
            .iter()
            .flat_map(|range| &range.events)
            .take(16)
        {
            versions.extend(
                [
                    &event.introduced,
                    &event.fixed,
                    &event.last_affected,
                    &event.limit,
                ]
                .into_iter()
                .flatten()
                .map(String::as_str),
            );
        }
        for version in versions {
            let package = Package::new(ecosystem, named.name.clone(), version);
            let _ = crate::severity::of(&advisory, &package);
            let _ = advisory.fixed_versions(&package);
            let _ = crate::matching::affects(affected, ecosystem, version);
        }
    }
    true
}

/// Configurations as the README shows them, and the edge cases the parser checks.
const CONFIG_SEEDS: [&str; 5] = [
    "fail-on = \"high\"\ndev = \"warn\"\nprivate-registries = [\"npm.corp.example\"]\n\n[[ignore]]\nid = \"GHSA-jf85-cpcp-j695\"\nreason = \"not reachable from our code\"\nuntil = 2027-01-31\n",
    "[[ignore]]\nid = \"MAL-2025-46974\"\nreason = \"false positive\"\nmalicious = true\npackage = \"debug\"\nversion = \"4.4.2\"\n",
    "on-unreachable = \"offline\"\ncache-ttl = 60\nmax-db-age = 7\nfail-on-unpinned = true\n",
    "[[ignore]]\nid = \"X\"\nreason = \"\"\nuntil = 12:00:00\n",
    "fail-on = \"any\"\n[[ignore]]\nid = \"A\"\nreason = \"r\"\n[[ignore]]\nid = \"B\"\nreason = \"r\"\nuntil = 2027-01-31T00:00:00Z\n",
];

/// A zip of `records`, stored or deflated, the way OSV's export holds them.
fn small_zip(records: &[(String, Vec<u8>)], index: usize) -> Vec<u8> {
    use std::io::Write as _;
    let method = if index.is_multiple_of(2) {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (number, (_, json)) in records.iter().enumerate() {
        let written = writer
            .start_file(format!("RECORD-{number}.json"), options)
            .and_then(|()| writer.write_all(json).map_err(Into::into));
        if written.is_err() {
            break;
        }
    }
    writer
        .finish()
        .map(std::io::Cursor::into_inner)
        .unwrap_or_default()
}

/// `/v1/querybatch` answers made of the ids and times of `records`, a few per answer.
fn batch_answers(records: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let hits: Vec<serde_json::Value> = records
        .iter()
        .filter_map(|(_, bytes)| serde_json::from_slice::<serde_json::Value>(bytes).ok())
        .map(|record| serde_json::json!({"id": record["id"], "modified": record["modified"]}))
        .collect();
    let mut answers = vec![
        ("empty".to_string(), br#"{"results":[{},{}]}"#.to_vec()),
        (
            "page-token".to_string(),
            br#"{"results":[{"vulns":[],"next_page_token":"abc"},{"next_page_token":""}]}"#
                .to_vec(),
        ),
    ];
    for (index, chunk) in hits.chunks(3).enumerate().take(64) {
        let answer = serde_json::json!({"results": [{"vulns": chunk}, {"vulns": [], "next_page_token": format!("token-{index}")}]});
        answers.push((format!("batch-{index}"), answer.to_string().into_bytes()));
    }
    answers
}

/// Every file under `path` (or `path` itself), skipping build output and hidden git folders.
fn walk(path: &Path, files: &mut Vec<PathBuf>) {
    let Ok(metadata) = std::fs::metadata(path) else {
        return;
    };
    if metadata.is_file() {
        files.push(path.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name == "target" || name == ".git" || name == "node_modules" {
            continue;
        }
        walk(&entry.path(), files);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for target in Target::ALL {
            assert_eq!(Target::from_name(target.name()), Some(target));
        }
        assert_eq!(Target::from_name("osv-record"), Some(Target::OsvRecord));
    }

    #[test]
    fn requirements_inputs_carry_their_includes() {
        let (main, others) =
            split_requirements("-r base.txt\nsix==1.16.0\n##> base.txt\nidna==3.7\n");
        assert_eq!(main, "-r base.txt\nsix==1.16.0");
        assert_eq!(others.get("base.txt"), Some(&"idna==3.7\n"));
        assert!(Target::Requirements.run(b"-r base.txt\n##> base.txt\nidna==3.7\n"));
        assert!(!Target::Requirements.run(b"-r a.txt\n##> a.txt\n-r requirements.txt\n"));
    }

    #[test]
    fn every_lockfile_format_has_a_target() {
        for format in crate::ecosystem::ECOSYSTEMS
            .iter()
            .flat_map(|ecosystem| ecosystem.formats)
        {
            let covered = Target::ALL.into_iter().any(|target| {
                target
                    .format()
                    .is_some_and(|fuzzed| fuzzed.name == format.name)
                    || (target == Target::Npm && format.name == "npm-shrinkwrap.json")
            });
            assert!(covered, "{} has no fuzz target", format.name);
        }
    }

    #[test]
    fn projects_inputs_are_judged_by_every_ecosystem() {
        let tree = "{\"dependencies\": {\"a\": \"^1\"}}\n##> composer.json\n{\"require\": {\"x/y\": \"^1\"}}\n##> pyproject.toml\n[project\n";
        assert!(Target::Projects.run(tree.as_bytes()));
    }
}
