//! The keys this crate reads itself: validated by kind from the key table, then turned
//! into [`RuntimeSettings`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::keys::{KEYS, Kind, Owner, key_info};
use super::problems::Report;
use crate::settings::{
    DeadLetterQueue, ErrorTolerance, FailureHandling, OffsetStorage, RuntimeSettings,
};

/// Checks a value against its kind; the error is the reason.
pub(crate) fn check_kind(kind: Kind, value: &str) -> Result<(), String> {
    let v = value.trim();
    match kind {
        Kind::Any => Ok(()),
        Kind::NonEmpty => {
            if v.is_empty() {
                Err("must not be empty".to_owned())
            } else {
                Ok(())
            }
        }
        Kind::Bool => parse_bool(v).map(|_| ()),
        Kind::Int { min, max } => parse_int(v, min, max).map(|_| ()),
        Kind::ReplicationFactor => parse_int(v, -1, i64::from(i16::MAX)).and_then(|n| {
            if n == 0 {
                Err("must be at least 1, or -1 for the broker's default".to_owned())
            } else {
                Ok(())
            }
        }),
        Kind::Partitions => parse_int(v, -1, i64::from(i32::MAX)).and_then(|n| {
            if n == 0 {
                Err("must be at least 1, or -1 for the broker's default".to_owned())
            } else {
                Ok(())
            }
        }),
        Kind::Choice(choices) => {
            if choices.iter().any(|c| c.eq_ignore_ascii_case(v)) {
                Ok(())
            } else {
                Err(format!("expected one of {}", choices.join(", ")))
            }
        }
        Kind::Class(classes) => {
            if classes.contains(&v) {
                Ok(())
            } else {
                let first = classes.first().copied().unwrap_or_default();
                Err(format!("not supported: only {first}"))
            }
        }
    }
}

fn parse_bool(v: &str) -> Result<bool, String> {
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err("expected true or false".to_owned())
    }
}

fn parse_int(v: &str, min: i64, max: i64) -> Result<i64, String> {
    let n: i64 = v.parse().map_err(|_| {
        if min == max {
            format!("expected {min}")
        } else {
            "expected an integer".to_owned()
        }
    })?;
    if n < min || n > max {
        return Err(if min == max {
            format!("must be {min}")
        } else if max == i64::MAX {
            format!("must be at least {min}")
        } else {
            format!("must be between {min} and {max}")
        });
    }
    Ok(n)
}

/// Validates every present key this crate owns (connector and runtime keys) by its kind.
pub(crate) fn check_owned_keys(values: &BTreeMap<String, String>, report: &mut Report) {
    for (key, value) in values {
        let Some(info) = key_info(key) else { continue };
        if !matches!(
            info.owner,
            Owner::Connector | Owner::Runtime | Owner::Converter
        ) {
            continue;
        }
        if let Err(reason) = check_kind(info.kind, value) {
            report.problem(key, Some(value), reason);
        }
    }
}

/// Reads typed values of keys already checked by [`check_owned_keys`] (a value that did
/// not pass gives the default; its problem is already reported).
struct Reader<'a> {
    values: &'a BTreeMap<String, String>,
}

impl Reader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|v| v.trim())
    }

    fn default_of(key: &str) -> &'static str {
        KEYS.iter()
            .find(|k| k.name == key)
            .map_or("", |k| k.default)
    }

    fn int(&self, key: &str) -> i64 {
        let kind = key_info(key).map_or(Kind::Any, |k| k.kind);
        let (min, max) = match kind {
            Kind::Int { min, max } => (min, max),
            Kind::ReplicationFactor => (-1, i64::from(i16::MAX)),
            Kind::Partitions => (-1, i64::from(i32::MAX)),
            _ => (i64::MIN, i64::MAX),
        };
        self.get(key)
            .and_then(|v| parse_int(v, min, max).ok())
            .or_else(|| parse_int(Self::default_of(key), min, max).ok())
            .unwrap_or(0)
    }

    fn bool(&self, key: &str) -> bool {
        self.get(key)
            .and_then(|v| parse_bool(v).ok())
            .or_else(|| parse_bool(Self::default_of(key)).ok())
            .unwrap_or(false)
    }

    fn text(&self, key: &str) -> Option<String> {
        self.values
            .get(key)
            .filter(|v| !v.trim().is_empty())
            .cloned()
    }

    fn usize(&self, key: &str) -> usize {
        usize::try_from(self.int(key)).unwrap_or(usize::MAX)
    }

    fn millis(&self, key: &str) -> Duration {
        Duration::from_millis(u64::try_from(self.int(key)).unwrap_or(0))
    }

    fn i16(&self, key: &str) -> i16 {
        i16::try_from(self.int(key)).unwrap_or(-1)
    }

    fn i32(&self, key: &str) -> i32 {
        i32::try_from(self.int(key)).unwrap_or(-1)
    }
}

