//! Where entries are downloaded from.

use super::Context;
use crate::config::CiRule;
use crate::report::{Problem, ProblemKind};

/// Entries a change adds that download over plain `http:` (a registry's or any other URL): anyone
/// on the path can swap the tarball. Loopback hosts (a registry on this machine) are not
/// reported: that traffic never leaves it.
pub(super) fn insecure_downloads(context: &Context<'_>, problems: &mut Vec<Problem>) {
    use crate::package::Source;
    let level = context.level("download-insecure");
    if level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        let mut seen = std::collections::BTreeSet::new();
        for entry in &lockfile.locked.entries {
            let url = match &entry.source {
                Source::Registry { url: Some(url), .. } => url,
                Source::Other { location, .. } => location,
                Source::Registry { url: None, .. } => continue,
            };
            let plain = url
                .get(..7)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"));
            let host = crate::package::url_host(url).unwrap_or_default();
            let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]" | "::1")
                || host.starts_with("127.");
            if !plain
                || loopback
                || !seen.insert(url.clone())
                || context.exempt(&entry.package, "download-insecure")
            {
                continue;
            }
            problems.push(
                Problem::new(
                    ProblemKind::DownloadInsecure,
                    &lockfile.path,
                    &format!(
                        "{}@{} downloads over plain http ({url}): anyone on the way can replace \
                         it. Use the registry's https address and lock it again",
                        entry.package.name, entry.package.version
                    ),
                    level == CiRule::Block,
                )
                .at(entry.line.unwrap_or(0), 0),
            );
        }
    }
}
