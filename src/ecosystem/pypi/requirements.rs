//! Parser for pip's requirements files (`requirements*.txt`): one PEP 508 requirement per
//! line, `\` continuations, `#` comments, per-requirement options (`--hash=…`), `-r`/`-c`
//! includes read from the same commit (through a reader the caller gives; a cycle is an error),
//! and `-e`, VCS, URL and path requirements, which are other sources.
//!
//! A requirement pins a package when its only specifier is `==version` or `===version`; a
//! constraints file (`-c`) can pin what a requirement leaves open, as pip applies it. Anything
//! else is unpinned: the version pip picks is not known, so only malware under the name can be
//! looked for.

use crate::ecosystem::{Includes as Reader, ParseError};
use crate::package::{Ecosystem, Entry, LockedSet, Package, SourceKind, Unpinned};
use pep508_rs::{Requirement, VerbatimUrl, VersionOrUrl};
use std::collections::BTreeMap;
use std::str::FromStr;

/// Deepest chain of `-r`/`-c` includes followed.
const MAX_DEPTH: usize = 16;

/// Whether a repository path is a requirements file lockgate reads: `requirements*.txt`, or a
/// `.txt` in a folder named `requirements` (`requirements/base.txt`).
pub fn is_requirements_file(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    let name = parts.next().unwrap_or(path);
    let folder = parts.next().unwrap_or_default();
    name.ends_with(".txt") && (name.starts_with("requirements") || folder == "requirements")
}

/// Parses the requirements file at `path` (a repository path) with `text`, following its
/// includes through `read`.
pub fn parse(path: &str, text: &str, read: &Reader<'_>) -> Result<LockedSet, ParseError> {
    let mut found = Found::default();
    let mut stack = vec![path.to_string()];
    collect(path, text, read, &mut stack, &mut found, false)?;
    Ok(found.finish())
}

/// Every file `path` includes, directly or not (unreadable ones and cycles are left out).
pub fn includes(path: &str, read: &Reader<'_>) -> Vec<String> {
    let mut seen: Vec<String> = vec![path.to_string()];
    let mut pending = vec![path.to_string()];
    while let Some(file) = pending.pop() {
        let Ok(Some(text)) = read(&file) else {
            continue;
        };
        for (_, line) in logical_lines(&text) {
            if let Some(("-r" | "--requirement" | "-c" | "--constraint", value)) = option(&line) {
                let include = resolve(&file, value);
                if !seen.contains(&include) && seen.len() < 256 {
                    seen.push(include.clone());
                    pending.push(include);
                }
            }
        }
    }
    seen.remove(0);
    seen
}

/// What the files say, before constraints are applied.
#[derive(Default)]
struct Found {
    locked: LockedSet,
    /// Unpinned requirements: normalised name → as written.
    open: BTreeMap<String, String>,
    /// Pins from constraints files: normalised name → version.
    constraints: BTreeMap<String, String>,
    /// Included files already read, and whether as constraints: reading one again adds nothing,
    /// so a file that includes another a thousand times (or a diamond of includes) costs one
    /// read, not a thousand to the power of the depth.
    read: std::collections::BTreeSet<(String, bool)>,
    /// The index pip installs from (`--index-url`, the first one given).
    index: Option<String>,
}

impl Found {
    fn finish(mut self) -> LockedSet {
        // What pip downloads from: the index the files name (the packages' registry).
        if let Some(index) = self.index.take() {
            for entry in &mut self.locked.entries {
                if let crate::package::Source::Registry {
                    host,
                    url: url @ None,
                } = &mut entry.source
                {
                    *host = crate::package::url_host(&index);
                    *url = Some(index.clone());
                }
            }
        }
        // Every line is the project's own: a git dependency says what it follows after `@`.
        for entry in &mut self.locked.entries {
            if let crate::package::Source::Other {
                kind: SourceKind::Git,
                location,
            } = &entry.source
            {
                entry.git_reference = pip_git_reference(location);
            }
        }
        self.locked.roots = self
            .locked
            .entries
            .iter()
            .map(|entry| crate::package::Dependency {
                name: entry.package.name.clone(),
                version: None,
            })
            .collect();
        for (name, requirement) in self.open {
            match self.constraints.get(&name) {
                Some(version) => {
                    self.locked.push(Entry::registry(Package::new(
                        Ecosystem::PyPI,
                        name,
                        version.clone(),
                    )));
                }
                None => {
                    self.locked.unpinned.insert(Unpinned {
                        package: Package::new(Ecosystem::PyPI, name, ""),
                        requirement,
                    });
                }
            }
        }
        self.locked
    }
}

