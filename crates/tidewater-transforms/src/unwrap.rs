//! `io.debezium.transforms.ExtractNewRecordState`: replaces the change
//! event envelope with the row state (`after`, or `before` for rewritten
//! deletes).
//!
//! ```text
//!  tombstone ──────────► kept (rewrite-with-tombstone, legacy drop.tombstones=false) or dropped
//!  not an envelope ────► unchanged (heartbeats, transaction metadata, messages)
//!  truncate (op t) ────► dropped
//!  c / u / r ──────────► after [+ add.fields] [- drop.fields] [+ __deleted="false" in rewrite modes]
//!  d ──────────────────► dropped | value null (tombstone) | before + … + __deleted="true" (rewrite)
//!                        | tombstone without value schema (delete-to-tombstone)
//! ```
//!
//! Output schemas are derived once per envelope schema and cached.

use std::sync::Arc;

use tidewater_connect::{ConnectRecord, Schema, SchemaType, Struct, Value};

use crate::cache::{Cached, DEFAULT_CAPACITY, SchemaCache};
use crate::config::TransformOptions;
use crate::error::{Result, TransformError};
use crate::traits::Transform;
use crate::util::{build, field_value, is_envelope, optional_copy, struct_basics};

/// The field Debezium adds in the rewrite modes.
pub const DELETED_FIELD: &str = "__deleted";

/// `delete.tombstone.handling.mode`: what happens to delete events and to
/// the tombstones that follow them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DeleteTombstoneHandling {
    /// `drop`: delete events and tombstones are dropped.
    Drop,
    /// `tombstone` (default): a delete becomes a record with a null value
    /// (its value schema is the row schema); tombstones are dropped.
    #[default]
    Tombstone,
    /// `rewrite`: a delete becomes its `before` row with `__deleted: "true"`,
    /// every other row gets `__deleted: "false"`; tombstones are dropped.
    Rewrite,
    /// `rewrite-with-tombstone`: as `rewrite`, tombstones are kept.
    RewriteWithTombstone,
    /// `delete-to-tombstone`: a delete becomes a tombstone (null value, no
    /// value schema); the original tombstone is dropped.
    DeleteToTombstone,
}

impl DeleteTombstoneHandling {
    /// The configuration value.
    pub fn as_str(self) -> &'static str {
        match self {
            DeleteTombstoneHandling::Drop => "drop",
            DeleteTombstoneHandling::Tombstone => "tombstone",
            DeleteTombstoneHandling::Rewrite => "rewrite",
            DeleteTombstoneHandling::RewriteWithTombstone => "rewrite-with-tombstone",
            DeleteTombstoneHandling::DeleteToTombstone => "delete-to-tombstone",
        }
    }

    fn parse(v: &str) -> Option<DeleteTombstoneHandling> {
        [
            DeleteTombstoneHandling::Drop,
            DeleteTombstoneHandling::Tombstone,
            DeleteTombstoneHandling::Rewrite,
            DeleteTombstoneHandling::RewriteWithTombstone,
            DeleteTombstoneHandling::DeleteToTombstone,
        ]
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(v.trim()))
    }
}

/// What a delete event becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeleteAction {
    Drop,
    /// Null value, the row schema as value schema.
    NullValue,
    Rewrite,
    /// Null value and null value schema.
    Tombstone,
}

/// A metadata field named in `add.fields` / `add.headers`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldRef {
    /// `source`, `transaction`, or `None` for a top-level envelope field.
    parent: Option<String>,
    field: String,
    /// Name in the output (prefix included).
    name: String,
}

