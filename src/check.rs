//! The decision: which advisories become findings, and which findings block.

use crate::advisory::Advisory;
use crate::package::Package;
use crate::report::Finding;
use std::collections::BTreeMap;

/// What blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Block on ordinary vulnerabilities too. Malware always blocks.
    pub fail_on_vuln: bool,
}

/// Findings for `packages`, given OSV's ids per package (same order) and the fetched records.
/// Each package is reported once per lockfile that locks it. Withdrawn records are dropped.
pub fn findings(
    packages: &[Package],
    ids: &[Vec<String>],
    advisories: &BTreeMap<String, Advisory>,
    lockfiles: &BTreeMap<Package, Vec<String>>,
    policy: Policy,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (package, ids) in packages.iter().zip(ids) {
        for id in ids {
            let Some(advisory) = advisories.get(id) else {
                continue;
            };
            // A package of unknown version (an unpinned requirement) only answers for malware:
            // a vulnerability of some version says nothing about the one that gets installed.
            if advisory.withdrawn.is_some()
                || package.version.is_empty() && !advisory.is_malicious()
            {
                continue;
            }
            let blocking = advisory.is_malicious() || policy.fail_on_vuln;
            for lockfile in lockfiles.get(package).into_iter().flatten() {
                findings.push(Finding::new(advisory, package, lockfile, blocking));
            }
        }
    }
    // Malware first, then by lockfile and package, so the worst news is read first.
    findings.sort_by(|a, b| {
        (!a.malicious, &a.lockfile, &a.package, &a.id).cmp(&(
            !b.malicious,
            &b.lockfile,
            &b.package,
            &b.id,
        ))
    });
    findings
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
        let lockfiles: BTreeMap<_, _> = packages
            .iter()
            .map(|p| (p.clone(), vec!["package-lock.json".to_string()]))
            .collect();

        let lenient = findings(&packages, &ids, &advisories, &lockfiles, Policy::default());
        let summary: Vec<_> = lenient
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

        let strict = findings(
            &packages,
            &ids,
            &advisories,
            &lockfiles,
            Policy { fail_on_vuln: true },
        );
        assert!(strict.iter().all(|f| f.blocking));
    }
}
