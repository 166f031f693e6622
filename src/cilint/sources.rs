//! Where the scripts of a CI file are: the values of the script keys of a YAML pipeline, read
//! from the parser's events (aliases are not followed: an anchored script is linted where it is
//! written), and the `RUN` instructions of a Dockerfile.

use crate::ecosystem::ParseError;
use yaml_rust2::parser::Parser;
use yaml_rust2::Event;

/// A script: its text, the 1-based line its first line stands on, and whether `CI=true` is set
/// where it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    pub text: String,
    pub line: usize,
    pub ci: bool,
}

/// The keys whose values are shell scripts in the pipelines lockgate knows: GitHub Actions and
/// CircleCI `run` (CircleCI's long form `command`), GitLab `script` / `before_script` /
/// `after_script`, Bitbucket `script`, Azure Pipelines `script` / `bash` / `inlineScript`.
const SCRIPT_KEYS: [&str; 7] = [
    "run",
    "command",
    "script",
    "before_script",
    "after_script",
    "bash",
    "inlineScript",
];

/// Deepest nesting followed.
const MAX_DEPTH: usize = 128;

/// An open collection: a mapping (with the key its next value stands under, when a key has
/// been read) or a sequence (with the key it stands under).
enum Open {
    Mapping(Option<String>),
    Sequence(Option<String>),
}

/// The scripts of a YAML pipeline. Hosted CI runners all set `CI=true`.
pub fn yaml_scripts(text: &str) -> Result<Vec<Script>, ParseError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut scripts = Vec::new();
    loop {
        let (event, mark) = parser.next_token().map_err(|error| {
            ParseError::new(
                error.marker().line(),
                error.marker().col() + 1,
                format!("not valid YAML: {}", error.info()),
            )
        })?;
        // The key the node now read stands under, and whether it is a mapping's key itself.
        let (under, is_key) = match stack.last() {
            Some(Open::Mapping(None)) => (None, true),
            Some(Open::Mapping(Some(key))) | Some(Open::Sequence(Some(key))) => {
                (Some(key.clone()), false)
            }
            _ => (None, false),
        };
        match event {
            Event::StreamEnd => break,
            Event::Scalar(value, ..) => {
                if is_key {
                    if let Some(Open::Mapping(key)) = stack.last_mut() {
                        *key = Some(value);
                    }
                    continue;
                }
                if under
                    .as_deref()
                    .is_some_and(|key| SCRIPT_KEYS.contains(&key))
                {
                    // (The parser marks a block scalar at its first line of text.)
                    scripts.push(Script {
                        text: value,
                        line: mark.line(),
                        ci: true,
                    });
                }
                value_read(&mut stack);
            }
            Event::Alias(_) => value_read(&mut stack),
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(ParseError::new(
                        mark.line(),
                        mark.col() + 1,
                        format!("nested more than {MAX_DEPTH} deep"),
                    ));
                }
                stack.push(match event {
                    Event::MappingStart(..) => Open::Mapping(None),
                    // A list of scripts (GitLab) stands under the key of the list.
                    _ => Open::Sequence(under),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                value_read(&mut stack);
            }
            _ => {}
        }
    }
    Ok(scripts)
}

/// A value was read: a mapping waits for its next key.
fn value_read(stack: &mut [Open]) {
    if let Some(Open::Mapping(key)) = stack.last_mut() {
        *key = None;
    }
}

/// The `RUN` instructions of a Dockerfile, continuations joined (the `escape` directive
/// honoured), exec form (`RUN ["npm", "install"]`) read as its words, heredocs as their body.
/// `CI` is set only where an `ENV` or `ARG` before it sets it.
pub fn dockerfile_scripts(text: &str) -> Vec<Script> {
    let lines: Vec<&str> = text.lines().collect();
    let escape = lines
        .iter()
        .take_while(|line| line.trim_start().starts_with('#'))
        .find_map(|line| {
            let directive = line.trim_start().trim_start_matches('#').trim();
            let (name, value) = directive.split_once('=')?;
            (name.trim().eq_ignore_ascii_case("escape")).then(|| value.trim().chars().next())?
        })
        .unwrap_or('\\');
    let mut scripts = Vec::new();
    let mut ci = false;
    let mut index = 0;
    while index < lines.len() {
        let start = index;
        let mut instruction = String::new();
        // Join continuation lines; comment lines inside an instruction are dropped.
        loop {
            let line = lines[index];
            index += 1;
            if !instruction.is_empty() && line.trim_start().starts_with('#') {
                if index >= lines.len() {
                    break;
                }
                continue;
            }
            match line.trim_end().strip_suffix(escape) {
                Some(head) if index < lines.len() => {
                    instruction.push_str(head);
                    instruction.push('\n');
                }
                _ => {
                    instruction.push_str(line);
                    break;
                }
            }
        }
        let trimmed = instruction.trim_start();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let (keyword, rest) = trimmed
            .split_once(char::is_whitespace)
            .unwrap_or((trimmed, ""));
        match keyword.to_ascii_uppercase().as_str() {
            "ENV" | "ARG" => {
                let sets_ci = rest
                    .split_whitespace()
                    .any(|word| word.trim_matches('"') == "CI=true" || word == "CI=1")
                    || rest.split_whitespace().collect::<Vec<_>>() == ["CI", "true"];
                ci = ci || sets_ci;
            }
            "FROM" => ci = false,
            "RUN" => {
                let mut body = strip_run_flags(rest).to_string();
                if let Some(words) = exec_form(&body) {
                    body = words.join(" ");
                } else if let Some(delimiter) = heredoc(&body) {
                    let mut heredoc_body = String::new();
                    while index < lines.len() {
                        let line = lines[index];
                        index += 1;
                        if line.trim() == delimiter {
                            break;
                        }
                        heredoc_body.push_str(line);
                        heredoc_body.push('\n');
                    }
                    body = heredoc_body;
                    scripts.push(Script {
                        text: body,
                        line: start + 2,
                        ci,
                    });
                    continue;
                }
                scripts.push(Script {
                    text: body,
                    line: start + 1,
                    ci,
                });
            }
            _ => {}
        }
    }
    scripts
}