impl FieldRef {
    fn parse(prefix: &str, entry: &str) -> std::result::Result<FieldRef, String> {
        let mut parts = entry.split(':');
        let path = parts.next().unwrap_or("").trim();
        let rename = parts.next().map(str::trim);
        if parts.next().is_some() {
            return Err(format!(
                "unexpected field name {entry:?}: use field or struct.field, optionally :newName"
            ));
        }
        let mut segs = path.split('.');
        let first = segs.next().unwrap_or("");
        let second = segs.next();
        if segs.next().is_some() || first.is_empty() || second.is_some_and(str::is_empty) {
            return Err(format!(
                "unexpected field name {entry:?}: use field or struct.field"
            ));
        }
        let (parent, field) = match second {
            Some(f) => (Some(first.to_string()), f.to_string()),
            None => {
                let parent = match first {
                    "op" | "ts_ms" | "ts_us" | "ts_ns" => None,
                    "id" | "total_order" | "data_collection_order" => {
                        Some("transaction".to_string())
                    }
                    _ => Some("source".to_string()),
                };
                (parent, first.to_string())
            }
        };
        let name = match rename {
            Some(r) if !r.is_empty() => format!("{prefix}{r}"),
            Some(_) => return Err(format!("empty new name in {entry:?}")),
            None => match (&parent, second) {
                (Some(p), Some(_)) => format!("{prefix}{p}_{field}"),
                _ => format!("{prefix}{field}"),
            },
        };
        Ok(FieldRef {
            parent,
            field,
            name,
        })
    }
}

/// Where a metadata value is found in the envelope.
#[derive(Debug, Clone)]
enum Access {
    Top(usize),
    Nested {
        parent: usize,
        schema: Arc<Schema>,
        index: usize,
        field: String,
    },
}

impl Access {
    fn get(&self, env: &Struct) -> Option<Value> {
        match self {
            Access::Top(i) => env.values().get(*i).cloned().flatten(),
            Access::Nested {
                parent,
                schema,
                index,
                field,
            } => {
                let Some(Some(Value::Struct(s))) = env.values().get(*parent) else {
                    return None;
                };
                if Arc::ptr_eq(s.schema(), schema) {
                    s.values().get(*index).cloned().flatten()
                } else {
                    s.get_without_default(field).cloned()
                }
            }
        }
    }
}

/// What is derived once per envelope schema.
#[derive(Debug)]
struct Plan {
    before: usize,
    after: usize,
    op: Option<usize>,
    before_schema: Arc<Schema>,
    after_schema: Arc<Schema>,
    /// Metadata fields found in this envelope, in configured order.
    fields: Vec<(Access, Arc<Schema>, String)>,
    headers: Vec<(Access, Arc<Schema>, String)>,
    /// Row + added fields (+ `__deleted` when rewriting), for `after` and
    /// `before` rows; `None` when the row schema is used unchanged.
    after_out: Option<Arc<Schema>>,
    before_out: Option<Arc<Schema>>,
}

/// `io.debezium.transforms.ExtractNewRecordState` ("unwrap"). See the
/// module documentation for the behaviour and `docs/transforms.md` for every
/// option.
#[derive(Debug)]
pub struct ExtractNewRecordState {
    delete_action: DeleteAction,
    keep_tombstones: bool,
    rewrite: bool,
    fields: Vec<FieldRef>,
    headers: Vec<FieldRef>,
    route_by_field: Option<String>,
    drop_fields_header: Option<String>,
    drop_fields_from_key: bool,
    drop_fields_keep_schema_compatible: bool,
    replace_null_with_default: bool,
    plans: SchemaCache<Option<Arc<Plan>>>,
    drop_schemas: SchemaCache<Arc<Schema>, Vec<String>>,
}

impl Default for ExtractNewRecordState {
    /// `delete.tombstone.handling.mode=tombstone`, no metadata.
    fn default() -> Self {
        ExtractNewRecordState::new(DeleteTombstoneHandling::Tombstone)
    }
}

impl ExtractNewRecordState {
    /// With a delete/tombstone mode and no other option.
    pub fn new(mode: DeleteTombstoneHandling) -> ExtractNewRecordState {
        let (delete_action, keep_tombstones) = match mode {
            DeleteTombstoneHandling::Drop => (DeleteAction::Drop, false),
            DeleteTombstoneHandling::Tombstone => (DeleteAction::NullValue, false),
            DeleteTombstoneHandling::Rewrite => (DeleteAction::Rewrite, false),
            DeleteTombstoneHandling::RewriteWithTombstone => (DeleteAction::Rewrite, true),
            DeleteTombstoneHandling::DeleteToTombstone => (DeleteAction::Tombstone, false),
        };
        ExtractNewRecordState {
            delete_action,
            keep_tombstones,
            rewrite: delete_action == DeleteAction::Rewrite,
            fields: Vec::new(),
            headers: Vec::new(),
            route_by_field: None,
            drop_fields_header: None,
            drop_fields_from_key: false,
            drop_fields_keep_schema_compatible: true,
            replace_null_with_default: true,
            plans: SchemaCache::new(DEFAULT_CAPACITY),
            drop_schemas: SchemaCache::new(DEFAULT_CAPACITY),
        }
    }

