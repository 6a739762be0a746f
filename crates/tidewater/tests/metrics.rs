//! Pipeline metrics: concurrent recording, lag, the snapshot API and the Prometheus text
//! exposition (checked line by line against the 0.0.4 format by a small parser here).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "tests panic on unexpected results by design"
)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use tidewater::metrics::{ErrorKind, Metrics, MetricsSnapshot, Queue};
use tidewater::pgoutput::Lsn;
use tidewater::postgres::{SnapshotProgress, SourceStats};

// ---------------------------------------------------------------------------------------
// A checker of the Prometheus text exposition format 0.0.4
// ---------------------------------------------------------------------------------------

/// One sample: metric name, labels (unescaped) and value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// What a parsed exposition holds.
#[derive(Debug, Default)]
struct Exposition {
    types: HashMap<String, String>,
    helps: HashMap<String, String>,
    samples: Vec<Sample>,
}

impl Exposition {
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == labels)
            .map(|s| s.value)
    }

    fn has_family(&self, name: &str) -> bool {
        self.types.contains_key(name)
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Reads a metric name at the start of `s`; returns it and the rest.
fn metric_name(s: &str) -> Result<(&str, &str), String> {
    let mut chars = s.char_indices();
    match chars.next() {
        Some((_, c)) if is_name_start(c) => {}
        _ => return Err(format!("no metric name at {s:?}")),
    }
    let end = chars
        .find(|&(_, c)| !is_name_char(c))
        .map_or(s.len(), |(i, _)| i);
    Ok(s.split_at(end))
}

/// Parses `{name="value",...}` at the start of `s` (which starts with `{`); returns the
/// labels and the rest after `}`.
fn labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut out = BTreeMap::new();
    let mut rest = s.strip_prefix('{').ok_or("expected {")?;
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((out, after));
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .ok_or("unterminated label name")?;
        let (name, after) = rest.split_at(end);
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("bad label name {name:?}"));
        }
        if name.starts_with("__") {
            return Err(format!("reserved label name {name:?}"));
        }
        let mut chars = after
            .strip_prefix("=\"")
            .ok_or_else(|| format!("expected =\" after label {name}"))?
            .char_indices();
        let mut value = String::new();
        let consumed = loop {
            match chars.next() {
                None => return Err("unterminated label value".to_owned()),
                Some((i, '"')) => break i + 1,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("invalid escape \\{other:?} in label value")),
                },
                Some((_, '\n')) => return Err("raw line feed in label value".to_owned()),
                Some((_, c)) => value.push(c),
            }
        };
        let after_value = &after[2 + consumed..];
        if out.insert(name.to_owned(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        rest = match after_value.strip_prefix(',') {
            Some(r) => r,
            None if after_value.starts_with('}') => after_value,
            None => return Err(format!("expected , or }} at {after_value:?}")),
        };
    }
}

fn float(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s
            .parse::<f64>()
            .map_err(|e| format!("bad value {s:?}: {e}")),
    }
}

