//! `EnvelopeBuilder`: change events in, Debezium records out.
//!
//! ```text
//!  TransactionEvent ──► EnvelopeBuilder::process ──► ConnectRecord(s)
//!   Begin                (per relation version: key/value/envelope
//!   Change                schemas + topic, built once, shared by Arc)
//!   Commit               BEGIN/END records when transaction metadata is on
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tidewater_connect::{ConnectRecord, Schema, SchemaBuilder, SchemaType, Struct, Text, Value};
use tidewater_pgoutput::value::{self, Format};
use tidewater_pgoutput::{
    ChangeEvent, ChangeKind, Column, Lsn, Relation, ReplicaIdentity, TransactionBegin,
    TransactionCommit, TransactionEvent, TupleData, TupleIter, TypeLookup, pg_to_unix_micros,
};

use crate::catalog::{Clock, SystemClock, TableCatalog, TableInfo};
use crate::config::{BinaryMode, EnvelopeConfig};
use crate::error::{EnvelopeError, Result};
use crate::types::{self, Conv};

mod json;

use json::{FastKind, Scratch};
pub use json::{JsonRecord, JsonRecords};

/// The version written in `source.version`: Tidewater's, not Debezium's.
pub const TIDEWATER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The schemas and topic of one version of a table, built once and shared
/// by every record of that version.
#[derive(Debug)]
pub struct TableSchemas {
    /// `<prefix>.<schema>.<table>`.
    pub topic: Arc<str>,
    /// `<prefix>.<schema>.<table>.Key`; `None` when the table has no key.
    pub key_schema: Option<Arc<Schema>>,
    /// `<prefix>.<schema>.<table>.Value`.
    pub value_schema: Arc<Schema>,
    /// `<prefix>.<schema>.<table>.Envelope`.
    pub envelope_schema: Arc<Schema>,
}

#[derive(Debug)]
struct ColumnPlan {
    name: String,
    tuple_index: usize,
    type_oid: u32,
    typmod: i32,
    conv: Conv,
    schema: Arc<Schema>,
    /// How the direct JSON writer handles the column's text.
    fast: FastKind,
}

#[derive(Debug)]
struct TablePlan {
    relation: Arc<Relation>,
    schemas: Arc<TableSchemas>,
    value_columns: Vec<ColumnPlan>,
    key_columns: Vec<ColumnPlan>,
    /// Where each key column sits among the value columns, when all do
    /// (the key is then copied from the row instead of converted again).
    key_in_value: Option<Vec<usize>>,
    schema_name: Value,
    table_name: Value,
    data_collection: String,
    included: bool,
    /// `,"schema":…,"table":…,"txId":` of the source block, as JSON.
    source_table_json: Vec<u8>,
}

/// Schemas and constant values shared by every record.
struct Shared {
    source_schema: Arc<Schema>,
    block_schema: Arc<Schema>,
    tx_key_schema: Arc<Schema>,
    tx_value_schema: Arc<Schema>,
    collection_schema: Arc<Schema>,
    heartbeat_key_schema: Arc<Schema>,
    heartbeat_value_schema: Arc<Schema>,
    message_key_schema: Arc<Schema>,
    message_block_schema: Arc<Schema>,
    message_value_schema: Arc<Schema>,
    tx_topic: Arc<str>,
    message_topic: Arc<str>,
    heartbeat_topic: Arc<str>,
    version: Value,
    connector: Value,
    name: Value,
    db: Value,
    /// The source block's JSON up to `"ts_ms":`, and from `,"db":` to
    /// `"sequence":` (constant per configuration).
    source_head_json: Vec<u8>,
    source_db_json: Vec<u8>,
}

const OP_C: Value = Value::from_static("c");
const OP_U: Value = Value::from_static("u");
const OP_D: Value = Value::from_static("d");
const OP_R: Value = Value::from_static("r");
const OP_T: Value = Value::from_static("t");
const OP_M: Value = Value::from_static("m");
const SNAPSHOT_FALSE: Value = Value::from_static("false");
const EMPTY: Value = Value::from_static("");

fn s(t: SchemaType) -> Schema {
    Schema::of(t)
}

fn os(t: SchemaType) -> Schema {
    Schema::optional_of(t)
}

