//! Any bytes given to the message decoder: an error or a message that
//! re-encodes to the same bytes, never a panic.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tidewater_pgoutput::Message;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    for in_stream in [false, true] {
        if let Ok(msg) = Message::decode(&bytes, in_stream) {
            assert_eq!(msg.to_bytes(), bytes, "decode then encode must give the input back");
        }
    }
});