/// Logical lines: continuations joined, comments and blank lines dropped; each with the line
/// number it starts on.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (index, raw) in text.lines().enumerate() {
        if current.is_empty() {
            start = index + 1;
        }
        let line = strip_comment(raw);
        match line.trim_end().strip_suffix('\\') {
            Some(continued) => {
                current.push_str(continued);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                let joined = std::mem::take(&mut current);
                if !joined.trim().is_empty() {
                    lines.push((start, joined.trim().to_string()));
                }
            }
        }
    }
    if !current.trim().is_empty() {
        lines.push((start, current.trim().to_string()));
    }
    lines
}

/// A line without its comment: `#` at the start or after whitespace, as pip reads it.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        if byte == b'#' && (index == 0 || bytes[index - 1].is_ascii_whitespace()) {
            return &line[..index];
        }
    }
    line
}

fn collect(
    path: &str,
    text: &str,
    read: &Reader<'_>,
    stack: &mut Vec<String>,
    found: &mut Found,
    constraints: bool,
) -> Result<(), ParseError> {
    for (number, line) in logical_lines(text) {
        let at = |message: String| ParseError::new(number, 1, message);
        if let Some((option, value)) = option(&line) {
            match option {
                "-r" | "--requirement" | "-c" | "--constraint" => {
                    let include = resolve(path, value);
                    if let Some(index) = stack.iter().position(|seen| *seen == include) {
                        let mut chain: Vec<&str> =
                            stack[index..].iter().map(String::as_str).collect();
                        chain.push(&include);
                        return Err(at(format!("include cycle: {}", chain.join(" → "))));
                    }
                    if stack.len() >= MAX_DEPTH {
                        return Err(at(format!("includes nested more than {MAX_DEPTH} deep")));
                    }
                    let is_constraints = constraints || matches!(option, "-c" | "--constraint");
                    if !found.read.insert((include.clone(), is_constraints)) {
                        continue;
                    }
                    let Some(included) = read(&include)? else {
                        return Err(at(format!("`{line}`: {include} is not in this commit")));
                    };
                    stack.push(include.clone());
                    collect(&include, &included, read, stack, found, is_constraints).map_err(
                        |error| {
                            at(format!(
                                "in {include}, line {}: {}",
                                error.line, error.message
                            ))
                        },
                    )?;
                    stack.pop();
                }
                "-e" | "--editable" if !constraints => add_other(found, value),
                "-i" | "--index-url" if found.index.is_none() && !value.contains("${") => {
                    found.index = Some(value.to_string());
                }
                _ => {} // Find-links and build options do not change what is required.
            }
            continue;
        }
        // Per-requirement options (`--hash=…`) follow the requirement.
        let (requirement, options) = match line.find(" -") {
            Some(options) => (line[..options].trim(), &line[options..]),
            None => (line.as_str(), ""),
        };
        let checksum = options
            .split_whitespace()
            .find_map(|option| option.strip_prefix("--hash="))
            .map(str::to_string);
        // Lines of included files are not lines of this one.
        let place = Place {
            line: (stack.len() == 1).then_some(number),
            checksum,
        };
        requirement_line(requirement, found, constraints, place).map_err(at)?;
    }
    Ok(())
}

/// A global option line (`-r file`, `-rfile`, `--requirement=file`, `-e path`,
/// `--index-url …`) as (option, value).
fn option(line: &str) -> Option<(&str, &str)> {
    if !line.starts_with('-') {
        return None;
    }
    let end = line
        .find(|c: char| c == '=' || c.is_whitespace())
        .unwrap_or(line.len());
    let (option, rest) = line.split_at(end);
    let value = rest.trim_start_matches('=').trim();
    // Short options may carry their value directly: `-rbase.txt`.
    for short in ["-r", "-c", "-e"] {
        if let Some(attached) = option.strip_prefix(short).filter(|v| !v.is_empty()) {
            if !option.starts_with("--") {
                return Some((short, attached));
            }
        }
    }
    Some((option, value))
}

/// `base.txt`'s `-r other.txt` is relative to base.txt's folder.
fn resolve(from: &str, include: &str) -> String {
    let folder = from.rsplit_once('/').map_or("", |(folder, _)| folder);
    crate::ecosystem::npm::sync::spec::join(folder, include)
}

