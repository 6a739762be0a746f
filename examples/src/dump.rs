//! Renders pgoutput messages as one JSON object each, as `pgoutput_dump` prints them.
//!
//! `"type"` is the message name (`Begin`, `Insert`, `StreamAbort`, ...); the other
//! fields are the message's fields in snake_case; LSNs are `X/Y` strings and
//! timestamps are PostgreSQL microseconds (since 2000-01-01 UTC) as numbers.
//! Tuple columns carry their name and type OID (from the last `Relation`
//! message for the table), their kind (`null`, `unchanged_toast`, `text`,
//! `binary`) and the decoded value.

use std::io::{BufRead, Write};

use bytes::Bytes;
use serde_json::{Map, Value, json};
use tidewater_pgoutput::{
    Column, Decoder, Lsn, Message, OldTuple, Relation, RelationCache, TupleData,
    value::{self, Format, PgValue},
};

/// Decodes a stream of pgoutput messages into JSON, tracking relations and streams.
#[derive(Debug, Default)]
pub struct Dumper {
    decoder: Decoder,
    relations: RelationCache,
}

impl Dumper {
    /// A dumper that has seen no messages.
    pub fn new() -> Self {
        Dumper::default()
    }

    /// Decodes one message and renders it; the capture's position and xid are added
    /// as `wal_lsn` and `wal_xid` when given.
    pub fn dump(
        &mut self,
        lsn: Option<Lsn>,
        xid: Option<u32>,
        data: &Bytes,
    ) -> Result<Value, String> {
        let message = self.decoder.decode(data).map_err(|e| e.to_string())?;
        self.relations.apply(&message);
        let mut obj = Map::new();
        obj.insert("type".into(), json!(message.name()));
        if let Some(lsn) = lsn {
            obj.insert("wal_lsn".into(), json!(lsn.to_string()));
        }
        if let Some(xid) = xid {
            obj.insert("wal_xid".into(), json!(xid));
        }
        self.fields(&message, &mut obj)?;
        Ok(Value::Object(obj))
    }