impl Shared {
    fn new(cfg: &EnvelopeConfig) -> Result<Shared> {
        use SchemaType::*;
        let snapshot = SchemaBuilder::string()
            .name("io.debezium.data.Enum")
            .version(1)
            .parameter(
                "allowed",
                "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental",
            )
            .default_value(Value::from_static("false"))
            .optional()
            .build()?;
        let source_schema = SchemaBuilder::struct_()
            .name("io.debezium.connector.postgresql.Source")
            .version(1)
            .field("version", s(String))
            .field("connector", s(String))
            .field("name", s(String))
            .field("ts_ms", s(Int64))
            .field("snapshot", snapshot)
            .field("db", s(String))
            .field("sequence", os(String))
            .field("ts_us", os(Int64))
            .field("ts_ns", os(Int64))
            .field("schema", s(String))
            .field("table", s(String))
            .field("txId", os(Int64))
            .field("lsn", os(Int64))
            .field("xmin", os(Int64))
            .field("origin", os(String))
            .field("origin_lsn", os(Int64))
            .build()?;
        let block_schema = SchemaBuilder::struct_()
            .optional()
            .name("event.block")
            .version(1)
            .field("id", s(String))
            .field("total_order", s(Int64))
            .field("data_collection_order", s(Int64))
            .build()?;
        let collection_schema = Arc::new(
            SchemaBuilder::struct_()
                .optional()
                .name("event.collection")
                .version(1)
                .field("data_collection", s(String))
                .field("event_count", s(Int64))
                .build()?,
        );
        let tx_key_schema = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.TransactionMetadataKey")
            .version(1)
            .field("id", s(String))
            .build()?;
        let tx_value_schema = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.TransactionMetadataValue")
            .version(1)
            .field("status", s(String))
            .field("id", s(String))
            .field("event_count", os(Int64))
            .field(
                "data_collections",
                SchemaBuilder::array(collection_schema.clone())
                    .optional()
                    .build()?,
            )
            .field("ts_ms", s(Int64))
            .build()?;
        let heartbeat_key_schema = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.ServerNameKey")
            .version(1)
            .field("serverName", s(String))
            .build()?;
        let heartbeat_value_schema = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.Heartbeat")
            .version(1)
            .field("ts_ms", s(Int64))
            .build()?;
        let message_key_schema = SchemaBuilder::struct_()
            .name("io.debezium.connector.postgresql.MessageKey")
            .version(1)
            .field("prefix", os(String))
            .build()?;
        let content = match cfg.binary_mode {
            BinaryMode::Bytes => os(Bytes),
            _ => os(String),
        };
        let message_block_schema = Arc::new(
            SchemaBuilder::struct_()
                .name("io.debezium.connector.postgresql.Message")
                .version(1)
                .field("prefix", os(String))
                .field("content", content)
                .build()?,
        );
        let source_schema = Arc::new(source_schema);
        let block_schema = Arc::new(block_schema);
        let message_value_schema = SchemaBuilder::struct_()
            .name("io.debezium.connector.postgresql.MessageValue")
            .version(1)
            .field("op", s(String))
            .field("ts_ms", os(Int64))
            .field("source", source_schema.clone())
            .field("transaction", block_schema.clone())
            .field("message", message_block_schema.clone())
            .build()?;
        let d = &cfg.topic_delimiter;
        let prefix = &cfg.topic_prefix;
        Ok(Shared {
            source_schema,
            block_schema,
            tx_key_schema: Arc::new(tx_key_schema),
            tx_value_schema: Arc::new(tx_value_schema),
            collection_schema,
            heartbeat_key_schema: Arc::new(heartbeat_key_schema),
            heartbeat_value_schema: Arc::new(heartbeat_value_schema),
            message_key_schema: Arc::new(message_key_schema),
            message_block_schema,
            message_value_schema: Arc::new(message_value_schema),
            tx_topic: Arc::from(format!("{prefix}{d}{}", cfg.transaction_topic)),
            message_topic: Arc::from(format!("{prefix}.message")),
            heartbeat_topic: Arc::from(format!("{}{d}{prefix}", cfg.heartbeat_topics_prefix)),
            version: Value::from_static(TIDEWATER_VERSION),
            connector: Value::from_static("postgresql"),
            name: Value::from(prefix.as_str()),
            db: Value::from(cfg.database_name.as_str()),
            source_head_json: json::source_head(prefix),
            source_db_json: json::source_db(&cfg.database_name),
        })
    }
}

/// The transaction being emitted (with `provide.transaction.metadata`).
struct TxState {
    xid: u32,
    commit_lsn: Lsn,
    id: Value,
    total: i64,
    per_collection: Vec<(String, i64)>,
}

/// Turns change events into Debezium records.
///
/// Feed it every [`TransactionEvent`] in order with [`process`](Self::process)
/// (or call [`change`](Self::change) and [`commit`](Self::commit)); it appends
/// the records each event produces. See the crate documentation for an example.
pub struct EnvelopeBuilder {
    config: Arc<EnvelopeConfig>,
    catalog: Option<Arc<dyn TableCatalog>>,
    clock: Arc<dyn Clock>,
    shared: Shared,
    plans: HashMap<u32, Arc<TablePlan>>,
    last_commit_lsn: Option<Lsn>,
    tx: Option<TxState>,
    /// Buffers the direct JSON writer reuses between events.
    scratch: Scratch,
}

