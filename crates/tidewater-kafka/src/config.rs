//! Producer configuration from Kafka-producer-style keys.
//!
//! [`ProducerConfig::from_properties`] reads the keys a Kafka Connect or Debezium user
//! already writes (`bootstrap.servers`, `linger.ms`, `compression.type`, …) and checks them;
//! every error names the offending key. The struct can also be filled in directly from
//! [`ProducerConfig::default`]. `docs/kafka.md` lists every key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use regex::Regex;

use crate::error::ConfigError;

/// Record batch compression (`compression.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Compression {
    /// `none`: uncompressed batches.
    #[default]
    None,
    /// `gzip`.
    Gzip,
    /// `snappy` (written as a raw Snappy block, which Kafka brokers and clients read; the
    /// Java client writes the xerial framing).
    Snappy,
    /// `lz4` (the LZ4 frame format).
    Lz4,
    /// `zstd`.
    Zstd,
}

impl Compression {
    /// Every compression type, in `compression.type` order.
    pub const ALL: [Self; 5] = [Self::None, Self::Gzip, Self::Snappy, Self::Lz4, Self::Zstd];

    /// The `compression.type` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Compression {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "" => Ok(Self::None),
            "gzip" => Ok(Self::Gzip),
            "snappy" => Ok(Self::Snappy),
            "lz4" => Ok(Self::Lz4),
            "zstd" => Ok(Self::Zstd),
            _ => Err(ConfigError::invalid(
                "compression.type",
                s,
                "expected one of none, gzip, snappy, lz4, zstd",
            )),
        }
    }
}

/// `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SecurityProtocol {
    /// `PLAINTEXT`: plain TCP.
    #[default]
    Plaintext,
    /// `SSL`: TLS.
    Ssl,
    /// `SASL_PLAINTEXT`: SASL authentication over plain TCP.
    SaslPlaintext,
    /// `SASL_SSL`: SASL authentication over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// The `security.protocol` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether the connection uses TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// Whether the connection authenticates with SASL.
    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `sasl.mechanism`: the mechanisms rskafka implements with a username and password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SaslMechanism {
    /// `PLAIN` (RFC 4616).
    Plain,
    /// `SCRAM-SHA-256` (RFC 7677).
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
}

impl SaslMechanism {
    /// The `sasl.mechanism` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// SASL credentials. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SaslConfig {
    /// The mechanism.
    pub mechanism: SaslMechanism,
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslConfig")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// Where trusted CA certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustStore {
    /// A PEM file of one or more CA certificates (`ssl.truststore.location` with
    /// `ssl.truststore.type=PEM`, or librdkafka's `ssl.ca.location`). A system bundle such as
    /// `/etc/ssl/certs/ca-certificates.crt` works.
    PemFile(PathBuf),
    /// PEM text (`ssl.truststore.certificates`).
    Pem(String),
}

/// A client certificate for mutual TLS.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyStore {
    /// A PEM file holding the certificate chain and an unencrypted private key
    /// (`ssl.keystore.location` with `ssl.keystore.type=PEM`).
    PemFile(PathBuf),
    /// PEM text of the chain and of the unencrypted key (`ssl.keystore.certificate.chain` and
    /// `ssl.keystore.key`).
    Pem {
        /// The certificate chain.
        certificate_chain: String,
        /// The private key.
        key: String,
    },
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PemFile(path) => f.debug_tuple("PemFile").field(path).finish(),
            Self::Pem { .. } => f.write_str("Pem { <hidden> }"),
        }
    }
}

/// TLS settings (used when `security.protocol` is `SSL` or `SASL_SSL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// Trusted CA certificates; required for TLS (no system roots are built in).
    pub trust_store: Option<TrustStore>,
    /// Client certificate, if the brokers require one.
    pub key_store: Option<KeyStore>,
    /// Whether the broker's certificate must name the host connected to
    /// (`ssl.endpoint.identification.algorithm`: `https`, the default, or empty to disable).
    pub verify_hostname: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            trust_store: None,
            key_store: None,
            verify_hostname: true,
        }
    }
}

/// Partition count, replication factor and topic-level configs of a topic the producer
/// creates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopicSettings {
    /// Number of partitions; -1 asks for the broker's default (`num.partitions`).
    pub partitions: i32,
    /// Replication factor; -1 asks for the broker's default (`default.replication.factor`).
    pub replication_factor: i16,
    /// Topic-level configs sent with the creation request (`cleanup.policy`,
    /// `compression.type`, `retention.ms`, ...): a group's
    /// `topic.creation.<group>.<property>` keys other than `partitions`,
    /// `replication.factor`, `include` and `exclude`. Configs not given take the broker's
    /// defaults; the broker refuses unknown names and invalid values.
    pub configs: BTreeMap<String, String>,
}

impl Default for TopicSettings {
    fn default() -> Self {
        Self {
            partitions: -1,
            replication_factor: -1,
            configs: BTreeMap::new(),
        }
    }
}

/// A `topic.creation.<group>` block: topics matching `include` and not `exclude` are created
/// with the group's settings.
#[derive(Debug, Clone)]
pub struct TopicCreationGroup {
    /// The group's name.
    pub name: String,
    /// Patterns a topic must match (whole name, as Java's `Pattern.matches`).
    pub include: Vec<Regex>,
    /// Patterns that exclude a topic (whole name).
    pub exclude: Vec<Regex>,
    /// Settings for the group's topics.
    pub settings: TopicSettings,
}