    fn fields(&self, message: &Message, o: &mut Map<String, Value>) -> Result<(), String> {
        let mut put = |k: &str, v: Value| {
            o.insert(k.to_owned(), v);
        };
        let lsn = |l: Lsn| json!(l.to_string());
        match message {
            Message::Begin(m) => {
                put("final_lsn", lsn(m.final_lsn));
                put("commit_time", json!(m.commit_time));
                put("xid", json!(m.xid));
            }
            Message::Commit(m) => {
                put("flags", json!(m.flags));
                put("commit_lsn", lsn(m.commit_lsn));
                put("end_lsn", lsn(m.end_lsn));
                put("commit_time", json!(m.commit_time));
            }
            Message::Origin(m) => {
                put("commit_lsn", lsn(m.commit_lsn));
                put("name", json!(m.name));
            }
            Message::Relation(m) => {
                put_xid(&mut put, m.xid);
                put("oid", json!(m.oid));
                put("namespace", json!(m.namespace));
                put("name", json!(m.name));
                put(
                    "replica_identity",
                    json!(char::from(m.replica_identity.to_byte()).to_string()),
                );
                let cols: Vec<Value> = m
                    .columns
                    .iter()
                    .map(|c| {
                        json!({"flags": c.flags, "name": c.name, "type_oid": c.type_oid, "type_modifier": c.type_modifier})
                    })
                    .collect();
                put("columns", Value::Array(cols));
            }
            Message::Type(m) => {
                put_xid(&mut put, m.xid);
                put("oid", json!(m.oid));
                put("namespace", json!(m.namespace));
                put("name", json!(m.name));
            }
            Message::Insert(m) => {
                put_xid(&mut put, m.xid);
                put("relation_oid", json!(m.relation_oid));
                let rel = self.relations.relation(m.relation_oid).map(|r| &**r);
                put("new", self.tuple(rel, &m.new)?);
            }
            Message::Update(m) => {
                put_xid(&mut put, m.xid);
                put("relation_oid", json!(m.relation_oid));
                let rel = self.relations.relation(m.relation_oid).map(|r| &**r);
                if let Some(old) = &m.old {
                    let (k, t) = old_key(old);
                    put(k, self.tuple(rel, t)?);
                }
                put("new", self.tuple(rel, &m.new)?);
            }
            Message::Delete(m) => {
                put_xid(&mut put, m.xid);
                put("relation_oid", json!(m.relation_oid));
                let rel = self.relations.relation(m.relation_oid).map(|r| &**r);
                let (k, t) = old_key(&m.old);
                put(k, self.tuple(rel, t)?);
            }
            Message::Truncate(m) => {
                put_xid(&mut put, m.xid);
                put("options", json!(m.options));
                put("cascade", json!(m.cascade()));
                put("restart_identity", json!(m.restart_identity()));
                put("relation_oids", json!(m.relation_oids));
            }
            Message::Message(m) => {
                put_xid(&mut put, m.xid);
                put("flags", json!(m.flags));
                put("transactional", json!(m.transactional()));
                put("lsn", lsn(m.lsn));
                put("prefix", json!(m.prefix));
                match std::str::from_utf8(&m.content) {
                    Ok(s) => put("content", json!(s)),
                    Err(_) => put("content_hex", json!(hex(&m.content))),
                }
            }
            Message::StreamStart(m) => {
                put("xid", json!(m.xid));
                put("first_segment", json!(m.first_segment));
            }
            Message::StreamStop => {}
            Message::StreamCommit(m) => {
                put("xid", json!(m.xid));
                put("flags", json!(m.flags));
                put("commit_lsn", lsn(m.commit_lsn));
                put("end_lsn", lsn(m.end_lsn));
                put("commit_time", json!(m.commit_time));
            }
            Message::StreamAbort(m) => {
                put("xid", json!(m.xid));
                put("subxid", json!(m.subxid));
                if let Some(a) = m.abort {
                    put("abort_lsn", lsn(a.abort_lsn));
                    put("abort_time", json!(a.abort_time));
                }
            }
            Message::BeginPrepare(m) => {
                put("prepare_lsn", lsn(m.prepare_lsn));
                put("end_lsn", lsn(m.end_lsn));
                put("prepare_time", json!(m.prepare_time));
                put("xid", json!(m.xid));
                put("gid", json!(m.gid));
            }
            Message::Prepare(m) | Message::StreamPrepare(m) => {
                put("flags", json!(m.flags));
                put("prepare_lsn", lsn(m.prepare_lsn));
                put("end_lsn", lsn(m.end_lsn));
                put("prepare_time", json!(m.prepare_time));
                put("xid", json!(m.xid));
                put("gid", json!(m.gid));
            }
            Message::CommitPrepared(m) => {
                put("flags", json!(m.flags));
                put("commit_lsn", lsn(m.commit_lsn));
                put("end_lsn", lsn(m.end_lsn));
                put("commit_time", json!(m.commit_time));
                put("xid", json!(m.xid));
                put("gid", json!(m.gid));
            }
            Message::RollbackPrepared(m) => {
                put("flags", json!(m.flags));
                put("prepare_end_lsn", lsn(m.prepare_end_lsn));
                put("rollback_end_lsn", lsn(m.rollback_end_lsn));
                put("prepare_time", json!(m.prepare_time));
                put("rollback_time", json!(m.rollback_time));
                put("xid", json!(m.xid));
                put("gid", json!(m.gid));
            }
            _ => {
                return Err(format!(
                    "{} is not rendered by this version",
                    message.name()
                ));
            }
        }
        Ok(())
    }

