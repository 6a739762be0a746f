//! `org.apache.kafka.connect.transforms.ExtractField$Key` / `$Value`: the key
//! or value becomes one of its fields.

use std::sync::Arc;

use tidewater_connect::{ConnectRecord, Schema, Value};

use crate::cache::{DEFAULT_CAPACITY, SchemaCache};
use crate::config::TransformOptions;
use crate::error::{Result, TransformError};
use crate::traits::Transform;
use crate::util::{Side, build, field_value, map_get, require_map, same_type_basics, struct_of};

/// `ExtractField$Key` / `ExtractField$Value`: `field` (required; with
/// `field.syntax.version=V2` a dotted path, backticks around names that
/// contain dots).
#[derive(Debug)]
pub struct ExtractField {
    side: Side,
    path: Vec<String>,
    replace_null_with_default: bool,
    schemas: SchemaCache<(Arc<Schema>, Arc<[usize]>)>,
}

/// Splits a V2 field path: `a.b`, `` `a.b`.c `` (a doubled backtick inside
/// backticks is one backtick).
fn split_path(path: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '`' if quoted && chars.peek() == Some(&'`') => {
                chars.next();
                cur.push('`');
            }
            '`' if quoted => quoted = false,
            '`' if cur.is_empty() => quoted = true,
            '.' if !quoted => out.push(std::mem::take(&mut cur)),
            other => cur.push(other),
        }
    }
    if quoted {
        return Err("unclosed backtick in field path".into());
    }
    out.push(cur);
    if out.iter().any(String::is_empty) {
        return Err("empty field name in path".into());
    }
    Ok(out)
}

impl ExtractField {
    /// From the options of `ExtractField$Key` or `$Value`.
    pub fn from_options(side: Side, opts: &mut TransformOptions) -> Result<ExtractField> {
        let field = opts.required("field")?;
        let version = opts.choice("field.syntax.version", &["V1", "V2"], "V1")?;
        let path = if version == "V2" {
            split_path(&field).map_err(|e| opts.error("field", Some(&field), e))?
        } else {
            vec![field]
        };
        Ok(ExtractField {
            side,
            path,
            replace_null_with_default: opts.bool("replace.null.with.default", true)?,
            schemas: SchemaCache::new(DEFAULT_CAPACITY),
        })
    }
}

impl Transform for ExtractField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let Some(value) = self.side.value(&record) else {
            return Ok(Some(record));
        };
        let topic = record.topic.clone();
        match self.side.schema(&record).cloned() {
            None => {
                let mut current = Some(value.clone());
                for name in &self.path {
                    current = match &current {
                        Some(v) => map_get(require_map(v, &topic, "field extraction")?, name)
                            .cloned()
                            .flatten(),
                        None => None,
                    };
                }
                self.side.put(&mut record, None, current);
            }
            Some(schema) => {
                let (out_schema, indexes) = self.schemas.get_or_try_insert(&schema, (), || {
                    let mut s = schema.clone();
                    let mut idx = Vec::new();
                    let mut optional_parent = false;
                    for (depth, name) in self.path.iter().enumerate() {
                        let f = s.field(name).ok_or_else(|| {
                            TransformError::record(&topic, format!("unknown field: {name}"))
                        })?;
                        idx.push(f.index());
                        let next = f.schema().clone();
                        if depth + 1 < self.path.len() && next.is_optional() {
                            optional_parent = true;
                        }
                        s = next;
                    }
                    // Under an optional struct the field may be missing: the
                    // extracted schema must then allow null.
                    if optional_parent && !s.is_optional() && s.default_value().is_none() {
                        s = build(same_type_basics(&s).optional(), &topic)?;
                    }
                    Ok::<_, TransformError>((s, Arc::from(idx)))
                })?;
                let mut current = Some(Value::Struct(
                    struct_of(value, &schema, &topic, "field extraction")?.clone(),
                ));
                for i in indexes.iter() {
                    current = match current {
                        Some(Value::Struct(st)) => {
                            field_value(&st, *i, self.replace_null_with_default)
                        }
                        _ => None,
                    };
                }
                self.side.put(&mut record, Some(out_schema), current);
            }
        }
        Ok(Some(record))
    }
}
