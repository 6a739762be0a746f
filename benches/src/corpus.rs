//! A synthetic but realistic replication stream: the CopyData payloads a
//! PostgreSQL server sends to a pgoutput subscriber.
//!
//! The stream covers two tables:
//!
//! ```text
//! public.orders     (id int4 PRIMARY KEY, customer_id int8, customer_name text,
//!                    email varchar(255), price numeric(12,2), paid bool,
//!                    created_at timestamptz, ship_date date, order_uuid uuid,
//!                    attributes jsonb)
//! public.documents  (id int4 PRIMARY KEY, title text, body text)   -- ~8 KiB bodies
//! ```
//!
//! Each transaction is `Begin`, a `Relation` the first time a table appears,
//! a run of `Insert` and `Update` messages, then `Commit`. Some updates change
//! the primary key and therefore carry the old key (`K` tuple). Every message
//! is wrapped in an XLogData (`w`) frame with the 25-byte header, and all frames
//! are slices of one contiguous buffer, as they would be when cut out of a
//! socket read buffer.
//!
//! Text-format values are written the way PostgreSQL prints them with
//! `DateStyle = ISO` and `TimeZone = UTC`; binary-format values use each type's
//! send format (what pgoutput sends with `binary 'true'`).
//!
//! The content is produced by a fixed-seed generator, so every build of the
//! corpus is byte-for-byte identical.

use bytes::{BufMut, Bytes, BytesMut};
use tidewater_pgoutput::{
    Begin, Column, Commit, Insert, Lsn, Message, OldTuple, Relation, RelationColumn,
    ReplicaIdentity, TupleData, Update,
};

/// OID of `public.orders` in the corpus.
pub const ORDERS_OID: u32 = 16_385;
/// OID of `public.documents` in the corpus.
pub const DOCUMENTS_OID: u32 = 16_402;

/// Built-in type OIDs used by the corpus (from `pg_type`).
pub mod oid {
    /// `bool`
    pub const BOOL: u32 = 16;
    /// `int8`
    pub const INT8: u32 = 20;
    /// `int4`
    pub const INT4: u32 = 23;
    /// `text`
    pub const TEXT: u32 = 25;
    /// `varchar`
    pub const VARCHAR: u32 = 1043;
    /// `date`
    pub const DATE: u32 = 1082;
    /// `timestamptz`
    pub const TIMESTAMPTZ: u32 = 1184;
    /// `numeric`
    pub const NUMERIC: u32 = 1700;
    /// `uuid`
    pub const UUID: u32 = 2950;
    /// `jsonb`
    pub const JSONB: u32 = 3802;
}

/// Length of an XLogData header: tag, WAL start, WAL end, send time.
pub const XLOGDATA_HEADER_LEN: usize = 25;

/// How column values are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    /// `t` columns in each type's text output format (pgoutput's default).
    Text,
    /// `b` columns in each type's binary send format (`binary 'true'`).
    Binary,
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorpusSpec {
    /// Total row changes (inserts and updates, over both tables).
    pub row_changes: usize,
    /// Mean number of row changes per transaction (sizes vary from 1 to
    /// twice the mean minus one).
    pub mean_changes_per_transaction: usize,
    /// Every `big_row_every`-th row change is a `documents` insert with a big
    /// text body; 0 disables big rows.
    pub big_row_every: usize,
    /// Size in bytes of each big text body.
    pub big_text_len: usize,
    /// Of the `orders` changes, this many per 100 are updates (the rest inserts).
    pub update_percent: u32,
    /// Of the `orders` updates, this many per 100 change the key and carry a `K` tuple.
    pub key_change_percent: u32,
    /// Format of the column values.
    pub format: WireFormat,
}

impl Default for CorpusSpec {
    /// 10,000 row changes in transactions of 20 on average, 40 % updates of
    /// which 10 % change the key, one 8 KiB document per 100 changes; text format.
    fn default() -> Self {
        CorpusSpec {
            row_changes: 10_000,
            mean_changes_per_transaction: 20,
            big_row_every: 100,
            big_text_len: 8 * 1024,
            update_percent: 40,
            key_change_percent: 10,
            format: WireFormat::Text,
        }
    }
}

impl CorpusSpec {
    /// The default corpus in the given value format.
    pub fn with_format(format: WireFormat) -> Self {
        CorpusSpec {
            format,
            ..CorpusSpec::default()
        }
    }
}

