//! The checks of what a change adds that need no advisory: each is a function over the
//! lockfiles to check and the settings, adding the problems it finds. A new check is a function
//! here and a line in [`CHECKS`], not code in the orchestrator.

mod checksums;
mod origins;
mod private;
pub(crate) mod scripts;
mod sources;

use crate::config::CiRule;
use crate::ecosystem;
use crate::package::Package;
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

impl Context<'_> {
    /// The level of `check` (a `[checks]` key), as the configuration sets it.
    pub(crate) fn level(&self, check: &str) -> CiRule {
        self.settings.level(check)
    }

    /// Whether an `[[exempt]]` for `check` covers `package` today.
    pub(crate) fn exempt(&self, package: &Package, check: &str) -> bool {
        crate::age::exempt(self.settings, package, check)
    }
}

/// A check.
pub(crate) type Check = fn(&Context<'_>, &mut Vec<Problem>);

/// Every check, in the order their problems are reported.
pub(crate) const CHECKS: &[Check] = &[
    unpinned,
    unreadable_versions,
    checksums::checksums_changed,
    scripts::install_scripts_gained,
    scripts::install_scripts_new,
    sources::insecure_downloads,
    sources::download_hosts,
    sources::download_urls_changed,
    sources::download_name_mismatches,
    origins::non_registry_sources,
    origins::git_references_unpinned,
    checksums::checksums_missing,
    checksums::checksums_weak,
    private::dependency_confusion,
];

/// Requirements that pin no version: what gets installed cannot be checked (malware published
/// under the name still is). Blocks when `fail-on-unpinned` says so.
fn unpinned(context: &Context<'_>, problems: &mut Vec<Problem>) {
    for lockfile in context.lockfiles {
        if lockfile.locked.unpinned.is_empty() {
            continue;
        }
        let private = crate::private::Private::of(context.settings, lockfile);
        for unpinned in &lockfile.locked.unpinned {
            let advice = ecosystem::of(unpinned.package.ecosystem).unpinned_advice;
            let still = if private.names_any() && private.named(&unpinned.package).is_some() {
                "it is private, so its name is not sent to OSV".to_string()
            } else {
                format!(
                    "malware published as {} is still looked for",
                    unpinned.package.name
                )
            };
            problems.push(Problem::new(
                ProblemKind::UnpinnedRequirement,
                &lockfile.path,
                &format!(
                    "`{}` does not pin one version, so what gets installed cannot be checked \
                     ({still}): {advice}",
                    unpinned.requirement
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