/// Parses a PEP 508 requirement. pep508_rs 0.9 panics, instead of returning its error, on a
/// package or extra name that ends in `.`, `-` or `_` and is followed by more text (`only. pip`,
/// `a[b.]`; both found by fuzzing), so such names are refused here first. Either way the line is
/// not a requirement.
pub(crate) fn parse_pep508(text: &str) -> Result<Requirement<VerbatimUrl>, String> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    // A name as pep508_rs reads it: a letter or digit, then letters, digits and `.-_`.
    let bad_name = |text: &str| {
        let text = text.trim_start();
        let name = &text[..text.find(|c| !is_name_char(c)).unwrap_or(text.len())];
        (name.starts_with(|c: char| c.is_ascii_alphanumeric()) && name.ends_with(['.', '-', '_']))
            .then(|| name.to_string())
    };
    let trimmed = text.trim_start();
    let after_name = trimmed.trim_start_matches(is_name_char);
    let extras = after_name
        .trim_start()
        .strip_prefix('[')
        .map(|rest| rest.split(']').next().unwrap_or_default())
        .unwrap_or_default();
    let bad = bad_name(trimmed).or_else(|| extras.split(',').find_map(bad_name));
    if let Some(name) = bad {
        return Err(format!("the name `{name}` must end with a letter or digit"));
    }
    Requirement::<VerbatimUrl>::from_str(text).map_err(|error| error.to_string())
}

/// What a requirement line says besides the requirement: where it stands in the file being
/// parsed (not in one it includes), and the first `--hash`.
struct Place {
    line: Option<usize>,
    checksum: Option<String>,
}

fn requirement_line(
    line: &str,
    found: &mut Found,
    constraints: bool,
    place: Place,
) -> Result<(), String> {
    let requirement = match parse_pep508(line) {
        Ok(requirement) => requirement,
        Err(error) => {
            // PEP 440's arbitrary equality pins any string, which pip compares as written:
            // locked, but not one version lockgate can read (a blocking problem, not the file).
            if let Some((name, version)) = arbitrary_equality(line) {
                if constraints {
                    found.constraints.insert(name, version);
                } else {
                    let entry = Entry::registry(Package::new(Ecosystem::PyPI, name, version));
                    found.locked.push(entry.at(place.line)).checksum = place.checksum;
                }
                return Ok(());
            }
            // A bare URL or path (`git+https://…#egg=name`, `./pkg`, `pkg-1.0.tar.gz`).
            if looks_like_location(line) {
                if !constraints {
                    add_other(found, line);
                }
                return Ok(());
            }
            return Err(format!(
                "`{line}` is not a requirement: {}",
                error.lines().next().unwrap_or_default()
            ));
        }
    };
    let name = requirement.name.to_string();
    match &requirement.version_or_url {
        Some(VersionOrUrl::Url(url)) => {
            if !constraints {
                let text = url.to_string();
                let entry = Entry::other(Ecosystem::PyPI, &name, kind_of(&text), text);
                found.locked.push(entry.at(place.line));
            }
        }
        Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
            let pinned = match &specifiers[..] {
                [only]
                    if matches!(
                        only.operator(),
                        pep440_rs::Operator::Equal | pep440_rs::Operator::ExactEqual
                    ) =>
                {
                    Some(only.version().to_string())
                }
                _ => None,
            };
            match (pinned, constraints) {
                (Some(version), true) => {
                    found.constraints.insert(name, version);
                }
                (Some(version), false) => {
                    let entry = Entry::registry(Package::new(Ecosystem::PyPI, name, version));
                    found.locked.push(entry.at(place.line)).checksum = place.checksum;
                }
                (None, true) => {}
                (None, false) => {
                    found.open.entry(name).or_insert_with(|| line.to_string());
                }
            }
        }
        None => {
            if !constraints {
                found.open.entry(name).or_insert_with(|| line.to_string());
            }
        }
    }
    Ok(())
}

/// `name===anything` (extras and a marker allowed) as the normalised name and the string pinned.
fn arbitrary_equality(line: &str) -> Option<(String, String)> {
    let requirement = line.split(';').next()?;
    let (name, version) = requirement.split_once("===")?;
    let name = name.split('[').next()?.trim();
    let version = version.trim();
    let is_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let is_version = !version.is_empty() && !version.contains(char::is_whitespace);
    (is_name && is_version).then(|| (super::lockfiles::normalize(name), version.to_string()))
}

