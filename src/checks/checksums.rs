//! What a change does to the checksums its entries pin.

use super::Context;
use crate::config::CiRule;
use crate::ecosystem;
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