/// How many messages of each kind a corpus holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounts {
    /// `Begin` messages (one per transaction).
    pub begin: usize,
    /// `Commit` messages (one per transaction).
    pub commit: usize,
    /// `Relation` messages (one per table).
    pub relation: usize,
    /// `Insert` messages.
    pub insert: usize,
    /// `Update` messages, with or without an old key.
    pub update: usize,
    /// `Update` messages carrying an old key (`K`) tuple.
    pub update_with_old_key: usize,
    /// Inserts into `documents` with a big text body.
    pub big_rows: usize,
}

impl MessageCounts {
    /// All messages (= XLogData frames).
    pub fn total(&self) -> usize {
        self.begin + self.commit + self.relation + self.insert + self.update
    }

    /// Row changes (inserts and updates).
    pub fn row_changes(&self) -> usize {
        self.insert + self.update
    }

    /// Tuples carried by the changes (an update with an old key has two).
    pub fn tuples(&self) -> usize {
        self.insert + self.update + self.update_with_old_key
    }
}

/// A generated replication stream.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The XLogData frames (`w` + header + pgoutput message), in stream order.
    /// Each is a slice of one shared buffer.
    pub frames: Vec<Bytes>,
    /// What the stream holds.
    pub counts: MessageCounts,
    /// The relations, as announced by the stream's `Relation` messages.
    pub relations: Vec<Relation>,
    /// The spec it was built from.
    pub spec: CorpusSpec,
}

impl Corpus {
    /// Builds the corpus described by `spec`.
    pub fn build(spec: CorpusSpec) -> Corpus {
        Builder::new(spec).run()
    }

    /// The default corpus ([`CorpusSpec::default`]) in text format.
    pub fn text() -> Corpus {
        Corpus::build(CorpusSpec::default())
    }

    /// The default corpus in binary format.
    pub fn binary() -> Corpus {
        Corpus::build(CorpusSpec::with_format(WireFormat::Binary))
    }

    /// Total size of all frames in bytes (headers included).
    pub fn total_bytes(&self) -> usize {
        self.frames.iter().map(Bytes::len).sum()
    }

    /// Number of frames (= pgoutput messages).
    pub fn message_count(&self) -> usize {
        self.frames.len()
    }

    /// The pgoutput message carried by each frame (the frame minus its header).
    pub fn payloads(&self) -> impl Iterator<Item = Bytes> + '_ {
        self.frames
            .iter()
            .map(|f| f.slice(XLOGDATA_HEADER_LEN.min(f.len())..))
    }
}

/// The `orders` relation.
pub fn orders_relation() -> Relation {
    let col = |flags: u8, name: &str, type_oid: u32, type_modifier: i32| RelationColumn {
        flags,
        name: name.to_owned(),
        type_oid,
        type_modifier,
    };
    Relation {
        xid: None,
        oid: ORDERS_OID,
        namespace: "public".to_owned(),
        name: "orders".to_owned(),
        replica_identity: ReplicaIdentity::Default,
        columns: vec![
            col(1, "id", oid::INT4, -1),
            col(0, "customer_id", oid::INT8, -1),
            col(0, "customer_name", oid::TEXT, -1),
            // varchar(255): atttypmod is the length plus the 4-byte header.
            col(0, "email", oid::VARCHAR, 255 + 4),
            // numeric(12,2): ((precision << 16) | scale) + 4.
            col(0, "price", oid::NUMERIC, ((12 << 16) | 2) + 4),
            col(0, "paid", oid::BOOL, -1),
            col(0, "created_at", oid::TIMESTAMPTZ, -1),
            col(0, "ship_date", oid::DATE, -1),
            col(0, "order_uuid", oid::UUID, -1),
            col(0, "attributes", oid::JSONB, -1),
        ],
    }
}

/// The `documents` relation.
pub fn documents_relation() -> Relation {
    let col = |flags: u8, name: &str, type_oid: u32| RelationColumn {
        flags,
        name: name.to_owned(),
        type_oid,
        type_modifier: -1,
    };
    Relation {
        xid: None,
        oid: DOCUMENTS_OID,
        namespace: "public".to_owned(),
        name: "documents".to_owned(),
        replica_identity: ReplicaIdentity::Default,
        columns: vec![
            col(1, "id", oid::INT4),
            col(0, "title", oid::TEXT),
            col(0, "body", oid::TEXT),
        ],
    }
}

// ---------------------------------------------------------------------------
// Generation