impl std::fmt::Debug for EnvelopeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvelopeBuilder")
            .field("config", &self.config)
            .field("cached_tables", &self.plans.len())
            .field("last_commit_lsn", &self.last_commit_lsn)
            .finish_non_exhaustive()
    }
}

fn col_err(plan: &TablePlan, column: &str, reason: impl Into<String>) -> EnvelopeError {
    EnvelopeError::Column {
        schema: plan.relation.namespace.clone(),
        table: plan.relation.name.clone(),
        column: column.to_string(),
        reason: reason.into(),
    }
}

impl EnvelopeBuilder {
    /// A builder with the system clock and no catalog.
    pub fn new(config: EnvelopeConfig) -> Result<EnvelopeBuilder> {
        let shared = Shared::new(&config)?;
        Ok(EnvelopeBuilder {
            config: Arc::new(config),
            catalog: None,
            clock: Arc::new(SystemClock),
            shared,
            plans: HashMap::new(),
            last_commit_lsn: None,
            tx: None,
            scratch: Scratch::default(),
        })
    }

    /// Uses a catalog for primary keys, nullability and defaults.
    pub fn with_catalog(mut self, catalog: Arc<dyn TableCatalog>) -> Self {
        self.catalog = Some(catalog);
        self.plans.clear();
        self
    }

    /// Uses another clock for `ts_ms`/`ts_us`/`ts_ns` and heartbeats.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the LSN reported as the last commit in `source.sequence` (for
    /// example the resume position after a restart).
    pub fn set_last_commit_lsn(&mut self, lsn: Option<Lsn>) {
        self.last_commit_lsn = lsn;
    }

    /// The configuration.
    pub fn config(&self) -> &EnvelopeConfig {
        &self.config
    }

    /// Forgets cached schemas of a table (after its catalog facts changed).
    pub fn invalidate(&mut self, relation_oid: u32) {
        self.plans.remove(&relation_oid);
    }

    /// The schemas and topic for a relation version (built on first use).
    pub fn table_schemas(
        &mut self,
        relation: &Arc<Relation>,
        types: &dyn TypeLookup,
    ) -> Result<Arc<TableSchemas>> {
        Ok(self.plan(relation, types)?.schemas.clone())
    }

    fn plan(&mut self, relation: &Arc<Relation>, types: &dyn TypeLookup) -> Result<Arc<TablePlan>> {
        if let Some(p) = self.plans.get(&relation.oid)
            && (Arc::ptr_eq(&p.relation, relation) || *p.relation == **relation)
        {
            return Ok(p.clone());
        }
        let plan = Arc::new(self.build_plan(relation, types)?);
        self.plans.insert(relation.oid, plan.clone());
        Ok(plan)
    }

