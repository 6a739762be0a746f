//! Java `.properties` text, read as `java.util.Properties.load` reads it: the format of
//! Kafka Connect's standalone connector files and of the files `${file:…}` placeholders
//! point at.
//!
//! - Lines end with `\n`, `\r\n` or `\r`. A line whose first non-blank character is `#` or
//!   `!` is a comment; blank lines are skipped.
//! - A line ending in an odd number of backslashes continues on the next line (the
//!   backslash, the line break and the next line's leading blanks are dropped).
//! - The key ends at the first unescaped `=`, `:` or blank; blanks, then one `=` or `:`,
//!   then blanks separate it from the value.
//! - Escapes in keys and values: `\t`, `\n`, `\r`, `\f`, `\uXXXX` (UTF-16, so surrogate
//!   pairs combine), and `\` before any other character stands for that character.

use std::fmt;

/// A `.properties` text that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PropertiesError {
    /// A `\u` escape without four hexadecimal digits.
    #[error("line {line}: malformed \\uXXXX escape")]
    MalformedUnicodeEscape {
        /// The (1-based) line where the entry starts.
        line: usize,
    },
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// Whether a line ends in an odd number of backslashes.
fn continues(line: &str) -> bool {
    line.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// Parses `.properties` text into its entries, in order (a later duplicate is kept too;
/// callers collecting into a map get Java's "last one wins").
pub fn parse_properties(text: &str) -> Result<Vec<(String, String)>, PropertiesError> {
    let normalized;
    let text = if text.contains('\r') {
        normalized = text.replace("\r\n", "\n").replace('\r', "\n");
        normalized.as_str()
    } else {
        text
    };
    let mut entries = Vec::new();
    let mut lines = text.split('\n').enumerate();
    while let Some((index, line)) = lines.next() {
        let start = line.trim_start_matches(is_blank);
        if start.is_empty() || start.starts_with('#') || start.starts_with('!') {
            continue;
        }
        let mut logical = start.to_owned();
        while continues(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start_matches(is_blank)),
                None => break,
            }
        }
        let (key, value) = split_entry(&logical);
        let line = index + 1;
        entries.push((unescape(key, line)?, unescape(value, line)?));
    }
    Ok(entries)
}

/// Splits a logical line into its raw (still escaped) key and value.
fn split_entry(line: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = line.len();
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => {
                key_end = i;
                break;
            }
            c if is_blank(c) => {
                key_end = i;
                break;
            }
            _ => {}
        }
    }
    let (key, rest) = line.split_at(key_end);
    let rest = rest.trim_start_matches(is_blank);
    let rest = rest
        .strip_prefix('=')
        .or_else(|| rest.strip_prefix(':'))
        .unwrap_or(rest);
    (key, rest.trim_start_matches(is_blank))
}

fn unescape(raw: &str, line: usize) -> Result<String, PropertiesError> {
    if !raw.contains('\\') {
        return Ok(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut units: Vec<u16> = Vec::new();
    let mut chars = raw.chars();
    let flush = |units: &mut Vec<u16>, out: &mut String| {
        out.extend(char::decode_utf16(units.drain(..)).map(|r| r.unwrap_or('\u{fffd}')));
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush(&mut units, &mut out);
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            // A lone trailing backslash (a continuation at the end of the text) is dropped.
            break;
        };
        if e == 'u' {
            let mut code: u16 = 0;
            for _ in 0..4 {
                let digit = chars
                    .next()
                    .and_then(|d| d.to_digit(16))
                    .ok_or(PropertiesError::MalformedUnicodeEscape { line })?;
                code = code
                    .wrapping_mul(16)
                    .wrapping_add(u16::try_from(digit).unwrap_or(0));
            }
            units.push(code);
            continue;
        }
        flush(&mut units, &mut out);
        out.push(match e {
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'f' => '\x0c',
            other => other,
        });
    }
    flush(&mut units, &mut out);
    Ok(out)
}

/// Writes one entry as `.properties` text that [`parse_properties`] reads back unchanged.
pub fn write_property(out: &mut String, key: &str, value: &str) {
    escape_into(out, key, true);
    out.push('=');
    escape_into(out, value, false);
    out.push('\n');
}

fn escape_into(out: &mut String, s: &str, is_key: bool) {
    use fmt::Write as _;
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x0c' => out.push_str("\\f"),
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            '=' | ':' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04X}");
                }
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use proptest::prelude::*;

    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_properties(text).unwrap()
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn java_properties_syntax() {
        let text = "# comment\n\
                    ! also a comment\n\
                    \n\
                    a=1\n\
                    b : 2\n\
                    c 3\n\
                    \t  d=  spaced value  \n\
                    e\n\
                    f=one \\\n     two \\\n three\n\
                    g=C:\\\\path\\tx\n\
                    h\\ key\\=x=v\\u00e9\\uD83D\\uDE00\n\
                    i=a=b:c\n\
                    j=#not a comment\r\n\
                    k=last\\";
        assert_eq!(
            pairs(text),
            vec![
                p("a", "1"),
                p("b", "2"),
                p("c", "3"),
                p("d", "spaced value  "),
                p("e", ""),
                p("f", "one two three"),
                p("g", "C:\\path\tx"),
                p("h key=x", "vé😀"),
                p("i", "a=b:c"),
                p("j", "#not a comment"),
                p("k", "last"),
            ]
        );
    }

    #[test]
    fn malformed_unicode_escape_names_the_line() {
        assert_eq!(
            parse_properties("a=1\nb=\\u12x4\n"),
            Err(PropertiesError::MalformedUnicodeEscape { line: 2 })
        );
        assert!(parse_properties("a=\\u12").is_err());
    }

    #[test]
    fn even_backslashes_do_not_continue() {
        assert_eq!(pairs("a=x\\\\\nb=y"), vec![p("a", "x\\"), p("b", "y")]);
    }

    proptest! {
        #[test]
        fn written_entries_read_back(entries in proptest::collection::vec(("\\PC*|[ =:#!\\\\\t\n\r]{0,4}", any::<String>()), 0..8)) {
            let mut text = String::new();
            for (k, v) in &entries {
                write_property(&mut text, k, v);
            }
            let back = parse_properties(&text).unwrap();
            prop_assert_eq!(back, entries);
        }

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = parse_properties(&text);
        }
    }
}
