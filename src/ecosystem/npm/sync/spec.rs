//! What a dependency spec (`^1.2.0`, `npm:real@1`, `file:../x`, `github:u/r#v1`, a URL) asks
//! for, classified the way npm-package-arg does, and the path and git helpers to compare it with
//! what a lockfile records.

pub use crate::ecosystem::join_relative as join;
use nodejs_semver::Range;

/// A dependency spec, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spec<'a> {
    /// `*`, `""`, `x`: any version at all (npm does not even look at prereleases).
    Any,
    /// A semver range or exact version, checked with npm's semver rules.
    Range(Range),
    /// A dist-tag such as `latest`: any registry version will do.
    Tag,
    /// `npm:real@spec`: the package `real`, under another folder name.
    Alias {
        /// The real package name.
        name: &'a str,
        /// What is asked of it (a registry spec: any, range or tag).
        spec: Box<Spec<'a>>,
    },
    /// A local tarball (`file:vendor/x-1.0.0.tgz`), relative to the dependent's folder.
    Tarball(&'a str),
    /// A local folder (`file:../lib`), relative to the dependent's folder; installed as a link.
    Directory(&'a str),
    /// A git repository.
    Git(GitSpec),
    /// A tarball URL.
    Remote(&'a str),
    /// Something npm cannot install; the reason is in npm's terms.
    Invalid(&'static str),
}

/// A git dependency: which repository, and which commit, ref or version range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitSpec {
    /// The repository, normalised so spellings of one repository compare equal
    /// (`github:u/r`, `u/r`, `git+ssh://git@github.com/u/r.git` → `github:u/r`).
    pub repository: String,
    /// The commit, branch or tag after `#` (not a `semver:` range).
    pub committish: Option<String>,
    /// The range after `#semver:`.
    pub semver: Option<Range>,
}

impl GitSpec {
    /// Whether the committish is a full commit id rather than a branch or tag.
    pub fn is_commit(&self) -> bool {
        self.committish.as_deref().is_some_and(|committish| {
            (40..=64).contains(&committish.len())
                && committish.bytes().all(|b| b.is_ascii_hexdigit())
        })
    }
}

/// Classifies `spec` as npm-package-arg would: alias, file, hosted or other git, URL, then a
/// registry version, range or tag.
pub fn parse(spec: &str) -> Spec<'_> {
    if let Some(rest) = spec.strip_prefix("npm:") {
        let (name, sub) = match crate::ecosystem::npm::package_lock::split_name_at_version(rest) {
            Some((name, sub)) => (name, sub),
            None => (rest, ""),
        };
        if name.is_empty() {
            return Spec::Invalid("an alias must name a package");
        }
        return match parse(sub) {
            spec @ (Spec::Any | Spec::Range(_) | Spec::Tag) => Spec::Alias {
                name,
                spec: Box::new(spec),
            },
            Spec::Invalid(reason) => Spec::Invalid(reason),
            _ => Spec::Invalid("an alias can only point at a registry package"),
        };
    }
    if let Some(path) = file_path(spec) {
        return if crate::ecosystem::npm::package_lock::is_tarball_path(path) {
            Spec::Tarball(path)
        } else {
            Spec::Directory(path)
        };
    }
    if let Some(git) = git(spec) {
        return Spec::Git(git);
    }
    if let Some((scheme, _)) = url_scheme(spec) {
        return match scheme.to_ascii_lowercase().as_str() {
            "http" | "https" => Spec::Remote(spec),
            _ => Spec::Invalid("unsupported URL type"),
        };
    }
    if spec.contains('/') || crate::ecosystem::npm::package_lock::is_tarball_path(spec) {
        // npm reads `a/b/c` or `x.tgz` as a path.
        return if crate::ecosystem::npm::package_lock::is_tarball_path(spec) {
            Spec::Tarball(spec)
        } else {
            Spec::Directory(spec)
        };
    }
    registry(spec)
}

/// A registry spec: any version, a range or version, or a dist-tag.
fn registry(spec: &str) -> Spec<'_> {
    if spec
        .chars()
        .all(|c| matches!(c, 'x' | 'X' | '*' | '.') || c.is_whitespace())
    {
        return Spec::Any;
    }
    if let Ok(range) = Range::parse(spec) {
        return Spec::Range(range);
    }
    // npm-package-arg accepts a tag only when URL-encoding leaves it unchanged.
    if spec
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c))
    {
        Spec::Tag
    } else {
        Spec::Invalid("not a valid version range or tag")
    }
}

