//! PostgreSQL column types to Connect schemas and values, in every
//! Debezium mode (the type mapping table of Debezium's PostgreSQL connector).

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use bytes::Bytes;
use tidewater_connect::{Decimal, Schema, SchemaBuilder, SchemaType, Struct, Text, Value, logical};
use tidewater_pgoutput::value::{
    self, Format, Interval, Numeric, PgDate, PgTimestamp, PgValue, bit_length, days_from_civil,
    numeric_precision_scale, oid, time_precision,
};
use tidewater_pgoutput::{TypeKind, TypeLookup};

use crate::config::{
    BinaryMode, DecimalMode, EnvelopeConfig, HstoreMode, IntervalMode, TimePrecisionMode,
};
use crate::hstore;
use crate::temporal;

/// OIDs of built-in types the value decoder keeps as raw text.
pub(crate) mod extra_oid {
    pub(crate) const POINT: u32 = 600;
    pub(crate) const TSVECTOR: u32 = 3614;
    pub(crate) const INT4RANGE: u32 = 3904;
    pub(crate) const NUMRANGE: u32 = 3906;
    pub(crate) const TSRANGE: u32 = 3908;
    pub(crate) const TSTZRANGE: u32 = 3910;
    pub(crate) const DATERANGE: u32 = 3912;
    pub(crate) const INT8RANGE: u32 = 3926;
    pub(crate) const RANGE_ARRAYS: [(u32, u32); 6] = [
        (3905, INT4RANGE),
        (3907, NUMRANGE),
        (3909, TSRANGE),
        (3911, TSTZRANGE),
        (3913, DATERANGE),
        (3927, INT8RANGE),
    ];
}

/// How a timestamp is represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TsUnit {
    Millis,
    Micros,
}

/// How a column's value is converted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Conv {
    Bool,
    BitBool,
    Bits,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// `numeric(p, s)` (`Some(s)`) or unconstrained `numeric` (`None`).
    Numeric(Option<i32>),
    Money,
    /// Any type whose Connect value is its PostgreSQL text.
    Text,
    Bytea,
    Date,
    Time(TsUnit),
    TimeTz,
    Timestamp(TsUnit),
    TimestampTz(Option<u8>),
    Interval,
    Point,
    Hstore,
    /// `include.unknown.datatypes`: the text's bytes.
    Unknown,
    Array(Box<Conv>),
}

/// The result of mapping a column type.
pub(crate) struct Mapped {
    pub(crate) conv: Conv,
    pub(crate) builder: SchemaBuilder,
}

fn named_string(name: &str) -> SchemaBuilder {
    SchemaBuilder::string().name(name).version(1)
}

fn binary_schema(mode: BinaryMode) -> SchemaBuilder {
    match mode {
        BinaryMode::Bytes => SchemaBuilder::bytes(),
        _ => SchemaBuilder::string(),
    }
}

/// `VariableScaleDecimal`'s struct schema.
pub(crate) fn variable_scale_decimal() -> SchemaBuilder {
    SchemaBuilder::struct_()
        .name("io.debezium.data.VariableScaleDecimal")
        .version(1)
        .doc("Variable scaled decimal")
        .field("scale", Schema::of(SchemaType::Int32))
        .field("value", Schema::of(SchemaType::Bytes))
}

fn point_schema() -> SchemaBuilder {
    SchemaBuilder::struct_()
        .name("io.debezium.data.geometry.Point")
        .version(1)
        .doc("Geometry (POINT)")
        .field("x", Schema::of(SchemaType::Float64))
        .field("y", Schema::of(SchemaType::Float64))
        .field("wkb", Schema::optional_of(SchemaType::Bytes))
        .field("srid", Schema::optional_of(SchemaType::Int32))
}

fn numeric_schema(cfg: &EnvelopeConfig, typmod: i32) -> Mapped {
    let fixed = numeric_precision_scale(typmod);
    let conv = Conv::Numeric(fixed.map(|(_, s)| i32::from(s)));
    let builder = match (cfg.decimal_mode, fixed) {
        (DecimalMode::Precise, Some((p, s))) => logical::decimal_builder(i32::from(s))
            .parameter("connect.decimal.precision", p.to_string()),
        (DecimalMode::Precise, None) => variable_scale_decimal(),
        (DecimalMode::Double, _) => SchemaBuilder::float64(),
        (DecimalMode::String, _) => SchemaBuilder::string(),
    };
    Mapped { conv, builder }
}

