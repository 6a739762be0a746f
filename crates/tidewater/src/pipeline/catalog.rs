//! What the convert stage knows of the source's catalog: table facts for the
//! envelope builder ([`TableCatalog`]) and user-defined types for value
//! decoding, both filled from [`ChangeSource::catalog_changes`].
//!
//! [`ChangeSource::catalog_changes`]: tidewater_postgres::ChangeSource::catalog_changes

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use tidewater_envelope::{TableCatalog, TableInfo};
use tidewater_postgres::TableMetadata;

/// Table facts by schema and table name, shared with the envelope builder.
#[derive(Debug, Default)]
pub(crate) struct SourceCatalog {
    tables: RwLock<HashMap<(String, String), TableInfo>>,
}

impl SourceCatalog {
    /// Records a table's facts; returns whether they differ from what was known.
    pub(crate) fn update(&self, table: &TableMetadata) -> bool {
        let info = table_info(table);
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        let key = (table.schema.clone(), table.name.clone());
        if tables.get(&key) == Some(&info) {
            return false;
        }
        tables.insert(key, info);
        true
    }
}

impl TableCatalog for SourceCatalog {
    fn table(&self, schema: &str, table: &str) -> Option<TableInfo> {
        self.tables
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(schema.to_owned(), table.to_owned()))
            .cloned()
    }
}

/// The envelope's view of a table: primary key, `NOT NULL` columns and the
/// defaults that are constants.
pub(crate) fn table_info(table: &TableMetadata) -> TableInfo {
    let not_null: HashSet<String> = table
        .columns
        .iter()
        .filter(|c| c.not_null)
        .map(|c| c.name.clone())
        .collect();
    let defaults: HashMap<String, String> = table
        .columns
        .iter()
        .filter_map(|c| {
            let literal = default_literal(c.default.as_deref()?)?;
            Some((c.name.clone(), literal))
        })
        .collect();
    TableInfo {
        primary_key: (!table.primary_key.is_empty()).then(|| table.primary_key.clone()),
        not_null,
        defaults,
    }
}

/// The constant a column default expression stands for, as the text the
/// type's input function reads: `'abc'::character varying` → `abc`,
/// `E'a\\b'::text` → `a\b`, `42` → `42`, `'-1'::integer` → `-1`, `true` → `true`.
///
/// Expressions that are not constants (`nextval(...)`, `now()`, operators) and
/// `NULL` give `None`: like Debezium, the schema then has no default.
pub(crate) fn default_literal(expr: &str) -> Option<String> {
    let mut text = expr.trim();
    // `(-1)`: PostgreSQL parenthesizes some negative constants.
    while let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        text = inner.trim();
    }
    let (literal, rest) = if let Some(body) = text.strip_prefix("E'") {
        let (value, rest) = quoted(body, true)?;
        (value, rest)
    } else if let Some(body) = text.strip_prefix('\'') {
        quoted(body, false)?
    } else {
        let end = text.find("::").unwrap_or(text.len());
        let (word, rest) = text.split_at(end);
        let word = word.trim();
        let lower = word.to_ascii_lowercase();
        if lower == "true" || lower == "false" {
            (lower, rest)
        } else if is_number(word) {
            (word.to_owned(), rest)
        } else {
            return None;
        }
    };
    casts_only(rest).then_some(literal)
}

/// Reads a quoted literal's body up to its closing quote (`''` is a quote; in
/// `E''` strings backslash escapes are read too). Returns the value and what
/// follows the closing quote.
fn quoted(body: &str, escapes: bool) -> Option<(String, &str)> {
    let mut value = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => {
                let next = body.get(i + 1..)?;
                if next.starts_with('\'') {
                    value.push('\'');
                    // Skip the second quote.
                    chars.next();
                } else {
                    return Some((value, next));
                }
            }
            '\\' if escapes => {
                let (_, escaped) = chars.next()?;
                match escaped {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'r' => value.push('\r'),
                    'b' => value.push('\u{8}'),
                    'f' => value.push('\u{c}'),
                    // Octal, hex and Unicode escapes are rare in defaults:
                    // not a constant we can read back safely.
                    '0'..='7' | 'x' | 'u' | 'U' => return None,
                    other => value.push(other),
                }
            }
            other => value.push(other),
        }
    }
    None
}

