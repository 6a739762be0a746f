//! Connector configuration: a Kafka Connect connector JSON with Debezium's keys, exactly
//! as users POST it to Kafka Connect, read into the parts of a pipeline.
//!
//! ```
//! use tidewater::config::ConnectorConfig;
//! let config = ConnectorConfig::from_json(r#"{
//!   "name": "inventory-connector",
//!   "config": {
//!     "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
//!     "database.hostname": "db.internal",
//!     "database.port": 5432,
//!     "database.user": "cdc",
//!     "database.password": "correct-horse",
//!     "database.dbname": "inventory",
//!     "topic.prefix": "shop",
//!     "table.include.list": "public.orders",
//!     "transforms": "unwrap",
//!     "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
//!     "value.converter.schemas.enable": false,
//!     "bootstrap.servers": "kafka:9092"
//!   }
//! }"#)?;
//! assert_eq!(config.name(), "inventory-connector");
//! assert_eq!(config.topic_prefix(), "shop");
//! assert_eq!(config.source_config().hostname, "db.internal");
//! assert_eq!(config.transforms()?.len(), 1);
//! assert_eq!(config.value_converter().as_json().map(|j| j.schemas_enable), Some(false));
//! assert_eq!(config.producer_config().bootstrap_servers, ["kafka:9092"]);
//! assert!(!format!("{config:?}").contains("correct-horse"));
//!
//! // Every problem at once, one line each.
//! let err = ConnectorConfig::from_json(r#"{"tasks.max": "2", "database.port": "x"}"#)
//!     .unwrap_err();
//! assert!(err.to_string().contains("tasks.max: must be 1 (got \"2\")"), "{err}");
//! assert!(err.problem("database.port").is_some());
//! assert!(err.problem("database.hostname").is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `docs/configuration.md` lists every key ([`KEYS`]), its default and meaning.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use tidewater_connect::{Converter, JsonConverter, JsonConverterConfig};
use tidewater_envelope::EnvelopeConfig;
use tidewater_kafka::ProducerConfig;
use tidewater_postgres::SourceConfig;
use tidewater_transforms::{Registry, TransformChain};

use crate::settings::RuntimeSettings;

mod keys;
mod parts;
mod problems;
mod properties;
mod providers;
mod runtime;

pub use keys::{
    KEYS, KeyGroup, KeyInfo, POSTGRES_CONNECTOR_CLASSES, Support, is_secret_key, key_info,
};
pub use problems::{ConfigErrors, ConfigProblem, ConfigWarning, REDACTED};
pub use properties::{PropertiesError, parse_properties, write_property};
pub use providers::ConfigProviders;

use keys::{VALUE_RENAMES, suggestion};
use problems::Report;

/// The key used in problems about the document as a whole (not JSON, not an object).
pub const DOCUMENT: &str = "(connector JSON)";

/// How record keys or values are serialized (`key.converter`, `value.converter` and their
/// sub-keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConverterConfig {
    /// `org.apache.kafka.connect.json.JsonConverter`.
    Json(JsonConverterConfig),
}

impl Default for ConverterConfig {
    /// Kafka Connect's default: JSON with schemas.
    fn default() -> Self {
        ConverterConfig::Json(JsonConverterConfig::default())
    }
}

impl ConverterConfig {
    /// The JSON converter's settings, when it is the JSON converter (the envelope's direct
    /// JSON path needs this).
    pub fn as_json(&self) -> Option<&JsonConverterConfig> {
        match self {
            ConverterConfig::Json(c) => Some(c),
        }
    }

    /// The converter.
    pub fn build(&self) -> Arc<dyn Converter> {
        match self {
            ConverterConfig::Json(c) => Arc::new(JsonConverter::new(*c)),
        }
    }
}

impl From<ConverterConfig> for crate::RecordConverter {
    fn from(config: ConverterConfig) -> Self {
        match config {
            ConverterConfig::Json(c) => crate::RecordConverter::json(c),
        }
    }
}