/// `RUN --mount=… --network=… cmd` → `cmd`.
fn strip_run_flags(mut rest: &str) -> &str {
    loop {
        let trimmed = rest.trim_start();
        if !trimmed.starts_with("--") {
            return trimmed;
        }
        rest = trimmed
            .split_once(char::is_whitespace)
            .map_or("", |(_, after)| after);
    }
}

/// `["npm", "install"]`: the words of the exec form.
fn exec_form(body: &str) -> Option<Vec<String>> {
    let body = body.trim();
    if !body.starts_with('[') {
        return None;
    }
    serde_json::from_str(body).ok()
}

/// The delimiter of `<<EOF` / `<<-"EOF"` when the instruction is a heredoc.
fn heredoc(body: &str) -> Option<String> {
    let rest = body.trim().strip_prefix("<<")?;
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let word = rest.split_whitespace().next()?;
    let word = word.trim_matches(|c| c == '"' || c == '\'');
    (!word.is_empty()).then(|| word.to_string())
}

/// A token of a Groovy pipeline, as far as finding `sh` steps needs: names, string literals
/// (with the line they start on) and single punctuation characters.
#[derive(Debug, PartialEq)]
enum Token {
    Name(String),
    Text(String, usize),
    Punct(char),
}

/// The scripts of a Jenkinsfile's `sh` steps: `sh 'cmd'`, `sh "cmd"`, triple-quoted ones, and
/// `sh(script: '…', returnStdout: true)`. Jenkins counts as CI for the tools.
pub fn jenkinsfile_scripts(text: &str) -> Vec<Script> {
    let tokens = groovy_tokens(text);
    let mut scripts = Vec::new();
    for (index, token) in tokens.iter().enumerate() {
        if !matches!(token, Token::Name(name) if name == "sh") {
            continue;
        }
        let rest = &tokens[index + 1..];
        let parenthesised = rest.first() == Some(&Token::Punct('('));
        let rest = if parenthesised { &rest[1..] } else { rest };
        // `sh 'x'` / `sh('x')`, or the `script:` argument before the call ends.
        let mut depth = 0usize;
        for (at, token) in rest.iter().enumerate() {
            let after_script = at >= 2
                && rest[at - 1] == Token::Punct(':')
                && matches!(&rest[at - 2], Token::Name(name) if name == "script");
            match token {
                Token::Text(script, line) if at == 0 || depth == 0 && after_script => {
                    scripts.push(Script {
                        text: script.clone(),
                        line: *line,
                        ci: true,
                    });
                    break;
                }
                Token::Punct('(' | '[' | '{') => depth += 1,
                Token::Punct(')' | ']' | '}') if depth > 0 => depth -= 1,
                Token::Punct(')') => break,
                Token::Punct('\n') if !parenthesised => break,
                _ => {}
            }
        }
    }
    scripts
}

/// Groovy's tokens, with comments skipped and newlines kept as punctuation.
fn groovy_tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        match c {
            '\n' => {
                tokens.push(Token::Punct('\n'));
                line += 1;
                at += 1;
            }
            '/' if chars.get(at + 1) == Some(&'/') => {
                while at < chars.len() && chars[at] != '\n' {
                    at += 1;
                }
            }
            '/' if chars.get(at + 1) == Some(&'*') => {
                at += 2;
                while at < chars.len() && !(chars[at] == '*' && chars.get(at + 1) == Some(&'/')) {
                    line += usize::from(chars[at] == '\n');
                    at += 1;
                }
                at += 2;
            }
            '\'' | '"' => {
                let (value, end, lines) = groovy_string(&chars, at);
                tokens.push(Token::Text(value, line));
                line += lines;
                at = end;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = at;
                while at < chars.len() && (chars[at].is_alphanumeric() || chars[at] == '_') {
                    at += 1;
                }
                tokens.push(Token::Name(chars[start..at].iter().collect()));
            }
            c if c.is_whitespace() => at += 1,
            c => {
                tokens.push(Token::Punct(c));
                at += 1;
            }
        }
    }
    tokens
}

