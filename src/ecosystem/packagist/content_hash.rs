//! Composer's `content-hash`: what `Locker::getContentHash` (composer 2.5,
//! `src/Composer/Package/Locker.php`) records in composer.lock to say which composer.json it was
//! made from. It is the md5 of `json_encode($relevant, 0)`, where `$relevant` holds these keys
//! of composer.json that are present (in composer.json's own order inside each value), sorted by
//! `ksort`: `name`, `version`, `require`, `require-dev`, `conflict`, `replace`, `provide`,
//! `minimum-stability`, `prefer-stable`, `repositories`, `extra`, and `config.platform` as
//! `{"config": {"platform": …}}`. With no flags PHP escapes `/` as `\/` and every non-ASCII
//! character as `\uXXXX`, writes no spaces, and writes an empty object as `[]` (composer.json
//! is read into PHP arrays).

use md5::{Digest, Md5};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The keys of composer.json the content-hash covers, besides `config.platform`.
const RELEVANT_KEYS: [&str; 11] = [
    "name",
    "version",
    "require",
    "require-dev",
    "conflict",
    "replace",
    "provide",
    "minimum-stability",
    "prefer-stable",
    "repositories",
    "extra",
];

/// A JSON value that keeps the order of object keys, as PHP's arrays do.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number as serde_json read it.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// A list.
    Array(Vec<Json>),
    /// An object, keys in the file's order (a repeated key keeps its first place, last value).
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Reads `text`; serde_json's recursion limit bounds the depth.
    pub fn parse(text: &str) -> Result<Json, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The value of `key`, when `self` is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    /// The entries of an object (none for anything else).
    pub fn entries(&self) -> &[(String, Json)] {
        match self {
            Json::Object(entries) => entries,
            _ => &[],
        }
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Json, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Json, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Json, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Json, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Json, E> {
        Ok(Json::String(value.to_string()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Json, E> {
        Ok(Json::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries: Vec<(String, Json)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            match entries.iter_mut().find(|(name, _)| *name == key) {
                Some(entry) => entry.1 = value,
                None => entries.push((key, value)),
            }
        }
        Ok(Json::Object(entries))
    }
}

/// PHP's `json_encode($value, 0)` of what `json_decode($text, true)` made of `value`.
pub fn php_json_encode(value: &Json, out: &mut String) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
        Json::Number(number) => php_number(number, out),
        Json::String(text) => php_string(text, out),
        Json::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                php_json_encode(item, out);
            }
            out.push(']');
        }
        Json::Object(entries) => {
            // A PHP array with keys 0, 1, … in order (or none) is written as a list.
            let is_list = entries
                .iter()
                .enumerate()
                .all(|(index, (key, _))| *key == index.to_string());
            out.push(if is_list { '[' } else { '{' });
            for (index, (key, item)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                if !is_list {
                    php_string(key, out);
                    out.push(':');
                }
                php_json_encode(item, out);
            }
            out.push(if is_list { ']' } else { '}' });
        }
    }
}

/// Integers as written; a float as PHP writes it with `serialize_precision = -1`: the shortest
/// digits that read back, in plain notation (`3`, `2.5`, `0.0001`) for decimal exponents from -4
/// to 16, otherwise as `1.0e+17`, `1.5e-7`.
fn php_number(number: &serde_json::Number, out: &mut String) {
    if number.is_i64() || number.is_u64() {
        out.push_str(&number.to_string());
        return;
    }
    let value = number.as_f64().unwrap_or_default();
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..17).contains(&exponent) {
        out.push_str(&value.to_string());
        return;
    }
    out.push_str(mantissa);
    if !mantissa.contains('.') {
        out.push_str(".0");
    }
    out.push_str(&format!(
        "e{}{}",
        if exponent < 0 { '-' } else { '+' },
        exponent.abs()
    ));
}

fn php_string(text: &str, out: &mut String) {
    crate::ecosystem::parse::ascii_json_string(text, true, out);
}

/// `Locker::getContentHash` of composer.json, read as `manifest`.
pub fn content_hash(manifest: &Json) -> String {
    let mut relevant: Vec<(String, Json)> = manifest
        .entries()
        .iter()
        .filter(|(key, _)| RELEVANT_KEYS.contains(&key.as_str()))
        .cloned()
        .collect();
    let platform = manifest
        .get("config")
        .and_then(|config| config.get("platform"))
        .filter(|platform| **platform != Json::Null);
    if let Some(platform) = platform {
        relevant.push((
            "config".to_string(),
            Json::Object(vec![("platform".to_string(), platform.clone())]),
        ));
    }
    relevant.sort_by(|a, b| a.0.cmp(&b.0));
    let mut encoded = String::new();
    php_json_encode(&Json::Object(relevant), &mut encoded);
    md5_hex(encoded.as_bytes())
}

/// The md5 of `bytes` in lower-case hex (the old `hash` key is md5 of the whole composer.json).
pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_php_json_encode_with_no_flags() {
        // Expected texts are PHP 8.2's json_encode(json_decode($text, true), 0).
        let cases = [
            (r#"{"a": "x/y"}"#, r#"{"a":"x\/y"}"#),
            (r#"{"a": "Café ☕"}"#, r#"{"a":"Caf\u00e9 \u2615"}"#),
            (r#"{"a": "😀"}"#, r#"{"a":"\ud83d\ude00"}"#),
            (r#"{"a": {}, "b": []}"#, r#"{"a":[],"b":[]}"#),
            (r#"{"0": "x", "1": "y"}"#, r#"["x","y"]"#),
            (
                r#"{"b": 1, "a": [true, null, 2.5, 1.0, 1e25, 0.1, 1.5e-7, 1e16, 0.00001, -1e30]}"#,
                r#"{"b":1,"a":[true,null,2.5,1,1.0e+25,0.1,1.5e-7,10000000000000000,1.0e-5,-1.0e+30]}"#,
            ),
            ("{\"a\": \"\\u007f\"}", "{\"a\":\"\u{7f}\"}"),
            (r#"{"a": 1, "a": 2, "b": 3}"#, r#"{"a":2,"b":3}"#),
        ];
        for (text, expected) in cases {
            let mut out = String::new();
            php_json_encode(&Json::parse(text).unwrap(), &mut out);
            assert_eq!(out, expected, "{text}");
        }
    }
}