/// A connector configuration, validated: every part of the pipeline can be built from it.
///
/// Read one with [`from_json`](Self::from_json) (the connector JSON as posted to Kafka
/// Connect, or the bare `config` map), [`from_json_file`](Self::from_json_file),
/// [`from_properties`](Self::from_properties) or
/// [`from_properties_file`](Self::from_properties_file) (Kafka Connect standalone's
/// `.properties` file); or with a [`ConfigParser`] for other placeholder providers or
/// custom transforms. Reading checks everything at once and fails with every problem
/// ([`ConfigErrors`]); what is accepted but questionable is in
/// [`warnings`](Self::warnings) (also logged).
///
/// `Debug` shows the keys with secret values [`REDACTED`].
#[derive(Clone)]
pub struct ConnectorConfig {
    name: String,
    values: BTreeMap<String, String>,
    legacy: HashMap<String, String>,
    secrets: std::collections::BTreeSet<String>,
    source: SourceConfig,
    envelope: EnvelopeConfig,
    transforms: BTreeMap<String, String>,
    registry: Registry,
    key_converter: ConverterConfig,
    value_converter: ConverterConfig,
    producer: ProducerConfig,
    runtime: RuntimeSettings,
    warnings: Vec<ConfigWarning>,
}

impl fmt::Debug for ConnectorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values: BTreeMap<&str, String> = self
            .values
            .iter()
            .map(|(k, v)| {
                let shown = if is_secret_key(k) {
                    REDACTED.to_owned()
                } else {
                    problems::scrub(&self.secrets, v)
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("ConnectorConfig")
            .field("name", &self.name)
            .field("values", &values)
            .field("warnings", &self.warnings.len())
            .finish_non_exhaustive()
    }
}

impl ConnectorConfig {
    /// Reads a connector JSON: `{"name": …, "config": {…}}` or the `config` map alone.
    /// Values are strings; numbers and booleans are read as their text.
    pub fn from_json(text: &str) -> Result<ConnectorConfig, ConfigErrors> {
        ConfigParser::new().parse_json(text)
    }

    /// Reads a connector JSON file.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<ConnectorConfig, ConfigErrors> {
        ConfigParser::new().parse_json_file(path)
    }

    /// Reads key/value pairs (a later duplicate wins).
    pub fn from_properties<I, K, V>(properties: I) -> Result<ConnectorConfig, ConfigErrors>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        ConfigParser::new().parse_properties(properties)
    }

    /// Reads a Java `.properties` file, as Kafka Connect standalone's connector files.
    pub fn from_properties_file(path: impl AsRef<Path>) -> Result<ConnectorConfig, ConfigErrors> {
        ConfigParser::new().parse_properties_file(path)
    }

    /// A parser with other placeholder providers or transform classes.
    pub fn parser() -> ConfigParser {
        ConfigParser::new()
    }

    /// `name`: the connector's name (`tidewater` when none is given).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `topic.prefix` (or its legacy name `database.server.name`).
    pub fn topic_prefix(&self) -> &str {
        &self.envelope.topic_prefix
    }

    /// A value as given, placeholders resolved; a key also finds the value given under its
    /// legacy name. Secrets are returned as they are: the caller asked for them.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .or_else(|| self.legacy.get(key).and_then(|old| self.values.get(old)))
            .map(String::as_str)
    }

    /// The keys given, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// The source's configuration.
    pub fn source_config(&self) -> SourceConfig {
        self.source.clone()
    }

    /// The envelope builder's configuration.
    pub fn envelope_config(&self) -> EnvelopeConfig {
        self.envelope.clone()
    }

    /// Whether any transform is configured (without transforms and with JSON converters,
    /// the envelope can write JSON directly).
    pub fn has_transforms(&self) -> bool {
        self.transforms
            .get("transforms")
            .is_some_and(|v| v.split(',').any(|a| !a.trim().is_empty()))
    }

    /// The transform chain (`transforms.*`, `predicates.*`). A chain is not `Clone`, so
    /// each call builds one; it was checked when the configuration was read, so this does
    /// not fail for a configuration from a parser.
    pub fn transforms(&self) -> Result<TransformChain, ConfigErrors> {
        TransformChain::from_config_with(self.transforms.iter(), &self.registry).map_err(|e| {
            ConfigErrors::single(ConfigProblem::new(
                "transforms",
                None,
                problems::scrub(&self.secrets, &e.to_string()),
            ))
        })
    }

    /// The key converter (`key.converter`, `key.converter.*`).
    pub fn key_converter(&self) -> ConverterConfig {
        self.key_converter
    }

    /// The value converter (`value.converter`, `value.converter.*`).
    pub fn value_converter(&self) -> ConverterConfig {
        self.value_converter
    }

    /// The producer: bare producer keys, overridden by `kafka.*`, then `producer.*`, then
    /// `producer.override.*`.
    pub fn producer_config(&self) -> ProducerConfig {
        self.producer.clone()
    }

    /// The runtime's settings.
    pub fn runtime_settings(&self) -> RuntimeSettings {
        self.runtime.clone()
    }

    /// Warnings: unknown keys, legacy names, keys without effect.
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }
}

