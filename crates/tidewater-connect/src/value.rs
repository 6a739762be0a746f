//! Connect values: primitives, strings, bytes, arrays, maps, structs and
//! decimals, and their validation against a schema.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::{ConnectError, Result};
use crate::logical;
use crate::schema::{Schema, SchemaType};

/// Strings up to this many bytes are stored inline (no allocation, no
/// shared reference count).
const INLINE: usize = 38;

#[derive(Clone)]
enum Repr {
    Inline {
        len: u8,
        buf: [u8; INLINE],
    },
    /// Static text: no reference count, nothing to free.
    Static(&'static str),
    Shared(Bytes),
}

/// A UTF-8 string. Short strings are stored inline; longer ones are kept in
/// [`Bytes`], so text sliced out of a larger buffer (a replication frame) is
/// shared, not copied.
#[derive(Clone)]
pub struct Text(Repr);

impl Text {
    /// Strings up to this many bytes are stored inline.
    pub const INLINE_CAPACITY: usize = INLINE;

    /// Checks that `bytes` are UTF-8 and copies them (inline when short).
    pub fn copy_from_utf8(bytes: &[u8]) -> Result<Text, std::str::Utf8Error> {
        Ok(Text::from(std::str::from_utf8(bytes)?))
    }

    /// A string from static text (no allocation).
    pub const fn from_static(s: &'static str) -> Text {
        Text(Repr::Static(s))
    }

    fn inline(s: &[u8]) -> Option<Text> {
        let len = u8::try_from(s.len())
            .ok()
            .filter(|l| usize::from(*l) <= INLINE)?;
        let mut buf = [0u8; INLINE];
        buf.get_mut(..s.len())?.copy_from_slice(s);
        Some(Text(Repr::Inline { len, buf }))
    }

    /// Checks that `bytes` are UTF-8 and wraps them (short strings are copied
    /// inline, longer ones shared).
    pub fn from_utf8(bytes: Bytes) -> Result<Text, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Text::inline(&bytes).unwrap_or(Text(Repr::Shared(bytes))))
    }

    /// The string. (The bytes were checked on construction; this checks them
    /// again rather than trusting them without proof.)
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or_default(),
            Repr::Static(s) => s.as_bytes(),
            Repr::Shared(b) => b,
        }
    }

    /// The bytes as a [`Bytes`] (copied when stored inline).
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Repr::Inline { .. } => Bytes::copy_from_slice(self.as_bytes()),
            Repr::Static(s) => Bytes::from_static(s.as_bytes()),
            Repr::Shared(b) => b,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text {}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::inline(s.as_bytes()).unwrap_or_else(|| Text(Repr::Shared(Bytes::from(s))))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::inline(s.as_bytes())
            .unwrap_or_else(|| Text(Repr::Shared(Bytes::copy_from_slice(s.as_bytes()))))
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An arbitrary-precision decimal: an unscaled integer and a scale
/// (`value = unscaled × 10^-scale`), the value of Connect's `Decimal` logical
/// type (Java's `BigDecimal`).
///
/// The unscaled integer is kept as big-endian two's complement in the fewest
/// bytes, which is exactly what the `Decimal` logical type puts on the wire.
///
/// ```
/// use tidewater_connect::Decimal;
/// let d = Decimal::from_i128(-12345, 2);
/// assert_eq!(d.to_string(), "-123.45");
/// assert_eq!(d.unscaled(), &[0xCF, 0xC7]);
/// assert_eq!(Decimal::parse("0.0000001").map(|d| d.to_string()), Some("1E-7".into()));
/// ```
#[derive(Clone)]
pub struct Decimal(DecimalRepr);

/// Unscaled integers up to this many bytes (every `i128`) are stored
/// inline: no allocation, and a clone or drop touches no reference count.
const DECIMAL_INLINE: usize = 16;

/// The representation is canonical: inline exactly when the minimal
/// unscaled bytes fit.
#[derive(Clone)]
enum DecimalRepr {
    Inline {
        len: u8,
        scale: i32,
        buf: [u8; DECIMAL_INLINE],
    },
    Shared {
        unscaled: Bytes,
        scale: i32,
    },
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.scale() == other.scale() && self.unscaled() == other.unscaled()
    }
}

impl Eq for Decimal {}

impl std::hash::Hash for Decimal {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.unscaled().hash(state);
        self.scale().hash(state);
    }
}

