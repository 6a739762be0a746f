//! `TransformChain`: the configured transforms in order, each gated by an
//! optional (possibly negated) predicate.
//!
//! ```text
//!  record ─► [predicate? ─► transform 1] ─► [predicate? ─► transform 2] ─► … ─► record / dropped
//!            test ≠ negate: apply
//!            test = negate: pass unchanged
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Arc;

use tidewater_connect::ConnectRecord;

use crate::config::{OptionScope, TransformOptions, split_list};
use crate::error::{Result, TransformError};
use crate::registry::{Lookup, Registry};
use crate::traits::{Predicate, Transform};

struct Stage {
    alias: String,
    class: String,
    transform: Box<dyn Transform>,
    predicate: Option<(String, Arc<dyn Predicate>)>,
    negate: bool,
}

/// The transforms of a connector, applied in order.
///
/// Build it from the connector configuration exactly as users write it
/// ([`from_config`](Self::from_config)), or from code with
/// [`with`](Self::with) / [`with_predicate`](Self::with_predicate).
/// Keys that are not `transforms*` or `predicates*` are ignored, so the whole
/// connector configuration can be passed.
#[derive(Default)]
pub struct TransformChain {
    stages: Vec<Stage>,
}

impl fmt::Debug for TransformChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        for s in &self.stages {
            l.entry(&format_args!(
                "{} ({}){}",
                s.alias,
                if s.class.is_empty() {
                    "custom"
                } else {
                    &s.class
                },
                match &s.predicate {
                    Some((p, _)) if s.negate => format!(" unless {p}"),
                    Some((p, _)) => format!(" if {p}"),
                    None => String::new(),
                }
            ));
        }
        l.finish()
    }
}

fn config_error(
    alias: &str,
    key: &str,
    value: Option<&str>,
    reason: impl Into<String>,
) -> TransformError {
    TransformError::Config {
        alias: alias.to_string(),
        key: key.to_string(),
        value: value.map(str::to_string),
        reason: reason.into(),
    }
}

fn parse_aliases(config: &BTreeMap<String, String>, key: &str) -> Result<Vec<String>> {
    let Some(v) = config.get(key) else {
        return Ok(Vec::new());
    };
    let aliases = split_list(v);
    let mut seen = HashSet::new();
    for a in &aliases {
        if !seen.insert(a.as_str()) {
            return Err(config_error(
                "",
                key,
                Some(v),
                format!("alias {a:?} is listed twice"),
            ));
        }
    }
    Ok(aliases)
}

/// The options under `<scope>.<alias>.` except the ones the chain itself
/// reads.
fn options_of(
    config: &BTreeMap<String, String>,
    scope: OptionScope,
    alias: &str,
    class: &str,
    reserved: &[&str],
) -> TransformOptions {
    let prefix = match scope {
        OptionScope::Transform => format!("transforms.{alias}."),
        OptionScope::Predicate => format!("predicates.{alias}."),
    };
    let entries = config
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(k, v)| {
            let option = k.get(prefix.len()..)?;
            (!reserved.contains(&option)).then_some((option.to_string(), v.clone()))
        })
        .collect::<Vec<_>>();
    TransformOptions::with_scope(scope, alias, class, entries)
}

impl TransformChain {
    /// An empty chain (passes every record through).
    pub fn new() -> TransformChain {
        TransformChain { stages: Vec::new() }
    }

