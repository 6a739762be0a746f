//! Prints pgoutput messages as JSON, one object per line.
//!
//! Input: lines `<lsn> <xid> <hex of one message>`, as printed by
//!
//! ```text
//! psql -At -F ' ' -c "SELECT lsn, xid, encode(data, 'hex')
//!     FROM pg_logical_slot_peek_binary_changes('slot', NULL, NULL,
//!          'proto_version', '1', 'publication_names', 'pub')"
//! ```
//!
//! read from the file named as the first argument, or from standard input.
//! A malformed line is reported on standard error with its line number and the
//! reason; the remaining lines are still printed, and the exit code is 1.
//!
//! ```text
//! cargo run -p tidewater-examples --example pgoutput_dump -- changes.txt
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let input: Box<dyn BufRead> = match std::env::args_os().nth(1) {
        Some(path) => match std::fs::File::open(&path) {
            Ok(f) => Box::new(BufReader::new(f)),
            Err(e) => {
                eprintln!("pgoutput_dump: cannot open {}: {e}", path.to_string_lossy());
                return ExitCode::from(2);
            }
        },
        None => Box::new(std::io::stdin().lock()),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut err = std::io::stderr().lock();
    let result = tidewater_examples::dump::run(input, &mut out, &mut err);
    match result.and_then(|ok| out.flush().map(|()| ok)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("pgoutput_dump: {e}");
            ExitCode::from(2)
        }
    }
}
