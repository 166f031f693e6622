//! The outcome of a check: findings and problems, the exit decision, and its text and JSON forms.
//!
//! Every string that came from a lockfile, a file name or OSV is cleaned of terminal control
//! characters when it enters the report, so no renderer can forget to.

use crate::package::{NonRegistry, Package};
use crate::sanitize::clean;
use serde::Serialize;
use std::fmt::Write as _;

/// Characters kept of one string of an OSV record (summary, alias, fixed version): a record
/// may be 4 MiB of one string, which is no report line.
const MAX_FIELD_CHARS: usize = 300;

/// `text` cleaned of terminal controls and cut to [`MAX_FIELD_CHARS`].
fn clip(text: &str) -> String {
    clean(text).chars().take(MAX_FIELD_CHARS).collect()
}

/// Version of the JSON report; fields may be added, never renamed.
pub const JSON_VERSION: u32 = 1;

/// What was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Lockfile changes staged for commit.
    Staged,
    /// Every lockfile tracked in the index.
    All,
    /// The commits a `git push` sends.
    PrePush,
}

/// One advisory that affects one locked package.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The OSV id.
    pub id: String,
    /// Other ids of the same advisory.
    pub aliases: Vec<String>,
    /// Malware (`MAL-` id or alias) rather than a vulnerability.
    pub malicious: bool,
    /// Whether this finding blocks.
    pub blocking: bool,
    /// The advisory's summary.
    pub summary: String,
    /// The affected package.
    pub package: Package,
    /// The lockfile that locks it.
    pub lockfile: String,
    /// Versions the advisory says fix it.
    pub fixed: Vec<String>,
    /// How severe it is for this package.
    pub severity: crate::severity::Severity,
    /// Accepted by an `[[ignore]]` of the configuration.
    pub ignored: bool,
    /// Why it was accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The package resolves from a private registry: this public advisory is not about it.
    pub not_applicable: bool,
    /// The package is only needed for development.
    pub dev: bool,
    /// OSV named the record but it could not be read: decided as malware.
    pub record_unavailable: bool,
    /// The chain of dependencies from the project to the package (`name@version` steps ending
    /// with it), where the lockfile records its edges.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependency_path: Vec<String>,
    /// The line of the package's entry in the lockfile, when found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Pre-push: the pushed commit that added it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Pre-push: that commit's subject (the first line of its message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_subject: Option<String>,
}

impl Finding {
    /// A finding, with every untrusted string cleaned.
    pub fn new(
        advisory: &crate::advisory::Advisory,
        package: &Package,
        lockfile: &str,
        blocking: bool,
    ) -> Self {
        let summary = advisory
            .summary
            .as_deref()
            .or(advisory.details.as_deref())
            .unwrap_or("(no summary)");
        Finding {
            id: clean(&advisory.id).into_owned(),
            aliases: advisory.aliases.iter().map(|alias| clip(alias)).collect(),
            malicious: advisory.is_malicious(),
            blocking,
            summary: clip(summary),
            package: Package::new(
                package.ecosystem,
                clean(&package.name).into_owned(),
                clean(&package.version).into_owned(),
            ),
            lockfile: clean(lockfile).into_owned(),
            fixed: advisory
                .fixed_versions(package)
                .iter()
                .map(|version| clip(version))
                .collect(),
            severity: crate::severity::of(advisory, package),
            ignored: false,
            reason: None,
            not_applicable: false,
            dev: false,
            record_unavailable: false,
            dependency_path: Vec::new(),
            line: None,
            commit: None,
            commit_subject: None,
        }
    }

    /// The advisory's page on osv.dev.
    pub fn url(&self) -> String {
        format!("https://osv.dev/vulnerability/{}", self.id)
    }
}

