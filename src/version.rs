//! One version, one meaning: each ecosystem's normal form of a locked version, so that what is
//! compared, asked of OSV and cached is the version the package manager installs, however the
//! lockfile spells it.
//!
//! npm reads a locked version the way `semver.clean` does (`" v4.4.2\n"` is `4.4.2`); pip reads
//! one by PEP 440 (`1.0-A1` is `1.0a1`). A lockfile that spells a version another way than the
//! tool writes it is either a hand edit or an attempt to slip past a check keyed on the text.

use crate::package::Ecosystem;

/// Longest version npm's semver accepts.
const NPM_MAX_LENGTH: usize = 256;
/// Largest number in a version JavaScript holds exactly (`Number.MAX_SAFE_INTEGER`).
const NPM_MAX_NUMBER: u64 = (1 << 53) - 1;

/// The normal form of `raw` in `ecosystem`, or `None` when the package manager would not read
/// it as one exact version.
pub fn normal(ecosystem: Ecosystem, raw: &str) -> Option<String> {
    match ecosystem {
        Ecosystem::Npm => npm_clean(raw),
        Ecosystem::PyPI => pep440_normal(raw),
        Ecosystem::Packagist => crate::ecosystem::packagist::version::osv_normal(raw),
    }
}

/// `semver.clean(raw, { loose: true })`: surrounding whitespace, leading `=` and `v`, leading
/// zeros and a pre-release without its `-` are accepted; build metadata is dropped, as npm's
/// `SemVer.version` drops it.
fn npm_clean(raw: &str) -> Option<String> {
    if raw.len() > NPM_MAX_LENGTH {
        return None;
    }
    let text = raw
        .trim_matches(is_js_whitespace)
        .trim_start_matches(|c: char| c == '=' || c == 'v' || is_js_whitespace(c));
    let (main, build) = match text.split_once('+') {
        Some((main, build)) => (main, Some(build)),
        None => (text, None),
    };
    if let Some(build) = build {
        let ok = build
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(is_identifier_byte));
        if !ok {
            return None;
        }
    }
    let mut numbers = [0u64; 3];
    let mut rest = main;
    for (index, number) in numbers.iter_mut().enumerate() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        *number = rest[..digits]
            .parse()
            .ok()
            .filter(|n| *n <= NPM_MAX_NUMBER)?;
        rest = &rest[digits..];
        if index < 2 {
            rest = rest.strip_prefix('.')?;
        }
    }
    let mut version = format!("{}.{}.{}", numbers[0], numbers[1], numbers[2]);
    if rest.is_empty() {
        return Some(version);
    }
    let pre = rest.strip_prefix('-').unwrap_or(rest);
    let mut identifiers = Vec::new();
    for part in pre.split('.') {
        if part.is_empty() || !part.bytes().all(is_identifier_byte) {
            return None;
        }
        // A numeric identifier is read as a number where JavaScript holds it exactly.
        let number = part
            .bytes()
            .all(|byte| byte.is_ascii_digit())
            .then(|| part.parse::<u64>().ok())
            .flatten()
            .filter(|number| *number < NPM_MAX_NUMBER);
        if let Some(number) = number {
            identifiers.push(number.to_string());
        } else {
            identifiers.push(part.to_string());
        }
    }
    version.push('-');
    version.push_str(&identifiers.join("."));
    Some(version)
}

fn is_identifier_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-'
}

/// What JavaScript's `String.prototype.trim` removes.
fn is_js_whitespace(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

/// PEP 440's normal form (`V1.0-A1` → `1.0a1`, `1.0.POST1` → `1.0.post1`).
fn pep440_normal(raw: &str) -> Option<String> {
    let text = raw.trim();
    if text.is_empty() || text.len() > NPM_MAX_LENGTH {
        return None;
    }
    text.parse::<pep440_rs::Version>()
        .ok()
        .map(|version| version.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_cleans_as_semver_clean_does() {
        // Expected values are node-semver's `semver.clean(v, { loose: true })`.
        for (raw, clean) in [
            ("4.4.2", Some("4.4.2")),
            (" 4.4.2 ", Some("4.4.2")),
            ("4.4.2\n", Some("4.4.2")),
            ("\t4.4.2\t", Some("4.4.2")),
            ("v4.4.2", Some("4.4.2")),
            ("=v4.4.2", Some("4.4.2")),
            ("v 4.4.2", Some("4.4.2")),
            ("04.004.2", Some("4.4.2")),
            ("1.2.3-beta.01", Some("1.2.3-beta.1")),
            ("1.2.3beta", Some("1.2.3-beta")),
            ("1.2.3-rc.1+build.5", Some("1.2.3-rc.1")),
            ("1.2.3+build", Some("1.2.3")),
            ("1.2", None),
            ("1.2.3:evil", None),
            ("1.2.3/evil", None),
            ("npm:debug@4.4.2", None),
            ("1.2.3-", None),
            ("1.2.3-a..b", None),
            ("1.2.3+", None),
            ("9007199254740992.0.0", None),
            ("", None),
            ("latest", None),
        ] {
            assert_eq!(npm_clean(raw).as_deref(), clean, "{raw:?}");
        }
    }

    #[test]
    fn pypi_takes_the_pep440_normal_form() {
        // Expected values are packaging's `str(Version(v))`.
        for (raw, normal) in [
            ("1.0", Some("1.0")),
            (" 1.0 ", Some("1.0")),
            ("v1.0", Some("1.0")),
            ("1.0-A1", Some("1.0a1")),
            ("1.0.POST1", Some("1.0.post1")),
            ("1.0-1", Some("1.0.post1")),
            ("1!2.0", Some("1!2.0")),
            ("1.0+Local.7", Some("1.0+local.7")),
            ("1.0:x", None),
            ("", None),
            ("latest", None),
        ] {
            assert_eq!(pep440_normal(raw).as_deref(), normal, "{raw:?}");
        }
    }
}
