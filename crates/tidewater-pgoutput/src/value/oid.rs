//! OIDs of the built-in types the decoder understands (from PostgreSQL's
//! `pg_type.dat`; built-in OIDs are fixed across server versions).

/// `bool`
pub const BOOL: u32 = 16;
/// `bytea`
pub const BYTEA: u32 = 17;
/// `"char"` (single byte)
pub const CHAR: u32 = 18;
/// `name`
pub const NAME: u32 = 19;
/// `int8` / `bigint`
pub const INT8: u32 = 20;
/// `int2` / `smallint`
pub const INT2: u32 = 21;
/// `int4` / `integer`
pub const INT4: u32 = 23;
/// `text`
pub const TEXT: u32 = 25;
/// `oid`
pub const OID: u32 = 26;
/// `json`
pub const JSON: u32 = 114;
/// `xml`
pub const XML: u32 = 142;
/// `float4` / `real`
pub const FLOAT4: u32 = 700;
/// `float8` / `double precision`
pub const FLOAT8: u32 = 701;
/// `money`
pub const MONEY: u32 = 790;
/// `macaddr`
pub const MACADDR: u32 = 829;
/// `inet`
pub const INET: u32 = 869;
/// `cidr`
pub const CIDR: u32 = 650;
/// `macaddr8`
pub const MACADDR8: u32 = 774;
/// `bpchar` / `character(n)`
pub const BPCHAR: u32 = 1042;
/// `varchar` / `character varying(n)`
pub const VARCHAR: u32 = 1043;
/// `date`
pub const DATE: u32 = 1082;
/// `time` / `time without time zone`
pub const TIME: u32 = 1083;
/// `timestamp` / `timestamp without time zone`
pub const TIMESTAMP: u32 = 1114;
/// `timestamptz` / `timestamp with time zone`
pub const TIMESTAMPTZ: u32 = 1184;
/// `interval`
pub const INTERVAL: u32 = 1186;
/// `timetz` / `time with time zone`
pub const TIMETZ: u32 = 1266;
/// `bit(n)`
pub const BIT: u32 = 1560;
/// `varbit` / `bit varying(n)`
pub const VARBIT: u32 = 1562;
/// `numeric` / `decimal`
pub const NUMERIC: u32 = 1700;
/// `uuid`
pub const UUID: u32 = 2950;
/// `jsonb`
pub const JSONB: u32 = 3802;

/// `_bool` (`bool[]`)
pub const BOOL_ARRAY: u32 = 1000;
/// `_bytea`
pub const BYTEA_ARRAY: u32 = 1001;
/// `_char`
pub const CHAR_ARRAY: u32 = 1002;
/// `_name`
pub const NAME_ARRAY: u32 = 1003;
/// `_int2`
pub const INT2_ARRAY: u32 = 1005;
/// `_int4`
pub const INT4_ARRAY: u32 = 1007;
/// `_text`
pub const TEXT_ARRAY: u32 = 1009;
/// `_bpchar`
pub const BPCHAR_ARRAY: u32 = 1014;
/// `_varchar`
pub const VARCHAR_ARRAY: u32 = 1015;
/// `_int8`
pub const INT8_ARRAY: u32 = 1016;
/// `_float4`
pub const FLOAT4_ARRAY: u32 = 1021;
/// `_float8`
pub const FLOAT8_ARRAY: u32 = 1022;
/// `_oid`
pub const OID_ARRAY: u32 = 1028;
/// `_macaddr`
pub const MACADDR_ARRAY: u32 = 1040;
/// `_inet`
pub const INET_ARRAY: u32 = 1041;
/// `_cidr`
pub const CIDR_ARRAY: u32 = 651;
/// `_macaddr8`
pub const MACADDR8_ARRAY: u32 = 775;
/// `_money`
pub const MONEY_ARRAY: u32 = 791;
/// `_json`
pub const JSON_ARRAY: u32 = 199;
/// `_xml`
pub const XML_ARRAY: u32 = 143;
/// `_date`
pub const DATE_ARRAY: u32 = 1182;
/// `_time`
pub const TIME_ARRAY: u32 = 1183;
/// `_timestamp`
pub const TIMESTAMP_ARRAY: u32 = 1115;
/// `_timestamptz`
pub const TIMESTAMPTZ_ARRAY: u32 = 1185;
/// `_interval`
pub const INTERVAL_ARRAY: u32 = 1187;
/// `_timetz`
pub const TIMETZ_ARRAY: u32 = 1270;
/// `_numeric`
pub const NUMERIC_ARRAY: u32 = 1231;
/// `_bit`
pub const BIT_ARRAY: u32 = 1561;
/// `_varbit`
pub const VARBIT_ARRAY: u32 = 1563;
/// `_uuid`
pub const UUID_ARRAY: u32 = 2951;
/// `_jsonb`
pub const JSONB_ARRAY: u32 = 3807;