/// What kind of problem lockgate found besides advisories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// OSV could not be asked (blocking unless lockgate was told to fail open).
    AdvisorySourceUnavailable,
    /// The offline database holds nothing for an ecosystem whose packages were to be checked.
    AdvisoryDataMissing,
    /// The offline database is older than the configured number of days.
    AdvisoryDataStale,
    /// A requirement that does not pin one version: what gets installed cannot be checked.
    UnpinnedRequirement,
    /// The check itself could not run (not a repository, an unreadable index or configuration,
    /// an unresolved conflict): the run's exit code is 2.
    CouldNotCheck,
    /// A lockfile entry whose version its package manager would not read as one exact version:
    /// it cannot be checked.
    VersionUnreadable,
    /// A malware advisory the configuration ignores as a known false positive.
    MalwareIgnored,
    /// An ignore whose `until` has passed.
    IgnoreExpired,
    /// An ignore that matched no advisory.
    IgnoreUnused,
    /// An ignore of malware without the exact package and version: it does not apply.
    IgnoreRefused,
    /// A project with dependencies has no usable npm lockfile (absent or empty).
    LockfileMissing,
    /// The lockfile npm would use cannot be read (not JSON, merge-conflict markers, not UTF-8).
    LockfileUnreadable,
    /// The lockfile and package.json disagree the way `npm ci` checks them, or the lockfile
    /// would install something other than what package.json asks for.
    LockfileOutOfSync,
    /// A lockfile is committed without the package.json npm needs beside it.
    PackageJsonMissing,
    /// A package.json (of the project or a workspace) is not valid JSON of the right shape.
    PackageJsonUnreadable,
    /// A pyproject.toml that is not valid TOML.
    PyprojectUnreadable,
    /// A composer.json that is not a JSON object.
    ComposerJsonUnreadable,
    /// A package.json that npm refuses as written (an override that conflicts with a direct
    /// dependency).
    PackageJsonInvalid,
    /// A symlink or a submodule (gitlink) where a lockfile or manifest belongs: what lockgate
    /// would check is not what the package manager reads.
    LockfileNotAFile,
    /// A package whose `engines.node` excludes the Node.js the project declares, where the
    /// install checks it (npm and pnpm with `engine-strict`, yarn 1); not blocking when no
    /// Node.js version is declared and it cannot be judged.
    EngineUnsupported,
    /// A package version published less than the minimum release age ago.
    ReleaseTooRecent,
    /// A package version its registry no longer serves (unpublished, replaced, yanked).
    VersionPulled,
    /// A package version whose publish time could not be had: its release age is not checked
    /// (blocking, exit 2, unless `on-unreachable` says warn).
    ReleaseAgeUnchecked,
    /// A requirement without `--hash` in a requirements file that pins hashes (pip refuses it).
    HashMissing,
    /// An entry downloaded over plain `http:`.
    DownloadInsecure,
    /// Packages a change adds that run an install script (said, not blocking by default).
    InstallScriptNew,
    /// An upgrade to a version that runs an install script where the old one ran none.
    InstallScriptGained,
    /// A version a lockfile keeps with another checksum than before: a tampered lockfile (a
    /// version's tarball never changes).
    ChecksumChanged,
    /// An entry downloaded from a host that is neither a configured registry nor one the
    /// lockfile already used.
    DownloadHost,
    /// A version a lockfile keeps with another download URL.
    DownloadUrlChanged,
    /// A download URL whose path names another package or version than its entry.
    DownloadNameMismatch,
    /// A git, tarball or path source below the top level (no manifest asks for it).
    SourceDeep,
    /// A git, tarball or path source a manifest asks for (said, not blocking by default).
    SourceDirect,
    /// A git source that follows a branch or tag rather than one commit.
    GitRefUnpinned,
    /// A new registry entry without a checksum, or with only SHA-1.
    ChecksumMissing,
    /// A new Python package offered only as a source distribution: its build runs at install.
    SdistOnly,
    /// A package name private by configuration, resolved from a public registry.
    DependencyConfusion,
    /// An upgrade to a version published with less evidence than the one it replaces: without
    /// the provenance or the trusted publisher the old version had.
    TrustDowngrade,
    /// A CI or build step that installs dependencies without enforcing the lockfile
    /// (`npm install` where `npm ci` is meant).
    CiInstallUnlocked,
    /// A CI or build file that cannot be linted (not valid YAML, too large).
    CiFileUnreadable,
}

