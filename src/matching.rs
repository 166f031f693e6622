//! Whether an OSV record affects a package version, as OSV itself decides it: an exact hit in
//! `versions`, or a version inside a `SEMVER` or `ECOSYSTEM` range, walking the range's events in
//! version order (`introduced` inclusive, `fixed` exclusive, `last_affected` inclusive, `limit`
//! an exclusive cap). `SEMVER` ranges order by semver 2.0 precedence; `ECOSYSTEM` ranges by the
//! ecosystem's own rules (npm semver for npm, PEP 440 for PyPI, PHP's `version_compare` for
//! Packagist). `GIT` ranges name commits, not
//! package versions, and never match here.
//!
//! Pure functions over [`Affected`]; used by the offline database.

use crate::advisory::{Affected, Event};
use crate::package::Ecosystem;
use std::cmp::Ordering;
use std::str::FromStr;

/// How versions are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Semver 2.0 precedence; build metadata does not count.
    Semver,
    /// PEP 440.
    Pep440,
    /// PHP's `version_compare`, as OSV orders Packagist versions.
    Composer,
}

impl Scheme {
    /// The ordering of `ECOSYSTEM` ranges in `ecosystem`.
    pub fn of(ecosystem: Ecosystem) -> Scheme {
        crate::ecosystem::of(ecosystem).scheme
    }
}

/// A version read under one scheme.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Version {
    Semver(nodejs_semver::Version),
    Pep440(pep440_rs::Version),
    Composer(crate::ecosystem::packagist::version::OsvVersion),
}

impl Version {
    /// Reads `text`; `None` when the scheme cannot read it.
    fn parse(scheme: Scheme, text: &str) -> Option<Version> {
        match scheme {
            Scheme::Semver => parse_semver(text).map(Version::Semver),
            Scheme::Pep440 => pep440_rs::Version::from_str(text.trim())
                .ok()
                .map(Version::Pep440),
            Scheme::Composer => {
                crate::ecosystem::packagist::version::OsvVersion::parse(text).map(Version::Composer)
            }
        }
    }
}

/// A semver version, written strictly: `MAJOR[.MINOR[.PATCH]][-pre][+build]` after an optional
/// `v` or `=`, missing parts read as 0 (`1.0` is `1.0.0`, as OSV's own records write it).
/// nodejs-semver alone would also read `1.2.3.4` as `1.2.3`.
fn parse_semver(text: &str) -> Option<nodejs_semver::Version> {
    let text = text.trim();
    let text = text
        .strip_prefix('v')
        .or_else(|| text.strip_prefix('='))
        .unwrap_or(text);
    let end = text.find(['-', '+']).unwrap_or(text.len());
    let (core, rest) = text.split_at(end);
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if parts.is_empty() || parts.len() > 3 || !parts.iter().all(numeric) {
        return None;
    }
    let mut full = parts.join(".");
    for _ in parts.len()..3 {
        full.push_str(".0");
    }
    full.push_str(rest);
    nodejs_semver::Version::parse(&full).ok()
}

/// Whether `version` of the package in `ecosystem` is one that `affected` names (the caller has
/// matched the package itself).
pub fn affects(affected: &Affected, ecosystem: Ecosystem, version: &str) -> bool {
    let scheme = Scheme::of(ecosystem);
    let listed = affected.versions.iter().any(|listed| {
        listed == version
            || (scheme != Scheme::Semver
                && matches!(
                    (Version::parse(scheme, listed), Version::parse(scheme, version)),
                    (Some(a), Some(b)) if a == b
                ))
    });
    listed
        || affected.ranges.iter().any(|range| {
            let scheme = match range.kind.as_str() {
                "SEMVER" => Scheme::Semver,
                "ECOSYSTEM" => scheme,
                _ => return false,
            };
            in_range(scheme, &range.events, version)
        })
}