    fn build_plan(&self, relation: &Arc<Relation>, types: &dyn TypeLookup) -> Result<TablePlan> {
        let cfg = &*self.config;
        let ns = &relation.namespace;
        let table = &relation.name;
        let info: Option<TableInfo> = self.catalog.as_ref().and_then(|c| c.table(ns, table));
        let flags_usable = matches!(
            relation.replica_identity,
            ReplicaIdentity::Default | ReplicaIdentity::Index
        );
        // Key columns, in key order.
        let key_names: Vec<String> = if let Some(cols) = cfg.key_columns_for(ns, table) {
            cols.to_vec()
        } else if let Some(pk) = info.as_ref().and_then(|i| i.primary_key.clone()) {
            pk
        } else if flags_usable {
            relation
                .columns
                .iter()
                .filter(|c| c.is_key())
                .map(|c| c.name.clone())
                .collect()
        } else {
            Vec::new()
        };
        let required = |name: &str, is_key_flag: bool| match &info {
            Some(i) => i.not_null.contains(name),
            None => is_key_flag && flags_usable,
        };
        let mut plans: HashMap<String, (usize, Conv, Arc<Schema>)> = HashMap::new();
        let mut value_columns = Vec::new();
        for (idx, col) in relation.columns.iter().enumerate() {
            let Some(mapped) = types::map_type(cfg, types, col.type_oid, col.type_modifier) else {
                continue;
            };
            let mut b = mapped.builder;
            if !required(&col.name, col.is_key()) {
                b = b.optional();
            }
            let without_default = Arc::new(b.clone().build()?);
            if let Some(text) = info.as_ref().and_then(|i| i.defaults.get(&col.name))
                && let Some(v) = types::default_value(
                    cfg,
                    types,
                    &mapped.conv,
                    &without_default,
                    col.type_oid,
                    col.type_modifier,
                    text,
                )
            {
                b = b.default_value(v);
            }
            let schema = Arc::new(b.build()?);
            plans.insert(col.name.clone(), (idx, mapped.conv.clone(), schema.clone()));
            if cfg.column_included(ns, table, &col.name) {
                value_columns.push(ColumnPlan {
                    name: col.name.clone(),
                    tuple_index: idx,
                    type_oid: col.type_oid,
                    typmod: col.type_modifier,
                    fast: FastKind::of(cfg, &mapped.conv, &schema),
                    conv: mapped.conv,
                    schema,
                });
            }
        }
        let mut key_columns = Vec::new();
        for name in &key_names {
            let Some((idx, conv, schema)) = plans.get(name) else {
                continue;
            };
            let Some(col) = relation.columns.get(*idx) else {
                continue;
            };
            key_columns.push(ColumnPlan {
                name: name.clone(),
                tuple_index: *idx,
                type_oid: col.type_oid,
                typmod: col.type_modifier,
                fast: FastKind::of(cfg, conv, schema),
                conv: conv.clone(),
                schema: schema.clone(),
            });
        }
        let key_in_value: Option<Vec<usize>> = key_columns
            .iter()
            .map(|k| value_columns.iter().position(|v| v.name == k.name))
            .collect();
        let d = &cfg.topic_delimiter;
        let prefix = &cfg.topic_prefix;
        let base = format!("{prefix}.{ns}.{table}");
        let mut vb = SchemaBuilder::struct_()
            .name(format!("{base}.Value"))
            .optional();
        for c in &value_columns {
            vb = vb.field(c.name.clone(), c.schema.clone());
        }
        let value_schema = Arc::new(vb.build()?);
        let key_schema = if key_columns.is_empty() {
            None
        } else {
            let mut kb = SchemaBuilder::struct_().name(format!("{base}.Key"));
            for c in &key_columns {
                kb = kb.field(c.name.clone(), c.schema.clone());
            }
            Some(Arc::new(kb.build()?))
        };
        let envelope_schema = Arc::new(
            SchemaBuilder::struct_()
                .name(format!("{base}.Envelope"))
                .version(2)
                .field("before", value_schema.clone())
                .field("after", value_schema.clone())
                .field("source", self.shared.source_schema.clone())
                .field("op", s(SchemaType::String))
                .field("ts_ms", os(SchemaType::Int64))
                .field("ts_us", os(SchemaType::Int64))
                .field("ts_ns", os(SchemaType::Int64))
                .field("transaction", self.shared.block_schema.clone())
                .build()?,
        );
        Ok(TablePlan {
            relation: relation.clone(),
            schemas: Arc::new(TableSchemas {
                topic: Arc::from(format!("{prefix}{d}{ns}{d}{table}")),
                key_schema,
                value_schema,
                envelope_schema,
            }),
            value_columns,
            key_columns,
            key_in_value,
            schema_name: Value::from(ns.as_str()),
            table_name: Value::from(table.as_str()),
            data_collection: format!("{ns}.{table}"),
            included: cfg.table_included(ns, table),
            source_table_json: json::source_table(ns, table),
        })
    }