/// Checks `text` against the text format, line by line, and the conventions promised:
/// `tidewater_` prefix, counters named `*_total`, HELP and TYPE before each family's
/// samples, families contiguous, no series twice.
fn parse(text: &str) -> Result<Exposition, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the exposition must end with a line feed".to_owned());
    }
    let mut x = Exposition::default();
    let mut finished: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut series: HashSet<(String, BTreeMap<String, String>)> = HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let at = |e: String| format!("line {n} {line:?}: {e}");
        if line.trim().is_empty() {
            return Err(at("empty line".to_owned()));
        }
        let mut family_of = |name: &str, current: &mut Option<String>| -> Result<(), String> {
            if current.as_deref() != Some(name) {
                if let Some(prev) = current.take() {
                    finished.insert(prev);
                }
                if finished.contains(name) {
                    return Err(format!("family {name} is not contiguous"));
                }
                *current = Some(name.to_owned());
            }
            Ok(())
        };
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment
                .strip_prefix(' ')
                .ok_or_else(|| at("bad comment".into()))?;
            if let Some(rest) = comment.strip_prefix("HELP ") {
                let (name, help) = metric_name(rest).map_err(at)?;
                let help = help
                    .strip_prefix(' ')
                    .ok_or_else(|| at("no help text".into()))?;
                if help.contains('\\') && !help.contains("\\\\") && !help.contains("\\n") {
                    return Err(at("invalid escape in help".into()));
                }
                family_of(name, &mut current).map_err(at)?;
                if x.helps.insert(name.to_owned(), help.to_owned()).is_some() {
                    return Err(at("HELP twice".into()));
                }
            } else if let Some(rest) = comment.strip_prefix("TYPE ") {
                let (name, kind) = metric_name(rest).map_err(at)?;
                let kind = kind.strip_prefix(' ').ok_or_else(|| at("no type".into()))?;
                if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                    return Err(at(format!("unknown type {kind}")));
                }
                family_of(name, &mut current).map_err(at)?;
                if x.samples.iter().any(|s| s.name == name) {
                    return Err(at("TYPE after samples".into()));
                }
                if x.types.insert(name.to_owned(), kind.to_owned()).is_some() {
                    return Err(at("TYPE twice".into()));
                }
            }
            continue;
        }
        let (name, rest) = metric_name(line).map_err(at)?;
        let (labels, rest) = if rest.starts_with('{') {
            labels(rest).map_err(at)?
        } else {
            (BTreeMap::new(), rest)
        };
        let rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| at("expected a space before the value".into()))?;
        let mut fields = rest.split(' ');
        let value = float(fields.next().unwrap_or_default()).map_err(at)?;
        if let Some(ts) = fields.next() {
            ts.parse::<i64>()
                .map_err(|e| at(format!("bad timestamp {ts:?}: {e}")))?;
        }
        if fields.next().is_some() {
            return Err(at("trailing fields".into()));
        }
        family_of(name, &mut current).map_err(at)?;
        let kind = x
            .types
            .get(name)
            .ok_or_else(|| at("sample before its TYPE".into()))?;
        if !x.helps.contains_key(name) {
            return Err(at("sample without HELP".into()));
        }
        if !name.starts_with("tidewater_") {
            return Err(at("name lacks the tidewater_ prefix".into()));
        }
        if kind == "counter" && !name.ends_with("_total") {
            return Err(at("counter not named *_total".into()));
        }
        if kind == "counter" && (value.is_nan() || value < 0.0) {
            return Err(at("negative counter".into()));
        }
        if !series.insert((name.to_owned(), labels.clone())) {
            return Err(at("series twice".into()));
        }
        x.samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    Ok(x)
}

#[test]
fn the_checker_rejects_what_the_format_forbids() {
    let bad = [
        "tidewater_x 1",   // no final newline
        "tidewater_x 1\n", // no TYPE
        "# HELP tidewater_x h\n# TYPE tidewater_x gauge\ntidewater_x{a=\"b} 1\n", // unterminated
        "# HELP tidewater_x h\n# TYPE tidewater_x gauge\ntidewater_x{a=\"\\t\"} 1\n", // bad escape
        "# HELP tidewater_x h\n# TYPE tidewater_x counter\ntidewater_x 1\n", // counter name
        "# HELP tidewater_x h\n# TYPE tidewater_x gauge\ntidewater_x one\n", // value
        "# HELP tidewater_x h\n# TYPE tidewater_x gauge\ntidewater_x 1\n# HELP tidewater_y h\n# TYPE tidewater_y gauge\ntidewater_y 1\ntidewater_x 2\n", // not contiguous
        "# HELP tidewater_x h\n# TYPE tidewater_x gauge\ntidewater_x{a=\"1\"} 1\ntidewater_x{a=\"1\"} 2\n", // twice
        "# HELP x h\n# TYPE x gauge\nx 1\n", // prefix
        "# HELP tidewater_x h\n# TYPE tidewater_x gauge\n\ntidewater_x 1\n", // empty line
    ];
    for text in bad {
        assert!(parse(text).is_err(), "accepted {text:?}");
    }
    let good = "# HELP tidewater_x h\n# TYPE tidewater_x gauge\ntidewater_x{a=\"q\\\"\\\\\\n\",b=\"\"} -1.5 1700000000000\n";
    let x = parse(good).unwrap();
    assert_eq!(
        x.value("tidewater_x", &[("a", "q\"\\\n"), ("b", "")]),
        Some(-1.5)
    );
}

// ---------------------------------------------------------------------------------------
// Recording and reading
// ---------------------------------------------------------------------------------------

