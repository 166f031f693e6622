//! The schemas lockgate's machine-readable outputs are held to: the official SARIF 2.1.0
//! schema (a copy from a registry package) and the JSON report's own contract.

use serde_json::{json, Value};

/// The official SARIF 2.1.0 schema (tests/fixtures/sarif).
pub fn sarif_validator() -> jsonschema::Validator {
    let text = include_str!("../fixtures/sarif/sarif-schema-2.1.0.json");
    let mut schema: Value = serde_json::from_str(text).unwrap();
    // The schema's two `language` patterns have a stray `]`, a literal in JavaScript regexes
    // that jsonschema's strict regex check refuses; escaping it keeps the meaning.
    for definition in ["run", "toolComponent"] {
        let pattern = &mut schema["definitions"][definition]["properties"]["language"]["pattern"];
        assert_eq!(pattern, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$");
        *pattern = json!(r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\]?$");
    }
    jsonschema::draft7::new(&schema).expect("the SARIF schema compiles")
}

/// The JSON report's contract (tests/fixtures/report/report-schema.json, from the README).
pub fn report_validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(include_str!("../fixtures/report/report-schema.json")).unwrap();
    jsonschema::draft7::new(&schema).expect("the report schema compiles")
}

/// Panics with every violation unless `document` passes `validator`.
#[track_caller]
pub fn assert_valid(validator: &jsonschema::Validator, document: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{document:#}");
}
