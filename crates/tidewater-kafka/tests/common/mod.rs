//! Helpers shared by the integration tests: configurations, and the independent client
//! (confluent-kafka / librdkafka in the project's virtualenv) beyond what the test kit wraps.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;
use tidewater_kafka::ProducerConfig;
use tidewater_testkit::{kafka_tool_script, python};

/// A configuration for `bootstrap` with short timeouts, plus `extra` keys.
pub(crate) fn config(bootstrap: &str, extra: &[(&str, &str)]) -> ProducerConfig {
    let mut props: Vec<(String, String)> = vec![
        ("bootstrap.servers".into(), bootstrap.into()),
        ("client.id".into(), "tidewater-test".into()),
        ("linger.ms".into(), "2".into()),
        ("request.timeout.ms".into(), "5000".into()),
        ("delivery.timeout.ms".into(), "20000".into()),
        ("max.block.ms".into(), "10000".into()),
        ("retry.backoff.ms".into(), "50".into()),
        ("retry.backoff.max.ms".into(), "500".into()),
    ];
    props.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    ProducerConfig::from_properties(props).expect("valid test configuration")
}

/// Runs `script` with the virtualenv's Python (`python -c script args...`), feeding `stdin`,
/// and parses its standard output as one JSON document.
pub(crate) fn run_python(script: &str, args: &[&str], stdin: &str) -> Value {
    let python = python().expect("the project's virtualenv (scripts/setup.sh)");
    let mut child = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("python runs");
    assert!(
        output.status.success(),
        "python failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "python printed non-JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Topic name → partition count, as librdkafka sees the cluster.
pub(crate) fn topic_partitions(bootstrap: &str) -> BTreeMap<String, i64> {
    let python = python().expect("the project's virtualenv (scripts/setup.sh)");
    let output = Command::new(python)
        .arg(kafka_tool_script())
        .args(["--bootstrap", bootstrap, "list-topics"])
        .output()
        .expect("kafka_tool.py runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON line");
            (
                v["topic"].as_str().expect("topic").to_owned(),
                v["partitions"].as_i64().expect("partitions"),
            )
        })
        .collect()
}
