//! yarn berry's `patch:` protocol: which patch files a locked patch was made from, and the
//! hash yarn records for them (`…::version=1.3.0&hash=3eed4f&locator=…`), computed as yarn's
//! `makePatchHash` does: over its own reading of each patch (plugin-patch's `parsePatchFile`),
//! so that a patch file edited without relocking is found offline.

use sha2::Digest as _;

/// Largest patch file read; a larger one is reported rather than parsed.
pub const MAX_SIZE: usize = 16 << 20;

/// What a locked patch's resolution says: the patch files (as written, relative to the
/// workspace folder that asks for them), the patched version and the recorded hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedPatch {
    /// The workspace folder the relative paths start from (`.` the root).
    pub folder: String,
    /// The patch files, relative to the project root (after `folder` and `~/` are applied).
    pub files: Vec<String>,
    /// `version=`: the version of the package it patches.
    pub version: Option<String>,
    /// `hash=`: what yarn computed from the files.
    pub hash: String,
}

/// The project's own patch files behind a berry `resolution`; `None` for anything else (not a
/// patch, a built-in one, an absolute path, a patch asked for by a dependency rather than a
/// workspace: yarn reads those from elsewhere).
pub fn locked_patch(resolution: &str) -> Option<LockedPatch> {
    let at = resolution.find("@patch:")?;
    let rest = &resolution[at + "@patch:".len()..];
    let (_, after) = rest.split_once('#')?;
    let (selector, params) = after.split_once("::")?;
    let mut version = None;
    let mut hash = None;
    let mut locator = None;
    for param in params.split('&') {
        let (key, value) = param.split_once('=')?;
        let value = crate::package::percent_decode(value);
        match key {
            "version" => version = Some(value),
            "hash" => hash = Some(value),
            "locator" => locator = Some(value),
            _ => {}
        }
    }
    let mut files = Vec::new();
    let folder = locator
        .as_deref()
        .and_then(|locator| locator.split_once("@workspace:"))
        .map(|(_, folder)| folder.to_string());
    for path in selector.split('&') {
        let path = crate::package::percent_decode(path);
        let path = path.rsplit('!').next().unwrap_or(&path).to_string();
        if path.starts_with("builtin<") || path.starts_with('/') {
            return None;
        }
        let joined = match path.strip_prefix("~/") {
            Some(in_project) => normalize(in_project),
            None => normalize(&format!("{}/{path}", folder.as_deref()?)),
        };
        files.push(joined?);
    }
    Some(LockedPatch {
        folder: folder.unwrap_or_else(|| ".".to_string()),
        files,
        version,
        hash: hash?,
    })
}