fn precision_or_6(typmod: i32) -> u8 {
    time_precision(typmod).unwrap_or(6)
}

/// What a type OID is, after following domains.
enum Resolved {
    Builtin(u32),
    Enum(Vec<String>),
    Named(String),
    Array(u32),
    Unknown,
}

fn resolve(mut type_oid: u32, types: &dyn TypeLookup) -> Resolved {
    for _ in 0..16 {
        if oid::is_builtin_scalar(type_oid)
            || matches!(
                type_oid,
                extra_oid::POINT
                    | extra_oid::TSVECTOR
                    | extra_oid::INT4RANGE
                    | extra_oid::NUMRANGE
                    | extra_oid::TSRANGE
                    | extra_oid::TSTZRANGE
                    | extra_oid::DATERANGE
                    | extra_oid::INT8RANGE
            )
        {
            return Resolved::Builtin(type_oid);
        }
        if let Some(e) = oid::array_element(type_oid) {
            return Resolved::Array(e);
        }
        if let Some((_, e)) = extra_oid::RANGE_ARRAYS.iter().find(|(a, _)| *a == type_oid) {
            return Resolved::Array(*e);
        }
        let Some(info) = types.lookup_type(type_oid) else {
            return Resolved::Unknown;
        };
        match &info.kind {
            TypeKind::Domain { base_oid } => type_oid = *base_oid,
            TypeKind::Enum { labels } => return Resolved::Enum(labels.clone()),
            TypeKind::Array { element_oid } => return Resolved::Array(*element_oid),
            _ => return Resolved::Named(info.name.clone()),
        }
    }
    Resolved::Unknown
}