impl TopicCreationGroup {
    /// Whether `topic` belongs to this group.
    pub fn matches(&self, topic: &str) -> bool {
        self.include.iter().any(|r| r.is_match(topic))
            && !self.exclude.iter().any(|r| r.is_match(topic))
    }
}

/// Kafka Connect-style topic creation (`topic.creation.*`).
#[derive(Debug, Clone)]
pub struct TopicCreation {
    /// Whether missing topics are created (`topic.creation.enable`, default `true`). When
    /// `false`, producing to a missing topic fails with
    /// [`SinkError::UnknownTopic`](crate::SinkError::UnknownTopic).
    pub enabled: bool,
    /// The default group: `topic.creation.default.partitions`, `.replication.factor` and
    /// topic configs (`topic.creation.default.<property>`).
    pub default: TopicSettings,
    /// `topic.creation.groups`, in the order listed; the first matching group wins.
    pub groups: Vec<TopicCreationGroup>,
}

impl Default for TopicCreation {
    fn default() -> Self {
        Self {
            enabled: true,
            default: TopicSettings::default(),
            groups: Vec::new(),
        }
    }
}

impl TopicCreation {
    /// The settings for a new topic: those of the first group matching it, else the default.
    pub fn settings_for(&self, topic: &str) -> &TopicSettings {
        self.groups
            .iter()
            .find(|g| g.matches(topic))
            .map_or(&self.default, |g| &g.settings)
    }
}