/// Reads connector configurations with chosen placeholder providers and transform classes.
///
/// ```
/// use tidewater::config::{ConfigParser, ConfigProviders};
/// use tidewater::transforms::Registry;
/// let mut registry = Registry::default();
/// registry.register_transform("com.example.Drop", |_| Ok(Box::new(tidewater::transforms::Filter)));
/// let parser = ConfigParser::new()
///     .providers(ConfigProviders::new().with_env_vars([("PGUSER", "cdc")]))
///     .registry(registry);
/// let config = parser.parse_properties([
///     ("database.hostname", "localhost"),
///     ("database.user", "${env:PGUSER}"),
///     ("database.dbname", "shop"),
///     ("topic.prefix", "shop"),
///     ("transforms", "drop"),
///     ("transforms.drop.type", "com.example.Drop"),
/// ])?;
/// assert_eq!(config.source_config().user, "cdc");
/// assert_eq!(config.transforms()?.len(), 1);
/// # Ok::<(), tidewater::config::ConfigErrors>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConfigParser {
    providers: ConfigProviders,
    registry: Registry,
}

impl ConfigParser {
    /// The process environment, files anywhere, the built-in transforms.
    pub fn new() -> Self {
        ConfigParser::default()
    }

    /// Resolves placeholders with these providers.
    pub fn providers(mut self, providers: ConfigProviders) -> Self {
        self.providers = providers;
        self
    }

    /// Builds transforms and predicates from this registry.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self
    }

    /// Reads a connector JSON: `{"name": …, "config": {…}}` or the `config` map alone.
    pub fn parse_json(&self, text: &str) -> Result<ConnectorConfig, ConfigErrors> {
        let mut report = Report::default();
        let (name, pairs) = read_document(text, &mut report)?;
        self.build(name, pairs, report)
    }

    /// Reads a connector JSON file.
    pub fn parse_json_file(&self, path: impl AsRef<Path>) -> Result<ConnectorConfig, ConfigErrors> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors::single(ConfigProblem::new(
                DOCUMENT,
                None,
                format!("cannot read {}: {e}", path.display()),
            ))
        })?;
        self.parse_json(&text)
    }

    /// Reads key/value pairs (a later duplicate wins).
    pub fn parse_properties<I, K, V>(&self, properties: I) -> Result<ConnectorConfig, ConfigErrors>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let pairs = properties
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.build(None, pairs, Report::default())
    }

    /// Reads a Java `.properties` file.
    pub fn parse_properties_file(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<ConnectorConfig, ConfigErrors> {
        let path = path.as_ref();
        let problem =
            |reason: String| ConfigErrors::single(ConfigProblem::new(DOCUMENT, None, reason));
        let text = std::fs::read_to_string(path)
            .map_err(|e| problem(format!("cannot read {}: {e}", path.display())))?;
        let pairs =
            parse_properties(&text).map_err(|e| problem(format!("{}: {e}", path.display())))?;
        self.build(None, pairs, Report::default())
    }

    fn build(
        &self,
        top_name: Option<String>,
        pairs: Vec<(String, String)>,
        mut report: Report,
    ) -> Result<ConnectorConfig, ConfigErrors> {
        // Values as written, placeholders resolved.
        let written: BTreeMap<String, String> = pairs.into_iter().collect();
        let mut resolver = providers::Resolver::new(&self.providers);
        let mut values = BTreeMap::new();
        for (key, raw) in &written {
            let secret = is_secret_key(key);
            match resolver.resolve(raw) {
                Ok(resolved) => {
                    if secret {
                        // The placeholder text itself is no secret (messages may name it).
                        if !resolved.substituted {
                            report.secret(raw);
                        }
                        report.secret(&resolved.value);
                    }
                    for w in resolved.warnings {
                        report.warn(key, w);
                    }
                    values.insert(key.clone(), resolved.value);
                }
                Err(reason) => {
                    if secret {
                        report.secret(raw);
                    }
                    report.problem(key, Some(raw), reason);
                }
            }
        }

        let name = connector_name(top_name, &values, &mut report);

        // Current names for legacy ones, current values for legacy values.
        let (normalized, legacy) = normalize(&values, &mut report);

        check_support(&normalized, &mut report);
        runtime::check_owned_keys(&normalized, &mut report);
        let runtime = runtime::runtime_settings(&name, &normalized, &mut report);
        let source = parts::source(&normalized, &mut report);
        let envelope = parts::envelope(&normalized, &mut report);
        let transforms = parts::transform_keys(&normalized);
        let chain_ok = parts::transforms(transforms.clone(), &self.registry, &mut report);
        let key_converter = parts::converter(&normalized, "key.converter", &mut report);
        let value_converter = parts::converter(&normalized, "value.converter", &mut report);
        let producer = parts::producer(&normalized, &mut report);
        warn_unknown(&normalized, &transforms, &mut report);

        let secrets = report.secrets().clone();
        let (problems, warnings) =
            report.finish(|k| legacy.get(k).cloned().unwrap_or_else(|| k.to_owned()));
        for w in &warnings {
            tracing::warn!(key = %w.key, "connector configuration: {}", w.message);
        }
        let (Some(source), Some(envelope), Some(producer), true, true) =
            (source, envelope, producer, chain_ok, problems.is_empty())
        else {
            let mut problems = problems;
            if problems.is_empty() {
                problems.push(ConfigProblem::new(
                    DOCUMENT,
                    None,
                    "the configuration cannot be used",
                ));
            }
            return Err(ConfigErrors::new(problems).with_warnings(warnings));
        };
        Ok(ConnectorConfig {
            name,
            values,
            legacy,
            secrets,
            source,
            envelope,
            transforms,
            registry: self.registry.clone(),
            key_converter,
            value_converter,
            producer,
            runtime,
            warnings,
        })
    }
}

