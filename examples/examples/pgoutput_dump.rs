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

use bytes::Bytes;
use tidewater_examples::dump::{Dumper, unhex};
use tidewater_pgoutput::Lsn;

fn parse_line(line: &str) -> Result<(Lsn, Option<u32>, Bytes), String> {
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
    let data = unhex(hex)?;
    Ok((lsn, Some(xid), Bytes::from(data)))
}

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
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut dumper = Dumper::new();
    let mut failed = false;
    for (i, line) in input.lines().enumerate() {
        let n = i + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("line {n}: cannot read: {e}");
                failed = true;
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let result =
            parse_line(&line).and_then(|(lsn, xid, data)| dumper.dump(Some(lsn), xid, &data));
        match result {
            Ok(json) => {
                if writeln!(out, "{json}").is_err() {
                    return ExitCode::from(2);
                }
            }
            Err(reason) => {
                eprintln!("line {n}: {reason}");
                failed = true;
            }
        }
    }
    if out.flush().is_err() {
        return ExitCode::from(2);
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
