//! The table of every key a connector configuration may hold: its default, its meaning,
//! its group, whether it is supported, and (for the keys this crate reads itself) the kind
//! of value it takes. The table drives the validation of the runtime keys, the unknown-key
//! check and `docs/configuration.md` (a test checks that the page documents every entry).

/// Where a key belongs, as `docs/configuration.md` groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyGroup {
    /// The connector itself: `name`, `connector.class`, `tasks.max`.
    Connector,
    /// Reaching the database.
    Connection,
    /// Replication slot, publication and the replication stream.
    Replication,
    /// Reading existing rows.
    Snapshot,
    /// Which schemas, tables, columns and operations are captured.
    Filters,
    /// How PostgreSQL types become Connect types.
    TypeMapping,
    /// Topic names and what the envelope holds.
    Topics,
    /// Single message transforms and predicates.
    Transforms,
    /// Key, value and header converters.
    Converters,
    /// The Kafka producer.
    Producer,
    /// Heartbeats, failure handling, dead-letter topic, queues.
    Runtime,
    /// Where the last delivered position and snapshot progress are kept.
    Offsets,
    /// `${env:…}`, `${file:…}` and `${directory:…}` placeholders.
    Placeholders,
    /// Debezium and Kafka Connect keys that are accepted without effect, or refused.
    NotSupported,
}

impl KeyGroup {
    /// Every group, in the order of `docs/configuration.md`.
    pub const ALL: [KeyGroup; 14] = [
        KeyGroup::Connector,
        KeyGroup::Connection,
        KeyGroup::Replication,
        KeyGroup::Snapshot,
        KeyGroup::Filters,
        KeyGroup::TypeMapping,
        KeyGroup::Topics,
        KeyGroup::Transforms,
        KeyGroup::Converters,
        KeyGroup::Producer,
        KeyGroup::Runtime,
        KeyGroup::Offsets,
        KeyGroup::Placeholders,
        KeyGroup::NotSupported,
    ];

    /// The section title in `docs/configuration.md`.
    pub fn title(self) -> &'static str {
        match self {
            KeyGroup::Connector => "Connector",
            KeyGroup::Connection => "Connection",
            KeyGroup::Replication => "Slot, publication and replication stream",
            KeyGroup::Snapshot => "Snapshot",
            KeyGroup::Filters => "Filters",
            KeyGroup::TypeMapping => "Type mapping",
            KeyGroup::Topics => "Envelope and topics",
            KeyGroup::Transforms => "Transforms and predicates",
            KeyGroup::Converters => "Converters",
            KeyGroup::Producer => "Producer",
            KeyGroup::Runtime => "Runtime: heartbeats, errors, dead-letter topic, queues",
            KeyGroup::Offsets => "Offsets",
            KeyGroup::Placeholders => "Placeholders",
            KeyGroup::NotSupported => "Not yet supported",
        }
    }
}

/// Whether and how a key is honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Support {
    /// Read and honoured.
    Supported,
    /// An older name of the key given: read as that key, with a deprecation warning.
    /// When both names are set, the current one wins and the old one is ignored with a
    /// warning (as Debezium 2 ignores the old names).
    Legacy(&'static str),
    /// Another accepted name of the key given, without a warning.
    Alias(&'static str),
    /// Accepted and without effect: a warning says so.
    Ignored,
    /// Only the listed values are accepted (compared without case, after trimming; an
    /// empty list accepts nothing but an empty value): anything else is an error, because
    /// ignoring it would change what is produced.
    Rejected(&'static [&'static str]),
}

/// The kind of value a key this crate validates itself takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Any text (validated elsewhere, or free-form).
    Any,
    /// Text that must not be empty.
    NonEmpty,
    /// `true` or `false`, any case.
    Bool,
    /// An integer in a range.
    Int { min: i64, max: i64 },
    /// -1 (the broker's default) or 1 to 32767.
    ReplicationFactor,
    /// -1 (the broker's default) or 1 to 2^31-1.
    Partitions,
    /// One of these values, compared without case.
    Choice(&'static [&'static str]),
    /// One of these class names, compared exactly.
    Class(&'static [&'static str]),
}

/// Who reads a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// This module (connector-level keys).
    Connector,
    /// This module, into [`crate::RuntimeSettings`].
    Runtime,
    /// `tidewater_postgres::SourceConfig`.
    Source,
    /// `tidewater_envelope::EnvelopeConfig`.
    Envelope,
    /// Both the source and the envelope.
    SourceAndEnvelope,
    /// `tidewater_transforms::TransformChain`.
    Transforms,
    /// The key and value converters.
    Converter,
    /// `tidewater_kafka::ProducerConfig`.
    Producer,
    /// Nobody: a legacy name, an ignored or a refused key.
    Nobody,
}

/// One configuration key (or a family of keys, when `name` ends in `*`).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct KeyInfo {
    /// The key, or a prefix followed by `*`.
    pub name: &'static str,
    /// The default as a configuration value, or a description in parentheses
    /// (`(required)`, `(none)`, …) when there is no literal default.
    pub default: &'static str,
    /// What it does.
    pub meaning: &'static str,
    /// Its group.
    pub group: KeyGroup,
    /// Whether it is honoured.
    pub support: Support,
    pub(crate) kind: Kind,
    pub(crate) owner: Owner,
}