impl Decimal {
    /// From big-endian two's complement bytes (any length; empty means zero).
    pub fn new(unscaled: impl Into<Bytes>, scale: i32) -> Decimal {
        let mut bytes: Bytes = unscaled.into();
        if let Some(d) = Decimal::inline(&bytes, scale) {
            return d;
        }
        // `advance` moves the start without turning an owned buffer into a
        // shared one (which `slice` would).
        let start = minimal_start(&bytes);
        bytes::Buf::advance(&mut bytes, start);
        Decimal(DecimalRepr::Shared {
            unscaled: bytes,
            scale,
        })
    }

    /// Inline, when the minimal form of `unscaled` fits.
    fn inline(unscaled: &[u8], scale: i32) -> Option<Decimal> {
        let minimal = match unscaled.get(minimal_start(unscaled)..) {
            Some(m) if !m.is_empty() => m,
            _ => &[0],
        };
        let len = u8::try_from(minimal.len())
            .ok()
            .filter(|l| usize::from(*l) <= DECIMAL_INLINE)?;
        let mut buf = [0u8; DECIMAL_INLINE];
        buf.get_mut(..minimal.len())?.copy_from_slice(minimal);
        Some(Decimal(DecimalRepr::Inline { len, scale, buf }))
    }

    /// From an integer.
    pub fn from_i128(unscaled: i128, scale: i32) -> Decimal {
        let bytes = unscaled.to_be_bytes();
        Decimal::inline(&bytes, scale).unwrap_or_else(|| Decimal::new(bytes.to_vec(), scale))
    }

    /// Parses a plain decimal (`-123.45`, `7`, `.5`) or scientific
    /// (`1.5E+3`) number, keeping its scale as Java's `BigDecimal` does.
    pub fn parse(text: &str) -> Option<Decimal> {
        crate::json::number::parse_decimal(text)
    }

    /// From a sign and the decimal digits of the unscaled integer
    /// (`from_digits(true, "12345", 2)` is -123.45). `None` when `digits` is
    /// empty or has a non-digit.
    pub fn from_digits(negative: bool, digits: &str, scale: i32) -> Option<Decimal> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let bytes = crate::json::number::decimal_to_twos_complement(negative, digits);
        Some(Decimal::new(bytes, scale))
    }

    /// The unscaled integer, big-endian two's complement, minimal length.
    #[inline]
    pub fn unscaled(&self) -> &[u8] {
        match &self.0 {
            DecimalRepr::Inline { len, buf, .. } => {
                buf.get(..usize::from(*len)).unwrap_or_default()
            }
            DecimalRepr::Shared { unscaled, .. } => unscaled,
        }
    }

    /// The scale.
    #[inline]
    pub fn scale(&self) -> i32 {
        match self.0 {
            DecimalRepr::Inline { scale, .. } | DecimalRepr::Shared { scale, .. } => scale,
        }
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.unscaled().first().is_some_and(|b| b & 0x80 != 0)
    }

    /// The unscaled integer's decimal digits (no sign).
    pub fn unscaled_digits(&self) -> String {
        crate::json::number::twos_complement_to_decimal(self.unscaled()).1
    }
}