/// Maps a column type to its conversion and schema (without optionality);
/// `None` when Debezium leaves the column out.
pub(crate) fn map_type(
    cfg: &EnvelopeConfig,
    types: &dyn TypeLookup,
    type_oid: u32,
    typmod: i32,
) -> Option<Mapped> {
    let adaptive = cfg.time_precision_mode != TimePrecisionMode::Connect;
    let m = |conv: Conv, builder: SchemaBuilder| Some(Mapped { conv, builder });
    match resolve(type_oid, types) {
        Resolved::Builtin(t) => match t {
            oid::BOOL => m(Conv::Bool, SchemaBuilder::boolean()),
            oid::BIT | oid::VARBIT => {
                let len = bit_length(typmod)
                    .map(|l| l as i64)
                    .unwrap_or(if t == oid::BIT {
                        1
                    } else {
                        i64::from(i32::MAX)
                    });
                if len > 1 {
                    m(
                        Conv::Bits,
                        SchemaBuilder::bytes()
                            .name("io.debezium.data.Bits")
                            .version(1)
                            .parameter("length", len.to_string()),
                    )
                } else {
                    m(Conv::BitBool, SchemaBuilder::boolean())
                }
            }
            oid::INT2 => m(Conv::Int16, SchemaBuilder::int16()),
            oid::INT4 => m(Conv::Int32, SchemaBuilder::int32()),
            oid::INT8 | oid::OID => m(Conv::Int64, SchemaBuilder::int64()),
            oid::FLOAT4 => m(Conv::Float32, SchemaBuilder::float32()),
            oid::FLOAT8 => m(Conv::Float64, SchemaBuilder::float64()),
            oid::NUMERIC => Some(numeric_schema(cfg, typmod)),
            oid::MONEY => m(
                Conv::Money,
                match cfg.decimal_mode {
                    DecimalMode::Precise => logical::decimal_builder(cfg.money_fraction_digits),
                    DecimalMode::Double => SchemaBuilder::float64(),
                    DecimalMode::String => SchemaBuilder::string(),
                },
            ),
            oid::CHAR
            | oid::NAME
            | oid::TEXT
            | oid::VARCHAR
            | oid::BPCHAR
            | oid::INET
            | oid::CIDR
            | oid::MACADDR
            | oid::MACADDR8
            | extra_oid::INT4RANGE
            | extra_oid::NUMRANGE
            | extra_oid::TSRANGE
            | extra_oid::TSTZRANGE
            | extra_oid::DATERANGE
            | extra_oid::INT8RANGE => m(Conv::Text, SchemaBuilder::string()),
            oid::JSON | oid::JSONB => m(Conv::Text, named_string("io.debezium.data.Json")),
            oid::XML => m(Conv::Text, named_string("io.debezium.data.Xml")),
            oid::UUID => m(Conv::Text, named_string("io.debezium.data.Uuid")),
            extra_oid::TSVECTOR => m(Conv::Text, named_string("io.debezium.data.Tsvector")),
            oid::BYTEA => m(Conv::Bytea, binary_schema(cfg.binary_mode)),
            oid::DATE => m(
                Conv::Date,
                if adaptive {
                    SchemaBuilder::int32()
                        .name("io.debezium.time.Date")
                        .version(1)
                } else {
                    logical::date_builder()
                },
            ),
            oid::TIME => match cfg.time_precision_mode {
                TimePrecisionMode::Adaptive if precision_or_6(typmod) <= 3 => m(
                    Conv::Time(TsUnit::Millis),
                    SchemaBuilder::int32()
                        .name("io.debezium.time.Time")
                        .version(1),
                ),
                TimePrecisionMode::Connect => {
                    m(Conv::Time(TsUnit::Millis), logical::time_builder())
                }
                _ => m(
                    Conv::Time(TsUnit::Micros),
                    SchemaBuilder::int64()
                        .name("io.debezium.time.MicroTime")
                        .version(1),
                ),
            },
            oid::TIMETZ => m(Conv::TimeTz, named_string("io.debezium.time.ZonedTime")),
            oid::TIMESTAMP => {
                if !adaptive {
                    m(
                        Conv::Timestamp(TsUnit::Millis),
                        logical::timestamp_builder(),
                    )
                } else if precision_or_6(typmod) <= 3 {
                    m(
                        Conv::Timestamp(TsUnit::Millis),
                        SchemaBuilder::int64()
                            .name("io.debezium.time.Timestamp")
                            .version(1),
                    )
                } else {
                    m(
                        Conv::Timestamp(TsUnit::Micros),
                        SchemaBuilder::int64()
                            .name("io.debezium.time.MicroTimestamp")
                            .version(1),
                    )
                }
            }
            oid::TIMESTAMPTZ => {
                let width = precision_or_6(typmod);
                m(
                    Conv::TimestampTz((width > 0).then_some(width)),
                    named_string("io.debezium.time.ZonedTimestamp"),
                )
            }
            oid::INTERVAL => match cfg.interval_mode {
                IntervalMode::Numeric => m(
                    Conv::Interval,
                    SchemaBuilder::int64()
                        .name("io.debezium.time.MicroDuration")
                        .version(1),
                ),
                IntervalMode::String => {
                    m(Conv::Interval, named_string("io.debezium.time.Interval"))
                }
            },
            extra_oid::POINT => m(Conv::Point, point_schema()),
            _ => unknown(cfg),
        },
        Resolved::Enum(labels) => m(
            Conv::Text,
            named_string("io.debezium.data.Enum").parameter("allowed", labels.join(",")),
        ),
        Resolved::Named(name) => match name.as_str() {
            "citext" => m(Conv::Text, SchemaBuilder::string()),
            "ltree" => m(Conv::Text, named_string("io.debezium.data.Ltree")),
            "hstore" => m(
                Conv::Hstore,
                match cfg.hstore_mode {
                    HstoreMode::Json => named_string("io.debezium.data.Json"),
                    HstoreMode::Map => SchemaBuilder::map(
                        Schema::of(SchemaType::String),
                        Schema::optional_of(SchemaType::String),
                    ),
                },
            ),
            _ => unknown(cfg),
        },
        Resolved::Array(element) => {
            let supported = matches!(
                element,
                oid::INT2
                    | oid::INT4
                    | oid::INT8
                    | oid::CHAR
                    | oid::VARCHAR
                    | oid::TEXT
                    | oid::BPCHAR
                    | oid::INET
                    | oid::CIDR
                    | oid::MACADDR
                    | oid::MACADDR8
                    | oid::NUMERIC
                    | oid::FLOAT4
                    | oid::FLOAT8
                    | oid::BOOL
                    | oid::DATE
                    | oid::UUID
                    | oid::JSON
                    | oid::JSONB
                    | oid::TIME
                    | oid::TIMETZ
                    | oid::TIMESTAMP
                    | oid::TIMESTAMPTZ
                    | oid::OID
                    | extra_oid::INT4RANGE
                    | extra_oid::NUMRANGE
                    | extra_oid::TSRANGE
                    | extra_oid::TSTZRANGE
                    | extra_oid::DATERANGE
                    | extra_oid::INT8RANGE
            ) || !oid::is_builtin_scalar(element)
                && !matches!(element, extra_oid::POINT | extra_oid::TSVECTOR);
            if !supported {
                return if cfg.include_unknown_datatypes {
                    unknown(cfg)
                } else {
                    None
                };
            }
            // Arrays of `time` are always microseconds in Debezium.
            let inner = if element == oid::TIME {
                Mapped {
                    conv: Conv::Time(TsUnit::Micros),
                    builder: SchemaBuilder::int64()
                        .name("io.debezium.time.MicroTime")
                        .version(1),
                }
            } else {
                map_type(cfg, types, element, typmod)?
            };
            if matches!(inner.conv, Conv::Unknown | Conv::Array(_)) {
                return if cfg.include_unknown_datatypes {
                    unknown(cfg)
                } else {
                    None
                };
            }
            let item = inner.builder.optional().build().ok()?;
            Some(Mapped {
                conv: Conv::Array(Box::new(inner.conv)),
                builder: SchemaBuilder::array(item),
            })
        }
        Resolved::Unknown => unknown(cfg),
    }
}

