//! What a change does to the checksums its entries pin.

use super::Context;
use crate::config::CiRule;
use crate::ecosystem;
use crate::package::{Ecosystem, Entry, Package};
use crate::report::{Problem, ProblemKind};

/// Versions a change keeps with another checksum: a tampered lockfile, never an update (the
/// registry serves one tarball a version, for good). Blocks unless `[checks]` says otherwise.
pub(super) fn checksums_changed(context: &Context<'_>, problems: &mut Vec<Problem>) {
    let level = context.level("checksum-changed");
    if level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        for change in &lockfile.changes.checksums {
            if context.exempt(&change.package, "checksum-changed") {
                continue;
            }
            problems.push(
                Problem::new(
                    ProblemKind::ChecksumChanged,
                    &lockfile.path,
                    &format!(
                        "{}@{} keeps its version but its checksum changed from {} to {}: a \
                         version's tarball never changes, so the lockfile was edited to \
                         download something else. Restore the entry (git checkout the \
                         lockfile) and lock it again with the package manager",
                        change.package.name,
                        change.package.version,
                        short(&change.old),
                        short(&change.new)
                    ),
                    level == CiRule::Block,
                )
                .at(change.line.unwrap_or(0), 0),
            );
        }
    }
}

/// A checksum shortened for a message: its algorithm and first characters.
fn short(checksum: &str) -> String {
    let cut: String = checksum.chars().take(24).collect();
    if cut.len() < checksum.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// A requirements file that pins hashes, with a requirement that has none: pip's hash-checking
/// mode refuses the whole file then.
pub(super) fn checksums_missing(context: &Context<'_>, problems: &mut Vec<Problem>) {
    for lockfile in context.lockfiles {
        let Some(format) = ecosystem::format_of(&lockfile.path) else {
            continue;
        };
        let registry = |entry: &&crate::package::Entry| entry.is_queryable();
        // Requirements files: the format that includes others (pip's `-r`).
        if format.includes.is_some() {
            // pip's rule is the whole file's: what it locks, not only what the change adds.
            let all = lockfile.whole.as_deref().unwrap_or(&lockfile.locked);
            let hashed = all
                .entries
                .iter()
                .filter(registry)
                .any(|e| e.checksum.is_some());
            let bare = all
                .entries
                .iter()
                .filter(registry)
                .find(|entry| entry.checksum.is_none());
            if let (true, Some(bare)) = (hashed, bare) {
                problems.push(
                    Problem::new(
                        ProblemKind::HashMissing,
                        &lockfile.path,
                        &format!(
                            "{}=={} has no --hash, while other requirements have one: pip's \
                             hash-checking mode then refuses to install anything. Add its hashes \
                             (pip-compile --generate-hashes, uv pip compile --generate-hashes)",
                            bare.package.name, bare.package.version
                        ),
                        true,
                    )
                    .at(bare.line.unwrap_or(0), 0),
                );
            }
        }
    }
}

/// Registry entries a change adds that pin no checksum, or only SHA-1 (which can be forged):
/// what is downloaded is then not what was locked. Said once per lockfile, not blocking unless
/// `[checks]` says so. Composer records no checksum for most archives (a GitHub zipball has
/// none), so its entries are not said; nor are optional entries the lockfile records none for
/// (yarn records the checksum of a platform package only where it was fetched).
pub(super) fn checksums_weak(context: &Context<'_>, problems: &mut Vec<Problem>) {
    let level = context.level("checksum-missing");
    if level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        let mut missing: Vec<&Entry> = Vec::new();
        let mut sha1: Vec<&Entry> = Vec::new();
        for entry in lockfile.locked.entries.iter().filter(|entry| {
            entry.is_queryable()
                && entry.package.ecosystem != Ecosystem::Packagist
                && !context.exempt(&entry.package, "checksum-missing")
        }) {
            match strength(entry) {
                Strength::Missing if !entry.optional => missing.push(entry),
                Strength::Sha1 => sha1.push(entry),
                _ => {}
            }
        }
        for (mut entries, what) in [
            (missing, "pin no checksum"),
            (sha1, "pin only a SHA-1 checksum, which can be forged,"),
        ] {
            entries.dedup_by(|a, b| a.package == b.package);
            let Some(first) = entries.first() else {
                continue;
            };
            let packages: Vec<&Package> = entries.iter().map(|entry| &entry.package).collect();
            let verb = match entries.len() {
                1 => what.replacen("pin", "pins", 1),
                _ => what.to_string(),
            };
            problems.push(
                Problem::new(
                    ProblemKind::ChecksumMissing,
                    &lockfile.path,
                    &format!(
                        "{} {verb} so what is downloaded is not checked against what was \
                         locked. Lock again with a package manager that records checksums \
                         (for requirements files: pip-compile --generate-hashes)",
                        super::scripts::summary(&packages)
                    ),
                    level == CiRule::Block,
                )
                .at(first.line.unwrap_or(0), 0),
            );
        }
    }
}

/// How strongly an entry pins what it downloads.
#[derive(PartialEq, Eq)]
enum Strength {
    /// No checksum at all.
    Missing,
    /// SHA-1 only (npm `sha1-…`, yarn 1's `#<sha1>` download URL fragment).
    Sha1,
    /// A stronger one.
    Strong,
}

fn strength(entry: &Entry) -> Strength {
    match &entry.checksum {
        // npm-style integrity lists every hash, space-separated: the strongest counts.
        Some(checksum) => {
            let weak = checksum.split_whitespace().all(|hash| {
                let lower = hash.to_ascii_lowercase();
                lower.starts_with("sha1-") || lower.starts_with("sha1:")
            });
            if weak {
                Strength::Sha1
            } else {
                Strength::Strong
            }
        }
        None => {
            let url = match &entry.source {
                crate::package::Source::Registry { url: Some(url), .. } => url.as_str(),
                _ => "",
            };
            let fragment = url.rsplit_once('#').map(|(_, hash)| hash).unwrap_or("");
            if fragment.len() == 40 && fragment.bytes().all(|b| b.is_ascii_hexdigit()) {
                Strength::Sha1
            } else {
                Strength::Missing
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::Package;

    fn entry(checksum: Option<&str>, url: &str) -> Entry {
        let mut entry = Entry::registry(Package::new(Ecosystem::Npm, "a", "1.0.0")).from_url(url);
        entry.checksum = checksum.map(str::to_string);
        entry
    }

    #[test]
    fn the_strongest_pinned_hash_counts() {
        let url = "https://registry.example.test/a/-/a-1.0.0.tgz";
        assert!(strength(&entry(None, url)) == Strength::Missing);
        assert!(strength(&entry(Some("sha1-abc="), url)) == Strength::Sha1);
        assert!(strength(&entry(Some("sha1-abc= sha512-def=="), url)) == Strength::Strong);
        assert!(strength(&entry(Some("sha256:00"), url)) == Strength::Strong);
        // yarn 1 before integrity lines: the URL's fragment is the tarball's SHA-1.
        let sha1 = format!("{url}#{}", "0123456789abcdef0123456789abcdef01234567");
        assert!(strength(&entry(None, &sha1)) == Strength::Sha1);
    }
}
