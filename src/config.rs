//! `.lockgate.toml`: what blocks, which advisories a team accepts and why, private registries,
//! and the network settings, for a repository or a user.
//!
//! Found by `--config PATH`, then `LOCKGATE_CONFIG`, then `.lockgate.toml` at the repository
//! root, then `lockgate/lockgate.toml` in the user's configuration folder; the first found
//! wins. Strict, because it is our own format: an unknown key or a value of the wrong type is an
//! error naming the key and its line. Command-line flags and environment variables win over it.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The configuration as written.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// What blocks besides malware.
    pub fail_on: Option<FailOn>,
    /// Whether vulnerabilities of development-only packages block.
    pub dev: Option<DevPolicy>,
    /// What to do when OSV cannot be reached.
    pub on_unreachable: Option<OnUnreachable>,
    /// Minutes a cached OSV answer is reused.
    pub cache_ttl: Option<u64>,
    /// Days after which the offline database is called old.
    pub max_db_age: Option<u64>,
    /// Seconds all of a run's OSV requests may take together.
    pub deadline: Option<u64>,
    /// Always answer from the offline database; never ask OSV.
    pub offline: Option<bool>,
    /// Whether requirements that do not pin one version block.
    pub fail_on_unpinned: Option<bool>,
    /// Hosts of private registries: packages resolved from them are not the public packages of
    /// the same name.
    #[serde(default)]
    pub private_registries: Vec<String>,
    /// Package names that are the organisation's own (exact, or globs such as `@acme/*`): never
    /// sent to a public service, and blocking when resolved from a registry not in
    /// `private-registries` (dependency confusion).
    #[serde(default)]
    pub private_packages: Vec<String>,
    /// Advisories accepted, each with a reason.
    #[serde(default, rename = "ignore")]
    pub ignores: Vec<Ignore>,
    /// What each CI-lint rule does: `[ci-lint]` with `npm = "block"`, `yarn = "warn"`, ...
    #[serde(default)]
    pub ci_lint: CiLint,
    /// The minimum release age: one duration (`"3d"`) for every ecosystem, or a table of them by
    /// ecosystem (`default`, `npm`, `PyPI`, `Packagist`).
    pub release_age: Option<ReleaseAge>,
    /// The registry to ask for publish times, by ecosystem, where a lockfile records no URL.
    #[serde(default)]
    pub registries: std::collections::BTreeMap<String, String>,
    /// Packages exempt from a check that needs no advisory, each with a reason and an end.
    #[serde(default, rename = "exempt")]
    pub exemptions: Vec<Exemption>,
    /// An upgrade to a version published with less evidence (provenance, trusted publisher)
    /// than the one it replaces: `warn` (the default), `block` or `off`.
    pub trust_downgrade: Option<CiRule>,
    /// What each lockfile-integrity check does: `[checks]` with `checksum-changed = "block"`.
    #[serde(default)]
    pub checks: Checks,
}

/// `[checks]`: the level of each check of what a lockfile says about its entries (absent: the
/// check's default, [`CHECK_DEFAULTS`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Checks {
    /// A version kept with another checksum (blocks by default).
    pub checksum_changed: Option<CiRule>,
    /// An upgrade to a version that runs an install script the old one did not (blocks by
    /// default).
    pub install_script_gained: Option<CiRule>,
    /// An entry a change adds that downloads over plain `http:` (blocks by default).
    pub download_insecure: Option<CiRule>,
    /// Packages a change adds that run an install script (warns by default).
    pub install_script_new: Option<CiRule>,
    /// An entry downloaded from a host that is not an allowed registry (blocks by default).
    pub download_host: Option<CiRule>,
    /// A version kept with another download URL (blocks by default).
    pub download_url_changed: Option<CiRule>,
    /// A download URL whose path names another package or version (blocks by default).
    pub download_name_mismatch: Option<CiRule>,
    /// A git, tarball or path source below the top level (blocks by default).
    pub source_deep: Option<CiRule>,
    /// A git, tarball or path source a manifest asks for (warns by default).
    pub source_direct: Option<CiRule>,
    /// A git source that follows a branch or tag rather than a commit (warns by default).
    pub git_ref_unpinned: Option<CiRule>,
    /// A new registry entry without a checksum, or with only SHA-1 (warns by default).
    pub checksum_missing: Option<CiRule>,
    /// A new Python package offered only as a source distribution (warns by default).
    pub sdist_only: Option<CiRule>,
    /// A name private by configuration, resolved from a public registry (blocks by default).
    pub dependency_confusion: Option<CiRule>,
    /// Packages whose install scripts are approved, beside the package managers' own lists.
    #[serde(default)]
    pub allow_scripts: Vec<String>,
    /// Download hosts allowed beside the project's configured registries (`npm.corp.example`,
    /// `*.corp.example`).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

