//! Connect schemas: types, optionality, names, versions, docs, parameters,
//! defaults, struct fields, array items and map keys/values.

use std::fmt;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::error::{ConnectError, Result};
use crate::value::Value;

/// The type of a Connect schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SchemaType {
    /// 8-bit signed integer.
    Int8,
    /// 16-bit signed integer.
    Int16,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// 32-bit IEEE 754 float.
    Float32,
    /// 64-bit IEEE 754 float.
    Float64,
    /// Boolean.
    Boolean,
    /// UTF-8 string.
    String,
    /// Byte array.
    Bytes,
    /// Ordered list of values of one schema.
    Array,
    /// Key/value pairs.
    Map,
    /// Named fields in order.
    Struct,
}

impl SchemaType {
    /// The name Kafka's JSON converter writes in a schema's `type`
    /// (`float` and `double` for the two float types).
    pub fn json_name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float",
            SchemaType::Float64 => "double",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array => "array",
            SchemaType::Map => "map",
            SchemaType::Struct => "struct",
        }
    }

    /// Parses a JSON schema `type` name.
    pub fn from_json_name(name: &str) -> Option<SchemaType> {
        Some(match name {
            "int8" => SchemaType::Int8,
            "int16" => SchemaType::Int16,
            "int32" => SchemaType::Int32,
            "int64" => SchemaType::Int64,
            "float" => SchemaType::Float32,
            "double" => SchemaType::Float64,
            "boolean" => SchemaType::Boolean,
            "string" => SchemaType::String,
            "bytes" => SchemaType::Bytes,
            "array" => SchemaType::Array,
            "map" => SchemaType::Map,
            "struct" => SchemaType::Struct,
            _ => return None,
        })
    }

    /// Whether this is a primitive (not array, map or struct) type.
    pub fn is_primitive(self) -> bool {
        !matches!(
            self,
            SchemaType::Array | SchemaType::Map | SchemaType::Struct
        )
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json_name())
    }
}

/// A field of a struct schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    name: String,
    index: usize,
    schema: Arc<Schema>,
    /// `"name":` escaped as JSON, written before the field's value.
    json_key: Box<[u8]>,
}

impl Field {
    /// The field's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Position of the field in its struct.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The field's schema.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// `"name":` as JSON, escaped as the JSON converter escapes it
    /// (computed once, when the schema is built). Writers that produce a
    /// struct's JSON themselves put it before each field's value.
    pub fn json_key(&self) -> &[u8] {
        &self.json_key
    }
}

/// An immutable Connect schema. Build one with [`SchemaBuilder`]; share it
/// with `Arc`.
///
/// A schema remembers the JSON its converter wrote for it (per decimal
/// format), so a schema shared by many records is serialized once.
///
/// ```
/// use tidewater_connect::{SchemaBuilder, SchemaType};
/// let s = SchemaBuilder::struct_()
///     .name("server.public.t.Key")
///     .field("id", SchemaBuilder::int32().build()?)
///     .build()?;
/// assert_eq!(s.schema_type(), SchemaType::Struct);
/// assert_eq!(s.field("id").map(|f| f.index()), Some(0));
/// # Ok::<(), tidewater_connect::ConnectError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Schema {
    schema_type: SchemaType,
    optional: bool,
    name: Option<String>,
    version: Option<i32>,
    doc: Option<String>,
    parameters: Option<Vec<(String, String)>>,
    default: Option<Value>,
    fields: Vec<Field>,
    key: Option<Arc<Schema>>,
    value: Option<Arc<Schema>>,
    json: [OnceLock<Bytes>; 2],
}

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        self.schema_type == other.schema_type
            && self.optional == other.optional
            && self.name == other.name
            && self.version == other.version
            && self.doc == other.doc
            && self.parameters == other.parameters
            && self.default == other.default
            && self.fields == other.fields
            && self.key == other.key
            && self.value == other.value
    }
}