fn looks_like_location(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    lower.contains("://")
        || lower.starts_with('.')
        || lower.starts_with('/')
        || [".whl", ".tar.gz", ".zip", ".tgz"].iter().any(|suffix| {
            lower
                .split(['#', ';'])
                .next()
                .unwrap_or_default()
                .trim()
                .ends_with(suffix)
        })
}

/// What a pip VCS URL follows: `git+https://host/x.git@v1#egg=x` names `v1` after the path;
/// without `@` it is the default branch. `None` for other version control systems.
fn pip_git_reference(location: &str) -> Option<crate::package::GitReference> {
    let rest = location.trim().strip_prefix("git+")?;
    let url = rest.split(['#', '?']).next().unwrap_or_default();
    // The `@` of `ssh://git@host/…` is in the authority, before the path.
    let path = match url.split_once("://") {
        Some((_, after)) => after.split_once('/').map(|(_, path)| path),
        None => url.split_once(':').map(|(_, path)| path),
    };
    Some(match path.and_then(|path| path.rsplit_once('@')) {
        Some((_, reference)) => crate::package::GitReference::named(reference),
        None => crate::package::GitReference::DefaultBranch,
    })
}

fn kind_of(location: &str) -> SourceKind {
    let lower = location.to_ascii_lowercase();
    if ["git+", "hg+", "svn+", "bzr+"]
        .iter()
        .any(|vcs| lower.starts_with(vcs))
    {
        SourceKind::Git
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        SourceKind::Remote
    } else {
        SourceKind::File
    }
}