/// The path of a `file:` spec or of a spec that starts like a path (`./`, `../`, `/`, `~/`).
fn file_path(spec: &str) -> Option<&str> {
    if let Some(path) = spec.strip_prefix("file:") {
        // `file:///abs` and `file://abs` are spellings of absolute paths.
        return Some(match path.strip_prefix("//") {
            Some(rest) if rest.starts_with('/') => rest,
            Some(rest) => rest,
            None => path,
        });
    }
    let bytes = spec.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    (spec.starts_with('.')
        || spec.starts_with("~/")
        || spec.starts_with('/')
        || spec.starts_with('\\')
        || drive)
        .then_some(spec)
}

/// `scheme:` at the start of a URL, and the rest.
fn url_scheme(spec: &str) -> Option<(&str, &str)> {
    let colon = spec.find(':')?;
    let scheme = &spec[..colon];
    let valid = scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    valid.then(|| (scheme, &spec[colon + 1..]))
}

const HOSTS: [(&str, &str); 4] = [
    ("github", "github.com"),
    ("gitlab", "gitlab.com"),
    ("bitbucket", "bitbucket.org"),
    ("gist", "gist.github.com"),
];

/// Reads a git spec or a git `resolved` value; `None` when `spec` is not git.
pub fn git(spec: &str) -> Option<GitSpec> {
    let (body, fragment) = match spec.split_once('#') {
        Some((body, fragment)) => (body, Some(fragment)),
        None => (spec, None),
    };
    let repository = hosted(body).or_else(|| plain_git(body))?;
    let (committish, semver) = match fragment.filter(|fragment| !fragment.is_empty()) {
        Some(fragment) => match fragment.strip_prefix("semver:") {
            Some(range) => (None, Range::parse(range).ok()),
            None => (Some(fragment.to_string()), None),
        },
        None => (None, None),
    };
    Some(GitSpec {
        repository,
        committish,
        semver,
    })
}

/// `github:u/r`, `u/r`, and URLs of the hosts hosted-git-info knows, as `host:user/project`.
fn hosted(body: &str) -> Option<String> {
    for (shortcut, _) in HOSTS {
        if let Some(path) = body
            .strip_prefix(shortcut)
            .and_then(|rest| rest.strip_prefix(':'))
        {
            return user_project(shortcut, path);
        }
    }
    if is_github_shorthand(body) {
        return user_project("github", body);
    }
    let without_plus = body.strip_prefix("git+").unwrap_or(body);
    let (host, path) = if let Some((scheme, rest)) = url_scheme(without_plus) {
        if !matches!(
            scheme.to_ascii_lowercase().as_str(),
            "https" | "http" | "ssh" | "git"
        ) {
            return None;
        }
        let rest = rest.strip_prefix("//")?;
        let (authority, path) = rest.split_once('/')?;
        let host = authority.rsplit('@').next()?;
        // `git+ssh://git@github.com:u/r.git` puts an scp-like colon in the authority.
        match host.split_once(':') {
            Some((host, user)) if !user.chars().all(|c| c.is_ascii_digit()) => {
                (host, format!("{user}/{path}"))
            }
            Some((host, _port)) => (host, path.to_string()),
            None => (host, path.to_string()),
        }
    } else {
        // scp-like `git@github.com:u/r.git`.
        let (authority, path) = without_plus.split_once(':')?;
        let (_, host) = authority.split_once('@')?;
        (host, path.to_string())
    };
    let host = host.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let (name, _) = HOSTS.iter().find(|(_, domain)| *domain == host)?;
    user_project(name, &path)
}

/// `user/project` (optionally `.git`, a trailing `/`) as `host:user/project`; `None` for longer
/// paths, which are not repositories (an archive URL on github.com is a plain tarball).
fn user_project(host: &str, path: &str) -> Option<String> {
    let path = path.trim_start_matches('/').trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let (user, project) = path.split_once('/')?;
    if user.is_empty() || project.is_empty() || project.contains('/') {
        return None;
    }
    Some(format!(
        "{host}:{}/{}",
        user.to_ascii_lowercase(),
        project.to_ascii_lowercase()
    ))
}

/// npm-package-arg's GitHub shorthand: `user/repo`, no scheme, `@`, `:` or `%`.
fn is_github_shorthand(body: &str) -> bool {
    let Some((user, project)) = body.split_once('/') else {
        return false;
    };
    let bad = |c: char| matches!(c, ':' | '@' | '%' | '/') || c.is_whitespace();
    !user.is_empty()
        && !project.is_empty()
        && !user.starts_with(['.', '-'])
        && !user.chars().any(bad)
        && !project.chars().any(bad)
}

