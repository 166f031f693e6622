//! Which packages are the project's own: one decision, for the lookup (a private package is
//! never named to OSV), the release-age check (nor to a registry that is not private) and the
//! dependency-confusion check (nor resolved from one).
//!
//! A package is private when it was resolved from a private registry, or when its name is
//! private by configuration:
//! - **by registry**: the host its lockfile entry records is one of `private-registries` (or
//!   below one), or the host of a registry the project configures for a scope or for some
//!   packages only: `@scope:registry=` in `.npmrc`, yarn's `npmScopes`, bun's
//!   `[install.scopes]`, a uv `[[tool.uv.index]]` with `explicit = true` that
//!   `[tool.uv.sources]` pins packages to, a poetry source with `priority = "explicit"` that
//!   dependencies name with `source = …`. A host the project also uses as its default registry
//!   is not private by that: a mirror of the public registry serves public names too.
//! - **by name**: an npm name under such a scope, a Python name pinned to such an index, or a
//!   name `private-packages` matches (exact, or a glob such as `@acme/*`).
//!
//! The names of a company's packages are themselves sensitive: asking a public service about
//! them tells it what the company builds. Public advisories are not about them either.

use crate::age::project::{self, Project};
use crate::package::{Ecosystem, Entry, Package, Source};
use crate::scope::LockfileToCheck;
use crate::settings::Settings;
use std::collections::BTreeSet;

/// Whether `host` is one of `registries` (or below one), which may be written as hosts or URLs.
pub(crate) fn listed(host: &str, registries: &[String]) -> bool {
    registries.iter().any(|registry| {
        let registry = crate::package::url_host(registry).unwrap_or_else(|| {
            registry
                .split('/')
                .next()
                .unwrap_or(registry)
                .to_ascii_lowercase()
        });
        !registry.is_empty() && (host == registry || host.ends_with(&format!(".{registry}")))
    })
}

/// Why a name is private by configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Named {
    /// Its npm scope has a registry of its own in the project's settings (the registry's host,
    /// when its URL could be read).
    Scope(String, Option<String>),
    /// The project pins it to an explicit index (its URL).
    Pinned(String),
    /// A `private-packages` pattern matches it.
    Configured(String),
}

impl Named {
    /// Why, in words, for a message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Named::Scope(scope, Some(host)) => {
                format!("the project's settings send its scope {scope} to {host}")
            }
            Named::Scope(scope, None) => {
                format!("the project's settings send its scope {scope} to a registry of its own")
            }
            Named::Pinned(url) => format!("the project pins it to the explicit index {url}"),
            Named::Configured(pattern) => {
                format!("`private-packages` in .lockgate.toml names it (\"{pattern}\")")
            }
        }
    }
}

/// What makes a package private around one lockfile.
#[derive(Debug)]
pub(crate) struct Private<'s> {
    /// `private-registries`, as configured.
    registries: &'s [String],
    /// `private-packages`, as configured.
    patterns: &'s [String],
    /// Hosts of the registries the project configures for a scope or for some packages only.
    hosts: Vec<String>,
    /// npm scopes with a registry of their own, and its URL (lowercase, no trailing `/`) when
    /// known.
    scopes: Vec<(String, Option<String>)>,
    /// Python names (PEP 503 normal form) pinned to an explicit index, and its URL (lowercase,
    /// no trailing `/`).
    pinned: Vec<(String, String)>,
}

impl<'s> Private<'s> {
    /// What `settings` and the project settings around `lockfile` make private.
    pub(crate) fn of(settings: &'s Settings, lockfile: &LockfileToCheck) -> Private<'s> {
        let project = project::read(&lockfile.path, &lockfile.settings_files, settings.now);
        Private::around(settings, lockfile, &project)
    }

    /// [`Private::of`], the project's settings (`project`) already read.
    pub(crate) fn around(
        settings: &'s Settings,
        lockfile: &LockfileToCheck,
        project: &Project,
    ) -> Private<'s> {
        let whole = lockfile.whole.as_deref().unwrap_or(&lockfile.locked);
        Private::new(
            &settings.private_registries,
            &settings.private_packages,
            project,
            &whole.entries,
        )
    }

