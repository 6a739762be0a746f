//! `io.debezium.transforms.outbox.EventRouter`: turns inserts into an
//! outbox table into events routed to a topic per aggregate type.
//!
//! ```text
//!  outbox row (op c or r)                    event
//!  ─────────────────────────                 ─────────────────────────────────
//!  id            ─────────────────────────►  header `id`
//!  aggregateid   ─────────────────────────►  key
//!  aggregatetype ─► route.topic.regex ─────►  topic (outbox.event.<type>)
//!  payload       ─► [JSON expansion] ──────►  value (or field `payload` of an
//!                                             envelope with additional fields)
//!  other columns ─► additional placement ──►  headers / envelope / partition
//!  ts_ms or table.field.event.timestamp ───►  timestamp
//! ```
//!
//! Tombstones and deletes are dropped; updates follow
//! `table.op.invalid.behavior`; records without an envelope pass unchanged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use regex::Regex;
use tidewater_connect::{ConnectRecord, Schema, SchemaBuilder, SchemaType, Struct, Value};

use crate::cache::{DEFAULT_CAPACITY, SchemaCache};
use crate::config::{TransformOptions, compile_regex};
use crate::error::{Result, TransformError};
use crate::json_expand::Expander;
use crate::replacement::Replacement;
use crate::routers::NameAdjustment;
use crate::traits::Transform;
use crate::util::{build, field_value, is_envelope};

/// Where an additional column goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    Header,
    Envelope,
    Partition,
}

#[derive(Debug, Clone)]
struct Additional {
    field: String,
    placement: Placement,
    alias: String,
}

/// `table.op.invalid.behavior`: what an update of the outbox table does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvalidOp {
    Warn,
    Error,
    Fatal,
}

/// `io.debezium.transforms.outbox.EventRouter`; every option of Debezium's
/// is accepted (see `docs/transforms.md`).
#[derive(Debug)]
pub struct EventRouter {
    invalid_op: InvalidOp,
    field_id: String,
    field_key: Option<String>,
    field_timestamp: Option<String>,
    field_payload: String,
    field_schema_version: Option<String>,
    additional: Vec<Additional>,
    additional_error_on_missing: bool,
    route_by_field: String,
    route_regex: Regex,
    route_replacement: Replacement,
    tombstone_on_empty_payload: bool,
    expand: Option<Expander>,
    routes: RwLock<HashMap<String, Arc<str>>>,
    payload_schemas: Mutex<Vec<Arc<Schema>>>,
    envelopes: SchemaCache<Arc<Schema>, (String, Option<i32>)>,
}

const ROUTE_CACHE: usize = 1024;
const PAYLOAD_SCHEMAS: usize = 256;

