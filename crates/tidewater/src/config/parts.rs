//! Running the sub-crates' parsers so that they report every problem, not only their
//! first: a parser stops at its first error, so the key it names is taken out (or, when it
//! is missing, given a stand-in value) and the parser runs again, until it succeeds or an
//! error cannot be set aside.

use std::collections::{BTreeMap, HashMap};

use tidewater_connect::{ConnectError, JsonConverterConfig};
use tidewater_envelope::{EnvelopeConfig, EnvelopeError};
use tidewater_kafka::{IGNORED_PRODUCER_KEYS, PRODUCER_KEYS, ProducerConfig};
use tidewater_postgres::{ConfigError as SourceError, SourceConfig};
use tidewater_transforms::{Registry, TransformChain, TransformError};

use super::ConverterConfig;
use super::keys::JSON_CONVERTER_CLASSES;
use super::problems::{ConfigProblem, Report};

type Map = BTreeMap<String, String>;

/// One precedence level of producer keys: the producer key a configuration key stands for.
type Level<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// What a failed parse run says: the problem, and the key of the parser's map it is
/// about (the problem may spell it with a prefix).
struct Failure {
    problem: ConfigProblem,
    map_key: String,
}

impl Failure {
    fn new(problem: ConfigProblem) -> Self {
        let map_key = problem.key.clone();
        Failure { problem, map_key }
    }
}

/// Runs `parse` until it succeeds or a failure cannot be set aside. A key with a bad
/// value is taken out; `fill` gives a stand-in value for a missing required key (so that
/// the rest can still be checked); `unfixable` may change the map to go on anyway (it
/// returns whether it did).
fn collect<T>(
    mut map: Map,
    report: &mut Report,
    mut parse: impl FnMut(&Map) -> Result<T, Failure>,
    fill: impl Fn(&str) -> Option<&'static str>,
    mut unfixable: impl FnMut(&mut Map, &ConfigProblem) -> bool,
) -> Option<T> {
    let mut reported: Vec<String> = Vec::new();
    // Each round removes or fills a key, or drops a transform alias: bounded by the
    // number of keys, with a margin for stand-ins.
    let rounds = map.len().saturating_mul(2).saturating_add(16);
    for _ in 0..rounds {
        let failure = match parse(&map) {
            Ok(value) => return Some(value),
            Err(f) => f,
        };
        let first = !reported.contains(&failure.problem.key);
        if first {
            reported.push(failure.problem.key.clone());
            report.push(failure.problem.clone());
        }
        let fixed = if !first {
            unfixable(&mut map, &failure.problem)
        } else if map.remove(&failure.map_key).is_some() {
            true
        } else if let Some(stand_in) = fill(&failure.map_key) {
            map.insert(failure.map_key, stand_in.to_owned());
            true
        } else {
            unfixable(&mut map, &failure.problem)
        };
        if !fixed {
            return None;
        }
    }
    None
}

fn no_fill(_: &str) -> Option<&'static str> {
    None
}

fn give_up(_: &mut Map, _: &ConfigProblem) -> bool {
    false
}

