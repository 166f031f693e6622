//! The lockfile check of Composer projects, judged as `composer validate` and `composer install`
//! judge a composer.lock (composer 2.5, `Locker::isFresh` and
//! `Locker::getMissingRequirementInfo`):
//!
//! - composer.json with requirements and no composer.lock: `install` resolves anew instead of
//!   installing a lock;
//! - `content-hash` (or, in old lockfiles, `hash`) not the one of the composer.json being
//!   committed: "The lock file is not up to date with the latest changes in composer.json";
//! - a requirement (`require`, then `require-dev` against both package lists) that no locked
//!   package, or package that replaces or provides it, meets: "Required package … is not
//!   present in the lock file" or "… is in the lock file as … but that does not satisfy your
//!   constraint …".
//!
//! Platform requirements (`php`, `ext-*`, …) depend on the machine and are not judged here.

use super::composer_lock::{self, ComposerLock, LockedPackage};
use super::content_hash::{content_hash, md5_hex, Json};
use super::version::{normalize, Constraint};
use crate::ecosystem::{file_name, folder_of, join_path as join, Files, ParseError, SyncProblem};
use crate::error::Error;
use crate::report::ProblemKind;

/// The manifest.
pub const COMPOSER_JSON: &str = "composer.json";
/// The lockfile.
pub const COMPOSER_LOCK: &str = "composer.lock";
/// Largest composer.json read.
const MAX_MANIFEST_SIZE: usize = 4 * 1024 * 1024;

/// Whether a change to `path` calls for checking its folder's Composer project.
pub fn is_trigger(path: &str) -> bool {
    matches!(file_name(path), COMPOSER_JSON | COMPOSER_LOCK)
}

/// Whether `path` is inside a `vendor` folder, where Composer installs packages (some projects
/// commit it): those composer.json files are installed packages, not projects.
pub fn is_vendored(path: &str) -> bool {
    path.split('/').any(|segment| segment == "vendor")
}

/// `PlatformRepository::PLATFORM_PACKAGE_REGEX`: requirements on PHP, its extensions and
/// libraries, and Composer itself.
pub fn is_platform(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let php = [
        "php",
        "php-64bit",
        "php-ipv6",
        "php-zts",
        "php-debug",
        "hhvm",
    ];
    let composer = ["composer", "composer-plugin-api", "composer-runtime-api"];
    if php.contains(&name.as_str()) || composer.contains(&name.as_str()) {
        return true;
    }
    let Some(rest) = name
        .strip_prefix("ext-")
        .or_else(|| name.strip_prefix("lib-"))
    else {
        return false;
    };
    // [a-z0-9](?:[_.-]?[a-z0-9]+)*
    let bytes = rest.as_bytes();
    !bytes.is_empty()
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !bytes
            .windows(2)
            .any(|pair| !pair[0].is_ascii_alphanumeric() && !pair[1].is_ascii_alphanumeric())
}

/// The requirements of `section` (`require`, `require-dev`) in composer.json's order.
fn requirements<'a>(manifest: &'a Json, section: &str) -> Vec<(&'a str, &'a Json)> {
    manifest
        .get(section)
        .map(Json::entries)
        .unwrap_or_default()
        .iter()
        .map(|(name, constraint)| (name.as_str(), constraint))
        .collect()
}

fn has_dependencies(manifest: &Json) -> bool {
    ["require", "require-dev"].iter().any(|section| {
        requirements(manifest, section)
            .iter()
            .any(|(name, _)| !is_platform(name))
    })
}

