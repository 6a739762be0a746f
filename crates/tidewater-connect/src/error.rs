//! Errors of the data model and the converters.

use crate::schema::SchemaType;

/// Result alias of this crate.
pub type Result<T, E = ConnectError> = std::result::Result<T, E>;

/// What went wrong while building a schema, validating a value, or converting
/// to or from JSON. Every variant says where: `path` is the dotted path of the
/// field from the converted root (`after.price`, `[3]` for array elements,
/// empty for the root itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// A schema could not be built.
    #[error("invalid schema{}: {reason}", at(path))]
    InvalidSchema {
        /// Where in the schema.
        path: String,
        /// Why.
        reason: String,
    },
    /// A value does not have the type its schema says.
    #[error("value{} has type {found}, schema says {expected}", at(path))]
    TypeMismatch {
        /// Where in the value.
        path: String,
        /// The schema's type.
        expected: SchemaType,
        /// The value's kind.
        found: &'static str,
    },
    /// A null where the schema is required and has no default.
    #[error("null value{} for a required field without a default", at(path))]
    NullForRequired {
        /// Where in the value.
        path: String,
    },
    /// A decimal whose scale differs from its schema's `scale` parameter.
    #[error("decimal{} has scale {found}, schema says {expected}", at(path))]
    DecimalScale {
        /// Where in the value.
        path: String,
        /// The schema's scale.
        expected: i32,
        /// The value's scale.
        found: i32,
    },
    /// A logical type's schema is malformed (for example a Decimal without a
    /// numeric `scale` parameter).
    #[error("logical type {name}{}: {reason}", at(path))]
    InvalidLogical {
        /// Where in the value.
        path: String,
        /// The logical type's schema name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A struct was given a field name its schema does not have.
    #[error("no field named {name:?} in struct {}", schema.as_deref().unwrap_or("(unnamed)"))]
    UnknownField {
        /// The field name.
        name: String,
        /// The struct schema's name.
        schema: Option<String>,
    },
    /// A struct value and the schema it is converted with differ.
    #[error("struct{} does not match its schema: {reason}", at(path))]
    StructMismatch {
        /// Where in the value.
        path: String,
        /// Why.
        reason: String,
    },
    /// Bytes that are not JSON.
    #[error("invalid JSON at byte {offset}: {reason}")]
    InvalidJson {
        /// Byte offset in the input.
        offset: usize,
        /// Why.
        reason: String,
    },
    /// JSON that is valid but does not have the shape the converter needs.
    #[error("unexpected JSON{}: {reason}", at(path))]
    JsonShape {
        /// Where in the document.
        path: String,
        /// Why.
        reason: String,
    },
    /// A configuration key has a value that is not allowed.
    #[error("configuration {key}={value:?}: {reason}")]
    Config {
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// What is allowed.
        reason: String,
    },
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at {path}")
    }
}

impl ConnectError {
    /// Adds an outer path component (a field name, or `[i]`) to the error's path.
    #[cold]
    pub fn within(mut self, outer: &str) -> Self {
        let path = match &mut self {
            ConnectError::InvalidSchema { path, .. }
            | ConnectError::TypeMismatch { path, .. }
            | ConnectError::NullForRequired { path }
            | ConnectError::DecimalScale { path, .. }
            | ConnectError::InvalidLogical { path, .. }
            | ConnectError::StructMismatch { path, .. }
            | ConnectError::JsonShape { path, .. } => path,
            ConnectError::UnknownField { .. }
            | ConnectError::InvalidJson { .. }
            | ConnectError::Config { .. } => return self,
        };
        if path.is_empty() {
            *path = outer.to_string();
        } else if path.starts_with('[') {
            *path = format!("{outer}{path}");
        } else {
            *path = format!("{outer}.{path}");
        }
        self
    }

    /// The path of the error, where it has one.
    pub fn path(&self) -> Option<&str> {
        match self {
            ConnectError::InvalidSchema { path, .. }
            | ConnectError::TypeMismatch { path, .. }
            | ConnectError::NullForRequired { path }
            | ConnectError::DecimalScale { path, .. }
            | ConnectError::InvalidLogical { path, .. }
            | ConnectError::StructMismatch { path, .. }
            | ConnectError::JsonShape { path, .. } => Some(path),
            ConnectError::UnknownField { .. }
            | ConnectError::InvalidJson { .. }
            | ConnectError::Config { .. } => None,
        }
    }
}