    fn tuple(&self, relation: Option<&Relation>, tuple: &TupleData) -> Result<Value, String> {
        let mut cols = Vec::with_capacity(tuple.len());
        for (i, column) in tuple.iter().enumerate() {
            let meta = relation.and_then(|r| r.columns.get(i));
            let mut obj = Map::new();
            obj.insert("name".into(), meta.map_or(Value::Null, |m| json!(m.name)));
            obj.insert(
                "type_oid".into(),
                meta.map_or(Value::Null, |m| json!(m.type_oid)),
            );
            let (kind, format) = match column {
                Column::Null => ("null", None),
                Column::UnchangedToast => ("unchanged_toast", None),
                Column::Text(_) => ("text", Some(Format::Text)),
                Column::Binary(_) => ("binary", Some(Format::Binary)),
                _ => ("unknown", None),
            };
            obj.insert("kind".into(), json!(kind));
            if let (Some(format), Some(raw)) = (format, column.data()) {
                let value = match meta {
                    Some(m) => {
                        value::decode(format, m.type_oid, m.type_modifier, raw, &self.relations)
                            .map(|v| value_json(&v))
                            .map_err(|e| format!("column {i} ({}): {e}", m.name))?
                    }
                    // Without a Relation message the type is unknown: show the raw bytes.
                    None => raw_json(format, raw),
                };
                obj.insert("value".into(), value);
            }
            cols.push(Value::Object(obj));
        }
        Ok(Value::Array(cols))
    }
}

fn put_xid(put: &mut impl FnMut(&str, Value), xid: Option<u32>) {
    if let Some(xid) = xid {
        put("xid", json!(xid));
    }
}

fn old_key(old: &OldTuple) -> (&'static str, &TupleData) {
    match old {
        OldTuple::Key(t) => ("old_key", t),
        OldTuple::Full(t) => ("old", t),
        _ => ("old", old.tuple()),
    }
}

fn raw_json(format: Format, raw: &[u8]) -> Value {
    match (format, std::str::from_utf8(raw)) {
        (Format::Text, Ok(s)) => json!(s),
        _ => json!(hex(raw)),
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    let digit = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('?');
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(digit(b >> 4));
        s.push(digit(b & 15));
    }
    s
}

/// Parses hex (upper or lower case) into bytes.
pub fn unhex(s: &str) -> Result<Vec<u8>, String> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return Err(format!("hex has an odd number of digits ({})", s.len()));
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(format!("{:?} is not a hex digit", char::from(c))),
    };
    s.chunks_exact(2)
        .map(|p| match p {
            [hi, lo] => Ok((digit(*hi)? << 4) | digit(*lo)?),
            _ => Err("hex pair expected".to_owned()),
        })
        .collect()
}

/// Renders a decoded value as JSON: booleans and integers as JSON numbers,
/// finite floats as numbers (NaN and infinities as strings), arrays as nested
/// JSON arrays, and every other value as PostgreSQL's canonical text for it
/// (numeric stays a string so no digit is lost).
pub fn value_json(v: &PgValue<'_>) -> Value {
    match v {
        PgValue::Null => Value::Null,
        PgValue::Bool(b) => json!(b),
        PgValue::Int2(i) => json!(i),
        PgValue::Int4(i) => json!(i),
        PgValue::Int8(i) => json!(i),
        PgValue::Oid(i) => json!(i),
        PgValue::Float4(f) if f.is_finite() => json!(f),
        PgValue::Float8(f) if f.is_finite() => json!(f),
        PgValue::Array(a) => {
            let dims: Vec<usize> = a.dimensions().iter().map(|d| d.len as usize).collect();
            let mut elements = a.elements().iter().map(value_json);
            nest(&dims, &mut elements)
        }
        other => {
            let mut text = Vec::new();
            value::encode_text(other, &mut text);
            match String::from_utf8(text) {
                Ok(s) => json!(s),
                Err(e) => json!(hex(e.as_bytes())),
            }
        }
    }
}

fn nest(dims: &[usize], elements: &mut impl Iterator<Item = Value>) -> Value {
    match dims.split_first() {
        None => Value::Array(Vec::new()),
        Some((&n, [])) => Value::Array(elements.take(n).collect()),
        Some((&n, rest)) => Value::Array((0..n).map(|_| nest(rest, elements)).collect()),
    }
}

