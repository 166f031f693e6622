//! `overrides` from the root `package.json`: which edges they rewrite and to what, following
//! @npmcli/arborist's `OverrideSet` (rules scoped to the subtree of the package they are nested
//! under; a `name@range` key applies only to edges whose range meets it; `$name` refers to the
//! root's own dependency spec).

use super::manifest::Manifest;
use super::spec::{self, Spec};
use nodejs_semver::Range;

/// One override set; index 0 of [`Overrides`] is the root (no rule of its own).
pub type RuleId = usize;

/// The root set: what every node starts from.
pub const ROOT: RuleId = 0;

#[derive(Clone, Debug)]
struct Rule {
    parent: Option<RuleId>,
    children: Vec<RuleId>,
    /// The full key, e.g. `foo@^1` (empty for the root).
    key: String,
    /// The package the rule is about.
    name: String,
    /// The range of the key (`*` when the key is a bare name).
    key_spec: String,
    /// The replacement spec (`.`), or the key's range when there is none.
    value: String,
}

/// The parsed `overrides` tree.
#[derive(Clone, Debug)]
pub struct Overrides {
    rules: Vec<Rule>,
    /// Each set's visible rules, worked out the first time an edge out of that set asks.
    rulesets: Vec<std::cell::OnceCell<Vec<RuleId>>>,
}

impl Overrides {
    /// Parses the `overrides` value (an object of strings and nested objects); anything else is
    /// ignored, as npm ignores it.
    pub fn parse(value: Option<&serde_json::Value>) -> Self {
        let mut overrides = Overrides {
            rules: vec![Rule {
                parent: None,
                children: Vec::new(),
                key: String::new(),
                name: String::new(),
                key_spec: String::new(),
                value: String::new(),
            }],
            rulesets: Vec::new(),
        };
        if let Some(serde_json::Value::Object(object)) = value {
            overrides.add_children(ROOT, object);
        }
        overrides.rulesets = vec![std::cell::OnceCell::new(); overrides.rules.len()];
        overrides
    }

    fn add_children(
        &mut self,
        parent: RuleId,
        object: &serde_json::Map<String, serde_json::Value>,
    ) {
        for (key, child) in object {
            if key == "." {
                continue;
            }
            let (name, key_spec) =
                match crate::ecosystem::npm::package_lock::split_name_at_version(key) {
                    Some((name, range)) if !range.is_empty() => (name, range),
                    _ => (key.as_str(), "*"),
                };
            let dot = match child {
                serde_json::Value::String(value) => Some(value.as_str()),
                serde_json::Value::Object(object) => object.get(".").and_then(|v| v.as_str()),
                _ => continue,
            };
            let value = match dot {
                Some("") => "*".to_string(),
                Some(value) => value.to_string(),
                None => key_spec.to_string(),
            };
            let id = self.rules.len();
            self.rules.push(Rule {
                parent: Some(parent),
                children: Vec::new(),
                key: key.clone(),
                name: name.to_string(),
                key_spec: key_spec.to_string(),
                value,
            });
            self.rules[parent].children.push(id);
            if let serde_json::Value::Object(object) = child {
                self.add_children(id, object);
            }
        }
    }

    /// Whether there are no overrides at all.
    pub fn is_empty(&self) -> bool {
        self.rules.len() == 1
    }

    /// Whether `set` lies strictly below `ancestor` (is more specific than it).
    pub fn is_descendant(&self, set: RuleId, ancestor: RuleId) -> bool {
        let mut at = self.rules.get(set).and_then(|rule| rule.parent);
        while let Some(id) = at {
            if id == ancestor {
                return true;
            }
            at = self.rules[id].parent;
        }
        false
    }

    /// The rules visible from `set`, nearest first: its children, itself, then its ancestors'
    /// (a key seen nearer hides the same key further up).
    fn ruleset(&self, set: RuleId) -> &[RuleId] {
        self.rulesets[set].get_or_init(|| self.visible_rules(set))
    }

    fn visible_rules(&self, set: RuleId) -> Vec<RuleId> {
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut at = Some(set);
        while let Some(id) = at {
            let rule = &self.rules[id];
            for &child in &rule.children {
                let key = self.rules[child].key.as_str();
                if seen.insert(key) {
                    out.push(child);
                }
            }
            if id != ROOT && seen.insert(rule.key.as_str()) {
                out.push(id);
            }
            at = rule.parent;
        }
        out
    }