/// A document's connector name and key/value pairs.
type Document = (Option<String>, Vec<(String, String)>);

/// The JSON document's pairs: problems about values that are not strings, numbers or
/// booleans are reported and the pairs left out, so that the rest is still checked.
fn read_document(text: &str, report: &mut Report) -> Result<Document, ConfigErrors> {
    let doc_problem =
        |reason: String| ConfigErrors::single(ConfigProblem::new(DOCUMENT, None, reason));
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| doc_problem(format!("not JSON: {e}")))?;
    let serde_json::Value::Object(top) = doc else {
        return Err(doc_problem(
            "expected an object: {\"name\": …, \"config\": {…}} or the config map".to_owned(),
        ));
    };
    let (name, config) = match top.get("config") {
        Some(serde_json::Value::Object(config)) => {
            let name = match top.get("name") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(other) => {
                    report.problem("name", Some(&other.to_string()), "must be a string");
                    None
                }
            };
            for field in top.keys() {
                if !matches!(field.as_str(), "name" | "config" | "tasks" | "type") {
                    report.warn(
                        field,
                        "top-level field ignored (only \"name\" and \"config\" are read)",
                    );
                }
            }
            (name, config)
        }
        Some(_) => {
            return Err(ConfigErrors::single(ConfigProblem::new(
                "config",
                None,
                "must be an object of configuration keys",
            )));
        }
        None => (None, &top),
    };
    let mut pairs = Vec::with_capacity(config.len());
    for (key, value) in config {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                let kind = match other {
                    serde_json::Value::Null => "null",
                    serde_json::Value::Array(_) => "an array",
                    _ => "an object",
                };
                report.problem(
                    key,
                    Some(&other.to_string()),
                    format!(
                        "configuration values are strings (numbers and booleans are read as their \
                         text), not {kind}"
                    ),
                );
                continue;
            }
        };
        pairs.push((key.clone(), text));
    }
    Ok((name, pairs))
}