    /// Handles one assembled transaction event, appending its records.
    pub fn process(
        &mut self,
        event: &TransactionEvent,
        types: &dyn TypeLookup,
        out: &mut Vec<ConnectRecord>,
    ) -> Result<()> {
        match event {
            TransactionEvent::Begin(b) => {
                self.begin(b);
                Ok(())
            }
            TransactionEvent::Change(c) => self.change(c, types, out),
            TransactionEvent::Commit(c) => {
                self.commit(c, out);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A transaction began (its BEGIN record is emitted with its first captured event).
    pub fn begin(&mut self, _begin: &TransactionBegin) {}

    /// A transaction committed: emits its END record (when metadata is on and
    /// it had events) and remembers its end as the last commit for `sequence`.
    pub fn commit(&mut self, commit: &TransactionCommit, out: &mut Vec<ConnectRecord>) {
        if let Some(tx) = self.tx.take() {
            if tx.xid == commit.xid {
                self.end_record(tx, commit.commit_time, out);
            } else {
                self.tx = Some(tx);
            }
        }
        self.last_commit_lsn = Some(commit.end_lsn);
    }

    /// A heartbeat record (`__debezium-heartbeat.<prefix>`).
    pub fn heartbeat(&self) -> ConnectRecord {
        let sh = &self.shared;
        let key = Struct::from_values_unchecked(
            sh.heartbeat_key_schema.clone(),
            vec![Some(sh.name.clone())],
        );
        let now_ms = self.clock.now_micros().div_euclid(1000);
        let value = Struct::from_values_unchecked(
            sh.heartbeat_value_schema.clone(),
            vec![Some(Value::Int64(now_ms))],
        );
        ConnectRecord::new(
            sh.heartbeat_topic.clone(),
            Some(sh.heartbeat_key_schema.clone()),
            Some(Value::Struct(key)),
            Some(sh.heartbeat_value_schema.clone()),
            Some(Value::Struct(value)),
        )
    }

    fn source(
        &self,
        schema_name: &Value,
        table_name: &Value,
        ev: &ChangeEvent,
        snapshot: Value,
    ) -> Value {
        let sh = &self.shared;
        let unix_micros = pg_to_unix_micros(ev.commit_time);
        // `["<last commit>","<lsn>"]`, built on the stack: short enough to
        // be stored inline in the value.
        let mut sequence = Sequence::default();
        sequence.push(b"[");
        match self.last_commit_lsn {
            Some(l) => {
                sequence.push(b"\"");
                sequence.push_u64(l.0);
                sequence.push(b"\"");
            }
            None => sequence.push(b"null"),
        }
        sequence.push(b",\"");
        sequence.push_u64(ev.lsn.0);
        sequence.push(b"\"]");
        Value::Struct(Struct::from_values_unchecked(
            sh.source_schema.clone(),
            vec![
                Some(sh.version.clone()),
                Some(sh.connector.clone()),
                Some(sh.name.clone()),
                Some(Value::Int64(unix_micros.div_euclid(1000))),
                Some(snapshot),
                Some(sh.db.clone()),
                Some(Value::String(sequence.text())),
                Some(Value::Int64(unix_micros)),
                Some(Value::Int64(unix_micros.saturating_mul(1000))),
                Some(schema_name.clone()),
                Some(table_name.clone()),
                ev.xid.map(|x| Value::Int64(i64::from(x))),
                Some(Value::Int64(ev.lsn.0 as i64)),
                None,
                None,
                None,
            ],
        ))
    }

    /// Converts one tuple into the values of `columns`.
    fn row_values(
        &self,
        plan: &TablePlan,
        columns: &[ColumnPlan],
        tuple: &TupleData,
        types: &dyn TypeLookup,
    ) -> Result<Vec<Option<Value>>> {
        let mut values = Vec::with_capacity(columns.len());
        let mut walk = Walk::new(tuple);
        for c in columns {
            values.push(self.column_value(plan, c, walk.get(c.tuple_index), tuple, types)?);
        }
        Ok(values)
    }

    /// Converts one column of `tuple` (a required column's null becomes
    /// Debezium's fallback value).
    fn column_value(
        &self,
        plan: &TablePlan,
        c: &ColumnPlan,
        found: Column<'_>,
        tuple: &TupleData,
        types: &dyn TypeLookup,
    ) -> Result<Option<Value>> {
        let cfg = &*self.config;
        let v = match found {
            Column::Null => None,
            Column::UnchangedToast => types::toast_placeholder(&c.conv, &c.schema, cfg),
            Column::Text(raw) => {
                if matches!(c.conv, Conv::Text) {
                    // Short text is copied inline; longer text stays a
                    // zero-copy slice of the tuple.
                    let text = if raw.len() <= Text::INLINE_CAPACITY {
                        Text::copy_from_utf8(raw)
                    } else {
                        Text::from_utf8(tuple.value_bytes(&found).unwrap_or_default())
                    };
                    Some(Value::String(text.map_err(|e| {
                        col_err(plan, &c.name, format!("text is not UTF-8: {e}"))
                    })?))
                } else if let FastKind::Decimal(scale) = c.fast
                    && let Some(v) = crate::fast::fixed_decimal(raw, scale)
                {
                    Some(v)
                } else if let Some(v) = crate::fast::convert_text(&c.conv, raw) {
                    Some(v)
                } else {
                    let pg = value::decode_text(c.type_oid, c.typmod, raw, types)
                        .map_err(|e| col_err(plan, &c.name, e.to_string()))?;
                    types::convert(cfg, &c.conv, &c.schema, &pg, None)
                        .map_err(|e| col_err(plan, &c.name, e))?
                }
            }
            Column::Binary(raw) => {
                let pg = value::decode(Format::Binary, c.type_oid, c.typmod, raw, types)
                    .map_err(|e| col_err(plan, &c.name, e.to_string()))?;
                types::convert(cfg, &c.conv, &c.schema, &pg, None)
                    .map_err(|e| col_err(plan, &c.name, e))?
            }
            _ => None,
        };
        Ok(match v {
            None if !c.schema.is_optional() => types::fallback(&c.conv, &c.schema, cfg),
            v => v,
        })
    }

    fn row(&self, plan: &TablePlan, tuple: &TupleData, types: &dyn TypeLookup) -> Result<Value> {
        let values = self.row_values(plan, &plan.value_columns, tuple, types)?;
        Ok(Value::Struct(Struct::from_values_unchecked(
            plan.schemas.value_schema.clone(),
            values,
        )))
    }

    fn key(
        &self,
        plan: &TablePlan,
        tuple: &TupleData,
        row: Option<&Value>,
        types: &dyn TypeLookup,
    ) -> Result<Option<Value>> {
        let Some(ks) = &plan.schemas.key_schema else {
            return Ok(None);
        };
        if let (Some(positions), Some(Value::Struct(row))) = (&plan.key_in_value, row) {
            let values = positions
                .iter()
                .map(|&i| row.values().get(i).cloned().flatten())
                .collect();
            return Ok(Some(Value::Struct(Struct::from_values_unchecked(
                ks.clone(),
                values,
            ))));
        }
        let values = self.row_values(plan, &plan.key_columns, tuple, types)?;
        Ok(Some(Value::Struct(Struct::from_values_unchecked(
            ks.clone(),
            values,
        ))))
    }

    /// Starts (and announces) the event's transaction if needed, and returns
    /// the `transaction` block for one more event of `collection`.
    fn tx_block(
        &mut self,
        ev: &ChangeEvent,
        collection: &str,
        out: &mut Vec<ConnectRecord>,
    ) -> Option<Value> {
        if !self.config.provide_transaction_metadata {
            return None;
        }
        let xid = ev.xid?;
        let same = self
            .tx
            .as_ref()
            .is_some_and(|t| t.xid == xid && t.commit_lsn == ev.commit_lsn);
        if !same {
            if let Some(old) = self.tx.take() {
                self.end_record(old, ev.commit_time, out);
            }
            let id = Value::from(format!("{xid}:{}", ev.commit_lsn.0));
            self.begin_record(&id, ev.commit_time, out);
            self.tx = Some(TxState {
                xid,
                commit_lsn: ev.commit_lsn,
                id,
                total: 0,
                per_collection: Vec::new(),
            });
        }
        let tx = self.tx.as_mut()?;
        tx.total += 1;
        let order = match tx.per_collection.iter_mut().find(|(c, _)| c == collection) {
            Some(entry) => {
                entry.1 += 1;
                entry.1
            }
            None => {
                tx.per_collection.push((collection.to_string(), 1));
                1
            }
        };
        Some(Value::Struct(Struct::from_values_unchecked(
            self.shared.block_schema.clone(),
            vec![
                Some(tx.id.clone()),
                Some(Value::Int64(tx.total)),
                Some(Value::Int64(order)),
            ],
        )))
    }

    fn tx_record(&self, id: &Value, value: Vec<Option<Value>>) -> ConnectRecord {
        let sh = &self.shared;
        let key = Struct::from_values_unchecked(sh.tx_key_schema.clone(), vec![Some(id.clone())]);
        ConnectRecord::new(
            sh.tx_topic.clone(),
            Some(sh.tx_key_schema.clone()),
            Some(Value::Struct(key)),
            Some(sh.tx_value_schema.clone()),
            Some(Value::Struct(Struct::from_values_unchecked(
                sh.tx_value_schema.clone(),
                value,
            ))),
        )
    }

    fn begin_record(&self, id: &Value, commit_time: i64, out: &mut Vec<ConnectRecord>) {
        let ts = pg_to_unix_micros(commit_time).div_euclid(1000);
        out.push(self.tx_record(
            id,
            vec![
                Some(Value::from_static("BEGIN")),
                Some(id.clone()),
                None,
                None,
                Some(Value::Int64(ts)),
            ],
        ));
    }

    fn end_record(&self, tx: TxState, commit_time: i64, out: &mut Vec<ConnectRecord>) {
        let ts = pg_to_unix_micros(commit_time).div_euclid(1000);
        let collections = crate::javamap::hashmap_order(tx.per_collection)
            .into_iter()
            .map(|(name, count)| {
                Some(Value::Struct(Struct::from_values_unchecked(
                    self.shared.collection_schema.clone(),
                    vec![Some(Value::from(name)), Some(Value::Int64(count))],
                )))
            })
            .collect();
        out.push(self.tx_record(
            &tx.id,
            vec![
                Some(Value::from_static("END")),
                Some(tx.id.clone()),
                Some(Value::Int64(tx.total)),
                Some(Value::Array(collections)),
                Some(Value::Int64(ts)),
            ],
        ));
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one place assembles every envelope field"
    )]
    fn envelope(
        &self,
        plan: &TablePlan,
        key: Option<Value>,
        before: Option<Value>,
        after: Option<Value>,
        source: Value,
        op: Value,
        block: Option<Value>,
        now: i64,
    ) -> ConnectRecord {
        let sc = &plan.schemas;
        let env = Struct::from_values_unchecked(
            sc.envelope_schema.clone(),
            vec![
                before,
                after,
                Some(source),
                Some(op),
                Some(Value::Int64(now.div_euclid(1000))),
                Some(Value::Int64(now)),
                Some(Value::Int64(now.saturating_mul(1000))),
                block,
            ],
        );
        ConnectRecord::new(
            sc.topic.clone(),
            sc.key_schema.clone(),
            key,
            Some(sc.envelope_schema.clone()),
            Some(Value::Struct(env)),
        )
    }

    fn tombstone(plan: &TablePlan, key: Option<Value>) -> ConnectRecord {
        ConnectRecord::new(
            plan.schemas.topic.clone(),
            plan.schemas.key_schema.clone(),
            key,
            None,
            None,
        )
    }

    /// Handles one change event, appending its records (none when the table
    /// is filtered out or the operation skipped).
    pub fn change(
        &mut self,
        ev: &ChangeEvent,
        types: &dyn TypeLookup,
        out: &mut Vec<ConnectRecord>,
    ) -> Result<()> {
        let now = self.clock.now_micros();
        if let ChangeKind::Message {
            transactional,
            prefix,
            content,
        } = &ev.kind
        {
            return self.message(ev, *transactional, prefix, content, now, out);
        }
        let Some(relation) = &ev.relation else {
            return Err(EnvelopeError::Event {
                lsn: ev.lsn.to_string(),
                reason: "row change without its relation".into(),
            });
        };
        let plan = self.plan(relation, types)?;
        if !plan.included {
            return Ok(());
        }
        let cfg = Flags::of(&self.config);
        match &ev.kind {
            ChangeKind::Insert { new } | ChangeKind::Read { new, .. } => {
                let (op, snapshot) = match &ev.kind {
                    ChangeKind::Read { snapshot, .. } => {
                        (OP_R, Value::from_static(snapshot.as_debezium_str()))
                    }
                    _ => {
                        if cfg.skip_c {
                            return Ok(());
                        }
                        (OP_C, SNAPSHOT_FALSE)
                    }
                };
                let after = self.row(&plan, new, types)?;
                let key = self.key(&plan, new, Some(&after), types)?;
                let source = self.source(&plan.schema_name, &plan.table_name, ev, snapshot);
                let block = self.tx_block(ev, &plan.data_collection, out);
                out.push(self.envelope(&plan, key, None, Some(after), source, op, block, now));
            }
            ChangeKind::Update { old, new } => {
                if cfg.skip_u {
                    return Ok(());
                }
                let before = match old {
                    Some(o) => Some(self.row(&plan, o.tuple(), types)?),
                    None => None,
                };
                let after = self.row(&plan, new, types)?;
                let new_key = self.key(&plan, new, Some(&after), types)?;
                let old_key = match old {
                    Some(o) => self.key(&plan, o.tuple(), before.as_ref(), types)?,
                    None => None,
                };
                let key_changed = old_key.is_some() && old_key != new_key;
                if key_changed {
                    let source =
                        self.source(&plan.schema_name, &plan.table_name, ev, SNAPSHOT_FALSE);
                    let block = self.tx_block(ev, &plan.data_collection, out);
                    out.push(self.envelope(
                        &plan,
                        old_key.clone(),
                        before,
                        None,
                        source.clone(),
                        OP_D,
                        block,
                        now,
                    ));
                    if cfg.tombstones {
                        out.push(Self::tombstone(&plan, old_key));
                    }
                    let block = self.tx_block(ev, &plan.data_collection, out);
                    out.push(self.envelope(
                        &plan,
                        new_key,
                        None,
                        Some(after),
                        source,
                        OP_C,
                        block,
                        now,
                    ));
                } else {
                    let source =
                        self.source(&plan.schema_name, &plan.table_name, ev, SNAPSHOT_FALSE);
                    let block = self.tx_block(ev, &plan.data_collection, out);
                    out.push(self.envelope(
                        &plan,
                        new_key,
                        before,
                        Some(after),
                        source,
                        OP_U,
                        block,
                        now,
                    ));
                }
            }
            ChangeKind::Delete { old } => {
                if cfg.skip_d {
                    return Ok(());
                }
                let before = self.row(&plan, old.tuple(), types)?;
                let key = self.key(&plan, old.tuple(), Some(&before), types)?;
                let source = self.source(&plan.schema_name, &plan.table_name, ev, SNAPSHOT_FALSE);
                let block = self.tx_block(ev, &plan.data_collection, out);
                out.push(self.envelope(
                    &plan,
                    key.clone(),
                    Some(before),
                    None,
                    source,
                    OP_D,
                    block,
                    now,
                ));
                if cfg.tombstones {
                    out.push(Self::tombstone(&plan, key));
                }
            }
            ChangeKind::Truncate { .. } => {
                if cfg.skip_t {
                    return Ok(());
                }
                let source = self.source(&plan.schema_name, &plan.table_name, ev, SNAPSHOT_FALSE);
                let block = self.tx_block(ev, &plan.data_collection, out);
                let mut rec = self.envelope(&plan, None, None, None, source, OP_T, block, now);
                rec.key_schema = None;
                out.push(rec);
            }
            _ => {}
        }
        Ok(())
    }

    fn message(
        &mut self,
        ev: &ChangeEvent,
        transactional: bool,
        prefix: &str,
        content: &Bytes,
        now: i64,
        out: &mut Vec<ConnectRecord>,
    ) -> Result<()> {
        let prefix_value = Value::from(prefix);
        let content_value = match self.config.binary_mode {
            BinaryMode::Bytes => Value::Bytes(content.clone()),
            mode => {
                let v = types_binary(mode, content);
                Value::from(v)
            }
        };
        let source = self.source(&EMPTY, &EMPTY, ev, SNAPSHOT_FALSE);
        let block = if transactional {
            self.tx_block(ev, "LOGICAL_DECODING_MESSAGE", out)
        } else {
            None
        };
        let sh = &self.shared;
        let key = Struct::from_values_unchecked(
            sh.message_key_schema.clone(),
            vec![Some(prefix_value.clone())],
        );
        let body = Struct::from_values_unchecked(
            sh.message_block_schema.clone(),
            vec![Some(prefix_value), Some(content_value)],
        );
        let value = Struct::from_values_unchecked(
            sh.message_value_schema.clone(),
            vec![
                Some(OP_M),
                Some(Value::Int64(now.div_euclid(1000))),
                Some(source),
                block,
                Some(Value::Struct(body)),
            ],
        );
        out.push(ConnectRecord::new(
            sh.message_topic.clone(),
            Some(sh.message_key_schema.clone()),
            Some(Value::Struct(key)),
            Some(sh.message_value_schema.clone()),
            Some(Value::Struct(value)),
        ));
        Ok(())
    }
}

/// The settings `change` reads, copied out of the shared configuration.
#[derive(Clone, Copy)]
struct Flags {
    skip_c: bool,
    skip_u: bool,
    skip_d: bool,
    skip_t: bool,
    tombstones: bool,
}

impl Flags {
    fn of(c: &EnvelopeConfig) -> Flags {
        Flags {
            skip_c: c.skips('c'),
            skip_u: c.skips('u'),
            skip_d: c.skips('d'),
            skip_t: c.skips('t'),
            tombstones: c.tombstones_on_delete,
        }
    }
}

/// Finds columns of a tuple by position: one walk over the tuple while the
/// positions ascend (value columns), a restart when one goes back (key
/// columns may come in any order).
struct Walk<'t> {
    tuple: &'t TupleData,
    iter: TupleIter<'t>,
    /// Position of the column `iter` yields next; the tuple's length once
    /// it is exhausted.
    next: usize,
    len: usize,
}

impl<'t> Walk<'t> {
    fn new(tuple: &'t TupleData) -> Walk<'t> {
        Walk {
            tuple,
            iter: tuple.iter(),
            next: 0,
            len: tuple.len(),
        }
    }

    /// The column at `index`; null when the tuple is shorter.
    #[inline]
    fn get(&mut self, index: usize) -> Column<'t> {
        if index < self.next {
            self.iter = self.tuple.iter();
            self.next = 0;
        }
        while self.next < index {
            if self.iter.next().is_none() {
                self.next = self.len;
                return Column::Null;
            }
            self.next += 1;
        }
        match self.iter.next() {
            Some(col) => {
                self.next += 1;
                col
            }
            None => {
                self.next = self.len;
                Column::Null
            }
        }
    }
}

/// `source.sequence`'s text, at most 2 + 2 × 22 + 1 bytes.
struct Sequence {
    buf: [u8; 48],
    len: usize,
}

impl Default for Sequence {
    fn default() -> Sequence {
        Sequence {
            buf: [0; 48],
            len: 0,
        }
    }
}

impl Sequence {
    fn push(&mut self, s: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.len..self.len + s.len()) {
            dst.copy_from_slice(s);
            self.len += s.len();
        }
    }

