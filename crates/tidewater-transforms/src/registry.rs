//! Class names (`transforms.<alias>.type`) and the factories behind them.

use std::fmt;
use std::sync::Arc;

use crate::config::TransformOptions;
use crate::error::Result;
use crate::traits::{Predicate, Transform};

/// Builds a transform from its options.
pub type TransformFactory =
    Arc<dyn Fn(&mut TransformOptions) -> Result<Box<dyn Transform>> + Send + Sync>;

/// Builds a predicate from its options.
pub type PredicateFactory =
    Arc<dyn Fn(&mut TransformOptions) -> Result<Box<dyn Predicate>> + Send + Sync>;

/// The classes a chain can be built from: every built-in transform and
/// predicate under its Debezium or Kafka class name, plus any you register.
///
/// A `type` is looked up by its full class name first; a name without a
/// package (`RegexRouter`, `InsertField$Value`) is accepted too, as Kafka
/// Connect accepts plugin aliases.
///
/// ```
/// use tidewater_transforms::{Registry, TransformChain};
/// let mut registry = Registry::default();
/// registry.register_transform("com.example.Drop", |_opts| Ok(Box::new(tidewater_transforms::Filter)));
/// let chain = TransformChain::from_config_with(
///     [("transforms", "d"), ("transforms.d.type", "com.example.Drop")],
///     &registry,
/// )?;
/// assert_eq!(chain.len(), 1);
/// # Ok::<(), tidewater_transforms::TransformError>(())
/// ```
#[derive(Clone)]
pub struct Registry {
    transforms: Vec<(String, TransformFactory)>,
    predicates: Vec<(String, PredicateFactory)>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field(
                "transforms",
                &self.transforms.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field(
                "predicates",
                &self.predicates.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for Registry {
    /// Every built-in transform and predicate.
    fn default() -> Self {
        let mut r = Registry::empty();
        crate::builtin::register_all(&mut r);
        r
    }
}

/// What a class name resolved to.
pub(crate) enum Lookup<F> {
    Found(String, F),
    Ambiguous(Vec<String>),
    Unknown,
}

fn simple_name(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}

fn lookup<F: Clone>(entries: &[(String, F)], class: &str) -> Lookup<F> {
    if let Some((n, f)) = entries.iter().find(|(n, _)| n == class) {
        return Lookup::Found(n.clone(), f.clone());
    }
    if class.contains('.') || class.is_empty() {
        return Lookup::Unknown;
    }
    let matches: Vec<&(String, F)> = entries
        .iter()
        .filter(|(n, _)| simple_name(n) == class)
        .collect();
    match matches.as_slice() {
        [] => Lookup::Unknown,
        [(n, f)] => Lookup::Found(n.clone(), f.clone()),
        many => {
            // Kafka's own transform wins over a connector's of the same name.
            if let Some((n, f)) = many
                .iter()
                .find(|(n, _)| n.starts_with("org.apache.kafka."))
            {
                return Lookup::Found(n.clone(), f.clone());
            }
            Lookup::Ambiguous(many.iter().map(|(n, _)| n.clone()).collect())
        }
    }
}

impl Registry {
    /// A registry without any class.
    pub fn empty() -> Registry {
        Registry {
            transforms: Vec::new(),
            predicates: Vec::new(),
        }
    }

    /// Registers (or replaces) a transform class.
    pub fn register_transform<F>(&mut self, class: &str, factory: F) -> &mut Self
    where
        F: Fn(&mut TransformOptions) -> Result<Box<dyn Transform>> + Send + Sync + 'static,
    {
        let factory: TransformFactory = Arc::new(factory);
        match self.transforms.iter_mut().find(|(n, _)| n == class) {
            Some(slot) => slot.1 = factory,
            None => self.transforms.push((class.to_string(), factory)),
        }
        self
    }

    /// Registers (or replaces) a predicate class.
    pub fn register_predicate<F>(&mut self, class: &str, factory: F) -> &mut Self
    where
        F: Fn(&mut TransformOptions) -> Result<Box<dyn Predicate>> + Send + Sync + 'static,
    {
        let factory: PredicateFactory = Arc::new(factory);
        match self.predicates.iter_mut().find(|(n, _)| n == class) {
            Some(slot) => slot.1 = factory,
            None => self.predicates.push((class.to_string(), factory)),
        }
        self
    }

    /// The registered transform class names.
    pub fn transform_classes(&self) -> impl Iterator<Item = &str> {
        self.transforms.iter().map(|(n, _)| n.as_str())
    }

    /// The registered predicate class names.
    pub fn predicate_classes(&self) -> impl Iterator<Item = &str> {
        self.predicates.iter().map(|(n, _)| n.as_str())
    }

    pub(crate) fn transform(&self, class: &str) -> Lookup<TransformFactory> {
        lookup(&self.transforms, class)
    }

    pub(crate) fn predicate(&self, class: &str) -> Lookup<PredicateFactory> {
        lookup(&self.predicates, class)
    }
}
