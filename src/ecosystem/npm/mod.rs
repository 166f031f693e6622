//! npm's ecosystem: the lockfiles of npm, yarn, pnpm and bun, and the lockfile check that
//! judges each project as its package manager's frozen install would (`sync/`).

pub mod berry_patch;
pub mod bun;
pub mod package_lock;
pub mod pnpm;
pub mod registry;
pub mod sync;
pub mod version;
pub mod yarn;

use super::{Ecosystem, Format};
use crate::matching::Scheme;
use crate::package::{self, LockedSet};

/// npm's `package-lock.json`.
pub static PACKAGE_LOCK: Format = Format::named("package-lock.json", parse_package_lock);
/// npm's `npm-shrinkwrap.json` (same format; wins over package-lock.json).
pub static SHRINKWRAP: Format = Format::named("npm-shrinkwrap.json", parse_package_lock);
// yarn, pnpm and bun lockfiles are read again by their sync check, which asks for the same
// parse (ecosystem::memo): what they lock is copied out of it.

/// yarn's `yarn.lock`, classic (v1) or berry (2+).
pub static YARN: Format = Format::named("yarn.lock", |text| {
    crate::ecosystem::memo::parsed(text, yarn::YarnLock::parse).map(|lock| lock.locked.clone())
});
/// pnpm's `pnpm-lock.yaml` (lockfile versions 5.4, 6 and 9).
pub static PNPM: Format = Format::named("pnpm-lock.yaml", |text| {
    crate::ecosystem::memo::parsed(text, pnpm::PnpmLock::parse).map(|lock| lock.locked.clone())
});
/// bun's text `bun.lock`.
pub static BUN: Format = Format::named("bun.lock", |text| {
    crate::ecosystem::memo::parsed(text, bun::BunLock::parse).map(|lock| lock.locked.clone())
});

fn parse_package_lock(text: &str) -> Result<LockedSet, super::ParseError> {
    crate::ecosystem::memo::parsed(text, package_lock::NpmLock::parse_with_lines)
        .map(|lock| lock.locked_set())
}

/// npm's ecosystem.
pub static NPM: Ecosystem = Ecosystem {
    id: package::Ecosystem::Npm,
    version_rules: "npm's semver",
    scheme: Scheme::Semver,
    normal_version: version::npm_clean,
    // npm names are case-sensitive and kept as written.
    normal_name: str::to_owned,
    formats: &[&PACKAGE_LOCK, &SHRINKWRAP, &YARN, &PNPM, &BUN],
    is_trigger: sync::is_trigger,
    projects: |files, changed| match changed {
        Some(changed) => sync::staged_projects(files, changed),
        None => sync::all_projects(files),
    },
    check_project: |files, folder| sync::check_project(files, folder),
    unpinned_advice: "lock it with the package manager",
    download_names: package_lock::tarball_names,
};