/// `a/./b/../c` → `a/c`; `None` when it leaves the project.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// The hash yarn records for patch files with these contents, for a package at `version`.
pub fn patch_hash(sources: &[String], version: Option<&str>) -> Result<String, String> {
    let mut hasher = sha2::Sha512::new();
    // plugin-patch's CACHE_VERSION, then each effect as JSON.
    hasher.update(b"3");
    for source in sources {
        let source = source.replace("\r\n", "\n").replace('\r', "\n");
        for effect in parse(&source)? {
            if let (Some(range), Some(version)) = (&effect.semver_exclusivity, version) {
                if !satisfies_with_prereleases(version, range) {
                    continue;
                }
            }
            hasher.update(effect.json.as_bytes());
        }
    }
    Ok(hasher
        .finalize()
        .iter()
        .take(3)
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

fn satisfies_with_prereleases(version: &str, range: &str) -> bool {
    let (Ok(version), Ok(range)) = (
        nodejs_semver::Version::parse(version),
        nodejs_semver::Range::parse(range),
    ) else {
        return false;
    };
    // A prerelease counts as its release, as yarn's `satisfiesWithPrereleases` lets it.
    let release = format!(
        "{}.{}.{}",
        version.major(),
        version.minor(),
        version.patch()
    );
    range.satisfies(&version)
        || nodejs_semver::Version::parse(release).is_ok_and(|release| range.satisfies(&release))
}

/// One effect of a patch, as JSON in yarn's key order (without `semverExclusivity`).
struct Effect {
    semver_exclusivity: Option<String>,
    json: String,
}

/// What `diff --git` block of a patch file said, as plugin-patch's parser collects it.
#[derive(Default)]
struct FileDeets {
    semver_exclusivity: Option<String>,
    diff_line_from_path: Option<String>,
    diff_line_to_path: Option<String>,
    old_mode: Option<String>,
    new_mode: Option<String>,
    deleted_file_mode: Option<String>,
    new_file_mode: Option<String>,
    rename_from: Option<String>,
    rename_to: Option<String>,
    before_hash: Option<String>,
    after_hash: Option<String>,
    from_path: Option<String>,
    to_path: Option<String>,
    hunks: Option<Vec<Hunk>>,
}

/// The header lines that set one field each, as `<prefix><value>`.
type Field = fn(&mut FileDeets) -> &mut Option<String>;
const HEADER_FIELDS: [(&str, Field); 7] = [
    ("old mode ", |file| &mut file.old_mode),
    ("new mode ", |file| &mut file.new_mode),
    ("deleted file mode ", |file| &mut file.deleted_file_mode),
    ("new file mode ", |file| &mut file.new_file_mode),
    ("rename from ", |file| &mut file.rename_from),
    ("rename to ", |file| &mut file.rename_to),
    ("semver exclusivity ", |file| &mut file.semver_exclusivity),
];

struct Hunk {
    header: [u64; 4],
    parts: Vec<Part>,
}

struct Part {
    kind: &'static str,
    lines: Vec<String>,
    no_newline_at_end_of_file: bool,
}

/// plugin-patch's `parsePatchFile`: the effects of a patch file.
fn parse(file: &str) -> Result<Vec<Effect>, String> {
    let mut lines: Vec<&str> = file.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    interpret(parse_lines(&lines)?)
}

fn parse_lines(lines: &[&str]) -> Result<Vec<FileDeets>, String> {
    let mut result = Vec::new();
    let mut current = FileDeets::default();
    let mut parsing_hunks = false;
    let mut hunk: Option<Hunk> = None;
    let mut part: Option<Part> = None;
    let commit_hunk =
        |current: &mut FileDeets, hunk: &mut Option<Hunk>, part: &mut Option<Part>| {
            if let Some(mut done) = hunk.take() {
                done.parts.extend(part.take());
                current.hunks.get_or_insert_with(Vec::new).push(done);
            }
        };
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        index += 1;
        if !parsing_hunks {
            if line.starts_with("@@") {
                parsing_hunks = true;
                current.hunks = Some(Vec::new());
                index -= 1;
            } else if let Some(rest) = line.strip_prefix("diff --git ") {
                if nonempty(&current.diff_line_from_path).is_some() {
                    commit_hunk(&mut current, &mut hunk, &mut part);
                    result.push(std::mem::take(&mut current));
                }
                let (from, to) = diff_paths(rest).ok_or(format!("Bad diff line: {line}"))?;
                current.diff_line_from_path = Some(from);
                current.diff_line_to_path = Some(to);
            } else if let Some((field, rest)) = HEADER_FIELDS
                .iter()
                .find_map(|(prefix, field)| Some((field, line.strip_prefix(prefix)?)))
            {
                *field(&mut current) = Some(rest.trim().to_string());
            } else if line.starts_with("index ") {
                if let Some((before, after)) = index_hashes(line) {
                    current.before_hash = Some(before);
                    current.after_hash = Some(after);
                }
            } else if line.starts_with("--- ") {
                current.from_path = Some(js_slice(line, 6).trim().to_string());
            } else if line.starts_with("+++ ") {
                current.to_path = Some(js_slice(line, 6).trim().to_string());
            }
            continue;
        }
        let kind = match line.chars().next() {
            Some('@') => "header",
            Some('-') => "deletion",
            Some('+') => "insertion",
            Some(' ') | None => "context",
            Some('\\') => "pragma",
            Some(_) => "",
        };
        match kind {
            "header" => {
                commit_hunk(&mut current, &mut hunk, &mut part);
                hunk = Some(Hunk {
                    header: hunk_header(line)?,
                    parts: Vec::new(),
                });
            }
            "" => {
                parsing_hunks = false;
                commit_hunk(&mut current, &mut hunk, &mut part);
                result.push(std::mem::take(&mut current));
                index -= 1;
            }
            "pragma" => {
                if !line.starts_with("\\ No newline at end of file") {
                    return Err(format!("Unrecognized pragma in patch file: {line}"));
                }
                part.as_mut()
                    .ok_or("No newline at EOF pragma encountered without context")?
                    .no_newline_at_end_of_file = true;
            }
            kind => {
                let open = hunk
                    .as_mut()
                    .ok_or("Hunk lines encountered before hunk header")?;
                if part.as_ref().is_some_and(|part| part.kind != kind) {
                    open.parts.extend(part.take());
                }
                part.get_or_insert_with(|| Part {
                    kind,
                    lines: Vec::new(),
                    no_newline_at_end_of_file: false,
                })
                .lines
                .push(js_slice(line, 1).to_string());
            }
        }
    }
    commit_hunk(&mut current, &mut hunk, &mut part);
    result.push(current);
    for file in &result {
        for hunk in file.hunks.iter().flatten() {
            verify(hunk)?;
        }
    }
    Ok(result)
}

/// A text JavaScript counts as true: present and not empty.
fn nonempty(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|text| !text.is_empty())
}