    /// Appends a decimal integer without the formatting machinery.
    fn push_u64(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut pos = digits.len();
        loop {
            pos -= 1;
            if let Some(slot) = digits.get_mut(pos) {
                *slot = b'0' + (v % 10) as u8;
            }
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push(digits.get(pos..).unwrap_or_default());
    }

    fn text(&self) -> Text {
        Text::copy_from_utf8(self.buf.get(..self.len).unwrap_or_default())
            .unwrap_or_else(|_| Text::from_static(""))
    }
}

fn types_binary(mode: BinaryMode, data: &[u8]) -> String {
    use base64::Engine as _;
    match mode {
        BinaryMode::Base64 => base64::engine::general_purpose::STANDARD.encode(data),
        BinaryMode::Base64UrlSafe => base64::engine::general_purpose::URL_SAFE.encode(data),
        _ => data.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn walk_finds_every_column(
            len in 0usize..6,
            indices in proptest::collection::vec(0usize..8, 0..10),
        ) {
            let values: Vec<Vec<u8>> = (0..len).map(|i| vec![b'a' + i as u8]).collect();
            let cols: Vec<Column<'_>> = values.iter().map(|v| Column::Text(v)).collect();
            let tuple = TupleData::from_columns(&cols);
            let mut walk = Walk::new(&tuple);
            for &i in &indices {
                prop_assert_eq!(walk.get(i), tuple.get(i).unwrap_or(Column::Null), "{:?}", indices);
            }
        }
    }
}
