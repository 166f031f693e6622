//! Code that runs when a package is installed.

use super::Context;
use crate::config::CiRule;
use crate::ecosystem;
use crate::report::{Problem, ProblemKind};

/// Upgrades to a version that runs an install script where the one it replaces ran none: the
/// worms of 2025 spread that way. Approved by the package manager's own list (pnpm
/// `onlyBuiltDependencies` / `allowBuilds`, bun `trustedDependencies`, yarn `dependenciesMeta`
/// `built`) or by `allow-scripts` in `[checks]`.
pub(super) fn install_scripts_gained(context: &Context<'_>, problems: &mut Vec<Problem>) {
    let level = context.level("install-script-gained");
    if level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        if lockfile.changes.scripts.is_empty() {
            continue;
        }
        let mut approved = approved_scripts(&lockfile.settings_files);
        approved.extend(context.settings.checks.allow_scripts.iter().cloned());
        for gained in &lockfile.changes.scripts {
            if approved.contains(&gained.package.name)
                || context.exempt(&gained.package, "install-script-gained")
            {
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
pub(super) fn install_scripts_new(context: &Context<'_>, problems: &mut Vec<Problem>) {
    let level = context.level("install-script-new");
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
        approved.extend(context.settings.checks.allow_scripts.iter().cloned());
        new.retain(|entry| {
            !approved.contains(&entry.package.name)
                && !context.exempt(&entry.package, "install-script-new")
        });
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