/// Settings of the Kafka producer and of the sink chosen from them.
///
/// Defaults follow the Java producer's (`linger.ms` follows Kafka 4.0's 5 ms). Build one from
/// Kafka-style keys with [`from_properties`](Self::from_properties), or start from
/// [`Default`] and set fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProducerConfig {
    /// `bootstrap.servers`: `host:port` entries. Empty means "no Kafka": the
    /// [`AnySink`](crate::AnySink) built from this configuration writes JSON lines to stdout.
    pub bootstrap_servers: Vec<String>,
    /// `client.id` (default `tidewater`).
    pub client_id: String,
    /// `batch.size`: bytes per partition batch before it is sent without waiting for
    /// `linger.ms` (default 16384). A record larger than this goes alone.
    pub batch_size: usize,
    /// `linger.ms`: how long a partition batch waits for more records (default 5 ms).
    pub linger: Duration,
    /// `buffer.memory`: bytes of records queued or in flight before `send` waits (default
    /// 32 MiB).
    pub buffer_memory: usize,
    /// `compression.type` (default `none`).
    pub compression: Compression,
    /// `delivery.timeout.ms`: upper bound for a record from `send` to its acknowledgement,
    /// retries included (default 120 s). Must be at least `linger.ms + request.timeout.ms`.
    pub delivery_timeout: Duration,
    /// `request.timeout.ms`: how long one produce request may take (default 30 s).
    pub request_timeout: Duration,
    /// `retry.backoff.ms`: first wait before retrying (default 100 ms).
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms`: longest wait between retries (default 1000 ms); the wait
    /// doubles from `retry.backoff.ms` up to this.
    pub retry_backoff_max: Duration,
    /// `retries`: produce attempts after the first (default unlimited, bounded by
    /// `delivery.timeout.ms`).
    pub retries: u32,
    /// `max.request.size`: largest record (and largest batch) in bytes (default 1 MiB).
    pub max_request_size: usize,
    /// `max.in.flight.requests.per.connection`: produce requests in flight per broker
    /// (default 1, as Kafka Connect sets it for source connectors; the Java producer's own
    /// default is 5). Whatever the value, a partition has one batch in flight at a time, so
    /// records keep their order across retries.
    pub max_in_flight: usize,
    /// `max.block.ms`: how long `send` may wait for metadata, topic creation or room in
    /// `buffer.memory`, and how long connecting may take (default 60 s).
    pub max_block: Duration,
    /// `metadata.max.age.ms`: partition counts are re-read after this long, so added
    /// partitions are used (default 5 min).
    pub metadata_max_age: Duration,
    /// `security.protocol` (default `PLAINTEXT`).
    pub security_protocol: SecurityProtocol,
    /// TLS settings, used with `SSL` and `SASL_SSL`.
    pub tls: TlsConfig,
    /// SASL credentials, used with `SASL_PLAINTEXT` and `SASL_SSL`.
    pub sasl: Option<SaslConfig>,
    /// Topic creation.
    pub topic_creation: TopicCreation,
    /// Keys given to [`from_properties`](Self::from_properties) that the producer does not
    /// know (they are ignored, like the Java producer ignores unknown keys).
    pub unrecognized_keys: Vec<String>,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        Self {
            bootstrap_servers: Vec::new(),
            client_id: "tidewater".to_owned(),
            batch_size: 16_384,
            linger: Duration::from_millis(5),
            buffer_memory: 32 * 1024 * 1024,
            compression: Compression::None,
            delivery_timeout: Duration::from_millis(120_000),
            request_timeout: Duration::from_millis(30_000),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_millis(1_000),
            retries: u32::MAX,
            max_request_size: 1_048_576,
            max_in_flight: 1,
            max_block: Duration::from_millis(60_000),
            metadata_max_age: Duration::from_millis(300_000),
            security_protocol: SecurityProtocol::Plaintext,
            tls: TlsConfig::default(),
            sasl: None,
            topic_creation: TopicCreation::default(),
            unrecognized_keys: Vec::new(),
        }
    }
}

/// Every key [`ProducerConfig::from_properties`] reads. Besides these, it reads the
/// `topic.creation.<group>.*` keys of the default group and of the groups listed in
/// `topic.creation.groups` (topic configs among them), and accepts [`IGNORED_PRODUCER_KEYS`].
pub const PRODUCER_KEYS: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "acks",
    "enable.idempotence",
    "transactional.id",
    "batch.size",
    "linger.ms",
    "buffer.memory",
    "compression.type",
    "delivery.timeout.ms",
    "request.timeout.ms",
    "retry.backoff.ms",
    "retry.backoff.max.ms",
    "retries",
    "max.request.size",
    "max.in.flight.requests.per.connection",
    "max.block.ms",
    "metadata.max.age.ms",
    "security.protocol",
    "ssl.truststore.type",
    "ssl.truststore.password",
    "ssl.truststore.location",
    "ssl.ca.location",
    "ssl.truststore.certificates",
    "ssl.keystore.type",
    "ssl.key.password",
    "ssl.keystore.password",
    "ssl.keystore.location",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.endpoint.identification.algorithm",
    "sasl.mechanism",
    "sasl.username",
    "sasl.password",
    "sasl.jaas.config",
    "topic.creation.enable",
    "topic.creation.groups",
    "topic.creation.default.partitions",
    "topic.creation.default.replication.factor",
];

/// Keys that are accepted and have no effect here (the producer's behaviour already is what
/// they ask for, or they only matter to the JVM).
pub const IGNORED_PRODUCER_KEYS: &[&str] = ACCEPTED_WITHOUT_EFFECT;

const ACCEPTED_WITHOUT_EFFECT: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "partitioner.class",
    "partitioner.ignore.keys",
    "receive.buffer.bytes",
    "send.buffer.bytes",
    "connections.max.idle.ms",
    "reconnect.backoff.ms",
    "reconnect.backoff.max.ms",
    "metrics.sample.window.ms",
    "metrics.num.samples",
    "metrics.recording.level",
    "metric.reporters",
    "ssl.protocol",
    "ssl.enabled.protocols",
    "sasl.client.callback.handler.class",
];

impl ProducerConfig {
    /// Reads Kafka producer keys (later duplicates win). Unknown keys are collected in
    /// [`unrecognized_keys`](Self::unrecognized_keys) and otherwise ignored; values the
    /// producer cannot honour (such as `acks=1` or `enable.idempotence=true`) are errors.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tidewater_kafka::{Compression, ProducerConfig};
    ///
    /// let config = ProducerConfig::from_properties([
    ///     ("bootstrap.servers", "broker-1:9092,broker-2:9092"),
    ///     ("linger.ms", "20"),
    ///     ("compression.type", "zstd"),
    ///     ("topic.creation.default.partitions", "6"),
    /// ])?;
    /// assert_eq!(config.bootstrap_servers.len(), 2);
    /// assert_eq!(config.linger, Duration::from_millis(20));
    /// assert_eq!(config.compression, Compression::Zstd);
    ///
    /// let err = ProducerConfig::from_properties([("batch.size", "big")]).unwrap_err();
    /// assert_eq!(err.key(), "batch.size");
    /// # Ok::<(), tidewater_kafka::ConfigError>(())
    /// ```
    pub fn from_properties<I, K, V>(properties: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let props: BTreeMap<String, String> = properties
            .into_iter()
            .map(|(k, v)| (k.as_ref().trim().to_owned(), v.as_ref().trim().to_owned()))
            .collect();
        let mut config = Self::default();
        let mut handled: Vec<&str> = Vec::new();
        let get = |key: &'static str, handled: &mut Vec<&str>| -> Option<&str> {
            handled.push(key);
            props.get(key).map(String::as_str)
        };

        if let Some(v) = get("bootstrap.servers", &mut handled) {
            config.bootstrap_servers = parse_servers(v)?;
        }
        if let Some(v) = get("client.id", &mut handled) {
            v.clone_into(&mut config.client_id);
        }
        if let Some(v) = get("acks", &mut handled)
            && !matches!(v.to_ascii_lowercase().as_str(), "all" | "-1")
        {
            return Err(ConfigError::unsupported(
                "acks",
                v,
                "the producer always waits for all in-sync replicas (acks=all)",
            ));
        }
        if let Some(v) = get("enable.idempotence", &mut handled)
            && parse_bool("enable.idempotence", v)?
        {
            return Err(ConfigError::unsupported(
                "enable.idempotence",
                v,
                "rskafka has no idempotent producer; records are delivered at least once \
                 (set enable.idempotence=false)",
            ));
        }
        if let Some(v) = get("transactional.id", &mut handled)
            && !v.is_empty()
        {
            return Err(ConfigError::unsupported(
                "transactional.id",
                v,
                "transactions are not supported",
            ));
        }
        if let Some(v) = get("batch.size", &mut handled) {
            config.batch_size = parse_usize("batch.size", v, 0)?;
        }
        if let Some(v) = get("linger.ms", &mut handled) {
            config.linger = parse_millis("linger.ms", v, 0)?;
        }
        if let Some(v) = get("buffer.memory", &mut handled) {
            config.buffer_memory = parse_usize("buffer.memory", v, 1)?;
        }
        if let Some(v) = get("compression.type", &mut handled) {
            config.compression = v.parse()?;
        }
        if let Some(v) = get("delivery.timeout.ms", &mut handled) {
            config.delivery_timeout = parse_millis("delivery.timeout.ms", v, 1)?;
        }
        if let Some(v) = get("request.timeout.ms", &mut handled) {
            config.request_timeout = parse_millis("request.timeout.ms", v, 1)?;
        }
        if let Some(v) = get("retry.backoff.ms", &mut handled) {
            config.retry_backoff = parse_millis("retry.backoff.ms", v, 0)?;
        }
        if let Some(v) = get("retry.backoff.max.ms", &mut handled) {
            config.retry_backoff_max = parse_millis("retry.backoff.max.ms", v, 0)?;
        }
        if let Some(v) = get("retries", &mut handled) {
            let retries = parse_usize("retries", v, 0)?;
            config.retries = u32::try_from(retries).unwrap_or(u32::MAX);
        }
        if let Some(v) = get("max.request.size", &mut handled) {
            config.max_request_size = parse_usize("max.request.size", v, 1)?;
        }
        if let Some(v) = get("max.in.flight.requests.per.connection", &mut handled) {
            config.max_in_flight = parse_usize("max.in.flight.requests.per.connection", v, 1)?;
        }
        if let Some(v) = get("max.block.ms", &mut handled) {
            config.max_block = parse_millis("max.block.ms", v, 0)?;
        }
        if let Some(v) = get("metadata.max.age.ms", &mut handled) {
            config.metadata_max_age = parse_millis("metadata.max.age.ms", v, 0)?;
        }

        parse_security(&props, &mut config, &mut handled)?;
        parse_topic_creation(&props, &mut config, &mut handled)?;

        config.unrecognized_keys = props
            .keys()
            .filter(|k| {
                !handled.contains(&k.as_str())
                    && !ACCEPTED_WITHOUT_EFFECT.contains(&k.as_str())
                    && !k.starts_with("topic.creation.")
            })
            .cloned()
            .collect();
        config.validate()?;
        Ok(config)
    }

    /// Checks the relations between settings (also for a configuration built by hand).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let needed = self.linger.saturating_add(self.request_timeout);
        if self.delivery_timeout < needed {
            return Err(ConfigError::invalid(
                "delivery.timeout.ms",
                self.delivery_timeout.as_millis().to_string(),
                format!(
                    "must be at least linger.ms + request.timeout.ms = {} ms",
                    needed.as_millis()
                ),
            ));
        }
        if self.buffer_memory == 0 {
            return Err(ConfigError::invalid(
                "buffer.memory",
                "0",
                "must be positive",
            ));
        }
        if u32::try_from(self.buffer_memory).is_err() {
            return Err(ConfigError::invalid(
                "buffer.memory",
                self.buffer_memory.to_string(),
                "must be below 4 GiB",
            ));
        }
        if self.max_in_flight == 0 {
            return Err(ConfigError::invalid(
                "max.in.flight.requests.per.connection",
                "0",
                "must be at least 1",
            ));
        }
        if self.max_request_size == 0 {
            return Err(ConfigError::invalid(
                "max.request.size",
                "0",
                "must be positive",
            ));
        }
        if self.security_protocol.uses_tls() && self.tls.trust_store.is_none() {
            return Err(ConfigError::Missing {
                key: "ssl.truststore.location".to_owned(),
                reason: format!(
                    "security.protocol={} needs trusted CA certificates in PEM \
                     (ssl.truststore.location, ssl.ca.location or ssl.truststore.certificates); \
                     a system bundle such as /etc/ssl/certs/ca-certificates.crt works",
                    self.security_protocol
                ),
            });
        }
        if self.security_protocol.uses_sasl() && self.sasl.is_none() {
            return Err(ConfigError::Missing {
                key: "sasl.jaas.config".to_owned(),
                reason: format!(
                    "security.protocol={} needs a username and password \
                     (sasl.jaas.config, or sasl.username and sasl.password)",
                    self.security_protocol
                ),
            });
        }
        for group in &self.topic_creation.groups {
            if group.include.is_empty() {
                return Err(ConfigError::Missing {
                    key: format!("topic.creation.{}.include", group.name),
                    reason: "every group in topic.creation.groups needs include patterns"
                        .to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Whether brokers are configured (`bootstrap.servers` non-empty).
    pub fn has_brokers(&self) -> bool {
        !self.bootstrap_servers.is_empty()
    }
}

fn parse_servers(value: &str) -> Result<Vec<String>, ConfigError> {
    let mut servers = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let bare = entry
            .split_once("://")
            .map_or(entry, |(_scheme, rest)| rest);
        let port_ok = bare
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(ConfigError::invalid(
                "bootstrap.servers",
                value,
                format!("entry {entry:?} is not host:port"),
            ));
        }
        servers.push(bare.to_owned());
    }
    Ok(servers)
}

fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConfigError::invalid(key, value, "expected true or false")),
    }
}

