//! `security.protocol=SASL_PLAINTEXT` with SCRAM against tansu started with
//! `--authentication`. tansu keeps SCRAM credentials in its storage and only accepts
//! authenticated clients with that flag, so the test starts it once without authentication
//! on SQLite, stores the credentials with librdkafka's AlterUserScramCredentials, and starts it
//! again on the same store with `--authentication`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "tests panic on unexpected results by design"
)]

mod common;

use std::time::{Duration, Instant};

use tidewater_kafka::{KafkaSink, ProducerConfig, ProducerRecord, Sink, SinkError};

use common::{TansuProcess, free_port, run_python};

fn sasl_config(port: u16, mechanism: &str, password: &str) -> ProducerConfig {
    ProducerConfig::from_properties([
        ("bootstrap.servers", format!("127.0.0.1:{port}")),
        ("security.protocol", "SASL_PLAINTEXT".to_owned()),
        ("sasl.mechanism", mechanism.to_owned()),
        (
            "sasl.jaas.config",
            format!(
                "org.apache.kafka.common.security.scram.ScramLoginModule required \
                 username=\"alice\" password=\"{password}\";"
            ),
        ),
        ("request.timeout.ms", "2000".to_owned()),
        ("delivery.timeout.ms", "10000".to_owned()),
        ("max.block.ms", "3000".to_owned()),
    ])
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produces_with_scram_authentication() {
    let port = free_port();
    let advertised = format!("127.0.0.1:{port}");
    let open = TansuProcess::start(
        tempfile::tempdir().unwrap(),
        port,
        &advertised,
        "sqlite://tansu.db",
        &[],
    );
    run_python(
        r#"
import json, sys
from confluent_kafka.admin import (AdminClient, ScramCredentialInfo, ScramMechanism,
                                   UserScramCredentialUpsertion)
admin = AdminClient({"bootstrap.servers": sys.argv[1]})
upserts = [UserScramCredentialUpsertion("alice", ScramCredentialInfo(m, 4096), b"s3cret")
           for m in (ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512)]
for future in admin.alter_user_scram_credentials(upserts).values():
    future.result(10)
print(json.dumps(True))
"#,
        &[&advertised],
        "",
    );
    let dir = open.stop();
    let _secured = TansuProcess::start(
        dir,
        port,
        &advertised,
        "sqlite://tansu.db",
        &["--authentication"],
    );

    for (mechanism, topic) in [
        ("SCRAM-SHA-256", "scram-256"),
        ("SCRAM-SHA-512", "scram-512"),
    ] {
        let mut sink = KafkaSink::connect(sasl_config(port, mechanism, "s3cret"))
            .await
            .unwrap_or_else(|e| panic!("{mechanism}: {e}"));
        let records = (0..20)
            .map(|i| {
                ProducerRecord::new(topic)
                    .key(format!("k{i}"))
                    .value(format!("v{i}"))
            })
            .collect();
        sink.send(records).await.unwrap();
        assert_eq!(sink.close().await.unwrap().len(), 20, "{mechanism}");

        // Read back by librdkafka, authenticating the same way.
        let count = run_python(
            r#"
import json, sys, time, uuid
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
consumer = Consumer({"bootstrap.servers": sys.argv[1], "security.protocol": "SASL_PLAINTEXT",
                     "sasl.mechanism": sys.argv[3], "sasl.username": "alice",
                     "sasl.password": "s3cret", "group.id": str(uuid.uuid4())})
topic = sys.argv[2]
meta = consumer.list_topics(topic, timeout=10).topics[topic]
consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions])
values, deadline = set(), time.monotonic() + 15
while len(values) < 20 and time.monotonic() < deadline:
    msg = consumer.poll(0.5)
    if msg is not None and msg.error() is None:
        values.add(msg.value().decode())
consumer.close()
print(json.dumps(len(values)))
"#,
            &[&advertised, topic, mechanism],
            "",
        );
        assert_eq!(count.as_u64(), Some(20), "{mechanism}");
    }

    // A wrong password is refused within max.block.ms.
    let started = Instant::now();
    let err = KafkaSink::connect(sasl_config(port, "SCRAM-SHA-256", "wrong"))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(matches!(err, SinkError::Connect { .. }), "{err:?}");
    // rskafka's message names the SASL failure ("... Sasl handshake failed ... invalid proof").
    assert!(err.to_string().contains("Sasl"), "{err}");
}