    /// From Debezium's options: `delete.tombstone.handling.mode` (or the
    /// legacy `drop.tombstones` + `delete.handling.mode`), `add.fields`,
    /// `add.fields.prefix`, `add.headers`, `add.headers.prefix`,
    /// `route.by.field`, `drop.fields.header.name`, `drop.fields.from.key`,
    /// `drop.fields.keep.schema.compatible`, `replace.null.with.default`,
    /// and the older `operation.header` and `add.source.fields`.
    pub fn from_options(opts: &mut TransformOptions) -> Result<ExtractNewRecordState> {
        let has_legacy = opts.contains("drop.tombstones") || opts.contains("delete.handling.mode");
        let legacy_drop_tombstones = opts.bool("drop.tombstones", true)?;
        let legacy_deletes =
            opts.choice("delete.handling.mode", &["drop", "rewrite", "none"], "drop")?;
        let mut t = match opts.raw("delete.tombstone.handling.mode") {
            Some(v) => {
                let mode = DeleteTombstoneHandling::parse(&v).ok_or_else(|| {
                    opts.error(
                        "delete.tombstone.handling.mode",
                        Some(&v),
                        "must be one of drop, tombstone, rewrite, rewrite-with-tombstone, delete-to-tombstone",
                    )
                })?;
                ExtractNewRecordState::new(mode)
            }
            None if has_legacy => {
                let mut t = ExtractNewRecordState::new(DeleteTombstoneHandling::Tombstone);
                t.delete_action = match legacy_deletes {
                    "rewrite" => DeleteAction::Rewrite,
                    "none" => DeleteAction::NullValue,
                    _ => DeleteAction::Drop,
                };
                t.rewrite = t.delete_action == DeleteAction::Rewrite;
                t.keep_tombstones = !legacy_drop_tombstones;
                t
            }
            None => ExtractNewRecordState::default(),
        };
        let fields_prefix = opts
            .raw("add.fields.prefix")
            .unwrap_or_else(|| "__".to_string());
        let headers_prefix = opts
            .raw("add.headers.prefix")
            .unwrap_or_else(|| "__".to_string());
        for (option, prefix, out) in [
            ("add.fields", &fields_prefix, &mut t.fields),
            ("add.headers", &headers_prefix, &mut t.headers),
        ] {
            let raw = opts.raw(option).unwrap_or_default();
            for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let r = FieldRef::parse(prefix, entry)
                    .map_err(|e| opts.error(option, Some(&raw), e))?;
                out.push(r);
            }
        }
        // Older spellings still found in configurations.
        if opts.bool("operation.header", false)? && !t.headers.iter().any(|h| h.name == "__op") {
            t.headers.push(FieldRef {
                parent: None,
                field: "op".into(),
                name: "__op".into(),
            });
        }
        for f in opts.list("add.source.fields") {
            t.fields.push(FieldRef {
                parent: Some("source".into()),
                name: format!("__{f}"),
                field: f,
            });
        }
        t.route_by_field = opts.string("route.by.field").filter(|s| !s.is_empty());
        t.drop_fields_header = opts
            .string("drop.fields.header.name")
            .filter(|s| !s.is_empty());
        t.drop_fields_from_key = opts.bool("drop.fields.from.key", false)?;
        t.drop_fields_keep_schema_compatible =
            opts.bool("drop.fields.keep.schema.compatible", true)?;
        t.replace_null_with_default = opts.bool("replace.null.with.default", true)?;
        Ok(t)
    }

    /// The plan for an envelope schema (`None` when it has no `before` and
    /// `after`), borrowed from the cache when it can be.
    fn plan(&self, schema: &Arc<Schema>, topic: &str) -> Result<Cached<'_, Option<Arc<Plan>>>> {
        self.plans.get(schema, (), || {
            let (Some(before), Some(after)) = (schema.field("before"), schema.field("after"))
            else {
                return Ok(None);
            };
            let resolve = |r: &FieldRef| -> Result<Option<(Access, Arc<Schema>, String)>> {
                let nested = r
                    .parent
                    .as_ref()
                    .and_then(|p| schema.field(p))
                    .and_then(|pf| {
                        pf.schema().field(&r.field).map(|f| {
                            (
                                Access::Nested {
                                    parent: pf.index(),
                                    schema: pf.schema().clone(),
                                    index: f.index(),
                                    field: r.field.clone(),
                                },
                                f.schema().clone(),
                            )
                        })
                    });
                // A field not found in its struct is looked up in the
                // envelope itself (where another transform may have put it).
                let found = nested.or_else(|| {
                    schema
                        .field(&r.field)
                        .map(|f| (Access::Top(f.index()), f.schema().clone()))
                });
                let Some((access, field_schema)) = found else {
                    return Ok(None);
                };
                let copy =
                    optional_copy(&field_schema).map_err(|e| TransformError::connect(topic, e))?;
                Ok(Some((access, Arc::new(copy), r.name.clone())))
            };
            let mut fields = Vec::new();
            for r in &self.fields {
                if let Some(f) = resolve(r)? {
                    fields.push(f);
                }
            }
            let mut headers = Vec::new();
            for r in &self.headers {
                if let Some(h) = resolve(r)? {
                    headers.push(h);
                }
            }
            let out = |row: &Arc<Schema>| -> Result<Option<Arc<Schema>>> {
                if fields.is_empty() && !self.rewrite {
                    return Ok(None);
                }
                if row.schema_type() != SchemaType::Struct {
                    return Ok(None);
                }
                let mut b = struct_basics(row);
                for f in row.fields() {
                    b = b.field(f.name(), f.schema().clone());
                }
                for (_, s, name) in &fields {
                    b = b.field(name.clone(), s.clone());
                }
                if self.rewrite {
                    b = b.field(DELETED_FIELD, Schema::optional_of(SchemaType::String));
                }
                build(b, topic).map(Some)
            };
            let after_out = out(after.schema())?;
            let before_out = if Arc::ptr_eq(before.schema(), after.schema()) {
                after_out.clone()
            } else {
                out(before.schema())?
            };
            Ok(Some(Arc::new(Plan {
                before: before.index(),
                after: after.index(),
                op: schema.field("op").map(|f| f.index()),
                before_schema: before.schema().clone(),
                after_schema: after.schema().clone(),
                fields,
                headers,
                after_out,
                before_out,
            })))
        })
    }

    /// The row with metadata fields and `__deleted` added.
    #[allow(
        clippy::too_many_arguments,
        reason = "one place assembles the output row"
    )]
    fn rebuild(
        &self,
        plan: &Plan,
        env: &Struct,
        row: &Struct,
        out_schema: &Arc<Schema>,
        deleted: bool,
        drop: &[String],
        topic: &str,
    ) -> Result<(Arc<Schema>, Struct)> {
        let copy_defaults = self.rewrite && self.replace_null_with_default;
        let mut values: Vec<Option<Value>> = Vec::with_capacity(out_schema.fields().len());
        for i in 0..row.values().len() {
            values.push(field_value(row, i, copy_defaults));
        }
        for (access, _, _) in &plan.fields {
            values.push(access.get(env));
        }
        if !drop.is_empty() {
            // Fields named in the drop header go before `__deleted` is added.
            let deleted_slot = usize::from(self.rewrite);
            let kept_fields = out_schema.fields().len().saturating_sub(deleted_slot);
            let mut pairs: Vec<(String, Option<Value>)> = out_schema
                .fields()
                .iter()
                .take(kept_fields)
                .map(|f| f.name().to_string())
                .zip(values)
                .collect();
            pairs.retain(|(n, _)| !drop.contains(n));
            let schema = self
                .drop_schemas
                .get_or_try_insert(out_schema, drop.to_vec(), || {
                    let mut b = struct_basics(out_schema);
                    for f in out_schema.fields() {
                        if !drop.iter().any(|d| d == f.name()) {
                            b = b.field(f.name(), f.schema().clone());
                        }
                    }
                    build(b, topic)
                })?;
            let mut values: Vec<Option<Value>> = pairs.into_iter().map(|(_, v)| v).collect();
            if self.rewrite {
                values.push(Some(Value::from_static(if deleted {
                    "true"
                } else {
                    "false"
                })));
            }
            return Ok((
                schema.clone(),
                Struct::from_values_unchecked(schema, values),
            ));
        }
        if self.rewrite {
            values.push(Some(Value::from_static(if deleted {
                "true"
            } else {
                "false"
            })));
        }
        Ok((
            out_schema.clone(),
            Struct::from_values_unchecked(out_schema.clone(), values),
        ))
    }

    /// The field names to drop, from the `drop.fields.header.name` header.
    #[inline]
    fn drop_list(&self, record: &ConnectRecord) -> Result<Vec<String>> {
        match &self.drop_fields_header {
            None => Ok(Vec::new()),
            Some(name) => Self::drop_list_from(name, record),
        }
    }

    /// The field names listed in header `name`.
    fn drop_list_from(name: &str, record: &ConnectRecord) -> Result<Vec<String>> {
        let Some(h) = record.headers.iter().find(|h| h.key == name) else {
            return Ok(Vec::new());
        };
        match &h.value {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .flatten()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        TransformError::record(
                            &record.topic,
                            format!("header {name:?} must list field names as strings"),
                        )
                    })
                })
                .collect(),
            Some(Value::String(s)) => Ok(crate::config::split_list(s.as_str())),
            Some(other) => Err(TransformError::record(
                &record.topic,
                format!(
                    "header {name:?} must be a list of field names, found {}",
                    other.kind_name()
                ),
            )),
        }
    }

    /// The names among `drop` that may be dropped from `schema`.
    fn droppable(&self, schema: &Schema, drop: &[String]) -> Vec<String> {
        schema
            .fields()
            .iter()
            .filter(|f| drop.iter().any(|d| d == f.name()))
            .filter(|f| !self.drop_fields_keep_schema_compatible || f.schema().is_optional())
            .map(|f| f.name().to_string())
            .collect()
    }

    /// The names to drop from an output row (`__deleted` is added after the
    /// drop, so it is never dropped).
    #[inline]
    fn value_drop(&self, schema: &Schema, drop: &[String]) -> Vec<String> {
        if drop.is_empty() {
            return Vec::new();
        }
        let mut names = self.droppable(schema, drop);
        if self.rewrite {
            names.retain(|n| n != DELETED_FIELD);
        }
        names
    }

    fn drop_from_key(&self, record: &mut ConnectRecord, drop: &[String]) -> Result<()> {
        if !self.drop_fields_from_key || drop.is_empty() {
            return Ok(());
        }
        let (Some(schema), Some(Value::Struct(key))) = (&record.key_schema, &record.key) else {
            return Ok(());
        };
        let names = self.droppable(schema, drop);
        if names.is_empty() {
            return Ok(());
        }
        let new_schema = self
            .drop_schemas
            .get_or_try_insert(schema, names.clone(), || {
                let mut b = struct_basics(schema);
                for f in schema.fields() {
                    if !names.iter().any(|d| d == f.name()) {
                        b = b.field(f.name(), f.schema().clone());
                    }
                }
                build(b, &record.topic)
            })?;
        let values = key
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| !names.iter().any(|d| d == f.name()))
            .map(|(i, _)| field_value(key, i, true))
            .collect();
        record.key = Some(Value::Struct(Struct::from_values_unchecked(
            new_schema.clone(),
            values,
        )));
        record.key_schema = Some(new_schema);
        Ok(())
    }

    fn route(&self, record: &mut ConnectRecord, row: Option<&Struct>) -> Result<()> {
        let (Some(field), Some(row)) = (&self.route_by_field, row) else {
            return Ok(());
        };
        if row.schema().field(field).is_none() {
            return Err(TransformError::record(
                &record.topic,
                format!("route.by.field {field:?} is not a field of the row"),
            ));
        }
        match row.get_without_default(field) {
            Some(Value::String(s)) if !s.as_str().trim().is_empty() => {
                record.topic = Arc::from(s.as_str());
                Ok(())
            }
            None | Some(Value::String(_)) => Ok(()),
            Some(other) => Err(TransformError::record(
                &record.topic,
                format!(
                    "route.by.field {field:?} must be a string, found {}",
                    other.kind_name()
                ),
            )),
        }
    }
}

