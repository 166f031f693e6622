//! Just enough of the POSIX shell's grammar to find the simple commands of a CI step: words
//! with their quotes removed, split at `&&`, `||`, `;`, `|`, `&`, newlines and subshell or
//! command-substitution brackets; `\` before a newline continues the line, `#` at the start of a
//! word comments out the rest of it. Nothing is expanded or run.

/// A simple command: its words, and the line of the script (0-based) its first word is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The words, quotes removed (`"npm" i` → `npm`, `i`).
    pub words: Vec<String>,
    /// The script line its first word stands on.
    pub line: usize,
}

/// Longest script read; the rest is not linted.
pub const MAX_SCRIPT: usize = 1 << 20;

/// The simple commands of `script`.
pub fn commands(script: &str) -> Vec<Command> {
    let script = script.get(..MAX_SCRIPT).unwrap_or(script);
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    // Whether a word is being built (an empty quoted word `""` is still a word).
    let mut in_word = false;
    let mut line = 0;
    let mut start_line = 0;
    let mut chars = script.chars().peekable();
    let end_word = |words: &mut Vec<String>, word: &mut String, in_word: &mut bool| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    let mut end_command = |words: &mut Vec<String>, start_line: usize| {
        if !words.is_empty() {
            commands.push(Command {
                words: std::mem::take(words),
                line: start_line,
            });
        }
    };
    while let Some(c) = chars.next() {
        if !in_word && words.is_empty() && !c.is_whitespace() {
            start_line = line;
        }
        match c {
            '\\' => match chars.next() {
                Some('\n') => line += 1, // a continuation: nothing
                Some(escaped) => {
                    word.push(escaped);
                    in_word = true;
                }
                None => {}
            },
            '\'' => {
                in_word = true;
                for quoted in chars.by_ref() {
                    if quoted == '\'' {
                        break;
                    }
                    line += usize::from(quoted == '\n');
                    word.push(quoted);
                }
            }
            '"' => {
                in_word = true;
                while let Some(quoted) = chars.next() {
                    match quoted {
                        '"' => break,
                        '\\' => {
                            if let Some(&next) = chars.peek() {
                                if matches!(next, '"' | '\\' | '$' | '`') {
                                    word.push(next);
                                    chars.next();
                                    continue;
                                }
                                if next == '\n' {
                                    chars.next();
                                    line += 1;
                                    continue;
                                }
                            }
                            word.push('\\');
                        }
                        other => {
                            line += usize::from(other == '\n');
                            word.push(other);
                        }
                    }
                }
            }
            '#' if !in_word => {
                // A comment, to the end of the line.
                while chars.peek().is_some_and(|&next| next != '\n') {
                    chars.next();
                }
            }
            '\n' | ';' | '&' | '|' | '(' | ')' | '`' => {
                end_word(&mut words, &mut word, &mut in_word);
                end_command(&mut words, start_line);
                line += usize::from(c == '\n');
            }
            '$' if chars.peek() == Some(&'(') => {
                chars.next();
                end_word(&mut words, &mut word, &mut in_word);
                end_command(&mut words, start_line);
            }
            c if c.is_whitespace() => end_word(&mut words, &mut word, &mut in_word),
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    end_word(&mut words, &mut word, &mut in_word);
    end_command(&mut words, start_line);
    commands
}

/// The command's words from the program on: leading variable assignments (`CI=true`) and
/// wrappers (`sudo`, `env`, `time`, `exec`, `nohup`) skipped; the assignments are returned too.
pub fn program(words: &[String]) -> (Vec<&str>, &[String]) {
    let mut assignments = Vec::new();
    let mut rest = words;
    while let Some((first, tail)) = rest.split_first() {
        let is_assignment = first.split_once('=').is_some_and(|(name, _)| is_name(name));
        if is_assignment {
            assignments.push(first.as_str());
        } else if matches!(
            first.as_str(),
            "sudo" | "env" | "time" | "exec" | "nohup" | "command"
        ) {
        } else {
            break;
        }
        rest = tail;
    }
    (assignments, rest)
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(script: &str) -> Vec<Vec<String>> {
        commands(script).into_iter().map(|c| c.words).collect()
    }

    #[test]
    fn commands_are_split_as_the_shell_splits_them() {
        assert_eq!(
            words("cd web && npm install; echo 'a && b' | tee x"),
            [
                vec!["cd", "web"],
                vec!["npm", "install"],
                vec!["echo", "a && b"],
                vec!["tee", "x"]
            ]
        );
        assert_eq!(
            words("npm \\\n  install --no-audit"),
            [vec!["npm", "install", "--no-audit"]]
        );
        assert_eq!(words("\"npm\" i # npm ci later"), [vec!["npm", "i"]]);
        assert_eq!(
            words("x=$(npm install)"),
            [vec!["x="], vec!["npm", "install"]]
        );
        assert_eq!(words("(cd a; yarn)"), [vec!["cd", "a"], vec!["yarn"]]);
        assert_eq!(words("echo \"a \\\"b\\\" c\""), [vec!["echo", "a \"b\" c"]]);
    }

    #[test]
    fn each_command_knows_its_line() {
        let found = commands("set -e\n\nnpm ci \\\n  --no-audit\nyarn install\n");
        let lines: Vec<usize> = found.iter().map(|c| c.line).collect();
        assert_eq!(lines, [0, 2, 4]);
    }

    #[test]
    fn assignments_and_wrappers_come_before_the_program() {
        let words: Vec<String> = ["CI=true", "sudo", "npm", "install"]
            .map(String::from)
            .to_vec();
        let (assignments, program) = program(&words);
        assert_eq!(assignments, ["CI=true"]);
        assert_eq!(program, ["npm", "install"]);
    }
}