/// The name: the top-level `name`, or `config.name`; both must agree.
fn connector_name(
    top: Option<String>,
    values: &BTreeMap<String, String>,
    report: &mut Report,
) -> String {
    let inner = values.get("name").map(|n| n.trim().to_owned());
    match (top, inner) {
        (Some(top), Some(inner)) if top.trim() != inner => {
            report.problem(
                "name",
                Some(&inner),
                format!("differs from the connector's name {top:?}"),
            );
            top.trim().to_owned()
        }
        (Some(top), _) => {
            if top.trim().is_empty() {
                report.problem("name", Some(&top), "must not be empty");
            }
            top.trim().to_owned()
        }
        (None, Some(inner)) => inner,
        (None, None) => RuntimeSettings::default().name,
    }
}

/// Maps legacy names and values to current ones. Returns the map to validate and, for
/// each current name read from a legacy one, the legacy name (to spell problems as the
/// user wrote them).
fn normalize(
    values: &BTreeMap<String, String>,
    report: &mut Report,
) -> (BTreeMap<String, String>, HashMap<String, String>) {
    let mut normalized = values.clone();
    let mut legacy = HashMap::new();
    for (key, value) in values {
        let Some(info) = key_info(key) else { continue };
        let (current, deprecated) = match info.support {
            Support::Legacy(current) => (current, true),
            Support::Alias(current) => (current, false),
            _ => continue,
        };
        normalized.remove(key);
        if values.contains_key(current) {
            report.warn(key, format!("ignored: {current} is set"));
            continue;
        }
        if deprecated {
            report.warn(key, format!("deprecated name of {current}"));
        }
        normalized.insert(current.to_owned(), value.clone());
        legacy.insert(current.to_owned(), key.clone());
    }
    for (key, old, new) in VALUE_RENAMES {
        if let Some(v) = normalized.get_mut(*key)
            && v.trim().eq_ignore_ascii_case(old)
        {
            report.warn(key, format!("`{old}` is deprecated: read as `{new}`"));
            *v = (*new).to_owned();
        }
    }
    (normalized, legacy)
}

/// Keys accepted without effect warn; refused keys with other than their accepted values
/// are problems.
fn check_support(values: &BTreeMap<String, String>, report: &mut Report) {
    for (key, value) in values {
        let Some(info) = key_info(key) else { continue };
        match info.support {
            Support::Ignored => {
                report.warn(key, format!("accepted without effect: {}", info.meaning))
            }
            Support::Rejected(accepted) => {
                let v = value.trim();
                let ok = if accepted.is_empty() {
                    false
                } else {
                    accepted.iter().any(|a| a.eq_ignore_ascii_case(v))
                };
                if !ok {
                    report.problem(key, Some(value), format!("not supported: {}", info.meaning));
                }
            }
            _ => {}
        }
    }
}

/// Warns about keys nobody reads.
fn warn_unknown(
    values: &BTreeMap<String, String>,
    transforms: &BTreeMap<String, String>,
    report: &mut Report,
) {
    let aliases = |list: &str| -> Vec<String> {
        transforms
            .get(list)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let transform_aliases = aliases("transforms");
    let predicate_aliases = aliases("predicates");
    for key in values.keys() {
        for (prefix, listed, list) in [
            ("transforms.", &transform_aliases, "transforms"),
            ("predicates.", &predicate_aliases, "predicates"),
        ] {
            if let Some(rest) = key.strip_prefix(prefix)
                && !listed.iter().any(|a| rest.starts_with(&format!("{a}.")))
            {
                let alias = rest.split('.').next().unwrap_or(rest);
                report.warn(key, format!("`{alias}` is not listed in `{list}`; ignored"));
            }
        }
        for prefix in ["key.converter", "value.converter"] {
            let class_ok = values
                .get(prefix)
                .is_none_or(|c| keys::JSON_CONVERTER_CLASSES.contains(&c.trim()));
            if let Some(sub) = key.strip_prefix(prefix).and_then(|s| s.strip_prefix('.'))
                && class_ok
                && !JsonConverterConfig::KEYS.contains(&sub)
            {
                report.warn(key, "not a JsonConverter setting; ignored");
            }
        }
        if key_info(key).is_some() || is_converter_sub_key(key) {
            continue;
        }
        let hint = suggestion(key)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        report.warn(key, format!("unknown key; ignored{hint}"));
    }
}

fn is_converter_sub_key(key: &str) -> bool {
    ["key.converter.", "value.converter.", "header.converter."]
        .iter()
        .any(|p| key.starts_with(p))
}
