//! PHP's Packagist ecosystem: Composer's `composer.lock` (`composer_lock.rs`), Composer's and
//! OSV's version rules (`version.rs`), and the lockfile check of `composer.json` projects
//! (`sync.rs`, with the `content-hash` of `content_hash.rs`).

pub mod composer_lock;
pub mod content_hash;
pub mod sync;
pub mod version;

use super::{Ecosystem, Format};
use crate::matching::Scheme;
use crate::package;

/// Composer's `composer.lock`.
pub static COMPOSER_LOCK: Format = Format::named(sync::COMPOSER_LOCK, composer_lock::parse_locked);

/// PHP's Packagist ecosystem.
pub static PACKAGIST: Ecosystem = Ecosystem {
    id: package::Ecosystem::Packagist,
    version_rules: "Composer",
    scheme: Scheme::Composer,
    normal_version: version::osv_normal,
    // Lower case, as Packagist and OSV spell names.
    normal_name: |name| name.trim().to_ascii_lowercase(),
    formats: &[&COMPOSER_LOCK],
    is_trigger: sync::is_trigger,
    projects: |files, changed| {
        Ok(super::manifest_folders(
            files,
            changed,
            &[sync::COMPOSER_JSON],
        ))
    },
    check_project: |files, folder| sync::check_project(files, folder),
    unpinned_advice: "lock it with `composer update`",
    // Archive URLs name no package (`…/zipball/<commit>`).
    download_names: |_, _| None,
};
