//! OSV vulnerability records as lockgate uses them, parsed leniently from OSV's JSON schema.

use serde::{Deserialize, Serialize};

/// One OSV record (`/v1/vulns/{id}`), reduced to what lockgate reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Advisory {
    /// The record's id (`MAL-2025-1234`, `GHSA-…`).
    pub id: String,
    /// Other ids for the same issue.
    pub aliases: Vec<String>,
    /// One-line summary.
    pub summary: Option<String>,
    /// Longer description.
    pub details: Option<String>,
    /// RFC 3339 time of the last change.
    pub modified: Option<String>,
    /// Set when the record was retracted; a withdrawn record never blocks.
    pub withdrawn: Option<String>,
    /// The packages and versions it affects.
    pub affected: Vec<Affected>,
    /// Severity scores (CVSS vectors) of the whole record.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityEntry>,
    /// The database's own fields; GitHub's carry a `severity` label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// One `severity[]` entry: a scoring system and its vector.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeverityEntry {
    /// `CVSS_V3`, `CVSS_V4`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector (`CVSS:3.1/AV:N/…`).
    pub score: String,
}

/// One `affected[]` entry of a record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Affected {
    /// The affected package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<AffectedPackage>,
    /// Affected version ranges.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Affected versions, listed one by one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// Severity scores for this package only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityEntry>,
}

/// The package an `affected[]` entry names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AffectedPackage {
    /// OSV ecosystem name (`npm`, `PyPI`, …).
    pub ecosystem: String,
    /// Package name as the ecosystem spells it.
    pub name: String,
}

/// One `ranges[]` entry: a type and its ordered events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Range {
    /// `SEMVER`, `ECOSYSTEM` or `GIT`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `introduced` / `fixed` / `last_affected` / `limit` events.
    pub events: Vec<Event>,
}

/// One range event; exactly one field is set in a well-formed record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Event {
    /// First affected version (inclusive); `"0"` means from the start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// First fixed version (exclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// Last affected version (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    /// Upper bound of the range (exclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

impl Advisory {
    /// Parses one OSV record.
    pub fn from_json(text: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(text)
    }

    /// Malware, not a bug: the id or any alias is an OpenSSF Malicious Packages id (`MAL-`).
    /// Some malware reaches OSV under another id with the `MAL-` id only among the aliases.
    pub fn is_malicious(&self) -> bool {
        std::iter::once(&self.id)
            .chain(&self.aliases)
            .any(|id| id.starts_with("MAL-"))
    }

    /// The fixed versions the record names for `package` (its name matched by the ecosystem's
    /// own rules: PEP 503 for PyPI), without repeats: first those above the locked version, the
    /// nearest first, then the others in version order; what cannot be ordered comes last, in
    /// record order.
    pub fn fixed_versions(&self, package: &crate::package::Package) -> Vec<String> {
        use crate::matching::{compare, normalize_name};
        let ecosystem = package.ecosystem;
        let name = normalize_name(ecosystem, &package.name);
        let mut fixed: Vec<String> = Vec::new();
        let events = self
            .affected
            .iter()
            .filter(|affected| {
                affected.package.as_ref().is_some_and(|named| {
                    named.ecosystem == ecosystem.as_osv()
                        && normalize_name(ecosystem, &named.name) == name
                })
            })
            .flat_map(|affected| &affected.ranges)
            .flat_map(|range| &range.events);
        for version in events.filter_map(|event| event.fixed.as_ref()) {
            if !fixed.contains(version) {
                fixed.push(version.clone());
            }
        }
        let above = |version: &str| {
            compare(ecosystem, version, &package.version)
                .map(|order| order == std::cmp::Ordering::Greater)
        };
        // Stable: versions that cannot be read keep their record order at the end.
        fixed.sort_by(|a, b| {
            let key = |version: &str| match above(version) {
                Some(true) => 0,
                Some(false) => 1,
                None => 2,
            };
            key(a)
                .cmp(&key(b))
                .then_with(|| compare(ecosystem, a, b).unwrap_or(std::cmp::Ordering::Equal))
        });
        fixed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::Ecosystem;

    fn shared(path: &str) -> Vec<u8> {
        let full = format!("{}/../shared/data/osv/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&full).unwrap_or_else(|error| panic!("{full}: {error}"))
    }

    #[test]
    fn every_shared_record_parses() {
        let root = format!("{}/../shared/data/osv", env!("CARGO_MANIFEST_DIR"));
        let mut count = 0;
        for family in [
            "malicious/npm",
            "malicious/pypi",
            "advisories/npm",
            "advisories/pypi",
        ] {
            for entry in std::fs::read_dir(format!("{root}/{family}")).unwrap() {
                let path = entry.unwrap().path();
                let record = Advisory::from_json(&std::fs::read(&path).unwrap())
                    .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
                assert_eq!(
                    record.is_malicious(),
                    family.starts_with("malicious"),
                    "{}",
                    record.id
                );
                count += 1;
            }
        }
        assert_eq!(count, 459);
    }

    #[test]
    fn malicious_by_id_or_alias() {
        // MAL-2025-46974 is the compromised debug@4.4.2 (../shared/data/osv/malicious/npm).
        let record = Advisory::from_json(&shared("malicious/npm/MAL-2025-46974.json")).unwrap();
        assert!(record.is_malicious());
        let alias_only = Advisory {
            id: "GHSA-aaaa-bbbb-cccc".into(),
            aliases: vec!["CVE-2025-1".into(), "MAL-2025-9".into()],
            ..Advisory::default()
        };
        assert!(alias_only.is_malicious());
        let plain =
            Advisory::from_json(&shared("advisories/npm/GHSA-jf85-cpcp-j695.json")).unwrap();
        assert!(!plain.is_malicious());
    }

    #[test]
    fn fixed_versions_of_one_package() {
        // GHSA-jf85-cpcp-j695 lists lodash, lodash-es, lodash-amd, lodash.defaultsdeep.
        let record =
            Advisory::from_json(&shared("advisories/npm/GHSA-jf85-cpcp-j695.json")).unwrap();
        let lodash = crate::package::Package::new(Ecosystem::Npm, "lodash", "4.17.11");
        assert_eq!(record.fixed_versions(&lodash), ["4.17.12"]);
    }

    #[test]
    fn fixed_versions_by_the_ecosystems_name_rules_nearest_above_first() {
        // GHSA-jh3w-4vvf-mjgr names `Django`, fixed in 3.2.20, 4.1.10 and 4.2.3 (record order).
        let record =
            Advisory::from_json(&shared("advisories/pypi/GHSA-jh3w-4vvf-mjgr.json")).unwrap();
        for (name, version, expected) in [
            ("django", "4.1.3", &["4.1.10", "4.2.3", "3.2.20"][..]),
            ("Django", "4.2.1", &["4.2.3", "3.2.20", "4.1.10"][..]),
            ("DJANGO", "3.2.1", &["3.2.20", "4.1.10", "4.2.3"][..]),
            ("django", "", &["3.2.20", "4.1.10", "4.2.3"][..]),
            ("django-x", "4.1.3", &[][..]),
        ] {
            let package = crate::package::Package::new(Ecosystem::PyPI, name, version);
            assert_eq!(
                record.fixed_versions(&package),
                expected,
                "{name} {version}"
            );
        }
        // npm names are matched as written.
        let npm = crate::package::Package::new(Ecosystem::Npm, "Django", "4.1.3");
        assert!(record.fixed_versions(&npm).is_empty());
    }
}
