//! CI-configuration lint: a step of a CI or build file that installs a project's dependencies
//! without enforcing its lockfile (`npm install` where `npm ci` is meant) installs whatever the
//! registry serves that day, which is what lockgate exists to stop. Each CI file is read with a
//! parser of its own kind (YAML events for workflow files, Dockerfile instructions, Groovy tokens
//! for a Jenkinsfile's `sh` steps), its scripts
//! are split into simple commands ([`shell`]), and each command is held to [`RULES`].

mod shell;
mod sources;

use crate::report::{Problem, ProblemKind};

/// Largest CI file read; a larger one is reported, not linted.
pub const MAX_SIZE: usize = 4 << 20;

/// What kind of CI or build file a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiFile {
    /// A YAML pipeline (GitHub Actions, GitLab CI, Azure Pipelines, CircleCI, Bitbucket).
    /// `ci_env` says whether the runner sets `CI=true` (every hosted one does).
    Yaml,
    /// A Dockerfile: `RUN` instructions, no `CI` unless the file sets it.
    Dockerfile,
    /// A Jenkinsfile (Groovy): its `sh` steps.
    Jenkinsfile,
}

/// The kind of CI file at `path`, if it is one lockgate lints.
pub fn ci_file(path: &str) -> Option<CiFile> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    if (path.starts_with(".github/workflows/") || path.contains("/.github/workflows/")) && yaml {
        return Some(CiFile::Yaml);
    }
    if matches!(
        name,
        ".gitlab-ci.yml" | "azure-pipelines.yml" | "bitbucket-pipelines.yml"
    ) || path.ends_with(".circleci/config.yml")
    {
        return Some(CiFile::Yaml);
    }
    if name == "Dockerfile" || name.starts_with("Dockerfile.") || name.ends_with(".Dockerfile") {
        return Some(CiFile::Dockerfile);
    }
    if name == "Jenkinsfile" || name.starts_with("Jenkinsfile.") {
        return Some(CiFile::Jenkinsfile);
    }
    None
}

/// Where a command runs: whether `CI=true` is set there, and the files of the commit that holds
/// the CI file (by path from the repository root), for rules that look at a file a command names.
pub struct Context<'a> {
    /// Whether `CI=true` is set where it runs.
    pub ci: bool,
    /// The folder of the CI file (a Dockerfile's build context, most often).
    pub folder: &'a str,
    /// Reads a file of the same commit (`None`: not there, or not readable).
    pub read: &'a dyn Fn(&str) -> Option<Vec<u8>>,
}

