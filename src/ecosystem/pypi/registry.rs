//! What a Python package index says of a release: when its files were uploaded, or that it is
//! no longer served (yanked, quarantined, gone). One request: the Simple API's JSON form
//! (`GET {index}/{name}/`, `Accept: application/vnd.pypi.simple.v1+json`, PEP 691), whose
//! `files[]` carry `upload-time` (PEP 700) and `yanked`, and whose `project-status` (PEP 792)
//! says when a project is quarantined. The index is the one the lockfile records (or the one
//! configured): lockgate names none of its own.

use crate::ecosystem::{Evidence, Published, RegistryAt, WithEvidence};
use crate::osv::{Client, OsvError};
use crate::package::Ecosystem;
use crate::report::parse_rfc3339;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The Simple API's JSON media type.
const SIMPLE_JSON: &str = "application/vnd.pypi.simple.v1+json";
/// The largest project page read.
const MAX_PAGE: u64 = 32 * 1024 * 1024;

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    files: Vec<File>,
    #[serde(default, rename = "project-status")]
    project_status: Option<Status>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct File {
    filename: String,
    #[serde(default, rename = "upload-time")]
    upload_time: Option<String>,
    /// `false`, `true`, or the reason.
    #[serde(default)]
    yanked: serde_json::Value,
    /// The URL of its PEP 740 provenance, or null.
    #[serde(default)]
    provenance: Option<String>,
}

/// The page URL of `name` (normalised, PEP 503) under `index`.
pub fn page_url(index: &str, name: &str) -> String {
    format!(
        "{}/{}/",
        index.trim_end_matches('/'),
        crate::matching::normalize_name(Ecosystem::PyPI, name)
    )
}

/// What the index at `index` says of `versions` of `name`, and whether each of them and of
/// `replaced` has PEP 740 provenance (a file of the release with an attestation): one request.
pub fn published(
    client: &Client,
    index: &RegistryAt<'_>,
    name: &str,
    versions: &[&str],
    replaced: &[&str],
) -> Result<WithEvidence, OsvError> {
    let url = page_url(index.base, name);
    let gone = |why: &str| -> WithEvidence {
        let pulled = versions
            .iter()
            .map(|version| (version.to_string(), Published::Pulled(why.to_string())))
            .collect();
        (pulled, BTreeMap::new())
    };
    let Some(bytes) = client.get_document(&url, SIMPLE_JSON, index.authorization, MAX_PAGE)? else {
        return Ok(gone("the index no longer has the project"));
    };
    let page: Page = serde_json::from_slice(&bytes).map_err(|error| OsvError::Malformed {
        url: url.clone(),
        message: error.to_string(),
    })?;
    if let Some(status) = page.project_status.and_then(|status| status.status) {
        if status == "quarantined" {
            return Ok(gone("the index has quarantined the project (PEP 792)"));
        }
    }
    let published = versions
        .iter()
        .map(|version| {
            let judged = match judge(&page.files, name, version) {
                // An index without PEP 700 times: PyPI's JSON API has them, where it is served.
                Published::Unknown(why) => {
                    json_api(client, index, name, version).unwrap_or(Published::Unknown(why))
                }
                judged => judged,
            };
            (version.to_string(), judged)
        })
        .collect();
    let evidence = versions
        .iter()
        .chain(replaced)
        .filter_map(|version| {
            let files = release(&page.files, name, version);
            (!files.is_empty()).then(|| {
                let attested = files.iter().any(|file| file.provenance.is_some());
                let evidence = Evidence {
                    attested,
                    trusted_publisher: false,
                    install_script: None,
                };
                (version.to_string(), evidence)
            })
        })
        .collect();
    Ok((published, evidence))
}

/// PyPI's JSON API (`GET {root}/pypi/{name}/{version}/json`, the index being `{root}/simple`):
/// the newest `upload_time_iso_8601` of the release's `urls`; `None` where it is not served.
fn json_api(
    client: &Client,
    index: &RegistryAt<'_>,
    name: &str,
    version: &str,
) -> Option<Published> {
    #[derive(Deserialize)]
    struct Release {
        #[serde(default)]
        urls: Vec<Url>,
    }
    #[derive(Deserialize)]
    struct Url {
        #[serde(default)]
        upload_time_iso_8601: Option<String>,
        #[serde(default)]
        yanked: bool,
        #[serde(default)]
        yanked_reason: Option<String>,
    }
    let root = index.base.trim_end_matches('/').strip_suffix("/simple")?;
    let url = format!(
        "{root}/pypi/{}/{}/json",
        crate::matching::normalize_name(Ecosystem::PyPI, name),
        version
    );
    let bytes = client
        .get_document(&url, "application/json", index.authorization, MAX_PAGE)
        .ok()??;
    let release: Release = serde_json::from_slice(&bytes).ok()?;
    if !release.urls.is_empty() && release.urls.iter().all(|file| file.yanked) {
        let reason = release
            .urls
            .iter()
            .find_map(|file| {
                file.yanked_reason
                    .clone()
                    .filter(|reason| !reason.is_empty())
            })
            .map_or(String::new(), |reason| format!(": {reason}"));
        return Some(Published::Pulled(format!("the release is yanked{reason}")));
    }
    release
        .urls
        .iter()
        .filter_map(|file| file.upload_time_iso_8601.as_deref().and_then(parse_rfc3339))
        .max()
        .map(Published::At)
}