impl ProblemKind {
    /// Whether it means packages went without an advisory check.
    pub fn is_unchecked(self) -> bool {
        matches!(
            self,
            ProblemKind::AdvisorySourceUnavailable | ProblemKind::AdvisoryDataMissing
        )
    }
}

/// A problem that is not an advisory: found by lockgate itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What kind.
    pub kind: ProblemKind,
    /// The file it concerns (or the URL of the service).
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
    /// Whether it blocks.
    pub blocking: bool,
    /// 1-based line in the file, when the problem stands at one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column on that line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The rule that found it, where rules are named (the CI lint's `npm`, `yarn`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
}

impl Problem {
    /// A problem, with every untrusted string cleaned.
    pub fn new(kind: ProblemKind, path: &str, message: &str, blocking: bool) -> Self {
        Problem {
            kind,
            path: clean(path).into_owned(),
            message: clean(message).into_owned(),
            blocking,
            rule: None,
            line: None,
            column: None,
        }
    }

    /// The same problem, standing at `line` and `column` of its file (0 for unknown).
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = (line > 0).then_some(line);
        self.column = (line > 0 && column > 0).then_some(column);
        self
    }

    /// `path`, `path:line` or `path:line:column`, as compilers name a place.
    pub fn place(&self) -> String {
        match (self.line, self.column) {
            (Some(line), Some(column)) => format!("{}:{line}:{column}", self.path),
            (Some(line), None) => format!("{}:{line}", self.path),
            _ => self.path.clone(),
        }
    }
}

impl Problem {
    /// The file of the repository it concerns, if it concerns one (not a service's URL, the
    /// offline database's folder, the configuration or the repository as a whole).
    pub fn repository_file(&self) -> Option<&str> {
        let elsewhere = matches!(
            self.kind,
            ProblemKind::AdvisorySourceUnavailable
                | ProblemKind::AdvisoryDataMissing
                | ProblemKind::AdvisoryDataStale
                | ProblemKind::MalwareIgnored
                | ProblemKind::IgnoreExpired
                | ProblemKind::IgnoreUnused
                | ProblemKind::IgnoreRefused
        );
        let path = self.path.as_str();
        let file =
            !path.is_empty() && path != "." && !path.starts_with('/') && !path.contains("://");
        (!elsewhere && file).then_some(path)
    }
}

/// A dependency that is not from a registry, with the lockfile that brings it in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NonRegistryEntry {
    /// The lockfile.
    pub lockfile: String,
    /// The dependency.
    #[serde(flatten)]
    pub dependency: NonRegistry,
}

/// Everything one run found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// What was checked.
    pub mode: Mode,
    /// Lockfiles read.
    pub lockfiles: Vec<String>,
    /// Packages checked: asked about and answered (each counted once, however many lockfiles
    /// lock it).
    pub checked: usize,
    /// Packages that were to be checked but got no answer (OSV or the offline database could
    /// not be asked); they are never counted as checked.
    pub unchecked: usize,
    /// Packages that are the project's own (resolved from a private registry, or private by
    /// configuration): never named to OSV or any public registry, so not checked publicly.
    pub private: usize,
    /// Advisories that affect checked packages.
    pub findings: Vec<Finding>,
    /// Problems lockgate found itself.
    pub problems: Vec<Problem>,
    /// Dependencies that could not be asked about by version.
    pub non_registry: Vec<NonRegistryEntry>,
    /// The offline databases that answered, when any did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub offline_databases: Vec<DatabaseNote>,
    /// The configuration file read, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// What was read, when it is not what the mode says: `HEAD` for `--all` in a bare
    /// repository, which has no index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<String>,
    /// The commit being checked concludes a merge (git's pre-merge-commit hook, or a commit
    /// after a conflicted merge): the verdict is the merge's.
    #[serde(skip)]
    pub merging: bool,
}

/// An offline database that answered, and how old it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DatabaseNote {
    /// OSV's ecosystem name.
    pub ecosystem: String,
    /// When it was last brought up to date (RFC 3339, UTC).
    pub updated: String,
    /// Whole days since.
    pub age_days: u64,
    /// Records it holds.
    pub records: usize,
}