/// SplitMix64: small, fast and good enough for fixture data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; slight modulo bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn percent(&mut self, p: u32) -> bool {
        self.below(100) < u64::from(p)
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        let i = usize::try_from(self.below(list.len() as u64)).unwrap_or(0);
        list.get(i).copied().unwrap_or_default()
    }
}

const FIRST_NAMES: &[&str] = &[
    "Alexandra",
    "Benjamin",
    "Chloé",
    "Dmitri",
    "Eleanor",
    "Francisco",
    "Grace",
    "Hiroshi",
    "Isabella",
    "Jonathan",
    "Katarzyna",
    "Leonardo",
    "Margaret",
    "Nathaniel",
    "Olivia",
    "Priyanka",
];
const LAST_NAMES: &[&str] = &[
    "Whitfield",
    "Okonkwo",
    "Müller",
    "Fernandes",
    "Kowalski",
    "Nakamura",
    "Thompson",
    "Rodriguez",
    "Vasquez",
    "Lindqvist",
    "Abernathy",
    "Castellano",
    "Gallagher",
    "Johansson",
    "Richardson",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "mail.example.org",
    "corp.example.net",
    "shop.example",
];
const TAGS: &[&str] = &["new", "promo", "gift", "bulk", "express", "returning"];
const WORDS: &[&str] = &[
    "replication",
    "stream",
    "the",
    "of",
    "logical",
    "change",
    "table",
    "row",
    "value",
    "and",
    "server",
    "commit",
    "transaction",
    "decoding",
    "slot",
    "publication",
    "a",
    "is",
    "to",
    "in",
];

/// Days from 1970-01-01 to the given proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// Days between 1970-01-01 and PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// `date` text output: `YYYY-MM-DD`.
fn format_date(pg_days: i32, out: &mut Vec<u8>) {
    let (y, m, d) = civil_from_days(i64::from(pg_days) + PG_EPOCH_DAYS);
    out.extend_from_slice(format!("{y:04}-{m:02}-{d:02}").as_bytes());
}

/// `timestamptz` text output in UTC: `YYYY-MM-DD HH:MM:SS[.ffffff]+00`,
/// fractional digits without trailing zeros, as PostgreSQL prints them.
fn format_timestamptz(pg_micros: i64, out: &mut Vec<u8>) {
    let days = pg_micros.div_euclid(MICROS_PER_DAY);
    let in_day = pg_micros.rem_euclid(MICROS_PER_DAY);
    let (y, mo, d) = civil_from_days(days + PG_EPOCH_DAYS);
    let secs = in_day / 1_000_000;
    let frac = in_day % 1_000_000;
    let mut s = format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        let digits = format!("{frac:06}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s.push_str("+00");
    out.extend_from_slice(s.as_bytes());
}

/// `uuid` text output: lowercase, hyphenated 8-4-4-4-12.
fn format_uuid(uuid: &[u8; 16], out: &mut Vec<u8>) {
    for (i, b) in uuid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.extend_from_slice(format!("{b:02x}").as_bytes());
    }
}