/// Checks the Composer project in `folder`.
pub fn check_project<T: Files + ?Sized>(
    files: &T,
    folder: &str,
) -> Result<Vec<SyncProblem>, Error> {
    let manifest_path = join(folder, COMPOSER_JSON);
    let lock_path = join(folder, COMPOSER_LOCK);
    let Some(bytes) = files.read(&manifest_path)? else {
        return Ok(Vec::new());
    };
    let manifest_text = match read_text(&bytes, MAX_MANIFEST_SIZE) {
        Ok(text) => text,
        Err(error) => return Ok(vec![manifest_unreadable(&manifest_path, &error)]),
    };
    let manifest = match Json::parse(manifest_text) {
        Ok(manifest @ Json::Object(_)) => manifest,
        Ok(_) => {
            let error = ParseError::new(1, 1, "composer.json must hold a JSON object");
            return Ok(vec![manifest_unreadable(&manifest_path, &error)]);
        }
        Err(error) => {
            let error = ParseError::from_json(&error);
            return Ok(vec![manifest_unreadable(&manifest_path, &error)]);
        }
    };
    let Some(lock_bytes) = files.read(&lock_path)? else {
        if !has_dependencies(&manifest) || is_vendored(&manifest_path) {
            return Ok(Vec::new());
        }
        if path_repository_user(files, folder)?.is_some() {
            return Ok(Vec::new());
        }
        return Ok(vec![SyncProblem::new(
            ProblemKind::LockfileMissing,
            &lock_path,
            format!(
                "{manifest_path} requires packages but there is no composer.lock, so `composer \
                 install` would resolve them anew instead of installing a lock"
            ),
        )
        .run("composer update", folder, &[&lock_path])]);
    };
    let unreadable = |error: &ParseError| {
        SyncProblem::new(
            ProblemKind::LockfileUnreadable,
            &lock_path,
            format!("{}; composer cannot install from it", error.message),
        )
        .run("composer update", folder, &[&lock_path])
        .or("fix it by hand")
        .at(error.line, error.column)
    };
    let lock = match read_text(&lock_bytes, composer_lock::MAX_SIZE).and_then(|text| {
        crate::ecosystem::parse::check_conflict_markers(text)?;
        composer_lock::parse(text)
    }) {
        Ok(lock) if lock.has_packages => lock,
        Ok(_) => {
            let error = ParseError::new(0, 0, "composer.lock has no `packages` list");
            return Ok(vec![unreadable(&error)]);
        }
        Err(error) => return Ok(vec![unreadable(&error)]),
    };
    Ok(judge(folder, &manifest, manifest_text, &lock))
}

/// composer's verdict on a readable composer.json and composer.lock: is the lock fresh (its
/// content-hash), and does it hold every requirement at a version the constraint accepts.
fn judge(
    folder: &str,
    manifest: &Json,
    manifest_text: &str,
    lock: &ComposerLock,
) -> Vec<SyncProblem> {
    let manifest_path = join(folder, COMPOSER_JSON);
    let lock_path = join(folder, COMPOSER_LOCK);
    let mut problems = Vec::new();
    if !is_fresh(lock, manifest, manifest_text) {
        problems.push(
            SyncProblem::new(
                ProblemKind::LockfileOutOfSync,
                &lock_path,
                format!(
                    "the lock file is not up to date with the latest changes in {manifest_path} \
                     (its content-hash no longer matches)"
                ),
            )
            .run("composer update --lock", folder, &[&lock_path])
            .or("for a changed requirement, `composer update <package>`")
            .at(lock.content_hash_line.unwrap_or(0), 0),
        );
    }
    for missing in missing_requirements(manifest, lock) {
        let line = requirement_line(manifest_text, &missing.name);
        problems.push(
            SyncProblem::new(
                ProblemKind::LockfileOutOfSync,
                &manifest_path,
                missing.message,
            )
            .run(
                &format!("composer update {}", missing.name),
                folder,
                &[&lock_path],
            )
            .at(line.unwrap_or(0), 0),
        );
    }
    problems
}

fn read_text(bytes: &[u8], limit: usize) -> Result<&str, ParseError> {
    if bytes.len() > limit {
        return Err(ParseError::new(0, 0, "the file is too large to read"));
    }
    crate::ecosystem::parse::decode(bytes)
}

fn manifest_unreadable(path: &str, error: &ParseError) -> SyncProblem {
    SyncProblem::new(
        ProblemKind::ComposerJsonUnreadable,
        path,
        format!("{}; composer cannot read it", error.message),
    )
    .edit(&[path])
    .at(error.line, error.column)
}