impl EventRouter {
    /// From Debezium's options (`table.*`, `route.*`, `tracing.*`).
    pub fn from_options(opts: &mut TransformOptions) -> Result<EventRouter> {
        let invalid_op = match opts.choice(
            "table.op.invalid.behavior",
            &["warn", "error", "fatal"],
            "warn",
        )? {
            "error" => InvalidOp::Error,
            "fatal" => InvalidOp::Fatal,
            _ => InvalidOp::Warn,
        };
        let field_id = opts.string_or("table.field.event.id", "id");
        let field_key = match opts.string("table.field.event.key") {
            None => Some("aggregateid".to_string()),
            Some(k) if k.is_empty() => None,
            Some(k) => Some(k),
        };
        let field_timestamp = opts
            .string("table.field.event.timestamp")
            .filter(|s| !s.is_empty());
        let field_payload = opts.string_or("table.field.event.payload", "payload");
        let field_schema_version = opts
            .string("table.field.event.schema.version")
            .filter(|s| !s.is_empty());
        let raw = opts
            .raw("table.fields.additional.placement")
            .unwrap_or_default();
        let mut additional = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
            let (field, placement, alias) = match parts.as_slice() {
                [f, p] => (*f, *p, *f),
                [f, p, a] => (*f, *p, *a),
                _ => {
                    return Err(opts.error(
                        "table.fields.additional.placement",
                        Some(&raw),
                        format!("{entry:?}: use column:placement or column:placement:alias"),
                    ));
                }
            };
            let placement = match placement.to_ascii_lowercase().as_str() {
                "header" => Placement::Header,
                "envelope" => Placement::Envelope,
                "partition" => Placement::Partition,
                _ => {
                    return Err(opts.error(
                        "table.fields.additional.placement",
                        Some(&raw),
                        format!("{entry:?}: placement must be header, envelope or partition"),
                    ));
                }
            };
            if field.is_empty() || alias.is_empty() {
                return Err(opts.error(
                    "table.fields.additional.placement",
                    Some(&raw),
                    format!("{entry:?}: empty column or alias"),
                ));
            }
            additional.push(Additional {
                field: field.to_string(),
                placement,
                alias: alias.to_string(),
            });
        }
        let additional_error_on_missing =
            opts.bool("table.fields.additional.error.on.missing", true)?;
        let route_by_field = opts.string_or("route.by.field", "aggregatetype");
        let pattern = opts.string_or("route.topic.regex", "(?<routedByValue>.*)");
        let route_regex = compile_regex(&pattern, true)
            .map_err(|e| opts.error("route.topic.regex", Some(&pattern), e))?;
        let repl = opts.string_or("route.topic.replacement", "outbox.event.${routedByValue}");
        let route_replacement = Replacement::parse(&repl, &route_regex)
            .map_err(|e| opts.error("route.topic.replacement", Some(&repl), e))?;
        let tombstone_on_empty_payload = opts.bool("route.tombstone.on.empty.payload", false)?;
        let expand_json = opts.bool("table.expand.json.payload", false)?;
        let null_behavior = opts.choice(
            "table.json.payload.null.behavior",
            &["ignore", "optional_bytes"],
            "ignore",
        )?;
        let adjust = opts.string_or("field.name.adjustment.mode", "none");
        let names = NameAdjustment::parse(&adjust).ok_or_else(|| {
            opts.error(
                "field.name.adjustment.mode",
                Some(&adjust),
                "must be one of none, avro, avro_unicode",
            )
        })?;
        // Accepted for compatibility: the event type column is no longer
        // used by Debezium, and tracing needs OpenTelemetry in the JVM.
        opts.ignore(&[
            "table.field.event.type",
            "tracing.span.context.field",
            "tracing.operation.name",
            "tracing.with.context.field.only",
        ]);
        Ok(EventRouter {
            invalid_op,
            field_id,
            field_key,
            field_timestamp,
            field_payload,
            field_schema_version,
            additional,
            additional_error_on_missing,
            route_by_field,
            route_regex,
            route_replacement,
            tombstone_on_empty_payload,
            expand: expand_json.then_some(Expander {
                null_as_bytes: null_behavior == "optional_bytes",
                names,
            }),
            routes: RwLock::new(HashMap::new()),
            payload_schemas: Mutex::new(Vec::new()),
            envelopes: SchemaCache::new(DEFAULT_CAPACITY),
        })
    }

    fn topic_for(&self, routed: &str) -> Arc<str> {
        if let Some(t) = self
            .routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(routed)
        {
            return t.clone();
        }
        let topic: Arc<str> = match self
            .route_replacement
            .replace_whole(&self.route_regex, routed)
        {
            Some(t) => Arc::from(t),
            None => Arc::from(routed),
        };
        let mut map = self.routes.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= ROUTE_CACHE {
            map.clear();
        }
        map.insert(routed.to_string(), topic.clone());
        topic
    }

    /// One shared `Arc` per distinct inferred payload schema.
    fn intern(&self, schema: Arc<Schema>) -> Arc<Schema> {
        let mut list = self
            .payload_schemas
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(s) = list.iter().find(|s| ***s == *schema) {
            return s.clone();
        }
        if list.len() >= PAYLOAD_SCHEMAS {
            list.clear();
        }
        list.push(schema.clone());
        schema
    }

    /// The record timestamp: the configured column (Timestamp, MicroTimestamp
    /// or NanoTimestamp), or the envelope's `ts_ms`.
    fn timestamp(&self, env: &Struct, row: &Struct, topic: &str) -> Result<Option<i64>> {
        let ts_ms = env.get_without_default("ts_ms").and_then(Value::as_i64);
        let Some(name) = &self.field_timestamp else {
            return Ok(ts_ms);
        };
        let field = row.schema().field(name).ok_or_else(|| {
            TransformError::record(
                topic,
                format!("unable to find timestamp field {name} in event"),
            )
        })?;
        let Some(v) = field_value(row, field.index(), true) else {
            return Ok(ts_ms);
        };
        let Value::Int64(v) = v else {
            return Err(TransformError::record(
                topic,
                format!(
                    "unsupported field type {} for event timestamp",
                    field.schema().schema_type()
                ),
            ));
        };
        match field.schema().name() {
            Some("org.apache.kafka.connect.data.Timestamp" | "io.debezium.time.Timestamp") => {
                Ok(Some(v))
            }
            Some("io.debezium.time.MicroTimestamp") => Ok(Some(v / 1000)),
            Some("io.debezium.time.NanoTimestamp") => Ok(Some(v / 1_000_000)),
            Some(other) => Err(TransformError::record(
                topic,
                format!("unsupported field type {other} for event timestamp"),
            )),
            None => Err(TransformError::record(
                topic,
                "unsupported field type (without logical schema name) for event timestamp",
            )),
        }
    }

    /// `<schema name prefix>.<routed value>.<last part>`, as Debezium names
    /// the envelope of an event with additional fields.
    fn envelope_name(row_schema: &Schema, routed: &str) -> String {
        match row_schema.name() {
            Some(n) => match n.rfind('.') {
                Some(dot) => format!(
                    "{}{routed}.{}",
                    n.get(..=dot).unwrap_or(""),
                    n.get(dot + 1..).unwrap_or("")
                ),
                None => format!("{routed}.{n}"),
            },
            None => routed.to_string(),
        }
    }
}