/// Whether `rest` is nothing but type casts (`::integer`, `::character
/// varying(10)[]`, `::public."Mood"`).
fn casts_only(rest: &str) -> bool {
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some(after) = rest.strip_prefix("::") else {
            return false;
        };
        let end = after.find("::").unwrap_or(after.len());
        let (ty, next) = after.split_at(end);
        let ty = ty.trim();
        if ty.is_empty()
            || !ty.chars().all(|c| {
                c.is_alphanumeric()
                    || matches!(c, '_' | ' ' | '(' | ')' | '[' | ']' | ',' | '.' | '"')
            })
        {
            return false;
        }
        rest = next.trim();
    }
    true
}

/// A numeric constant as PostgreSQL prints it: `-12`, `3.25`, `1e-05`, `NaN`-free.
fn is_number(word: &str) -> bool {
    let digits = word.strip_prefix('-').unwrap_or(word);
    let (mantissa, exponent) = match digits.find(['e', 'E']) {
        Some(i) => (digits.get(..i).unwrap_or(""), digits.get(i + 1..)),
        None => (digits, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next();
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(whole)
        && fraction.is_none_or(all_digits)
        && (!whole.is_empty() || fraction.is_some_and(|f| !f.is_empty()));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn constants_are_read() {
        let cases = [
            ("0", Some("0")),
            ("42", Some("42")),
            ("'-1'::integer", Some("-1")),
            ("(-1)", Some("-1")),
            ("3.25", Some("3.25")),
            ("1e-05", Some("1e-05")),
            ("'1.50'::numeric", Some("1.50")),
            ("true", Some("true")),
            ("FALSE", Some("false")),
            ("'abc'::text", Some("abc")),
            ("'it''s'::character varying", Some("it's")),
            ("E'a\\\\b'::text", Some("a\\b")),
            ("'2024-01-01'::date", Some("2024-01-01")),
            ("'{1,2}'::integer[]", Some("{1,2}")),
            ("'happy'::public.\"Mood\"", Some("happy")),
            ("'x'::character varying(10)", Some("x")),
            ("''::text", Some("")),
            ("NULL::text", None),
            ("nextval('t_id_seq'::regclass)", None),
            ("now()", None),
            ("CURRENT_TIMESTAMP", None),
            ("'a'::text || 'b'::text", None),
            ("(1 + 2)", None),
            ("'unterminated", None),
            ("E'\\x41'::text", None),
        ];
        for (expr, expected) in cases {
            assert_eq!(default_literal(expr).as_deref(), expected, "{expr}");
        }
    }

    proptest! {
        #[test]
        fn quoted_strings_round_trip(value in "[^\\\\]{0,30}", ty in "(text|character varying\\(20\\)|date|public\\.\"T\")") {
            let expr = format!("'{}'::{ty}", value.replace('\'', "''"));
            prop_assert_eq!(default_literal(&expr), Some(value));
        }

        #[test]
        fn escaped_strings_round_trip(value in ".{0,30}") {
            let expr = format!("E'{}'::text", value.replace('\\', "\\\\").replace('\'', "''"));
            prop_assert_eq!(default_literal(&expr), Some(value));
        }

        #[test]
        fn numbers_round_trip(n in any::<i64>(), frac in proptest::option::of(0u32..100_000)) {
            let text = match frac {
                Some(f) => format!("{n}.{f}"),
                None => n.to_string(),
            };
            prop_assert_eq!(default_literal(&text), Some(text.clone()));
            prop_assert_eq!(default_literal(&format!("'{text}'::numeric")), Some(text));
        }

        #[test]
        fn arbitrary_expressions_never_panic(expr in ".{0,60}") {
            let _ = default_literal(&expr);
        }
    }
}