/// Every built-in scalar type: (OID, name, array type OID).
const SCALARS: &[(u32, &str, u32)] = &[
    (BOOL, "bool", BOOL_ARRAY),
    (BYTEA, "bytea", BYTEA_ARRAY),
    (CHAR, "char", CHAR_ARRAY),
    (NAME, "name", NAME_ARRAY),
    (INT8, "int8", INT8_ARRAY),
    (INT2, "int2", INT2_ARRAY),
    (INT4, "int4", INT4_ARRAY),
    (TEXT, "text", TEXT_ARRAY),
    (OID, "oid", OID_ARRAY),
    (JSON, "json", JSON_ARRAY),
    (XML, "xml", XML_ARRAY),
    (FLOAT4, "float4", FLOAT4_ARRAY),
    (FLOAT8, "float8", FLOAT8_ARRAY),
    (MONEY, "money", MONEY_ARRAY),
    (MACADDR, "macaddr", MACADDR_ARRAY),
    (INET, "inet", INET_ARRAY),
    (CIDR, "cidr", CIDR_ARRAY),
    (MACADDR8, "macaddr8", MACADDR8_ARRAY),
    (BPCHAR, "bpchar", BPCHAR_ARRAY),
    (VARCHAR, "varchar", VARCHAR_ARRAY),
    (DATE, "date", DATE_ARRAY),
    (TIME, "time", TIME_ARRAY),
    (TIMESTAMP, "timestamp", TIMESTAMP_ARRAY),
    (TIMESTAMPTZ, "timestamptz", TIMESTAMPTZ_ARRAY),
    (INTERVAL, "interval", INTERVAL_ARRAY),
    (TIMETZ, "timetz", TIMETZ_ARRAY),
    (BIT, "bit", BIT_ARRAY),
    (VARBIT, "varbit", VARBIT_ARRAY),
    (NUMERIC, "numeric", NUMERIC_ARRAY),
    (UUID, "uuid", UUID_ARRAY),
    (JSONB, "jsonb", JSONB_ARRAY),
];

/// Every built-in type OID this module decodes (scalars, then arrays).
pub fn all() -> impl Iterator<Item = u32> {
    SCALARS
        .iter()
        .map(|&(o, _, _)| o)
        .chain(SCALARS.iter().map(|&(_, _, a)| a))
}

/// The `pg_type.typname` of a built-in type this module knows, e.g. `"int4"`
/// or `"_int4"` for its array type.
pub fn type_name(oid: u32) -> Option<&'static str> {
    // A `match` compiles to a jump table / binary search; the array names are
    // spelled out so the function returns `&'static str` without allocating.
    Some(match oid {
        BOOL => "bool",
        BYTEA => "bytea",
        CHAR => "char",
        NAME => "name",
        INT8 => "int8",
        INT2 => "int2",
        INT4 => "int4",
        TEXT => "text",
        OID => "oid",
        JSON => "json",
        XML => "xml",
        FLOAT4 => "float4",
        FLOAT8 => "float8",
        MONEY => "money",
        MACADDR => "macaddr",
        INET => "inet",
        CIDR => "cidr",
        MACADDR8 => "macaddr8",
        BPCHAR => "bpchar",
        VARCHAR => "varchar",
        DATE => "date",
        TIME => "time",
        TIMESTAMP => "timestamp",
        TIMESTAMPTZ => "timestamptz",
        INTERVAL => "interval",
        TIMETZ => "timetz",
        BIT => "bit",
        VARBIT => "varbit",
        NUMERIC => "numeric",
        UUID => "uuid",
        JSONB => "jsonb",
        BOOL_ARRAY => "_bool",
        BYTEA_ARRAY => "_bytea",
        CHAR_ARRAY => "_char",
        NAME_ARRAY => "_name",
        INT8_ARRAY => "_int8",
        INT2_ARRAY => "_int2",
        INT4_ARRAY => "_int4",
        TEXT_ARRAY => "_text",
        OID_ARRAY => "_oid",
        JSON_ARRAY => "_json",
        XML_ARRAY => "_xml",
        FLOAT4_ARRAY => "_float4",
        FLOAT8_ARRAY => "_float8",
        MONEY_ARRAY => "_money",
        MACADDR_ARRAY => "_macaddr",
        INET_ARRAY => "_inet",
        CIDR_ARRAY => "_cidr",
        MACADDR8_ARRAY => "_macaddr8",
        BPCHAR_ARRAY => "_bpchar",
        VARCHAR_ARRAY => "_varchar",
        DATE_ARRAY => "_date",
        TIME_ARRAY => "_time",
        TIMESTAMP_ARRAY => "_timestamp",
        TIMESTAMPTZ_ARRAY => "_timestamptz",
        INTERVAL_ARRAY => "_interval",
        TIMETZ_ARRAY => "_timetz",
        BIT_ARRAY => "_bit",
        VARBIT_ARRAY => "_varbit",
        NUMERIC_ARRAY => "_numeric",
        UUID_ARRAY => "_uuid",
        JSONB_ARRAY => "_jsonb",
        _ => return None,
    })
}