/// Orders two versions of a package of `ecosystem` by its own rules; `None` when either cannot
/// be read.
pub fn compare(ecosystem: Ecosystem, a: &str, b: &str) -> Option<Ordering> {
    let scheme = Scheme::of(ecosystem);
    Some(Version::parse(scheme, a)?.cmp(&Version::parse(scheme, b)?))
}

/// Where an event sits: `introduced: "0"` before every version, `limit: "*"` after all.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Bound {
    Start,
    At(Version),
    End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

/// OSV's range evaluation. A range holding a version its scheme cannot read is not trusted
/// either way and does not match (OSV skips such ranges too).
fn in_range(scheme: Scheme, events: &[Event], version: &str) -> bool {
    let Some(version) = Version::parse(scheme, version) else {
        return false;
    };
    let mut bounds: Vec<(Bound, Kind)> = Vec::with_capacity(events.len());
    for event in events {
        let (kind, text) = match event {
            Event {
                introduced: Some(text),
                ..
            } => (Kind::Introduced, text),
            Event {
                fixed: Some(text), ..
            } => (Kind::Fixed, text),
            Event {
                last_affected: Some(text),
                ..
            } => (Kind::LastAffected, text),
            Event {
                limit: Some(text), ..
            } => (Kind::Limit, text),
            _ => continue,
        };
        let bound = match (kind, text.as_str()) {
            (Kind::Introduced, "0") => Bound::Start,
            (Kind::Limit, "*") => Bound::End,
            (_, text) => match Version::parse(scheme, text) {
                Some(parsed) => Bound::At(parsed),
                None => return false,
            },
        };
        bounds.push((bound, kind));
    }
    bounds.sort_by(|a, b| a.0.cmp(&b.0));
    let mut affected = false;
    for (bound, kind) in &bounds {
        let position = match bound {
            Bound::Start => Ordering::Less,
            Bound::At(at) => at.cmp(&version),
            Bound::End => Ordering::Greater,
        };
        match kind {
            Kind::Introduced if position != Ordering::Greater => affected = true,
            Kind::Fixed if position != Ordering::Greater => affected = false,
            Kind::LastAffected if position == Ordering::Less => affected = false,
            Kind::Limit if position != Ordering::Greater => return false,
            _ => {}
        }
    }
    affected
}