fn now_micros() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros(),
    )
    .unwrap()
}

#[test]
fn a_new_pipeline_has_zeros_and_no_lag() {
    let metrics = Metrics::new();
    let s = metrics.snapshot();
    assert!(s.tables.is_empty());
    assert_eq!(s.errors.len(), 6, "every kind present");
    assert!(s.errors.values().all(|&n| n == 0));
    assert_eq!(s.queue_depths.len(), 3, "every queue present");
    assert_eq!(s.lag_ms, None);
    assert_eq!(s.lag_bytes, None);
    assert_eq!(s.last_acknowledged, Lsn::INVALID);
    assert_eq!(s.last_event_commit_micros, None);
    assert_eq!(s.source, None);
    assert_eq!(s.snapshot, None);
    let x = parse(&metrics.render_prometheus()).unwrap();
    assert!(!x.has_family("tidewater_lag_milliseconds"));
    assert!(!x.has_family("tidewater_lag_bytes"));
    assert!(!x.has_family("tidewater_table_events_seen_total"));
    assert!(!x.has_family("tidewater_source_frames_received_total"));
    assert!(!x.has_family("tidewater_snapshot_rows_read_total"));
    assert_eq!(
        x.value("tidewater_errors_total", &[("kind", "dead_lettered")]),
        Some(0.0)
    );
    assert_eq!(x.types["tidewater_uptime_seconds"], "gauge");
}

