//! How severe an advisory is for one package: the highest score of its CVSS vectors (v3.x and
//! v4, scored by the `cvss` crate), from the affected entry of that package or the record; else
//! its database's own label (`database_specific.severity`, GitHub's LOW / MODERATE / HIGH /
//! CRITICAL); else unknown.

use crate::advisory::Advisory;
use crate::package::Package;
use serde::Serialize;
use std::str::FromStr;

/// A qualitative severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Scored 0.0.
    None,
    /// 0.1 – 3.9.
    Low,
    /// 4.0 – 6.9.
    Medium,
    /// 7.0 – 8.9.
    High,
    /// 9.0 – 10.0.
    Critical,
}

impl Level {
    /// The level of a CVSS score.
    pub fn of_score(score: f64) -> Level {
        match score {
            s if s >= 9.0 => Level::Critical,
            s if s >= 7.0 => Level::High,
            s if s >= 4.0 => Level::Medium,
            s if s > 0.0 => Level::Low,
            _ => Level::None,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

/// How an advisory's severity was found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Severity {
    /// The level; `None` when the advisory says nothing usable.
    pub level: Option<Level>,
    /// The CVSS base score, when a vector gave one.
    pub score: Option<f64>,
    /// Where it came from: `CVSS_V3`, `CVSS_V4`, `database`, or `unknown`.
    pub source: String,
}

impl Severity {
    fn unknown() -> Severity {
        Severity {
            level: None,
            score: None,
            source: "unknown".into(),
        }
    }
}

/// The severity of `advisory` for `package`.
pub fn of(advisory: &Advisory, package: &Package) -> Severity {
    let own = advisory
        .affected
        .iter()
        .filter(|affected| {
            affected.package.as_ref().is_some_and(|named| {
                named.ecosystem == package.ecosystem.as_osv()
                    && crate::matching::normalize_name(package.ecosystem, &named.name)
                        == crate::matching::normalize_name(package.ecosystem, &package.name)
            })
        })
        .flat_map(|affected| &affected.severity);
    let vectors = own.chain(&advisory.severity);
    let mut best: Option<(f64, String)> = None;
    for entry in vectors {
        let Ok(vector) = cvss::Cvss::from_str(entry.score.trim()) else {
            continue;
        };
        let score = vector.score();
        if best.as_ref().is_none_or(|(known, _)| score > *known) {
            best = Some((score, entry.kind.clone()));
        }
    }
    if let Some((score, source)) = best {
        return Severity {
            level: Some(Level::of_score(score)),
            score: Some(score),
            source,
        };
    }
    let label = advisory
        .database_specific
        .as_ref()
        .and_then(|specific| specific.get("severity"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_ascii_uppercase);
    let level = match label.as_deref() {
        Some("CRITICAL") => Level::Critical,
        Some("HIGH") => Level::High,
        Some("MODERATE" | "MEDIUM") => Level::Medium,
        Some("LOW") => Level::Low,
        _ => return Severity::unknown(),
    };
    Severity {
        level: Some(level),
        score: None,
        source: "database".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::Ecosystem;

    fn shared(path: &str) -> Advisory {
        let full = format!("{}/../shared/data/osv/{path}", env!("CARGO_MANIFEST_DIR"));
        Advisory::from_json(&std::fs::read(&full).unwrap()).unwrap()
    }

    #[test]
    fn vectors_then_labels_then_unknown() {
        // GHSA-jf85-cpcp-j695 (lodash) carries a CVSS 3.1 vector; MAL records carry none.
        let lodash = shared("advisories/npm/GHSA-jf85-cpcp-j695.json");
        let severity = of(&lodash, &Package::new(Ecosystem::Npm, "lodash", "4.17.11"));
        assert_eq!(severity.source, "CVSS_V3");
        assert_eq!(severity.level, Some(Level::Critical));
        let malware = shared("malicious/npm/MAL-2025-46974.json");
        let severity = of(&malware, &Package::new(Ecosystem::Npm, "debug", "4.4.2"));
        assert_eq!(severity, Severity::unknown());

        let mut labelled = malware.clone();
        labelled.database_specific = Some(serde_json::json!({"severity": "MODERATE"}));
        let severity = of(&labelled, &Package::new(Ecosystem::Npm, "debug", "4.4.2"));
        assert_eq!(
            (severity.level, severity.source.as_str()),
            (Some(Level::Medium), "database")
        );
    }

    #[test]
    fn cvss_v4_vectors_are_scored() {
        let mut advisory = Advisory::default();
        advisory.severity = vec![crate::advisory::SeverityEntry {
            kind: "CVSS_V4".into(),
            score: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N".into(),
        }];
        let severity = of(&advisory, &Package::new(Ecosystem::Npm, "x", "1.0.0"));
        assert_eq!(severity.level, Some(Level::Critical));
        assert_eq!(severity.source, "CVSS_V4");
    }

    #[test]
    fn levels_of_scores() {
        let cases = [
            (0.0, Level::None),
            (3.9, Level::Low),
            (4.0, Level::Medium),
            (8.9, Level::High),
            (9.0, Level::Critical),
        ];
        for (score, level) in cases {
            assert_eq!(Level::of_score(score), level, "{score}");
        }
    }
}
