//! One version, one meaning: each ecosystem's normal form of a locked version, so that what is
//! compared, asked of OSV and cached is the version the package manager installs, however the
//! lockfile spells it.
//!
//! npm reads a locked version the way `semver.clean` does (`" v4.4.2\n"` is `4.4.2`); pip reads
//! one by PEP 440 (`1.0-A1` is `1.0a1`). A lockfile that spells a version another way than the
//! tool writes it is either a hand edit or an attempt to slip past a check keyed on the text.

use crate::package::Ecosystem;

/// The normal form of `raw` in `ecosystem`, or `None` when the package manager would not read
/// it as one exact version: each ecosystem's own rule ([`crate::ecosystem::Ecosystem`]).
pub fn normal(ecosystem: Ecosystem, raw: &str) -> Option<String> {
    (crate::ecosystem::of(ecosystem).normal_version)(raw)
}