/// Where the minimal form of big-endian two's complement `bytes` starts
/// (redundant leading sign bytes skipped).
fn minimal_start(bytes: &[u8]) -> usize {
    let mut start = 0;
    while let (Some(&a), Some(&b)) = (bytes.get(start), bytes.get(start + 1)) {
        if (a == 0x00 && b & 0x80 == 0) || (a == 0xFF && b & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    start
}

impl fmt::Display for Decimal {
    /// Java's `BigDecimal.toString()`: plain unless the exponent is small,
    /// then scientific (`1E-7`, `1.23E+5`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        crate::json::number::write_big_decimal(&mut out, self);
        f.write_str(std::str::from_utf8(&out).unwrap_or_default())
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({self})")
    }
}

/// A Connect value.
///
/// Logical types use their underlying representation, except `Decimal`:
/// `Date` is an `Int32` of days since 1970-01-01, `Time` an `Int32` of
/// milliseconds since midnight, `Timestamp` an `Int64` of milliseconds since
/// the epoch.
#[derive(Clone)]
#[non_exhaustive]
pub enum Value {
    /// `boolean`.
    Boolean(bool),
    /// `int8`.
    Int8(i8),
    /// `int16`.
    Int16(i16),
    /// `int32`.
    Int32(i32),
    /// `int64`.
    Int64(i64),
    /// `float` (32-bit).
    Float32(f32),
    /// `double` (64-bit).
    Float64(f64),
    /// `string`.
    String(Text),
    /// `bytes`.
    Bytes(Bytes),
    /// `array`: elements may be null when the item schema is optional.
    Array(Vec<Option<Value>>),
    /// `map`: entries in order; values may be null.
    Map(Vec<(Value, Option<Value>)>),
    /// `struct`.
    Struct(Struct),
    /// The `Decimal` logical type (schema type `bytes`).
    Decimal(Decimal),
}

fn f32_eq(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn f64_eq(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

impl PartialEq for Value {
    /// Structural equality; floats compare by bits except that every NaN
    /// equals every NaN (JSON cannot tell NaN payloads apart).
    fn eq(&self, other: &Self) -> bool {
        use Value as V;
        match (self, other) {
            (V::Boolean(a), V::Boolean(b)) => a == b,
            (V::Int8(a), V::Int8(b)) => a == b,
            (V::Int16(a), V::Int16(b)) => a == b,
            (V::Int32(a), V::Int32(b)) => a == b,
            (V::Int64(a), V::Int64(b)) => a == b,
            (V::Float32(a), V::Float32(b)) => f32_eq(*a, *b),
            (V::Float64(a), V::Float64(b)) => f64_eq(*a, *b),
            (V::String(a), V::String(b)) => a == b,
            (V::Bytes(a), V::Bytes(b)) => a == b,
            (V::Array(a), V::Array(b)) => a == b,
            (V::Map(a), V::Map(b)) => a == b,
            (V::Struct(a), V::Struct(b)) => a == b,
            (V::Decimal(a), V::Decimal(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Boolean(v) => write!(f, "{v}"),
            Value::Int8(v) => write!(f, "{v}i8"),
            Value::Int16(v) => write!(f, "{v}i16"),
            Value::Int32(v) => write!(f, "{v}i32"),
            Value::Int64(v) => write!(f, "{v}i64"),
            Value::Float32(v) => write!(f, "{v:?}f32"),
            Value::Float64(v) => write!(f, "{v:?}f64"),
            Value::String(v) => write!(f, "{v:?}"),
            Value::Bytes(v) => write!(f, "{v:?}"),
            Value::Array(v) => f.debug_list().entries(v).finish(),
            Value::Map(v) => f
                .debug_map()
                .entries(v.iter().map(|(k, v)| (k, v)))
                .finish(),
            Value::Struct(v) => fmt::Debug::fmt(v, f),
            Value::Decimal(v) => fmt::Debug::fmt(v, f),
        }
    }
}

impl Value {
    /// A string value from static text.
    pub const fn from_static(s: &'static str) -> Value {
        Value::String(Text::from_static(s))
    }

    /// A short name of the variant, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Boolean(_) => "boolean",
            Value::Int8(_) => "int8",
            Value::Int16(_) => "int16",
            Value::Int32(_) => "int32",
            Value::Int64(_) => "int64",
            Value::Float32(_) => "float",
            Value::Float64(_) => "double",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Struct(_) => "struct",
            Value::Decimal(_) => "decimal",
        }
    }

    /// The schema type this value's variant belongs to.
    pub fn natural_type(&self) -> SchemaType {
        match self {
            Value::Boolean(_) => SchemaType::Boolean,
            Value::Int8(_) => SchemaType::Int8,
            Value::Int16(_) => SchemaType::Int16,
            Value::Int32(_) => SchemaType::Int32,
            Value::Int64(_) => SchemaType::Int64,
            Value::Float32(_) => SchemaType::Float32,
            Value::Float64(_) => SchemaType::Float64,
            Value::String(_) => SchemaType::String,
            Value::Bytes(_) | Value::Decimal(_) => SchemaType::Bytes,
            Value::Array(_) => SchemaType::Array,
            Value::Map(_) => SchemaType::Map,
            Value::Struct(_) => SchemaType::Struct,
        }
    }

    /// The string, for `String` values.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// The integer, for integer values.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int8(v) => Some(v.into()),
            Value::Int16(v) => Some(v.into()),
            Value::Int32(v) => Some(v.into()),
            Value::Int64(v) => Some(v),
            _ => None,
        }
    }

    /// Whether dropping the value frees or releases nothing: numbers,
    /// booleans, inline or static strings and inline decimals. Three tests
    /// combined with `|`, which compiles to a few compares of the tag; a
    /// `match` here compiles to a jump table whose mispredicted indirect
    /// jumps cost what the check is meant to save.
    #[inline]
    fn owns_nothing(&self) -> bool {
        let plain = matches!(
            self,
            Value::Boolean(_)
                | Value::Int8(_)
                | Value::Int16(_)
                | Value::Int32(_)
                | Value::Int64(_)
                | Value::Float32(_)
                | Value::Float64(_)
        );
        let text = matches!(
            self,
            Value::String(Text(Repr::Inline { .. } | Repr::Static(_)))
        );
        let decimal = matches!(self, Value::Decimal(Decimal(DecimalRepr::Inline { .. })));
        plain | text | decimal
    }

    /// The struct, for `Struct` values.
    pub fn as_struct(&self) -> Option<&Struct> {
        match self {
            Value::Struct(s) => Some(s),
            _ => None,
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Boolean(v)
    }
}
impl From<i8> for Value {
    fn from(v: i8) -> Value {
        Value::Int8(v)
    }
}
impl From<i16> for Value {
    fn from(v: i16) -> Value {
        Value::Int16(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int32(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int64(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Value {
        Value::Float32(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float64(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::String(Text::from(v))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::String(Text::from(v))
    }
}
impl From<Text> for Value {
    fn from(v: Text) -> Value {
        Value::String(v)
    }
}
impl From<Bytes> for Value {
    fn from(v: Bytes) -> Value {
        Value::Bytes(v)
    }
}
impl From<Struct> for Value {
    fn from(v: Struct) -> Value {
        Value::Struct(v)
    }
}
impl From<Decimal> for Value {
    fn from(v: Decimal) -> Value {
        Value::Decimal(v)
    }
}

/// A struct value: one optional value per field of its struct schema.
///
/// ```
/// use std::sync::Arc;
/// use tidewater_connect::{SchemaBuilder, Struct, Value};
/// let schema = Arc::new(SchemaBuilder::struct_()
///     .field("id", SchemaBuilder::int32().build()?)
///     .field("name", SchemaBuilder::string().optional().build()?)
///     .build()?);
/// let mut row = Struct::new(schema)?;
/// row.put("id", 7)?;
/// assert_eq!(row.get("id"), Some(&Value::Int32(7)));
/// assert!(row.put("id", "seven").is_err());
/// row.validate()?;
/// # Ok::<(), tidewater_connect::ConnectError>(())
/// ```
#[derive(Clone)]
pub struct Struct {
    schema: Arc<Schema>,
    values: Vec<Option<Value>>,
}

impl PartialEq for Struct {
    fn eq(&self, other: &Self) -> bool {
        (Arc::ptr_eq(&self.schema, &other.schema) || self.schema == other.schema)
            && self.values == other.values
    }
}

impl Drop for Struct {
    /// Forgets the values that own nothing before the vector drops the
    /// rest. Dropping a value is an out-of-line call that dispatches on its
    /// variant through a jump table, and a row or a `source` block is mostly
    /// numbers and short strings: one predictable check per value here
    /// replaces most of those calls (and their mispredicted jumps).
    #[inline]
    fn drop(&mut self) {
        for slot in &mut self.values {
            if slot.as_ref().is_some_and(Value::owns_nothing) {
                std::mem::forget(slot.take());
            }
        }
    }
}

impl fmt::Debug for Struct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct(self.schema.name().unwrap_or("Struct"));
        for (field, value) in self.schema.fields().iter().zip(&self.values) {
            s.field(field.name(), value);
        }
        s.finish()
    }
}

impl Struct {
    /// An empty struct (every field null) of a struct schema.
    pub fn new(schema: Arc<Schema>) -> Result<Struct> {
        if schema.schema_type() != SchemaType::Struct {
            return Err(ConnectError::TypeMismatch {
                path: String::new(),
                expected: schema.schema_type(),
                found: "struct",
            });
        }
        let values = vec![None; schema.fields().len()];
        Ok(Struct { schema, values })
    }

    /// A struct from all its field values in order, each checked against its
    /// field's schema (nested values included).
    pub fn from_values(schema: Arc<Schema>, values: Vec<Option<Value>>) -> Result<Struct> {
        if schema.schema_type() != SchemaType::Struct {
            return Err(ConnectError::TypeMismatch {
                path: String::new(),
                expected: schema.schema_type(),
                found: "struct",
            });
        }
        if values.len() != schema.fields().len() {
            return Err(ConnectError::StructMismatch {
                path: String::new(),
                reason: format!(
                    "{} values for {} fields",
                    values.len(),
                    schema.fields().len()
                ),
            });
        }
        let s = Struct { schema, values };
        s.validate()?;
        Ok(s)
    }

    /// A struct from values whose types the caller has already made to match
    /// the schema (for hot paths). Only the number of values is checked here;
    /// converters still reject a value of the wrong type, with its path.
    pub fn from_values_unchecked(schema: Arc<Schema>, mut values: Vec<Option<Value>>) -> Struct {
        values.resize(schema.fields().len(), None);
        Struct { schema, values }
    }

    /// The schema.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// The values in field order.
    pub fn values(&self) -> &[Option<Value>] {
        &self.values
    }

    /// Moves the value of field `index` out, leaving null in its place (for
    /// transforms that unwrap a nested struct without copying it). The struct
    /// may no longer validate against its schema afterwards.
    pub fn take(&mut self, index: usize) -> Option<Value> {
        self.values.get_mut(index).and_then(Option::take)
    }

    /// The values in field order, by value.
    pub fn into_values(mut self) -> Vec<Option<Value>> {
        std::mem::take(&mut self.values)
    }

    /// Sets a field by name, checking the value against the field's schema.
    pub fn put(&mut self, name: &str, value: impl Into<Value>) -> Result<&mut Self> {
        let index = self.index_of(name)?;
        self.put_index(index, Some(value.into()))
    }

    /// Sets a field by name to null (checked: the field must be optional or
    /// have a default).
    pub fn put_null(&mut self, name: &str) -> Result<&mut Self> {
        let index = self.index_of(name)?;
        self.put_index(index, None)
    }

    /// Sets a field by position, checking the value against the field's schema.
    pub fn put_index(&mut self, index: usize, value: Option<Value>) -> Result<&mut Self> {
        let Some(field) = self.schema.fields().get(index) else {
            return Err(ConnectError::UnknownField {
                name: format!("#{index}"),
                schema: self.schema.name().map(str::to_string),
            });
        };
        validate(field.schema(), value.as_ref()).map_err(|e| e.within(field.name()))?;
        if let Some(slot) = self.values.get_mut(index) {
            *slot = value;
        }
        Ok(self)
    }

    fn index_of(&self, name: &str) -> Result<usize> {
        self.schema
            .field(name)
            .map(|f| f.index())
            .ok_or_else(|| ConnectError::UnknownField {
                name: name.to_string(),
                schema: self.schema.name().map(str::to_string),
            })
    }

    /// A field's value, or its schema's default when the value is null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        let field = self.schema.field(name)?;
        match self.values.get(field.index()) {
            Some(Some(v)) => Some(v),
            _ => field.schema().default_value(),
        }
    }

    /// A field's value as set (null stays null even when there is a default).
    pub fn get_without_default(&self, name: &str) -> Option<&Value> {
        let field = self.schema.field(name)?;
        self.values.get(field.index())?.as_ref()
    }

    /// Checks every field against its schema: types, required fields set,
    /// nested structs, arrays and maps.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in self.schema.fields().iter().zip(&self.values) {
            validate(field.schema(), value.as_ref()).map_err(|e| e.within(field.name()))?;
        }
        Ok(())
    }
}

/// Checks a value (or null) against a schema, recursively.
pub fn validate(schema: &Schema, value: Option<&Value>) -> Result<()> {
    let Some(value) = value else {
        if schema.is_optional() || schema.default_value().is_some() {
            return Ok(());
        }
        return Err(ConnectError::NullForRequired {
            path: String::new(),
        });
    };
    let mismatch = || ConnectError::TypeMismatch {
        path: String::new(),
        expected: schema.schema_type(),
        found: value.kind_name(),
    };
    let is_decimal_schema = schema.name() == Some(logical::DECIMAL_NAME);
    match (schema.schema_type(), value) {
        (SchemaType::Bytes, Value::Decimal(d)) if is_decimal_schema => {
            let expected = logical::decimal_scale(schema)?;
            if d.scale() != expected {
                return Err(ConnectError::DecimalScale {
                    path: String::new(),
                    expected,
                    found: d.scale(),
                });
            }
            Ok(())
        }
        (SchemaType::Bytes, Value::Bytes(_)) if !is_decimal_schema => Ok(()),
        (SchemaType::Boolean, Value::Boolean(_))
        | (SchemaType::Int8, Value::Int8(_))
        | (SchemaType::Int16, Value::Int16(_))
        | (SchemaType::Int32, Value::Int32(_))
        | (SchemaType::Int64, Value::Int64(_))
        | (SchemaType::Float32, Value::Float32(_))
        | (SchemaType::Float64, Value::Float64(_))
        | (SchemaType::String, Value::String(_)) => Ok(()),
        (SchemaType::Array, Value::Array(items)) => {
            let Some(item_schema) = schema.value_schema() else {
                return Err(mismatch());
            };
            for (i, item) in items.iter().enumerate() {
                validate(item_schema, item.as_ref()).map_err(|e| e.within(&format!("[{i}]")))?;
            }
            Ok(())
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (Some(ks), Some(vs)) = (schema.key_schema(), schema.value_schema()) else {
                return Err(mismatch());
            };
            for (i, (k, v)) in entries.iter().enumerate() {
                validate(ks, Some(k)).map_err(|e| e.within(&format!("[{i}].key")))?;
                validate(vs, v.as_ref()).map_err(|e| e.within(&format!("[{i}].value")))?;
                if entries.iter().take(i).any(|(earlier, _)| earlier == k) {
                    return Err(ConnectError::StructMismatch {
                        path: format!("[{i}]"),
                        reason: "duplicate map key".into(),
                    });
                }
            }
            Ok(())
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            if !std::ptr::eq(Arc::as_ptr(s.schema()), schema) && **s.schema() != *schema {
                return Err(ConnectError::StructMismatch {
                    path: String::new(),
                    reason: format!(
                        "struct of schema {:?} where schema {:?} is expected",
                        s.schema().name(),
                        schema.name()
                    ),
                });
            }
            s.validate()
        }
        _ => Err(mismatch()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use std::hash::{BuildHasher, RandomState};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use bytes::Bytes;
    use proptest::prelude::*;

    use super::{Decimal, Struct, Text, Value};
    use crate::SchemaBuilder;

    /// The minimal big-endian two's complement of `bytes`, the slow way:
    /// drop a leading byte while the next one carries the same sign.
    fn minimal(bytes: &[u8]) -> Vec<u8> {
        let mut v = if bytes.is_empty() {
            vec![0]
        } else {
            bytes.to_vec()
        };
        while v.len() > 1 && ((v[0] == 0 && v[1] < 0x80) || (v[0] == 0xFF && v[1] >= 0x80)) {
            v.remove(0);
        }
        v
    }

    #[test]
    fn decimals_inline_up_to_sixteen_bytes() {
        // Every i128 is inline; 17 significant bytes are shared.
        for v in [0, 1, -1, 127, 128, -129, i128::MAX, i128::MIN] {
            let d = Decimal::from_i128(v, 3);
            assert_eq!(d.unscaled(), minimal(&v.to_be_bytes()), "{v}");
            assert_eq!(d.scale(), 3);
        }
        let mut big = vec![0x01];
        big.extend([0u8; 16]);
        let d = Decimal::new(Bytes::from(big.clone()), -2);
        assert_eq!((d.unscaled(), d.scale()), (&big[..], -2));
        assert_eq!(
            d.unscaled_digits(),
            "340282366920938463463374607431768211456"
        );
        // Redundant sign bytes in front of a long value are dropped.
        let mut padded = vec![0, 0];
        padded.extend(&big);
        assert_eq!(Decimal::new(padded, -2), d);
    }

    #[test]
    fn text_inline_boundary() {
        for len in [0, 1, Text::INLINE_CAPACITY, Text::INLINE_CAPACITY + 1, 100] {
            let s = "é".repeat(len / 2) + &"x".repeat(len % 2);
            assert_eq!(Text::from(s.as_str()).as_str(), s);
            assert_eq!(Text::from(s.clone()).as_str(), s);
            let shared = Bytes::from(s.clone().into_bytes());
            assert_eq!(Text::from_utf8(shared).unwrap().as_str(), s);
        }
        assert_eq!(Text::INLINE_CAPACITY, 38, "a UUID's text fits");
    }

    /// Counts how many owners were dropped.
    struct Owner(Vec<u8>, Arc<AtomicUsize>);

    impl AsRef<[u8]> for Owner {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }

    impl Drop for Owner {
        fn drop(&mut self) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn dropping_a_struct_releases_what_its_values_own() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let shared =
            |text: &str| Bytes::from_owner(Owner(text.as_bytes().to_vec(), dropped.clone()));
        let inner = Arc::new(
            SchemaBuilder::struct_()
                .field("s", SchemaBuilder::string().build().unwrap())
                .optional()
                .build()
                .unwrap(),
        );
        let schema = Arc::new(
            SchemaBuilder::struct_()
                .field("n", SchemaBuilder::int64().build().unwrap())
                .field("long", SchemaBuilder::string().build().unwrap())
                .field("short", SchemaBuilder::string().build().unwrap())
                .field("fixed", SchemaBuilder::string().build().unwrap())
                .field("raw", SchemaBuilder::bytes().build().unwrap())
                .field("inner", inner.clone())
                .build()
                .unwrap(),
        );
        let long = "a string longer than what is stored inline, shared";
        let nested = Struct::from_values(
            inner.clone(),
            vec![Some(Value::String(Text::from_utf8(shared(long)).unwrap()))],
        )
        .unwrap();
        let row = Struct::from_values(
            schema.clone(),
            vec![
                Some(Value::Int64(7)),
                Some(Value::String(Text::from_utf8(shared(long)).unwrap())),
                Some(Value::from("short")),
                Some(Value::from_static("static")),
                Some(Value::Bytes(shared("raw"))),
                Some(Value::Struct(nested)),
            ],
        )
        .unwrap();
        assert_eq!(
            Arc::strong_count(&inner),
            3,
            "field schema, test, nested struct"
        );
        let copy = row.clone();
        drop(row);
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            0,
            "the copy still shares them"
        );
        assert_eq!(copy.get("short").and_then(Value::as_str), Some("short"));
        assert_eq!(copy.get("fixed").and_then(Value::as_str), Some("static"));
        drop(copy);
        assert_eq!(dropped.load(Ordering::SeqCst), 3);
        assert_eq!(Arc::strong_count(&inner), 2);
        assert_eq!(Arc::strong_count(&schema), 1);
        // Values taken out before the drop stay alive.
        let mut row = Struct::new(schema.clone()).unwrap();
        row.put_index(
            1,
            Some(Value::String(Text::from_utf8(shared(long)).unwrap())),
        )
        .unwrap();
        let taken = row.take(1);
        drop(row);
        assert_eq!(dropped.load(Ordering::SeqCst), 3);
        assert_eq!(taken.as_ref().and_then(Value::as_str), Some(long));
        drop(taken);
        assert_eq!(dropped.load(Ordering::SeqCst), 4);
        let values =
            Struct::from_values_unchecked(schema, vec![None, Some(Value::Bytes(shared("v")))])
                .into_values();
        assert_eq!(dropped.load(Ordering::SeqCst), 4);
        drop(values);
        assert_eq!(dropped.load(Ordering::SeqCst), 5);
    }

    proptest! {
        /// Any bytes make the same decimal as their minimal form, with or
        /// without extra sign bytes in front; equal decimals hash equal.
        #[test]
        fn decimals_are_canonical(
            bytes in proptest::collection::vec(any::<u8>(), 0..40),
            pad in 0usize..3,
            scale in -5i32..5,
        ) {
            let d = Decimal::new(bytes.clone(), scale);
            prop_assert_eq!(d.unscaled(), &minimal(&bytes)[..]);
            prop_assert_eq!(d.scale(), scale);
            let sign = if bytes.first().is_some_and(|b| b & 0x80 != 0) { 0xFF } else { 0 };
            let mut padded = vec![sign; pad];
            padded.extend(&bytes);
            let e = Decimal::new(Bytes::from(padded), scale);
            prop_assert_eq!(&e, &d);
            let h = RandomState::new();
            prop_assert_eq!(h.hash_one(&e), h.hash_one(&d));
            prop_assert_eq!(d.is_negative(), sign == 0xFF);
            prop_assert_ne!(Decimal::new(bytes, scale + 1), d);
        }

        #[test]
        fn decimals_from_integers_match_their_bytes(v in any::<i128>(), scale in -5i32..5) {
            prop_assert_eq!(Decimal::from_i128(v, scale), Decimal::new(v.to_be_bytes().to_vec(), scale));
        }
    }
}
