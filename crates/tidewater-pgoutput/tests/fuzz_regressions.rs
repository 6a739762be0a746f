//! Replays the inputs kept under `fuzz/regressions/<target>/` (crashes found by
//! fuzzing, and hand-made hostile inputs) through the same checks as the fuzz
//! targets, so every one stays fixed in ordinary `cargo test` runs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::path::PathBuf;

use bytes::Bytes;
use tidewater_pgoutput::value::{self, Format};
use tidewater_pgoutput::{Message, NoTypes, ReplicationFrame};

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no regression inputs in {}", dir.display());
    out
}

#[test]
fn message_inputs() {
    for (name, data) in inputs("decode_message") {
        let bytes = Bytes::from(data);
        for in_stream in [false, true] {
            if let Ok(msg) = Message::decode(&bytes, in_stream) {
                assert_eq!(msg.to_bytes(), bytes, "{name}");
            }
        }
        let _ = ReplicationFrame::decode(&bytes);
        // The hostile inputs here all claim more than they carry.
        assert!(
            Message::decode(&bytes, false).is_err(),
            "{name} should be rejected"
        );
    }
}

#[test]
fn value_inputs() {
    let oids: Vec<u32> = value::oid::all().collect();
    for (name, data) in inputs("decode_value") {
        let Some((&selector, raw)) = data.split_first() else {
            continue;
        };
        let oid = oids[usize::from(selector) % oids.len()];
        let _ = value::decode(Format::Text, oid, -1, raw, &NoTypes);
        let binary = value::decode(Format::Binary, oid, -1, raw, &NoTypes);
        // The hostile inputs here all claim more than they carry.
        let err = binary.expect_err(&name);
        eprintln!("{name}: {err}");
    }
}