impl Schema {
    /// A plain required schema of a primitive type.
    pub fn of(schema_type: SchemaType) -> Schema {
        Schema {
            schema_type,
            optional: false,
            name: None,
            version: None,
            doc: None,
            parameters: None,
            default: None,
            fields: Vec::new(),
            key: None,
            value: None,
            json: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// A plain optional schema of a primitive type.
    pub fn optional_of(schema_type: SchemaType) -> Schema {
        let mut s = Schema::of(schema_type);
        s.optional = true;
        s
    }

    /// The type.
    pub fn schema_type(&self) -> SchemaType {
        self.schema_type
    }

    /// Whether null is allowed.
    pub fn is_optional(&self) -> bool {
        self.optional
    }

    /// The name (for example a logical type's name).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The version.
    pub fn version(&self) -> Option<i32> {
        self.version
    }

    /// The documentation.
    pub fn doc(&self) -> Option<&str> {
        self.doc.as_deref()
    }

    /// The parameters in insertion order; `None` when none were ever set.
    pub fn parameters(&self) -> Option<&[(String, String)]> {
        self.parameters.as_deref()
    }

    /// One parameter.
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .as_ref()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The default value.
    pub fn default_value(&self) -> Option<&Value> {
        self.default.as_ref()
    }

    /// The fields of a struct schema (empty for other types).
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// A field of a struct schema by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The key schema of a map.
    pub fn key_schema(&self) -> Option<&Arc<Schema>> {
        self.key.as_ref()
    }

    /// The item schema of an array or the value schema of a map.
    pub fn value_schema(&self) -> Option<&Arc<Schema>> {
        self.value.as_ref()
    }

    /// The cached JSON of this schema for a decimal format (0 = base64, 1 = numeric).
    pub(crate) fn json_cache(&self, slot: usize) -> Option<&OnceLock<Bytes>> {
        self.json.get(slot)
    }
}

/// Builds a [`Schema`].
///
/// Problems (a field on a non-struct, a duplicate field name, a default of
/// the wrong type) are reported by [`build`](SchemaBuilder::build).
#[derive(Debug, Clone)]
pub struct SchemaBuilder {
    schema: Schema,
    error: Option<ConnectError>,
}

macro_rules! primitive_builders {
    ($($fn_name:ident => $t:ident),* $(,)?) => {
        $(
            #[doc = concat!("A builder for a `", stringify!($fn_name), "` schema.")]
            pub fn $fn_name() -> SchemaBuilder {
                SchemaBuilder::new(SchemaType::$t)
            }
        )*
    };
}

impl SchemaBuilder {
    /// A builder for a schema of the given type (required, no name).
    pub fn new(schema_type: SchemaType) -> SchemaBuilder {
        SchemaBuilder {
            schema: Schema::of(schema_type),
            error: None,
        }
    }

    primitive_builders!(
        int8 => Int8,
        int16 => Int16,
        int32 => Int32,
        int64 => Int64,
        float32 => Float32,
        float64 => Float64,
        boolean => Boolean,
        string => String,
        bytes => Bytes,
    );

    /// A builder for a struct schema; add fields with [`field`](Self::field).
    pub fn struct_() -> SchemaBuilder {
        SchemaBuilder::new(SchemaType::Struct)
    }

    /// A builder for an array schema.
    pub fn array(items: impl Into<Arc<Schema>>) -> SchemaBuilder {
        let mut b = SchemaBuilder::new(SchemaType::Array);
        b.schema.value = Some(items.into());
        b
    }

    /// A builder for a map schema.
    pub fn map(keys: impl Into<Arc<Schema>>, values: impl Into<Arc<Schema>>) -> SchemaBuilder {
        let mut b = SchemaBuilder::new(SchemaType::Map);
        b.schema.key = Some(keys.into());
        b.schema.value = Some(values.into());
        b
    }

    /// Starts from an existing schema (to derive a variant of it).
    pub fn from_schema(schema: &Schema) -> SchemaBuilder {
        let mut schema = schema.clone();
        schema.json = [OnceLock::new(), OnceLock::new()];
        SchemaBuilder {
            schema,
            error: None,
        }
    }

    /// Allows null.
    pub fn optional(mut self) -> Self {
        self.schema.optional = true;
        self
    }

    /// Disallows null (the default).
    pub fn required(mut self) -> Self {
        self.schema.optional = false;
        self
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.schema.name = Some(name.into());
        self
    }

    /// Sets the version.
    pub fn version(mut self, version: i32) -> Self {
        self.schema.version = Some(version);
        self
    }

    /// Sets the documentation.
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.schema.doc = Some(doc.into());
        self
    }

    /// Sets a parameter. Parameters keep the order they were first set in;
    /// setting an existing key replaces its value in place.
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        let value = value.into();
        let params = self.schema.parameters.get_or_insert_with(Vec::new);
        match params.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => params.push((key, value)),
        }
        self
    }

    /// Sets the default value (checked against the schema by `build`).
    pub fn default_value(mut self, value: Value) -> Self {
        self.schema.default = Some(value);
        self
    }

    /// Adds a field to a struct schema.
    pub fn field(mut self, name: impl Into<String>, schema: impl Into<Arc<Schema>>) -> Self {
        let name = name.into();
        if self.error.is_some() {
            return self;
        }
        if self.schema.schema_type != SchemaType::Struct {
            self.error = Some(ConnectError::InvalidSchema {
                path: name,
                reason: format!("a {} schema cannot have fields", self.schema.schema_type),
            });
            return self;
        }
        if self.schema.fields.iter().any(|f| f.name == name) {
            self.error = Some(ConnectError::InvalidSchema {
                path: name,
                reason: "duplicate field name".into(),
            });
            return self;
        }
        let index = self.schema.fields.len();
        let mut json_key = Vec::with_capacity(name.len() + 3);
        crate::json::write_json_string(&mut json_key, &name);
        json_key.push(b':');
        self.schema.fields.push(Field {
            name,
            index,
            schema: schema.into(),
            json_key: json_key.into_boxed_slice(),
        });
        self
    }

    /// Finishes the schema, checking the default value against it.
    pub fn build(self) -> Result<Schema> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let schema = self.schema;
        if matches!(schema.schema_type, SchemaType::Array | SchemaType::Map)
            && schema.value.is_none()
        {
            return Err(ConnectError::InvalidSchema {
                path: String::new(),
                reason: format!("{} schema without a value schema", schema.schema_type),
            });
        }
        if let Some(default) = &schema.default {
            crate::value::validate(&schema, Some(default)).map_err(|e| {
                ConnectError::InvalidSchema {
                    path: String::new(),
                    reason: format!("default value does not match the schema: {e}"),
                }
            })?;
        }
        Ok(schema)
    }
}
