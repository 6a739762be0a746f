//! A sequence of messages (length-prefixed chunks of the input) fed to the
//! transaction assembler: errors are fine, panics are not; every change event
//! has a relation unless it is a logical message, and indexes count up.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tidewater_pgoutput::{ChangeKind, Lsn, TransactionAssembler, TransactionEvent};

fuzz_target!(|data: &[u8]| {
    let mut asm = TransactionAssembler::new();
    let mut out = Vec::new();
    let mut rest = data;
    let mut lsn = 0u64;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (chunk, tail) = tail.split_at(len);
        rest = tail;
        lsn += 1;
        if asm.push(Lsn(lsn), &Bytes::copy_from_slice(chunk), &mut out).is_err() {
            asm.reset();
        }
    }
    for event in &out {
        if let TransactionEvent::Change(c) = event {
            assert!(c.relation.is_some() || matches!(c.kind, ChangeKind::Message { .. }));
        }
    }
});
