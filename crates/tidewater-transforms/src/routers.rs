//! Topic routers: Kafka's `RegexRouter` and `TimestampRouter`, Debezium's
//! `ByLogicalTableRouter`.

use std::sync::Arc;

use regex::Regex;
use tidewater_connect::{ConnectRecord, Schema, SchemaBuilder, Struct, Value};

use crate::cache::{DEFAULT_CAPACITY, SchemaCache, TopicCache};
use crate::config::{TransformOptions, compile_regex};
use crate::datefmt::DateFormat;
use crate::error::{Result, TransformError};
use crate::replacement::Replacement;
use crate::traits::Transform;
use crate::util::{build, field_value, is_envelope};

/// `org.apache.kafka.connect.transforms.RegexRouter`: when the whole topic
/// matches `regex`, the topic becomes `replacement` (Java syntax: `$1`,
/// `${name}`); other records pass unchanged.
///
/// ```
/// use std::sync::Arc;
/// use tidewater_connect::ConnectRecord;
/// use tidewater_transforms::{RegexRouter, Transform};
/// let router = RegexRouter::new(r"([^.]+)\.([^.]+)\.([^.]+)", "$1.$3")?;
/// let out = router.apply(ConnectRecord::new(Arc::from("shop.public.orders"), None, None, None, None))?;
/// assert_eq!(out.map(|r| r.topic), Some(Arc::from("shop.orders")));
/// # Ok::<(), tidewater_transforms::TransformError>(())
/// ```
#[derive(Debug)]
pub struct RegexRouter {
    regex: Regex,
    replacement: Replacement,
    topics: TopicCache<Option<Arc<str>>>,
}

impl RegexRouter {
    /// A router for a pattern and a replacement.
    pub fn new(regex: &str, replacement: &str) -> Result<RegexRouter> {
        let mut opts = TransformOptions::new(
            "RegexRouter",
            [("regex", regex), ("replacement", replacement)],
        );
        RegexRouter::from_options(&mut opts)
    }

    /// From `regex` and `replacement` (both required).
    pub fn from_options(opts: &mut TransformOptions) -> Result<RegexRouter> {
        let pattern = opts.required("regex")?;
        let regex =
            compile_regex(&pattern, true).map_err(|e| opts.error("regex", Some(&pattern), e))?;
        let Some(repl) = opts.string("replacement") else {
            return Err(opts.error("replacement", None, "missing required option"));
        };
        let replacement = Replacement::parse(&repl, &regex)
            .map_err(|e| opts.error("replacement", Some(&repl), e))?;
        Ok(RegexRouter {
            regex,
            replacement,
            topics: TopicCache::new(1024),
        })
    }

    /// The routed topic, or `None` when the pattern does not match.
    fn route(&self, topic: &Arc<str>) -> Option<Arc<str>> {
        self.topics
            .get_or_try_insert(topic, (), || {
                Ok::<_, ()>(
                    self.replacement
                        .replace_whole(&self.regex, topic)
                        .map(Arc::<str>::from),
                )
            })
            .ok()
            .flatten()
    }
}

impl Transform for RegexRouter {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if let Some(t) = self.route(&record.topic) {
            record.topic = t;
        }
        Ok(Some(record))
    }

    fn apply_in_place(&self, slot: &mut Option<ConnectRecord>) -> Result<()> {
        if let Some(record) = slot
            && let Some(t) = self.route(&record.topic)
        {
            record.topic = t;
        }
        Ok(())
    }
}

/// `org.apache.kafka.connect.transforms.TimestampRouter`: the topic becomes
/// `topic.format` (default `${topic}-${timestamp}`) with the record's
/// timestamp formatted by `timestamp.format` (default `yyyyMMdd`, UTC).
#[derive(Debug)]
pub struct TimestampRouter {
    topic_format: String,
    timestamp_format: DateFormat,
}

impl TimestampRouter {
    /// From `topic.format` and `timestamp.format`.
    pub fn from_options(opts: &mut TransformOptions) -> Result<TimestampRouter> {
        let topic_format = opts.string_or("topic.format", "${topic}-${timestamp}");
        let pattern = opts.string_or("timestamp.format", "yyyyMMdd");
        let timestamp_format = DateFormat::new(&pattern)
            .map_err(|e| opts.error("timestamp.format", Some(&pattern), e))?;
        Ok(TimestampRouter {
            topic_format,
            timestamp_format,
        })
    }
}

impl Transform for TimestampRouter {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let Some(ts) = record.timestamp else {
            return Err(TransformError::record(
                &record.topic,
                "timestamp missing on record",
            ));
        };
        let formatted = self.timestamp_format.format(ts);
        let topic = self
            .topic_format
            .replace("${topic}", &record.topic)
            .replace("${timestamp}", &formatted);
        record.topic = Arc::from(topic);
        Ok(Some(record))
    }
}

/// `schema.name.adjustment.mode`: how names derived from topics are made
/// valid for Avro.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameAdjustment {
    None,
    Avro,
    AvroUnicode,
}