/// The Groovy string literal starting at `start` (`'`, `"`, or tripled): its value with
/// escapes applied, where it ends, and how many newlines it holds.
fn groovy_string(chars: &[char], start: usize) -> (String, usize, usize) {
    let quote = chars[start];
    let triple = chars.get(start + 1) == Some(&quote) && chars.get(start + 2) == Some(&quote);
    let mut at = start + if triple { 3 } else { 1 };
    let mut value = String::new();
    let mut lines = 0;
    while at < chars.len() {
        let here = chars[at];
        let closes = here == quote
            && (!triple || chars.get(at + 1) == Some(&quote) && chars.get(at + 2) == Some(&quote));
        if closes {
            return (value, at + if triple { 3 } else { 1 }, lines);
        }
        if here == '\\' && at + 1 < chars.len() {
            // Groovy's escapes; a backslash before anything else stays.
            match chars[at + 1] {
                next @ ('\'' | '"' | '\\' | '$') => value.push(next),
                'n' => value.push('\n'),
                't' => value.push('\t'),
                '\n' => lines += 1,
                other => {
                    value.push('\\');
                    value.push(other);
                }
            }
            at += 2;
            continue;
        }
        if !triple && here == '\n' {
            break; // an unterminated one-line string ends with its line
        }
        lines += usize::from(here == '\n');
        value.push(here);
        at += 1;
    }
    (value, at, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jenkinsfile_sh_steps_in_every_form() {
        let text = r#"pipeline {
  agent any
  stages {
    stage('deps') {
      steps {
        // sh 'npm install' is not run
        sh 'npm install'
        sh(script: "yarn install", label: 'deps')
        sh label: 'b', script: '''
          pnpm install
        '''
        echo 'npm install'
        sh """
          cd web && npm ci
        """
        /* sh 'bun install' */
      }
    }
  }
}
"#;
        let scripts = jenkinsfile_scripts(text);
        let found: Vec<(&str, usize)> = scripts.iter().map(|s| (s.text.trim(), s.line)).collect();
        assert_eq!(
            found,
            [
                ("npm install", 7),
                ("yarn install", 8),
                ("pnpm install", 9),
                ("cd web && npm ci", 13)
            ]
        );
    }

    #[test]
    fn yaml_scripts_are_found_under_their_keys_with_lines() {
        let text = "jobs:\n  build:\n    steps:\n      - uses: actions/checkout@v4\n      - run: npm install\n      - name: test\n        run: |\n          npm ci\n          npm test\nlint:\n  script:\n    - yarn\n    - echo run\n  variables:\n    run: not a script key here? it is one\n";
        let scripts = yaml_scripts(text).unwrap();
        let found: Vec<(&str, usize)> = scripts.iter().map(|s| (s.text.as_str(), s.line)).collect();
        assert_eq!(
            found,
            [
                ("npm install", 5),
                ("npm ci\nnpm test\n", 8),
                ("yarn", 12),
                ("echo run", 13),
                ("not a script key here? it is one", 15)
            ]
        );
    }

    #[test]
    fn yaml_aliases_are_not_followed_and_errors_have_lines() {
        let text = ".base: &base\n  script: [npm install]\njob:\n  <<: *base\n";
        assert_eq!(yaml_scripts(text).unwrap().len(), 1);
        let error = yaml_scripts("a: [b\nc: d\n").unwrap_err();
        assert!(error.line >= 1, "{error:?}");
    }

    #[test]
    fn dockerfile_run_instructions_with_continuations_exec_form_and_heredocs() {
        let text = "# escape=\\\nFROM node:20\nWORKDIR /app\nRUN npm install \\\n    && npm run build\nRUN [\"npm\", \"i\"]\nENV CI=true\nRUN --mount=type=cache,target=/root/.npm pnpm install\nRUN <<EOF\nyarn\nEOF\n";
        let scripts = dockerfile_scripts(text);
        let found: Vec<(&str, usize, bool)> = scripts
            .iter()
            .map(|s| (s.text.trim(), s.line, s.ci))
            .collect();
        assert_eq!(
            found,
            [
                ("npm install \n    && npm run build", 4, false),
                ("npm i", 6, false),
                ("pnpm install", 8, true),
                ("yarn", 10, true),
            ]
        );
    }
}
