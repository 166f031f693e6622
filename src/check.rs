//! The decision: which advisories become findings, and which findings block.
//!
//! Malware always blocks, unless a team has recorded an exact false positive for it (an
//! `[[ignore]]` with `malicious = true`, the package and the version), which is said on every
//! run, or the package is its own (private, as [`crate::private`] decides: such packages are
//! not looked up at all, so this only guards). A vulnerability blocks when its severity reaches
//! `fail-on` (an unknown severity blocks whenever `fail-on` is not `malicious`), unless it is
//! ignored, belongs to a development-only package under `dev = "warn"`, or the package is
//! private.

use crate::advisory::Advisory;
use crate::config::{DevPolicy, FailOn, Ignore};
use crate::package::Package;
use crate::report::{Finding, Problem, ProblemKind};
use crate::severity::{self, Level};
use std::collections::{BTreeMap, BTreeSet};

/// What blocks.
#[derive(Clone, Copy, Debug)]
pub struct Policy<'a> {
    /// The least severe vulnerability that blocks.
    pub fail_on: FailOn,
    /// Whether vulnerabilities of development-only packages block.
    pub dev: DevPolicy,
    /// Accepted advisories.
    pub ignores: &'a [Ignore],
    /// Today, as (year, month, day), for `until`.
    pub today: (u16, u8, u8),
    /// Whether to report ignores that matched nothing (only meaningful when the whole project
    /// was checked).
    pub report_unused: bool,
}

impl Default for Policy<'_> {
    fn default() -> Self {
        Policy {
            fail_on: FailOn::Malicious,
            dev: DevPolicy::Block,
            ignores: &[],
            today: (1970, 1, 1),
            report_unused: false,
        }
    }
}

/// What the lockfiles say about each package besides its name and version.
#[derive(Clone, Debug, Default)]
pub struct Locked {
    /// The lockfiles that lock each package.
    pub lockfiles: BTreeMap<Package, Vec<String>>,
    /// Packages every lockfile locks for development only.
    pub dev_only: BTreeSet<Package>,
    /// Packages that are the project's own ([`crate::private`]): public advisories are not
    /// about them.
    pub private: BTreeSet<Package>,
}

/// Findings and the problems the ignores raise.
#[derive(Debug, Default)]
pub struct Decided {
    /// One per (advisory, package, lockfile).
    pub findings: Vec<Finding>,
    /// Expired, unused or malware ignores.
    pub problems: Vec<Problem>,
}

fn expired(ignore: &Ignore, today: (u16, u8, u8)) -> bool {
    ignore
        .until
        .and_then(|until| until.date)
        .is_some_and(|date| (date.year, date.month, date.day) < today)
}