/// `numeric` binary send format for a non-negative value given in hundredths
/// with display scale 2: Int16 ndigits, Int16 weight, UInt16 sign, UInt16 dscale,
/// then ndigits base-10000 digits, most significant first, without leading or
/// trailing zero digits.
fn numeric_send_cents(cents: u64, out: &mut Vec<u8>) {
    let mut int_part = cents / 100;
    let frac = (cents % 100) * 100; // the first base-10000 digit after the point
    let mut int_digits = Vec::new();
    while int_part > 0 {
        int_digits.push((int_part % 10_000) as i16);
        int_part /= 10_000;
    }
    int_digits.reverse();
    let mut weight = int_digits.len() as i16 - 1;
    let mut digits = int_digits;
    digits.push(frac as i16);
    // Strip leading zero digits (each one lowers the weight) and trailing ones.
    while digits.first() == Some(&0) {
        digits.remove(0);
        weight -= 1;
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    out.put_i16(digits.len() as i16);
    out.put_i16(weight);
    out.put_u16(0x0000); // positive
    out.put_u16(2); // dscale
    for d in digits {
        out.put_i16(d);
    }
}

/// One generated `orders` row.
struct OrderRow {
    id: i32,
    customer_id: i64,
    customer_name: String,
    email: String,
    price_cents: u64,
    paid: bool,
    created_at: i64,
    ship_date: i32,
    order_uuid: [u8; 16],
    attributes: String,
}

impl OrderRow {
    fn generate(id: i32, rng: &mut Rng) -> OrderRow {
        let first = rng.pick(FIRST_NAMES);
        let last = rng.pick(LAST_NAMES);
        let customer_name = format!("{first} {last}");
        let email = format!(
            "{}.{}{}@{}",
            first.to_lowercase(),
            last.to_lowercase(),
            rng.below(1000),
            rng.pick(DOMAINS)
        );
        // 2024-05-01 00:00:00 UTC plus up to 30 days, microsecond precision.
        let base = (days_from_civil(2024, 5, 1) - PG_EPOCH_DAYS) * MICROS_PER_DAY;
        let offset = rng.below(30 * 86_400_000_000) as i64;
        // Most timestamps come from now(): full microseconds; some are whole seconds.
        let offset = if rng.percent(20) {
            offset - offset % 1_000_000
        } else {
            offset
        };
        let created_at = base + offset;
        let ship_date = (created_at.div_euclid(MICROS_PER_DAY) + 2 + rng.below(10) as i64) as i32;
        let random = (u128::from(rng.next()) << 64) | u128::from(rng.next());
        // Version 4 (high nibble of byte 6) and the RFC 4122 variant (top bits of byte 8).
        let random = (random & !(0xF << 76)) | (0x4 << 76);
        let random = (random & !(0x3 << 62)) | (0x2 << 62);
        let order_uuid = random.to_be_bytes();
        // jsonb output: ", " and ": " separators, keys ordered by length then bytes.
        let attributes = format!(
            r#"{{"qty": {}, "sku": "SKU-{:05}", "gift": {}, "tags": ["{}", "{}"]}}"#,
            1 + rng.below(12),
            rng.below(100_000),
            rng.percent(10),
            rng.pick(TAGS),
            rng.pick(TAGS)
        );
        OrderRow {
            id,
            customer_id: 1_000_000_000 + rng.below(9_000_000_000) as i64,
            customer_name,
            email,
            price_cents: 99 + rng.below(250_000),
            paid: rng.percent(70),
            created_at,
            ship_date,
            order_uuid,
            attributes,
        }
    }

    /// The row's column values encoded in `format`, one buffer per column.
    fn encode(&self, format: WireFormat) -> Vec<Vec<u8>> {
        match format {
            WireFormat::Text => {
                let mut created_at = Vec::new();
                format_timestamptz(self.created_at, &mut created_at);
                let mut ship_date = Vec::new();
                format_date(self.ship_date, &mut ship_date);
                let mut uuid = Vec::new();
                format_uuid(&self.order_uuid, &mut uuid);
                vec![
                    self.id.to_string().into_bytes(),
                    self.customer_id.to_string().into_bytes(),
                    self.customer_name.clone().into_bytes(),
                    self.email.clone().into_bytes(),
                    format!("{}.{:02}", self.price_cents / 100, self.price_cents % 100)
                        .into_bytes(),
                    if self.paid {
                        b"t".to_vec()
                    } else {
                        b"f".to_vec()
                    },
                    created_at,
                    ship_date,
                    uuid,
                    self.attributes.clone().into_bytes(),
                ]
            }
            WireFormat::Binary => {
                let mut price = Vec::new();
                numeric_send_cents(self.price_cents, &mut price);
                let mut jsonb = vec![1u8]; // jsonb binary format version
                jsonb.extend_from_slice(self.attributes.as_bytes());
                vec![
                    self.id.to_be_bytes().to_vec(),
                    self.customer_id.to_be_bytes().to_vec(),
                    self.customer_name.clone().into_bytes(),
                    self.email.clone().into_bytes(),
                    price,
                    vec![u8::from(self.paid)],
                    self.created_at.to_be_bytes().to_vec(),
                    self.ship_date.to_be_bytes().to_vec(),
                    self.order_uuid.to_vec(),
                    jsonb,
                ]
            }
        }
    }
}

fn int4_value(v: i32, format: WireFormat) -> Vec<u8> {
    match format {
        WireFormat::Text => v.to_string().into_bytes(),
        WireFormat::Binary => v.to_be_bytes().to_vec(),
    }
}

fn tuple(values: &[Vec<u8>], format: WireFormat) -> TupleData {
    let columns: Vec<Column<'_>> = values
        .iter()
        .map(|v| match format {
            WireFormat::Text => Column::Text(v),
            WireFormat::Binary => Column::Binary(v),
        })
        .collect();
    TupleData::from_columns(&columns)
}

/// The old-key tuple of an update that changed the key: the key column's
/// value, every other column null (that is how pgoutput sends a `K` tuple).
fn key_tuple(id: i32, ncols: usize, format: WireFormat) -> TupleData {
    let key = int4_value(id, format);
    let mut columns = vec![Column::Null; ncols];
    if let Some(first) = columns.first_mut() {
        *first = match format {
            WireFormat::Text => Column::Text(&key),
            WireFormat::Binary => Column::Binary(&key),
        };
    }
    TupleData::from_columns(&columns)
}

fn big_text(len: usize, rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        if !out.is_empty() {
            out.push(if rng.percent(8) { b'\n' } else { b' ' });
        }
        out.extend_from_slice(rng.pick(WORDS).as_bytes());
    }
    out.truncate(len);
    out
}