/// `Locker::isFresh`.
fn is_fresh(lock: &ComposerLock, manifest: &Json, manifest_text: &str) -> bool {
    if let Some(recorded) = &lock.content_hash {
        return *recorded == content_hash(manifest);
    }
    if let Some(recorded) = &lock.hash {
        return *recorded == md5_hex(manifest_text.as_bytes());
    }
    false
}

/// A requirement the lock does not meet.
#[derive(Debug, PartialEq, Eq)]
struct Missing {
    name: String,
    message: String,
}

/// Every normalised version a locked package answers to: its own, its branch alias, the
/// default-branch alias and the root's `aliases` (`Locker::getLockedRepository`).
fn versions_of(package: &LockedPackage, lock: &ComposerLock) -> Vec<String> {
    let mut versions = Vec::new();
    if let Ok(version) = normalize(&package.version) {
        versions.push(version);
    }
    let is_branch = super::version::is_branch(&package.version);
    if is_branch {
        let alias = package
            .branch_alias
            .iter()
            .find(|(from, _)| from.eq_ignore_ascii_case(&package.version))
            .and_then(|(_, to)| to.strip_suffix("-dev").map(|_| normalize(to)))
            .and_then(Result::ok)
            .filter(|alias| alias.ends_with("-dev") && !alias.starts_with("dev-"));
        match alias {
            Some(alias) => versions.push(alias),
            None if package.default_branch => versions.push("9999999-dev".to_string()),
            None => {}
        }
    }
    versions.extend(
        lock.aliases
            .iter()
            .filter(|alias| alias.package == package.name && alias.version == package.version)
            .map(|alias| alias.alias_normalized.clone()),
    );
    versions
}

/// The link constraint of a `replace` or `provide` entry (`self.version` is the package's own).
fn link_constraint(constraint: &str, package: &LockedPackage) -> Option<Constraint> {
    let text = if constraint.trim() == "self.version" {
        package.version.as_str()
    } else {
        constraint
    };
    Constraint::parse(text).ok()
}

/// `findPackagesWithReplacersAndProviders($name, $constraint)` over `packages`: whether any of
/// them is `name` at a version the constraint allows, or replaces or provides it so.
fn satisfied(
    name: &str,
    constraint: &Constraint,
    packages: &[&LockedPackage],
    lock: &ComposerLock,
) -> bool {
    packages.iter().any(|package| {
        if package.name == name
            && versions_of(package, lock)
                .iter()
                .any(|version| constraint.matches(version))
        {
            return true;
        }
        package
            .replace
            .iter()
            .chain(&package.provide)
            .filter(|(target, _)| *target == name)
            .any(|(_, link)| {
                link_constraint(link, package).is_some_and(|link| constraint.intersects(&link))
            })
    })
}

/// Whether any of `packages` is, replaces or provides `name`: the one it names, if so.
fn present<'a>(name: &str, packages: &[&'a LockedPackage]) -> Option<&'a LockedPackage> {
    packages.iter().copied().find(|package| {
        package.name == name
            || package
                .replace
                .keys()
                .chain(package.provide.keys())
                .any(|target| target == name)
    })
}

/// `Locker::getMissingRequirementInfo` in dev mode (what `composer install` checks).
fn missing_requirements(manifest: &Json, lock: &ComposerLock) -> Vec<Missing> {
    let production: Vec<&LockedPackage> = lock.packages.iter().filter(|p| !p.dev).collect();
    let everything: Vec<&LockedPackage> = lock.packages.iter().collect();
    let sets = [
        ("require", "Required", &production),
        ("require-dev", "Required (in require-dev)", &everything),
    ];
    let mut missing = Vec::new();
    for (section, description, packages) in sets {
        for (name, constraint) in requirements(manifest, section) {
            let name = name.to_ascii_lowercase();
            let pretty = match constraint {
                Json::String(text) => text.clone(),
                other => {
                    let mut text = String::new();
                    super::content_hash::php_json_encode(other, &mut text);
                    text
                }
            };
            if is_platform(&name) || pretty == "self.version" {
                continue;
            }
            let parsed = match Constraint::parse(&pretty) {
                Ok(parsed) => parsed,
                Err(error) => {
                    missing.push(Missing {
                        message: format!(
                            "{description} package \"{name}\" has a constraint composer \
                             cannot read ({error})"
                        ),
                        name,
                    });
                    continue;
                }
            };
            if satisfied(&name, &parsed, packages, lock) {
                continue;
            }
            let message = match present(&name, packages) {
                Some(package) => format!(
                    "{description} package \"{name}\" is in the lock file as \"{}\" but that \
                     does not satisfy your constraint \"{pretty}\"",
                    package.version
                ),
                None => format!("{description} package \"{name}\" is not present in the lock file"),
            };
            missing.push(Missing { name, message });
        }
    }
    missing
}

