//! PHP's Packagist ecosystem: Composer's `composer.lock` (`composer_lock.rs`), Composer's and
//! OSV's version rules (`version.rs`), and the lockfile check of `composer.json` projects
//! (`sync.rs`, with the `content-hash` of `content_hash.rs`).

pub mod composer_lock;
pub mod content_hash;
pub mod sync;
pub mod version;

use super::{Ecosystem, Files, Format, Named, SyncProblem};
use crate::error::Error;
use crate::package;
use std::collections::BTreeSet;

/// PHP's Packagist ecosystem.
pub struct Packagist;

/// Composer's `composer.lock`.
pub static COMPOSER_LOCK: Named = Named {
    file: sync::COMPOSER_LOCK,
    parse: composer_lock::parse_locked,
};

static FORMATS: [&dyn Format; 1] = [&COMPOSER_LOCK];

impl Ecosystem for Packagist {
    fn id(&self) -> package::Ecosystem {
        package::Ecosystem::Packagist
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
        Ok(super::manifest_folders(
            files,
            changed,
            &[sync::COMPOSER_JSON],
        ))
    }

    fn check_project(&self, files: &dyn Files, folder: &str) -> Result<Vec<SyncProblem>, Error> {
        sync::check_project(files, folder)
    }
}
