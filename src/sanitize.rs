//! Strips terminal control sequences from untrusted text (lockfiles, OSV answers, file names).

use std::borrow::Cow;

/// Returns `text` without terminal control characters: C0 and C1 controls, DEL, whole escape
/// sequences (CSI, OSC, and two-character ones) and Unicode bidirectional overrides. A line break
/// or tab becomes a space, so one record cannot forge extra report lines.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 CSI and OSC introducers: skip like their ESC forms.
            '\u{9b}' => skip_until_final(&mut chars),
            '\u{9d}' => skip_string(&mut chars),
            '\n' | '\r' | '\t' => out.push(' '),
            c if is_unsafe(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_until_final(chars),
        Some(']' | 'P' | '_' | '^' | 'X') => skip_string(chars),
        _ => {}
    }
}

/// A CSI sequence: parameter and intermediate bytes (` `..=`?`), then one final byte in
/// `@`..=`~`. A malformed one ends where its bytes stop fitting, so it cannot swallow the
/// text after it.
fn skip_until_final(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        if (' '..='?').contains(&c) {
            chars.next();
        } else {
            if ('@'..='~').contains(&c) {
                chars.next();
            }
            return;
        }
    }
}

/// OSC/DCS strings end with BEL, ST (`ESC \`) or the C1 ST. One that never ends is not a
/// sequence: only its introducer goes, and the text after it stays (it may be lockgate's own
/// words, written after an untrusted name).
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    let mut ahead = chars.clone();
    let mut length = 0;
    let mut terminated = false;
    while let Some(c) = ahead.next() {
        length += 1;
        match c {
            '\u{7}' | '\u{9c}' => {
                terminated = true;
                break;
            }
            '\u{1b}' => {
                if ahead.peek() == Some(&'\\') {
                    length += 1;
                }
                terminated = true;
                break;
            }
            '\n' => break,
            _ => {}
        }
    }
    if terminated {
        for _ in 0..length {
            chars.next();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn strips_control_sequences() {
        let cases = [
            ("plain text", "plain text"),
            ("red \u{1b}[31mALERT\u{1b}[0m done", "red ALERT done"),
            ("title \u{1b}]0;pwned\u{7}x", "title x"),
            ("link \u{1b}]8;;http://x\u{1b}\\here", "link here"),
            ("clear\u{1b}[2J\u{1b}[H", "clear"),
            ("bell\u{7} and del\u{7f}", "bell and del"),
            ("c1 \u{9b}31mcsi", "c1 csi"),
            ("two\nlines\r\ttab", "two lines  tab"),
            ("bidi \u{202e}txt.exe", "bidi txt.exe"),
            ("Mańkowski — ok", "Mańkowski — ok"),
            ("dangling \u{1b}", "dangling "),
            // An unterminated OSC must not swallow the words lockgate writes after it.
            ("web\u{1b}]: debug is MALWARE", "web: debug is MALWARE"),
            (
                "holds x@1\u{1b}]8;; from the registry",
                "holds x@18;; from the registry",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(clean(input), expected, "input {input:?}");
        }
    }
}
