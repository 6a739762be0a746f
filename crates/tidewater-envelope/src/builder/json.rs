//! Change events straight to JSON: the key and value documents of a
//! Debezium record written from the [`ChangeEvent`] with the per-relation
//! schemas, without building the record's `Value` tree first.
//!
//! Every part is written by the same routines as on the record path: column
//! values come from the same conversion (or a shortcut checked against it),
//! each value is written by [`JsonConverter::write_payload`], struct keys
//! are the schemas' own [`Field::json_key`](tidewater_connect::Field::json_key)
//! bytes and the schemas' JSON comes from their cache. The bytes are the
//! same as serializing the records of [`EnvelopeBuilder::change`] with the
//! same converter; `tests/direct_json.rs` checks that on arbitrary events.
//!
//! Row changes (`c`, `r`, `u` without an old tuple, `d` and its tombstone)
//! take the direct route; the rest (updates with an old tuple, which may
//! change the key; truncates; logical messages) and the transaction
//! metadata records are built as records and serialized, which gives the
//! same bytes by definition.

use std::ops::Range;
use std::sync::Arc;

use tidewater_connect::{
    ConnectError, ConnectRecord, DecimalFormat, JsonConverter, SchemaType, Struct, Value, logical,
    write_json_base64, write_json_i64, write_json_string, write_json_string_from_utf8,
};
use tidewater_pgoutput::{
    ChangeEvent, ChangeKind, Column, TransactionEvent, TupleData, TypeLookup, pg_to_unix_micros,
};

use super::{ColumnPlan, EnvelopeBuilder, Flags, TablePlan, Walk, col_err};
use crate::config::{DecimalMode, EnvelopeConfig};
use crate::error::Result;
use crate::types::Conv;

/// Where one record's parts sit in a [`JsonRecords`] buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Span {
    topic: Arc<str>,
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
}

/// Serialized records: the JSON of every key and value in one buffer, and
/// per record its topic and where its key and value are.
///
/// Filled by [`EnvelopeBuilder::change_json`] (and
/// [`process_json`](EnvelopeBuilder::process_json)), or from
/// [`ConnectRecord`]s with [`push_record`](Self::push_record); reuse one
/// with [`clear`](Self::clear) so its buffers are allocated once.
///
/// ```
/// use tidewater_connect::{ConnectRecord, JsonConverter, JsonConverterConfig};
/// use tidewater_envelope::JsonRecords;
///
/// let conv = JsonConverter::new(JsonConverterConfig { schemas_enable: false, ..Default::default() });
/// let mut out = JsonRecords::new();
/// out.push_record(&conv, &ConnectRecord::new("t".into(), None, Some("k".into()), None, None))?;
/// let r = out.get(0).unwrap();
/// assert_eq!((&**r.topic, r.key, r.value), ("t", Some(&b"\"k\""[..]), None));
/// # Ok::<(), tidewater_connect::ConnectError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct JsonRecords {
    bytes: Vec<u8>,
    spans: Vec<Span>,
}

/// One record of a [`JsonRecords`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonRecord<'a> {
    /// The destination topic.
    pub topic: &'a Arc<str>,
    /// The key's JSON; `None` for a Kafka null (no key).
    pub key: Option<&'a [u8]>,
    /// The value's JSON; `None` for a Kafka null (a tombstone).
    pub value: Option<&'a [u8]>,
}

impl JsonRecords {
    /// No records.
    pub fn new() -> JsonRecords {
        JsonRecords::default()
    }