fn unknown(cfg: &EnvelopeConfig) -> Option<Mapped> {
    cfg.include_unknown_datatypes.then(|| Mapped {
        conv: Conv::Unknown,
        builder: binary_schema(cfg.binary_mode),
    })
}

/// Converts a decoded value. `raw_text` is the column's text when it
/// arrived in text format (used as-is for text-valued types).
pub(crate) fn convert(
    cfg: &EnvelopeConfig,
    conv: &Conv,
    schema: &Arc<Schema>,
    pg: &PgValue<'_>,
    raw_text: Option<&Bytes>,
) -> Result<Option<Value>, String> {
    if pg.is_null() {
        return Ok(None);
    }
    let wrong = || format!("unexpected {} value for this column type", pg.kind_name());
    let v = match conv {
        Conv::Bool => match pg {
            PgValue::Bool(b) => Value::Boolean(*b),
            _ => return Err(wrong()),
        },
        Conv::BitBool => match pg {
            PgValue::Bit(b) => Value::Boolean(b.get(0).unwrap_or(false)),
            PgValue::Bool(b) => Value::Boolean(*b),
            _ => return Err(wrong()),
        },
        Conv::Bits => match pg {
            PgValue::Bit(b) => Value::Bytes(Bytes::from(bits_little_endian(
                (0..b.len()).map(|i| b.get(i).unwrap_or(false)),
            ))),
            _ => return Err(wrong()),
        },
        Conv::Int16 => Value::Int16(int(pg)?.try_into().map_err(|_| wrong())?),
        Conv::Int32 => Value::Int32(int(pg)?.try_into().map_err(|_| wrong())?),
        Conv::Int64 => Value::Int64(int(pg)?),
        Conv::Float32 => match pg {
            PgValue::Float4(f) => Value::Float32(*f),
            _ => return Err(wrong()),
        },
        Conv::Float64 => match pg {
            PgValue::Float8(f) => Value::Float64(*f),
            _ => return Err(wrong()),
        },
        Conv::Numeric(scale) => match pg {
            PgValue::Numeric(n) => numeric(cfg, n, *scale, schema)?,
            _ => return Err(wrong()),
        },
        Conv::Money => match pg {
            PgValue::Money(cents) => money(cfg, *cents),
            _ => return Err(wrong()),
        },
        Conv::Text => match raw_text {
            Some(raw) => Value::String(
                Text::from_utf8(raw.clone()).map_err(|e| format!("text is not UTF-8: {e}"))?,
            ),
            None => Value::String(pg_text(pg).ok_or_else(wrong)?),
        },
        Conv::Bytea => match pg {
            PgValue::Bytea(b) => binary(cfg.binary_mode, b),
            _ => return Err(wrong()),
        },
        Conv::Unknown => match pg {
            PgValue::Unknown {
                raw,
                format: Format::Text,
                ..
            } => binary(cfg.binary_mode, raw),
            other => match pg_text(other) {
                Some(t) => binary(cfg.binary_mode, t.as_bytes()),
                None => return Err("an unknown type sent in binary format has no text form".into()),
            },
        },
        Conv::Date => match pg {
            PgValue::Date(d) => Value::Int32(date_days(*d)),
            _ => return Err(wrong()),
        },
        Conv::Time(unit) => match pg {
            PgValue::Time(micros) => match unit {
                TsUnit::Micros => Value::Int64(*micros),
                TsUnit::Millis => Value::Int32((*micros / 1000) as i32),
            },
            _ => return Err(wrong()),
        },
        Conv::TimeTz => match pg {
            PgValue::TimeTz {
                micros,
                offset_seconds,
            } => Value::from(temporal::zoned_time(*micros, *offset_seconds)),
            _ => return Err(wrong()),
        },
        Conv::Timestamp(unit) => match pg {
            PgValue::Timestamp(ts) => Value::Int64(timestamp(*ts, *unit)),
            _ => return Err(wrong()),
        },
        Conv::TimestampTz(width) => match pg {
            PgValue::TimestampTz(ts) => match ts {
                PgTimestamp::PositiveInfinity => Value::from_static("infinity"),
                PgTimestamp::NegativeInfinity => Value::from_static("-infinity"),
                PgTimestamp::Finite(_) => match ts.to_unix_micros() {
                    Some(u) => Value::from(temporal::zoned_timestamp(u, *width)),
                    None => return Err("timestamp out of range".into()),
                },
            },
            _ => return Err(wrong()),
        },
        Conv::Interval => match pg {
            PgValue::Interval(iv) => interval(cfg, iv),
            _ => return Err(wrong()),
        },
        Conv::Point => point(schema, pg)?,
        Conv::Hstore => match pg {
            PgValue::Unknown {
                raw,
                format: Format::Text,
                ..
            } => {
                let text = std::str::from_utf8(raw).map_err(|e| format!("hstore text: {e}"))?;
                let entries = hstore::parse(text).ok_or("malformed hstore text")?;
                hstore_value(cfg, entries)
            }
            _ => return Err("hstore values need the text format".into()),
        },
        Conv::Array(inner) => {
            let item_schema = schema
                .value_schema()
                .cloned()
                .ok_or("array schema without items")?;
            let owned;
            let elements: &[PgValue<'_>] = match pg {
                PgValue::Array(a) => a.elements(),
                PgValue::Unknown {
                    raw,
                    format: Format::Text,
                    ..
                } => {
                    owned =
                        value::decode_text(oid::TEXT_ARRAY, -1, raw, &tidewater_pgoutput::NoTypes)
                            .map_err(|e| e.to_string())?;
                    match &owned {
                        PgValue::Array(a) => a.elements(),
                        _ => return Err(wrong()),
                    }
                }
                _ => return Err(wrong()),
            };
            let mut out = Vec::with_capacity(elements.len());
            for e in elements {
                out.push(convert(cfg, inner, &item_schema, e, None)?);
            }
            Value::Array(out)
        }
    };
    Ok(Some(v))
}