impl DatabaseNote {
    /// The note for a database whose `meta.json` says `meta`, at time `now` (Unix seconds).
    pub fn new(
        ecosystem: crate::package::Ecosystem,
        meta: &crate::offline::Meta,
        now: u64,
    ) -> Self {
        DatabaseNote {
            ecosystem: ecosystem.as_osv().to_string(),
            updated: rfc3339(meta.updated),
            age_days: now.saturating_sub(meta.updated) / 86_400,
            records: meta.records,
        }
    }
}

/// The UTC date of Unix seconds, as (year, month, day).
pub fn civil_date(seconds: u64) -> (u16, u8, u8) {
    let text = rfc3339(seconds);
    let part = |range: std::ops::Range<usize>| text[range].parse().unwrap_or(0);
    (part(0..4), part(5..7) as u8, part(8..10) as u8)
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (the civil-from-days algorithm of H. Hinnant).
pub fn rfc3339(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Unix seconds of an RFC 3339 time (`2026-12-01T08:00:00Z`, `…00.123+02:00`, or a date alone
/// for its midnight UTC); `None` for anything else or a time before 1970 (days-from-civil, H.
/// Hinnant).
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let text = text.trim();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if text.get(4..5)? != "-"
        || text.get(7..8)? != "-"
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
    {
        return None;
    }
    let mut seconds_of_day = 0;
    let mut offset = 0;
    if text.len() > 10 {
        if !matches!(text.get(10..11)?, "T" | "t" | " ")
            || text.get(13..14)? != ":"
            || text.get(16..17)? != ":"
        {
            return None;
        }
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        seconds_of_day = hour * 3600 + minute * 60 + second;
        let mut zone = &text[19..];
        if let Some(fraction) = zone.strip_prefix('.') {
            zone = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
        }
        offset = match zone {
            "Z" | "z" | "" => 0,
            _ => {
                let sign = match zone.get(0..1)? {
                    "+" => 1,
                    "-" => -1,
                    _ => return None,
                };
                let hours: i64 = zone.get(1..3)?.parse().ok()?;
                let minutes: i64 = zone.get(4..6)?.parse().ok()?;
                sign * (hours * 3600 + minutes * 60)
            }
        };
    }
    let year_shifted = if month <= 2 { year - 1 } else { year };
    let era = year_shifted.div_euclid(400);
    let year_of_era = year_shifted - era * 400;
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    u64::try_from(days * 86_400 + seconds_of_day - offset).ok()
}

/// How the process should end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Nothing blocks (exit 0).
    Allowed,
    /// A finding or problem blocks (exit 1).
    Blocked,
    /// The advisory source could not be asked and lockgate fails closed (exit 2).
    Unchecked,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Allowed => 0,
            ExitStatus::Blocked => 1,
            ExitStatus::Unchecked => 2,
        }
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    /// The lockgate release that made the report (evidence for an audit).
    lockgate: &'static str,
    /// When the check ran, UTC.
    checked_at: String,
    blocked: bool,
    #[serde(flatten)]
    report: &'a Report,
}

impl Report {
    /// An empty report for `mode`.
    pub fn new(mode: Mode) -> Self {
        Report {
            mode,
            lockfiles: Vec::new(),
            checked: 0,
            unchecked: 0,
            private: 0,
            findings: Vec::new(),
            problems: Vec::new(),
            non_registry: Vec::new(),
            offline_databases: Vec::new(),
            config: None,
            read: None,
            merging: false,
        }
    }

    /// Whether anything blocks.
    pub fn blocked(&self) -> bool {
        self.findings.iter().any(|finding| finding.blocking)
            || self.problems.iter().any(|problem| problem.blocking)
    }

    /// Whether some packages could not be checked and that blocks (lockgate failing closed).
    fn advisories_unchecked(&self) -> bool {
        self.problems
            .iter()
            .any(|problem| problem.blocking && problem.kind.is_unchecked())
    }