/// An `-e` target or a bare location, named by its `#egg=` fragment or its last path segment.
fn add_other(found: &mut Found, location: &str) {
    let location = location.trim();
    let name = location
        .split_once("#egg=")
        .map(|(_, egg)| egg.split('&').next().unwrap_or(egg).to_string())
        .unwrap_or_else(|| {
            location
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(location)
                .to_string()
        });
    found.locked.push(Entry::other(
        Ecosystem::PyPI,
        &super::lockfiles::normalize(&name),
        kind_of(location),
        location.to_string(),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_pip_vcs_urls_follow() {
        use crate::package::GitReference;
        let sha = "b7d9818608d0fe7aec016186c6e3afc5df721145";
        for (url, expected) in [
            (
                "git+https://git.example.test/a/b.git@v1.0#egg=b",
                Some(GitReference::Named("v1.0".into())),
            ),
            (
                &format!("git+ssh://git@git.example.test/a/b.git@{sha}"),
                Some(GitReference::Commit(sha.into())),
            ),
            (
                "git+ssh://git@git.example.test/a/b.git",
                Some(GitReference::DefaultBranch),
            ),
            (
                "git+git@git.example.test:a/b.git@main",
                Some(GitReference::Named("main".into())),
            ),
            ("hg+https://hg.example.test/a@default", None),
        ] {
            assert_eq!(pip_git_reference(url), expected, "{url}");
        }
    }

    fn files(entries: &[(&str, &str)]) -> impl Fn(&str) -> Result<Option<String>, ParseError> {
        let map: BTreeMap<String, String> = entries
            .iter()
            .map(|(path, text)| (path.to_string(), text.to_string()))
            .collect();
        move |path| Ok(map.get(path).cloned())
    }

    #[test]
    fn pins_hashes_includes_constraints_and_other_sources() {
        // The forms pip's documentation gives for requirements files.
        let base = "# comment\n-r common.txt\n-c constraints.txt\nFoo_Bar[socks]==1.0 ; python_version < \"3.11\" \\\n    --hash=sha256:abc \\\n    --hash=sha256:def\nsix===1.16.0  # trailing comment\nrequests>=2\nidna\n-e ./localpkg\ngit+https://example.test/repo.git@v1#egg=vcspkg\npkg @ https://example.test/pkg-1.0.tar.gz\n--index-url https://pypi.example.test/simple\n";
        let read = files(&[
            ("reqs/common.txt", "jinja2==3.1.4\n"),
            ("reqs/constraints.txt", "requests==2.31.0\nunused==1.0\n"),
        ]);
        let locked = parse("reqs/requirements.txt", base, &read).unwrap();
        let packages: Vec<String> = locked.packages().iter().map(ToString::to_string).collect();
        assert_eq!(
            packages,
            [
                "foo-bar@1.0",
                "jinja2@3.1.4",
                "requests@2.31.0",
                "six@1.16.0"
            ]
        );
        let unpinned: Vec<&str> = locked
            .unpinned
            .iter()
            .map(|u| u.package.name.as_str())
            .collect();
        assert_eq!(unpinned, ["idna"]);
        let others: Vec<(String, &str)> = locked
            .non_registry()
            .iter()
            .map(|entry| (entry.name.clone(), entry.kind.as_str()))
            .collect();
        assert_eq!(
            others,
            [
                ("localpkg".to_string(), "file"),
                ("pkg".to_string(), "remote"),
                ("vcspkg".to_string(), "git")
            ]
        );
    }

    #[test]
    fn names_ending_in_punctuation_are_errors_not_panics() {
        // Found by fuzzing (tests/robustness.rs): pep508_rs 0.9 panics on these.
        let cases = [
            "six==1\nonly. pip\n",
            "six==1\na- ==1\n",
            "six==1\nb_[x]\n",
            "six==1\nurllib3[socks.]==2.8.0\n",
            "six==1\nurllib3 [ a , b- ]==2.8.0\n",
        ];
        for text in cases {
            let error = parse("requirements.txt", text, &files(&[])).unwrap_err();
            assert_eq!(error.line, 2, "{text}");
            assert!(
                error.message.contains("must end with a letter or digit"),
                "{error}"
            );
        }
        assert!(parse_pep508("a.b-c_d==1.0").is_ok());
        assert!(parse_pep508("a.b [c.d, e-f]==1.0").is_ok());
    }

    #[test]
    fn include_cycles_and_missing_files_are_errors() {
        let read = files(&[
            ("a.txt", "-r b.txt\n"),
            ("b.txt", "six==1.16.0\n-r a.txt\n"),
        ]);
        let error = parse("a.txt", "-r b.txt\n", &read).unwrap_err();
        assert!(
            error
                .message
                .contains("include cycle: a.txt → b.txt → a.txt"),
            "{error}"
        );
        let error = parse("requirements.txt", "six==1\n-r gone.txt\n", &read).unwrap_err();
        assert_eq!(error.line, 2);
        assert!(
            error.message.contains("gone.txt is not in this commit"),
            "{error}"
        );
        let error = parse("requirements.txt", "six==1\nnot a requirement!\n", &read).unwrap_err();
        assert_eq!(error.line, 2, "{error}");
    }

    #[test]
    fn a_diamond_of_includes_is_read_once_per_file() {
        // Each of 15 files includes the next 50 times: 50^15 reads if followed blindly.
        let texts: Vec<(String, String)> = (0..15)
            .map(|level| {
                let text = if level == 14 {
                    "six==1.16.0\n".to_string()
                } else {
                    format!("-r f{}.txt\n", level + 1).repeat(50)
                };
                (format!("f{level}.txt"), text)
            })
            .collect();
        let reads = std::cell::Cell::new(0);
        let read = |path: &str| {
            reads.set(reads.get() + 1);
            Ok(texts
                .iter()
                .find(|(name, _)| name == path)
                .map(|(_, text)| text.clone()))
        };
        let locked = parse("f0.txt", &texts[0].1, &read).unwrap();
        assert_eq!(locked.packages().len(), 1);
        assert_eq!(reads.get(), 14);
    }

    #[test]
    fn requirements_files_by_name() {
        for (path, expected) in [
            ("requirements.txt", true),
            ("api/requirements-dev.txt", true),
            ("requirements/base.txt", true),
            ("docs/notes.txt", false),
            ("requirements.in", false),
        ] {
            assert_eq!(is_requirements_file(path), expected, "{path}");
        }
    }

    #[test]
    fn arbitrary_equality_pins_a_string_that_cannot_be_checked_not_the_whole_file() {
        let locked = crate::ecosystem::format_of("requirements.txt")
            .unwrap()
            .parse(
                "requirements.txt",
                "six==1.16.0\nLegacy_Tool[extra]===2.1-custom ; python_version >= '3'\n",
                &crate::ecosystem::no_includes,
            )
            .unwrap();
        assert_eq!(locked.package_list(), ["six@1.16.0"]);
        let unreadable: Vec<String> = locked
            .unreadable()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(unreadable, ["legacy-tool@2.1-custom"]);
        assert_eq!(locked.entries[1].line, Some(2));
        assert_eq!(arbitrary_equality("a === b c"), None);
        assert_eq!(arbitrary_equality("=== 1"), None);
    }
}