    /// Builds the chain described by `transforms`, `transforms.<alias>.*`,
    /// `predicates` and `predicates.<alias>.*`, with every built-in class.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use tidewater_transforms::TransformChain;
    /// let config: HashMap<&str, &str> = [
    ///     ("transforms", "dropHeartbeats,route"),
    ///     ("transforms.dropHeartbeats.type", "org.apache.kafka.connect.transforms.Filter"),
    ///     ("transforms.dropHeartbeats.predicate", "isHeartbeat"),
    ///     ("predicates", "isHeartbeat"),
    ///     ("predicates.isHeartbeat.type", "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"),
    ///     ("predicates.isHeartbeat.pattern", "__debezium-heartbeat.*"),
    ///     ("transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"),
    ///     ("transforms.route.regex", "([^.]+)\\.([^.]+)\\.([^.]+)"),
    ///     ("transforms.route.replacement", "$3"),
    /// ].into_iter().collect();
    /// let chain = TransformChain::from_config(&config)?;
    /// assert_eq!(chain.aliases().collect::<Vec<_>>(), ["dropHeartbeats", "route"]);
    ///
    /// let bad = TransformChain::from_config([
    ///     ("transforms", "route"),
    ///     ("transforms.route.type", "RegexRouter"),
    ///     ("transforms.route.regex", "(.*)"),
    ///     ("transforms.route.replacement", "x"),
    ///     ("transforms.route.replacment", "y"),
    /// ]);
    /// let err = bad.unwrap_err().to_string();
    /// assert!(err.contains("transforms.route.replacment"), "{err}");
    /// # Ok::<(), tidewater_transforms::TransformError>(())
    /// ```
    pub fn from_config<I, K, V>(config: I) -> Result<TransformChain>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        TransformChain::from_config_with(config, &Registry::default())
    }

    /// As [`from_config`](Self::from_config), with the classes of `registry`.
    pub fn from_config_with<I, K, V>(config: I, registry: &Registry) -> Result<TransformChain>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let config: BTreeMap<String, String> = config
            .into_iter()
            .filter(|(k, _)| {
                let k = k.as_ref();
                k.starts_with("transforms") || k.starts_with("predicates")
            })
            .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
            .collect();

        let mut predicates: Vec<(String, Arc<dyn Predicate>)> = Vec::new();
        for alias in parse_aliases(&config, "predicates")? {
            let type_key = format!("predicates.{alias}.type");
            let Some(class) = config.get(&type_key).map(|s| s.trim().to_string()) else {
                return Err(config_error(
                    &alias,
                    &type_key,
                    None,
                    "missing: every listed predicate needs a type",
                ));
            };
            let factory = match registry.predicate(&class) {
                Lookup::Found(_, f) => f,
                Lookup::Ambiguous(names) => {
                    return Err(config_error(
                        &alias,
                        &type_key,
                        Some(&class),
                        format!("ambiguous class name, use one of {}", names.join(", ")),
                    ));
                }
                Lookup::Unknown => {
                    return Err(config_error(
                        &alias,
                        &type_key,
                        Some(&class),
                        format!(
                            "unknown predicate class; known: {}",
                            registry.predicate_classes().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            };
            let mut opts = options_of(&config, OptionScope::Predicate, &alias, &class, &["type"]);
            let predicate = factory(&mut opts)?;
            opts.finish()?;
            predicates.push((alias, Arc::from(predicate)));
        }

        let mut chain = TransformChain::new();
        for alias in parse_aliases(&config, "transforms")? {
            let type_key = format!("transforms.{alias}.type");
            let Some(class) = config.get(&type_key).map(|s| s.trim().to_string()) else {
                return Err(config_error(
                    &alias,
                    &type_key,
                    None,
                    "missing: every listed transform needs a type",
                ));
            };
            let (canonical, factory) = match registry.transform(&class) {
                Lookup::Found(n, f) => (n, f),
                Lookup::Ambiguous(names) => {
                    return Err(config_error(
                        &alias,
                        &type_key,
                        Some(&class),
                        format!("ambiguous class name, use one of {}", names.join(", ")),
                    ));
                }
                Lookup::Unknown => {
                    return Err(config_error(
                        &alias,
                        &type_key,
                        Some(&class),
                        "unknown transform class (see docs/transforms.md for the supported ones)",
                    ));
                }
            };
            let predicate_key = format!("transforms.{alias}.predicate");
            let predicate = match config.get(&predicate_key).map(|s| s.trim()) {
                None | Some("") => None,
                Some(p) => match predicates.iter().find(|(a, _)| a == p) {
                    Some((a, pred)) => Some((a.clone(), pred.clone())),
                    None => {
                        return Err(config_error(
                            &alias,
                            &predicate_key,
                            Some(p),
                            "no predicate with this alias is listed in `predicates`",
                        ));
                    }
                },
            };
            let negate_key = format!("transforms.{alias}.negate");
            let negate = match config
                .get(&negate_key)
                .map(|s| s.trim().to_ascii_lowercase())
            {
                None => false,
                Some(v) if v == "false" => false,
                Some(v) if v == "true" => {
                    if predicate.is_none() {
                        return Err(config_error(
                            &alias,
                            &negate_key,
                            Some("true"),
                            "negate needs a predicate (transforms.<alias>.predicate)",
                        ));
                    }
                    true
                }
                Some(v) => {
                    return Err(config_error(
                        &alias,
                        &negate_key,
                        Some(&v),
                        "expected true or false",
                    ));
                }
            };
            let mut opts = options_of(
                &config,
                OptionScope::Transform,
                &alias,
                &canonical,
                &["type", "predicate", "negate"],
            );
            let transform = factory(&mut opts)?;
            opts.finish()?;
            chain.stages.push(Stage {
                alias,
                class: canonical,
                transform,
                predicate,
                negate,
            });
        }
        Ok(chain)
    }

    /// Builds the chain from a Debezium connector's JSON as users keep it:
    /// either the whole registration (`{"name": …, "config": {…}}`) or the
    /// `config` object alone. Numbers and booleans are read as their text
    /// (`"drop.tombstones": false` is `"false"`).
    ///
    /// ```
    /// use tidewater_transforms::TransformChain;
    /// let chain = TransformChain::from_connector_json(r#"{
    ///   "name": "inventory-connector",
    ///   "config": {
    ///     "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
    ///     "transforms": "unwrap",
    ///     "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
    ///     "transforms.unwrap.drop.tombstones": false
    ///   }
    /// }"#)?;
    /// assert_eq!(chain.len(), 1);
    /// # Ok::<(), tidewater_transforms::TransformError>(())
    /// ```
    pub fn from_connector_json(json: &str) -> Result<TransformChain> {
        let bad = |reason: String| config_error("", "(connector JSON)", None, reason);
        let doc: serde_json::Value =
            serde_json::from_str(json).map_err(|e| bad(format!("not JSON: {e}")))?;
        let config = match doc.get("config") {
            Some(c) => c,
            None => &doc,
        };
        let Some(map) = config.as_object() else {
            return Err(bad(
                "expected an object of configuration keys (or one under \"config\")".into(),
            ));
        };
        let mut pairs = Vec::with_capacity(map.len());
        for (k, v) in map {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Null => continue,
                other => {
                    return Err(config_error(
                        "",
                        k,
                        Some(&other.to_string()),
                        "configuration values must be strings, numbers or booleans",
                    ));
                }
            };
            pairs.push((k.clone(), text));
        }
        TransformChain::from_config(pairs)
    }

    /// Appends a transform that applies to every record.
    pub fn with(mut self, alias: &str, transform: impl Transform + 'static) -> TransformChain {
        self.stages.push(Stage {
            alias: alias.to_string(),
            class: String::new(),
            transform: Box::new(transform),
            predicate: None,
            negate: false,
        });
        self
    }

    /// Appends a transform that applies when `predicate` is true (or false,
    /// with `negate`).
    pub fn with_predicate(
        mut self,
        alias: &str,
        transform: impl Transform + 'static,
        predicate: impl Predicate + 'static,
        negate: bool,
    ) -> TransformChain {
        self.stages.push(Stage {
            alias: alias.to_string(),
            class: String::new(),
            transform: Box::new(transform),
            predicate: Some((String::new(), Arc::new(predicate))),
            negate,
        });
        self
    }

    /// The aliases, in order.
    pub fn aliases(&self) -> impl Iterator<Item = &str> {
        self.stages.iter().map(|s| s.alias.as_str())
    }

    /// Number of transforms.
    pub fn len(&self) -> usize {
        self.stages.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Runs the record through every transform; `None` when one dropped it.
    /// Errors name the alias of the transform that failed.
    #[inline]
    pub fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let mut slot = Some(record);
        self.apply_in_place(&mut slot)?;
        Ok(slot)
    }

    /// Runs the record in `slot` through every transform where it lies
    /// ([`Transform::apply_in_place`]); leaves `None` there when one dropped
    /// it. Errors name the alias of the transform that failed.
    pub fn apply_in_place(&self, slot: &mut Option<ConnectRecord>) -> Result<()> {
        for stage in &self.stages {
            let Some(record) = slot.as_ref() else {
                return Ok(());
            };
            if let Some((_, p)) = &stage.predicate
                && p.test(record) == stage.negate
            {
                continue;
            }
            stage
                .transform
                .apply_in_place(slot)
                .map_err(|e| e.with_alias(&stage.alias))?;
        }
        Ok(())
    }
}

impl Transform for TransformChain {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        TransformChain::apply(self, record)
    }

    fn apply_in_place(&self, slot: &mut Option<ConnectRecord>) -> Result<()> {
        TransformChain::apply_in_place(self, slot)
    }
}
