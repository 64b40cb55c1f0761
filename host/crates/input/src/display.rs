//! Text from outside (registries, packages, plugins, the programs a plan runs) made safe to
//! print: control characters are shown escaped, so a description or a log line cannot move
//! the cursor, recolour or rewrite the user's terminal.

use std::borrow::Cow;

/// `text` with every control character but newline and tab escaped (`\u{1b}`).
pub fn safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`safe`], on one line: newlines and tabs are escaped too.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_default().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect(),
    )
}

fn is_unsafe(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_terminal_controls_and_keeps_plain_text() {
        assert_eq!(super::safe("plain — text\nline 2"), "plain — text\nline 2");
        assert_eq!(super::safe("\u{1b}[2Jgone"), "\\u{1b}[2Jgone");
        assert_eq!(super::one_line("a\nb\u{7}"), "a\\nb\\u{7}");
    }
}