fn int(pg: &PgValue<'_>) -> Result<i64, String> {
    pg.as_i64()
        .ok_or_else(|| format!("unexpected {} value for an integer column", pg.kind_name()))
}

/// A bit string as Debezium writes it: the bits read as a binary number,
/// little-endian, in as many bytes as the highest set bit needs.
pub(crate) fn bits_little_endian(bits: impl DoubleEndedIterator<Item = bool>) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    for (i, bit) in bits.rev().enumerate() {
        if bit {
            let byte = i / 8;
            if out.len() <= byte {
                out.resize(byte + 1, 0);
            }
            if let Some(b) = out.get_mut(byte) {
                *b |= 1 << (i % 8);
            }
        }
    }
    out
}

fn binary(mode: BinaryMode, data: &[u8]) -> Value {
    match mode {
        BinaryMode::Bytes => Value::Bytes(Bytes::copy_from_slice(data)),
        BinaryMode::Base64 => Value::from(STANDARD.encode(data)),
        BinaryMode::Base64UrlSafe => Value::from(URL_SAFE.encode(data)),
        BinaryMode::Hex => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut s = String::with_capacity(data.len() * 2);
            for b in data {
                s.push(char::from(
                    HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'),
                ));
                s.push(char::from(
                    HEX.get(usize::from(b & 0xF)).copied().unwrap_or(b'0'),
                ));
            }
            Value::from(s)
        }
    }
}