fn string_of(v: Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.as_str().to_string()),
        _ => None,
    }
}

impl Transform for EventRouter {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if record.value.is_none() {
            return Ok(None);
        }
        if !is_envelope(record.value_schema.as_ref()) {
            return Ok(Some(record));
        }
        let topic = record.topic.clone();
        let Some(Value::Struct(env)) = &record.value else {
            return Ok(Some(record));
        };
        match env.get_without_default("op").and_then(Value::as_str) {
            Some("d") => return Ok(None),
            Some("u") => {
                return match self.invalid_op {
                    InvalidOp::Warn | InvalidOp::Error => Ok(None),
                    InvalidOp::Fatal => Err(TransformError::record(
                        &topic,
                        "unexpected update of the outbox table (table.op.invalid.behavior=fatal)",
                    )),
                };
            }
            _ => {}
        }
        let Some(Value::Struct(row)) = env.get_without_default("after") else {
            // A truncate or an envelope without a row: nothing to route.
            return Ok(None);
        };
        let schema = row.schema().clone();
        let missing = |what: &str, name: &str| {
            TransformError::record(
                &topic,
                format!("unable to find {what} field {name} in event"),
            )
        };
        let payload_field = schema
            .field(&self.field_payload)
            .ok_or_else(|| missing("payload", &self.field_payload))?;
        let id_field = schema
            .field(&self.field_id)
            .ok_or_else(|| missing("event-id", &self.field_id))?;
        let timestamp = self.timestamp(env, row, &topic)?;

