//! Names that are the project's own, resolved from a registry that is not private.

use super::Context;
use crate::config::CiRule;
use crate::package::Source;
use crate::private::Private;
use crate::report::{Problem, ProblemKind};

/// Entries a change adds whose name is private by configuration (a scope with a registry of
/// its own, a name pinned to an explicit index, `private-packages`) but whose recorded download
/// or index host is not a private registry: the lockfile installs a public package of the same
/// name (dependency confusion). A lockfile that records no URL (yarn berry, pnpm's registry
/// entries) resolves by the configuration at install time: nothing to say.
pub(super) fn dependency_confusion(context: &Context<'_>, problems: &mut Vec<Problem>) {
    let level = context.level("dependency-confusion");
    if level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        let private = Private::of(context.settings, lockfile);
        if !private.names_any() {
            continue;
        }
        let mut seen = std::collections::BTreeSet::new();
        for entry in &lockfile.locked.entries {
            let Source::Registry {
                host: Some(host),
                url: Some(url),
            } = &entry.source
            else {
                continue;
            };
            if private.host(host) || private.below_own_registry(&entry.package, url) {
                continue;
            }
            let Some(named) = private.named(&entry.package) else {
                continue;
            };
            if !seen.insert((&entry.package, url))
                || context.exempt(&entry.package, "dependency-confusion")
            {
                continue;
            }
            problems.push(
                Problem::new(
                    ProblemKind::DependencyConfusion,
                    &lockfile.path,
                    &format!(
                        "{}@{} is private ({}), but the lockfile downloads it from {host} ({url}), \
                         which is not a private registry: a public package of the same name \
                         would be installed in its place (dependency confusion). Lock it again \
                         from your own registry; if {host} is yours, add it to \
                         private-registries in .lockgate.toml",
                        entry.package.name,
                        entry.package.version,
                        named.describe()
                    ),
                    level == CiRule::Block,
                )
                .at(entry.line.unwrap_or(0), 0),
            );
        }
    }
}