/// `name` as OSV keys it in `ecosystem`, by the ecosystem's own rule
/// ([`crate::ecosystem::Ecosystem::normal_name`]).
pub fn normalize_name(ecosystem: Ecosystem, name: &str) -> String {
    (crate::ecosystem::of(ecosystem).normal_name)(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::Range;

    fn event(kind: &str, version: &str) -> Event {
        let text = Some(version.to_string());
        match kind {
            "introduced" => Event {
                introduced: text,
                ..Event::default()
            },
            "fixed" => Event {
                fixed: text,
                ..Event::default()
            },
            "last_affected" => Event {
                last_affected: text,
                ..Event::default()
            },
            _ => Event {
                limit: text,
                ..Event::default()
            },
        }
    }

    fn ranged(kind: &str, events: &[(&str, &str)]) -> Affected {
        affected(kind, events, &[])
    }

    fn affected(kind: &str, events: &[(&str, &str)], versions: &[&str]) -> Affected {
        Affected {
            package: None,
            ranges: vec![Range {
                kind: kind.to_string(),
                events: events.iter().map(|(k, v)| event(k, v)).collect(),
            }],
            versions: versions.iter().map(|v| v.to_string()).collect(),
            severity: Vec::new(),
        }
    }

    #[test]
    fn ranges_follow_osvs_evaluation() {
        // Shapes from ../shared/data/osv: MAL-2025-46974 (versions only), MAL-2024-11183
        // (introduced 0, fixed 1.95.8), MAL-2023-8697 (last_affected), GHSA-r683-j2x4-v87g
        // (`introduced: "1.0"`), and the OSV schema's `limit` example.
        let npm = Ecosystem::Npm;
        // Each range with the versions it is probed at: `+` inside, `-` outside.
        let two_spans = [
            ("introduced", "1.0.0"),
            ("fixed", "1.2.0"),
            ("introduced", "2.0.0"),
            ("fixed", "2.1.0"),
        ];
        let cases: &[(Affected, &[&str])] = &[
            (affected("SEMVER", &[], &["4.4.2"]), &["+4.4.2", "-4.4.1"]),
            (
                ranged("SEMVER", &[("introduced", "0"), ("fixed", "1.95.8")]),
                &["+1.95.7", "-1.95.8"],
            ),
            (
                ranged(
                    "SEMVER",
                    &[("introduced", "1.3.5"), ("last_affected", "1.3.7")],
                ),
                &["+1.3.7", "-1.3.8", "-1.3.4"],
            ),
            (
                ranged("ECOSYSTEM", &[("introduced", "1.0"), ("fixed", "2.6.7")]),
                &["+1.0.0", "-0.9.9"],
            ),
            (ranged("SEMVER", &[("introduced", "0")]), &["+99.0.0"]),
            (
                ranged("SEMVER", &[("introduced", "0"), ("limit", "2.0.0")]),
                &["+1.9.9", "-2.0.0"],
            ),
            (
                ranged("SEMVER", &[("introduced", "0"), ("limit", "*")]),
                &["+9.9.9"],
            ),
            // Two spans in one range: [1.0.0, 1.2.0) and [2.0.0, 2.1.0).
            (ranged("SEMVER", &two_spans), &["-1.5.0", "+2.0.5"]),
            // Prereleases sit below their release.
            (
                ranged(
                    "SEMVER",
                    &[("introduced", "5.0.0-alpha.1"), ("fixed", "5.0.0")],
                ),
                &["+5.0.0-beta"],
            ),
            (
                ranged("SEMVER", &[("introduced", "0"), ("fixed", "1.0.0")]),
                &["+1.0.0-rc.1"],
            ),
            // A GIT range is about commits; an unreadable version matches nothing.
            (ranged("GIT", &[("introduced", "0")]), &["-1.0.0"]),
            (ranged("SEMVER", &[("introduced", "0")]), &["-1.2.3.4"]),
            (
                ranged("SEMVER", &[("introduced", "not-a-version")]),
                &["-1.0.0"],
            ),
        ];
        for (affected, probes) in cases {
            for probe in *probes {
                let (expected, version) = (probe.starts_with('+'), &probe[1..]);
                assert_eq!(
                    affects(affected, npm, version),
                    expected,
                    "{version} in {affected:?}"
                );
            }
        }
    }

    #[test]
    fn pypi_orders_by_pep_440() {
        // certifi GHSA-248v-346w-9cwc (calendar versions with leading zeros), 0.1.0rc1 shapes.
        let pypi = Ecosystem::PyPI;
        let certifi = affected(
            "ECOSYSTEM",
            &[("introduced", "2021.05.30"), ("fixed", "2024.07.04")],
            &[],
        );
        assert!(affects(&certifi, pypi, "2023.7.22"));
        assert!(!affects(&certifi, pypi, "2024.7.4"));
        let rc = affected(
            "ECOSYSTEM",
            &[("introduced", "0"), ("fixed", "0.1.0")],
            &["1.0"],
        );
        assert!(affects(&rc, pypi, "0.1.0rc1"));
        assert!(!affects(&rc, pypi, "0.1.0"));
        assert!(
            affects(&rc, pypi, "1.0.0"),
            "1.0 and 1.0.0 are one version in PEP 440"
        );
    }

    #[test]
    fn pypi_names_are_pep_503_normalised() {
        let cases = [
            ("Foo_Bar", "foo-bar"),
            ("foo.-_bar", "foo-bar"),
            ("Nasrtox", "nasrtox"),
        ];
        for (name, normal) in cases {
            assert_eq!(normalize_name(Ecosystem::PyPI, name), normal);
        }
        assert_eq!(normalize_name(Ecosystem::Npm, "@Scope/X"), "@Scope/X");
    }
}