/// The PostgreSQL text of a value decoded from the binary format (or an
/// array element).
fn pg_text(pg: &PgValue<'_>) -> Option<Text> {
    Some(match pg {
        PgValue::Text(s)
        | PgValue::Json(s)
        | PgValue::Jsonb(s)
        | PgValue::Xml(s)
        | PgValue::Enum(s) => match s {
            Cow::Borrowed(b) => Text::from(*b),
            Cow::Owned(o) => Text::from(o.clone()),
        },
        PgValue::Char(c) => Text::from(char::from(*c).to_string()),
        PgValue::Uuid(u) => {
            let mut s = String::with_capacity(36);
            for (i, b) in u.iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    s.push('-');
                }
                s.push_str(&format!("{b:02x}"));
            }
            Text::from(s)
        }
        PgValue::Inet(n) => Text::from(n.to_inet_string()),
        PgValue::Cidr(n) => Text::from(n.to_cidr_string()),
        PgValue::MacAddr(m) => Text::from(hex_colon(m)),
        PgValue::MacAddr8(m) => Text::from(hex_colon(m)),
        PgValue::Numeric(n) => Text::from(n.as_str()),
        PgValue::Unknown {
            raw,
            format: Format::Text,
            ..
        } => Text::from(std::str::from_utf8(raw).ok()?),
        _ => return None,
    })
}

fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `date` as days since 1970; the infinities as Debezium's sentinel dates.
fn date_days(d: PgDate) -> i32 {
    let days = match d {
        PgDate::Finite(_) => d.to_unix_days().unwrap_or(0),
        PgDate::PositiveInfinity => days_from_civil(-5_877_611, 6, 21),
        PgDate::NegativeInfinity => days_from_civil(-5_877_611, 6, 22),
    };
    i32::try_from(days).unwrap_or(if days < 0 { i32::MIN } else { i32::MAX })
}

/// JDBC's `DATE_POSITIVE_INFINITY` / `DATE_NEGATIVE_INFINITY`, read as microseconds.
const TS_POS_INFINITY_MICROS: i64 = 9_223_372_036_825_200_000;
const TS_NEG_INFINITY_MICROS: i64 = -9_223_372_036_832_400_000;

fn timestamp(ts: PgTimestamp, unit: TsUnit) -> i64 {
    let micros = match ts {
        PgTimestamp::PositiveInfinity => TS_POS_INFINITY_MICROS,
        PgTimestamp::NegativeInfinity => TS_NEG_INFINITY_MICROS,
        PgTimestamp::Finite(_) => ts.to_unix_micros().unwrap_or(i64::MAX),
    };
    match unit {
        TsUnit::Micros => micros,
        TsUnit::Millis => micros.div_euclid(1000),
    }
}

fn interval(cfg: &EnvelopeConfig, iv: &Interval) -> Value {
    match cfg.interval_mode {
        IntervalMode::Numeric => Value::Int64(temporal::micro_duration(iv)),
        IntervalMode::String => Value::from(temporal::interval_iso(iv)),
    }
}

fn numeric(
    cfg: &EnvelopeConfig,
    n: &Numeric<'_>,
    column_scale: Option<i32>,
    schema: &Schema,
) -> Result<Value, String> {
    let d = match n {
        Numeric::Finite(d) => d,
        special => {
            return match cfg.decimal_mode {
                DecimalMode::Double => Ok(Value::Float64(match special {
                    Numeric::NaN => f64::NAN,
                    Numeric::PositiveInfinity => f64::INFINITY,
                    _ => f64::NEG_INFINITY,
                })),
                DecimalMode::String => Ok(Value::from_static(match special {
                    Numeric::NaN => "NAN",
                    Numeric::PositiveInfinity => "POSITIVE_INFINITY",
                    _ => "NEGATIVE_INFINITY",
                })),
                DecimalMode::Precise => Err(format!(
                    "{} cannot be represented with decimal.handling.mode=precise (use string or double)",
                    n.as_str()
                )),
            };
        }
    };
    if cfg.decimal_mode == DecimalMode::Double {
        return d
            .as_str()
            .parse::<f64>()
            .map(Value::Float64)
            .map_err(|e| e.to_string());
    }
    let value_scale = i32::from(d.scale());
    let mut digits =
        String::with_capacity(d.integer_digits().len() + d.fraction_digits().len() + 4);
    digits.push_str(d.integer_digits());
    digits.push_str(d.fraction_digits());
    let negative = d.is_negative();
    let decimal = match column_scale {
        Some(s) if s > value_scale => {
            for _ in value_scale..s {
                digits.push('0');
            }
            Decimal::from_digits(negative, &digits, s)
        }
        Some(_) => Decimal::from_digits(negative, &digits, value_scale),
        None if cfg.decimal_mode == DecimalMode::Precise => {
            // stripTrailingZeros, never below scale 0.
            let mut scale = value_scale;
            while scale > 0 && digits.ends_with('0') {
                digits.pop();
                scale -= 1;
            }
            let decimal =
                Decimal::from_digits(negative, &digits, scale).ok_or("malformed numeric digits")?;
            let vs = Arc::new(schema.clone());
            let s = Struct::from_values_unchecked(
                vs,
                vec![
                    Some(Value::Int32(scale)),
                    Some(Value::Bytes(Bytes::copy_from_slice(decimal.unscaled()))),
                ],
            );
            return Ok(Value::Struct(s));
        }
        None => Decimal::from_digits(negative, &digits, value_scale),
    }
    .ok_or("malformed numeric digits")?;
    Ok(match cfg.decimal_mode {
        DecimalMode::String => Value::from(decimal.to_string()),
        _ => Value::Decimal(decimal),
    })
}

