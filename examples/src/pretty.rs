//! [`PrettySink`]: prints every record as an indented JSON document, the way the
//! quickstart shows change events.
//!
//! Keys and values are re-indented as they were written ([`indent`] only adds
//! whitespace), so fields keep the order the converter gave them — Debezium's
//! `before`, `after`, `source`, `op`, … — rather than the alphabetical order a
//! round trip through `serde_json::Value` would give.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;

use tidewater::kafka::{Delivery, ProducerRecord, Sink, SinkError};

/// Re-indents compact JSON text with two spaces per level, `": "` after keys
/// and one member per line; empty objects and arrays stay `{}` and `[]`.
/// Strings are copied as they are; whitespace outside strings is replaced.
/// The result parses to the same value as the input (for valid JSON).
pub fn indent(json: &str, level: usize) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 2);
    let mut depth = level;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = json.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // Skip whitespace to see whether the container is empty.
                while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                    chars.next();
                }
                let close = if c == '{' { '}' } else { ']' };
                if chars.peek() == Some(&close) {
                    chars.next();
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// Bytes as a JSON document: the bytes themselves when they are JSON (the
/// usual case: JSON converters), a JSON string of their text otherwise, `null`
/// for none.
fn as_json(bytes: Option<&[u8]>, level: usize) -> String {
    let Some(bytes) = bytes else {
        return "null".to_owned();
    };
    match std::str::from_utf8(bytes) {
        Ok(text) if serde_json::from_str::<serde_json::Value>(text).is_ok() => indent(text, level),
        _ => serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()).to_string(),
    }
}

/// Renders one record as an indented JSON document:
/// `{"topic", "partition", "offset", "headers", "key", "value"}`.
pub fn render(record: &ProducerRecord, partition: i32, offset: i64) -> String {
    // Headers in their order (a `serde_json::Map` would sort them).
    let headers: Vec<String> = record
        .headers
        .iter()
        .map(|h| {
            let value = h.value.as_deref().map_or(serde_json::Value::Null, |v| {
                serde_json::Value::String(String::from_utf8_lossy(v).into_owned())
            });
            format!("{}: {value}", serde_json::Value::String(h.key.clone()))
        })
        .collect();
    let topic = serde_json::Value::String(record.topic.to_string());
    format!(
        "{{\n  \"topic\": {topic},\n  \"partition\": {partition},\n  \"offset\": {offset},\n  \
         \"headers\": {{{}}},\n  \"key\": {},\n  \"value\": {}\n}}\n",
        headers.join(", "),
        as_json(record.key.as_deref(), 1),
        as_json(record.value.as_deref(), 1),
    )
}

/// A [`Sink`] printing each record with [`render`] to a writer (standard output
/// by default). Every record is written and flushed before `send` returns,
/// so it is delivered at once; offsets count from 0 per topic (one partition).
pub struct PrettySink<W = io::Stdout> {
    out: W,
    offsets: HashMap<Arc<str>, i64>,
    delivered: Vec<Delivery>,
}

impl PrettySink {
    /// Prints to standard output.
    pub fn stdout() -> Self {
        PrettySink::new(io::stdout())
    }
}

impl<W: Write + Send> PrettySink<W> {
    /// Prints to `out`.
    pub fn new(out: W) -> Self {
        PrettySink {
            out,
            offsets: HashMap::new(),
            delivered: Vec::new(),
        }
    }

    fn write(&mut self, records: &[ProducerRecord]) -> io::Result<()> {
        for record in records {
            let next = self.offsets.entry(Arc::clone(&record.topic)).or_insert(0);
            let offset = *next;
            *next += 1;
            let partition = record.partition.unwrap_or(0);
            self.out
                .write_all(render(record, partition, offset).as_bytes())?;
            self.delivered.push(Delivery {
                topic: Arc::clone(&record.topic),
                partition,
                offset,
            });
        }
        self.out.flush()
    }
}

impl<W: Write + Send> Sink for PrettySink<W> {
    async fn send(&mut self, records: Vec<ProducerRecord>) -> tidewater::kafka::Result<()> {
        self.write(&records).map_err(|source| SinkError::Io {
            target: "the pretty printer's output".to_owned(),
            source,
        })
    }

    fn acknowledged(&mut self) -> Vec<Delivery> {
        std::mem::take(&mut self.delivered)
    }

    async fn flush(&mut self) -> tidewater::kafka::Result<Vec<Delivery>> {
        Ok(std::mem::take(&mut self.delivered))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    #[test]
    fn indents_objects_arrays_and_keeps_strings() {
        let text = r#"{"before":null,"after":{"id":1,"tags":["a, b",{}],"note":"{ \"x\": [1] }"},"empty":[]}"#;
        assert_eq!(
            indent(text, 0),
            "{\n  \"before\": null,\n  \"after\": {\n    \"id\": 1,\n    \"tags\": [\n      \"a, b\",\n      {}\n    ],\n    \"note\": \"{ \\\"x\\\": [1] }\"\n  },\n  \"empty\": []\n}"
        );
    }

    #[test]
    fn renders_records_in_field_order_and_non_json_as_strings() {
        let record = ProducerRecord::new("shop.public.orders")
            .key(&b"{\"id\":1}"[..])
            .value(&b"not json"[..])
            .header("tidewater.position", &b"123/0"[..]);
        let text = render(&record, 0, 7);
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["topic"], "shop.public.orders");
        assert_eq!(doc["offset"], 7);
        assert_eq!(doc["key"]["id"], 1);
        assert_eq!(doc["value"], "not json");
        assert_eq!(doc["headers"]["tidewater.position"], "123/0");
        let tombstone = render(&ProducerRecord::new("t"), 0, 0);
        let doc: Value = serde_json::from_str(&tombstone).unwrap();
        assert!(doc["value"].is_null() && doc["key"].is_null());
    }

    #[test]
    fn the_sink_delivers_every_record_in_order() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut sink = PrettySink::new(Vec::new());
        rt.block_on(sink.send(vec![
            ProducerRecord::new("a").value(&b"1"[..]),
            ProducerRecord::new("b").value(&b"2"[..]),
            ProducerRecord::new("a").value(&b"3"[..]),
        ]))
        .unwrap();
        let delivered: Vec<(String, i64)> = sink
            .acknowledged()
            .into_iter()
            .map(|d| (d.topic.to_string(), d.offset))
            .collect();
        assert_eq!(
            delivered,
            [("a".into(), 0), ("b".into(), 0), ("a".into(), 1)]
        );
        let docs: Vec<Value> = serde_json::Deserializer::from_slice(&sink.out)
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[2]["value"], 3);
        assert!(rt.block_on(sink.flush()).unwrap().is_empty());
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[ -~\\\\\"{}\\[\\],:é\n\t]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-z{}\\[\\]:, \"]{0,6}", inner), 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Indenting changes whitespace only: the text parses to the same value, and
        /// without whitespace outside strings it is the compact input again.
        #[test]
        fn indenting_keeps_the_value(value in json_value(), level in 0usize..3) {
            let compact = value.to_string();
            let indented = indent(&compact, level);
            let parsed: Value = serde_json::from_str(&indented).unwrap();
            prop_assert_eq!(&parsed, &value);
            prop_assert_eq!(indent(&indented, level), indented.clone());
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            if level == 0 {
                prop_assert_eq!(indent(&pretty, 0), indented);
            }
        }
    }
}
