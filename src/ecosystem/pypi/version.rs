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

/// The package and version a distribution file (its URL, or its name) names: a wheel's name is
/// `<name>-<version>(-<build>)?-<python>-<abi>-<platform>.whl` (PEP 427), an sdist's
/// `<name>-<version>.tar.gz` (PEP 625; older ones `.zip` and others, with the name as written,
/// which may hold `-`: of the readings, the one that agrees with `package`). `None` for what is
/// no distribution file (an index URL), or names no version PEP 440 reads.
pub fn file_names(download: &str, package: &crate::package::Package) -> Option<(String, String)> {
    let path = match crate::package::url_path(download) {
        Some(path) => path,
        None => crate::package::percent_decode(download),
    };
    let file = path.rsplit('/').next().unwrap_or_default();
    let lower = file.to_ascii_lowercase();
    if lower.ends_with(".whl") {
        let parts: Vec<&str> = file[..file.len() - 4].split('-').collect();
        if !(5..=6).contains(&parts.len()) || pep440_normal(parts[1]).is_none() {
            return None;
        }
        return Some((parts[0].to_string(), parts[1].to_string()));
    }
    let extension = [".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".zip"]
        .iter()
        .find(|extension| lower.ends_with(*extension))?;
    let stem = &file[..file.len() - extension.len()];
    let mut readings = stem
        .match_indices('-')
        .map(|(at, _)| (&stem[..at], &stem[at + 1..]))
        .filter(|(_, version)| pep440_normal(version).is_some());
    let first = readings.next()?;
    let agreeing = std::iter::once(first)
        .chain(readings)
        .find(|(name, _)| normal_name(name) == package.name);
    let (name, version) = agreeing.unwrap_or(first);
    Some((name.to_string(), version.to_string()))
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

    #[test]
    fn distribution_files_name_their_package_and_version() {
        // Names from PEP 427 and PEP 625, and older sdists as indexes still serve them.
        let package = |name: &str, version: &str| {
            crate::package::Package::new(crate::package::Ecosystem::PyPI, name, version)
        };
        let dateutil = package("python-dateutil", "2.8.2");
        for (file, named) in [
            (
                "https://files.example.test/packages/ab/python_dateutil-2.8.2-py2.py3-none-any.whl",
                Some(("python_dateutil", "2.8.2")),
            ),
            (
                "https://files.example.test/python-dateutil-2.8.2.tar.gz",
                Some(("python-dateutil", "2.8.2")),
            ),
            (
                "python_dateutil-2.8.2.tar.gz",
                Some(("python_dateutil", "2.8.2")),
            ),
            (
                "https://files.example.test/evil-2.8.2-py3-none-any.whl",
                Some(("evil", "2.8.2")),
            ),
            (
                "https://files.example.test/evil-9.9.tar.gz",
                Some(("evil", "9.9")),
            ),
            (
                "https://files.example.test/x%2Fpython-dateutil-2.8.2.zip",
                Some(("python-dateutil", "2.8.2")),
            ),
            ("https://pypi.example.test/simple", None),
            ("https://files.example.test/weird.whl", None),
        ] {
            let found = file_names(file, &dateutil);
            assert_eq!(
                found.as_ref().map(|(n, v)| (n.as_str(), v.as_str())),
                named,
                "{file}"
            );
        }
        // A wheel with a build tag, and a local version.
        assert_eq!(
            file_names(
                "torch-2.0.0+cu118-1-cp311-cp311-linux_x86_64.whl",
                &package("torch", "2.0.0+cu118")
            ),
            Some(("torch".to_string(), "2.0.0+cu118".to_string()))
        );
    }
}
