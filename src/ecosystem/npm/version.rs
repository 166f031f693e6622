//! npm's version rules: a locked version is read the way `semver.clean` reads it.

/// Longest version npm's semver accepts.
const NPM_MAX_LENGTH: usize = 256;
/// Largest number in a version JavaScript holds exactly (`Number.MAX_SAFE_INTEGER`).
const NPM_MAX_NUMBER: u64 = (1 << 53) - 1;

/// `semver.clean(raw, { loose: true })`: surrounding whitespace, leading `=` and `v`, leading
/// zeros and a pre-release without its `-` are accepted; build metadata is dropped, as npm's
/// `SemVer.version` drops it.
pub fn npm_clean(raw: &str) -> Option<String> {
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
}