    /// What `private-registries` (`registries`), `private-packages` (`patterns`) and a
    /// project's settings (`project`) make private, for a lockfile of `entries`.
    ///
    /// A scope's registry, or an explicit index, serves only the project's own names unless
    /// the project also takes other names from it: it is the default registry's URL, or the
    /// lockfile downloads a name outside the scopes and pins from below it (a `.npmrc` may send
    /// a public scope to the public registry by name). Its host is private only if nothing
    /// else comes from that host either (a company's server may host a mirror of the public
    /// registry beside its own), or `private-registries` lists it.
    pub(crate) fn new(
        registries: &'s [String],
        patterns: &'s [String],
        project: &Project,
        entries: &[Entry],
    ) -> Private<'s> {
        let host_of = |url: &str| crate::package::url_host(url);
        let base = |url: &str| url.trim().trim_end_matches('/').to_ascii_lowercase();
        let registry_of = |scope: &str| {
            project
                .registries
                .iter()
                .find(|(named, _)| named.as_deref() == Some(scope))
                .map(|(_, url)| base(url))
        };
        let mut scopes: Vec<(String, Option<String>)> = project
            .scopes
            .iter()
            .map(|scope| (scope.clone(), registry_of(scope)))
            .collect();
        let mut pinned: Vec<(String, String)> = project
            .pinned
            .iter()
            .map(|(name, url)| {
                (
                    crate::ecosystem::pypi::version::normal_name(name),
                    base(url),
                )
            })
            .collect();
        // What the project takes names outside its scopes and pins from: its default
        // registries, and the lockfile's other downloads.
        let mut elsewhere: Vec<String> = project
            .registries
            .iter()
            .filter(|(scope, _)| scope.is_none())
            .map(|(_, url)| base(url))
            .collect();
        if !scopes.is_empty() || !pinned.is_empty() {
            let candidate = Private {
                registries,
                patterns,
                hosts: Vec::new(),
                scopes: scopes.clone(),
                pinned: pinned.clone(),
            };
            let mut seen = BTreeSet::new();
            for entry in entries {
                if let Source::Registry { url: Some(url), .. } = &entry.source {
                    if candidate.named(&entry.package).is_none() && seen.insert(url.as_str()) {
                        elsewhere.push(url.to_ascii_lowercase());
                    }
                }
            }
        }
        let serves_others = |registry: &str| {
            elsewhere.iter().any(|url| {
                url == registry
                    || url
                        .strip_prefix(registry)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
        };
        let listed_url = |url: &str| host_of(url).is_some_and(|host| listed(&host, registries));
        let own = |url: Option<&str>| url.is_none_or(|url| listed_url(url) || !serves_others(url));
        scopes.retain(|(_, url)| own(url.as_deref()));
        // An explicit Python index is as often a public vendor's (a framework's own wheels)
        // as the organisation's: only `private-registries` makes it private, so that no
        // public package goes unchecked for being pinned to one.
        pinned.retain(|(_, url)| listed_url(url));
        let other_hosts: BTreeSet<String> =
            elsewhere.iter().filter_map(|url| host_of(url)).collect();
        let mut hosts: Vec<String> = scopes
            .iter()
            .filter_map(|(_, url)| url.as_deref())
            .chain(pinned.iter().map(|(_, url)| url.as_str()))
            .filter_map(host_of)
            .filter(|host| !other_hosts.contains(host))
            .collect();
        hosts.sort();
        hosts.dedup();
        Private {
            registries,
            patterns,
            hosts,
            scopes,
            pinned,
        }
    }

    /// Whether `url` is below the registry the project sends `package`'s scope or pin to.
    pub(crate) fn below_own_registry(&self, package: &Package, url: &str) -> bool {
        let url = url.to_ascii_lowercase();
        let below = |registry: &str| {
            url.strip_prefix(registry)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        let scope = package.name.split('/').next().unwrap_or_default();
        let by_scope = self
            .scopes
            .iter()
            .any(|(known, registry)| known == scope && registry.as_deref().is_some_and(below));
        let name = crate::ecosystem::pypi::version::normal_name(&package.name);
        let by_pin = package.ecosystem == Ecosystem::PyPI
            && self
                .pinned
                .iter()
                .any(|(known, registry)| *known == name && below(registry));
        by_scope || by_pin
    }

    /// Whether nothing is private here (the common case, decided without looking at entries).
    pub(crate) fn is_empty(&self) -> bool {
        self.registries.is_empty() && self.hosts.is_empty() && !self.names_any()
    }

    /// Whether some names may be private by configuration.
    pub(crate) fn names_any(&self) -> bool {
        !self.patterns.is_empty() || !self.scopes.is_empty() || !self.pinned.is_empty()
    }

    /// Whether `host` is a private registry's: one of `private-registries` (or below one), or a
    /// registry the project configures for a scope or for some packages only.
    pub(crate) fn host(&self, host: &str) -> bool {
        listed(host, self.registries) || self.hosts.iter().any(|known| known == host)
    }

    /// Why `package`'s name is private by configuration, if it is.
    pub(crate) fn named(&self, package: &Package) -> Option<Named> {
        let name = package.name.as_str();
        if package.ecosystem == Ecosystem::Npm && name.starts_with('@') {
            let scope = name.split('/').next().unwrap_or(name);
            if let Some((scope, url)) = self.scopes.iter().find(|(known, _)| known == scope) {
                let host = url.as_deref().and_then(crate::package::url_host);
                return Some(Named::Scope(scope.clone(), host));
            }
        }
        let normal = |text: &str| match package.ecosystem {
            Ecosystem::PyPI => crate::ecosystem::pypi::version::normal_name(text),
            Ecosystem::Packagist => text.to_ascii_lowercase(),
            Ecosystem::Npm => text.to_string(),
        };
        let name = normal(name);
        if package.ecosystem == Ecosystem::PyPI {
            if let Some((_, url)) = self.pinned.iter().find(|(known, _)| *known == name) {
                return Some(Named::Pinned(url.clone()));
            }
        }
        self.patterns
            .iter()
            .find(|pattern| crate::ecosystem::glob::name_matches(&normal(pattern), &name))
            .map(|pattern| Named::Configured(pattern.clone()))
    }

    /// Whether `entry` is private: resolved from a private registry, or named so.
    pub(crate) fn entry(&self, entry: &Entry) -> bool {
        let by_host = matches!(&entry.source, Source::Registry { host: Some(host), .. }
            if self.host(host));
        by_host || self.names_any() && self.named(&entry.package).is_some()
    }
}

/// The packages to check that are private in a lockfile that locks them: never named to OSV.
/// A name locked privately in one project and publicly in another stays private.
pub(crate) fn packages(settings: &Settings, lockfiles: &[&LockfileToCheck]) -> BTreeSet<Package> {
    let mut private = BTreeSet::new();
    for lockfile in lockfiles {
        let decides = Private::of(settings, lockfile);
        if decides.is_empty() {
            continue;
        }
        for entry in &lockfile.locked.entries {
            if entry.is_queryable() && decides.entry(entry) {
                private.insert(entry.package.clone());
            }
        }
        if decides.names_any() {
            for unpinned in &lockfile.locked.unpinned {
                if decides.named(&unpinned.package).is_some() {
                    private.insert(unpinned.package.clone());
                }
            }
        }
    }
    private
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `private-registries` and `private-packages`.
    fn configured(registries: &[&str], patterns: &[&str]) -> (Vec<String>, Vec<String>) {
        let owned = |list: &[&str]| list.iter().map(|item| item.to_string()).collect();
        (owned(registries), owned(patterns))
    }

    fn project(lockfile: &str, files: &[(&str, &str)]) -> Project {
        let files: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|(path, text)| (path.to_string(), text.as_bytes().to_vec()))
            .collect();
        project::read(lockfile, &files, 0)
    }

    fn entry(ecosystem: Ecosystem, name: &str, url: &str) -> Entry {
        Entry::registry(Package::new(ecosystem, name, "1.0.0")).from_url(url)
    }

    #[test]
    fn private_registries_match_hosts_and_subdomains() {
        let registries = vec![
            "npm.corp.example".to_string(),
            "https://pypi.corp.example/simple".to_string(),
        ];
        assert!(listed("npm.corp.example", &registries));
        assert!(listed("eu.npm.corp.example", &registries));
        assert!(listed("pypi.corp.example", &registries));
        assert!(!listed("npm.corp.example.evil", &registries));
        assert!(!listed("registry.example.test", &registries));
        assert!(!listed("registry.example.test", &[String::new()]));
    }

    #[test]
    fn a_scope_with_its_own_registry_makes_its_names_and_host_private() {
        let settings = configured(&[], &[]);
        let scoped = project(
            "package-lock.json",
            &[(
                ".npmrc",
                "@acme:registry=https://npm.acme.example.test/\n@env:registry=${URL}\n",
            )],
        );
        let private = Private::new(&settings.0, &settings.1, &scoped, &[]);
        let public = "https://registry.example.test/x/-/x-1.0.0.tgz";
        let own = "https://npm.acme.example.test/x/-/x-1.0.0.tgz";
        assert!(private.entry(&entry(Ecosystem::Npm, "@acme/tool", public)));
        assert!(private.entry(&entry(Ecosystem::Npm, "@env/tool", public)));
        assert!(private.entry(&entry(Ecosystem::Npm, "unscoped", own)));
        assert!(!private.entry(&entry(Ecosystem::Npm, "left-pad", public)));
        assert!(!private.host("registry.example.test"));
        assert_eq!(
            private.named(&Package::new(Ecosystem::Npm, "@acme/tool", "1.0.0")),
            Some(Named::Scope(
                "@acme".into(),
                Some("npm.acme.example.test".into())
            ))
        );
        // A mirror that is also the default registry serves public names: its host says nothing.
        let mirror = project(
            "package-lock.json",
            &[(
                ".npmrc",
                "registry=https://mirror.example.test/\n@acme:registry=https://mirror.example.test/acme/\n",
            )],
        );
        let private = Private::new(&settings.0, &settings.1, &mirror, &[]);
        assert!(!private.host("mirror.example.test"));
        assert!(private.entry(&entry(Ecosystem::Npm, "@acme/tool", public)));
        // Nor a server that also serves other names from the lockfile, at another path.
        let beside = [entry(
            Ecosystem::Npm,
            "left-pad",
            "https://npm.acme.example.test/mirror/left-pad/-/left-pad-1.3.0.tgz",
        )];
        let pathed = project(
            "package-lock.json",
            &[(
                ".npmrc",
                "@acme:registry=https://npm.acme.example.test/acme/\n",
            )],
        );
        let private = Private::new(&settings.0, &settings.1, &pathed, &beside);
        assert!(!private.host("npm.acme.example.test"));
        assert!(private.entry(&entry(Ecosystem::Npm, "@acme/tool", own)));
        // A public scope sent to the public registry by name (tests/fixtures/npm/package-lock/
        // real-mcp-inspector): the lockfile takes other names from that host too.
        let named = project(
            "package-lock.json",
            &[(
                ".npmrc",
                "@pub:registry=\"https://registry.example.test/\"\n",
            )],
        );
        let lockfile = [
            entry(Ecosystem::Npm, "@pub/sdk", public),
            entry(Ecosystem::Npm, "left-pad", public),
        ];
        let private = Private::new(&settings.0, &settings.1, &named, &lockfile);
        assert!(!private.entry(&lockfile[0]) && !private.host("registry.example.test"));
        // Unless private-registries lists it.
        let listed = configured(&["registry.example.test"], &[]);
        let private = Private::new(&listed.0, &listed.1, &named, &lockfile);
        assert!(private.entry(&lockfile[0]));
    }

    #[test]
    fn explicit_python_indexes_listed_as_private_make_the_names_pinned_to_them_private() {
        // A vendor's public index pinned as explicit is not private.
        let unlisted = configured(&[], &[]);
        let vendor = project(
            "uv.lock",
            &[(
                "pyproject.toml",
                "[[tool.uv.index]]\nname = \"vendor\"\nurl = \"https://wheels.vendor.example.test/simple\"\nexplicit = true\n\n[tool.uv.sources]\nframework = { index = \"vendor\" }\n",
            )],
        );
        let private = Private::new(&unlisted.0, &unlisted.1, &vendor, &[]);
        assert!(private
            .named(&Package::new(Ecosystem::PyPI, "framework", "2.0.0"))
            .is_none());
        assert!(!private.host("wheels.vendor.example.test"));

        let settings = configured(&["pypi.acme.example.test"], &[]);
        let uv = project(
            "uv.lock",
            &[(
                "pyproject.toml",
                "[[tool.uv.index]]\nname = \"acme\"\nurl = \"https://pypi.acme.example.test/simple\"\nexplicit = true\n\n[[tool.uv.index]]\nname = \"mirror\"\nurl = \"https://mirror.example.test/simple\"\n\n[tool.uv.sources]\nAcme_Tool = { index = \"acme\" }\nother = { index = \"mirror\" }\n",
            )],
        );
        let private = Private::new(&settings.0, &settings.1, &uv, &[]);
        let named = private.named(&Package::new(Ecosystem::PyPI, "acme-tool", "1.0.0"));
        assert_eq!(
            named,
            Some(Named::Pinned(
                "https://pypi.acme.example.test/simple".into()
            ))
        );
        assert!(private.host("pypi.acme.example.test"));
        assert!(!private.host("mirror.example.test"));
        assert!(private
            .named(&Package::new(Ecosystem::PyPI, "other", "1.0.0"))
            .is_none());

        let poetry = project(
            "poetry.lock",
            &[(
                "pyproject.toml",
                "[[tool.poetry.source]]\nname = \"acme\"\nurl = \"https://pypi.acme.example.test/simple/\"\npriority = \"explicit\"\n\n[tool.poetry.dependencies]\npython = \"^3.11\"\n\n[tool.poetry.group.dev.dependencies]\nacme-lint = { version = \"^1\", source = \"acme\" }\n",
            )],
        );
        let private = Private::new(&settings.0, &settings.1, &poetry, &[]);
        assert!(private
            .named(&Package::new(Ecosystem::PyPI, "acme-lint", "1.0.0"))
            .is_some());
        assert!(private.host("pypi.acme.example.test"));
    }

    #[test]
    fn private_packages_match_exactly_or_by_glob() {
        let settings = configured(&["npm.corp.example.test"], &["@acme/*", "Internal_Tool"]);
        let private = Private::new(&settings.0, &settings.1, &Project::default(), &[]);
        let public = "https://registry.example.test/x.tgz";
        assert!(private.entry(&entry(Ecosystem::Npm, "@acme/ui", public)));
        assert!(!private.entry(&entry(Ecosystem::Npm, "@acme-x/ui", public)));
        assert!(private.entry(&entry(Ecosystem::PyPI, "internal-tool", public)));
        assert!(private.entry(&entry(
            Ecosystem::Npm,
            "left-pad",
            "https://npm.corp.example.test/left-pad.tgz"
        )));
        assert!(!private.entry(&entry(Ecosystem::Npm, "left-pad", public)));
        let nothing = configured(&[], &[]);
        assert!(Private::new(&nothing.0, &nothing.1, &Project::default(), &[]).is_empty());
    }
}
