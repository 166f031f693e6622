//! What an npm registry says of a package version: when it was published, or that it is no
//! longer served. The abbreviated document (`Accept: application/vnd.npm.install-v1+json`) is
//! asked first: it lists the versions served, and its `modified` time answers for every one of
//! them when it is older than the cutoff. Only otherwise is the full document read, for its
//! `time` map. The registry is the one the lockfile downloaded from (or the one configured):
//! lockgate names none of its own.

pub use crate::ecosystem::{Evidence, Published, RegistryAt, WithEvidence};
use crate::osv::{Client, OsvError};
use crate::report::parse_rfc3339;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The abbreviated document's media type.
const ABBREVIATED: &str = "application/vnd.npm.install-v1+json";
/// The largest document read (full documents of popular packages run to tens of MB).
const MAX_DOCUMENT: u64 = 64 * 1024 * 1024;

#[derive(Deserialize)]
struct Abbreviated {
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    versions: BTreeMap<String, AbbreviatedVersion>,
}

/// What the abbreviated document says of one version: whether it runs an install script (the
/// registry sets `hasInstallScript` when it has `preinstall`, `install` or `postinstall`).
#[derive(Default, Deserialize)]
struct AbbreviatedVersion {
    #[serde(default, rename = "hasInstallScript")]
    has_install_script: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Full {
    #[serde(default)]
    time: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    versions: BTreeMap<String, FullVersion>,
}

/// What the full document says of one version that tells who published it and how.
#[derive(Default, Deserialize)]
struct FullVersion {
    #[serde(default)]
    dist: Option<Dist>,
    #[serde(default, rename = "_npmUser")]
    npm_user: Option<NpmUser>,
    #[serde(default)]
    scripts: Option<serde_json::Value>,
}

impl FullVersion {
    /// Whether it runs an install script: a `preinstall`, `install` or `postinstall` script
    /// (npm writes `install: node-gyp rebuild` for a package with a `binding.gyp`).
    fn install_script(&self) -> bool {
        let scripts = self.scripts.as_ref().and_then(serde_json::Value::as_object);
        scripts.is_some_and(|scripts| {
            ["preinstall", "install", "postinstall"]
                .iter()
                .any(|hook| scripts.get(*hook).is_some_and(|script| script.is_string()))
        })
    }
}

#[derive(Default, Deserialize)]
struct Dist {
    #[serde(default)]
    attestations: Option<serde::de::IgnoredAny>,
}

#[derive(Default, Deserialize)]
struct NpmUser {
    #[serde(default, rename = "trustedPublisher")]
    trusted_publisher: Option<serde::de::IgnoredAny>,
}

/// The base URL of the registry a tarball URL downloads `name` from
/// (`https://host/path/@scope/name/-/name-1.0.0.tgz` → `https://host/path`).
pub fn registry_of(tarball: &str, name: &str) -> Option<String> {
    let marker = format!("/{name}/-/");
    let at = tarball.find(&marker)?;
    let base = &tarball[..at];
    (base.starts_with("https://") || base.starts_with("http://")).then(|| base.to_string())
}

/// The document URL of `name` at `base` (a scoped name's slash encoded, as registries expect).
pub fn document_url(base: &str, name: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        name.replacen('/', "%2f", 1)
    )
}

/// What the registry `at` says of `versions` of `name`, judged against `cutoff` (Unix
/// seconds: a version published before it is old enough), and whether each of them and of
/// `also` runs an install script. At most two requests.
pub fn published(
    client: &Client,
    at: &RegistryAt<'_>,
    name: &str,
    versions: &[&str],
    also: &[&str],
    cutoff: u64,
) -> Result<WithEvidence, OsvError> {
    let url = document_url(at.base, name);
    let pulled_all = |why: &str| {
        let pulled = versions
            .iter()
            .map(|version| (version.to_string(), Published::Pulled(why.to_string())))
            .collect();
        (pulled, BTreeMap::new())
    };
    let Some(bytes) = client.get_document(&url, ABBREVIATED, at.authorization, MAX_DOCUMENT)?
    else {
        return Ok(pulled_all("the registry no longer has the package"));
    };
    let abbreviated: Abbreviated =
        serde_json::from_slice(&bytes).map_err(|error| OsvError::Malformed {
            url: url.clone(),
            message: error.to_string(),
        })?;
    let modified = abbreviated.modified.as_deref().and_then(parse_rfc3339);
    let all_served = versions
        .iter()
        .all(|version| abbreviated.versions.contains_key(*version));
    if let (Some(modified), true) = (modified, all_served) {
        if modified < cutoff {
            let published = versions
                .iter()
                .map(|version| (version.to_string(), Published::Before(modified)))
                .collect();
            let scripts = versions
                .iter()
                .chain(also)
                .filter_map(|version| {
                    let listed = abbreviated.versions.get(*version)?;
                    let script = listed
                        .has_install_script
                        .as_ref()
                        .is_some_and(|flag| *flag == serde_json::Value::Bool(true));
                    Some((
                        version.to_string(),
                        Evidence {
                            install_script: Some(script),
                            ..Evidence::default()
                        },
                    ))
                })
                .collect();
            return Ok((published, scripts));
        }
    }
    let Some(bytes) =
        client.get_document(&url, "application/json", at.authorization, MAX_DOCUMENT)?
    else {
        return Ok(pulled_all("the registry no longer has the package"));
    };
    let full: Full = serde_json::from_slice(&bytes).map_err(|error| OsvError::Malformed {
        url: url.clone(),
        message: error.to_string(),
    })?;
    Ok(from_full(&full, versions, also))
}