fn parse_usize(key: &str, value: &str, min: usize) -> Result<usize, ConfigError> {
    let n: usize = value
        .parse()
        .map_err(|_| ConfigError::invalid(key, value, "expected a non-negative integer"))?;
    if n < min {
        return Err(ConfigError::invalid(
            key,
            value,
            format!("must be at least {min}"),
        ));
    }
    Ok(n)
}

fn parse_millis(key: &str, value: &str, min: u64) -> Result<Duration, ConfigError> {
    let n: u64 = value.parse().map_err(|_| {
        ConfigError::invalid(key, value, "expected a non-negative number of milliseconds")
    })?;
    if n < min {
        return Err(ConfigError::invalid(
            key,
            value,
            format!("must be at least {min}"),
        ));
    }
    Ok(Duration::from_millis(n))
}

fn parse_security<'a>(
    props: &BTreeMap<String, String>,
    config: &mut ProducerConfig,
    handled: &mut Vec<&'a str>,
) -> Result<(), ConfigError> {
    let mut get = |key: &'a str| -> Option<&str> {
        handled.push(key);
        props.get(key).map(String::as_str).filter(|v| !v.is_empty())
    };
    if let Some(v) = get("security.protocol") {
        config.security_protocol = match v.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => SecurityProtocol::Plaintext,
            "SSL" => SecurityProtocol::Ssl,
            "SASL_PLAINTEXT" => SecurityProtocol::SaslPlaintext,
            "SASL_SSL" => SecurityProtocol::SaslSsl,
            _ => {
                return Err(ConfigError::invalid(
                    "security.protocol",
                    v,
                    "expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
                ));
            }
        };
    }

    // Trust store.
    let truststore_type = get("ssl.truststore.type");
    if let Some(t) = truststore_type
        && !t.eq_ignore_ascii_case("PEM")
    {
        return Err(ConfigError::unsupported(
            "ssl.truststore.type",
            t,
            "only PEM trust stores are supported (convert a JKS or PKCS12 store to PEM)",
        ));
    }
    if let Some(v) = get("ssl.truststore.password") {
        return Err(ConfigError::unsupported(
            "ssl.truststore.password",
            v.chars().map(|_| '*').collect::<String>(),
            "PEM trust stores carry no password",
        ));
    }
    if let Some(path) = get("ssl.truststore.location").or_else(|| get("ssl.ca.location")) {
        config.tls.trust_store = Some(TrustStore::PemFile(PathBuf::from(path)));
    } else if let Some(pem) = get("ssl.truststore.certificates") {
        config.tls.trust_store = Some(TrustStore::Pem(pem.to_owned()));
    }

    // Key store.
    if let Some(t) = get("ssl.keystore.type")
        && !t.eq_ignore_ascii_case("PEM")
    {
        return Err(ConfigError::unsupported(
            "ssl.keystore.type",
            t,
            "only PEM key stores are supported",
        ));
    }
    for key in ["ssl.key.password", "ssl.keystore.password"] {
        if get(key).is_some() {
            return Err(ConfigError::unsupported(
                key,
                "********",
                "encrypted private keys are not supported; use an unencrypted PEM key",
            ));
        }
    }
    if let Some(path) = get("ssl.keystore.location") {
        config.tls.key_store = Some(KeyStore::PemFile(PathBuf::from(path)));
    } else {
        let chain = get("ssl.keystore.certificate.chain").map(str::to_owned);
        let key = get("ssl.keystore.key").map(str::to_owned);
        match (chain, key) {
            (Some(certificate_chain), Some(key)) => {
                config.tls.key_store = Some(KeyStore::Pem {
                    certificate_chain,
                    key,
                });
            }
            (Some(_), None) => {
                return Err(ConfigError::Missing {
                    key: "ssl.keystore.key".to_owned(),
                    reason: "ssl.keystore.certificate.chain needs its private key".to_owned(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Missing {
                    key: "ssl.keystore.certificate.chain".to_owned(),
                    reason: "ssl.keystore.key needs its certificate chain".to_owned(),
                });
            }
            (None, None) => {}
        }
    }
    handled.push("ssl.endpoint.identification.algorithm");
    if let Some(v) = props.get("ssl.endpoint.identification.algorithm") {
        config.tls.verify_hostname = match v.to_ascii_lowercase().as_str() {
            "https" => true,
            "" => false,
            _ => {
                return Err(ConfigError::invalid(
                    "ssl.endpoint.identification.algorithm",
                    v,
                    "expected https, or an empty value to skip host name verification",
                ));
            }
        };
    }

    // SASL.
    let mut get = |key: &'a str| -> Option<&str> {
        handled.push(key);
        props.get(key).map(String::as_str).filter(|v| !v.is_empty())
    };
    let mechanism = match get("sasl.mechanism") {
        None => None,
        Some(v) => Some(match v.to_ascii_uppercase().as_str() {
            "PLAIN" => SaslMechanism::Plain,
            "SCRAM-SHA-256" => SaslMechanism::ScramSha256,
            "SCRAM-SHA-512" => SaslMechanism::ScramSha512,
            _ => {
                return Err(ConfigError::unsupported(
                    "sasl.mechanism",
                    v,
                    "supported mechanisms are PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512",
                ));
            }
        }),
    };
    let mut username = get("sasl.username").map(str::to_owned);
    let mut password = get("sasl.password").map(str::to_owned);
    if let Some(jaas) = get("sasl.jaas.config") {
        let options = parse_jaas(jaas)?;
        for (name, value) in options {
            match name.as_str() {
                "username" => username = Some(value),
                "password" => password = Some(value),
                _ => {}
            }
        }
    }
    if config.security_protocol.uses_sasl() {
        let mechanism = mechanism.ok_or_else(|| ConfigError::Missing {
            key: "sasl.mechanism".to_owned(),
            reason: format!(
                "security.protocol={} needs PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 \
                 (Kafka's default, GSSAPI, is not supported)",
                config.security_protocol
            ),
        })?;
        match (username, password) {
            (Some(username), Some(password)) => {
                config.sasl = Some(SaslConfig {
                    mechanism,
                    username,
                    password,
                });
            }
            (None, _) => {
                return Err(ConfigError::Missing {
                    key: "sasl.jaas.config".to_owned(),
                    reason: "no username (set username=\"...\" in sasl.jaas.config, or \
                             sasl.username)"
                        .to_owned(),
                });
            }
            (Some(_), None) => {
                return Err(ConfigError::Missing {
                    key: "sasl.jaas.config".to_owned(),
                    reason: "no password (set password=\"...\" in sasl.jaas.config, or \
                             sasl.password)"
                        .to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// The `name="value"` options of a JAAS line such as
/// `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`.
fn parse_jaas(jaas: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let bad = |reason: &str| ConfigError::invalid("sasl.jaas.config", "<hidden>", reason);
    let mut rest = jaas.trim().trim_end_matches(';').trim();
    // The login module class name and the control flag come first.
    let mut words = 0;
    while words < 2 {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        if word.contains('=') {
            break;
        }
        words += 1;
        rest = tail.trim_start();
    }
    if words < 2 {
        return Err(bad(
            "expected `<LoginModule class> required name=\"value\" ...;`",
        ));
    }
    let mut options = Vec::new();
    while !rest.is_empty() {
        let (name, tail) = rest
            .split_once('=')
            .ok_or_else(|| bad("expected name=\"value\" options"))?;
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(bad("expected name=\"value\" options"));
        }
        let tail = tail.trim_start();
        let (value, after) = if let Some(quoted) = tail.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    _ => value.push(c),
                }
            }
            let end = end.ok_or_else(|| bad("unterminated quoted value"))?;
            (value, quoted.get(end..).unwrap_or(""))
        } else {
            let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
            let (value, after) = tail.split_at(end);
            (value.to_owned(), after)
        };
        options.push((name.to_owned(), value));
        rest = after.trim_start();
    }
    Ok(options)
}

/// A group's settings from its `<prefix>.*` keys. Unset partitions and replication factor
/// come from `fallback`; topic configs come from the group's own keys only (as in Kafka
/// Connect, where a group does not inherit the default group's topic configs).
fn parse_topic_settings(
    props: &BTreeMap<String, String>,
    prefix: &str,
    fallback: &TopicSettings,
) -> Result<TopicSettings, ConfigError> {
    let mut settings = TopicSettings {
        partitions: fallback.partitions,
        replication_factor: fallback.replication_factor,
        configs: BTreeMap::new(),
    };
    let key = format!("{prefix}.partitions");
    if let Some(v) = props.get(&key) {
        let n: i32 = v
            .parse()
            .map_err(|_| ConfigError::invalid(&key, v, "expected an integer"))?;
        if n == 0 || n < -1 {
            return Err(ConfigError::invalid(
                &key,
                v,
                "must be at least 1, or -1 for the broker default",
            ));
        }
        settings.partitions = n;
    }
    let key = format!("{prefix}.replication.factor");
    if let Some(v) = props.get(&key) {
        let n: i16 = v
            .parse()
            .map_err(|_| ConfigError::invalid(&key, v, "expected an integer"))?;
        if n == 0 || n < -1 {
            return Err(ConfigError::invalid(
                &key,
                v,
                "must be at least 1, or -1 for the broker default",
            ));
        }
        settings.replication_factor = n;
    }
    let group_prefix = format!("{prefix}.");
    for (key, value) in props.range(group_prefix.clone()..) {
        let Some(property) = key.strip_prefix(&group_prefix) else {
            break;
        };
        if GROUP_PROPERTIES.contains(&property) {
            continue;
        }
        if property.is_empty() || property.trim() != property {
            return Err(ConfigError::invalid(
                key,
                value,
                "expected topic.creation.<group>.<topic config name>, such as \
                 topic.creation.default.cleanup.policy",
            ));
        }
        settings.configs.insert(property.to_owned(), value.clone());
    }
    Ok(settings)
}

/// The `topic.creation.<group>.<property>` names that are settings of the group, not topic
/// configs. `include` and `exclude` of the default group are ignored, as Kafka Connect
/// ignores them (the default group takes every topic no other group takes).
const GROUP_PROPERTIES: &[&str] = &["partitions", "replication.factor", "include", "exclude"];

fn parse_patterns(key: &str, value: &str) -> Result<Vec<Regex>, ConfigError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| ConfigError::invalid(key, value, format!("pattern {p:?}: {e}")))
        })
        .collect()
}