/// The line of `"name":` in composer.json's text (a requirement's key).
fn requirement_line(text: &str, name: &str) -> Option<usize> {
    let needle = format!("\"{name}\"");
    text.lines()
        .position(|line| line.to_ascii_lowercase().contains(&needle))
        .map(|index| index + 1)
}

/// The folder of a project in the snapshot that installs `folder` through a `path` repository
/// (a package of a monorepo): that project's lock locks it.
fn path_repository_user<T: Files + ?Sized>(
    files: &T,
    folder: &str,
) -> Result<Option<String>, Error> {
    let manifests: Vec<String> = files
        .paths()
        .filter(|path| file_name(path) == COMPOSER_JSON && !is_vendored(path))
        .map(str::to_string)
        .collect();
    for path in manifests {
        let owner = folder_of(&path);
        if owner == folder {
            continue;
        }
        let Some(bytes) = files.read(&path)? else {
            continue;
        };
        let Ok(text) = read_text(&bytes, MAX_MANIFEST_SIZE) else {
            continue;
        };
        if !text.contains("\"path\"") {
            continue;
        }
        let Ok(manifest) = Json::parse(text) else {
            continue;
        };
        let repositories: Vec<&Json> = match manifest.get("repositories") {
            Some(Json::Array(items)) => items.iter().collect(),
            Some(Json::Object(entries)) => entries.iter().map(|(_, value)| value).collect(),
            _ => Vec::new(),
        };
        for repository in repositories {
            if repository.get("type").and_then(Json::as_str) != Some("path") {
                continue;
            }
            let Some(url) = repository.get("url").and_then(Json::as_str) else {
                continue;
            };
            if path_matches(&resolve(owner, url), folder) {
                return Ok(Some(owner.to_string()));
            }
        }
    }
    Ok(None)
}

/// `url` (relative to `base`) as a repository path, `.` and `..` resolved.
fn resolve(base: &str, url: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').filter(|part| !part.is_empty()).collect();
    for part in url.trim_end_matches('/').split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// Whether `pattern` (segments with `*` wildcards, as path repositories allow) names `folder`.
fn path_matches(pattern: &str, folder: &str) -> bool {
    let patterns: Vec<&str> = pattern.split('/').collect();
    let segments: Vec<&str> = folder.split('/').collect();
    patterns.len() == segments.len()
        && patterns
            .iter()
            .zip(&segments)
            .all(|(pattern, segment)| glob_segment(pattern, segment))
}

fn glob_segment(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|at| rest.is_char_boundary(*at))
                .any(|at| glob_segment(tail, &rest[at..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_packages_are_recognised() {
        for name in [
            "php",
            "PHP-64bit",
            "ext-json",
            "ext-pdo_mysql",
            "lib-icu",
            "composer-plugin-api",
        ] {
            assert!(is_platform(name), "{name}");
        }
        for name in ["acme/php", "ext-", "phpunit/phpunit", "ext-a__b"] {
            assert!(!is_platform(name), "{name}");
        }
    }

    #[test]
    fn path_repositories_resolve_with_wildcards() {
        assert_eq!(resolve("app", "../packages/lib"), "packages/lib");
        assert!(path_matches(&resolve("", "packages/*"), "packages/lib"));
        assert!(!path_matches(
            &resolve("", "packages/*"),
            "packages/lib/sub"
        ));
    }
}