/// Any other git URL (`git+file:///srv/x`, `git://host/x`, `git+ssh://…`, scp-like
/// `user@host:path`), compared as written without `git+`.
fn plain_git(body: &str) -> Option<String> {
    if let Some(rest) = body.strip_prefix("git+") {
        return Some(rest.to_string());
    }
    if let Some((scheme, _)) = url_scheme(body) {
        return (scheme.eq_ignore_ascii_case("git")).then(|| body.to_string());
    }
    let (authority, path) = body.split_once(':')?;
    (authority.contains('@') && !authority.contains('/') && !path.is_empty())
        .then(|| body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(spec: &str) -> String {
        describe(parse(spec))
    }

    fn describe(spec: Spec<'_>) -> String {
        match spec {
            Spec::Any => "any".into(),
            Spec::Range(range) => format!("range {range}"),
            Spec::Tag => "tag".into(),
            Spec::Alias { name, spec } => format!("alias {name} {}", describe(*spec)),
            Spec::Tarball(path) => format!("tarball {path}"),
            Spec::Directory(path) => format!("directory {path}"),
            Spec::Git(git) => format!(
                "git {} {:?} {:?}",
                git.repository,
                git.committish,
                git.semver.map(|r| r.to_string())
            ),
            Spec::Remote(url) => format!("remote {url}"),
            Spec::Invalid(why) => format!("invalid: {why}"),
        }
    }

    #[test]
    fn classifies_like_npm_package_arg() {
        // Forms from npm-package-arg's README and test/basic.js, and from the specs in
        // ../shared/npm-sync-cases (08, 30, 54, 57, 61, 72).
        let cases = [
            ("", "any"),
            ("*", "any"),
            ("x", "any"),
            ("^1.0.0", "range >=1.0.0 <2.0.0-0"),
            ("1.2.3", "range 1.2.3"),
            ("~1.2", "range >=1.2.0 <1.3.0-0"),
            ("latest", "tag"),
            ("next-2", "tag"),
            ("^^1", "invalid: not a valid version range or tag"),
            (
                "npm:is-number@^7.0.0",
                "alias is-number range >=7.0.0 <8.0.0-0",
            ),
            ("npm:@scope/real@latest", "alias @scope/real tag"),
            ("npm:left-pad", "alias left-pad any"),
            (
                "npm:x@file:../x",
                "invalid: an alias can only point at a registry package",
            ),
            (
                "file:vendor/tdep-1.0.0.tgz",
                "tarball vendor/tdep-1.0.0.tgz",
            ),
            ("file:local/ldep", "directory local/ldep"),
            ("./local/ldep", "directory ./local/ldep"),
            ("../x.tar.gz", "tarball ../x.tar.gz"),
            ("a/b/c", "directory a/b/c"),
            (
                "git+file:///srv/git/gdep#v1",
                "git file:///srv/git/gdep Some(\"v1\") None",
            ),
            (
                "github:User/Repo#v1",
                "git github:user/repo Some(\"v1\") None",
            ),
            ("user/repo", "git github:user/repo None None"),
            (
                "user/repo#semver:^2",
                "git github:user/repo None Some(\">=2.0.0 <3.0.0-0\")",
            ),
            (
                "git+ssh://git@github.com/user/repo.git#abc",
                "git github:user/repo Some(\"abc\") None",
            ),
            (
                "git@github.com:user/repo.git",
                "git github:user/repo None None",
            ),
            (
                "https://github.com/user/repo",
                "git github:user/repo None None",
            ),
            (
                "git+ssh://git@git.example.test/team/gdep.git#v1",
                "git ssh://git@git.example.test/team/gdep.git Some(\"v1\") None",
            ),
            (
                "https://cdn.example.test/builds/rdep.tgz",
                "remote https://cdn.example.test/builds/rdep.tgz",
            ),
            (
                "https://github.com/user/repo/archive/v1.tar.gz",
                "remote https://github.com/user/repo/archive/v1.tar.gz",
            ),
            ("workspace:*", "invalid: unsupported URL type"),
        ];
        for (spec, expected) in cases {
            assert_eq!(kind(spec), expected, "{spec:?}");
        }
    }

    #[test]
    fn full_commit_ids_are_told_from_refs() {
        let commit = git("git+file:///srv/git/gdep#df8644ee06362d06c17e5e258af740b2b8f67bac");
        assert!(commit.unwrap().is_commit());
        assert!(!git("git+file:///srv/git/gdep#v1").unwrap().is_commit());
    }

    #[test]
    fn joins_paths_inside_and_above_the_project() {
        let cases = [
            ("", "file-less/x", "file-less/x"),
            ("", "./vendor/x.tgz", "vendor/x.tgz"),
            ("packages/a", "../b", "packages/b"),
            ("packages/a", "../../../shared", "../shared"),
            ("", "/abs/x", "/abs/x"),
        ];
        for (folder, path, expected) in cases {
            assert_eq!(join(folder, path), expected, "{folder} + {path}");
        }
    }
}