struct Builder {
    spec: CorpusSpec,
    rng: Rng,
    buf: BytesMut,
    /// End offset of each frame in `buf`.
    ends: Vec<usize>,
    counts: MessageCounts,
    lsn: u64,
    commit_time: i64,
    xid: u32,
    next_order_id: i32,
    next_document_id: i32,
    orders_announced: bool,
    documents_announced: bool,
}

impl Builder {
    fn new(spec: CorpusSpec) -> Builder {
        Builder {
            spec,
            rng: Rng(0x7469_6465_7761_7465), // "tidewate"
            buf: BytesMut::new(),
            ends: Vec::new(),
            counts: MessageCounts::default(),
            lsn: 0x0000_0001_6B37_4D48,
            commit_time: (days_from_civil(2024, 5, 1) - PG_EPOCH_DAYS) * MICROS_PER_DAY
                + 12 * 3_600_000_000,
            xid: 748_112,
            next_order_id: 1,
            next_document_id: 1,
            orders_announced: false,
            documents_announced: false,
        }
    }

    /// Appends one XLogData frame. As the walsender does, WAL start and WAL
    /// end both carry the message's LSN.
    fn frame(&mut self, lsn: u64, message: &Message) {
        self.buf.put_u8(b'w');
        self.buf.put_u64(lsn);
        self.buf.put_u64(lsn);
        self.buf.put_i64(self.commit_time + 1_500);
        message.encode(&mut self.buf);
        self.ends.push(self.buf.len());
    }

    fn run(mut self) -> Corpus {
        let spec = self.spec;
        let mean = spec.mean_changes_per_transaction.max(1) as u64;
        let mut done = 0usize;
        while done < spec.row_changes {
            let size = (1 + self.rng.below(2 * mean - 1)) as usize;
            let size = size.min(spec.row_changes - done);
            self.transaction(done, size);
            done += size;
        }
        let buf = self.buf.freeze();
        let mut start = 0;
        let frames = self
            .ends
            .iter()
            .map(|&end| {
                let frame = buf.slice(start..end);
                start = end;
                frame
            })
            .collect();
        Corpus {
            frames,
            counts: self.counts,
            relations: vec![orders_relation(), documents_relation()],
            spec,
        }
    }