impl NameAdjustment {
    pub(crate) fn parse(v: &str) -> Option<NameAdjustment> {
        match v.to_ascii_lowercase().as_str() {
            "none" => Some(NameAdjustment::None),
            "avro" => Some(NameAdjustment::Avro),
            "avro_unicode" => Some(NameAdjustment::AvroUnicode),
            _ => None,
        }
    }

    pub(crate) fn adjust(self, name: &str) -> String {
        if self == NameAdjustment::None {
            return name.to_string();
        }
        let mut out = String::with_capacity(name.len());
        for (i, c) in name.chars().enumerate() {
            let valid =
                c == '_' || c.is_ascii_alphabetic() || (i > 0 && (c == '.' || c.is_ascii_digit()));
            if valid {
                out.push(c);
            } else if self == NameAdjustment::Avro {
                out.push('_');
            } else {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("_u{unit:04x}"));
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
struct Routed {
    topic: Arc<str>,
    key_field_value: Value,
}

/// `io.debezium.transforms.ByLogicalTableRouter`: routes the records of
/// several physical tables to one logical topic, renaming the key, value and
/// envelope schemas after it and (by default) adding the physical table to
/// the key so keys stay unique.
#[derive(Debug)]
pub struct ByLogicalTableRouter {
    topic_regex: Regex,
    topic_replacement: Replacement,
    key_enforce_uniqueness: bool,
    key_field_name: String,
    key_field: Option<(Regex, Replacement)>,
    adjust: NameAdjustment,
    routes: TopicCache<Option<Routed>>,
    key_schemas: SchemaCache<Arc<Schema>, Arc<str>>,
    envelope_schemas: SchemaCache<(Arc<Schema>, Arc<Schema>), Arc<str>>,
}

impl ByLogicalTableRouter {
    /// From `topic.regex`, `topic.replacement` (required),
    /// `key.enforce.uniqueness`, `key.field.name`, `key.field.regex`,
    /// `key.field.replacement`, `schema.name.adjustment.mode`,
    /// `logical.table.cache.size`.
    pub fn from_options(opts: &mut TransformOptions) -> Result<ByLogicalTableRouter> {
        let pattern = opts.required("topic.regex")?;
        let topic_regex = compile_regex(&pattern, true)
            .map_err(|e| opts.error("topic.regex", Some(&pattern), e))?;
        let Some(repl) = opts.raw("topic.replacement") else {
            return Err(opts.error("topic.replacement", None, "missing required option"));
        };
        let topic_replacement = Replacement::parse(&repl, &topic_regex)
            .map_err(|e| opts.error("topic.replacement", Some(&repl), e))?;
        let key_enforce_uniqueness = opts.bool("key.enforce.uniqueness", true)?;
        let key_field_name = opts
            .raw("key.field.name")
            .unwrap_or_else(|| "__dbz__physicalTableIdentifier".to_string());
        let key_regex = opts.string("key.field.regex").filter(|s| !s.is_empty());
        let key_repl = opts.raw("key.field.replacement");
        let key_field = match key_regex {
            Some(kr) => {
                let re = compile_regex(&kr, true)
                    .map_err(|e| opts.error("key.field.regex", Some(&kr), e))?;
                let Some(rep) = key_repl.filter(|r| !r.trim().is_empty()) else {
                    return Err(opts.error(
                        "key.field.replacement",
                        None,
                        "must be non-empty if key.field.regex is set",
                    ));
                };
                let parsed = Replacement::parse(&rep, &re)
                    .map_err(|e| opts.error("key.field.replacement", Some(&rep), e))?;
                Some((re, parsed))
            }
            None => None,
        };
        let mode = opts.string_or("schema.name.adjustment.mode", "none");
        let adjust = NameAdjustment::parse(&mode).ok_or_else(|| {
            opts.error(
                "schema.name.adjustment.mode",
                Some(&mode),
                "must be one of none, avro, avro_unicode",
            )
        })?;
        let cache_size = opts.int("logical.table.cache.size", 16, 1, 1 << 20)?;
        let cap = usize::try_from(cache_size)
            .unwrap_or(16)
            .max(DEFAULT_CAPACITY);
        Ok(ByLogicalTableRouter {
            topic_regex,
            topic_replacement,
            key_enforce_uniqueness,
            key_field_name,
            key_field,
            adjust,
            routes: TopicCache::new(cap),
            key_schemas: SchemaCache::new(cap),
            envelope_schemas: SchemaCache::new(cap),
        })
    }

    fn route(&self, topic: &Arc<str>) -> Option<Routed> {
        self.routes
            .get_or_try_insert(topic, (), || {
                let Some(new_topic) = self
                    .topic_replacement
                    .replace_whole(&self.topic_regex, topic)
                else {
                    return Ok::<_, ()>(None);
                };
                if new_topic.is_empty() {
                    return Ok(None);
                }
                let identifier = match &self.key_field {
                    Some((re, rep)) => rep
                        .replace_whole(re, topic)
                        .unwrap_or_else(|| topic.to_string()),
                    None => topic.to_string(),
                };
                Ok(Some(Routed {
                    topic: Arc::from(new_topic),
                    key_field_value: Value::from(identifier),
                }))
            })
            .ok()
            .flatten()
    }

    /// A copy of `source` without its name: version, doc, parameters,
    /// optionality and (optionally) its fields.
    fn copy_excluding_name(source: &Schema, with_fields: bool) -> SchemaBuilder {
        let mut b = SchemaBuilder::struct_();
        if let Some(v) = source.version() {
            b = b.version(v);
        }
        if let Some(d) = source.doc() {
            b = b.doc(d);
        }
        if let Some(params) = source.parameters() {
            for (k, v) in params {
                b = b.parameter(k.clone(), v.clone());
            }
        }
        if source.is_optional() {
            b = b.optional();
        }
        if with_fields {
            for f in source.fields() {
                b = b.field(f.name(), f.schema().clone());
            }
        }
        b
    }

    fn key_schema(&self, old: &Arc<Schema>, topic: &Arc<str>) -> Result<Arc<Schema>> {
        self.key_schemas.get_or_try_insert(old, topic.clone(), || {
            let mut b = Self::copy_excluding_name(old, true)
                .name(self.adjust.adjust(&format!("{topic}.Key")));
            if self.key_enforce_uniqueness {
                b = b.field(
                    self.key_field_name.clone(),
                    Schema::of(tidewater_connect::SchemaType::String),
                );
            }
            build(b, topic)
        })
    }

    /// The new envelope schema and the new row (`before`/`after`) schema.
    fn envelope_schema(
        &self,
        old: &Arc<Schema>,
        topic: &Arc<str>,
    ) -> Result<(Arc<Schema>, Arc<Schema>)> {
        self.envelope_schemas
            .get_or_try_insert(old, topic.clone(), || {
                let Some(before) = old.field("before") else {
                    return Err(TransformError::record(
                        topic,
                        "envelope schema has no `before` field",
                    ));
                };
                let value_schema = build(
                    Self::copy_excluding_name(before.schema(), true)
                        .name(self.adjust.adjust(&format!("{topic}.Value"))),
                    topic,
                )?;
                let mut b = Self::copy_excluding_name(old, false);
                for f in old.fields() {
                    let s = if f.name() == "before" || f.name() == "after" {
                        value_schema.clone()
                    } else {
                        f.schema().clone()
                    };
                    b = b.field(f.name(), s);
                }
                b = b.name(self.adjust.adjust(&format!("{topic}.Envelope")));
                Ok((build(b, topic)?, value_schema))
            })
    }
}

/// Copies a struct's values onto a schema with the same leading fields
/// (nulls replaced by defaults, as Kafka's `Struct.get` does), then `extra`.
fn restruct(schema: Arc<Schema>, old: &Struct, extra: Option<Value>) -> Struct {
    let mut values: Vec<Option<Value>> = (0..old.values().len())
        .map(|i| field_value(old, i, true))
        .collect();
    if let Some(e) = extra {
        values.push(Some(e));
    }
    Struct::from_values_unchecked(schema, values)
}

impl Transform for ByLogicalTableRouter {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let Some(routed) = self.route(&record.topic) else {
            return Ok(Some(record));
        };
        let topic = routed.topic.clone();
        // The key: a null key keeps no schema, as in Debezium.
        let (new_key_schema, new_key) = match record.key.take() {
            None => (None, None),
            Some(Value::Struct(old_key)) => {
                let schema = self.key_schema(old_key.schema(), &topic)?;
                let extra = self
                    .key_enforce_uniqueness
                    .then(|| routed.key_field_value.clone());
                let key = restruct(schema.clone(), &old_key, extra);
                (Some(schema), Some(Value::Struct(key)))
            }
            Some(other) => {
                return Err(TransformError::record(
                    &record.topic,
                    format!(
                        "only Struct keys can be routed, found: {}",
                        other.kind_name()
                    ),
                ));
            }
        };
        record.key_schema = new_key_schema;
        record.key = new_key;
        if is_envelope(record.value_schema.as_ref())
            && let (Some(old_schema), Some(Value::Struct(env))) =
                (&record.value_schema, &record.value)
        {
            let (env_schema, row_schema) = self.envelope_schema(old_schema, &topic)?;
            let mut values = Vec::with_capacity(env.values().len());
            for (i, f) in env.schema().fields().iter().enumerate() {
                let v = match field_value(env, i, true) {
                    Some(Value::Struct(row)) if f.name() == "before" || f.name() == "after" => {
                        Some(Value::Struct(restruct(row_schema.clone(), &row, None)))
                    }
                    other => other,
                };
                values.push(v);
            }
            record.value = Some(Value::Struct(Struct::from_values_unchecked(
                env_schema.clone(),
                values,
            )));
            record.value_schema = Some(env_schema);
        }
        record.topic = topic;
        Ok(Some(record))
    }
}
