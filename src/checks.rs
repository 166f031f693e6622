//! The checks of what a change adds that need no advisory: each is a function over the
//! lockfiles to check and the settings, adding the problems it finds. A new check is a function
//! here and a line in [`CHECKS`], not code in the orchestrator.

use crate::ecosystem;
use crate::report::{Problem, ProblemKind};
use crate::scope::LockfileToCheck;
use crate::settings::Settings;

/// What every check reads.
pub(crate) struct Context<'a> {
    /// The lockfiles, with what each adds.
    pub(crate) lockfiles: &'a [LockfileToCheck],
    /// What the run goes by.
    pub(crate) settings: &'a Settings,
}

/// A check.
pub(crate) type Check = fn(&Context<'_>, &mut Vec<Problem>);

/// Every check, in the order their problems are reported.
pub(crate) const CHECKS: &[Check] = &[unpinned, unreadable_versions, checksums_changed];

/// Requirements that pin no version: what gets installed cannot be checked (malware published
/// under the name still is). Blocks when `fail-on-unpinned` says so.
fn unpinned(context: &Context<'_>, problems: &mut Vec<Problem>) {
    for lockfile in context.lockfiles {
        for unpinned in &lockfile.locked.unpinned {
            let advice = ecosystem::of(unpinned.package.ecosystem).unpinned_advice;
            problems.push(Problem::new(
                ProblemKind::UnpinnedRequirement,
                &lockfile.path,
                &format!(
                    "`{}` does not pin one version, so what gets installed cannot be checked \
                     (malware published as {} is still looked for): {advice}",
                    unpinned.requirement, unpinned.package.name
                ),
                context.settings.fail_on_unpinned,
            ));
        }
    }
}

/// Entries whose version the package manager would not read as one exact version: they cannot
/// be checked, so they block.
fn unreadable_versions(context: &Context<'_>, problems: &mut Vec<Problem>) {
    for lockfile in context.lockfiles {
        for package in lockfile.locked.unreadable() {
            problems.push(Problem::new(
                ProblemKind::VersionUnreadable,
                &lockfile.path,
                &format!(
                    "{} is locked at version {:?}, which {} does not read as one exact \
                     version, so it cannot be checked: lock it again with the package manager",
                    package.name,
                    package.version,
                    package.ecosystem.version_rules()
                ),
                true,
            ));
        }
    }
}

/// Versions a change keeps with another checksum: a tampered lockfile, never an update (the
/// registry serves one tarball a version, for good). Blocks unless `[checks]` says otherwise.
fn checksums_changed(context: &Context<'_>, problems: &mut Vec<Problem>) {
    use crate::config::CiRule;
    let level = context.settings.checksum_changed;
    if level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        for change in lockfile.checksums_changed.iter() {
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