    /// The exit decision.
    pub fn exit_status(&self) -> ExitStatus {
        // A lockfile that cannot be read could not be checked, however much else was.
        let unreadable = self.problems.iter().any(|problem| {
            problem.blocking
                && matches!(
                    problem.kind,
                    ProblemKind::LockfileUnreadable | ProblemKind::ReleaseAgeUnchecked
                )
        });
        if self.advisories_unchecked() || unreadable {
            ExitStatus::Unchecked
        } else if self.blocked() {
            ExitStatus::Blocked
        } else {
            ExitStatus::Allowed
        }
    }

    /// The JSON report (see DESIGN.md), one line.
    pub fn to_json(&self) -> String {
        let json = JsonReport {
            version: JSON_VERSION,
            lockgate: env!("CARGO_PKG_VERSION"),
            checked_at: rfc3339(crate::offline::now()),
            blocked: self.blocked(),
            report: self,
        };
        serde_json::to_string_pretty(&json).expect("the report is plain data")
    }

    /// The human report, for stderr (empty when nothing was there to check), with ANSI colour
    /// when `color` (a terminal that did not say NO_COLOR).
    pub fn to_text_in(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let mut out = String::new();
        if self.lockfiles.is_empty() && self.problems.is_empty() {
            return out;
        }
        for finding in &self.findings {
            let what = if finding.malicious {
                paint("1;31", "is MALWARE")
            } else if finding.record_unavailable {
                paint(
                    "1;31",
                    "may be MALWARE (OSV names a record that could not be read)",
                )
            } else {
                "has a known vulnerability".to_string()
            };
            let _ = write!(
                out,
                "lockgate: {}: {} {what}",
                finding.lockfile, finding.package
            );
            match (&finding.commit, &finding.commit_subject) {
                (Some(commit), Some(subject)) => {
                    let _ = write!(out, " (added in commit {commit} \"{subject}\")");
                }
                (Some(commit), None) => {
                    let _ = write!(out, " (added in commit {commit})");
                }
                _ => {}
            }
            out.push('\n');
            if finding.dependency_path.len() > 1 {
                let _ = writeln!(
                    out,
                    "  brought in by: {}",
                    finding.dependency_path.join(" > ")
                );
            }
            let _ = write!(out, "  {}: {}", finding.id, finding.summary);
            if !finding.fixed.is_empty() {
                let _ = write!(out, " (fixed in {})", finding.fixed.join(", "));
            }
            if !finding.malicious && !finding.record_unavailable {
                let severity = &finding.severity;
                let _ = match (severity.level, severity.score) {
                    (Some(level), Some(score)) => {
                        write!(
                            out,
                            "\n  severity: {} ({} {score:.1})",
                            level.as_str(),
                            severity.source
                        )
                    }
                    (Some(level), None) => {
                        write!(out, "\n  severity: {} (database label)", level.as_str())
                    }
                    (None, _) => write!(out, "\n  severity: unknown (the advisory gives none)"),
                };
                if finding.dev {
                    out.push_str(", development only");
                }
                if finding.blocking {
                    let fix = match finding.fixed.first() {
                        Some(version) => {
                            format!("upgrade {} to {version} or later", finding.package.name)
                        }
                        None => "no fixed version is known: replace the package".to_string(),
                    };
                    let _ = write!(
                        out,
                        "\n  to unblock: {fix}; or accept it with a reason in .lockgate.toml: \
                         [[ignore]] id = \"{}\" reason = \"…\"",
                        finding.id
                    );
                }
            }
            if finding.ignored {
                let _ = write!(
                    out,
                    "\n  {}: {}",
                    paint("33", "ignored by the configuration"),
                    finding.reason.as_deref().unwrap_or_default()
                );
            }
            if finding.not_applicable {
                let _ = write!(out, "\n  not applicable (private registry)");
            }
            let _ = writeln!(out, "\n  {}", finding.url());
        }
        for entry in &self.non_registry {
            let dependency = &entry.dependency;
            let _ = writeln!(
                out,
                "lockgate: {}: {} comes from {} ({}), not a registry; OSV cannot check it, review it yourself",
                entry.lockfile,
                dependency.name,
                dependency.kind.as_str(),
                dependency.source,
            );
        }
        for problem in &self.problems {
            let label = if problem.blocking {
                paint("31", "error")
            } else {
                paint("33", "warning")
            };
            let _ = writeln!(
                out,
                "lockgate: {label}: {}: {}",
                problem.place(),
                problem.message
            );
        }
        let out_of_sync: std::collections::BTreeSet<&str> = self
            .problems
            .iter()
            .filter(|problem| problem.kind == ProblemKind::LockfileOutOfSync)
            .map(|problem| problem.path.as_str())
            .collect();
        for path in out_of_sync {
            let (folder, name) = path
                .rsplit_once('/')
                .unwrap_or(("the repository root", path));
            let command = match name {
                "yarn.lock" => "yarn install",
                "pnpm-lock.yaml" => "pnpm install",
                "bun.lock" => "bun install",
                "package-lock.json" | "npm-shrinkwrap.json" => "npm install",
                // Python lockfiles: the problem's own message names the command.
                _ => continue,
            };
            let _ = if self.mode == Mode::PrePush {
                writeln!(
                    out,
                    "  {path} is out of sync with its package.json: run `{command}` in {folder}, \
                     commit {path} (or amend the commit with it), and push again"
                )
            } else {
                writeln!(
                    out,
                    "  {path} is out of sync with its package.json: run `{command}` in {folder} \
                     and stage {path}"
                )
            };
        }
        for database in &self.offline_databases {
            let _ = writeln!(
                out,
                "lockgate: answered from the offline database of {} ({} records, updated {}, {})",
                database.ecosystem,
                database.records,
                &database.updated[..10],
                match database.age_days {
                    0 => "today".to_string(),
                    1 => "1 day ago".to_string(),
                    days => format!("{days} days ago"),
                }
            );
        }
        if self.private > 0 {
            let _ = writeln!(
                out,
                "lockgate: {} not sent to OSV or any public registry (resolved from a private \
                 registry, or private by configuration): {} yours",
                plural(self.private, "private package was", "private packages were"),
                if self.private == 1 {
                    "its name is"
                } else {
                    "their names are"
                },
            );
        }
        if let Some(config) = &self.config {
            let _ = writeln!(out, "lockgate: configuration: {config}");
        }
        if let Some(read) = &self.read {
            let _ = writeln!(
                out,
                "lockgate: a bare repository has no index: read the lockfiles of {read}"
            );
        }
        let verdict = self.verdict();
        out.push_str(&if self.blocked() {
            paint("1;31", &verdict)
        } else {
            verdict
        });
        out.push('\n');
        out
    }