/// Decides on the advisories OSV named for `packages` (`ids`, in the same order).
pub fn decide(
    packages: &[Package],
    ids: &[Vec<String>],
    advisories: &BTreeMap<String, Advisory>,
    locked: &Locked,
    policy: Policy<'_>,
) -> Decided {
    let mut decided = Decided::default();
    let mut uses = vec![IgnoreUse::default(); policy.ignores.len()];
    for (package, ids) in packages.iter().zip(ids) {
        for id in ids {
            let unavailable;
            let (advisory, unread) = match advisories.get(id) {
                Some(advisory) => (advisory, false),
                None => {
                    unavailable = unread_record(id);
                    (&unavailable, true)
                }
            };
            // A package of unknown version (an unpinned requirement) only answers for malware:
            // a vulnerability of some version says nothing about the one that gets installed.
            // An unread record cannot be told apart from malware, so it is decided as malware.
            let malicious = advisory.is_malicious() || unread;
            if advisory.withdrawn.is_some() || package.version.is_empty() && !malicious {
                continue;
            }
            let severity = severity::of(advisory, package);
            let private = locked.private.contains(package);
            let names: Vec<&str> = std::iter::once(advisory.id.as_str())
                .chain(advisory.aliases.iter().map(String::as_str))
                .collect();
            let ignored_by = matching_ignore(&policy, &names, malicious, package, &mut uses);
            let dev_only = locked.dev_only.contains(package);
            let severe_enough = match (policy.fail_on, severity.level) {
                (FailOn::Malicious, _) => false,
                (FailOn::Any, _) | (_, None) => true,
                (threshold, Some(level)) => level >= minimum(threshold),
            };
            let blocking = ignored_by.is_none()
                && !private
                && (malicious || severe_enough && !(dev_only && policy.dev == DevPolicy::Warn));
            for lockfile in locked.lockfiles.get(package).into_iter().flatten() {
                let mut finding = Finding::new(advisory, package, lockfile, blocking);
                finding.severity = severity.clone();
                finding.dev = dev_only;
                finding.not_applicable = private;
                finding.record_unavailable = unread;
                if let Some(ignore) = ignored_by {
                    finding.ignored = true;
                    finding.reason = Some(crate::sanitize::clean(&ignore.reason).into_owned());
                }
                decided.findings.push(finding);
            }
            if let (true, Some(ignore)) = (malicious, ignored_by) {
                decided.problems.push(Problem::new(
                    ProblemKind::MalwareIgnored,
                    &package.to_string(),
                    &format!(
                        "malware advisory {} is ignored for {package} by the configuration: {}",
                        advisory.id, ignore.reason
                    ),
                    false,
                ));
            }
        }
    }
    decided.problems.extend(ignore_problems(&policy, &uses));
    // Malware first, then by lockfile and package, so the worst news is read first.
    decided.findings.sort_by(|a, b| {
        (!a.malicious, &a.lockfile, &a.package, &a.id).cmp(&(
            !b.malicious,
            &b.lockfile,
            &b.package,
            &b.id,
        ))
    });
    decided
}

/// What became of one configured ignore while deciding.
#[derive(Clone, Copy, Debug, Default)]
struct IgnoreUse {
    /// It named an advisory that was found.
    used: bool,
    /// It named malware without the exact package and version, so it did not apply.
    refused: bool,
}

/// The ignore that covers the advisory known as `names` for `package`, if one does; records in
/// `uses` which ignores were used or refused.
fn matching_ignore<'p>(
    policy: &Policy<'p>,
    names: &[&str],
    malicious: bool,
    package: &Package,
    uses: &mut [IgnoreUse],
) -> Option<&'p Ignore> {
    for (index, ignore) in policy.ignores.iter().enumerate() {
        if !names.contains(&ignore.id.as_str()) {
            continue;
        }
        uses[index].used = true;
        if expired(ignore, policy.today) {
            continue;
        }
        if malicious {
            let exact = ignore.malicious
                && ignore.package.as_deref() == Some(package.name.as_str())
                && ignore.version.as_deref() == Some(package.version.as_str());
            if !exact {
                uses[index].refused = true;
                continue;
            }
        }
        return Some(ignore);
    }
    None
}

/// The configuration's ignores that expired, were refused or (when asked) matched nothing.
fn ignore_problems(policy: &Policy<'_>, uses: &[IgnoreUse]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (ignore, IgnoreUse { used, refused }) in policy.ignores.iter().zip(uses) {
        let (kind, message) = if *used && expired(ignore, policy.today) {
            (
                ProblemKind::IgnoreExpired,
                format!(
                    "the ignore of {} expired on {} and no longer applies",
                    ignore.id,
                    ignore
                        .until
                        .map(|until| until.to_string())
                        .unwrap_or_default()
                ),
            )
        } else if *refused {
            (
                ProblemKind::IgnoreRefused,
                format!(
                    "{} is malware: an ignore needs `malicious = true` and the exact `package` \
                     and `version` it covers, so it does not apply",
                    ignore.id
                ),
            )
        } else if !used && policy.report_unused {
            (
                ProblemKind::IgnoreUnused,
                format!("the ignore of {} matched no advisory: remove it", ignore.id),
            )
        } else {
            continue;
        };
        problems.push(Problem::new(kind, "configuration", &message, false));
    }
    problems
}

