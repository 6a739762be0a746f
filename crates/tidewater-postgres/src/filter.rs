//! Which schemas, tables, columns and operations are captured.
//!
//! Lists are comma-separated regular expressions, each matched against the whole
//! name (anchored at both ends) and without regard to case, as Debezium does:
//! schemas by name, tables by `schema.table`, columns by `schema.table.column`.
//! A comma inside an expression is written `\,`.

use regex::{RegexSet, RegexSetBuilder};

/// Schemas that are never captured.
const SYSTEM_SCHEMAS: [&str; 2] = ["pg_catalog", "information_schema"];

/// An include or an exclude list of anchored, case-insensitive regular expressions.
#[derive(Debug, Clone)]
pub enum NameFilter {
    /// Only names matching one of the expressions pass.
    Include(NameList),
    /// Names matching one of the expressions are left out.
    Exclude(NameList),
}

/// A compiled list of anchored, case-insensitive regular expressions.
#[derive(Debug, Clone)]
pub struct NameList {
    source: Vec<String>,
    set: RegexSet,
}

impl NameList {
    /// Compiles a comma-separated list. Empty items are ignored; `\,` stands for
    /// a comma inside an expression.
    pub fn parse(list: &str) -> Result<NameList, regex::Error> {
        let source = split_list(list);
        let anchored: Vec<String> = source.iter().map(|p| format!("^(?:{p})$")).collect();
        let set = RegexSetBuilder::new(&anchored)
            .case_insensitive(true)
            .build()?;
        Ok(NameList { source, set })
    }

    /// Whether a name matches one of the expressions.
    pub fn matches(&self, name: &str) -> bool {
        self.set.is_match(name)
    }

    /// The expressions as written.
    pub fn patterns(&self) -> &[String] {
        &self.source
    }

    /// Whether the list holds no expression.
    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
    }
}

impl NameFilter {
    /// Whether `name` passes the filter.
    pub fn allows(&self, name: &str) -> bool {
        match self {
            NameFilter::Include(list) => list.matches(name),
            NameFilter::Exclude(list) => !list.matches(name),
        }
    }
}

/// Splits a comma-separated list, honouring `\,` as an escaped comma.
fn split_list(list: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            ',' => items.push(std::mem::take(&mut current)),
            other => current.push(other),
        }
    }
    items.push(current);
    items
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect()
}

/// Schema, table and column filters (Debezium's `*.include.list` / `*.exclude.list`).
///
/// ```
/// use tidewater_postgres::{Filters, NameFilter, NameList};
/// let mut filters = Filters::default();
/// filters.table = Some(NameFilter::Include(NameList::parse(r"public\.orders, inventory\..*")?));
/// filters.column = Some(NameFilter::Exclude(NameList::parse(r"public\.orders\.secret")?));
/// assert!(filters.includes_table("public", "orders"));
/// assert!(filters.includes_table("Inventory", "stock"));
/// assert!(!filters.includes_table("public", "orders_archive"));
/// assert!(!filters.includes_column("public", "orders", "secret"));
/// assert!(!filters.includes_table("pg_catalog", "pg_class"));
/// # Ok::<(), regex::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Filters {
    /// Schemas, matched by name.
    pub schema: Option<NameFilter>,
    /// Tables, matched by `schema.table`.
    pub table: Option<NameFilter>,
    /// Columns, matched by `schema.table.column`.
    pub column: Option<NameFilter>,
}

impl Filters {
    /// Whether changes of `schema.table` are captured. System schemas never are.
    pub fn includes_table(&self, schema: &str, table: &str) -> bool {
        if is_system_schema(schema) {
            return false;
        }
        if let Some(filter) = &self.schema
            && !filter.allows(schema)
        {
            return false;
        }
        match &self.table {
            Some(filter) => filter.allows(&format!("{schema}.{table}")),
            None => true,
        }
    }

    /// Whether column `column` of `schema.table` is captured.
    pub fn includes_column(&self, schema: &str, table: &str, column: &str) -> bool {
        match &self.column {
            Some(filter) => filter.allows(&format!("{schema}.{table}.{column}")),
            None => true,
        }
    }

    /// Whether a column filter is set at all.
    pub fn has_column_filter(&self) -> bool {
        self.column.is_some()
    }
}

/// `pg_catalog`, `information_schema`, and the `pg_toast*` / `pg_temp*` schemas.
pub(crate) fn is_system_schema(schema: &str) -> bool {
    SYSTEM_SCHEMAS.contains(&schema)
        || schema.starts_with("pg_toast")
        || schema.starts_with("pg_temp")
}

/// An operation that `skipped.operations` can leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `c`: inserts.
    Create,
    /// `u`: updates.
    Update,
    /// `d`: deletes.
    Delete,
    /// `t`: truncates.
    Truncate,
}

impl Operation {
    /// Debezium's op code.
    pub fn code(self) -> char {
        match self {
            Operation::Create => 'c',
            Operation::Update => 'u',
            Operation::Delete => 'd',
            Operation::Truncate => 't',
        }
    }

