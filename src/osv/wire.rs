//! OSV's JSON wire format for `/v1/querybatch`, kept apart from lockgate's own types.

use crate::package::Package;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct BatchRequest<'a> {
    queries: Vec<Query<'a>>,
}

#[derive(Serialize)]
struct Query<'a> {
    package: QueryPackage<'a>,
    /// Left out for a package whose version is not known: OSV then answers with every record
    /// of the package.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_token: Option<&'a str>,
}

#[derive(Serialize)]
struct QueryPackage<'a> {
    name: &'a str,
    ecosystem: &'a str,
}

#[derive(Deserialize)]
struct BatchResponse {
    #[serde(default)]
    results: Vec<WireResult>,
}

#[derive(Deserialize)]
struct WireResult {
    #[serde(default)]
    vulns: Vec<WireVuln>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct WireVuln {
    id: String,
    #[serde(default)]
    modified: Option<String>,
}

/// One record a query matched: its id, and when it last changed (what the cache keys on).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Hit {
    /// The record's id.
    pub id: String,
    /// Its `modified` time, when OSV said.
    pub modified: Option<String>,
}

/// One query's answer: the records it matched, and the token for more when there are more.
#[derive(Debug)]
pub(crate) struct BatchResult {
    pub hits: Vec<Hit>,
    pub next_page_token: Option<String>,
}

/// The body of a querybatch for `pending` (index into `packages`, page token).
pub(super) fn batch_request(packages: &[Package], pending: &[(usize, Option<String>)]) -> Vec<u8> {
    let queries = pending
        .iter()
        .map(|(index, token)| {
            let package = &packages[*index];
            Query {
                package: QueryPackage {
                    name: &package.name,
                    ecosystem: package.ecosystem.as_osv(),
                },
                version: (!package.version.is_empty()).then_some(package.version.as_str()),
                page_token: token.as_deref(),
            }
        })
        .collect();
    serde_json::to_vec(&BatchRequest { queries }).expect("plain strings always serialise")
}

/// Reads a querybatch answer that must hold exactly `expected` results, in query order.
pub(crate) fn batch_results(body: &[u8], expected: usize) -> Result<Vec<BatchResult>, String> {
    let response: BatchResponse =
        serde_json::from_slice(body).map_err(|error| error.to_string())?;
    if response.results.len() != expected {
        return Err(format!(
            "{} results for {expected} queries",
            response.results.len()
        ));
    }
    Ok(response
        .results
        .into_iter()
        .map(|result| BatchResult {
            hits: result
                .vulns
                .into_iter()
                .map(|vuln| Hit {
                    id: vuln.id,
                    modified: vuln.modified,
                })
                .collect(),
            next_page_token: result.next_page_token.filter(|token| !token.is_empty()),
        })
        .collect())
}

/// OSV ids are short runs of letters, digits and `-_.:`; anything else is not put in a URL.
pub fn is_plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        && !id.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::Ecosystem;

    #[test]
    fn request_matches_osv_wire_format() {
        let packages = [
            Package::new(Ecosystem::Npm, "debug", "4.4.2"),
            Package::new(Ecosystem::PyPI, "requests", "2.0.0"),
        ];
        let body = batch_request(&packages, &[(0, None), (1, Some("tok".into()))]);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"queries": [
                {"package": {"name": "debug", "ecosystem": "npm"}, "version": "4.4.2"},
                {"package": {"name": "requests", "ecosystem": "PyPI"}, "version": "2.0.0", "page_token": "tok"}
            ]})
        );
    }

    #[test]
    fn results_keep_order_tokens_and_empty_objects() {
        let body =
            br#"{"results": [{"vulns": [{"id": "MAL-1", "modified": "2025-01-01T00:00:00Z"}]},
                                    {}, {"next_page_token": "t"}]}"#;
        let results = batch_results(body, 3).unwrap();
        assert_eq!(results[0].hits[0].id, "MAL-1");
        assert!(results[1].hits.is_empty() && results[1].next_page_token.is_none());
        assert_eq!(results[2].next_page_token.as_deref(), Some("t"));
        assert!(batch_results(body, 2)
            .unwrap_err()
            .contains("3 results for 2"));
        assert!(batch_results(b"<html>", 1).is_err());
    }

    #[test]
    fn ids_that_could_escape_the_url_are_refused() {
        for id in [
            "MAL-2025-46974",
            "GHSA-jf85-cpcp-j695",
            "PYSEC-2021-1",
            "RUSTSEC-2020-0001",
        ] {
            assert!(is_plausible_id(id), "{id}");
        }
        for id in ["", "../../etc", "a/b", "x?y", "a b", ".."] {
            assert!(!is_plausible_id(id), "{id}");
        }
    }
}