/// What the full document says of `versions`, and how each of them and of `also` was
/// published.
fn from_full(full: &Full, versions: &[&str], also: &[&str]) -> WithEvidence {
    let published = versions
        .iter()
        .map(|version| (version.to_string(), judge(full, version)))
        .collect();
    let evidence = versions
        .iter()
        .chain(also)
        .filter_map(|version| {
            let listed = full.versions.get(*version)?;
            Some((
                version.to_string(),
                Evidence {
                    attested: listed
                        .dist
                        .as_ref()
                        .is_some_and(|dist| dist.attestations.is_some()),
                    trusted_publisher: listed
                        .npm_user
                        .as_ref()
                        .is_some_and(|user| user.trusted_publisher.is_some()),
                    install_script: Some(listed.install_script()),
                },
            ))
        })
        .collect();
    (published, evidence)
}

/// What the registry `at` says of `versions` of `name`, and how each of them and of
/// `replaced` (the versions an upgrade leaves) was published: one request, for the full document.
pub fn published_with_evidence(
    client: &Client,
    at: &RegistryAt<'_>,
    name: &str,
    versions: &[&str],
    replaced: &[&str],
) -> Result<WithEvidence, OsvError> {
    let url = document_url(at.base, name);
    let Some(bytes) =
        client.get_document(&url, "application/json", at.authorization, MAX_DOCUMENT)?
    else {
        let gone = versions
            .iter()
            .map(|version| {
                let why = "the registry no longer has the package".to_string();
                (version.to_string(), Published::Pulled(why))
            })
            .collect();
        return Ok((gone, BTreeMap::new()));
    };
    let full: Full = serde_json::from_slice(&bytes).map_err(|error| OsvError::Malformed {
        url: url.clone(),
        message: error.to_string(),
    })?;
    Ok(from_full(&full, versions, replaced))
}

/// One version, from the full document.
fn judge(full: &Full, version: &str) -> Published {
    if let Some(unpublished) = full.time.get("unpublished") {
        let when = unpublished["time"].as_str().unwrap_or("an unknown time");
        return Published::Pulled(format!("the package was unpublished ({when})"));
    }
    let placeholder = full.versions.len() == 1 && full.versions.contains_key("0.0.1-security");
    if placeholder {
        return Published::Pulled(
            "the registry replaced the package with a security placeholder (0.0.1-security)"
                .to_string(),
        );
    }
    if !full.versions.contains_key(version) {
        return Published::Pulled("the registry no longer serves this version".to_string());
    }
    match full
        .time
        .get(version)
        .and_then(serde_json::Value::as_str)
        .and_then(parse_rfc3339)
    {
        Some(time) => Published::At(time),
        None => Published::Unknown("the registry gives no publish time for it".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_where_the_tarball_came_from() {
        let url = "https://npm.example.test/mirror/@acme/tool/-/tool-1.0.0.tgz";
        assert_eq!(
            registry_of(url, "@acme/tool").as_deref(),
            Some("https://npm.example.test/mirror")
        );
        assert_eq!(registry_of("file:../x.tgz", "x"), None);
        assert_eq!(
            document_url("https://npm.example.test/", "@acme/tool"),
            "https://npm.example.test/@acme%2ftool"
        );
    }

    #[test]
    fn the_full_document_decides_each_version() {
        let full: Full = serde_json::from_str(
            r#"{"time": {"1.0.0": "2026-11-01T00:00:00Z", "1.0.1": "2026-12-01T00:00:00Z"},
                "versions": {"1.0.0": {}}}"#,
        )
        .unwrap();
        assert_eq!(
            judge(&full, "1.0.0"),
            Published::At(parse_rfc3339("2026-11-01").unwrap())
        );
        assert!(matches!(judge(&full, "1.0.1"), Published::Pulled(_)));
        let placeholder: Full =
            serde_json::from_str(r#"{"versions": {"0.0.1-security": {}}}"#).unwrap();
        assert!(
            matches!(judge(&placeholder, "1.0.0"), Published::Pulled(why) if why.contains("placeholder"))
        );
        let gone: Full = serde_json::from_str(
            r#"{"time": {"unpublished": {"time": "2026-12-02T00:00:00Z", "versions": ["1.0.0"]}}}"#,
        )
        .unwrap();
        assert!(
            matches!(judge(&gone, "1.0.0"), Published::Pulled(why) if why.contains("unpublished"))
        );
    }
}