/// `line.slice(n)` as JavaScript counts: UTF-16 units, here on ASCII prefixes.
fn js_slice(line: &str, n: usize) -> &str {
    line.get(n..).unwrap_or("")
}

/// `a/(.*?) b/(.*?)\s*$` of a `diff --git` line.
fn diff_paths(rest: &str) -> Option<(String, String)> {
    let rest = rest.strip_prefix("a/")?;
    let at = rest.find(" b/")?;
    Some((
        rest[..at].to_string(),
        rest[at + 3..].trim_end().to_string(),
    ))
}

/// `(\w+)\.\.(\w+)` of an `index` line.
fn index_hashes(line: &str) -> Option<(String, String)> {
    let at = line.find("..")?;
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let before: String = line[..at]
        .chars()
        .rev()
        .take_while(|c| word(*c))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let after: String = line[at + 2..].chars().take_while(|c| word(*c)).collect();
    (!before.is_empty() && !after.is_empty()).then_some((before, after))
}

/// `@@ -a,b +c,d @@`: original start and length, patched start and length.
fn hunk_header(line: &str) -> Result<[u64; 4], String> {
    let bad = || format!("Bad header line: '{line}'");
    let rest = line.trim().strip_prefix("@@ -").ok_or_else(bad)?;
    let (ranges, _) = rest.split_once(" @@").ok_or_else(bad)?;
    let (original, patched) = ranges.split_once(" +").ok_or_else(bad)?;
    let range = |text: &str| -> Result<(u64, u64), String> {
        let (start, length) = match text.split_once(',') {
            Some((start, length)) => (start, Some(length)),
            None => (text, None),
        };
        let number = |text: &str| text.parse::<u64>().map_err(|_| bad());
        Ok((number(start)?.max(1), length.map_or(Ok(1), number)?))
    };
    let (a, b) = range(original)?;
    let (c, d) = range(patched)?;
    Ok([a, b, c, d])
}

fn verify(hunk: &Hunk) -> Result<(), String> {
    let (mut original, mut patched) = (0u64, 0u64);
    for part in &hunk.parts {
        let count = part.lines.len() as u64;
        match part.kind {
            "context" => {
                original += count;
                patched += count;
            }
            "deletion" => original += count,
            _ => patched += count,
        }
    }
    if original != hunk.header[1] || patched != hunk.header[3] {
        return Err("hunk header integrity check failed".to_string());
    }
    Ok(())
}

/// `path.relative('/', path.resolve('/', p))`.
fn get_path(path: &str) -> String {
    normalize(path).unwrap_or_default()
}

