//! `security.protocol=SSL` against a real broker. tansu 0.6.0 cannot start its own TLS
//! listener (its `--cert` and `--key` options are declared as conflicting), so the test puts a
//! TLS-terminating proxy (tokio-rustls) in front of a plaintext tansu that advertises the
//! proxy's address; every connection of the sink, and of librdkafka reading back, goes through
//! TLS. The certificates are fixtures (`tests/fixtures/tls`, made by `generate.sh`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "tests panic on unexpected results by design"
)]

mod common;

use std::io::BufReader;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tidewater_kafka::{KafkaSink, ProducerConfig, ProducerRecord, Sink, SinkError};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use common::{TansuProcess, free_port, run_python};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn server_config(require_client_cert: bool) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let read = |name: &str| std::fs::read(fixture(name)).unwrap();
    let chain = rustls_pemfile::certs(&mut BufReader::new(read("server.pem").as_slice()))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut BufReader::new(read("server.key").as_slice()))
        .unwrap()
        .unwrap();
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if require_client_cert {
        let mut roots = RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut BufReader::new(read("ca.pem").as_slice())) {
            roots.add(cert.unwrap()).unwrap();
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(builder.with_single_cert(chain, key).unwrap())
}

/// Accepts TLS on `listener` and pipes each connection to `upstream`.
async fn tls_proxy(listener: TcpListener, acceptor: TlsAcceptor, upstream: SocketAddr) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                return;
            };
            let Ok(mut plain) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
        });
    }
}

/// A TLS endpoint (`localhost:<port>`) in front of a fresh broker.
async fn tls_broker(require_client_cert: bool) -> (TansuProcess, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let broker = TansuProcess::start(
        dir,
        free_port(),
        &format!("localhost:{proxy_port}"),
        "memory://tansu/",
        &[],
    );
    let upstream = SocketAddr::from(([127, 0, 0, 1], broker.port));
    tokio::spawn(tls_proxy(
        listener,
        TlsAcceptor::from(server_config(require_client_cert)),
        upstream,
    ));
    (broker, proxy_port)
}

fn ssl_config(proxy_port: u16, extra: &[(&str, String)]) -> ProducerConfig {
    let mut props: Vec<(String, String)> = vec![
        (
            "bootstrap.servers".into(),
            format!("localhost:{proxy_port}"),
        ),
        ("security.protocol".into(), "SSL".into()),
        ("request.timeout.ms".into(), "3000".into()),
        ("delivery.timeout.ms".into(), "10000".into()),
        ("max.block.ms".into(), "3000".into()),
        ("topic.creation.default.partitions".into(), "2".into()),
    ];
    props.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    ProducerConfig::from_properties(props).unwrap()
}