fn row_struct(env: &Struct, index: usize) -> Option<&Struct> {
    match env.values().get(index) {
        Some(Some(Value::Struct(s))) => Some(s),
        _ => None,
    }
}

fn same_schema(a: &Arc<Schema>, b: &Arc<Schema>) -> bool {
    Arc::ptr_eq(a, b) || **a == **b
}

impl ExtractNewRecordState {
    /// Rewrites `record` in place; `false` when it is dropped.
    fn unwrap(&self, record: &mut ConnectRecord) -> Result<bool> {
        if record.value.is_none() {
            if !self.keep_tombstones {
                return Ok(false);
            }
            for h in self
                .headers
                .iter()
                .filter(|h| h.parent.is_none() && h.field == "op")
            {
                record.headers.add(
                    h.name.clone(),
                    Some(Arc::new(Schema::of(SchemaType::String))),
                    Some(Value::from_static("d")),
                );
            }
            return Ok(true);
        }
        if !is_envelope(record.value_schema.as_ref()) {
            return Ok(true);
        }
        let (Some(schema), Some(Value::Struct(mut env))) =
            (record.value_schema.take(), record.value.take())
        else {
            return Ok(true);
        };
        let cached = self.plan(&schema, &record.topic)?;
        let Some(plan) = cached.as_deref() else {
            record.value_schema = Some(schema);
            record.value = Some(Value::Struct(env));
            return Ok(true);
        };
        for (access, s, name) in &plan.headers {
            record
                .headers
                .add(name.clone(), Some(s.clone()), access.get(&env));
        }
        let truncate = plan
            .op
            .and_then(|i| env.values().get(i))
            .is_some_and(|v| matches!(v, Some(Value::String(op)) if op.as_bytes() == b"t"));
        let after = row_struct(&env, plan.after);
        let before = row_struct(&env, plan.before);
        if truncate || (after.is_none() && before.is_none()) {
            return Ok(false);
        }
        let drop = self.drop_list(record)?;
        if let Some(after) = after {
            if !same_schema(after.schema(), &plan.after_schema) {
                return Err(TransformError::record(
                    &record.topic,
                    "`after` does not match its schema",
                ));
            }
            self.route(record, Some(after))?;
            let value_drop = self.value_drop(
                plan.after_out.as_deref().unwrap_or(&plan.after_schema),
                &drop,
            );
            match &plan.after_out {
                Some(out) => {
                    let (s, v) =
                        self.rebuild(plan, &env, after, out, false, &value_drop, &record.topic)?;
                    record.value_schema = Some(s);
                    record.value = Some(Value::Struct(v));
                }
                None if !value_drop.is_empty() => {
                    let (s, v) = self.rebuild(
                        plan,
                        &env,
                        after,
                        &plan.after_schema,
                        false,
                        &value_drop,
                        &record.topic,
                    )?;
                    record.value_schema = Some(s);
                    record.value = Some(Value::Struct(v));
                }
                None => {
                    // The row is the output as it is: move it out of the envelope.
                    record.value_schema = Some(plan.after_schema.clone());
                    record.value = env.take(plan.after);
                }
            }
            self.drop_from_key(record, &drop)?;
            return Ok(true);
        }
        // A delete.
        self.route(record, before)?;
        match self.delete_action {
            DeleteAction::Drop => return Ok(false),
            DeleteAction::NullValue => {
                record.value_schema = Some(plan.after_schema.clone());
                record.value = None;
            }
            DeleteAction::Tombstone => {
                record.value_schema = None;
                record.value = None;
            }
            DeleteAction::Rewrite => {
                let Some(before) = before else {
                    record.value_schema = Some(plan.before_schema.clone());
                    return Ok(true);
                };
                if !same_schema(before.schema(), &plan.before_schema) {
                    return Err(TransformError::record(
                        &record.topic,
                        "`before` does not match its schema",
                    ));
                }
                let out = plan
                    .before_out
                    .clone()
                    .unwrap_or_else(|| plan.before_schema.clone());
                let value_drop = self.value_drop(&out, &drop);
                let (s, v) =
                    self.rebuild(plan, &env, before, &out, true, &value_drop, &record.topic)?;
                record.value_schema = Some(s);
                record.value = Some(Value::Struct(v));
            }
        }
        self.drop_from_key(record, &drop)?;
        Ok(true)
    }
}

impl Transform for ExtractNewRecordState {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        Ok(self.unwrap(&mut record)?.then_some(record))
    }

    fn apply_in_place(&self, slot: &mut Option<ConnectRecord>) -> Result<()> {
        if let Some(record) = slot
            && !self.unwrap(record)?
        {
            *slot = None;
        }
        Ok(())
    }
}