/// The element type of a built-in array type, e.g. `INT4_ARRAY` → `INT4`.
pub fn array_element(array_oid: u32) -> Option<u32> {
    Some(match array_oid {
        BOOL_ARRAY => BOOL,
        BYTEA_ARRAY => BYTEA,
        CHAR_ARRAY => CHAR,
        NAME_ARRAY => NAME,
        INT8_ARRAY => INT8,
        INT2_ARRAY => INT2,
        INT4_ARRAY => INT4,
        TEXT_ARRAY => TEXT,
        OID_ARRAY => OID,
        JSON_ARRAY => JSON,
        XML_ARRAY => XML,
        FLOAT4_ARRAY => FLOAT4,
        FLOAT8_ARRAY => FLOAT8,
        MONEY_ARRAY => MONEY,
        MACADDR_ARRAY => MACADDR,
        INET_ARRAY => INET,
        CIDR_ARRAY => CIDR,
        MACADDR8_ARRAY => MACADDR8,
        BPCHAR_ARRAY => BPCHAR,
        VARCHAR_ARRAY => VARCHAR,
        DATE_ARRAY => DATE,
        TIME_ARRAY => TIME,
        TIMESTAMP_ARRAY => TIMESTAMP,
        TIMESTAMPTZ_ARRAY => TIMESTAMPTZ,
        INTERVAL_ARRAY => INTERVAL,
        TIMETZ_ARRAY => TIMETZ,
        BIT_ARRAY => BIT,
        VARBIT_ARRAY => VARBIT,
        NUMERIC_ARRAY => NUMERIC,
        UUID_ARRAY => UUID,
        JSONB_ARRAY => JSONB,
        _ => return None,
    })
}

/// The array type of a built-in scalar type, e.g. `INT4` → `INT4_ARRAY`.
pub fn array_of(element_oid: u32) -> Option<u32> {
    SCALARS
        .iter()
        .find(|&&(o, _, _)| o == element_oid)
        .map(|&(_, _, a)| a)
}

/// Whether `oid` is one of the built-in scalar types this module decodes.
pub fn is_builtin_scalar(oid: u32) -> bool {
    matches!(
        oid,
        BOOL | BYTEA
            | CHAR
            | NAME
            | INT8
            | INT2
            | INT4
            | TEXT
            | OID
            | JSON
            | XML
            | FLOAT4
            | FLOAT8
            | MONEY
            | MACADDR
            | INET
            | CIDR
            | MACADDR8
            | BPCHAR
            | VARCHAR
            | DATE
            | TIME
            | TIMESTAMP
            | TIMESTAMPTZ
            | INTERVAL
            | TIMETZ
            | BIT
            | VARBIT
            | NUMERIC
            | UUID
            | JSONB
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_arrays_agree() {
        for &(o, name, a) in SCALARS {
            assert_eq!(type_name(o), Some(name));
            let array_name = format!("_{name}");
            assert_eq!(type_name(a), Some(array_name.as_str()));
            assert_eq!(array_element(a), Some(o));
            assert_eq!(array_of(o), Some(a));
            assert!(is_builtin_scalar(o));
            assert!(!is_builtin_scalar(a));
        }
        assert_eq!(all().count(), SCALARS.len() * 2);
        let scalars = (0..10_000).filter(|&o| is_builtin_scalar(o)).count();
        let arrays = (0..10_000).filter(|&o| array_element(o).is_some()).count();
        assert_eq!((scalars, arrays), (SCALARS.len(), SCALARS.len()));
        assert_eq!(type_name(0), None);
        assert_eq!(array_element(INT4), None);
    }

    #[test]
    fn well_known_values() {
        // Spot checks against pg_type.dat.
        assert_eq!((INT4, INT4_ARRAY), (23, 1007));
        assert_eq!((TEXT, TEXT_ARRAY), (25, 1009));
        assert_eq!((NUMERIC, NUMERIC_ARRAY), (1700, 1231));
        assert_eq!((JSONB, JSONB_ARRAY), (3802, 3807));
        assert_eq!((CIDR, CIDR_ARRAY), (650, 651));
        assert_eq!((XML, XML_ARRAY), (142, 143));
        assert_eq!((JSON, JSON_ARRAY), (114, 199));
        assert_eq!((MACADDR8, MACADDR8_ARRAY), (774, 775));
    }
}
