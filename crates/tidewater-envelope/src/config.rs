//! The builder's configuration, read from Debezium's connector keys.

use std::collections::HashMap;

use regex::Regex;

use crate::error::{EnvelopeError, Result};

/// Every key [`EnvelopeConfig::from_map`] reads, legacy names included. Other
/// keys (connection, transforms, converters, ...) belong to other stages and
/// are ignored by the builder.
pub const CONFIG_KEYS: &[&str] = &[
    "topic.prefix",
    "database.server.name",
    "topic.delimiter",
    "topic.transaction",
    "topic.heartbeat.prefix",
    "heartbeat.topics.prefix",
    "database.dbname",
    "decimal.handling.mode",
    "time.precision.mode",
    "binary.handling.mode",
    "interval.handling.mode",
    "hstore.handling.mode",
    "unavailable.value.placeholder",
    "money.fraction.digits",
    "tombstones.on.delete",
    "provide.transaction.metadata",
    "include.unknown.datatypes",
    "skipped.operations",
    "message.key.columns",
    "schema.include.list",
    "schema.exclude.list",
    "table.include.list",
    "table.exclude.list",
    "table.whitelist",
    "table.blacklist",
    "column.include.list",
    "column.exclude.list",
    "column.whitelist",
    "column.blacklist",
];

/// `decimal.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DecimalMode {
    /// `precise`: Connect `Decimal` (or `VariableScaleDecimal` for unconstrained numeric).
    #[default]
    Precise,
    /// `double`: `float64`.
    Double,
    /// `string`: the decimal's text.
    String,
}

/// `time.precision.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TimePrecisionMode {
    /// `adaptive`: millisecond or microsecond types by column precision.
    #[default]
    Adaptive,
    /// `adaptive_time_microseconds`: as adaptive, but `time` is always `MicroTime`.
    AdaptiveTimeMicroseconds,
    /// `connect`: Kafka Connect's `Date`, `Time`, `Timestamp` (milliseconds).
    Connect,
}

/// `binary.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BinaryMode {
    /// `bytes`: Connect `bytes`.
    #[default]
    Bytes,
    /// `base64`: a base64 string.
    Base64,
    /// `base64-url-safe`: a URL-safe base64 string.
    Base64UrlSafe,
    /// `hex`: a lowercase hex string.
    Hex,
}

/// `interval.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IntervalMode {
    /// `numeric`: `MicroDuration` microseconds.
    #[default]
    Numeric,
    /// `string`: ISO 8601 `Interval` text.
    String,
}

/// `hstore.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HstoreMode {
    /// `json`: a `Json` string.
    #[default]
    Json,
    /// `map`: `map<string, string>`.
    Map,
}

/// One `message.key.columns` entry: tables matching `table` use `columns` as key.
#[derive(Debug, Clone)]
pub struct KeyColumnsRule {
    /// Anchored, case-insensitive pattern over `schema.table`.
    pub table: Regex,
    /// Key column names, in order.
    pub columns: Vec<String>,
}