fn money(cfg: &EnvelopeConfig, cents: i64) -> Value {
    match cfg.decimal_mode {
        DecimalMode::Double => Value::Float64(cents as f64 / 100.0),
        DecimalMode::String => Value::from(Decimal::from_i128(i128::from(cents), 2).to_string()),
        DecimalMode::Precise => {
            let digits = cfg.money_fraction_digits;
            let v = i128::from(cents);
            if digits >= 2 {
                // Append zeros as text: any number of fraction digits fits.
                let mut text = v.unsigned_abs().to_string();
                for _ in 2..digits {
                    text.push('0');
                }
                return Decimal::from_digits(v < 0, &text, digits)
                    .map(Value::Decimal)
                    .unwrap_or(Value::Decimal(Decimal::from_i128(0, digits)));
            }
            let div = 10i128.pow((2 - digits).unsigned_abs());
            let q = v / div;
            let r = v % div;
            // HALF_UP: away from zero at exactly half.
            let unscaled = if r.abs() * 2 >= div {
                q + v.signum()
            } else {
                q
            };
            Value::Decimal(Decimal::from_i128(unscaled, digits))
        }
    }
}

/// Debezium's WKB for a point: little-endian byte order, type 1, x, y.
fn point(schema: &Arc<Schema>, pg: &PgValue<'_>) -> Result<Value, String> {
    let (x, y) = match pg {
        PgValue::Unknown {
            raw,
            format: Format::Text,
            ..
        } => {
            let text = std::str::from_utf8(raw).map_err(|e| e.to_string())?;
            let inner = text
                .trim()
                .strip_prefix('(')
                .and_then(|t| t.strip_suffix(')'))
                .ok_or("point text is not (x,y)")?;
            let (x, y) = inner.split_once(',').ok_or("point text is not (x,y)")?;
            (
                x.trim().parse::<f64>().map_err(|e| e.to_string())?,
                y.trim().parse::<f64>().map_err(|e| e.to_string())?,
            )
        }
        PgValue::Unknown {
            raw,
            format: Format::Binary,
            ..
        } => {
            let (Some(x), Some(y)) = (raw.get(..8), raw.get(8..16)) else {
                return Err("binary point is not 16 bytes".into());
            };
            let mut xb = [0u8; 8];
            let mut yb = [0u8; 8];
            xb.copy_from_slice(x);
            yb.copy_from_slice(y);
            (f64::from_be_bytes(xb), f64::from_be_bytes(yb))
        }
        _ => return Err(format!("unexpected {} value for a point", pg.kind_name())),
    };
    Ok(point_value(schema, x, y))
}

pub(crate) fn point_value(schema: &Arc<Schema>, x: f64, y: f64) -> Value {
    let mut wkb = Vec::with_capacity(21);
    wkb.push(1u8);
    wkb.extend_from_slice(&1u32.to_le_bytes());
    wkb.extend_from_slice(&x.to_le_bytes());
    wkb.extend_from_slice(&y.to_le_bytes());
    Value::Struct(Struct::from_values_unchecked(
        schema.clone(),
        vec![
            Some(Value::Float64(x)),
            Some(Value::Float64(y)),
            Some(Value::Bytes(Bytes::from(wkb))),
            None,
        ],
    ))
}

fn hstore_value(cfg: &EnvelopeConfig, entries: Vec<(String, Option<String>)>) -> Value {
    let ordered = crate::javamap::hashmap_order(entries);
    match cfg.hstore_mode {
        HstoreMode::Json => {
            let mut out = Vec::with_capacity(64);
            out.push(b'{');
            for (i, (k, v)) in ordered.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                tidewater_connect::write_json_string(&mut out, k);
                out.push(b':');
                match v {
                    Some(v) => tidewater_connect::write_json_string(&mut out, v),
                    None => out.extend_from_slice(b"null"),
                }
            }
            out.push(b'}');
            Value::from(String::from_utf8(out).unwrap_or_default())
        }
        HstoreMode::Map => Value::Map(
            ordered
                .into_iter()
                .map(|(k, v)| (Value::from(k), v.map(Value::from)))
                .collect(),
        ),
    }
}