fn file_mode(mode: &str) -> Result<u64, String> {
    let parsed = u64::from_str_radix(mode, 8)
        .map_err(|_| format!("Unexpected file mode string: {mode}"))?
        & 0o777;
    if parsed != 0o644 && parsed != 0o755 {
        return Err(format!("Unexpected file mode string: {mode}"));
    }
    Ok(parsed)
}

/// A JSON value written with its object keys in the order given, as `JSON.stringify` does.
enum Json {
    Text(String),
    Number(u64),
    Flag(bool),
    Null,
    List(Vec<Json>),
    Object(Vec<(&'static str, Json)>),
}

impl Json {
    fn text(value: Option<&str>) -> Json {
        value.map_or(Json::Null, |value| Json::Text(value.to_string()))
    }
}

impl std::fmt::Display for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Json::Text(text) => write!(f, "{}", serde_json::Value::from(text.as_str())),
            Json::Number(number) => write!(f, "{number}"),
            Json::Flag(flag) => write!(f, "{flag}"),
            Json::Null => f.write_str("null"),
            Json::List(items) => {
                f.write_str("[")?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Json::Object(fields) => {
                f.write_str("{")?;
                for (index, (key, value)) in fields.iter().enumerate() {
                    if index > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "\"{key}\":{value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

fn hunk_json(hunk: &Hunk) -> Json {
    let [a, b, c, d] = hunk.header;
    let range = |start: u64, length: u64| {
        Json::Object(vec![
            ("start", Json::Number(start)),
            ("length", Json::Number(length)),
        ])
    };
    let parts = hunk
        .parts
        .iter()
        .map(|part| {
            Json::Object(vec![
                ("type", Json::Text(part.kind.to_string())),
                (
                    "lines",
                    Json::List(part.lines.iter().cloned().map(Json::Text).collect()),
                ),
                (
                    "noNewlineAtEndOfFile",
                    Json::Flag(part.no_newline_at_end_of_file),
                ),
            ])
        })
        .collect();
    Json::Object(vec![
        (
            "header",
            Json::Object(vec![("original", range(a, b)), ("patched", range(c, d))]),
        ),
        ("parts", Json::List(parts)),
    ])
}

/// plugin-patch's `interpretParsedPatchFile`: each file's effects, in order.
fn interpret(files: Vec<FileDeets>) -> Result<Vec<Effect>, String> {
    let mut effects = Vec::new();
    for file in files {
        let exclusivity = file.semver_exclusivity.clone();
        let effect = |fields: Vec<(&'static str, Json)>| Effect {
            semver_exclusivity: exclusivity.clone(),
            json: Json::Object(fields).to_string(),
        };
        let has_hunks = file.hunks.as_ref().is_some_and(|hunks| !hunks.is_empty());
        let first_hunk = || {
            file.hunks
                .as_ref()
                .and_then(|hunks| hunks.first())
                .map_or(Json::Null, hunk_json)
        };
        let mut destination: Option<String> = None;
        // A file created or deleted whole: its one hunk, path, mode and blob hash.
        let whole_file = |kind: &str, path: Option<&str>, mode: &str, hash: &Option<String>| {
            let path = path.ok_or_else(|| format!("no path given for {kind}"))?;
            Ok::<_, String>(effect(vec![
                ("type", Json::Text(kind.to_string())),
                ("hunk", first_hunk()),
                ("path", Json::Text(get_path(path))),
                ("mode", Json::Number(file_mode(mode)?)),
                ("hash", Json::text(hash.as_deref())),
            ]))
        };
        if let Some(from) = nonempty(&file.rename_from) {
            let to = file
                .rename_to
                .as_deref()
                .ok_or("rename from & to not given")?;
            effects.push(effect(vec![
                ("type", Json::Text("rename".into())),
                ("fromPath", Json::Text(get_path(from))),
                ("toPath", Json::Text(get_path(to))),
            ]));
            destination = Some(to.to_string());
        } else if let Some(mode) = nonempty(&file.deleted_file_mode) {
            let path = nonempty(&file.diff_line_from_path).or(nonempty(&file.from_path));
            effects.push(whole_file("file deletion", path, mode, &file.before_hash)?);
        } else if let Some(mode) = nonempty(&file.new_file_mode) {
            let path = nonempty(&file.diff_line_to_path).or(nonempty(&file.to_path));
            effects.push(whole_file("file creation", path, mode, &file.after_hash)?);
        } else {
            destination = nonempty(&file.to_path)
                .or(nonempty(&file.diff_line_to_path))
                .map(str::to_string);
        }
        let Some(destination) = destination else {
            continue;
        };
        if let (Some(old), Some(new)) = (&file.old_mode, &file.new_mode) {
            if old != new {
                effects.push(effect(vec![
                    ("type", Json::Text("mode change".into())),
                    ("path", Json::Text(get_path(&destination))),
                    ("oldMode", Json::Number(file_mode(old)?)),
                    ("newMode", Json::Number(file_mode(new)?)),
                ]));
            }
        }
        if has_hunks {
            let hunks = file.hunks.iter().flatten().map(hunk_json).collect();
            effects.push(effect(vec![
                ("type", Json::Text("patch".into())),
                ("path", Json::Text(get_path(&destination))),
                ("hunks", Json::List(hunks)),
                ("beforeHash", Json::text(file.before_hash.as_deref())),
                ("afterHash", Json::text(file.after_hash.as_deref())),
            ]));
        }
    }
    Ok(effects)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATION: &str = "diff --git a/patched.txt b/patched.txt\nnew file mode 100644\n\
                            --- /dev/null\n+++ b/patched.txt\n@@ -0,0 +1 @@\n+hello\n";

    #[test]
    fn the_hash_is_yarns() {
        // The hashes yarn 4.18.1 recorded (tests/fixtures/npm/yarn-berry/patch*).
        assert_eq!(
            patch_hash(&[CREATION.to_string()], Some("1.3.0")).unwrap(),
            "3eed4f"
        );
        let changed = CREATION.replace("+hello", "+hello again");
        assert_eq!(patch_hash(&[changed], Some("1.3.0")).unwrap(), "fc2916");
        // Line ends do not count.
        let crlf = CREATION.replace('\n', "\r\n");
        assert_eq!(patch_hash(&[crlf], Some("1.3.0")).unwrap(), "3eed4f");
    }

    #[test]
    fn a_broken_patch_is_an_error_not_a_panic() {
        for text in [
            "diff --git a/x b/x\n@@ -1,2 +1,2 @@\n-a\n+b\n",
            "diff --git nonsense\n",
            "diff --git a/x b/x\n@@ bad @@\n",
            "@@ -1 +1 @@\n\\ No newline at end of file\n",
            "diff --git a/x b/x\nnew file mode 100777\n@@ -0,0 +1 @@\n+a\n",
        ] {
            assert!(patch_hash(&[text.to_string()], None).is_err(), "{text:?}");
        }
    }

    #[test]
    fn resolutions_name_the_project_patch_files() {
        let patch = locked_patch(
            "left-pad@patch:left-pad@npm%3A1.3.0#./patches/left-pad.patch::version=1.3.0&\
             hash=3eed4f&locator=case%40workspace%3Apackages%2Fa",
        )
        .unwrap();
        assert_eq!(patch.files, ["packages/a/patches/left-pad.patch"]);
        assert_eq!(
            (patch.version.as_deref(), patch.hash.as_str()),
            (Some("1.3.0"), "3eed4f")
        );
        let in_project = "x@patch:x@npm%3A1.0.0#~/p/x.patch::version=1.0.0&hash=abcdef";
        assert_eq!(locked_patch(in_project).unwrap().files, ["p/x.patch"]);
        for other in [
            "fsevents@patch:fsevents@npm%3A2.3.3#optional!builtin<compat/fsevents>::version=2.3.3&hash=df0bf1",
            "x@patch:x@npm%3A1.0.0#/abs/x.patch::version=1.0.0&hash=abcdef",
            "x@patch:x@npm%3A1.0.0#../../x.patch::version=1.0.0&hash=abcdef&locator=case%40workspace%3A.",
            "left-pad@npm:1.3.0",
        ] {
            assert_eq!(locked_patch(other), None, "{other}");
        }
    }
}