/// Everything the builder needs to know, with Debezium's defaults.
///
/// ```
/// use std::collections::HashMap;
/// use tidewater_envelope::{EnvelopeConfig, DecimalMode};
/// let cfg: HashMap<String, String> = [
///     ("topic.prefix", "shop"), ("database.dbname", "shopdb"),
///     ("decimal.handling.mode", "string"),
/// ].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
/// let c = EnvelopeConfig::from_map(&cfg)?;
/// assert_eq!(c.topic_prefix, "shop");
/// assert_eq!(c.decimal_mode, DecimalMode::String);
/// assert!(c.tombstones_on_delete);
/// # Ok::<(), tidewater_envelope::EnvelopeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct EnvelopeConfig {
    /// `topic.prefix` (legacy `database.server.name`); also `source.name`.
    pub topic_prefix: String,
    /// `topic.delimiter` (default `.`).
    pub topic_delimiter: String,
    /// `topic.transaction` (default `transaction`).
    pub transaction_topic: String,
    /// `topic.heartbeat.prefix` (legacy `heartbeat.topics.prefix`; default
    /// `__debezium-heartbeat`).
    pub heartbeat_topics_prefix: String,
    /// `database.dbname`: `source.db`.
    pub database_name: String,
    /// `decimal.handling.mode`.
    pub decimal_mode: DecimalMode,
    /// `time.precision.mode`.
    pub time_precision_mode: TimePrecisionMode,
    /// `binary.handling.mode`.
    pub binary_mode: BinaryMode,
    /// `interval.handling.mode`.
    pub interval_mode: IntervalMode,
    /// `hstore.handling.mode`.
    pub hstore_mode: HstoreMode,
    /// `unavailable.value.placeholder` as bytes (a `hex:` prefix is decoded).
    pub unavailable_value_placeholder: Vec<u8>,
    /// `money.fraction.digits` (default 2).
    pub money_fraction_digits: i32,
    /// `tombstones.on.delete` (default true).
    pub tombstones_on_delete: bool,
    /// `message.key.columns`.
    pub message_key_columns: Vec<KeyColumnsRule>,
    /// `provide.transaction.metadata` (default false).
    pub provide_transaction_metadata: bool,
    /// `skipped.operations`: op codes not emitted (default `t`).
    pub skipped_operations: Vec<char>,
    /// `include.unknown.datatypes` (default false).
    pub include_unknown_datatypes: bool,
    /// `schema.include.list`.
    pub schema_include: Vec<Regex>,
    /// `schema.exclude.list`.
    pub schema_exclude: Vec<Regex>,
    /// `table.include.list` (legacy `table.whitelist`).
    pub table_include: Vec<Regex>,
    /// `table.exclude.list` (legacy `table.blacklist`).
    pub table_exclude: Vec<Regex>,
    /// `column.include.list` (legacy `column.whitelist`), over `schema.table.column`.
    pub column_include: Vec<Regex>,
    /// `column.exclude.list` (legacy `column.blacklist`).
    pub column_exclude: Vec<Regex>,
}

impl EnvelopeConfig {
    /// Debezium's defaults for a topic prefix and database name.
    pub fn new(topic_prefix: impl Into<String>, database_name: impl Into<String>) -> Self {
        EnvelopeConfig {
            topic_prefix: topic_prefix.into(),
            topic_delimiter: ".".into(),
            transaction_topic: "transaction".into(),
            heartbeat_topics_prefix: "__debezium-heartbeat".into(),
            database_name: database_name.into(),
            decimal_mode: DecimalMode::default(),
            time_precision_mode: TimePrecisionMode::default(),
            binary_mode: BinaryMode::default(),
            interval_mode: IntervalMode::default(),
            hstore_mode: HstoreMode::default(),
            unavailable_value_placeholder: b"__debezium_unavailable_value".to_vec(),
            money_fraction_digits: 2,
            tombstones_on_delete: true,
            message_key_columns: Vec::new(),
            provide_transaction_metadata: false,
            skipped_operations: vec!['t'],
            include_unknown_datatypes: false,
            schema_include: Vec::new(),
            schema_exclude: Vec::new(),
            table_include: Vec::new(),
            table_exclude: Vec::new(),
            column_include: Vec::new(),
            column_exclude: Vec::new(),
        }
    }

