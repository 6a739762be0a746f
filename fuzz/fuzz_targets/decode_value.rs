//! Any bytes decoded as a value of any built-in type, text and binary: an
//! error or a value, never a panic or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidewater_pgoutput::NoTypes;
use tidewater_pgoutput::value::{self, Format};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, raw)) = data.split_first() else {
        return;
    };
    let oids: Vec<u32> = value::oid::all().collect();
    let Some(&oid) = oids.get(usize::from(selector) % oids.len().max(1)) else {
        return;
    };
    let _ = value::decode(Format::Text, oid, -1, raw, &NoTypes);
    let _ = value::decode(Format::Binary, oid, -1, raw, &NoTypes);
});