impl KeyInfo {
    /// Whether the entry stands for every key starting with a prefix.
    pub fn is_prefix(&self) -> bool {
        self.name.ends_with('*')
    }

    /// Whether `key` is this entry's key or, for a prefix entry, starts with its prefix.
    pub fn matches(&self, key: &str) -> bool {
        match self.name.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix) && key.len() > prefix.len(),
            None => key == self.name,
        }
    }
}

const fn key(
    name: &'static str,
    default: &'static str,
    group: KeyGroup,
    owner: Owner,
    kind: Kind,
    meaning: &'static str,
) -> KeyInfo {
    KeyInfo {
        name,
        default,
        meaning,
        group,
        support: Support::Supported,
        kind,
        owner,
    }
}

const fn legacy(name: &'static str, current: &'static str, group: KeyGroup) -> KeyInfo {
    KeyInfo {
        name,
        default: "(none)",
        meaning: "older name of the current key",
        group,
        support: Support::Legacy(current),
        kind: Kind::Any,
        owner: Owner::Nobody,
    }
}

const fn ignored(name: &'static str, meaning: &'static str) -> KeyInfo {
    KeyInfo {
        name,
        default: "(none)",
        meaning,
        group: KeyGroup::NotSupported,
        support: Support::Ignored,
        kind: Kind::Any,
        owner: Owner::Nobody,
    }
}

const fn rejected(
    name: &'static str,
    accepted: &'static [&'static str],
    meaning: &'static str,
) -> KeyInfo {
    KeyInfo {
        name,
        default: "(none)",
        meaning,
        group: KeyGroup::NotSupported,
        support: Support::Rejected(accepted),
        kind: Kind::Any,
        owner: Owner::Nobody,
    }
}

/// The connector class names accepted in `connector.class` (the class and Kafka Connect's
/// plugin aliases for it).
pub const POSTGRES_CONNECTOR_CLASSES: &[&str] = &[
    "io.debezium.connector.postgresql.PostgresConnector",
    "PostgresConnector",
    "Postgres",
];

/// Kafka's JSON converter and its plugin aliases.
pub(crate) const JSON_CONVERTER_CLASSES: &[&str] = &[
    "org.apache.kafka.connect.json.JsonConverter",
    "JsonConverter",
    "Json",
];

const HEADER_CONVERTER_CLASSES: &[&str] = &[
    "org.apache.kafka.connect.storage.SimpleHeaderConverter",
    "SimpleHeaderConverter",
    "SimpleHeader",
];

const MAX: i64 = i64::MAX;
const INT_MAX: i64 = i32::MAX as i64;

use KeyGroup as G;
use Owner as O;