impl Checks {
    /// The level `[checks]` sets for `check` (one of [`CHECK_DEFAULTS`]), if it sets one.
    pub fn set(&self, check: &str) -> Option<CiRule> {
        match check {
            "checksum-changed" => self.checksum_changed,
            "install-script-gained" => self.install_script_gained,
            "download-insecure" => self.download_insecure,
            "install-script-new" => self.install_script_new,
            "download-host" => self.download_host,
            "download-url-changed" => self.download_url_changed,
            "download-name-mismatch" => self.download_name_mismatch,
            "source-deep" => self.source_deep,
            "source-direct" => self.source_direct,
            "git-ref-unpinned" => self.git_ref_unpinned,
            "checksum-missing" => self.checksum_missing,
            "sdist-only" => self.sdist_only,
            "dependency-confusion" => self.dependency_confusion,
            _ => None,
        }
    }
}

/// Each lockfile check `[checks]` can set, and its level when it does not.
pub const CHECK_DEFAULTS: [(&str, CiRule); 13] = [
    ("checksum-changed", CiRule::Block),
    ("install-script-gained", CiRule::Block),
    ("download-insecure", CiRule::Block),
    ("install-script-new", CiRule::Warn),
    ("download-host", CiRule::Block),
    ("download-url-changed", CiRule::Block),
    ("download-name-mismatch", CiRule::Block),
    ("source-deep", CiRule::Block),
    ("source-direct", CiRule::Warn),
    ("git-ref-unpinned", CiRule::Warn),
    ("checksum-missing", CiRule::Warn),
    ("sdist-only", CiRule::Warn),
    ("dependency-confusion", CiRule::Block),
];

/// `release-age`: one duration, or one per ecosystem.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ReleaseAge {
    /// For every ecosystem.
    Every(String),
    /// By ecosystem (`default` for the rest).
    ByEcosystem(std::collections::BTreeMap<String, String>),
}

/// A package exempt from one check: which package (exact, or a glob with `*`), optionally which
/// versions, why, and until when.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    /// The package name, or a glob (`@acme/*`).
    pub package: String,
    /// The versions it covers (all when empty).
    #[serde(default)]
    pub versions: Vec<String>,
    /// The check: `release-age`, `pulled`, `provenance`, or a `[checks]` key.
    pub check: String,
    /// Why (required).
    pub reason: String,
    /// The last day it applies (required).
    pub until: toml::value::Datetime,
    /// When it was written (Unix seconds), where git says: the commit that added it, else now.
    #[serde(skip)]
    pub written: Option<u64>,
}

/// The checks an exemption can name beside the lockfile checks of [`CHECK_DEFAULTS`].
pub const EXEMPTIBLE: [&str; 3] = ["release-age", "pulled", "provenance"];

/// Whether an exemption can name `check`.
pub fn exemptible(check: &str) -> bool {
    EXEMPTIBLE.contains(&check) || CHECK_DEFAULTS.iter().any(|(name, _)| *name == check)
}

/// A duration as people write it: `3d`, `72h`, `90m`, `2w`, `3 days`, `0` (off); its seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(0);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_seconds = match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 604_800,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(count) if unit_seconds > 0 && count <= 3650 * 86_400 / unit_seconds => {
            Ok(count * unit_seconds)
        }
        _ => Err(format!(
            "{text:?} is not a duration such as 3d, 72h, 90m or 2w"
        )),
    }
}

/// `[ci-lint]`: one key per rule of the CI-configuration lint (see `cilint::RULES`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiLint {
    /// `npm install` without packages (blocks by default).
    pub npm: Option<CiRule>,
    /// `yarn install` without `--frozen-lockfile` / `--immutable`.
    pub yarn: Option<CiRule>,
    /// `pnpm install` without `--frozen-lockfile` where `CI` is not set.
    pub pnpm: Option<CiRule>,
    /// `bun install` without `--frozen-lockfile`.
    pub bun: Option<CiRule>,
    /// `uv sync` without `--locked`, `uv pip install -r` without hashes.
    pub uv: Option<CiRule>,
    /// `pip install -r` without `--require-hashes` of a file that pins hashes.
    pub pip: Option<CiRule>,
}