    /// The override set an edge `name@raw_spec` out of a node in `set` carries: the first
    /// matching rule, or `set` itself.
    pub fn edge_rule(&self, set: RuleId, name: &str, raw_spec: &str) -> RuleId {
        if self.is_empty() {
            return set;
        }
        for &id in self.ruleset(set) {
            let rule = &self.rules[id];
            if rule.name != name {
                continue;
            }
            if rule.key_spec == "*" {
                return id;
            }
            let Ok(key_range) = Range::parse(&rule.key_spec) else {
                continue;
            };
            let asked = match spec::parse(raw_spec) {
                Spec::Alias { spec, .. } => *spec,
                other => other,
            };
            match asked {
                Spec::Range(range) if range.allows_any(&key_range) => return id,
                Spec::Any => return id,
                Spec::Git(git) => {
                    if git.semver.is_some_and(|range| range.allows_any(&key_range)) {
                        return id;
                    }
                }
                Spec::Range(_) | Spec::Invalid(_) => {}
                // Tags, files, folders and URLs cannot be compared with a range: npm applies the
                // override.
                _ => return id,
            }
        }
        set
    }

    /// The spec an edge asks for once overrides apply: `Ok(raw)` when none does.
    /// `Err(reference)` when a `$name` reference names no root dependency.
    pub fn effective_spec<'a>(
        &'a self,
        rule: RuleId,
        from_set: RuleId,
        name: &str,
        raw_spec: &'a str,
        root: &'a Manifest,
    ) -> Result<&'a str, String> {
        let Some(found) = self.rules.get(rule).filter(|_| rule != ROOT) else {
            return Ok(raw_spec);
        };
        if found.value == "*" || found.name != name || rule == from_set {
            return Ok(raw_spec);
        }
        let Some(reference) = found.value.strip_prefix('$') else {
            return Ok(&found.value);
        };
        [
            &root.dev_dependencies,
            &root.optional_dependencies,
            &root.dependencies,
            &root.peer_dependencies,
        ]
        .into_iter()
        .find_map(|deps| deps.get(reference))
        .map(String::as_str)
        .ok_or_else(|| found.value.clone())
    }

    /// The key's range of a rule (`None` for the root set, which rewrites nothing).
    pub fn key_spec(&self, rule: RuleId) -> Option<&str> {
        (rule != ROOT).then(|| self.rules[rule].key_spec.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn root() -> Manifest {
        Manifest {
            dependencies: [("is-odd".to_string(), "^3.0.1".to_string())].into(),
            ..Manifest::default()
        }
    }

    #[test]
    fn top_level_nested_ranged_and_reference_overrides() {
        // Shapes from npm's `overrides` documentation and ../shared/npm-sync-cases/34-override-in-sync.
        let value = json!({
            "is-number": "6.0.0",
            "foo": {".": "1.0.0", "bar": "2.0.0"},
            "baz@^1": "1.5.0",
            "is-odd": "$is-odd",
            "nothing": "$missing"
        });
        let overrides = Overrides::parse(Some(&value));
        let manifest = root();
        let spec = |set: RuleId, name: &str, raw: &'static str| {
            let rule = overrides.edge_rule(set, name, raw);
            overrides
                .effective_spec(rule, set, name, raw, &manifest)
                .map(str::to_string)
        };
        assert_eq!(spec(ROOT, "is-number", "^6.0.0"), Ok("6.0.0".into()));
        assert_eq!(spec(ROOT, "bar", "^1.0.0"), Ok("^1.0.0".into()));
        let foo = overrides.edge_rule(ROOT, "foo", "^0.1.0");
        assert_eq!(spec(ROOT, "foo", "^0.1.0"), Ok("1.0.0".into()));
        assert_eq!(spec(foo, "bar", "^1.0.0"), Ok("2.0.0".into()));
        // A top-level rule applies inside foo's subtree too.
        assert_eq!(spec(foo, "is-number", "^7.0.0"), Ok("6.0.0".into()));
        assert_eq!(spec(ROOT, "baz", "^1.2.0"), Ok("1.5.0".into()));
        assert_eq!(spec(ROOT, "baz", "^2.0.0"), Ok("^2.0.0".into()));
        assert_eq!(spec(ROOT, "is-odd", "^2.0.0"), Ok("^3.0.1".into()));
        assert_eq!(spec(ROOT, "nothing", "1"), Err("$missing".into()));
        assert_eq!(overrides.key_spec(ROOT), None);
        assert_eq!(overrides.key_spec(foo), Some("*"));
    }

    #[test]
    fn no_overrides_change_nothing() {
        let overrides = Overrides::parse(None);
        assert!(overrides.is_empty());
        let manifest = root();
        assert_eq!(overrides.edge_rule(ROOT, "a", "^1"), ROOT);
        assert_eq!(
            overrides.effective_spec(ROOT, ROOT, "a", "^1", &manifest),
            Ok("^1")
        );
    }
}