/// Every key of a connector configuration.
pub const KEYS: &[KeyInfo] = &[
    // Connector.
    key(
        "name",
        "tidewater",
        G::Connector,
        O::Connector,
        Kind::NonEmpty,
        "the connector's name (the top-level `name` of the JSON, which must agree with `config.name` when both are set); names the offsets",
    ),
    key(
        "connector.class",
        "io.debezium.connector.postgresql.PostgresConnector",
        G::Connector,
        O::Connector,
        Kind::Class(POSTGRES_CONNECTOR_CLASSES),
        "only Debezium's PostgreSQL connector (or its aliases `PostgresConnector`, `Postgres`)",
    ),
    key(
        "tasks.max",
        "1",
        G::Connector,
        O::Connector,
        Kind::Int { min: 1, max: 1 },
        "always one task, as Debezium's PostgreSQL connector",
    ),
    // Connection.
    key(
        "database.hostname",
        "(required)",
        G::Connection,
        O::Source,
        Kind::Any,
        "host name or address; a directory (starting with `/`) for a Unix socket",
    ),
    key(
        "database.port",
        "5432",
        G::Connection,
        O::Source,
        Kind::Any,
        "port",
    ),
    key(
        "database.user",
        "(required)",
        G::Connection,
        O::Source,
        Kind::Any,
        "role with the REPLICATION attribute",
    ),
    key(
        "database.password",
        "(none)",
        G::Connection,
        O::Source,
        Kind::Any,
        "password, when the server asks for one (never logged)",
    ),
    key(
        "database.dbname",
        "(required)",
        G::Connection,
        O::SourceAndEnvelope,
        Kind::Any,
        "database to capture; also `source.db` of every event",
    ),
    key(
        "database.sslmode",
        "prefer",
        G::Connection,
        O::Source,
        Kind::Any,
        "`disable`, `prefer`, `require`, `verify-ca`, `verify-full`",
    ),
    key(
        "database.sslrootcert",
        "(none)",
        G::Connection,
        O::Source,
        Kind::Any,
        "PEM file of trusted certificate authorities; required by `verify-ca` and `verify-full`",
    ),
    // Replication.
    key(
        "plugin.name",
        "pgoutput",
        G::Replication,
        O::Source,
        Kind::Any,
        "logical decoding plugin: only `pgoutput` (`decoderbufs` and `wal2json` are refused)",
    ),
    key(
        "slot.name",
        "debezium",
        G::Replication,
        O::Source,
        Kind::Any,
        "replication slot (lower-case letters, digits, underscores)",
    ),
    key(
        "slot.drop.on.stop",
        "false",
        G::Replication,
        O::Source,
        Kind::Any,
        "drop the slot when the source closes",
    ),
    key(
        "slot.max.retries",
        "6",
        G::Replication,
        O::Source,
        Kind::Any,
        "attempts while the slot is active for another process",
    ),
    key(
        "slot.retry.delay.ms",
        "10000",
        G::Replication,
        O::Source,
        Kind::Any,
        "wait between those attempts",
    ),
    key(
        "publication.name",
        "dbz_publication",
        G::Replication,
        O::Source,
        Kind::Any,
        "publication",
    ),
    key(
        "publication.autocreate.mode",
        "all_tables",
        G::Replication,
        O::Source,
        Kind::Any,
        "`all_tables`, `filtered`, `no_tables`, `disabled`",
    ),
    key(
        "status.update.interval.ms",
        "10000",
        G::Replication,
        O::Source,
        Kind::Any,
        "how often the acknowledged position is reported to the server",
    ),
    key(
        "errors.max.retries",
        "-1",
        G::Replication,
        O::Source,
        Kind::Any,
        "reconnection attempts after a lost connection: `-1` unlimited, `0` none",
    ),
    key(
        "retriable.restart.connector.wait.ms",
        "10000",
        G::Replication,
        O::Source,
        Kind::Any,
        "longest wait between reconnection attempts (waits start at 100 ms and double)",
    ),
    key(
        "pgoutput.protocol.version",
        "(the server's highest, at most 4)",
        G::Replication,
        O::Source,
        Kind::Any,
        "pgoutput protocol version 1 to 4 (Tidewater's key)",
    ),
    key(
        "pgoutput.binary",
        "false",
        G::Replication,
        O::Source,
        Kind::Any,
        "column values in binary form, PostgreSQL 14+ (Tidewater's key)",
    ),
    // Snapshot.
    key(
        "snapshot.mode",
        "initial",
        G::Snapshot,
        O::Source,
        Kind::Any,
        "`initial`, `always`, `initial_only`, `no_data` (legacy `never`, `schema_only`), `when_needed`; legacy `exported` means `initial`",
    ),
    key(
        "snapshot.fetch.size",
        "10240",
        G::Snapshot,
        O::Source,
        Kind::Any,
        "rows read per round trip during a snapshot",
    ),
    // Filters.
    key(
        "schema.include.list",
        "(none)",
        G::Filters,
        O::SourceAndEnvelope,
        Kind::Any,
        "schemas to capture: comma-separated regular expressions matching the whole name",
    ),
    key(
        "schema.exclude.list",
        "(none)",
        G::Filters,
        O::SourceAndEnvelope,
        Kind::Any,
        "schemas not to capture (not together with `schema.include.list`)",
    ),
    key(
        "table.include.list",
        "(none)",
        G::Filters,
        O::SourceAndEnvelope,
        Kind::Any,
        "tables to capture as `schema.table` regular expressions",
    ),
    key(
        "table.exclude.list",
        "(none)",
        G::Filters,
        O::SourceAndEnvelope,
        Kind::Any,
        "tables not to capture (not together with `table.include.list`)",
    ),
    key(
        "column.include.list",
        "(none)",
        G::Filters,
        O::SourceAndEnvelope,
        Kind::Any,
        "columns to capture as `schema.table.column` regular expressions",
    ),
    key(
        "column.exclude.list",
        "(none)",
        G::Filters,
        O::SourceAndEnvelope,
        Kind::Any,
        "columns left out of the events (not together with `column.include.list`)",
    ),
    key(
        "skipped.operations",
        "t",
        G::Filters,
        O::SourceAndEnvelope,
        Kind::Any,
        "`none` or a list of `c`, `u`, `d`, `t` not emitted",
    ),
    key(
        "message.key.columns",
        "(none)",
        G::Filters,
        O::Envelope,
        Kind::Any,
        "key columns per table: `schema.table:c1,c2;regex:cA`",
    ),
    legacy("schema.whitelist", "schema.include.list", G::Filters),
    legacy("schema.blacklist", "schema.exclude.list", G::Filters),
    legacy("table.whitelist", "table.include.list", G::Filters),
    legacy("table.blacklist", "table.exclude.list", G::Filters),
    legacy("column.whitelist", "column.include.list", G::Filters),
    legacy("column.blacklist", "column.exclude.list", G::Filters),
    // Type mapping.
    key(
        "decimal.handling.mode",
        "precise",
        G::TypeMapping,
        O::Envelope,
        Kind::Any,
        "`precise` (Connect Decimal), `double`, `string`",
    ),
    key(
        "time.precision.mode",
        "adaptive",
        G::TypeMapping,
        O::Envelope,
        Kind::Any,
        "`adaptive`, `adaptive_time_microseconds`, `connect`",
    ),
    key(
        "binary.handling.mode",
        "bytes",
        G::TypeMapping,
        O::Envelope,
        Kind::Any,
        "`bytes`, `base64`, `base64-url-safe`, `hex`",
    ),
    key(
        "interval.handling.mode",
        "numeric",
        G::TypeMapping,
        O::Envelope,
        Kind::Any,
        "`numeric` (MicroDuration), `string` (ISO 8601)",
    ),
    key(
        "hstore.handling.mode",
        "json",
        G::TypeMapping,
        O::Envelope,
        Kind::Any,
        "`json`, `map`",
    ),
    key(
        "money.fraction.digits",
        "2",
        G::TypeMapping,
        O::Envelope,
        Kind::Any,
        "scale of `money` values",
    ),
    key(
        "include.unknown.datatypes",
        "false",
        G::TypeMapping,
        O::Envelope,
        Kind::Any,
        "columns of unknown types as the bytes of their text instead of leaving them out",
    ),
    key(
        "unavailable.value.placeholder",
        "__debezium_unavailable_value",
        G::TypeMapping,
        O::Envelope,
        Kind::Any,
        "value of unchanged TOAST columns; `hex:` prefix for raw bytes",
    ),
    // Topics and envelope.
    key(
        "topic.prefix",
        "(required)",
        G::Topics,
        O::Envelope,
        Kind::Any,
        "first part of every topic name and `source.name`",
    ),
    key(
        "topic.delimiter",
        ".",
        G::Topics,
        O::Envelope,
        Kind::Any,
        "separator in topic names",
    ),
    key(
        "topic.transaction",
        "transaction",
        G::Topics,
        O::Envelope,
        Kind::Any,
        "name of the transaction metadata topic after the prefix",
    ),
    key(
        "topic.heartbeat.prefix",
        "__debezium-heartbeat",
        G::Topics,
        O::Envelope,
        Kind::Any,
        "heartbeat topic prefix: heartbeats go to `<this>.<topic.prefix>`",
    ),
    key(
        "tombstones.on.delete",
        "true",
        G::Topics,
        O::Envelope,
        Kind::Any,
        "a tombstone (null value) follows every delete",
    ),
    key(
        "provide.transaction.metadata",
        "false",
        G::Topics,
        O::Envelope,
        Kind::Any,
        "BEGIN/END records on the transaction topic and a `transaction` block in every event",
    ),
    legacy("database.server.name", "topic.prefix", G::Topics),
    legacy(
        "heartbeat.topics.prefix",
        "topic.heartbeat.prefix",
        G::Topics,
    ),
    // Transforms.
    key(
        "transforms",
        "(none)",
        G::Transforms,
        O::Transforms,
        Kind::Any,
        "transform aliases, applied in order",
    ),
    key(
        "transforms.*",
        "(none)",
        G::Transforms,
        O::Transforms,
        Kind::Any,
        "`transforms.<alias>.type` (class), `.predicate`, `.negate` and the transform's options (docs/transforms.md)",
    ),
    key(
        "predicates",
        "(none)",
        G::Transforms,
        O::Transforms,
        Kind::Any,
        "predicate aliases",
    ),
    key(
        "predicates.*",
        "(none)",
        G::Transforms,
        O::Transforms,
        Kind::Any,
        "`predicates.<alias>.type` (class) and the predicate's options",
    ),
    // Converters.
    key(
        "key.converter",
        "org.apache.kafka.connect.json.JsonConverter",
        G::Converters,
        O::Converter,
        Kind::Class(JSON_CONVERTER_CLASSES),
        "serializes record keys: Kafka's JsonConverter (aliases `JsonConverter`, `Json`); other converters are refused",
    ),
    key(
        "value.converter",
        "org.apache.kafka.connect.json.JsonConverter",
        G::Converters,
        O::Converter,
        Kind::Class(JSON_CONVERTER_CLASSES),
        "serializes record values, as `key.converter`",
    ),
    key(
        "key.converter.schemas.enable",
        "true",
        G::Converters,
        O::Converter,
        Kind::Any,
        "write `{\"schema\":…,\"payload\":…}` (true) or the bare payload",
    ),
    key(
        "value.converter.schemas.enable",
        "true",
        G::Converters,
        O::Converter,
        Kind::Any,
        "as `key.converter.schemas.enable`, for values",
    ),
    key(
        "key.converter.decimal.format",
        "BASE64",
        G::Converters,
        O::Converter,
        Kind::Any,
        "`BASE64` or `NUMERIC` (JSON numbers) for Connect Decimals",
    ),
    key(
        "value.converter.decimal.format",
        "BASE64",
        G::Converters,
        O::Converter,
        Kind::Any,
        "as `key.converter.decimal.format`, for values",
    ),
    key(
        "key.converter.replace.null.with.default",
        "true",
        G::Converters,
        O::Converter,
        Kind::Any,
        "a null whose schema has a default is written as the default",
    ),
    key(
        "value.converter.replace.null.with.default",
        "true",
        G::Converters,
        O::Converter,
        Kind::Any,
        "as `key.converter.replace.null.with.default`, for values",
    ),
    key(
        "key.converter.schemas.cache.size",
        "1000",
        G::Converters,
        O::Converter,
        Kind::Any,
        "checked, without effect: schema JSON is cached inside each shared schema",
    ),
    key(
        "value.converter.schemas.cache.size",
        "1000",
        G::Converters,
        O::Converter,
        Kind::Any,
        "as `key.converter.schemas.cache.size`",
    ),
    key(
        "header.converter",
        "org.apache.kafka.connect.storage.SimpleHeaderConverter",
        G::Converters,
        O::Connector,
        Kind::Class(HEADER_CONVERTER_CLASSES),
        "header values are written as Kafka Connect's SimpleHeaderConverter writes them; other header converters are refused",
    ),
    // Producer.
    key(
        "bootstrap.servers",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "`host:port` list; none: records are written as JSON lines to stdout",
    ),
    key(
        "client.id",
        "tidewater",
        G::Producer,
        O::Producer,
        Kind::Any,
        "sent with every request",
    ),
    key(
        "acks",
        "all",
        G::Producer,
        O::Producer,
        Kind::Any,
        "only `all` / `-1`",
    ),
    key(
        "enable.idempotence",
        "false",
        G::Producer,
        O::Producer,
        Kind::Any,
        "`true` is refused (no idempotent producer)",
    ),
    key(
        "transactional.id",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "refused: no transactions",
    ),
    key(
        "batch.size",
        "16384",
        G::Producer,
        O::Producer,
        Kind::Any,
        "bytes per partition batch",
    ),
    key(
        "linger.ms",
        "5",
        G::Producer,
        O::Producer,
        Kind::Any,
        "how long a batch waits for more records",
    ),
    key(
        "buffer.memory",
        "33554432",
        G::Producer,
        O::Producer,
        Kind::Any,
        "bytes queued or in flight before `send` waits",
    ),
    key(
        "compression.type",
        "none",
        G::Producer,
        O::Producer,
        Kind::Any,
        "`none`, `gzip`, `snappy`, `lz4`, `zstd`",
    ),
    key(
        "delivery.timeout.ms",
        "120000",
        G::Producer,
        O::Producer,
        Kind::Any,
        "bound from send to acknowledgement, retries included",
    ),
    key(
        "request.timeout.ms",
        "30000",
        G::Producer,
        O::Producer,
        Kind::Any,
        "one produce attempt",
    ),
    key(
        "retry.backoff.ms",
        "100",
        G::Producer,
        O::Producer,
        Kind::Any,
        "first wait between attempts",
    ),
    key(
        "retry.backoff.max.ms",
        "1000",
        G::Producer,
        O::Producer,
        Kind::Any,
        "longest wait between attempts",
    ),
    key(
        "retries",
        "(unlimited)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "attempts after the first, within `delivery.timeout.ms`",
    ),
    key(
        "max.request.size",
        "1048576",
        G::Producer,
        O::Producer,
        Kind::Any,
        "largest record, batch and produce request",
    ),
    key(
        "max.in.flight.requests.per.connection",
        "1",
        G::Producer,
        O::Producer,
        Kind::Any,
        "produce requests in flight per broker (Kafka Connect's 1); each partition keeps one batch in flight, so order holds at any value",
    ),
    key(
        "max.block.ms",
        "60000",
        G::Producer,
        O::Producer,
        Kind::Any,
        "connecting, metadata, topic creation, waiting for buffer room",
    ),
    key(
        "metadata.max.age.ms",
        "300000",
        G::Producer,
        O::Producer,
        Kind::Any,
        "partition counts are re-read after this long",
    ),
    key(
        "security.protocol",
        "PLAINTEXT",
        G::Producer,
        O::Producer,
        Kind::Any,
        "`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT`, `SASL_SSL`",
    ),
    key(
        "ssl.truststore.location",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "PEM file of trusted certificate authorities (required for TLS)",
    ),
    key(
        "ssl.ca.location",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "librdkafka's name for `ssl.truststore.location`",
    ),
    key(
        "ssl.truststore.type",
        "PEM",
        G::Producer,
        O::Producer,
        Kind::Any,
        "only `PEM`",
    ),
    key(
        "ssl.truststore.certificates",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "trusted certificates as PEM text",
    ),
    key(
        "ssl.truststore.password",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "refused: PEM trust stores carry no password",
    ),
    key(
        "ssl.keystore.location",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "PEM file with the client certificate chain and unencrypted key",
    ),
    key(
        "ssl.keystore.type",
        "PEM",
        G::Producer,
        O::Producer,
        Kind::Any,
        "only `PEM`",
    ),
    key(
        "ssl.keystore.certificate.chain",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "client certificate chain as PEM text",
    ),
    key(
        "ssl.keystore.key",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "client private key as PEM text (never logged)",
    ),
    key(
        "ssl.keystore.password",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "refused: encrypted keys are not supported",
    ),
    key(
        "ssl.key.password",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "refused: encrypted keys are not supported",
    ),
    key(
        "ssl.endpoint.identification.algorithm",
        "https",
        G::Producer,
        O::Producer,
        Kind::Any,
        "empty skips the host name check",
    ),
    key(
        "sasl.mechanism",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`; required with `SASL_*`",
    ),
    key(
        "sasl.jaas.config",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "`… required username=\"…\" password=\"…\";` (never logged)",
    ),
    key(
        "sasl.username",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "librdkafka-style user name",
    ),
    key(
        "sasl.password",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "librdkafka-style password (never logged)",
    ),
    key(
        "topic.creation.enable",
        "true",
        G::Producer,
        O::Producer,
        Kind::Any,
        "create missing topics",
    ),
    key(
        "topic.creation.default.partitions",
        "-1",
        G::Producer,
        O::Producer,
        Kind::Any,
        "partitions of created topics; -1 is the broker's default",
    ),
    key(
        "topic.creation.default.replication.factor",
        "-1",
        G::Producer,
        O::Producer,
        Kind::Any,
        "replication factor of created topics; -1 is the broker's default",
    ),
    key(
        "topic.creation.groups",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "named groups of topic settings",
    ),
    key(
        "topic.creation.*",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "`topic.creation.<group>.include`, `.exclude`, `.partitions`, `.replication.factor`; \
         any other `topic.creation.<group>.<property>` (also of `default`) is a topic config \
         of the group's created topics, e.g. `topic.creation.default.cleanup.policy=compact`",
    ),
    key(
        "kafka.*",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "any producer key with a `kafka.` prefix (overrides the bare key)",
    ),
    key(
        "producer.*",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "any producer key with a `producer.` prefix (overrides `kafka.`)",
    ),
    key(
        "producer.override.*",
        "(none)",
        G::Producer,
        O::Producer,
        Kind::Any,
        "any producer key with Kafka Connect's per-connector prefix (highest precedence)",
    ),
    // Runtime.
    key(
        "heartbeat.interval.ms",
        "0",
        G::Runtime,
        O::Runtime,
        Kind::Int { min: 0, max: MAX },
        "heartbeat records and slot advance while captured tables are idle; 0 disables them",
    ),
    key(
        "heartbeat.action.query",
        "(none)",
        G::Runtime,
        O::Runtime,
        Kind::Any,
        "SQL run on the source database at every heartbeat",
    ),
    key(
        "event.processing.failure.handling.mode",
        "fail",
        G::Runtime,
        O::Runtime,
        Kind::Choice(&["fail", "warn", "skip", "ignore"]),
        "an event that cannot become a record: `fail` stops, `warn` logs and skips, `skip` skips (legacy `ignore`)",
    ),
    key(
        "errors.tolerance",
        "none",
        G::Runtime,
        O::Runtime,
        Kind::Choice(&["none", "all"]),
        "a record failing a transform or converter: `none` stops, `all` skips it (to the dead-letter topic when set)",
    ),
    key(
        "errors.log.enable",
        "false",
        G::Runtime,
        O::Runtime,
        Kind::Bool,
        "log every tolerated failure",
    ),
    key(
        "errors.log.include.messages",
        "false",
        G::Runtime,
        O::Runtime,
        Kind::Bool,
        "include the record's topic, key and position in those logs",
    ),
    key(
        "errors.deadletterqueue.topic.name",
        "(none)",
        G::Runtime,
        O::Runtime,
        Kind::Any,
        "dead-letter topic for records failing a transform or converter (with `errors.tolerance=all`)",
    ),
    key(
        "errors.deadletterqueue.topic.replication.factor",
        "3",
        G::Runtime,
        O::Runtime,
        Kind::ReplicationFactor,
        "replication factor of the dead-letter topic when it is created",
    ),
    key(
        "errors.deadletterqueue.context.headers.enable",
        "false",
        G::Runtime,
        O::Runtime,
        Kind::Bool,
        "add the `__connect.errors.*` context headers",
    ),
    key(
        "errors.retry.timeout",
        "-1",
        G::Runtime,
        O::Runtime,
        Kind::Int { min: -1, max: MAX },
        "how long (ms) transient failures of PostgreSQL or Kafka are retried; -1 forever",
    ),
    key(
        "errors.retry.delay.max.ms",
        "60000",
        G::Runtime,
        O::Runtime,
        Kind::Int { min: 1, max: MAX },
        "longest pause between retries",
    ),
    key(
        "max.queue.size",
        "8192",
        G::Runtime,
        O::Runtime,
        Kind::Int {
            min: 1,
            max: INT_MAX,
        },
        "events buffered between the source and the converter; must exceed `max.batch.size`",
    ),
    key(
        "max.batch.size",
        "2048",
        G::Runtime,
        O::Runtime,
        Kind::Int {
            min: 1,
            max: INT_MAX,
        },
        "events handed from stage to stage at once",
    ),
    key(
        "max.queue.size.in.bytes",
        "0",
        G::Runtime,
        O::Runtime,
        Kind::Int { min: 0, max: MAX },
        "bound on the bytes of records waiting for the sink; 0 leaves only `max.queue.size`",
    ),
    key(
        "tidewater.position.headers",
        "true",
        G::Runtime,
        O::Runtime,
        Kind::Bool,
        "add the `tidewater.position` header (`<commit LSN>/<index>`) to every record",
    ),
    // Offsets.
    key(
        "offset.storage.file.filename",
        "(none)",
        G::Offsets,
        O::Runtime,
        Kind::NonEmpty,
        "file holding the last delivered position and snapshot progress",
    ),
    key(
        "offset.storage.topic",
        "(none)",
        G::Offsets,
        O::Runtime,
        Kind::NonEmpty,
        "compacted Kafka topic holding them instead (not together with the file); created \
         with `cleanup.policy=compact` when missing",
    ),
    KeyInfo {
        name: "offsets.storage.topic",
        default: "(none)",
        meaning: "Kafka Connect's per-connector name of `offset.storage.topic`",
        group: G::Offsets,
        support: Support::Alias("offset.storage.topic"),
        kind: Kind::Any,
        owner: O::Nobody,
    },
    key(
        "offset.storage.partitions",
        "25",
        G::Offsets,
        O::Runtime,
        Kind::Partitions,
        "partitions of the offsets topic when it is created",
    ),
    key(
        "offset.storage.replication.factor",
        "3",
        G::Offsets,
        O::Runtime,
        Kind::ReplicationFactor,
        "replication factor of the offsets topic when it is created",
    ),
    key(
        "offset.flush.interval.ms",
        "60000",
        G::Offsets,
        O::Runtime,
        Kind::Int { min: 1, max: MAX },
        "how often the offset store is written",
    ),
    // Placeholders.
    KeyInfo {
        name: "config.providers",
        default: "(none)",
        meaning: "a Kafka Connect worker setting: the `env`, `file` and `directory` providers are always available",
        group: G::Placeholders,
        support: Support::Ignored,
        kind: Kind::Any,
        owner: O::Nobody,
    },
    KeyInfo {
        name: "config.providers.*",
        default: "(none)",
        meaning: "worker settings of the config providers",
        group: G::Placeholders,
        support: Support::Ignored,
        kind: Kind::Any,
        owner: O::Nobody,
    },
    // Accepted without effect.
    ignored("database.tcpKeepAlive", "TCP keepalive is always on"),
    ignored(
        "database.query.timeout.ms",
        "catalog queries are not timed out separately",
    ),
    ignored(
        "driver.*",
        "JDBC driver properties: there is no JDBC driver",
    ),
    ignored("xmin.fetch.interval.ms", "`source.xmin` is always null"),
    ignored("snapshot.lock.timeout.ms", "snapshots take no table locks"),
    ignored("snapshot.locking.mode", "snapshots take no table locks"),
    ignored("snapshot.delay.ms", "the snapshot starts at once"),
    ignored("streaming.delay.ms", "streaming starts at once"),
    ignored("snapshot.max.threads", "one snapshot reader"),
    ignored("poll.interval.ms", "the stream is read as it arrives"),
    ignored("query.fetch.size", "see `snapshot.fetch.size`"),
    ignored("topic.cache.size", "topic names are cached per relation"),
    ignored("table.ignore.builtin", "system tables are never captured"),
    ignored(
        "schema.refresh.mode",
        "relations are refreshed from pgoutput's Relation messages",
    ),
    ignored("custom.metric.tags", "metrics are read through the API"),
    ignored(
        "signal.*",
        "signals (ad hoc and incremental snapshots) are not yet supported",
    ),
    ignored(
        "incremental.snapshot.*",
        "incremental snapshots are not yet supported",
    ),
    ignored("notification.*", "notifications are not yet supported"),
    ignored(
        "schema.history.internal.*",
        "a PostgreSQL connector keeps no schema history",
    ),
    ignored(
        "database.history.*",
        "a PostgreSQL connector keeps no schema history",
    ),
    ignored(
        "offset.flush.timeout.ms",
        "offsets are written by the runtime without a timeout of their own",
    ),
    ignored(
        "config.action.reload",
        "configuration is read once at start",
    ),
    // Refused unless given their default.
    rejected(
        "converters",
        &[""],
        "custom column converters are not supported",
    ),
    rejected(
        "column.propagate.source.type",
        &[""],
        "source type parameters in schemas are not yet supported",
    ),
    rejected(
        "datatype.propagate.source.type",
        &[""],
        "source type parameters in schemas are not yet supported",
    ),
    rejected(
        "column.mask.*",
        &[""],
        "column masking and hashing are not yet supported (MaskField is)",
    ),
    rejected(
        "column.truncate.*",
        &[""],
        "column truncation is not yet supported",
    ),
    rejected(
        "message.prefix.include.list",
        &[""],
        "logical message prefix filters are not yet supported",
    ),
    rejected(
        "message.prefix.exclude.list",
        &[""],
        "logical message prefix filters are not yet supported",
    ),
    rejected(
        "topic.naming.strategy",
        &["io.debezium.schema.SchemaTopicNamingStrategy"],
        "only the default topic naming strategy",
    ),
    rejected(
        "schema.name.adjustment.mode",
        &["none"],
        "schema names are not adjusted",
    ),
    rejected(
        "field.name.adjustment.mode",
        &["none"],
        "field names are not adjusted",
    ),
    rejected(
        "sanitize.field.names",
        &["false"],
        "field names are not adjusted",
    ),
    rejected(
        "include.schema.comments",
        &["false"],
        "column comments in schemas are not yet supported",
    ),
    rejected(
        "snapshot.select.statement.overrides",
        &[""],
        "snapshot queries cannot be overridden yet",
    ),
    rejected(
        "snapshot.include.collection.list",
        &[""],
        "every captured table is snapshotted",
    ),
    rejected("snapshot.query.mode", &["select_all"], "only `select_all`"),
    rejected(
        "snapshot.mode.custom.name",
        &[""],
        "custom snapshotters are not supported",
    ),
    rejected(
        "slot.stream.params",
        &[""],
        "extra replication parameters are not supported",
    ),
    rejected(
        "replica.identity.autoset.values",
        &[""],
        "replica identities are not changed by the connector",
    ),
    rejected(
        "flush.lsn.source",
        &["true"],
        "the acknowledged position is always reported to the server",
    ),
    rejected(
        "database.sslcert",
        &[""],
        "client certificate authentication is not yet supported",
    ),
    rejected(
        "database.sslkey",
        &[""],
        "client certificate authentication is not yet supported",
    ),
    rejected(
        "database.sslpassword",
        &[""],
        "client certificate authentication is not yet supported",
    ),
    rejected(
        "database.sslfactory",
        &[""],
        "TLS is built in; there is no socket factory",
    ),
    rejected(
        "database.initial.statements",
        &[""],
        "statements on connect are not yet supported",
    ),
    rejected(
        "post.processors",
        &[""],
        "post processors are not supported",
    ),
    rejected(
        "exactly.once.support",
        &["requested"],
        "delivery is at least once, with positions to drop replays",
    ),
    rejected(
        "transaction.boundary",
        &["poll"],
        "Kafka transactions are not supported",
    ),
];