        let route_field = schema
            .field(&self.route_by_field)
            .ok_or_else(|| missing("route-by", &self.route_by_field))?;
        let routed = string_of(field_value(row, route_field.index(), true)).ok_or_else(|| {
            TransformError::record(
                &topic,
                format!("route.by.field {} must hold a string", self.route_by_field),
            )
        })?;

        let mut headers = record.headers.clone();
        headers.add(
            "id",
            Some(id_field.schema().clone()),
            field_value(row, id_field.index(), true),
        );

        let mut payload_schema = payload_field.schema().clone();
        let mut payload = field_value(row, payload_field.index(), true);
        if let (Some(expander), Some(Value::String(text))) = (&self.expand, &payload)
            && let Ok((s, v)) = expander.expand(&self.field_payload, text.as_str())
        {
            payload_schema = self.intern(s);
            payload = Some(v);
        }

        let mut partition = None;
        let mut envelope_values: Vec<Option<Value>> = Vec::new();
        let mut envelope_fields: Vec<(String, Arc<Schema>)> = Vec::new();
        for a in &self.additional {
            let Some(f) = schema.field(&a.field) else {
                if self.additional_error_on_missing {
                    return Err(missing("additional", &a.field));
                }
                continue;
            };
            let v = field_value(row, f.index(), true);
            match a.placement {
                Placement::Envelope => {
                    envelope_fields.push((a.alias.clone(), f.schema().clone()));
                    envelope_values.push(v);
                }
                Placement::Header => headers.add(a.alias.clone(), Some(f.schema().clone()), v),
                Placement::Partition => match v {
                    Some(Value::Int32(p)) => partition = Some(p),
                    None => partition = None,
                    Some(other) => {
                        return Err(TransformError::record(
                            &topic,
                            format!(
                                "partition column {} must be an int32, found {}",
                                a.field,
                                other.kind_name()
                            ),
                        ));
                    }
                },
            }
        }

        let empty_payload = match &payload {
            None => true,
            Some(Value::String(s)) => s.as_str().trim().is_empty(),
            Some(_) => false,
        };
        let only_headers = !self
            .additional
            .iter()
            .any(|a| a.placement == Placement::Envelope);
        let (value_schema, value) = if empty_payload && self.tombstone_on_empty_payload {
            (None, None)
        } else if only_headers {
            (Some(payload_schema), payload)
        } else {
            let version = match &self.field_schema_version {
                Some(name) => match row.get(name) {
                    Some(Value::Int32(v)) => Some(*v),
                    None => None,
                    Some(other) => {
                        return Err(TransformError::record(
                            &topic,
                            format!(
                                "schema version column {name} must be an int32, found {}",
                                other.kind_name()
                            ),
                        ));
                    }
                },
                None => None,
            };
            let envelope = self.envelopes.get_or_try_insert(
                &payload_schema,
                (routed.clone(), version),
                || {
                    let mut b = SchemaBuilder::struct_()
                        .name(Self::envelope_name(&schema, &routed))
                        .field("payload", payload_schema.clone());
                    for (n, s) in &envelope_fields {
                        b = b.field(n.clone(), s.clone());
                    }
                    if let Some(v) = version {
                        b = b.version(v);
                    }
                    build(b, &topic)
                },
            )?;
            let mut values = Vec::with_capacity(1 + envelope_values.len());
            values.push(payload);
            values.extend(envelope_values);
            let st = Struct::from_values_unchecked(envelope.clone(), values);
            (Some(envelope), Some(Value::Struct(st)))
        };

        let (key_schema, key) = match &self.field_key {
            None => (Some(Arc::new(Schema::of(SchemaType::String))), None),
            Some(k) => {
                let f = schema.field(k).ok_or_else(|| missing("event-key", k))?;
                (Some(f.schema().clone()), field_value(row, f.index(), true))
            }
        };
        Ok(Some(ConnectRecord {
            topic: self.topic_for(&routed),
            partition,
            key_schema,
            key,
            value_schema,
            value,
            timestamp,
            headers,
        }))
    }
}