impl CiLint {
    /// What the file says of the rule called `name`, if anything.
    pub fn rule(&self, name: &str) -> Option<CiRule> {
        match name {
            "npm" => self.npm,
            "yarn" => self.yarn,
            "pnpm" => self.pnpm,
            "bun" => self.bun,
            "uv" => self.uv,
            "pip" => self.pip,
            _ => None,
        }
    }
}

/// What a CI-lint rule does with what it finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CiRule {
    /// Report and block.
    Block,
    /// Report without blocking.
    Warn,
    /// Do not report.
    Off,
}

/// The least severe vulnerability that blocks (malware always does): `fail-on` in the file,
/// `--fail-on` on the command line, spelled alike (one list of names for both).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    /// Only malware blocks (the default).
    Malicious,
    /// Low severity and above.
    Low,
    /// Medium severity and above.
    Medium,
    /// High severity and above.
    High,
    /// Critical only.
    Critical,
    /// Every vulnerability, whatever its severity.
    Any,
}

/// What to do when OSV cannot be reached: `on-unreachable` in the file, `--on-unreachable` on
/// the command line, spelled alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OnUnreachable {
    /// Block (exit 2): nothing unchecked gets through.
    Block,
    /// Warn and allow.
    Warn,
    /// Answer from the offline database, saying so; what it lacks stays unchecked and blocks.
    Offline,
}

/// Whether vulnerabilities of development-only packages block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DevPolicy {
    /// Like any other package (the default).
    Block,
    /// Reported, not blocking. Never applies to malware.
    Warn,
}

/// An accepted advisory.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ignore {
    /// The advisory's id or one of its aliases.
    pub id: String,
    /// Why it is accepted (required).
    pub reason: String,
    /// The last day it applies (inclusive).
    #[serde(default)]
    pub until: Option<toml::value::Datetime>,
    /// Must be set to ignore a malware record, with `package` and `version`.
    #[serde(default)]
    pub malicious: bool,
    /// The package it covers (required for malware).
    #[serde(default)]
    pub package: Option<String>,
    /// The version it covers (required for malware).
    #[serde(default)]
    pub version: Option<String>,
}

/// Why a configuration file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}{}: {message}", if *line > 0 { format!(":{line}:{column}") } else { String::new() })]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl Config {
    /// Parses configuration text; `path` names the file in errors.
    pub fn parse(path: &str, text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|error| {
            let error = crate::ecosystem::ParseError::from_toml(text, &error);
            ConfigError {
                path: path.to_string(),
                line: error.line,
                column: error.column,
                message: error.message,
            }
        })?;
        if let Some(seconds) = config
            .deadline
            .filter(|seconds| !(1..=3600).contains(seconds))
        {
            let line = text
                .lines()
                .position(|line| line.trim_start().starts_with("deadline"))
                .map_or(0, |index| index + 1);
            return Err(ConfigError {
                path: path.to_string(),
                line,
                column: if line > 0 { 1 } else { 0 },
                message: format!("`deadline` is {seconds}: it must be between 1 and 3600 seconds"),
            });
        }
        config.check_release_age(path, text)?;
        for (index, ignore) in config.ignores.iter().enumerate() {
            let problem = if ignore.reason.trim().is_empty() {
                Some("`reason` must say why the advisory is accepted")
            } else if ignore.malicious && (ignore.package.is_none() || ignore.version.is_none()) {
                Some("ignoring malware needs the exact `package` and `version` it covers")
            } else if ignore.until.is_some_and(|until| until.date.is_none()) {
                Some("`until` must be a date, such as 2027-01-31")
            } else {
                None
            };
            if let Some(message) = problem {
                let line = nth_ignore_line(text, index);
                return Err(ConfigError {
                    path: path.to_string(),
                    line,
                    column: if line > 0 { 1 } else { 0 },
                    message: format!("[[ignore]] {}: {message}", ignore.id),
                });
            }
        }
        Ok(config)
    }
}