/// The entry for a key: an exact entry first, then the longest matching prefix entry.
pub fn key_info(key: &str) -> Option<&'static KeyInfo> {
    KEYS.iter()
        .find(|k| !k.is_prefix() && k.name == key)
        .or_else(|| {
            KEYS.iter()
                .filter(|k| k.is_prefix() && k.matches(key))
                .max_by_key(|k| k.name.len())
        })
}

/// Value renames of older Debezium versions: `(key, old value, current value)`.
pub(crate) const VALUE_RENAMES: &[(&str, &str, &str)] = &[
    ("snapshot.mode", "never", "no_data"),
    ("snapshot.mode", "schema_only", "no_data"),
    ("snapshot.mode", "exported", "initial"),
    ("event.processing.failure.handling.mode", "ignore", "skip"),
];

/// Whether a key holds a secret: its value never appears in logs, errors or `Debug`
/// output. Secrets are `*password`, `*secret*`, `sasl.jaas.config`, private key material
/// (`ssl.keystore.key`, `ssl.key`) and tokens or credentials, with any prefix.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("password")
        || k.contains("secret")
        || k.ends_with("sasl.jaas.config")
        || k.ends_with("ssl.keystore.key")
        || k.ends_with("ssl.key")
        || k.ends_with("private.key")
        || k.contains("credential")
        || k.ends_with("token")
        || k.ends_with("api.key")
        || k.ends_with("apikey")
}