/// The source's configuration.
pub(crate) fn source(values: &Map, report: &mut Report) -> Option<SourceConfig> {
    let map: Map = values
        .iter()
        .filter(|(k, _)| tidewater_postgres::KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    collect(
        map,
        report,
        |m| {
            SourceConfig::from_properties(m.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .map_err(|e| source_failure(m, e))
        },
        |key| match key {
            "database.hostname" => Some("localhost"),
            "database.user" | "database.dbname" => Some("x"),
            _ => None,
        },
        give_up,
    )
}

fn source_failure(map: &Map, e: SourceError) -> Failure {
    match e {
        SourceError::Missing { key } => Failure::new(ConfigProblem::new(key, None, "is required")),
        SourceError::Invalid { key, value, reason } => Failure::new(ConfigProblem::new(
            key,
            Some(map.get(key).map_or(value.as_str(), String::as_str)),
            reason,
        )),
        SourceError::Conflict { key, other, reason } => Failure::new(ConfigProblem::new(
            key,
            map.get(key).map(String::as_str),
            format!("cannot be combined with {other}: {reason}"),
        )),
        other => Failure::new(ConfigProblem::new("(source)", None, other.to_string())),
    }
}

/// The envelope builder's configuration.
pub(crate) fn envelope(values: &Map, report: &mut Report) -> Option<EnvelopeConfig> {
    let map: Map = values
        .iter()
        .filter(|(k, _)| tidewater_envelope::CONFIG_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    collect(
        map,
        report,
        |m| {
            EnvelopeConfig::from_pairs(m.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(
                |e| match e {
                    EnvelopeError::Config { key, value, reason } => {
                        let missing = !m.contains_key(&key);
                        let shown = m.get(&key).cloned().unwrap_or(value);
                        Failure::new(ConfigProblem::new(
                            key,
                            (!missing).then_some(shown.as_str()),
                            if missing && reason.starts_with("required") {
                                format!("is {reason}")
                            } else {
                                reason
                            },
                        ))
                    }
                    other => {
                        Failure::new(ConfigProblem::new("(envelope)", None, other.to_string()))
                    }
                },
            )
        },
        |key| (key == "topic.prefix").then_some("x"),
        give_up,
    )
}

/// The transform chain's keys: `transforms`, `transforms.*`, `predicates`, `predicates.*`.
pub(crate) fn transform_keys(values: &Map) -> Map {
    values
        .iter()
        .filter(|(k, _)| {
            k.as_str() == "transforms"
                || k.as_str() == "predicates"
                || k.starts_with("transforms.")
                || k.starts_with("predicates.")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Validates the transform chain; returns whether it can be built.
pub(crate) fn transforms(map: Map, registry: &Registry, report: &mut Report) -> bool {
    collect(
        map,
        report,
        |m| {
            TransformChain::from_config_with(m.iter(), registry).map_err(|e| match e {
                TransformError::Config {
                    key, value, reason, ..
                } => Failure::new(ConfigProblem::new(key, value.as_deref(), reason)),
                other => Failure::new(ConfigProblem::new("transforms", None, other.to_string())),
            })
        },
        no_fill,
        drop_alias,
    )
    .is_some()
}

/// Takes the transform or predicate a problem is about out of its list, so that the
/// others are still checked.
fn drop_alias(map: &mut Map, problem: &ConfigProblem) -> bool {
    for (list, prefix) in [("transforms", "transforms."), ("predicates", "predicates.")] {
        let Some(rest) = problem.key.strip_prefix(prefix) else {
            continue;
        };
        let Some(current) = map.get(list).cloned() else {
            return false;
        };
        let aliases: Vec<&str> = current.split(',').map(str::trim).collect();
        // The longest alias the key starts with (aliases may contain dots).
        let Some(alias) = aliases
            .iter()
            .filter(|a| !a.is_empty() && rest.starts_with(&format!("{a}.")))
            .max_by_key(|a| a.len())
            .map(|a| (*a).to_owned())
        else {
            return false;
        };
        let kept: Vec<&str> = aliases.into_iter().filter(|a| *a != alias).collect();
        map.insert(list.to_owned(), kept.join(","));
        if list == "predicates" {
            // Transforms gated by the dropped predicate are checked without it.
            let gated: Vec<String> = map
                .iter()
                .filter(|(k, v)| {
                    k.starts_with("transforms.") && (k.ends_with(".predicate") && v.trim() == alias)
                })
                .map(|(k, _)| k.clone())
                .collect();
            for k in gated {
                if let Some(base) = k.strip_suffix(".predicate") {
                    // `negate=true` needs a predicate: drop it too, unless its value is
                    // wrong anyway (then it is still reported).
                    let negate = format!("{base}.negate");
                    if map.get(&negate).is_some_and(|v| {
                        v.trim().eq_ignore_ascii_case("true")
                            || v.trim().eq_ignore_ascii_case("false")
                    }) {
                        map.remove(&negate);
                    }
                }
                map.remove(&k);
            }
        }
        return true;
    }
    false
}

/// The key or value converter: its class (checked with the key table) and sub-keys.
pub(crate) fn converter(values: &Map, prefix: &str, report: &mut Report) -> ConverterConfig {
    let class = values.get(prefix).map(|v| v.trim());
    if class.is_some_and(|c| !JSON_CONVERTER_CLASSES.contains(&c)) {
        // Refused by the key table; no sub-key is read.
        return ConverterConfig::default();
    }
    let dotted = format!("{prefix}.");
    let map: Map = values
        .iter()
        .filter_map(|(k, v)| {
            let sub = k.strip_prefix(&dotted)?;
            JsonConverterConfig::KEYS
                .contains(&sub)
                .then(|| (sub.to_owned(), v.clone()))
        })
        .collect();
    let parsed = collect(
        map,
        report,
        |m| {
            JsonConverterConfig::from_pairs(m.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .map_err(|e| match e {
                    ConnectError::Config { key, value, reason } => Failure {
                        problem: ConfigProblem::new(format!("{dotted}{key}"), Some(&value), reason),
                        map_key: key,
                    },
                    other => Failure::new(ConfigProblem::new(prefix, None, other.to_string())),
                })
        },
        no_fill,
        give_up,
    );
    match parsed {
        Some(c) => ConverterConfig::Json(c),
        None => ConverterConfig::default(),
    }
}

/// Producer keys by precedence, lowest first: bare Kafka producer keys, `kafka.<key>`,
/// `producer.<key>`, `producer.override.<key>`. Returns the merged map and, for each
/// merged key, the key as written.
pub(crate) fn producer_keys(values: &Map) -> (Map, HashMap<String, String>) {
    let mut merged = Map::new();
    let mut origin = HashMap::new();
    let bare = |k: &str| {
        PRODUCER_KEYS.contains(&k)
            || IGNORED_PRODUCER_KEYS.contains(&k)
            || k.starts_with("topic.creation.")
    };
    let levels: [&Level<'_>; 4] = [
        &|k| bare(k).then(|| k.to_owned()),
        &|k| k.strip_prefix("kafka.").map(str::to_owned),
        &|k| {
            k.strip_prefix("producer.")
                .filter(|_| !k.starts_with("producer.override."))
                .map(str::to_owned)
        },
        &|k| k.strip_prefix("producer.override.").map(str::to_owned),
    ];
    for level in levels {
        for (k, v) in values {
            if let Some(name) = level(k).filter(|n| !n.is_empty()) {
                merged.insert(name.clone(), v.clone());
                origin.insert(name, k.clone());
            }
        }
    }
    (merged, origin)
}

/// The producer's configuration; unknown producer keys become warnings.
pub(crate) fn producer(values: &Map, report: &mut Report) -> Option<ProducerConfig> {
    let (merged, origin) = producer_keys(values);
    let spelled = |k: &str| origin.get(k).cloned().unwrap_or_else(|| k.to_owned());
    let mut local = Report::default();
    let config = collect(
        merged,
        &mut local,
        |m| {
            ProducerConfig::from_properties(m.iter()).map_err(|e| {
                let key = e.key().to_owned();
                let missing = !m.contains_key(&key);
                let reason = match &e {
                    tidewater_kafka::ConfigError::InvalidValue { reason, .. }
                    | tidewater_kafka::ConfigError::Unsupported { reason, .. }
                    | tidewater_kafka::ConfigError::Missing { reason, .. } => reason.clone(),
                    other => other.to_string(),
                };
                let reason = if matches!(e, tidewater_kafka::ConfigError::Unsupported { .. }) {
                    format!("not supported: {reason}")
                } else if missing {
                    format!("is required: {reason}")
                } else {
                    reason
                };
                Failure::new(ConfigProblem::new(
                    key.clone(),
                    m.get(&key).map(String::as_str),
                    reason,
                ))
            })
        },
        no_fill,
        give_up,
    );
    for mut p in local.into_problems() {
        p.key = spelled(&p.key);
        report.push(p);
    }
    if let Some(c) = &config {
        for k in &c.unrecognized_keys {
            report.warn(
                &spelled(k),
                format!("`{k}` is not a producer setting Tidewater knows; ignored"),
            );
        }
    }
    config
}