/// Parses one input line `<lsn> <xid> <hex>` (the hex may start with `\\x`).
pub fn parse_line(line: &str) -> Result<(Lsn, u32, Bytes), String> {
    let mut parts = line.split_whitespace();
    let lsn = parts.next().ok_or("empty line")?;
    let lsn: Lsn = lsn.parse().map_err(|e| format!("{e}"))?;
    let xid = parts.next().ok_or("missing xid")?;
    let xid: u32 = xid
        .parse()
        .map_err(|_| format!("xid {xid:?} is not a number"))?;
    let hex = parts.next().ok_or("missing message hex")?;
    if parts.next().is_some() {
        return Err("more than three fields".into());
    }
    let hex = hex.strip_prefix("\\x").unwrap_or(hex);
    Ok((lsn, xid, Bytes::from(unhex(hex)?)))
}

/// Reads `<lsn> <xid> <hex>` lines from `input` and writes one JSON object per
/// message to `out`. A malformed line is reported on `err` as `line N: reason`
/// and skipped. Returns whether every line was good.
pub fn run(
    input: impl BufRead,
    out: &mut impl Write,
    err: &mut impl Write,
) -> std::io::Result<bool> {
    let mut dumper = Dumper::new();
    let mut all_good = true;
    for (i, line) in input.lines().enumerate() {
        let n = i + 1;
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(&line)
            .and_then(|(lsn, xid, data)| dumper.dump(Some(lsn), Some(xid), &data))
        {
            Ok(json) => writeln!(out, "{json}")?,
            Err(reason) => {
                writeln!(err, "line {n}: {reason}")?;
                all_good = false;
            }
        }
    }
    Ok(all_good)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use super::*;
    use tidewater_pgoutput::{
        Begin, Column, Insert, Relation, RelationColumn, ReplicaIdentity, TupleData,
    };

    fn line(lsn: &str, msg: &Message) -> String {
        format!("{lsn} 740 {}", hex(&msg.to_bytes()))
    }

    #[test]
    fn prints_good_lines_and_reports_bad_ones_by_number() {
        let rel = Message::Relation(Relation {
            xid: None,
            oid: 9,
            namespace: "public".into(),
            name: "t".into(),
            replica_identity: ReplicaIdentity::Default,
            columns: vec![RelationColumn {
                flags: 1,
                name: "id".into(),
                type_oid: 23,
                type_modifier: -1,
            }],
        });
        let ins = Message::Insert(Insert {
            xid: None,
            relation_oid: 9,
            new: TupleData::from_columns(&[Column::Text(b"42")]),
        });
        let input = [
            line(
                "0/10",
                &Message::Begin(Begin {
                    final_lsn: Lsn(0x20),
                    commit_time: 5,
                    xid: 740,
                }),
            ),
            "0/11 740 zz".to_owned(),
            line("0/12", &rel),
            String::new(),
            line("0/13", &ins),
            "nonsense".to_owned(),
            "0/14 740 49".to_owned(),
        ]
        .join("\n");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let ok = run(input.as_bytes(), &mut out, &mut err).unwrap();
        assert!(!ok);
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["type"], "Begin");
        assert_eq!(lines[0]["final_lsn"], "0/20");
        assert_eq!(lines[0]["wal_lsn"], "0/10");
        assert_eq!(lines[1]["columns"][0]["name"], "id");
        assert_eq!(lines[2]["type"], "Insert");
        assert_eq!(
            lines[2]["new"][0],
            serde_json::json!({"name": "id", "type_oid": 23, "kind": "text", "value": 42})
        );
        let err = String::from_utf8(err).unwrap();
        let errs: Vec<&str> = err.lines().collect();
        assert_eq!(errs.len(), 3, "{err}");
        assert!(errs[0].starts_with("line 2: "), "{err}");
        assert!(errs[1].starts_with("line 6: invalid LSN"), "{err}");
        assert!(errs[2].starts_with("line 7: Insert"), "{err}");
    }

    #[test]
    fn hex_round_trip_and_errors() {
        assert_eq!(
            unhex(&hex(&[0, 1, 0xab, 0xff])).unwrap(),
            [0, 1, 0xab, 0xff]
        );
        assert!(unhex("abc").is_err());
        assert!(unhex("0g").is_err());
        assert_eq!(parse_line("0/1 2 \\x4500").unwrap().2.as_ref(), &[0x45, 0]);
    }
}