/// Reads `count` values of `topic` back with librdkafka over TLS.
fn read_back_over_tls(
    proxy_port: u16,
    topic: &str,
    count: usize,
    client_cert: bool,
) -> Vec<String> {
    let mut args = vec![
        format!("localhost:{proxy_port}"),
        topic.to_owned(),
        count.to_string(),
        fixture("ca.pem").display().to_string(),
    ];
    if client_cert {
        args.push(fixture("client.pem").display().to_string());
        args.push(fixture("client.key").display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let values = run_python(
        r#"
import json, sys, time, uuid
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
conf = {"bootstrap.servers": sys.argv[1], "security.protocol": "SSL",
        "ssl.ca.location": sys.argv[4], "group.id": str(uuid.uuid4()),
        "enable.auto.commit": False}
if len(sys.argv) > 5:
    conf["ssl.certificate.location"] = sys.argv[5]
    conf["ssl.key.location"] = sys.argv[6]
consumer = Consumer(conf)
topic, want = sys.argv[2], int(sys.argv[3])
meta = consumer.list_topics(topic, timeout=10).topics[topic]
consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions])
values, deadline = [], time.monotonic() + 15
while len(values) < want and time.monotonic() < deadline:
    msg = consumer.poll(0.5)
    if msg is not None and msg.error() is None:
        values.append(msg.value().decode())
consumer.close()
print(json.dumps(sorted(values)))
"#,
        &args,
        "",
    );
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

async fn produce_and_check(
    config: ProducerConfig,
    proxy_port: u16,
    topic: &str,
    client_cert: bool,
) {
    let mut sink = KafkaSink::connect(config).await.unwrap();
    let mut expected: Vec<String> = (0..50).map(|i| format!("tls-{i:03}")).collect();
    sink.send(
        expected
            .iter()
            .enumerate()
            .map(|(i, v)| {
                ProducerRecord::new(topic)
                    .key(format!("k{i}"))
                    .value(v.clone())
            })
            .collect(),
    )
    .await
    .unwrap();
    assert_eq!(sink.close().await.unwrap().len(), expected.len());
    expected.sort();
    assert_eq!(
        read_back_over_tls(proxy_port, topic, expected.len(), client_cert),
        expected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produces_over_tls_with_hostname_verification() {
    let (_broker, port) = tls_broker(false).await;
    let config = ssl_config(
        port,
        &[(
            "ssl.truststore.location",
            fixture("ca.pem").display().to_string(),
        )],
    );
    produce_and_check(config, port, "over-tls", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produces_over_mutual_tls_with_a_pem_keystore() {
    let (_broker, port) = tls_broker(true).await;
    let config = ssl_config(
        port,
        &[
            ("ssl.truststore.type", "PEM".to_owned()),
            (
                "ssl.truststore.certificates",
                std::fs::read_to_string(fixture("ca.pem")).unwrap(),
            ),
            ("ssl.keystore.type", "PEM".to_owned()),
            (
                "ssl.keystore.location",
                fixture("client-keystore.pem").display().to_string(),
            ),
        ],
    );
    produce_and_check(config, port, "over-mtls", true).await;

    // Without a client certificate the proxy refuses the handshake.
    let config = ssl_config(
        port,
        &[(
            "ssl.truststore.location",
            fixture("ca.pem").display().to_string(),
        )],
    );
    let err = KafkaSink::connect(config).await.unwrap_err();
    assert!(matches!(err, SinkError::Connect { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_server_certificate_is_a_connect_error() {
    let (_broker, port) = tls_broker(false).await;
    let config = ssl_config(
        port,
        &[(
            "ssl.truststore.location",
            fixture("other-ca.pem").display().to_string(),
        )],
    );
    let started = Instant::now();
    let err = KafkaSink::connect(config).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(matches!(err, SinkError::Connect { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&format!("localhost:{port}")), "{message}");
}

#[tokio::test]
async fn unreadable_or_empty_trust_store_is_a_config_error_naming_the_key() {
    let missing = ssl_config(
        1,
        &[("ssl.truststore.location", "/nonexistent/ca.pem".to_owned())],
    );
    let err = KafkaSink::connect(missing).await.unwrap_err();
    match &err {
        SinkError::Config(config) => assert_eq!(config.key(), "ssl.truststore.location"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");

    let not_pem = ssl_config(
        1,
        &[(
            "ssl.truststore.location",
            fixture("generate.sh").display().to_string(),
        )],
    );
    let err = KafkaSink::connect(not_pem).await.unwrap_err();
    assert!(err.to_string().contains("no PEM certificate"), "{err}");

    let bad_keystore = ssl_config(
        1,
        &[
            (
                "ssl.truststore.location",
                fixture("ca.pem").display().to_string(),
            ),
            (
                "ssl.keystore.location",
                fixture("client.pem").display().to_string(),
            ),
        ],
    );
    let err = KafkaSink::connect(bad_keystore).await.unwrap_err();
    match &err {
        SinkError::Config(config) => assert_eq!(config.key(), "ssl.keystore.location"),
        other => panic!("unexpected {other:?}"),
    }
}