    /// The word PostgreSQL's publication `publish` option uses.
    pub fn publish_name(self) -> &'static str {
        match self {
            Operation::Create => "insert",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Truncate => "truncate",
        }
    }

    const ALL: [Operation; 4] = [
        Operation::Create,
        Operation::Update,
        Operation::Delete,
        Operation::Truncate,
    ];
}

/// The operations left out of the stream (`skipped.operations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SkippedOperations {
    bits: u8,
}

impl SkippedOperations {
    /// Nothing skipped (`none`).
    pub const NONE: SkippedOperations = SkippedOperations { bits: 0 };

    /// Debezium's default: truncates skipped (`t`).
    pub const DEFAULT: SkippedOperations = SkippedOperations { bits: 1 << 3 };

    fn bit(op: Operation) -> u8 {
        match op {
            Operation::Create => 1,
            Operation::Update => 1 << 1,
            Operation::Delete => 1 << 2,
            Operation::Truncate => 1 << 3,
        }
    }

    /// Parses `none` or a comma-separated list of `c`, `u`, `d`, `t`.
    pub fn parse(list: &str) -> Result<SkippedOperations, String> {
        let list = list.trim();
        if list.eq_ignore_ascii_case("none") || list.is_empty() {
            return Ok(SkippedOperations::NONE);
        }
        let mut skipped = SkippedOperations::NONE;
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let op = match item.to_ascii_lowercase().as_str() {
                "c" => Operation::Create,
                "u" => Operation::Update,
                "d" => Operation::Delete,
                "t" => Operation::Truncate,
                _ => {
                    return Err(format!(
                        "unknown operation `{item}`: expected `none` or a list of c, u, d, t"
                    ));
                }
            };
            skipped = skipped.with(op);
        }
        Ok(skipped)
    }

    /// This set plus `op`.
    #[must_use]
    pub fn with(self, op: Operation) -> SkippedOperations {
        SkippedOperations {
            bits: self.bits | Self::bit(op),
        }
    }

    /// Whether `op` is skipped.
    pub fn contains(self, op: Operation) -> bool {
        self.bits & Self::bit(op) != 0
    }

    /// Whether an event with Debezium op code `code` is skipped (`r` and `m` never are).
    pub fn skips_code(self, code: char) -> bool {
        Operation::ALL
            .iter()
            .any(|&op| op.code() == code && self.contains(op))
    }

    /// The value for a publication's `publish` option: the operations not skipped,
    /// e.g. `insert, update, delete`.
    pub fn publish_option(self) -> String {
        Operation::ALL
            .iter()
            .filter(|&&op| !self.contains(op))
            .map(|op| op.publish_name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn lists_split_on_unescaped_commas() {
        assert_eq!(split_list(" a , b\\,c ,, "), vec!["a", "b,c"]);
        assert_eq!(split_list(""), Vec::<String>::new());
        assert_eq!(split_list(r"t\d{1\,3}"), vec![r"t\d{1,3}"]);
    }

    #[test]
    fn expressions_are_anchored_and_case_insensitive() {
        let list = NameList::parse(r"public\.t\d+").unwrap();
        assert!(list.matches("public.t1"));
        assert!(list.matches("PUBLIC.T22"));
        assert!(!list.matches("public.t1x"));
        assert!(!list.matches("xpublic.t1"));
        // An alternation stays inside the anchors.
        let list = NameList::parse("a|b").unwrap();
        assert!(list.matches("a") && list.matches("b") && !list.matches("ab"));
    }

    #[test]
    fn schema_and_table_filters_combine() {
        let filters = Filters {
            schema: Some(NameFilter::Exclude(NameList::parse("audit").unwrap())),
            table: Some(NameFilter::Exclude(NameList::parse(r".*\.tmp_.*").unwrap())),
            column: None,
        };
        assert!(filters.includes_table("public", "orders"));
        assert!(!filters.includes_table("audit", "log"));
        assert!(!filters.includes_table("public", "tmp_x"));
        assert!(!filters.includes_table("pg_toast", "pg_toast_1"));
        assert!(filters.includes_column("public", "orders", "x"));
    }

    #[test]
    fn skipped_operations_parse_and_publish() {
        assert_eq!(
            SkippedOperations::parse("none").unwrap(),
            SkippedOperations::NONE
        );
        assert_eq!(
            SkippedOperations::parse("t").unwrap(),
            SkippedOperations::DEFAULT
        );
        let s = SkippedOperations::parse("c, D").unwrap();
        assert!(s.contains(Operation::Create) && s.contains(Operation::Delete));
        assert!(!s.contains(Operation::Update));
        assert!(s.skips_code('c') && !s.skips_code('r') && !s.skips_code('m'));
        assert_eq!(s.publish_option(), "update, truncate");
        assert_eq!(
            SkippedOperations::NONE.publish_option(),
            "insert, update, delete, truncate"
        );
        assert!(SkippedOperations::parse("x").is_err());
    }
}
