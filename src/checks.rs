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
pub(crate) const CHECKS: &[Check] = &[
    unpinned,
    unreadable_versions,
    checksums_changed,
    install_scripts_gained,
    install_scripts_new,
    insecure_downloads,
    checksums_missing,
];

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
        for change in &lockfile.changes.checksums {
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

/// Upgrades to a version that runs an install script where the one it replaces ran none: the
/// worms of 2025 spread that way. Approved by the package manager's own list (pnpm
/// `onlyBuiltDependencies` / `allowBuilds`, bun `trustedDependencies`, yarn `dependenciesMeta`
/// `built`) or by `allow-scripts` in `[checks]`.
fn install_scripts_gained(context: &Context<'_>, problems: &mut Vec<Problem>) {
    use crate::config::CiRule;
    let level = context.settings.install_script_gained;
    if level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        if lockfile.changes.scripts.is_empty() {
            continue;
        }
        let mut approved = approved_scripts(&lockfile.settings_files);
        approved.extend(context.settings.allow_scripts.iter().cloned());
        for gained in &lockfile.changes.scripts {
            if approved.contains(&gained.package.name) {
                continue;
            }
            problems.push(
                Problem::new(
                    ProblemKind::InstallScriptGained,
                    &lockfile.path,
                    &format!(
                        "{} {} runs an install script, and {} did not: code that runs on \
                         every machine that installs it, added in an upgrade. Check the release; \
                         if it is expected, approve it in the package manager's list of packages \
                         allowed to build, or in allow-scripts under [checks] of .lockgate.toml",
                        gained.package.name, gained.package.version, gained.before
                    ),
                    level == CiRule::Block,
                )
                .at(gained.line.unwrap_or(0), 0),
            );
        }
    }
}

/// Packages a change adds (not upgrades) that run an install script, as the lockfile records it:
/// said once per lockfile, not blocking unless `[checks]` says so; approved ones are not listed.
fn install_scripts_new(context: &Context<'_>, problems: &mut Vec<Problem>) {
    use crate::config::CiRule;
    let level = context.settings.install_script_new;
    if level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        let with_scripts = lockfile
            .locked
            .entries
            .iter()
            .filter(|entry| entry.install_scripts == Some(true) && entry.is_queryable())
            .filter(|entry| !lockfile.replaced.contains_key(&entry.package));
        let mut new: Vec<&crate::package::Entry> = with_scripts.collect();
        if new.is_empty() {
            continue;
        }
        let mut approved = approved_scripts(&lockfile.settings_files);
        approved.extend(context.settings.allow_scripts.iter().cloned());
        new.retain(|entry| !approved.contains(&entry.package.name));
        new.dedup_by(|a, b| a.package == b.package);
        let Some(first) = new.first() else { continue };
        let names: Vec<String> = new
            .iter()
            .take(5)
            .map(|entry| format!("{}@{}", entry.package.name, entry.package.version))
            .collect();
        let more = match new.len() {
            n if n > 5 => format!(" and {} more", n - 5),
            _ => String::new(),
        };
        problems.push(
            Problem::new(
                ProblemKind::InstallScriptNew,
                &lockfile.path,
                &format!(
                    "{}{more} {} an install script: code that runs on every machine that installs \
                     {}. Review, then approve in the package manager's list of packages allowed \
                     to build, or in allow-scripts under [checks] of .lockgate.toml",
                    names.join(", "),
                    if new.len() == 1 {
                        "is new and runs"
                    } else {
                        "are new and run"
                    },
                    if new.len() == 1 { "it" } else { "them" },
                ),
                level == CiRule::Block,
            )
            .at(first.line.unwrap_or(0), 0),
        );
    }
}

/// The packages the project's package manager settings allow to run install scripts.
fn approved_scripts(files: &[(String, Vec<u8>)]) -> std::collections::BTreeSet<String> {
    let mut approved = std::collections::BTreeSet::new();
    let names = |value: &serde_json::Value| -> Vec<String> {
        value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|name| Some(name.as_str()?.to_string()))
            .collect()
    };
    for (path, bytes) in files {
        match path.rsplit('/').next().unwrap_or(path) {
            "package.json" => {
                let Ok(manifest) = serde_json::from_slice::<serde_json::Value>(bytes) else {
                    continue;
                };
                approved.extend(names(&manifest["pnpm"]["onlyBuiltDependencies"]));
                approved.extend(names(&manifest["trustedDependencies"]));
                if let Some(meta) = manifest["dependenciesMeta"].as_object() {
                    for (name, settings) in meta {
                        if settings["built"] == serde_json::Value::Bool(true) {
                            // `name` or `name@version`.
                            let bare = match name.rfind('@') {
                                Some(at) if at > 0 => &name[..at],
                                _ => name.as_str(),
                            };
                            approved.insert(bare.to_string());
                        }
                    }
                }
            }
            "pnpm-workspace.yaml" => {
                let text = String::from_utf8_lossy(bytes);
                let Ok(document) = ecosystem::yaml_document(&text) else {
                    continue;
                };
                if let yaml_rust2::Yaml::Array(list) = &document["onlyBuiltDependencies"] {
                    approved.extend(list.iter().filter_map(ecosystem::yaml_text));
                }
                if let yaml_rust2::Yaml::Hash(builds) = &document["allowBuilds"] {
                    for (name, allowed) in builds {
                        if matches!(allowed, yaml_rust2::Yaml::Boolean(true)) {
                            approved.extend(ecosystem::yaml_text(name));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    approved
}

/// Entries a change adds that download over plain `http:` (a registry's or any other URL): anyone
/// on the path can swap the tarball. Loopback hosts (a registry on this machine) are not
/// reported: that traffic never leaves it.
fn insecure_downloads(context: &Context<'_>, problems: &mut Vec<Problem>) {
    use crate::config::CiRule;
    use crate::package::Source;
    let level = context.settings.download_insecure;
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
            if !plain || loopback || !seen.insert(url.clone()) {
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

/// A requirements file that pins hashes, with a requirement that has none: pip's hash-checking
/// mode refuses the whole file then.
fn checksums_missing(context: &Context<'_>, problems: &mut Vec<Problem>) {
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