    /// Reads the Debezium keys this builder uses from a connector
    /// configuration; other keys are ignored (they belong to other stages).
    pub fn from_map(map: &HashMap<String, String>) -> Result<Self> {
        Self::from_pairs(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// [`from_map`](Self::from_map) over key/value pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let map: HashMap<&str, &str> = pairs.into_iter().collect();
        let get = |key: &str| map.get(key).map(|v| v.trim());
        let prefix = get("topic.prefix")
            .or_else(|| get("database.server.name"))
            .filter(|p| !p.is_empty())
            .ok_or_else(|| EnvelopeError::Config {
                key: "topic.prefix".into(),
                value: String::new(),
                reason: "required (legacy name: database.server.name)".into(),
            })?;
        let mut c = EnvelopeConfig::new(prefix, get("database.dbname").unwrap_or(""));
        if let Some(v) = get("topic.delimiter") {
            c.topic_delimiter = v.to_string();
        }
        if let Some(v) = get("topic.transaction") {
            c.transaction_topic = v.to_string();
        }
        if let Some(v) = get("topic.heartbeat.prefix").or_else(|| get("heartbeat.topics.prefix")) {
            c.heartbeat_topics_prefix = v.to_string();
        }
        if let Some(v) = get("decimal.handling.mode") {
            c.decimal_mode = choose(
                "decimal.handling.mode",
                v,
                &[
                    ("precise", DecimalMode::Precise),
                    ("double", DecimalMode::Double),
                    ("string", DecimalMode::String),
                ],
            )?;
        }
        if let Some(v) = get("time.precision.mode") {
            c.time_precision_mode = choose(
                "time.precision.mode",
                v,
                &[
                    ("adaptive", TimePrecisionMode::Adaptive),
                    (
                        "adaptive_time_microseconds",
                        TimePrecisionMode::AdaptiveTimeMicroseconds,
                    ),
                    ("connect", TimePrecisionMode::Connect),
                ],
            )?;
        }
        if let Some(v) = get("binary.handling.mode") {
            c.binary_mode = choose(
                "binary.handling.mode",
                v,
                &[
                    ("bytes", BinaryMode::Bytes),
                    ("base64", BinaryMode::Base64),
                    ("base64-url-safe", BinaryMode::Base64UrlSafe),
                    ("hex", BinaryMode::Hex),
                ],
            )?;
        }
        if let Some(v) = get("interval.handling.mode") {
            c.interval_mode = choose(
                "interval.handling.mode",
                v,
                &[
                    ("numeric", IntervalMode::Numeric),
                    ("string", IntervalMode::String),
                ],
            )?;
        }
        if let Some(v) = get("hstore.handling.mode") {
            c.hstore_mode = choose(
                "hstore.handling.mode",
                v,
                &[("json", HstoreMode::Json), ("map", HstoreMode::Map)],
            )?;
        }
        if let Some(v) = map.get("unavailable.value.placeholder") {
            c.unavailable_value_placeholder = placeholder_bytes(v)?;
        }
        if let Some(v) = get("money.fraction.digits") {
            c.money_fraction_digits = v
                .parse::<i32>()
                .ok()
                .filter(|d| (0..=100).contains(d))
                .ok_or_else(|| bad("money.fraction.digits", v, "an integer from 0 to 100"))?;
        }
        if let Some(v) = get("tombstones.on.delete") {
            c.tombstones_on_delete = boolean("tombstones.on.delete", v)?;
        }
        if let Some(v) = get("provide.transaction.metadata") {
            c.provide_transaction_metadata = boolean("provide.transaction.metadata", v)?;
        }
        if let Some(v) = get("include.unknown.datatypes") {
            c.include_unknown_datatypes = boolean("include.unknown.datatypes", v)?;
        }
        if let Some(v) = get("skipped.operations") {
            c.skipped_operations = skipped_operations(v)?;
        }
        if let Some(v) = get("message.key.columns") {
            c.message_key_columns = key_columns(v)?;
        }
        let lists = [
            ("schema.include.list", None),
            ("schema.exclude.list", None),
            ("table.include.list", Some("table.whitelist")),
            ("table.exclude.list", Some("table.blacklist")),
            ("column.include.list", Some("column.whitelist")),
            ("column.exclude.list", Some("column.blacklist")),
        ];
        for (key, legacy) in lists {
            let found = get(key)
                .map(|v| (key, v))
                .or_else(|| legacy.and_then(|l| get(l).map(|v| (l, v))));
            let Some((used, v)) = found else { continue };
            let patterns = regex_list(used, v)?;
            match key {
                "schema.include.list" => c.schema_include = patterns,
                "schema.exclude.list" => c.schema_exclude = patterns,
                "table.include.list" => c.table_include = patterns,
                "table.exclude.list" => c.table_exclude = patterns,
                "column.include.list" => c.column_include = patterns,
                _ => c.column_exclude = patterns,
            }
        }
        if !c.schema_include.is_empty() && !c.schema_exclude.is_empty() {
            return Err(bad(
                "schema.exclude.list",
                get("schema.exclude.list").unwrap_or(""),
                "cannot be combined with schema.include.list",
            ));
        }
        if !c.table_include.is_empty() && !c.table_exclude.is_empty() {
            return Err(bad(
                "table.exclude.list",
                get("table.exclude.list").unwrap_or(""),
                "cannot be combined with table.include.list",
            ));
        }
        if !c.column_include.is_empty() && !c.column_exclude.is_empty() {
            return Err(bad(
                "column.exclude.list",
                get("column.exclude.list").unwrap_or(""),
                "cannot be combined with column.include.list",
            ));
        }
        Ok(c)
    }

    /// Whether a table's changes are captured (schema and table lists).
    pub fn table_included(&self, schema: &str, table: &str) -> bool {
        if !self.schema_include.is_empty()
            && !self.schema_include.iter().any(|r| r.is_match(schema))
        {
            return false;
        }
        if self.schema_exclude.iter().any(|r| r.is_match(schema)) {
            return false;
        }
        let full = format!("{schema}.{table}");
        if !self.table_include.is_empty() && !self.table_include.iter().any(|r| r.is_match(&full)) {
            return false;
        }
        !self.table_exclude.iter().any(|r| r.is_match(&full))
    }

    /// Whether a column is part of the events (column lists).
    pub fn column_included(&self, schema: &str, table: &str, column: &str) -> bool {
        if self.column_include.is_empty() && self.column_exclude.is_empty() {
            return true;
        }
        let full = format!("{schema}.{table}.{column}");
        if !self.column_include.is_empty() {
            return self.column_include.iter().any(|r| r.is_match(&full));
        }
        !self.column_exclude.iter().any(|r| r.is_match(&full))
    }

    /// The `message.key.columns` override for a table, if any.
    pub fn key_columns_for(&self, schema: &str, table: &str) -> Option<&[String]> {
        let full = format!("{schema}.{table}");
        self.message_key_columns
            .iter()
            .find(|r| r.table.is_match(&full))
            .map(|r| r.columns.as_slice())
    }

    /// Whether an op code (`c`, `u`, `d`, `t`) is skipped.
    pub fn skips(&self, op: char) -> bool {
        self.skipped_operations.contains(&op)
    }
}

fn bad(key: &str, value: &str, reason: &str) -> EnvelopeError {
    EnvelopeError::Config {
        key: key.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

fn choose<T: Copy>(key: &str, value: &str, options: &[(&str, T)]) -> Result<T> {
    let lower = value.to_ascii_lowercase();
    options
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            bad(key, value, &format!("expected one of {}", names.join(", ")))
        })
}

fn boolean(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(key, value, "expected true or false")),
    }
}