    /// Forgets the records, keeping the buffers.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.spans.clear();
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The record at `index`.
    pub fn get(&self, index: usize) -> Option<JsonRecord<'_>> {
        self.spans.get(index).map(|s| self.record(s))
    }

    /// The records in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = JsonRecord<'_>> {
        self.spans.iter().map(|s| self.record(s))
    }

    /// Every record's JSON bytes, in one buffer.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn record<'a>(&'a self, s: &'a Span) -> JsonRecord<'a> {
        let part = |r: &Option<Range<usize>>| r.clone().and_then(|r| self.bytes.get(r));
        JsonRecord {
            topic: &s.topic,
            key: part(&s.key),
            value: part(&s.value),
        }
    }

    /// Serializes a record's key and value with `conv` and appends it (a
    /// part whose schema and value are both null is a Kafka null). Nothing
    /// is appended when either fails.
    pub fn push_record(
        &mut self,
        conv: &JsonConverter,
        record: &ConnectRecord,
    ) -> Result<(), ConnectError> {
        let mark = self.bytes.len();
        let key = self.part(conv, record.key_schema.as_deref(), record.key.as_ref());
        let value = key.and_then(|key| {
            let value = self.part(conv, record.value_schema.as_deref(), record.value.as_ref())?;
            Ok((key, value))
        });
        match value {
            Ok((key, value)) => {
                self.spans.push(Span {
                    topic: record.topic.clone(),
                    key,
                    value,
                });
                Ok(())
            }
            Err(e) => {
                self.bytes.truncate(mark);
                Err(e)
            }
        }
    }

    fn part(
        &mut self,
        conv: &JsonConverter,
        schema: Option<&tidewater_connect::Schema>,
        value: Option<&Value>,
    ) -> Result<Option<Range<usize>>, ConnectError> {
        let start = self.bytes.len();
        Ok(conv
            .write(schema, value, &mut self.bytes)?
            .then_some(start..self.bytes.len()))
    }

    /// Drops everything after a mark (the state before a failed event).
    fn truncate(&mut self, (bytes, spans): (usize, usize)) {
        self.bytes.truncate(bytes);
        self.spans.truncate(spans);
    }

    fn mark(&self) -> (usize, usize) {
        (self.bytes.len(), self.spans.len())
    }
}

/// How the direct writer handles a column's text (decided once per column
/// of a relation version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FastKind {
    /// The value is the text itself: checked for UTF-8 and written as a
    /// JSON string straight from the tuple.
    Text,
    /// `numeric(p, s)` as a `Decimal` of scale `s`: with base64 decimals,
    /// the unscaled integer is written without building a `Decimal`.
    Decimal(u8),
    /// `timestamptz` as a `ZonedTimestamp` with six fraction digits: UTC
    /// text is rewritten straight into the JSON string.
    ZonedUtc6,
    /// Through the value conversion (and its shortcuts).
    General,
}

impl FastKind {
    pub(super) fn of(
        cfg: &EnvelopeConfig,
        conv: &Conv,
        schema: &tidewater_connect::Schema,
    ) -> FastKind {
        if schema.schema_type() != SchemaType::String
            && matches!(conv, Conv::Text | Conv::TimestampTz(_))
        {
            return FastKind::General;
        }
        match conv {
            Conv::Text => FastKind::Text,
            Conv::TimestampTz(Some(6)) => FastKind::ZonedUtc6,
            Conv::Numeric(Some(scale))
                if cfg.decimal_mode == DecimalMode::Precise
                    && schema.name() == Some(logical::DECIMAL_NAME)
                    && logical::decimal_scale(schema).ok() == Some(*scale) =>
            {
                u8::try_from(*scale)
                    .ok()
                    .filter(|s| *s <= 38)
                    .map_or(FastKind::General, FastKind::Decimal)
            }
            _ => FastKind::General,
        }
    }
}

/// Buffers reused between events.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    /// Where each value column's JSON sits in the output (for the key).
    columns: Vec<Range<usize>>,
    /// Records built the general way (transaction metadata, fallbacks).
    records: Vec<ConnectRecord>,
}

/// `{"version":…,"connector":"postgresql","name":…,"ts_ms":`.
pub(super) fn source_head(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + name.len());
    out.extend_from_slice(b"{\"version\":");
    write_json_string(&mut out, super::TIDEWATER_VERSION);
    out.extend_from_slice(b",\"connector\":\"postgresql\",\"name\":");
    write_json_string(&mut out, name);
    out.extend_from_slice(b",\"ts_ms\":");
    out
}

/// `,"db":…,"sequence":`.
pub(super) fn source_db(db: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + db.len());
    out.extend_from_slice(b",\"db\":");
    write_json_string(&mut out, db);
    out.extend_from_slice(b",\"sequence\":");
    out
}

/// `,"schema":…,"table":…,"txId":`.
pub(super) fn source_table(schema: &str, table: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + schema.len() + table.len());
    out.extend_from_slice(b",\"schema\":");
    write_json_string(&mut out, schema);
    out.extend_from_slice(b",\"table\":");
    write_json_string(&mut out, table);
    out.extend_from_slice(b",\"txId\":");
    out
}

