//! npm's ecosystem: the lockfiles of npm, yarn, pnpm and bun, and the lockfile check that
//! judges each project as its package manager's frozen install would (`sync/`).

pub mod bun;
pub mod package_lock;
pub mod pnpm;
pub mod sync;
pub mod yarn;

use super::{Ecosystem, Files, Format, Named, SyncProblem};
use crate::error::Error;
use crate::package::{self, LockedSet};
use std::collections::BTreeSet;

/// npm's ecosystem.
pub struct Npm;

/// npm's `package-lock.json`.
pub static PACKAGE_LOCK: Named = Named {
    file: "package-lock.json",
    parse: parse_package_lock,
};
/// npm's `npm-shrinkwrap.json` (same format; wins over package-lock.json).
pub static SHRINKWRAP: Named = Named {
    file: "npm-shrinkwrap.json",
    parse: parse_package_lock,
};
/// yarn's `yarn.lock`, classic (v1) or berry (2+).
pub static YARN: Named = Named {
    file: "yarn.lock",
    parse: |text| yarn::YarnLock::parse(text).map(|lock| lock.locked),
};
/// pnpm's `pnpm-lock.yaml` (lockfile versions 5.4, 6 and 9).
pub static PNPM: Named = Named {
    file: "pnpm-lock.yaml",
    parse: |text| pnpm::PnpmLock::parse(text).map(|lock| lock.locked),
};
/// bun's text `bun.lock`.
pub static BUN: Named = Named {
    file: "bun.lock",
    parse: |text| bun::BunLock::parse(text).map(|lock| lock.locked),
};

fn parse_package_lock(text: &str) -> Result<LockedSet, super::ParseError> {
    package_lock::NpmLock::parse(text).map(|lock| lock.locked_set())
}

static FORMATS: [&dyn Format; 5] = [&PACKAGE_LOCK, &SHRINKWRAP, &YARN, &PNPM, &BUN];

impl Ecosystem for Npm {
    fn id(&self) -> package::Ecosystem {
        package::Ecosystem::Npm
    }

    fn formats(&self) -> &'static [&'static dyn Format] {
        &FORMATS
    }

    fn is_trigger(&self, path: &str) -> bool {
        sync::is_trigger(path)
    }

    fn projects(
        &self,
        files: &dyn Files,
        changed: Option<&[String]>,
    ) -> Result<BTreeSet<String>, Error> {
        match changed {
            Some(changed) => sync::staged_projects(files, changed),
            None => sync::all_projects(files),
        }
    }

    fn check_project(&self, files: &dyn Files, folder: &str) -> Result<Vec<SyncProblem>, Error> {
        sync::check_project(files, folder)
    }
}
