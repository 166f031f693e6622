//! Workspace globs (`packages/*`, `apps/**`, `!packages/old`, `{a,b}/*`) matched against folders,
//! the subset of minimatch that @npmcli/map-workspaces relies on.

/// Whether `folder` (relative to the workspace root, `/`-separated) is a workspace member under
/// `patterns`: it matches a pattern, and no later `!pattern` excludes it. Folders inside
/// `node_modules` never are.
pub fn is_member(patterns: &[String], folder: &str) -> bool {
    if folder.is_empty() || folder.split('/').any(|segment| segment == "node_modules") {
        return false;
    }
    let path: Vec<&str> = folder.split('/').collect();
    let mut member = false;
    for pattern in patterns {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, pattern.as_str()),
        };
        if negated != member {
            continue; // Only a negation can undo a match, only a pattern can make one.
        }
        if expand_braces(normalise(pattern))
            .iter()
            .any(|pattern| matches(&segments(pattern), &path))
        {
            member = !negated;
        }
    }
    member
}

fn normalise(pattern: &str) -> &str {
    let pattern = pattern.trim();
    let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
    pattern.trim_end_matches('/')
}

fn segments(pattern: &str) -> Vec<&str> {
    pattern
        .split('/')
        .filter(|segment| !segment.is_empty() && *segment != ".")
        .collect()
}

/// `{a,b}` alternatives (not nested), expanded into separate patterns.
fn expand_braces(pattern: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (pattern.find('{'), pattern.find('}')) else {
        return vec![pattern.to_string()];
    };
    if close < open {
        return vec![pattern.to_string()];
    }
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    pattern[open + 1..close]
        .split(',')
        .flat_map(|choice| expand_braces(&format!("{head}{choice}{tail}")))
        .collect()
}

fn matches(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => {
            matches(rest, path)
                || path.split_first().is_some_and(|(first, others)| {
                    !first.starts_with('.') && matches(pattern, others)
                })
        }
        Some((segment, rest)) => path.split_first().is_some_and(|(first, others)| {
            segment_matches(segment, first) && matches(rest, others)
        }),
    }
}

/// `*` and `?` within one path segment; like minimatch, a wildcard does not match a leading dot.
fn segment_matches(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, n));
                p += 1;
            }
            Some('?') => {
                p += 1;
                n += 1;
            }
            Some(c) if *c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match backtrack {
                Some((star, at)) => {
                    p = star + 1;
                    n = at + 1;
                    backtrack = Some((star, at + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_globs() {
        // Patterns from npm's workspaces documentation and @npmcli/map-workspaces' tests.
        let cases: &[(&[&str], &str, bool)] = &[
            (&["packages/*"], "packages/a", true),
            (&["packages/*"], "packages/a/b", false),
            (&["packages/*"], "other/a", false),
            (&["./packages/*/"], "packages/a", true),
            (&["packages/**"], "packages/a/b", true),
            (&["apps/**/web"], "apps/web", true),
            (&["apps/**/web"], "apps/x/y/web", true),
            (&["packages/a"], "packages/a", true),
            (&["packages/*", "!packages/old"], "packages/old", false),
            (&["packages/*", "!packages/old"], "packages/new", true),
            (&["{apps,libs}/*"], "libs/x", true),
            (&["packages/lib-?"], "packages/lib-1", true),
            (&["packages/*"], "packages/.hidden", false),
            (&["**"], "node_modules/x", false),
            (&["*"], "", false),
        ];
        for (patterns, folder, expected) in cases {
            let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
            assert_eq!(
                is_member(&patterns, folder),
                *expected,
                "{patterns:?} {folder}"
            );
        }
    }
}