impl Config {
    /// The durations, ecosystems and exemptions are ones lockgate knows.
    fn check_release_age(&self, path: &str, text: &str) -> Result<(), ConfigError> {
        let error = |key: &str, message: String| {
            let line = text
                .lines()
                .position(|line| line.trim_start().starts_with(key))
                .map_or(0, |index| index + 1);
            ConfigError {
                path: path.to_string(),
                line,
                column: if line > 0 { 1 } else { 0 },
                message,
            }
        };
        let known = |name: &str| {
            name == "default"
                || crate::ecosystem::ECOSYSTEMS
                    .iter()
                    .any(|ecosystem| ecosystem.id.as_osv() == name)
        };
        let durations: Vec<(String, String)> = match &self.release_age {
            Some(ReleaseAge::Every(duration)) => vec![("release-age".into(), duration.clone())],
            Some(ReleaseAge::ByEcosystem(table)) => table
                .iter()
                .map(|(name, duration)| (name.clone(), duration.clone()))
                .collect(),
            None => Vec::new(),
        };
        for (key, duration) in durations {
            if key != "release-age" && !known(&key) {
                return Err(error(
                    &key,
                    format!("[release-age] {key}: not an ecosystem (npm, PyPI, Packagist) nor `default`"),
                ));
            }
            parse_duration(&duration)
                .map_err(|message| error(&key, format!("release-age {key}: {message}")))?;
        }
        if let Some(name) = self
            .registries
            .keys()
            .find(|name| !known(name) || *name == "default")
        {
            return Err(error(
                name,
                format!("[registries] {name}: not an ecosystem (npm, PyPI, Packagist)"),
            ));
        }
        for exemption in &self.exemptions {
            let problem = if !exemptible(&exemption.check) {
                let names: Vec<&str> = EXEMPTIBLE
                    .iter()
                    .copied()
                    .chain(CHECK_DEFAULTS.iter().map(|(name, _)| *name))
                    .collect();
                Some(format!(
                    "`check` is {:?}: one of {}",
                    exemption.check,
                    names.join(", ")
                ))
            } else if exemption.reason.trim().is_empty() {
                Some("`reason` must say why".to_string())
            } else if exemption.until.date.is_none() {
                Some("`until` must be a date, such as 2027-01-31".to_string())
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(error(
                    "[[exempt]]",
                    format!("[[exempt]] {}: {problem}", exemption.package),
                ));
            }
        }
        Ok(())
    }
}

/// The line of the `index`th `[[ignore]]` header.
fn nth_ignore_line(text: &str, index: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.trim() == "[[ignore]]")
        .nth(index)
        .map_or(0, |(number, _)| number + 1)
}

/// Where the configuration comes from, and what it says.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// The file read, when one was found.
    pub path: Option<PathBuf>,
    /// What it says (the defaults when no file was found).
    pub config: Config,
}

/// Finds and reads the configuration: `explicit` (`--config` or `LOCKGATE_CONFIG`), else
/// `.lockgate.toml` in `root` (the repository's working tree), else the user's.
pub fn load(explicit: Option<&Path>, root: Option<&Path>) -> Result<Loaded, ConfigError> {
    let candidates: Vec<(PathBuf, bool)> = match explicit {
        // A file named on purpose must exist.
        Some(path) => vec![(path.to_path_buf(), true)],
        None => root
            .map(|root| root.join(".lockgate.toml"))
            .into_iter()
            .chain(dirs::config_dir().map(|folder| folder.join("lockgate").join("lockgate.toml")))
            .map(|path| (path, false))
            .collect(),
    };
    for (path, required) in candidates {
        let shown = path.display().to_string();
        match read_bounded(&path) {
            Ok(text) => {
                return Ok(Loaded {
                    config: Config::parse(&shown, &text)?,
                    path: Some(path),
                })
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && !required => {}
            Err(error) => {
                return Err(ConfigError {
                    path: shown,
                    line: 0,
                    column: 0,
                    message: error.to_string(),
                })
            }
        }
    }
    Ok(Loaded::default())
}

/// Reads a configuration file of at most 1 MiB.
fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(1024 * 1024)
        .read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_example_parses() {
        let text = include_str!("../lockgate.example.toml");
        let config = Config::parse("lockgate.example.toml", text).unwrap();
        assert_eq!(config.fail_on, Some(FailOn::High));
        assert_eq!(config.ignores.len(), 2);
        assert!(config.ignores[1].malicious);
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_line() {
        let cases = [
            (
                "fail-on = \"high\"\nfial-on = \"low\"\n",
                2,
                "unknown field `fial-on`",
            ),
            ("cache-ttl = \"soon\"\n", 1, "invalid type"),
            ("[[ignore]]\nid = \"GHSA-x\"\n", 1, "missing field `reason`"),
            (
                "[[ignore]]\nid = \"MAL-1\"\nreason = \"false positive\"\nmalicious = true\n",
                1,
                "exact `package` and `version`",
            ),
            ("fail-on = \"severe\"\n", 1, "unknown variant `severe`"),
        ];
        for (text, line, needle) in cases {
            let error = Config::parse("x.toml", text).unwrap_err();
            assert_eq!(error.line, line, "{text:?}: {error}");
            assert!(error.message.contains(needle), "{text:?}: {error}");
        }
    }
}