/// Appends an unsigned integer's digits.
fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    loop {
        pos -= 1;
        if let Some(slot) = buf.get_mut(pos) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(pos..).unwrap_or_default());
}

/// A time in microseconds written three ways, as the record path writes
/// `div_euclid(1000)` (milliseconds), the value, and `saturating_mul(1000)`
/// (nanoseconds). When the value is at least 1000 and its nanoseconds do
/// not overflow (any time after 1970-01-01T00:00:00.001 and before 2262),
/// the three are one string of digits, cut or extended by `000`: it is
/// formed once.
struct Micros {
    value: i64,
    /// The digits, left-aligned, and how many, when the shortcut applies.
    digits: Option<([u8; 20], usize)>,
}

impl Micros {
    fn new(value: i64) -> Micros {
        let digits = (1000..=i64::MAX / 1000)
            .contains(&value)
            .then(|| left_digits(value.unsigned_abs()));
        Micros { value, digits }
    }

    /// Appends the first `len` digits: a fixed-size copy cut to length.
    #[inline]
    fn write_prefix(out: &mut Vec<u8>, digits: &[u8; 20], len: usize) {
        let start = out.len();
        out.extend_from_slice(digits);
        out.truncate(start + len);
    }

    fn write_ms(&self, out: &mut Vec<u8>) {
        match &self.digits {
            Some((d, len)) => Self::write_prefix(out, d, len.saturating_sub(3)),
            None => write_json_i64(out, self.value.div_euclid(1000)),
        }
    }

    fn write_us(&self, out: &mut Vec<u8>) {
        match &self.digits {
            Some((d, len)) => Self::write_prefix(out, d, *len),
            None => write_json_i64(out, self.value),
        }
    }

    fn write_ns(&self, out: &mut Vec<u8>) {
        match &self.digits {
            Some((d, len)) => {
                Self::write_prefix(out, d, *len);
                out.extend_from_slice(b"000");
            }
            None => write_json_i64(out, self.value.saturating_mul(1000)),
        }
    }
}

/// The decimal digits of `v`, left-aligned, and how many (two digits per
/// step, as the converter writes integers).
fn left_digits(mut v: u64) -> ([u8; 20], usize) {
    const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";
    let len = v.checked_ilog10().map_or(1, |l| l as usize + 1);
    let mut digits = [b'0'; 20];
    let mut pos = len;
    while v >= 100 {
        let d = (v % 100) as usize;
        v /= 100;
        pos = pos.saturating_sub(2);
        if let (Some(slot), Some(pair)) =
            (digits.get_mut(pos..pos + 2), PAIRS.get(d * 2..d * 2 + 2))
        {
            slot.copy_from_slice(pair);
        }
    }
    if v >= 10 {
        let d = v as usize;
        pos = pos.saturating_sub(2);
        if let (Some(slot), Some(pair)) =
            (digits.get_mut(pos..pos + 2), PAIRS.get(d * 2..d * 2 + 2))
        {
            slot.copy_from_slice(pair);
        }
    } else if let Some(slot) = digits.get_mut(pos.saturating_sub(1)) {
        *slot = b'0' + v as u8;
    }
    (digits, len)
}

