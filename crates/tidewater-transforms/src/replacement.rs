//! Java's regex replacement syntax (`Matcher.replaceFirst`), used by every
//! router: `$n` and `${name}` refer to groups, `\x` is a literal `x`.
//!
//! Java reads `$12` as group 12 only when the pattern has at least twelve
//! groups, otherwise as group 1 followed by the text `2`; the `regex`
//! crate would read `$12` (or `$1a`) as one name. The replacement is
//! therefore parsed here, once, into literal text and group numbers.

use regex::{Captures, Regex};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Group(usize),
}

/// A parsed replacement string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Replacement {
    parts: Vec<Part>,
}

impl Replacement {
    /// Parses `replacement` for `regex`, checking every group reference.
    pub(crate) fn parse(replacement: &str, regex: &Regex) -> Result<Replacement, String> {
        let group_count = regex.captures_len().saturating_sub(1);
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = replacement.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(next) => literal.push(next),
                    None => return Err("character to be escaped is missing after '\\'".into()),
                },
                '$' => {
                    let index = match chars.peek().copied() {
                        Some('{') => {
                            chars.next();
                            let mut name = String::new();
                            loop {
                                match chars.next() {
                                    Some('}') => break,
                                    Some(ch) if ch.is_ascii_alphanumeric() => name.push(ch),
                                    _ => {
                                        return Err(
                                            "named group reference must be ${name} with letters and digits"
                                                .into(),
                                        );
                                    }
                                }
                            }
                            if !name.starts_with(|ch: char| ch.is_ascii_alphabetic()) {
                                return Err(format!("named group reference ${{{name}}} must start with a letter"));
                            }
                            regex
                                .capture_names()
                                .position(|n| n == Some(name.as_str()))
                                .ok_or_else(|| format!("no group named {name:?} in the pattern"))?
                        }
                        Some(d) if d.is_ascii_digit() => {
                            chars.next();
                            let mut n = d.to_digit(10).unwrap_or(0) as usize;
                            while let Some(next) = chars.peek().and_then(|ch| ch.to_digit(10)) {
                                let candidate = n.saturating_mul(10).saturating_add(next as usize);
                                if candidate > group_count {
                                    break;
                                }
                                n = candidate;
                                chars.next();
                            }
                            if n > group_count {
                                return Err(format!(
                                    "group ${n} does not exist (the pattern has {group_count})"
                                ));
                            }
                            n
                        }
                        _ => return Err("illegal group reference: '$' must be followed by a group number or {name}".into()),
                    };
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Group(index));
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Replacement { parts })
    }

    /// Appends the replacement for a match (a group that did not take part
    /// in the match adds nothing).
    pub(crate) fn expand_into(&self, caps: &Captures<'_>, out: &mut String) {
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Group(i) => {
                    if let Some(m) = caps.get(*i) {
                        out.push_str(m.as_str());
                    }
                }
            }
        }
    }

    /// Java's `matcher.matches() ? matcher.replaceFirst(replacement) : None`
    /// for a pattern compiled to match the whole input.
    pub(crate) fn replace_whole(&self, regex: &Regex, input: &str) -> Option<String> {
        let caps = regex.captures(input)?;
        let mut out = String::with_capacity(input.len() + 16);
        self.expand_into(&caps, &mut out);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test fixtures")]
    use super::*;
    use crate::config::compile_regex;

    fn replace(pattern: &str, repl: &str, input: &str) -> Option<String> {
        let re = compile_regex(pattern, true).unwrap();
        Replacement::parse(repl, &re)
            .unwrap()
            .replace_whole(&re, input)
    }

    #[test]
    fn java_group_references() {
        assert_eq!(
            replace("(.*)\\.(.*)", "$2-$1", "a.b").as_deref(),
            Some("b-a")
        );
        // $12 with two groups is group 1 then '2'.
        assert_eq!(replace("(a)(b)", "$12", "ab").as_deref(), Some("a2"));
        assert_eq!(replace("(a)(b)", "$1a", "ab").as_deref(), Some("aa"));
        assert_eq!(
            replace(
                "(?<routedByValue>.*)",
                "outbox.event.${routedByValue}",
                "Order"
            )
            .as_deref(),
            Some("outbox.event.Order")
        );
        assert_eq!(replace("(a)|(b)", "[$1$2]", "b").as_deref(), Some("[b]"));
        assert_eq!(replace("(a)", "\\$1", "a").as_deref(), Some("$1"));
        assert_eq!(replace("a", "x", "ab"), None, "must match the whole input");
    }

    #[test]
    fn invalid_references() {
        let re = compile_regex("(a)", true).unwrap();
        assert!(Replacement::parse("$2", &re).is_err());
        assert!(Replacement::parse("$x", &re).is_err());
        assert!(Replacement::parse("$", &re).is_err());
        assert!(Replacement::parse("${nope}", &re).is_err());
        assert!(Replacement::parse("trailing\\", &re).is_err());
    }
}