/// Builds the runtime settings; `name` is the connector's name.
pub(crate) fn runtime_settings(
    name: &str,
    values: &BTreeMap<String, String>,
    report: &mut Report,
) -> RuntimeSettings {
    let r = Reader { values };
    let mut s = RuntimeSettings {
        name: name.to_owned(),
        ..RuntimeSettings::default()
    };

    s.heartbeat_interval = match r.int("heartbeat.interval.ms") {
        0 => None,
        ms => Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
    };
    s.heartbeat_action_query = r.text("heartbeat.action.query");
    if s.heartbeat_action_query.is_some() && s.heartbeat_interval.is_none() {
        report.warn(
            "heartbeat.action.query",
            "has no effect while heartbeat.interval.ms is 0 (heartbeats are off)",
        );
    }

    s.failure_handling = match r
        .get("event.processing.failure.handling.mode")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("warn") => FailureHandling::Warn,
        Some("skip" | "ignore") => FailureHandling::Skip,
        _ => FailureHandling::Fail,
    };
    s.errors_tolerance = match r
        .get("errors.tolerance")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("all") => ErrorTolerance::All,
        _ => ErrorTolerance::None,
    };
    s.errors_log_enable = r.bool("errors.log.enable");
    s.errors_log_include_messages = r.bool("errors.log.include.messages");

    let dlq_keys = [
        "errors.deadletterqueue.topic.replication.factor",
        "errors.deadletterqueue.context.headers.enable",
    ];
    match r.text("errors.deadletterqueue.topic.name") {
        Some(topic) => {
            let mut dlq = DeadLetterQueue::new(topic.trim());
            dlq.replication_factor = r.i16("errors.deadletterqueue.topic.replication.factor");
            dlq.context_headers = r.bool("errors.deadletterqueue.context.headers.enable");
            if s.errors_tolerance == ErrorTolerance::None {
                report.warn(
                    "errors.deadletterqueue.topic.name",
                    "only used with errors.tolerance=all (errors.tolerance is none: a failing \
                     record stops the pipeline)",
                );
            }
            s.dead_letter_queue = Some(dlq);
        }
        None => {
            for key in dlq_keys {
                if values.contains_key(key) {
                    report.warn(
                        key,
                        "has no effect without errors.deadletterqueue.topic.name",
                    );
                }
            }
        }
    }

    s.retry_timeout = match r.int("errors.retry.timeout") {
        -1 => None,
        ms => Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
    };
    s.retry_delay_max = r.millis("errors.retry.delay.max.ms");

    s.max_queue_size = r.usize("max.queue.size");
    s.max_batch_size = r.usize("max.batch.size");
    if s.max_queue_size <= s.max_batch_size
        && !report.has_problem("max.queue.size")
        && !report.has_problem("max.batch.size")
    {
        report.problem(
            "max.queue.size",
            Some(&s.max_queue_size.to_string()),
            format!("must be larger than max.batch.size ({})", s.max_batch_size),
        );
    }
    s.max_queue_size_in_bytes = r.usize("max.queue.size.in.bytes");
    s.offset_flush_interval = r.millis("offset.flush.interval.ms");
    s.position_headers = r.bool("tidewater.position.headers");

    let file = r.text("offset.storage.file.filename");
    let topic = r.text("offset.storage.topic");
    let topic_keys = [
        "offset.storage.partitions",
        "offset.storage.replication.factor",
    ];
    s.offset_storage = match (file, topic) {
        (Some(file), Some(_)) => {
            report.problem(
                "offset.storage.topic",
                values.get("offset.storage.topic").map(String::as_str),
                "cannot be combined with offset.storage.file.filename: offsets live in a file \
                 or in a topic",
            );
            OffsetStorage::File(PathBuf::from(file))
        }
        (Some(file), None) => OffsetStorage::File(PathBuf::from(file)),
        (None, Some(topic)) => OffsetStorage::Topic {
            topic: topic.trim().to_owned(),
            partitions: r.i32("offset.storage.partitions"),
            replication_factor: r.i16("offset.storage.replication.factor"),
        },
        (None, None) => OffsetStorage::Memory,
    };
    if !matches!(s.offset_storage, OffsetStorage::Topic { .. }) {
        for key in topic_keys {
            if values.contains_key(key) {
                report.warn(key, "has no effect without offset.storage.topic");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert!(check_kind(Kind::Bool, " TRUE ").is_ok());
        assert!(check_kind(Kind::Bool, "yes").is_err());
        assert!(check_kind(Kind::Int { min: 1, max: 1 }, "1").is_ok());
        assert_eq!(
            check_kind(Kind::Int { min: 1, max: 1 }, "2"),
            Err("must be 1".to_owned())
        );
        assert_eq!(
            check_kind(
                Kind::Int {
                    min: 0,
                    max: i64::MAX
                },
                "-5"
            ),
            Err("must be at least 0".to_owned())
        );
        assert!(check_kind(Kind::ReplicationFactor, "-1").is_ok());
        assert!(check_kind(Kind::ReplicationFactor, "0").is_err());
        assert!(check_kind(Kind::ReplicationFactor, "40000").is_err());
        assert!(check_kind(Kind::Partitions, "0").is_err());
        assert!(check_kind(Kind::Choice(&["fail", "warn"]), "WARN").is_ok());
        assert!(check_kind(Kind::Class(&["a.B"]), "a.b").is_err());
        assert!(check_kind(Kind::NonEmpty, "  ").is_err());
    }
}
