//! Code that runs when a package is installed.

use super::Context;
use crate::config::CiRule;
use crate::ecosystem;
use crate::package::{Ecosystem, Entry, Package};
use crate::report::{Problem, ProblemKind};
use crate::sanitize::clean;

/// Upgrades to a version that runs an install script where the one it replaces ran none: the
/// worms of 2025 spread that way. Approved by the package manager's own list (pnpm
/// `onlyBuiltDependencies` / `allowBuilds`, bun `trustedDependencies`, yarn `dependenciesMeta`
/// `built`) or by `allow-scripts` in `[checks]`. For Python, a release the lockfile offers only
/// as source distributions, where the one it replaces had wheels: its build runs at install.
pub(super) fn install_scripts_gained(context: &Context<'_>, problems: &mut Vec<Problem>) {
    let level = context.level("install-script-gained");
    if level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        if lockfile.changes.scripts.is_empty() {
            continue;
        }
        let approved = approved_for(context.settings, lockfile);
        for gained in &lockfile.changes.scripts {
            if is_approved(&approved, &gained.package)
                || context.exempt(&gained.package, "install-script-gained")
            {
                continue;
            }
            problems.push(
                Problem::new(
                    ProblemKind::InstallScriptGained,
                    &lockfile.path,
                    &gained_message(&gained.package, &gained.before),
                    level == CiRule::Block,
                )
                .at(gained.line.unwrap_or(0), 0),
            );
        }
    }
}

/// What an upgrade that gains install-time code is said as, in its ecosystem's terms.
pub(crate) fn gained_message(package: &Package, before: &str) -> String {
    let (name, version) = (clean(&package.name), clean(&package.version));
    match package.ecosystem {
        Ecosystem::PyPI => format!(
            "{name} {version} is offered only as a source distribution, and {before} had \
             wheels: installing it now runs its build, code that runs on every machine that \
             installs it, added in an upgrade. Check the release; if it is expected, exempt it \
             ([[exempt]] check = \"install-script-gained\" in .lockgate.toml)"
        ),
        _ => format!(
            "{name} {version} runs an install script, and {before} did not: code that runs on \
             every machine that installs it, added in an upgrade. Check the release; if it is \
             expected, approve it in the package manager's list of packages allowed to build, \
             or in allow-scripts under [checks] of .lockgate.toml"
        ),
    }
}

/// Packages a change adds (not upgrades) that run code at install, as the lockfile records it
/// (an install script; for Python, only a source distribution to build): said once per
/// lockfile, not blocking unless `[checks]` says so; approved ones are not listed.
pub(super) fn install_scripts_new(context: &Context<'_>, problems: &mut Vec<Problem>) {
    for lockfile in context.lockfiles {
        let mut new: Vec<&Entry> = lockfile
            .locked
            .entries
            .iter()
            .filter(|entry| entry.install_scripts == Some(true) && entry.is_queryable())
            .filter(|entry| !lockfile.replaced.contains_key(&entry.package))
            .collect();
        if new.is_empty() {
            continue;
        }
        let approved = approved_for(context.settings, lockfile);
        new.retain(|entry| !is_approved(&approved, &entry.package));
        new.dedup_by(|a, b| a.package == b.package);
        let (python, scripts): (Vec<&Entry>, Vec<&Entry>) = new
            .into_iter()
            .partition(|entry| entry.package.ecosystem == Ecosystem::PyPI);
        let said = [
            (scripts, "install-script-new", ProblemKind::InstallScriptNew),
            (python, "sdist-only", ProblemKind::SdistOnly),
        ];
        for (mut entries, check, kind) in said {
            let level = context.level(check);
            entries.retain(|entry| !context.exempt(&entry.package, check));
            if level == CiRule::Off || entries.is_empty() {
                continue;
            }
            let packages: Vec<&Package> = entries.iter().map(|entry| &entry.package).collect();
            let message = new_message(kind, &summary(&packages), entries.len() == 1);
            problems.push(
                Problem::new(kind, &lockfile.path, &message, level == CiRule::Block)
                    .at(entries[0].line.unwrap_or(0), 0),
            );
        }
    }
}

/// What new packages that run code at install are said as: `names` and whether it is one.
pub(crate) fn new_message(kind: ProblemKind, names: &str, one: bool) -> String {
    let (is, them, their) = if one {
        ("is", "it", "its")
    } else {
        ("are", "them", "their")
    };
    match kind {
        ProblemKind::SdistOnly => format!(
            "{names} {is} new and offered only as source distributions: installing {them} \
             runs {their} build, code that runs on every machine that installs {them}. Review; \
             prefer a release with wheels, or exempt it ([[exempt]] check = \"sdist-only\" in \
             .lockgate.toml)"
        ),
        _ => format!(
            "{names} {is} new and run{s} an install script: code that runs on every machine \
             that installs {them}. Review, then approve in the package manager's list of \
             packages allowed to build, or in allow-scripts under [checks] of .lockgate.toml",
            s = if one { "s" } else { "" }
        ),
    }
}

/// The first five packages, as `name@version, …` and how many more.
pub(crate) fn summary(packages: &[&Package]) -> String {
    let names: Vec<String> = packages
        .iter()
        .take(5)
        .map(|package| format!("{}@{}", clean(&package.name), clean(&package.version)))
        .collect();
    match packages.len() {
        n if n > 5 => format!("{} and {} more", names.join(", "), n - 5),
        _ => names.join(", "),
    }
}

/// Whether `approved` (names, or `name@version` for one version) approves `package`'s install
/// scripts.
pub(crate) fn is_approved(
    approved: &std::collections::BTreeSet<String>,
    package: &Package,
) -> bool {
    approved.contains(&package.name)
        || approved.contains(&format!("{}@{}", package.name, package.version))
}

/// The packages `settings` and the package manager's lists approve to run install scripts for
/// `lockfile`.
pub(crate) fn approved_for(
    settings: &crate::settings::Settings,
    lockfile: &crate::scope::LockfileToCheck,
) -> std::collections::BTreeSet<String> {
    let mut approved = approved_scripts(&lockfile.settings_files);
    approved.extend(settings.checks.allow_scripts.iter().cloned());
    approved
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
                // npm 11.16+: `allowScripts`, `name` or `name@version` → true (false denies).
                if let Some(allowed) = manifest["allowScripts"].as_object() {
                    approved.extend(
                        allowed
                            .iter()
                            .filter(|(_, allow)| **allow == serde_json::Value::Bool(true))
                            .map(|(key, _)| key.clone()),
                    );
                }
                approved.extend(names(&manifest["trustedDependencies"]));
                if let Some(meta) = manifest["dependenciesMeta"].as_object() {
                    for (name, settings) in meta {
                        if settings["built"] == serde_json::Value::Bool(true) {
                            // `name`, or `name@version` for that version only.
                            approved.insert(name.clone());
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
