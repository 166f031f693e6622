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

/// A CSI sequence ends with a byte in `@`..=`~`.
fn skip_until_final(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('@'..='~').contains(&c) {
            break;
        }
    }
}

/// OSC/DCS strings end with BEL, ST (`ESC \`) or the C1 ST.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
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
        ];
        for (input, expected) in cases {
            assert_eq!(clean(input), expected, "input {input:?}");
        }
    }
}