/// One rule: the tool it is about, whether it blocks by default, and the check of one command
/// (its words from the program on, and where it runs).
pub struct Rule {
    /// The rule's name, as configuration and the report say it (`npm`).
    pub name: &'static str,
    /// Whether a finding blocks the commit by default.
    pub blocking: bool,
    /// The finding for a command, if it breaks the rule: what is wrong and what to run instead.
    pub check: fn(&[&str], &Context<'_>) -> Option<String>,
}

/// The rules, one per tool.
pub const RULES: [Rule; 6] = [
    Rule {
        name: "npm",
        blocking: true,
        check: npm,
    },
    Rule {
        name: "yarn",
        blocking: false,
        check: yarn,
    },
    Rule {
        name: "pnpm",
        blocking: false,
        check: pnpm,
    },
    Rule {
        name: "bun",
        blocking: false,
        check: bun,
    },
    Rule {
        name: "uv",
        blocking: false,
        check: uv,
    },
    Rule {
        name: "pip",
        blocking: false,
        check: pip,
    },
];

/// `problems` as the configuration's `[ci-lint]` says: a rule set to `off` reports nothing, one
/// set to `block` or `warn` blocks or not.
pub fn configure(problems: &mut Vec<Problem>, config: &crate::config::CiLint) {
    use crate::config::CiRule;
    problems.retain_mut(|problem| {
        let Some(rule) = problem.rule.and_then(|name| config.rule(name)) else {
            return true;
        };
        problem.blocking = rule == CiRule::Block;
        rule != CiRule::Off
    });
}

/// The problems of the CI file at `path` with contents `text`; `read` reads the other files of
/// the same commit (a requirements file a `pip install -r` names).
pub fn lint(
    path: &str,
    kind: CiFile,
    text: &[u8],
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Vec<Problem> {
    if text.len() > MAX_SIZE {
        return vec![Problem::new(
            ProblemKind::CiFileUnreadable,
            path,
            &format!("larger than {} MiB: not linted", MAX_SIZE >> 20),
            false,
        )];
    }
    let text = String::from_utf8_lossy(text);
    let scripts = match kind {
        CiFile::Yaml => sources::yaml_scripts(&text),
        CiFile::Dockerfile => Ok(sources::dockerfile_scripts(&text)),
        CiFile::Jenkinsfile => Ok(sources::jenkinsfile_scripts(&text)),
    };
    let scripts = match scripts {
        Ok(scripts) => scripts,
        Err(error) => {
            return vec![Problem::new(
                ProblemKind::CiFileUnreadable,
                path,
                &format!("{error}: not linted"),
                false,
            )
            .at(error.line, error.column)]
        }
    };
    let mut problems = Vec::new();
    for script in scripts {
        for command in shell::commands(&script.text) {
            let (assignments, words) = shell::program(&command.words);
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let context = Context {
                ci: script.ci || assignments.iter().any(|a| a.starts_with("CI=")),
                folder: crate::ecosystem::folder_of(path),
                read,
            };
            for rule in &RULES {
                if let Some(message) = (rule.check)(&words, &context) {
                    let mut problem = Problem::new(
                        ProblemKind::CiInstallUnlocked,
                        path,
                        &format!("{} ({} rule)", message, rule.name),
                        rule.blocking,
                    )
                    .at(script.line + command.line, 0);
                    problem.rule = Some(rule.name);
                    problems.push(problem);
                }
            }
        }
    }
    problems
}

/// The program's name, without a folder (`./node_modules/.bin/npm` → `npm`).
fn program_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// The subcommand and what follows it: the first word after the program that is not a flag
/// (skipping the value of a flag that takes one, given as `flags_with_values`).
fn subcommand<'a>(
    words: &'a [&'a str],
    flags_with_values: &[&str],
) -> (Option<&'a str>, &'a [&'a str]) {
    let mut index = 1;
    while index < words.len() {
        let word = words[index];
        if flags_with_values.contains(&word) {
            index += 2;
            continue;
        }
        if !word.starts_with('-') {
            return (Some(word), &words[index + 1..]);
        }
        index += 1;
    }
    (None, &[])
}

/// Whether any of `words` is one of `flags` (also as `--flag=…`).
fn has_flag(words: &[&str], flags: &[&str]) -> bool {
    words.iter().any(|word| {
        let name = word.split_once('=').map_or(*word, |(name, _)| name);
        flags.contains(&name)
    })
}

/// npm's flags that take a value as the next word.
const NPM_VALUE_FLAGS: [&str; 12] = [
    "--prefix",
    "-C",
    "--workspace",
    "-w",
    "--registry",
    "--omit",
    "--include",
    "--cache",
    "--loglevel",
    "--userconfig",
    "--tag",
    "--install-strategy",
];

/// `npm install` (or `npm i` and its other spellings) of the project's own dependencies.
fn npm(words: &[&str], _context: &Context<'_>) -> Option<String> {
    if program_name(words.first()?) != "npm" {
        return None;
    }
    let (command, rest) = subcommand(words, &NPM_VALUE_FLAGS);
    let installs = [
        "install", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal",
        "isntall", "add",
    ];
    // A global tool, or a run that installs nothing (`--package-lock-only`, `--dry-run`).
    let not_the_project = ["-g", "--global", "--package-lock-only", "--dry-run"];
    if !installs.contains(&command?) || has_flag(words, &not_the_project) {
        return None;
    }
    // Packages named: it adds them (a tool, a global), not the project's lockfile install.
    let mut index = 0;
    while index < rest.len() {
        if NPM_VALUE_FLAGS.contains(&rest[index]) {
            index += 2;
            continue;
        }
        if !rest[index].starts_with('-') {
            return None;
        }
        index += 1;
    }
    Some(format!(
        "`{}` installs what the registry serves today and rewrites package-lock.json: use \
         `npm ci`, which installs exactly the lockfile and fails when it is out of sync",
        words.join(" ")
    ))
}

/// `yarn` or `yarn install` without `--frozen-lockfile` / `--immutable`.
fn yarn(words: &[&str], _context: &Context<'_>) -> Option<String> {
    if program_name(words.first()?) != "yarn" {
        return None;
    }
    let (command, _) = subcommand(words, &["--cwd", "--modules-folder", "--cache-folder"]);
    if !matches!(command, None | Some("install")) {
        return None;
    }
    if has_flag(
        words,
        &["--frozen-lockfile", "--immutable", "--immutable-cache"],
    ) {
        return None;
    }
    Some(format!(
        "`{}` may rewrite yarn.lock: use `yarn install --frozen-lockfile` (yarn 1) or `yarn \
         install --immutable` (yarn 2 and later)",
        words.join(" ")
    ))
}

/// `pnpm install` without `--frozen-lockfile` where `CI` does not make it the default.
fn pnpm(words: &[&str], context: &Context<'_>) -> Option<String> {
    if program_name(words.first()?) != "pnpm" {
        return None;
    }
    let (command, _) = subcommand(words, &["--dir", "-C", "--filter", "-F"]);
    if !matches!(command, Some("install" | "i")) || has_flag(words, &["--frozen-lockfile"]) {
        return None;
    }
    let unfrozen = has_flag(words, &["--no-frozen-lockfile"]);
    if context.ci && !unfrozen {
        return None; // pnpm installs with --frozen-lockfile when CI is set
    }
    Some(format!(
        "`{}` may rewrite pnpm-lock.yaml{}: use `pnpm install --frozen-lockfile`",
        words.join(" "),
        if unfrozen {
            ""
        } else {
            " (CI is not set here)"
        }
    ))
}

/// `bun install` without `--frozen-lockfile`.
fn bun(words: &[&str], _context: &Context<'_>) -> Option<String> {
    if program_name(words.first()?) != "bun" {
        return None;
    }
    let (command, _) = subcommand(words, &["--cwd"]);
    if !matches!(command, Some("install" | "i")) || has_flag(words, &["--frozen-lockfile"]) {
        return None;
    }
    Some(format!(
        "`{}` may rewrite bun.lock: use `bun install --frozen-lockfile` (or `bun ci`)",
        words.join(" ")
    ))
}

/// `uv sync` without `--locked` / `--frozen`, and `uv pip install -r` without hashes.
fn uv(words: &[&str], _context: &Context<'_>) -> Option<String> {
    if program_name(words.first()?) != "uv" {
        return None;
    }
    let (command, rest) = subcommand(words, &["--directory", "--project"]);
    match command? {
        "sync" if !has_flag(words, &["--locked", "--frozen"]) => Some(format!(
            "`{}` relocks when uv.lock is out of date: use `uv sync --locked`",
            words.join(" ")
        )),
        "pip"
            if rest.first() == Some(&"install")
                && has_flag(rest, &["-r", "--requirement"])
                && !has_flag(rest, &["--require-hashes"]) =>
        {
            Some(format!(
                "`{}` installs without checking hashes: add `--require-hashes` (with a \
                 requirements file that pins them), or use `uv sync --locked`",
                words.join(" ")
            ))
        }
        _ => None,
    }
}

/// `pip install -r FILE` without `--require-hashes` where FILE pins hashes: pip checks them only
/// while every requirement has one, and a later edit that drops them turns the check off
/// without a word; `--require-hashes` makes a requirement without a hash an error. FILE is
/// looked for from the repository root, then from the CI file's folder; one not in the commit
/// says nothing.
fn pip(words: &[&str], context: &Context<'_>) -> Option<String> {
    let program = program_name(words.first()?);
    let rest = match program {
        "pip" | "pip3" => &words[1..],
        _ if program.starts_with("python") => match words.get(1..3) {
            Some(["-m", "pip"]) => &words[3..],
            _ => return None,
        },
        _ => return None,
    };
    // `subcommand` reads from the word after the program.
    let words_from_program = [&[""], rest].concat();
    let (command, rest) = subcommand(&words_from_program, &["--python", "--cache-dir"]);
    if command? != "install" || has_flag(rest, &["--require-hashes"]) {
        return None;
    }
    let files = requirement_files(rest);
    let pinned = files.iter().find(|file| {
        let candidates = [
            file.to_string(),
            crate::ecosystem::join_path(context.folder, file),
        ];
        candidates.iter().any(|path| {
            (context.read)(path).is_some_and(|bytes| {
                String::from_utf8_lossy(&bytes)
                    .lines()
                    .any(|line| !line.trim_start().starts_with('#') && line.contains("--hash"))
            })
        })
    })?;
    Some(format!(
        "`{}` installs {pinned}, which pins hashes, without `--require-hashes`: pip stops checking \
         them as soon as one requirement lacks a hash; add `--require-hashes`",
        words.join(" ")
    ))
}

/// The files `-r FILE`, `-rFILE`, `--requirement FILE` and `--requirement=FILE` name.
fn requirement_files<'a>(words: &[&'a str]) -> Vec<&'a str> {
    let mut files = Vec::new();
    let mut index = 0;
    while index < words.len() {
        let word = words[index];
        if (word == "-r" || word == "--requirement") && index + 1 < words.len() {
            files.push(words[index + 1]);
            index += 2;
            continue;
        }
        if let Some(file) = word.strip_prefix("--requirement=").or_else(|| {
            word.strip_prefix("-r")
                .filter(|file| !file.is_empty() && !file.starts_with('-'))
        }) {
            files.push(file);
        }
        index += 1;
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(command: &str, ci: bool) -> Vec<&'static str> {
        let found = shell::commands(command);
        let words: Vec<&str> = found[0].words.iter().map(String::as_str).collect();
        // The commit holds two requirements files, one of them pinning hashes.
        let read = |path: &str| match path {
            "requirements.txt" | "docker/requirements.txt" => {
                Some(b"requests==2.32.3 --hash=sha256:aa\n".to_vec())
            }
            "dev.txt" => Some(b"pytest==8.0.0\n".to_vec()),
            _ => None,
        };
        let context = Context {
            ci,
            folder: "docker",
            read: &read,
        };
        RULES
            .iter()
            .filter(|rule| (rule.check)(&words, &context).is_some())
            .map(|rule| rule.name)
            .collect()
    }

    #[test]
    fn each_rule_finds_the_unlocked_install_and_nothing_else() {
        let cases: [(&str, bool, &[&str]); 34] = [
            ("npm install", true, &["npm"]),
            ("npm i --no-audit", true, &["npm"]),
            ("npm --prefix web install", true, &["npm"]),
            ("npm install --omit dev", true, &["npm"]),
            ("npm ci", true, &[]),
            ("npm install -g pnpm", true, &[]),
            ("npm install typescript", true, &[]),
            ("npm install --package-lock-only", true, &[]),
            ("npm i --dry-run", true, &[]),
            ("npm run build", true, &[]),
            ("yarn", true, &["yarn"]),
            ("yarn install --pure-lockfile", true, &["yarn"]),
            ("yarn install --frozen-lockfile", true, &[]),
            ("yarn --immutable", true, &[]),
            ("yarn build", true, &[]),
            ("pnpm install", true, &[]),
            ("pnpm install", false, &["pnpm"]),
            ("pnpm install --no-frozen-lockfile", true, &["pnpm"]),
            ("pnpm i --frozen-lockfile", false, &[]),
            ("bun install", true, &["bun"]),
            ("bun install --frozen-lockfile", true, &[]),
            ("bun ci", true, &[]),
            ("uv sync", true, &["uv"]),
            ("uv sync --locked", true, &[]),
            ("uv pip install -r requirements.txt", true, &["uv"]),
            (
                "uv pip install --require-hashes -r requirements.txt",
                true,
                &[],
            ),
            ("pip install -r requirements.txt", true, &["pip"]),
            (
                "pip3 install --requirement=requirements.txt",
                true,
                &["pip"],
            ),
            ("python3 -m pip install -rrequirements.txt", true, &["pip"]),
            (
                "pip install --require-hashes -r requirements.txt",
                true,
                &[],
            ),
            ("pip install -r dev.txt", true, &[]),
            ("pip install -r missing.txt", true, &[]),
            ("pip install requests", true, &[]),
            ("python -m venv .venv", true, &[]),
        ];
        for (command, ci, expected) in cases {
            assert_eq!(verdict(command, ci), expected, "{command} (CI {ci})");
        }
    }

    #[test]
    fn every_rule_can_be_configured() {
        for rule in &RULES {
            let text = format!("[ci-lint]\n{} = \"off\"\n", rule.name);
            let config = crate::config::Config::parse(".lockgate.toml", &text).unwrap();
            assert_eq!(
                config.ci_lint.rule(rule.name),
                Some(crate::config::CiRule::Off),
                "{}",
                rule.name
            );
        }
    }

    #[test]
    fn ci_files_are_recognised_by_path() {
        let yaml = Some(CiFile::Yaml);
        let docker = Some(CiFile::Dockerfile);
        let cases = [
            (".github/workflows/ci.yml", yaml),
            ("sub/.github/workflows/x.yaml", yaml),
            (".gitlab-ci.yml", yaml),
            ("azure-pipelines.yml", yaml),
            (".circleci/config.yml", yaml),
            ("bitbucket-pipelines.yml", yaml),
            ("Dockerfile", docker),
            ("web/Dockerfile", docker),
            ("Dockerfile.prod", docker),
            ("api.Dockerfile", docker),
            (".github/ci.yml", None),
            ("docker-compose.yml", None),
            ("Dockerfiles/readme.md", None),
            ("Jenkinsfile", Some(CiFile::Jenkinsfile)),
            ("ci/Jenkinsfile.release", Some(CiFile::Jenkinsfile)),
        ];
        for (path, kind) in cases {
            assert_eq!(ci_file(path), kind, "{path}");
        }
    }
}