    /// One transaction of `size` row changes, the first being the stream's
    /// change number `first`.
    fn transaction(&mut self, first: usize, size: usize) {
        let format = self.spec.format;
        // Generate the changes first: Begin carries the commit LSN.
        let mut messages = Vec::with_capacity(size + 2);
        for n in first..first + size {
            let big = self.spec.big_row_every != 0
                && n % self.spec.big_row_every == self.spec.big_row_every - 1;
            if big {
                if !self.documents_announced {
                    self.documents_announced = true;
                    self.counts.relation += 1;
                    messages.push(Message::Relation(documents_relation()));
                }
                let id = self.next_document_id;
                self.next_document_id += 1;
                let title = format!("Design notes #{id}: {}", self.rng.pick(WORDS));
                let body = big_text(self.spec.big_text_len, &mut self.rng);
                let values = vec![int4_value(id, format), title.into_bytes(), body];
                self.counts.insert += 1;
                self.counts.big_rows += 1;
                messages.push(Message::Insert(Insert {
                    xid: None,
                    relation_oid: DOCUMENTS_OID,
                    new: tuple(&values, format),
                }));
                continue;
            }
            if !self.orders_announced {
                self.orders_announced = true;
                self.counts.relation += 1;
                messages.push(Message::Relation(orders_relation()));
            }
            let existing = self.next_order_id - 1;
            if existing > 0 && self.rng.percent(self.spec.update_percent) {
                let old_id = 1 + self.rng.below(existing as u64) as i32;
                let key_change = self.rng.percent(self.spec.key_change_percent);
                let (id, old) = if key_change {
                    let id = self.next_order_id;
                    self.next_order_id += 1;
                    self.counts.update_with_old_key += 1;
                    (id, Some(OldTuple::Key(key_tuple(old_id, 10, format))))
                } else {
                    (old_id, None)
                };
                let row = OrderRow::generate(id, &mut self.rng);
                self.counts.update += 1;
                messages.push(Message::Update(Update {
                    xid: None,
                    relation_oid: ORDERS_OID,
                    old,
                    new: tuple(&row.encode(format), format),
                }));
            } else {
                let id = self.next_order_id;
                self.next_order_id += 1;
                let row = OrderRow::generate(id, &mut self.rng);
                self.counts.insert += 1;
                messages.push(Message::Insert(Insert {
                    xid: None,
                    relation_oid: ORDERS_OID,
                    new: tuple(&row.encode(format), format),
                }));
            }
        }

        // WAL positions: each change's record takes its size plus a 24-byte
        // record header, aligned to 8 bytes.
        let first_lsn = self.lsn;
        let mut lsns = Vec::with_capacity(messages.len());
        let mut lsn = first_lsn;
        for m in &messages {
            lsns.push(lsn);
            let size = m.to_bytes().len() as u64 + 24;
            lsn += size.div_ceil(8) * 8;
        }
        let commit_lsn = lsn;
        let end_lsn = commit_lsn + 0x38;
        self.lsn = end_lsn + 0x18;
        self.commit_time += 20_000 + self.rng.below(200_000) as i64;

        self.counts.begin += 1;
        self.frame(
            first_lsn,
            &Message::Begin(Begin {
                final_lsn: Lsn(commit_lsn),
                commit_time: self.commit_time,
                xid: self.xid,
            }),
        );
        for (m, lsn) in messages.iter().zip(lsns) {
            self.frame(lsn, m);
        }
        self.counts.commit += 1;
        self.frame(
            commit_lsn,
            &Message::Commit(Commit {
                flags: 0,
                commit_lsn: Lsn(commit_lsn),
                end_lsn: Lsn(end_lsn),
                commit_time: self.commit_time,
            }),
        );
        self.xid += 1 + self.rng.below(3) as u32;
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_print_like_postgres() {
        let mut s = Vec::new();
        format_date(0, &mut s);
        assert_eq!(s, b"2000-01-01");
        let day = days_from_civil(2024, 5, 1) - PG_EPOCH_DAYS;
        let mut s = Vec::new();
        format_timestamptz(day * MICROS_PER_DAY + 45_296_123_456, &mut s);
        assert_eq!(String::from_utf8_lossy(&s), "2024-05-01 12:34:56.123456+00");
        let mut s = Vec::new();
        format_timestamptz(day * MICROS_PER_DAY + 45_296_500_000, &mut s);
        assert_eq!(String::from_utf8_lossy(&s), "2024-05-01 12:34:56.5+00");
        let mut s = Vec::new();
        format_timestamptz(-1, &mut s);
        assert_eq!(String::from_utf8_lossy(&s), "1999-12-31 23:59:59.999999+00");
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

    #[test]
    fn numeric_send_format() {
        let enc = |cents| {
            let mut v = Vec::new();
            numeric_send_cents(cents, &mut v);
            v
        };
        // 1234.50: digits [1234, 5000], weight 0.
        assert_eq!(
            enc(123_450),
            [0, 2, 0, 0, 0, 0, 0, 2, 0x04, 0xD2, 0x13, 0x88]
        );
        // 0.99: digits [9900], weight -1.
        assert_eq!(enc(99), [0, 1, 0xFF, 0xFF, 0, 0, 0, 2, 0x26, 0xAC]);
        // 20000.00: digits [2], weight 1 (trailing zero digits dropped).
        assert_eq!(enc(2_000_000), [0, 1, 0, 1, 0, 0, 0, 2, 0, 2]);
        // 0.00: no digits.
        assert_eq!(enc(0), [0, 0, 0, 0, 0, 0, 0, 2]);
    }
}