/// The files of release `version` of `name`.
fn release<'f>(files: &'f [File], name: &str, version: &str) -> Vec<&'f File> {
    let wanted = crate::version::normal(Ecosystem::PyPI, version);
    files
        .iter()
        .filter(|file| {
            version_of(&file.filename, name).is_some_and(|found| {
                found == version || crate::version::normal(Ecosystem::PyPI, found) == wanted
            })
        })
        .collect()
}

/// One release, from the files the index lists for it.
fn judge(files: &[File], name: &str, version: &str) -> Published {
    let release = release(files, name, version);
    if release.is_empty() {
        return Published::Pulled("the index no longer lists a file of this release".to_string());
    }
    let yanked = |file: &&File| {
        !matches!(
            file.yanked,
            serde_json::Value::Bool(false) | serde_json::Value::Null
        )
    };
    if release.iter().all(yanked) {
        let reason = release
            .iter()
            .find_map(|file| file.yanked.as_str().filter(|reason| !reason.is_empty()))
            .map_or(String::new(), |reason| format!(": {reason}"));
        return Published::Pulled(format!("the release is yanked{reason}"));
    }
    // The newest file counts: one added to an old release is as new as its upload.
    let newest = release
        .iter()
        .filter_map(|file| file.upload_time.as_deref().and_then(parse_rfc3339))
        .max();
    match newest {
        Some(time) => Published::At(time),
        None => Published::Unknown("the index gives no upload time for it".to_string()),
    }
}

/// The version in a distribution's file name: `name-1.0.tar.gz`, `name-1.0-py3-none-any.whl`
/// (names compared as PEP 503 normalises them, `_`, `-` and `.` alike).
fn version_of<'a>(filename: &'a str, name: &str) -> Option<&'a str> {
    let stem = [".tar.gz", ".zip", ".tar.bz2", ".whl", ".egg"]
        .iter()
        .find_map(|suffix| filename.strip_suffix(suffix))?;
    let normal = crate::matching::normalize_name(Ecosystem::PyPI, name);
    // The name is as many `-`-separated parts as it has once normalised.
    let parts = normal.split('-').count();
    let mut pieces = stem.splitn(parts + 1, '-');
    let named: Vec<&str> = pieces.by_ref().take(parts).collect();
    let joined = crate::matching::normalize_name(Ecosystem::PyPI, &named.join("-"));
    if joined != normal {
        // Wheels write the name with `_` for `-`: one part.
        let (first, rest) = stem.split_once('-')?;
        if crate::matching::normalize_name(Ecosystem::PyPI, first) != normal {
            return None;
        }
        return rest.split('-').next();
    }
    pieces.next()?.split('-').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_their_release() {
        assert_eq!(
            version_of("requests-2.32.3.tar.gz", "requests"),
            Some("2.32.3")
        );
        assert_eq!(
            version_of(
                "charset_normalizer-3.5.3-cp310-cp310-macosx_10_9_universal2.whl",
                "charset-normalizer"
            ),
            Some("3.5.3")
        );
        assert_eq!(
            version_of("charset-normalizer-3.5.3.tar.gz", "charset-normalizer"),
            Some("3.5.3")
        );
        assert_eq!(version_of("Django-5.0.tar.gz", "django"), Some("5.0"));
        assert_eq!(version_of("other-1.0.tar.gz", "requests"), None);
    }

    #[test]
    fn a_release_is_its_newest_file_unless_every_file_is_yanked() {
        let page: Page = serde_json::from_str(
            r#"{"files": [
                {"filename": "a-1.0.tar.gz", "upload-time": "2026-01-01T00:00:00Z", "yanked": false},
                {"filename": "a-1.0-py3-none-any.whl", "upload-time": "2026-12-04T00:00:00.5Z"},
                {"filename": "a-2.0.tar.gz", "upload-time": "2026-02-01T00:00:00Z", "yanked": "broken build"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(
            judge(&page.files, "a", "1.0"),
            Published::At(parse_rfc3339("2026-12-04").unwrap())
        );
        assert_eq!(
            judge(&page.files, "a", "2.0"),
            Published::Pulled("the release is yanked: broken build".into())
        );
        assert!(matches!(
            judge(&page.files, "a", "3.0"),
            Published::Pulled(_)
        ));
        assert_eq!(
            page_url("https://pypi.example.test/simple", "Charset_Normalizer"),
            "https://pypi.example.test/simple/charset-normalizer/"
        );
    }
}