#[test]
fn concurrent_updates_sum_exactly() {
    const THREADS: u64 = 8;
    const ROUNDS: u64 = 5_000;
    let metrics = Metrics::new();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Readers render and snapshot while writers record: values only grow.
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let metrics = Arc::clone(&metrics);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut last = 0;
                let mut reads = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let seen = metrics.snapshot().total_events().seen;
                    assert!(seen >= last, "a counter went backwards");
                    last = seen;
                    parse(&metrics.render_prometheus()).unwrap();
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let metrics = Arc::clone(&metrics);
            std::thread::spawn(move || {
                let own = format!("public.thread_{t}");
                for i in 0..ROUNDS {
                    metrics.add_table_events("public.shared", 3, 2, 1);
                    metrics.add_table_events(&own, 1, 1, 0);
                    metrics.add_errors(ErrorKind::Sink, 1);
                    if i % 2 == 0 {
                        metrics.add_errors(ErrorKind::DeadLettered, 2);
                    }
                    metrics.add_records_delivered(2, 100);
                    metrics.add_heartbeats(1);
                    metrics.set_queue_depth(Queue::Convert, usize::try_from(i).unwrap());
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0, "readers ran");
    }
    let s = metrics.snapshot();
    let n = THREADS * ROUNDS;
    let shared = s.tables["public.shared"];
    assert_eq!(
        (shared.seen, shared.produced, shared.filtered),
        (3 * n, 2 * n, n)
    );
    for t in 0..THREADS {
        let own = s.tables[&format!("public.thread_{t}")];
        assert_eq!((own.seen, own.produced, own.filtered), (ROUNDS, ROUNDS, 0));
    }
    assert_eq!(s.tables.len(), usize::try_from(THREADS).unwrap() + 1);
    assert_eq!(s.total_events().seen, 4 * n);
    assert_eq!(s.errors[&ErrorKind::Sink], n);
    assert_eq!(s.errors[&ErrorKind::DeadLettered], n); // 2 every other round
    assert_eq!(s.errors[&ErrorKind::Conversion], 0);
    assert_eq!(s.records_delivered, 2 * n);
    assert_eq!(s.bytes_delivered, 100 * n);
    assert_eq!(s.heartbeats, n);
    assert_eq!(
        s.queue_depths[&Queue::Convert],
        usize::try_from(ROUNDS - 1).unwrap()
    );

    let x = parse(&metrics.render_prometheus()).unwrap();
    #[allow(clippy::cast_precision_loss, reason = "exact below 2^53")]
    let f = |v: u64| v as f64;
    assert_eq!(
        x.value(
            "tidewater_table_events_seen_total",
            &[("table", "public.shared")]
        ),
        Some(f(3 * n))
    );
    assert_eq!(
        x.value(
            "tidewater_table_events_filtered_total",
            &[("table", "public.thread_3")]
        ),
        Some(0.0)
    );
    assert_eq!(
        x.value("tidewater_errors_total", &[("kind", "sink")]),
        Some(f(n))
    );
    assert_eq!(
        x.value("tidewater_records_delivered_total", &[]),
        Some(f(2 * n))
    );
    assert_eq!(
        x.value("tidewater_delivered_bytes_total", &[]),
        Some(f(100 * n))
    );
    assert_eq!(x.value("tidewater_heartbeats_total", &[]), Some(f(n)));
    assert_eq!(
        x.value("tidewater_queue_depth", &[("queue", "convert")]),
        Some(f(ROUNDS - 1))
    );
}

#[test]
fn time_lag_is_measured_when_the_event_is_handled() {
    let metrics = Metrics::new();
    let commit = now_micros() - 1_500_000;
    metrics.set_last_event(commit, Lsn::new(0x42));
    let s = metrics.snapshot();
    let lag = s.lag_ms.unwrap();
    assert!((1_500..1_500 + 5_000).contains(&lag), "lag {lag} ms");
    assert_eq!(s.last_event_lsn, Lsn::new(0x42));
    assert_eq!(s.last_event_commit_micros, Some(commit));
    // It is the lag at handling time: it does not grow while idle.
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(metrics.snapshot().lag_ms, Some(lag));
    // A commit time ahead of this clock (clock skew) is no lag, not a negative one.
    metrics.set_last_event(now_micros() + 60_000_000, Lsn::new(0x43));
    assert_eq!(metrics.snapshot().lag_ms, Some(0));

    let x = parse(&metrics.render_prometheus()).unwrap();
    assert_eq!(x.value("tidewater_lag_milliseconds", &[]), Some(0.0));
    assert_eq!(
        x.value("tidewater_last_event_lsn", &[]),
        Some(f64::from(0x43))
    );
    let ts = x
        .value("tidewater_last_event_commit_timestamp_seconds", &[])
        .unwrap();
    #[allow(clippy::cast_precision_loss, reason = "seconds, compared loosely")]
    let expected = now_micros() as f64 / 1e6 + 60.0;
    assert!((ts - expected).abs() < 5.0, "{ts} vs {expected}");
}

#[test]
fn wal_lag_is_server_end_minus_acknowledged() {
    let metrics = Metrics::new();
    metrics.set_last_acknowledged(Lsn::new(400));
    assert_eq!(
        metrics.snapshot().lag_bytes,
        None,
        "server position unknown"
    );

    let mut stats = SourceStats::default();
    stats.server_wal_end = Lsn::new(1_000);
    stats.acknowledged = Lsn::new(300);
    stats.frames_received = 17;
    stats.bytes_received = 4_096;
    stats.reconnects = 2;
    stats.last_received = Lsn::new(900);
    stats.queued = 5;
    metrics.set_source_stats(&stats);
    let s = metrics.snapshot();
    assert_eq!(
        s.lag_bytes,
        Some(600),
        "the pipeline's acknowledgement is later"
    );
    assert_eq!(s.last_acknowledged, Lsn::new(400));
    assert_eq!(s.source, Some(stats));

    // The source reports a later acknowledgement than the pipeline recorded.
    stats.acknowledged = Lsn::new(950);
    metrics.set_source_stats(&stats);
    assert_eq!(metrics.snapshot().lag_bytes, Some(50));
    assert_eq!(metrics.snapshot().last_acknowledged, Lsn::new(950));

    // Acknowledged past the last reported end (the report is older): no lag.
    metrics.set_last_acknowledged(Lsn::new(2_000));
    assert_eq!(metrics.snapshot().lag_bytes, Some(0));

    let x = parse(&metrics.render_prometheus()).unwrap();
    assert_eq!(x.value("tidewater_lag_bytes", &[]), Some(0.0));
    assert_eq!(
        x.value("tidewater_last_acknowledged_lsn", &[]),
        Some(2_000.0)
    );
    assert_eq!(
        x.value("tidewater_source_frames_received_total", &[]),
        Some(17.0)
    );
    assert_eq!(
        x.value("tidewater_source_received_bytes_total", &[]),
        Some(4_096.0)
    );
    assert_eq!(x.value("tidewater_source_reconnects_total", &[]), Some(2.0));
    assert_eq!(
        x.value("tidewater_source_server_wal_end_lsn", &[]),
        Some(1_000.0)
    );
    assert_eq!(
        x.value("tidewater_source_last_received_lsn", &[]),
        Some(900.0)
    );
    assert_eq!(x.value("tidewater_source_queued_frames", &[]), Some(5.0));
    assert_eq!(x.types["tidewater_source_server_wal_end_lsn"], "gauge");
}

#[test]
fn snapshot_progress_is_exported() {
    let metrics = Metrics::new();
    let mut progress = SnapshotProgress::default();
    progress.rows_read = 1_000;
    metrics.set_snapshot_progress(&progress);
    let x = parse(&metrics.render_prometheus()).unwrap();
    assert_eq!(
        x.value("tidewater_snapshot_rows_read_total", &[]),
        Some(1_000.0)
    );
    assert_eq!(x.value("tidewater_snapshot_completed", &[]), Some(0.0));
    progress.rows_read = 1_500;
    progress.completed = true;
    metrics.set_snapshot_progress(&progress);
    assert_eq!(metrics.snapshot().snapshot, Some(progress));
    let x = parse(&metrics.render_prometheus()).unwrap();
    assert_eq!(
        x.value("tidewater_snapshot_rows_read_total", &[]),
        Some(1_500.0)
    );
    assert_eq!(x.value("tidewater_snapshot_completed", &[]), Some(1.0));
}

#[test]
fn hostile_table_names_are_escaped() {
    let metrics = Metrics::new();
    let names = [
        "public.\"quoted\"",
        "back\\slash",
        "new\nline",
        "all \\\" \n at once\\",
        "} 1\ntidewater_fake 2",
        "ünïcødé,表",
        "",
    ];
    for (i, name) in names.iter().enumerate() {
        let i = u64::try_from(i).unwrap();
        metrics.add_table_events(name, i + 1, i, 0);
    }
    let text = metrics.render_prometheus();
    assert!(
        text.contains("tidewater_table_events_seen_total{table=\"public.\\\"quoted\\\"\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("tidewater_table_events_seen_total{table=\"back\\\\slash\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains("tidewater_table_events_seen_total{table=\"new\\nline\"} 3\n"),
        "{text}"
    );
    assert!(!text.contains("\ntidewater_fake"), "{text}");
    let x = parse(&text).unwrap();
    for (i, name) in names.iter().enumerate() {
        #[allow(clippy::cast_precision_loss, reason = "small")]
        let seen = (i + 1) as f64;
        assert_eq!(
            x.value("tidewater_table_events_seen_total", &[("table", name)]),
            Some(seen),
            "{name:?}"
        );
    }
}

proptest! {
    #[test]
    fn any_table_name_renders_a_valid_exposition(
        names in proptest::collection::vec(any::<String>(), 1..6),
        counts in proptest::collection::vec((0..1_000_u64, 0..1_000_u64, 0..1_000_u64), 6),
    ) {
        let metrics = Metrics::new();
        let mut expected: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
        for (name, (seen, produced, filtered)) in names.iter().zip(&counts) {
            metrics.add_table_events(name, *seen, *produced, *filtered);
            let e = expected.entry(name.clone()).or_default();
            e.0 += seen;
            e.1 += produced;
            e.2 += filtered;
        }
        let snapshot: MetricsSnapshot = metrics.snapshot();
        let x = parse(&snapshot.render_prometheus());
        prop_assert!(x.is_ok(), "{:?}", x.err());
        let x = x.unwrap();
        for (name, (seen, produced, filtered)) in &expected {
            let t = snapshot.tables[name];
            prop_assert_eq!((t.seen, t.produced, t.filtered), (*seen, *produced, *filtered));
            #[allow(clippy::cast_precision_loss, reason = "small")]
            let f = |v: u64| v as f64;
            prop_assert_eq!(
                x.value("tidewater_table_events_seen_total", &[("table", name)]),
                Some(f(*seen))
            );
            prop_assert_eq!(
                x.value("tidewater_table_events_produced_total", &[("table", name)]),
                Some(f(*produced))
            );
            prop_assert_eq!(
                x.value("tidewater_table_events_filtered_total", &[("table", name)]),
                Some(f(*filtered))
            );
        }
    }
}