    fn verdict(&self) -> String {
        let counted = |f: &&Finding| !f.ignored && !f.not_applicable;
        let malware: Vec<&str> = unique(
            self.findings
                .iter()
                .filter(|f| f.malicious && f.blocking)
                .map(|f| f.id.as_str()),
        );
        let blocking_vulns = unique(
            self.findings
                .iter()
                .filter(|f| !f.malicious && f.blocking)
                .map(|f| f.id.as_str()),
        )
        .len();
        let reported_vulns = unique(
            self.findings
                .iter()
                .filter(|f| !f.malicious)
                .filter(counted)
                .map(|f| f.id.as_str()),
        )
        .len();
        let what = match self.mode {
            Mode::Staged if self.merging => "merge",
            Mode::Staged => "commit",
            Mode::All => "check",
            Mode::PrePush => "push",
        };
        let packages = plural(self.checked, "package", "packages");
        if self.blocked() {
            let mut reasons = Vec::new();
            if !malware.is_empty() {
                reasons.push(format!(
                    "{} ({})",
                    plural(malware.len(), "malware advisory", "malware advisories"),
                    malware.join(", ")
                ));
            }
            if blocking_vulns > 0 {
                reasons.push(format!(
                    "{} at or above the fail-on severity",
                    plural(blocking_vulns, "vulnerability", "vulnerabilities")
                ));
            }
            if self.advisories_unchecked() {
                reasons.push(format!(
                    "no advisory check of {}",
                    plural(self.unchecked, "package", "packages")
                ));
            }
            let unreadable = self
                .problems
                .iter()
                .filter(|p| p.blocking && p.kind == ProblemKind::LockfileUnreadable)
                .count();
            if unreadable > 0 {
                reasons.push(format!(
                    "{} could not be read, so not checked",
                    plural(unreadable, "lockfile", "lockfiles")
                ));
            }
            let blocking_problems = self
                .problems
                .iter()
                .filter(|p| {
                    p.blocking
                        && !p.kind.is_unchecked()
                        && p.kind != ProblemKind::LockfileUnreadable
                })
                .count();
            if blocking_problems > 0 {
                reasons.push(plural(blocking_problems, "problem", "problems"));
            }
            let mut line = format!("lockgate: {what} BLOCKED: {}", reasons.join(", "));
            if self.mode == Mode::PrePush && malware.is_empty() && blocking_vulns > 0 {
                line.push_str(
                    ".\n  Upgrade it in a new commit, or in the commit that added it (`git commit \
                     --fixup <commit>`, then `git rebase -i --autosquash`), then push again",
                );
            }
            if !malware.is_empty() {
                line.push_str(if self.mode == Mode::PrePush {
                    ".\n  A pushed commit adds it, and a later commit or a revert leaves it in the \
                     history you push: rewrite the commits that carry it (`git rebase -i`: drop \
                     them, or edit them and `git commit --amend`; undo a merge that brings it in \
                     until its branch is rewritten), then push again. If it was ever installed, \
                     treat that machine as compromised: its install scripts have run"
                } else {
                    ".\n  Remove the malicious package from the lockfile (and what depends on it). If it \
                     was ever installed, treat that machine as compromised: its install scripts \
                     have run"
                });
            }
            return line;
        }
        let offline = if self.offline_databases.is_empty() {
            ""
        } else {
            " (against the offline database)"
        };
        let unchecked = plural(self.unchecked, "package", "packages");
        if self.checked == 0 {
            return if self.unchecked == 0 && self.private > 0 {
                format!("lockgate: {what} allowed: no public registry packages to check")
            } else if self.unchecked == 0 {
                format!("lockgate: {what} allowed: no new registry packages to check")
            } else {
                format!("lockgate: {what} allowed WITHOUT an advisory check of {unchecked} (failing open)")
            };
        }
        // Say what was checked, and every way the answer is less than "clean".
        let ignored = unique(
            self.findings
                .iter()
                .filter(|f| f.ignored || f.not_applicable)
                .map(|f| f.id.as_str()),
        )
        .len();
        let mut parts = vec![format!("{packages} checked{offline}")];
        if self.unchecked > 0 {
            parts.push(format!("{unchecked} NOT checked (failing open)"));
        }
        if reported_vulns > 0 {
            parts.push(format!(
                "{} reported, below the fail-on severity",
                plural(
                    reported_vulns,
                    "known vulnerability",
                    "known vulnerabilities"
                )
            ));
        }
        if ignored > 0 {
            parts.push(format!(
                "{} ignored by the configuration or not applicable",
                plural(ignored, "advisory", "advisories")
            ));
        }
        if parts.len() == 1 {
            parts[0].push_str(", no known malware or vulnerabilities");
        }
        format!("lockgate: {what} allowed: {}", parts.join("; "))
    }
}

fn unique<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = Vec::new();
    for id in ids {
        if !seen.contains(&id) {
            seen.push(id);
        }
    }
    seen
}

/// `1 package`, `2 packages`.
pub(crate) fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_read_back_as_written() {
        for seconds in [0, 951_782_400, 1_764_576_000, 1_798_761_599, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&rfc3339(seconds)), Some(seconds));
        }
        assert_eq!(
            parse_rfc3339("2026-12-01"),
            parse_rfc3339("2026-12-01T00:00:00Z")
        );
        assert_eq!(
            parse_rfc3339("2026-12-01T10:00:00.123+02:00"),
            parse_rfc3339("2026-12-01T08:00:00Z")
        );
        for bad in [
            "",
            "2026-13-01",
            "2026-12-01T25:00:00Z",
            "1969-12-31T23:59:59Z",
            "yesterday",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
