//! Any bytes given to the CopyData frame decoders never panic, and what
//! decodes re-encodes to the input.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tidewater_pgoutput::{Decoder, ReplicationFrame, StandbyStatusUpdate};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(frame) = ReplicationFrame::decode(&bytes) {
        assert_eq!(frame.to_bytes(), bytes);
        if let ReplicationFrame::XLogData(x) = frame {
            let _ = Decoder::new().decode(&x.data);
        }
    }
    if let Ok(update) = StandbyStatusUpdate::decode(data) {
        assert_eq!(&update.to_bytes()[..], data);
    }
});