fn parse_topic_creation(
    props: &BTreeMap<String, String>,
    config: &mut ProducerConfig,
    handled: &mut Vec<&str>,
) -> Result<(), ConfigError> {
    handled.push("topic.creation.enable");
    if let Some(v) = props.get("topic.creation.enable") {
        config.topic_creation.enabled = parse_bool("topic.creation.enable", v)?;
    }
    config.topic_creation.default =
        parse_topic_settings(props, "topic.creation.default", &TopicSettings::default())?;

    let mut group_names: Vec<String> = Vec::new();
    if let Some(v) = props.get("topic.creation.groups") {
        for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "default" {
                return Err(ConfigError::invalid(
                    "topic.creation.groups",
                    v,
                    "`default` is implicit and cannot be listed",
                ));
            }
            if !group_names.iter().any(|n| n == name) {
                group_names.push(name.to_owned());
            }
        }
    }
    for name in &group_names {
        let prefix = format!("topic.creation.{name}");
        let include_key = format!("{prefix}.include");
        let include = match props.get(&include_key) {
            Some(v) => parse_patterns(&include_key, v)?,
            None => Vec::new(),
        };
        let exclude_key = format!("{prefix}.exclude");
        let exclude = match props.get(&exclude_key) {
            Some(v) => parse_patterns(&exclude_key, v)?,
            None => Vec::new(),
        };
        let settings = parse_topic_settings(props, &prefix, &config.topic_creation.default)?;
        config.topic_creation.groups.push(TopicCreationGroup {
            name: name.clone(),
            include,
            exclude,
            settings,
        });
    }

    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<ProducerConfig, ConfigError> {
        ProducerConfig::from_properties(pairs.iter().copied())
    }

    #[test]
    fn defaults_follow_the_java_producer() {
        let c = parse(&[]).unwrap();
        assert!(!c.has_brokers());
        assert_eq!(c.batch_size, 16_384);
        assert_eq!(c.buffer_memory, 33_554_432);
        assert_eq!(c.max_request_size, 1_048_576);
        assert_eq!(c.max_in_flight, 1, "Kafka Connect's setting");
        assert_eq!(c.delivery_timeout, Duration::from_secs(120));
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.compression, Compression::None);
        assert!(c.topic_creation.enabled);
        assert_eq!(c.topic_creation.default, TopicSettings::default());
    }

    #[test]
    fn reads_every_key() {
        let c = parse(&[
            ("bootstrap.servers", " a:9092 , PLAINTEXT://b:9093,"),
            ("client.id", "me"),
            ("acks", "all"),
            ("enable.idempotence", "false"),
            ("batch.size", "1000"),
            ("linger.ms", "7"),
            ("buffer.memory", "123456"),
            ("compression.type", "LZ4"),
            ("delivery.timeout.ms", "5000"),
            ("request.timeout.ms", "2000"),
            ("retry.backoff.ms", "10"),
            ("retry.backoff.max.ms", "200"),
            ("retries", "3"),
            ("max.request.size", "4096"),
            ("max.in.flight.requests.per.connection", "5"),
            ("max.block.ms", "100"),
            ("metadata.max.age.ms", "1000"),
            (
                "key.serializer",
                "org.apache.kafka.common.serialization.ByteArraySerializer",
            ),
            ("some.unknown.key", "x"),
        ])
        .unwrap();
        assert_eq!(c.bootstrap_servers, ["a:9092", "b:9093"]);
        assert_eq!(c.client_id, "me");
        assert_eq!(c.batch_size, 1000);
        assert_eq!(c.linger, Duration::from_millis(7));
        assert_eq!(c.buffer_memory, 123_456);
        assert_eq!(c.compression, Compression::Lz4);
        assert_eq!(c.delivery_timeout, Duration::from_millis(5000));
        assert_eq!(c.request_timeout, Duration::from_millis(2000));
        assert_eq!(c.retry_backoff, Duration::from_millis(10));
        assert_eq!(c.retry_backoff_max, Duration::from_millis(200));
        assert_eq!(c.retries, 3);
        assert_eq!(c.max_request_size, 4096);
        assert_eq!(c.max_in_flight, 5);
        assert_eq!(c.max_block, Duration::from_millis(100));
        assert_eq!(c.metadata_max_age, Duration::from_millis(1000));
        assert_eq!(c.unrecognized_keys, ["some.unknown.key"]);
    }

    #[test]
    fn errors_name_the_key() {
        for (pairs, key) in [
            (&[("batch.size", "-1")][..], "batch.size"),
            (&[("linger.ms", "soon")][..], "linger.ms"),
            (&[("compression.type", "brotli")][..], "compression.type"),
            (
                &[("bootstrap.servers", "localhost")][..],
                "bootstrap.servers",
            ),
            (&[("acks", "1")][..], "acks"),
            (&[("enable.idempotence", "true")][..], "enable.idempotence"),
            (&[("enable.idempotence", "yes")][..], "enable.idempotence"),
            (&[("security.protocol", "TLS")][..], "security.protocol"),
            (&[("buffer.memory", "0")][..], "buffer.memory"),
            (&[("max.request.size", "0")][..], "max.request.size"),
            (
                &[("max.in.flight.requests.per.connection", "0")][..],
                "max.in.flight.requests.per.connection",
            ),
            (
                &[
                    ("delivery.timeout.ms", "1000"),
                    ("request.timeout.ms", "2000"),
                ][..],
                "delivery.timeout.ms",
            ),
            (
                &[("security.protocol", "SSL")][..],
                "ssl.truststore.location",
            ),
            (
                &[("security.protocol", "SSL"), ("ssl.truststore.type", "JKS")][..],
                "ssl.truststore.type",
            ),
            (
                &[
                    ("security.protocol", "SASL_SSL"),
                    ("ssl.ca.location", "/ca.pem"),
                ][..],
                "sasl.mechanism",
            ),
            (
                &[
                    ("security.protocol", "SASL_PLAINTEXT"),
                    ("sasl.mechanism", "GSSAPI"),
                ][..],
                "sasl.mechanism",
            ),
            (
                &[
                    ("security.protocol", "SASL_PLAINTEXT"),
                    ("sasl.mechanism", "PLAIN"),
                ][..],
                "sasl.jaas.config",
            ),
            (
                &[("topic.creation.default.partitions", "0")][..],
                "topic.creation.default.partitions",
            ),
            (
                &[("topic.creation.default.replication.factor", "x")][..],
                "topic.creation.default.replication.factor",
            ),
            (
                &[("topic.creation.groups", "g")][..],
                "topic.creation.g.include",
            ),
            (
                &[
                    ("topic.creation.groups", "g"),
                    ("topic.creation.g.include", "a("),
                ][..],
                "topic.creation.g.include",
            ),
            (
                &[("topic.creation.default.", "compact")][..],
                "topic.creation.default.",
            ),
            (
                &[
                    ("topic.creation.groups", "g"),
                    ("topic.creation.g.include", "a"),
                    ("topic.creation.g.", "compact"),
                ][..],
                "topic.creation.g.",
            ),
            (
                &[("topic.creation.enable", "maybe")][..],
                "topic.creation.enable",
            ),
        ] {
            let err = parse(pairs).expect_err(&format!("{pairs:?} must fail"));
            assert_eq!(err.key(), key, "{pairs:?}: {err}");
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn tls_and_sasl() {
        let c = parse(&[
            ("security.protocol", "sasl_ssl"),
            ("ssl.truststore.location", "/etc/ca.pem"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.endpoint.identification.algorithm", ""),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            (
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="p\"w d";"#,
            ),
        ])
        .unwrap();
        assert_eq!(c.security_protocol, SecurityProtocol::SaslSsl);
        assert_eq!(
            c.tls.trust_store,
            Some(TrustStore::PemFile(PathBuf::from("/etc/ca.pem")))
        );
        assert!(!c.tls.verify_hostname);
        let sasl = c.sasl.unwrap();
        assert_eq!(sasl.mechanism, SaslMechanism::ScramSha512);
        assert_eq!(sasl.username, "alice");
        assert_eq!(sasl.password, "p\"w d");
        assert!(!format!("{sasl:?}").contains("p\\\"w"));

        let c = parse(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "bob"),
            ("sasl.password", "secret"),
        ])
        .unwrap();
        assert_eq!(c.sasl.unwrap().username, "bob");
    }

    #[test]
    fn topic_creation_groups() {
        let c = parse(&[
            ("topic.creation.default.partitions", "3"),
            ("topic.creation.default.replication.factor", "1"),
            ("topic.creation.groups", "compacted, big"),
            (
                "topic.creation.compacted.include",
                "server1\\.inventory\\..*, schema-changes",
            ),
            ("topic.creation.compacted.exclude", ".*\\.orders"),
            ("topic.creation.compacted.partitions", "1"),
            ("topic.creation.big.include", ".*\\.orders"),
            ("topic.creation.big.partitions", "12"),
            ("topic.creation.unlisted.partitions", "99"),
        ])
        .unwrap();
        let tc = &c.topic_creation;
        assert_eq!(tc.groups.len(), 2);
        assert_eq!(tc.settings_for("server1.inventory.customers").partitions, 1);
        assert_eq!(tc.settings_for("schema-changes").partitions, 1);
        // Whole-name matching: a prefix is not a match.
        assert_eq!(tc.settings_for("schema-changes-2").partitions, 3);
        let orders = tc.settings_for("server1.inventory.orders");
        assert_eq!(orders.partitions, 12);
        // Unset group settings fall back to the default group's.
        assert_eq!(orders.replication_factor, 1);
        assert_eq!(tc.settings_for("other").partitions, 3);
        assert_eq!(
            c.unrecognized_keys,
            Vec::<String>::new(),
            "topic.creation.* keys of unlisted groups are ignored like Connect does"
        );
    }

    #[test]
    fn topic_creation_configs_belong_to_their_group() {
        let c = parse(&[
            ("topic.creation.default.partitions", "3"),
            ("topic.creation.default.cleanup.policy", "compact"),
            ("topic.creation.default.compression.type", "lz4"),
            // Ignored for the default group, as in Kafka Connect; not topic configs.
            ("topic.creation.default.include", "x.*"),
            ("topic.creation.default.exclude", "y.*"),
            ("topic.creation.groups", "history, plain"),
            ("topic.creation.history.include", "schema-changes.*"),
            ("topic.creation.history.retention.ms", "-1"),
            ("topic.creation.history.replication.factor", "1"),
            ("topic.creation.plain.include", "plain\\..*"),
            // Keys of an unlisted group are nobody's configs.
            ("topic.creation.unlisted.cleanup.policy", "delete"),
        ])
        .unwrap();
        let tc = &c.topic_creation;
        let configs = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let default = configs(&[("cleanup.policy", "compact"), ("compression.type", "lz4")]);
        assert_eq!(tc.default.configs, default);
        assert_eq!(tc.settings_for("server1.public.t").configs, default);
        // The default group's include/exclude are ignored: it takes every other topic.
        assert_eq!(tc.settings_for("y1").configs, default);

        let history = tc.settings_for("schema-changes.server1");
        assert_eq!(history.configs, configs(&[("retention.ms", "-1")]));
        // Partitions fall back to the default group's; topic configs do not.
        assert_eq!(history.partitions, 3);
        assert_eq!(history.replication_factor, 1);

        let plain = tc.settings_for("plain.t");
        assert!(plain.configs.is_empty(), "{plain:?}");
        assert_eq!(plain.partitions, 3);
        assert_eq!(plain.replication_factor, -1);
        assert!(c.unrecognized_keys.is_empty(), "{:?}", c.unrecognized_keys);
    }

    #[test]
    fn every_listed_key_is_recognized() {
        for key in PRODUCER_KEYS.iter().chain(IGNORED_PRODUCER_KEYS) {
            // Whatever the value does (accepted or refused), the key is not unknown.
            if let Ok(c) = parse(&[(key, "1")]) {
                assert!(c.unrecognized_keys.is_empty(), "{key}: {c:?}");
            }
        }
        let c = parse(&[("not.a.producer.key", "1")]).unwrap();
        assert_eq!(c.unrecognized_keys, ["not.a.producer.key"]);
    }

    #[test]
    fn jaas_parsing() {
        let opts = parse_jaas(
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=u password=\"a b\";",
        )
        .unwrap();
        assert_eq!(
            opts,
            [
                ("username".to_owned(), "u".to_owned()),
                ("password".to_owned(), "a b".to_owned())
            ]
        );
        assert!(parse_jaas("username=\"x\"").is_err());
        assert!(parse_jaas("M required username=\"x").is_err());
    }
}