/// Big-endian two's complement in the fewest bytes (as `Decimal` keeps it).
fn minimal_twos_complement(v: i128, buf: &mut [u8; 16]) -> &[u8] {
    *buf = v.to_be_bytes();
    let mut start = 0;
    while let (Some(&a), Some(&b)) = (buf.get(start), buf.get(start + 1)) {
        if (a == 0x00 && b & 0x80 == 0) || (a == 0xFF && b & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    buf.get(start..).unwrap_or_default()
}

/// The row-change events the direct writer handles.
#[derive(Clone, Copy)]
enum Op {
    Create,
    Read,
    Update,
    Delete,
}

impl Op {
    fn json(self) -> &'static [u8] {
        match self {
            Op::Create => b"\"c\"",
            Op::Read => b"\"r\"",
            Op::Update => b"\"u\"",
            Op::Delete => b"\"d\"",
        }
    }
}

impl EnvelopeBuilder {
    /// Handles one change event like [`change`](Self::change), appending
    /// the JSON of its records' keys and values as `conv` serializes them,
    /// byte for byte, without building the records.
    ///
    /// For pipelines that serialize records as they come out of the
    /// builder: there is no `ConnectRecord` for a transform to rewrite, so
    /// use [`change`](Self::change) when transforms run. On an error
    /// nothing is appended and the builder's state is as `change` leaves it
    /// after the same error.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tidewater_connect::{JsonConverter, JsonConverterConfig};
    /// use tidewater_envelope::{EnvelopeBuilder, EnvelopeConfig, FixedClock, JsonRecords};
    /// use tidewater_pgoutput::*;
    ///
    /// let rel = Arc::new(Relation {
    ///     xid: None, oid: 16384, namespace: "public".into(), name: "t".into(),
    ///     replica_identity: ReplicaIdentity::Default,
    ///     columns: vec![RelationColumn { flags: 1, name: "id".into(), type_oid: 23, type_modifier: -1 }],
    /// });
    /// let event = ChangeEvent {
    ///     kind: ChangeKind::Insert { new: TupleData::from_columns(&[Column::Text(b"1")]) },
    ///     relation: Some(rel), lsn: Lsn(0x1000), commit_lsn: Lsn(0x2000), xid: Some(7),
    ///     commit_time: 0, index: 0,
    /// };
    /// let mut builder = EnvelopeBuilder::new(EnvelopeConfig::new("shop", "db"))?
    ///     .with_clock(Arc::new(FixedClock(1_700_000_000_000_000)));
    /// let conv = JsonConverter::new(JsonConverterConfig { schemas_enable: false, ..Default::default() });
    /// let mut out = JsonRecords::new();
    /// builder.change_json(&event, &NoTypes, &conv, &mut out)?;
    /// let r = out.get(0).unwrap();
    /// assert_eq!(&**r.topic, "shop.public.t");
    /// assert_eq!(r.key, Some(&br#"{"id":1}"#[..]));
    /// assert!(r.value.unwrap().starts_with(br#"{"before":null,"after":{"id":1},"source":{"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn change_json(
        &mut self,
        ev: &ChangeEvent,
        types: &dyn TypeLookup,
        conv: &JsonConverter,
        out: &mut JsonRecords,
    ) -> Result<()> {
        let (op, snapshot, before, after) = match &ev.kind {
            ChangeKind::Insert { new } => (Op::Create, "false", None, Some(new)),
            ChangeKind::Read { new, snapshot } => {
                (Op::Read, snapshot.as_debezium_str(), None, Some(new))
            }
            ChangeKind::Update { old: None, new } => (Op::Update, "false", None, Some(new)),
            ChangeKind::Delete { old } => (Op::Delete, "false", Some(old.tuple()), None),
            _ => return self.via_records(ev, types, conv, out),
        };
        let Some(relation) = &ev.relation else {
            return self.via_records(ev, types, conv, out);
        };
        let now = self.clock.now_micros();
        let plan = self.plan(relation, types)?;
        if !plan.included {
            return Ok(());
        }
        let flags = Flags::of(&self.config);
        let skipped = match op {
            Op::Create => flags.skip_c,
            Op::Read => false,
            Op::Update => flags.skip_u,
            Op::Delete => flags.skip_d,
        };
        if skipped {
            return Ok(());
        }
        let mark = out.mark();
        let mut scratch = std::mem::take(&mut self.scratch);
        let result = self.write_row_change(
            &plan,
            ev,
            RowChange {
                op,
                snapshot,
                before,
                after,
                now,
                tombstone: flags.tombstones,
            },
            types,
            conv,
            out,
            &mut scratch,
        );
        scratch.records.clear();
        self.scratch = scratch;
        if result.is_err() {
            out.truncate(mark);
        }
        result
    }

    /// Handles one assembled transaction event like [`process`](Self::process),
    /// appending JSON as [`change_json`](Self::change_json) does.
    pub fn process_json(
        &mut self,
        event: &TransactionEvent,
        types: &dyn TypeLookup,
        conv: &JsonConverter,
        out: &mut JsonRecords,
    ) -> Result<()> {
        match event {
            TransactionEvent::Begin(b) => {
                self.begin(b);
                Ok(())
            }
            TransactionEvent::Change(c) => self.change_json(c, types, conv, out),
            TransactionEvent::Commit(c) => {
                let mut records = std::mem::take(&mut self.scratch.records);
                self.commit(c, &mut records);
                let result = serialize_all(&records, conv, out);
                records.clear();
                self.scratch.records = records;
                result
            }
            _ => Ok(()),
        }
    }

    /// Builds the records the general way and serializes them.
    fn via_records(
        &mut self,
        ev: &ChangeEvent,
        types: &dyn TypeLookup,
        conv: &JsonConverter,
        out: &mut JsonRecords,
    ) -> Result<()> {
        let mut records = std::mem::take(&mut self.scratch.records);
        let result = self
            .change(ev, types, &mut records)
            .and_then(|()| serialize_all(&records, conv, out));
        records.clear();
        self.scratch.records = records;
        result
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the event, its plan, the output and the buffers, passed down once"
    )]
    fn write_row_change(
        &mut self,
        plan: &TablePlan,
        ev: &ChangeEvent,
        change: RowChange<'_>,
        types: &dyn TypeLookup,
        conv: &JsonConverter,
        out: &mut JsonRecords,
        scratch: &mut Scratch,
    ) -> Result<()> {
        let schemas = conv.config().schemas_enable;
        let sc = &plan.schemas;
        let buf = &mut out.bytes;

        // The value document, up to the transaction block.
        let value_start = buf.len();
        if schemas {
            buf.extend_from_slice(b"{\"schema\":");
            conv.write_schema_json(&sc.envelope_schema, buf)?;
            buf.extend_from_slice(b",\"payload\":");
        }
        buf.extend_from_slice(b"{\"before\":");
        match change.before {
            Some(t) => self.write_row(plan, t, "before", types, conv, buf, scratch)?,
            None => buf.extend_from_slice(b"null"),
        }
        buf.extend_from_slice(b",\"after\":");
        match change.after {
            Some(t) => self.write_row(plan, t, "after", types, conv, buf, scratch)?,
            None => buf.extend_from_slice(b"null"),
        }
        // The key: copied from the row's columns, or (when a key column is
        // not among them) converted on its own, before anything that
        // changes the builder's state.
        let row = change.before.or(change.after);
        let separate_key = match (&sc.key_schema, &plan.key_in_value, row) {
            (Some(ks), None, Some(t)) => {
                let values = self.row_values(plan, &plan.key_columns, t, types)?;
                Some(Value::Struct(Struct::from_values_unchecked(
                    ks.clone(),
                    values,
                )))
            }
            _ => None,
        };
        buf.extend_from_slice(b",\"source\":");
        self.write_source(plan, ev, change.snapshot, buf);
        buf.extend_from_slice(b",\"op\":");
        buf.extend_from_slice(change.op.json());
        let now = Micros::new(change.now);
        buf.extend_from_slice(b",\"ts_ms\":");
        now.write_ms(buf);
        buf.extend_from_slice(b",\"ts_us\":");
        now.write_us(buf);
        buf.extend_from_slice(b",\"ts_ns\":");
        now.write_ns(buf);
        buf.extend_from_slice(b",\"transaction\":");
        let block = self.tx_block(ev, &plan.data_collection, &mut scratch.records);
        conv.write_payload(Some(&self.shared.block_schema), block.as_ref(), buf)?;
        buf.push(b'}');
        if schemas {
            buf.push(b'}');
        }
        let value = value_start..buf.len();

        // The key document.
        let key_start = buf.len();
        let key = match (&sc.key_schema, &plan.key_in_value) {
            (None, _) => None,
            (Some(ks), Some(positions)) if row.is_some() => {
                if schemas {
                    buf.extend_from_slice(b"{\"schema\":");
                    conv.write_schema_json(ks, buf)?;
                    buf.extend_from_slice(b",\"payload\":");
                }
                buf.push(b'{');
                for (i, (field, &pos)) in ks.fields().iter().zip(positions).enumerate() {
                    if i > 0 {
                        buf.push(b',');
                    }
                    buf.extend_from_slice(field.json_key());
                    // Always inside the buffer (written above); checked
                    // because `extend_from_within` would panic otherwise.
                    if let Some(r) = scratch.columns.get(pos).filter(|r| r.end <= buf.len()) {
                        buf.extend_from_within(r.clone());
                    }
                }
                buf.push(b'}');
                if schemas {
                    buf.push(b'}');
                }
                Some(key_start..buf.len())
            }
            (Some(ks), _) => conv
                .write(Some(ks), separate_key.as_ref(), buf)?
                .then_some(key_start..buf.len()),
        };

        // Transaction metadata records announced by this event come first.
        serialize_all(&scratch.records, conv, out)?;
        out.spans.push(Span {
            topic: sc.topic.clone(),
            key: key.clone(),
            value: Some(value),
        });
        if matches!(change.op, Op::Delete) && change.tombstone {
            out.spans.push(Span {
                topic: sc.topic.clone(),
                key,
                value: None,
            });
        }
        Ok(())
    }

    /// Writes one row as the value struct, remembering where each column's
    /// JSON is.
    #[allow(
        clippy::too_many_arguments,
        reason = "the row, its plan, the output and the buffers, passed down once"
    )]
    fn write_row(
        &self,
        plan: &TablePlan,
        tuple: &TupleData,
        side: &str,
        types: &dyn TypeLookup,
        conv: &JsonConverter,
        buf: &mut Vec<u8>,
        scratch: &mut Scratch,
    ) -> Result<()> {
        scratch.columns.clear();
        buf.push(b'{');
        let mut walk = Walk::new(tuple);
        let fields = plan.schemas.value_schema.fields();
        for (i, (c, field)) in plan.value_columns.iter().zip(fields).enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(field.json_key());
            let start = buf.len();
            self.write_column(plan, c, walk.get(c.tuple_index), tuple, types, conv, buf)
                .map_err(|e| match e {
                    crate::EnvelopeError::Connect(e) => {
                        crate::EnvelopeError::Connect(e.within(&c.name).within(side))
                    }
                    e => e,
                })?;
            scratch.columns.push(start..buf.len());
        }
        buf.push(b'}');
        Ok(())
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the column, its plan and the output, passed down once"
    )]
    fn write_column(
        &self,
        plan: &TablePlan,
        c: &ColumnPlan,
        found: Column<'_>,
        tuple: &TupleData,
        types: &dyn TypeLookup,
        conv: &JsonConverter,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if let Column::Text(raw) = found {
            match c.fast {
                FastKind::Text => {
                    return write_json_string_from_utf8(buf, raw)
                        .map_err(|e| col_err(plan, &c.name, format!("text is not UTF-8: {e}")));
                }
                FastKind::ZonedUtc6 => {
                    if let Some(text) = crate::fast::zoned_timestamp_utc6_bytes(raw) {
                        // Nothing in it needs escaping.
                        buf.push(b'"');
                        buf.extend_from_slice(&text);
                        buf.push(b'"');
                        return Ok(());
                    }
                }
                FastKind::Decimal(scale)
                    if conv.config().decimal_format == DecimalFormat::Base64 =>
                {
                    if let Some(v) = crate::fast::fixed_numeric(raw, scale) {
                        let mut bytes = [0u8; 16];
                        write_json_base64(buf, minimal_twos_complement(v, &mut bytes));
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        let v = self.column_value(plan, c, found, tuple, types)?;
        conv.write_payload(Some(&c.schema), v.as_ref(), buf)?;
        Ok(())
    }

    /// The `source` block, from the constant fragments and the event.
    fn write_source(&self, plan: &TablePlan, ev: &ChangeEvent, snapshot: &str, buf: &mut Vec<u8>) {
        let sh = &self.shared;
        let commit = Micros::new(pg_to_unix_micros(ev.commit_time));
        buf.extend_from_slice(&sh.source_head_json);
        commit.write_ms(buf);
        buf.extend_from_slice(b",\"snapshot\":");
        write_json_string(buf, snapshot);
        buf.extend_from_slice(&sh.source_db_json);
        // The sequence string, `["<last commit>","<lsn>"]`, escaped.
        buf.extend_from_slice(b"\"[");
        match self.last_commit_lsn {
            Some(l) => {
                buf.extend_from_slice(b"\\\"");
                push_u64(buf, l.0);
                buf.extend_from_slice(b"\\\"");
            }
            None => buf.extend_from_slice(b"null"),
        }
        buf.extend_from_slice(b",\\\"");
        push_u64(buf, ev.lsn.0);
        buf.extend_from_slice(b"\\\"]\"");
        buf.extend_from_slice(b",\"ts_us\":");
        commit.write_us(buf);
        buf.extend_from_slice(b",\"ts_ns\":");
        commit.write_ns(buf);
        buf.extend_from_slice(&plan.source_table_json);
        match ev.xid {
            Some(x) => write_json_i64(buf, i64::from(x)),
            None => buf.extend_from_slice(b"null"),
        }
        buf.extend_from_slice(b",\"lsn\":");
        write_json_i64(buf, ev.lsn.0 as i64);
        buf.extend_from_slice(b",\"xmin\":null,\"origin\":null,\"origin_lsn\":null}");
    }
}

/// What a row change writes.
struct RowChange<'e> {
    op: Op,
    snapshot: &'static str,
    before: Option<&'e TupleData>,
    after: Option<&'e TupleData>,
    now: i64,
    tombstone: bool,
}

fn serialize_all(
    records: &[ConnectRecord],
    conv: &JsonConverter,
    out: &mut JsonRecords,
) -> Result<()> {
    let mark = out.mark();
    for r in records {
        if let Err(e) = out.push_record(conv, r) {
            out.truncate(mark);
            return Err(e.into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test fixtures")]
    use proptest::prelude::*;
    use tidewater_connect::Decimal;

    use super::*;

    fn general(raw: &str, scale: u8) -> Option<Vec<u8>> {
        let n = tidewater_pgoutput::value::Numeric::parse(raw).ok()?;
        let d = n.as_decimal()?;
        if d.scale() > u16::from(scale) {
            return None;
        }
        let mut digits = format!("{}{}", d.integer_digits(), d.fraction_digits());
        for _ in d.scale()..u16::from(scale) {
            digits.push('0');
        }
        Decimal::from_digits(d.is_negative(), &digits, i32::from(scale))
            .map(|d| d.unscaled().to_vec())
    }

    fn fast(raw: &str, scale: u8) -> Option<Vec<u8>> {
        let mut buf = [0u8; 16];
        crate::fast::fixed_numeric(raw.as_bytes(), scale)
            .map(|v| minimal_twos_complement(v, &mut buf).to_vec())
    }

    #[test]
    fn numeric_examples() {
        assert_eq!(fast("123.45", 2), Some(vec![0x30, 0x39]));
        assert_eq!(fast("-123.45", 2), Some(vec![0xCF, 0xC7]));
        assert_eq!(fast("0", 2), Some(vec![0]));
        assert_eq!(fast("1.5", 2), Some(vec![0x00, 0x96]));
        for not in [
            "-0", "-0.00", "01", "1.", ".5", "1.234", "", "-", "1e5", "NaN", "+1",
        ] {
            assert_eq!(fast(not, 2), None, "{not}");
        }
        assert_eq!(fast(&"9".repeat(36), 2), general(&"9".repeat(36), 2));
        assert_eq!(fast(&"9".repeat(37), 2), None);
    }

    proptest! {
        #[test]
        fn micros_write_what_the_arithmetic_gives(v in any::<i64>(), shift in 0u32..64) {
            for v in [v, v >> shift, 0, 999, 1000, 1001, i64::MAX / 1000, i64::MAX / 1000 + 1, i64::MIN] {
                let m = Micros::new(v);
                let mut out = Vec::new();
                m.write_ms(&mut out);
                out.push(b' ');
                m.write_us(&mut out);
                out.push(b' ');
                m.write_ns(&mut out);
                let expected = format!("{} {v} {}", v.div_euclid(1000), v.saturating_mul(1000));
                prop_assert_eq!(String::from_utf8(out).unwrap(), expected);
            }
        }

        #[test]
        fn numeric_shortcut_agrees_with_decimal(
            negative in any::<bool>(),
            int in "(0|[1-9][0-9]{0,20})",
            frac in proptest::option::of("[0-9]{1,10}"),
            scale in 0u8..12,
        ) {
            let text = format!(
                "{}{int}{}",
                if negative { "-" } else { "" },
                frac.map(|f| format!(".{f}")).unwrap_or_default()
            );
            if let Some(f) = fast(&text, scale) {
                prop_assert_eq!(Some(f), general(&text, scale), "{}", text);
            }
        }
    }
}