/// What stands for a record OSV named but that could not be read.
fn unread_record(id: &str) -> Advisory {
    Advisory {
        id: id.to_string(),
        summary: Some(
            "the record could not be fetched, so it cannot be told apart from malware: \
             blocked until it can be read"
                .to_string(),
        ),
        ..Advisory::default()
    }
}

fn minimum(threshold: FailOn) -> Level {
    match threshold {
        FailOn::Low => Level::Low,
        FailOn::Medium => Level::Medium,
        FailOn::High => Level::High,
        FailOn::Critical | FailOn::Malicious | FailOn::Any => Level::Critical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::Ecosystem;

    fn advisory(id: &str, aliases: &[&str], withdrawn: bool) -> Advisory {
        Advisory {
            id: id.into(),
            aliases: aliases.iter().map(|alias| alias.to_string()).collect(),
            summary: Some(format!("summary of {id}")),
            withdrawn: withdrawn.then(|| "2026-01-01T00:00:00Z".into()),
            ..Advisory::default()
        }
    }

    #[test]
    fn malware_blocks_vulnerabilities_block_only_when_asked_withdrawn_never_counts() {
        let packages = vec![
            Package::new(Ecosystem::Npm, "evil", "1.0.0"),
            Package::new(Ecosystem::Npm, "lodash", "4.17.20"),
            Package::new(Ecosystem::PyPI, "fastapi", "0.1.0"),
        ];
        let ids = vec![
            vec!["MAL-2025-1".to_string()],
            vec!["GHSA-x".to_string(), "GHSA-alias-mal".to_string()],
            vec!["MAL-2026-4750".to_string()],
        ];
        let advisories: BTreeMap<_, _> = [
            advisory("MAL-2025-1", &[], false),
            advisory("GHSA-x", &["CVE-1"], false),
            advisory("GHSA-alias-mal", &["MAL-2025-2"], false),
            advisory("MAL-2026-4750", &[], true),
        ]
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect();
        let locked = Locked {
            lockfiles: packages
                .iter()
                .map(|p| (p.clone(), vec!["package-lock.json".to_string()]))
                .collect(),
            ..Locked::default()
        };

        let lenient = decide(&packages, &ids, &advisories, &locked, Policy::default());
        let summary: Vec<_> = lenient
            .findings
            .iter()
            .map(|f| (f.id.as_str(), f.malicious, f.blocking))
            .collect();
        assert_eq!(
            summary,
            [
                ("MAL-2025-1", true, true),
                ("GHSA-alias-mal", true, true),
                ("GHSA-x", false, false)
            ]
        );

        let strict = Policy {
            fail_on: FailOn::Any,
            ..Policy::default()
        };
        let strict = decide(&packages, &ids, &advisories, &locked, strict);
        assert!(strict.findings.iter().all(|f| f.blocking));
    }

    #[test]
    fn a_named_record_that_could_not_be_read_blocks_as_malware() {
        // OSV named these ids, but their records are not among the advisories.
        let packages = vec![
            Package::new(Ecosystem::Npm, "debug", "4.4.2"),
            Package::new(Ecosystem::Npm, "minimist", "1.2.5"),
            Package::new(Ecosystem::PyPI, "beautifulsup", ""),
        ];
        let ids = vec![
            vec!["MAL-2025-46974".to_string()],
            vec!["GHSA-xvch-5gv4-984h".to_string()],
            vec!["GHSA-unpinned".to_string()],
        ];
        let locked = Locked {
            lockfiles: packages
                .iter()
                .map(|p| (p.clone(), vec!["lockfile".to_string()]))
                .collect(),
            ..Locked::default()
        };
        let decided = decide(
            &packages,
            &ids,
            &BTreeMap::new(),
            &locked,
            Policy::default(),
        );
        let summary: Vec<_> = decided
            .findings
            .iter()
            .map(|f| (f.id.as_str(), f.malicious, f.blocking, f.record_unavailable))
            .collect();
        assert_eq!(
            summary,
            [
                ("MAL-2025-46974", true, true, true),
                ("GHSA-xvch-5gv4-984h", false, true, true),
                ("GHSA-unpinned", false, true, true),
            ]
        );
    }
}
