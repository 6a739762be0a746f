//! Helpers shared by the integration tests: configurations, and the independent client
//! (confluent-kafka / librdkafka in the project's virtualenv) beyond what the test kit wraps.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tidewater_kafka::ProducerConfig;
use tidewater_testkit::{find_tansu, kafka_tool_script, kafka_topic_configs, python};

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

/// A free TCP port on 127.0.0.1 (released again, so racy in theory).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("local address")
        .port()
}

/// A tansu process started with options the test kit's `Broker` does not offer (another
/// advertised address, `--authentication`); killed when dropped.
pub(crate) struct TansuProcess {
    child: Option<Child>,
    /// The plaintext port it listens on.
    pub(crate) port: u16,
    /// Its working directory (holding a SQLite store, if any).
    pub(crate) dir: tempfile::TempDir,
}

impl TansuProcess {
    /// Starts `tansu broker` in `dir` on `127.0.0.1:port`, advertising `advertised`
    /// (`host:port`), with `storage` and `extra` arguments; waits until the port accepts.
    pub(crate) fn start(
        dir: tempfile::TempDir,
        port: u16,
        advertised: &str,
        storage: &str,
        extra: &[&str],
    ) -> Self {
        let tansu = find_tansu().expect("tansu (scripts/setup.sh installs it)");
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(dir.path().join("broker.log"))
            .expect("broker log");
        let child = Command::new(tansu)
            .arg("broker")
            .args(["--listener-url", &format!("tcp://127.0.0.1:{port}")])
            .args(["--advertised-listener-url", &format!("tcp://{advertised}")])
            .args(["--storage-engine", storage])
            .args(extra)
            .current_dir(dir.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("tansu starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child: Some(child),
            port,
            dir,
        }
    }

    /// Kills the process and returns its directory, for a restart with other options.
    pub(crate) fn stop(mut self) -> tempfile::TempDir {
        self.kill();
        let dir = tempfile::tempdir().expect("temporary directory");
        std::mem::replace(&mut self.dir, dir)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TansuProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Topic name → its topic-level configs, as librdkafka's `describe_configs` reports them
/// (tansu lists the configs a topic was created with).
pub(crate) fn topic_configs(
    bootstrap: &str,
    topics: &[&str],
) -> BTreeMap<String, BTreeMap<String, String>> {
    topics
        .iter()
        .map(|t| {
            let configs = kafka_topic_configs(bootstrap, t)
                .unwrap_or_else(|e| panic!("describe_configs of {t}: {e}"));
            ((*t).to_owned(), configs)
        })
        .collect()
}