/// The value Debezium substitutes for a null in a required column (its
/// converters' fallbacks), so a partial old row still fits the schema.
pub(crate) fn fallback(conv: &Conv, schema: &Arc<Schema>, cfg: &EnvelopeConfig) -> Option<Value> {
    if let Some(d) = schema.default_value() {
        return Some(d.clone());
    }
    Some(match conv {
        Conv::Bool | Conv::BitBool => Value::Boolean(false),
        Conv::Int16 => Value::Int16(0),
        Conv::Int32 => Value::Int32(0),
        Conv::Int64 => Value::Int64(0),
        Conv::Float32 => Value::Float32(0.0),
        Conv::Float64 => Value::Float64(0.0),
        Conv::Time(TsUnit::Millis) | Conv::Date => Value::Int32(0),
        Conv::Time(TsUnit::Micros) | Conv::Timestamp(_) => Value::Int64(0),
        Conv::TimestampTz(_) => Value::from_static("1970-01-01T00:00:00Z"),
        Conv::TimeTz => Value::from_static("00:00:00Z"),
        Conv::Interval => match cfg.interval_mode {
            IntervalMode::Numeric => Value::Int64(0),
            IntervalMode::String => Value::from_static("P0Y0M0DT0H0M0S"),
        },
        Conv::Point => point_value(schema, 0.0, 0.0),
        Conv::Array(_) => Value::Array(Vec::new()),
        Conv::Hstore => match cfg.hstore_mode {
            HstoreMode::Json => Value::from_static("{}"),
            HstoreMode::Map => Value::Map(Vec::new()),
        },
        Conv::Numeric(_) | Conv::Money => match schema.schema_type() {
            SchemaType::Float64 => Value::Float64(0.0),
            SchemaType::String => Value::from_static("0"),
            SchemaType::Struct => Value::Struct(Struct::from_values_unchecked(
                schema.clone(),
                vec![
                    Some(Value::Int32(0)),
                    Some(Value::Bytes(Bytes::from_static(&[0]))),
                ],
            )),
            _ => Value::Decimal(Decimal::from_i128(
                0,
                logical::decimal_scale(schema).unwrap_or(0),
            )),
        },
        Conv::Text => Value::from_static(""),
        Conv::Bits | Conv::Bytea | Conv::Unknown => match schema.schema_type() {
            SchemaType::String => Value::from_static(""),
            _ => Value::Bytes(Bytes::new()),
        },
    })
}

/// The value for an unchanged TOASTed column: the placeholder in the
/// column's representation, or null where it has none.
pub(crate) fn toast_placeholder(
    conv: &Conv,
    schema: &Arc<Schema>,
    cfg: &EnvelopeConfig,
) -> Option<Value> {
    let text =
        || Value::from(String::from_utf8_lossy(&cfg.unavailable_value_placeholder).into_owned());
    match conv {
        Conv::Bytea | Conv::Unknown => {
            Some(binary(cfg.binary_mode, &cfg.unavailable_value_placeholder))
        }
        Conv::Text | Conv::Hstore if schema.schema_type() == SchemaType::String => Some(text()),
        Conv::Array(inner) if matches!(**inner, Conv::Text) => {
            Some(Value::Array(vec![Some(text())]))
        }
        _ => None,
    }
}

/// The default of a column from its text, through the same conversion.
pub(crate) fn default_value(
    cfg: &EnvelopeConfig,
    types: &dyn TypeLookup,
    conv: &Conv,
    schema: &Arc<Schema>,
    type_oid: u32,
    typmod: i32,
    text: &str,
) -> Option<Value> {
    let pg = value::decode_text(type_oid, typmod, text.as_bytes(), types).ok()?;
    let raw = Bytes::copy_from_slice(text.as_bytes());
    convert(cfg, conv, schema, &pg, Some(&raw)).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_as_debezium_writes_them() {
        let b = |s: &str| bits_little_endian(s.chars().map(|c| c == '1'));
        assert_eq!(b("11"), vec![3]);
        assert_eq!(b("000000110000001000000001"), vec![1, 2, 3]);
        assert_eq!(b("101"), vec![5]);
        assert_eq!(b("0000"), Vec::<u8>::new());
        assert_eq!(b("100000000"), vec![0, 1]);
    }
}