fn placeholder_bytes(value: &str) -> Result<Vec<u8>> {
    let Some(hex) = value.strip_prefix("hex:") else {
        return Ok(value.as_bytes().to_vec());
    };
    let digits = hex.as_bytes();
    if digits.len() % 2 != 0 {
        return Err(bad(
            "unavailable.value.placeholder",
            value,
            "hex: needs an even number of hex digits",
        ));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| bad("unavailable.value.placeholder", value, "invalid hex digit"))
        })
        .collect()
}

fn skipped_operations(value: &str) -> Result<Vec<char>> {
    let mut ops = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "none" => return Ok(Vec::new()),
            "c" | "u" | "d" | "t" => ops.extend(part.chars()),
            _ => {
                return Err(bad(
                    "skipped.operations",
                    value,
                    "expected a comma-separated list of c, u, d, t, or none",
                ));
            }
        }
    }
    Ok(ops)
}

fn anchored(key: &str, pattern: &str) -> Result<Regex> {
    Regex::new(&format!("(?i)^(?:{pattern})$"))
        .map_err(|e| bad(key, pattern, &format!("invalid regular expression: {e}")))
}

fn regex_list(key: &str, value: &str) -> Result<Vec<Regex>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| anchored(key, p))
        .collect()
}

fn key_columns(value: &str) -> Result<Vec<KeyColumnsRule>> {
    let mut rules = Vec::new();
    for entry in value.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((table, cols)) = entry.rsplit_once(':') else {
            return Err(bad(
                "message.key.columns",
                value,
                "each entry is <schema>.<table>:<column>[,<column>...]",
            ));
        };
        let columns: Vec<String> = cols
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        if columns.is_empty() || table.trim().is_empty() {
            return Err(bad(
                "message.key.columns",
                value,
                "each entry is <schema>.<table>:<column>[,<column>...]",
            ));
        }
        rules.push(KeyColumnsRule {
            table: anchored("message.key.columns", table.trim())?,
            columns,
        });
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "test fixtures"
    )]
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<EnvelopeConfig> {
        EnvelopeConfig::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn legacy_names_and_modes() {
        let c = cfg(&[
            ("database.server.name", "legacy"),
            ("table.whitelist", "public\\.orders,inv\\..*"),
            ("binary.handling.mode", "BASE64-URL-SAFE"),
            ("unavailable.value.placeholder", "hex:00ff"),
            ("skipped.operations", "none"),
            ("message.key.columns", "public.t1:a,b; inv\\.t2 : c"),
        ])
        .unwrap();
        assert_eq!(c.topic_prefix, "legacy");
        assert!(c.table_included("public", "orders"));
        assert!(c.table_included("INV", "x"));
        assert!(!c.table_included("public", "orders2"));
        assert_eq!(c.binary_mode, BinaryMode::Base64UrlSafe);
        assert_eq!(c.unavailable_value_placeholder, vec![0, 255]);
        assert!(c.skipped_operations.is_empty());
        assert_eq!(
            c.key_columns_for("public", "t1").unwrap(),
            &["a".to_string(), "b".to_string()]
        );
        assert_eq!(c.key_columns_for("inv", "t2").unwrap(), &["c".to_string()]);
        assert!(c.key_columns_for("public", "t3").is_none());
    }

    #[test]
    fn bad_values_name_their_key() {
        for (pairs, key) in [
            (vec![], "topic.prefix"),
            (
                vec![("topic.prefix", "p"), ("decimal.handling.mode", "exact")],
                "decimal.handling.mode",
            ),
            (
                vec![("topic.prefix", "p"), ("time.precision.mode", "nano")],
                "time.precision.mode",
            ),
            (
                vec![("topic.prefix", "p"), ("tombstones.on.delete", "yes")],
                "tombstones.on.delete",
            ),
            (
                vec![("topic.prefix", "p"), ("money.fraction.digits", "-1")],
                "money.fraction.digits",
            ),
            (
                vec![("topic.prefix", "p"), ("message.key.columns", "nocolon")],
                "message.key.columns",
            ),
            (
                vec![("topic.prefix", "p"), ("column.exclude.list", "(")],
                "column.exclude.list",
            ),
            (
                vec![("topic.prefix", "p"), ("skipped.operations", "x")],
                "skipped.operations",
            ),
            (
                vec![
                    ("topic.prefix", "p"),
                    ("unavailable.value.placeholder", "hex:0"),
                ],
                "unavailable.value.placeholder",
            ),
        ] {
            match cfg(&pairs) {
                Err(EnvelopeError::Config { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn heartbeat_prefix_current_name_wins_over_legacy() {
        let c = cfg(&[("topic.prefix", "p"), ("heartbeat.topics.prefix", "old")]).unwrap();
        assert_eq!(c.heartbeat_topics_prefix, "old");
        let c = cfg(&[
            ("topic.prefix", "p"),
            ("heartbeat.topics.prefix", "old"),
            ("topic.heartbeat.prefix", "new"),
        ])
        .unwrap();
        assert_eq!(c.heartbeat_topics_prefix, "new");
    }

    #[test]
    fn every_listed_key_is_read() {
        // A bad value under each key that takes a checked value is rejected
        // under that key, so the key is really read.
        for key in CONFIG_KEYS {
            let bad = match *key {
                "decimal.handling.mode"
                | "time.precision.mode"
                | "binary.handling.mode"
                | "interval.handling.mode"
                | "hstore.handling.mode"
                | "tombstones.on.delete"
                | "provide.transaction.metadata"
                | "include.unknown.datatypes"
                | "skipped.operations"
                | "money.fraction.digits"
                | "message.key.columns" => "??",
                k if k.ends_with("list")
                    || k.ends_with("whitelist")
                    || k.ends_with("blacklist") =>
                {
                    "("
                }
                _ => continue,
            };
            match cfg(&[("topic.prefix", "p"), (key, bad)]) {
                Err(EnvelopeError::Config { key: k, .. }) => assert_eq!(k, *key),
                other => panic!("{key}: {other:?}"),
            }
        }
    }

    #[test]
    fn column_lists_match_fully_qualified_names() {
        let c = cfg(&[
            ("topic.prefix", "p"),
            ("column.exclude.list", "public\\.t\\.secret"),
        ])
        .unwrap();
        assert!(!c.column_included("public", "t", "secret"));
        assert!(c.column_included("public", "t", "secret2"));
        let c = cfg(&[
            ("topic.prefix", "p"),
            ("column.include.list", "public\\.t\\.(id|name)"),
        ])
        .unwrap();
        assert!(c.column_included("public", "t", "id"));
        assert!(!c.column_included("public", "t", "other"));
    }
}
