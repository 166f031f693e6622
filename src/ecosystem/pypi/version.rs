//! PyPI's version and name rules: PEP 440 versions, PEP 503 names.

/// Longest version read (PEP 440 sets no limit; a lockfile's versions are short).
const MAX_LENGTH: usize = 256;

/// PEP 440's normal form (`V1.0-A1` → `1.0a1`, `1.0.POST1` → `1.0.post1`).
pub fn pep440_normal(raw: &str) -> Option<String> {
    let text = raw.trim();
    if text.is_empty() || text.len() > MAX_LENGTH {
        return None;
    }
    text.parse::<pep440_rs::Version>()
        .ok()
        .map(|version| version.to_string())
}

/// A name in PEP 503 normal form: lower case, runs of `-`, `_` and `.` as one `-`.
pub fn normal_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
            continue;
        }
        if separator && !out.is_empty() {
            out.push('-');
        }
        separator = false;
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