/// Edit distance, for "did you mean" hints (bounded inputs: configuration keys).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        if let Some(first) = cur.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let del = prev
                .get(j + 1)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            let ins = cur.get(j).copied().unwrap_or(usize::MAX).saturating_add(1);
            let sub = prev
                .get(j)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(cost);
            if let Some(c) = cur.get_mut(j + 1) {
                *c = del.min(ins).min(sub);
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().unwrap_or(0)
}

/// The supported key closest to `key`, when it is a likely typo.
pub(crate) fn suggestion(key: &str) -> Option<&'static str> {
    if key.len() > 200 {
        return None;
    }
    let limit = if key.len() < 12 { 1 } else { 2 };
    KEYS.iter()
        .filter(|k| !k.is_prefix() && matches!(k.support, Support::Supported))
        .map(|k| (edit_distance(key, k.name), k.name))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_lookups_find_them() {
        for (i, k) in KEYS.iter().enumerate() {
            assert!(
                !KEYS.iter().skip(i + 1).any(|o| o.name == k.name),
                "{} twice",
                k.name
            );
            if !k.is_prefix() {
                assert_eq!(key_info(k.name).map(|f| f.name), Some(k.name));
            }
        }
        assert_eq!(
            key_info("producer.override.linger.ms").map(|k| k.name),
            Some("producer.override.*")
        );
        assert_eq!(
            key_info("producer.linger.ms").map(|k| k.name),
            Some("producer.*")
        );
        assert!(key_info("transforms.").is_none());
        assert!(key_info("no.such.key").is_none());
    }

    #[test]
    fn secrets_by_name() {
        for k in [
            "database.password",
            "producer.override.sasl.jaas.config",
            "kafka.ssl.keystore.key",
            "ssl.key.password",
            "sasl.password",
            "transforms.x.client.secret",
            "SECRET.thing",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["database.user", "ssl.keystore.location", "topic.prefix"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn typo_suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(suggestion("table.include.lsit"), Some("table.include.list"));
        assert_eq!(suggestion("database.hostnam"), Some("database.hostname"));
        assert_eq!(suggestion("something.else.entirely"), None);
    }
}
