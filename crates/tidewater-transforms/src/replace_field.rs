//! `org.apache.kafka.connect.transforms.ReplaceField$Key` / `$Value`: keeps,
//! drops and renames fields.

use std::sync::Arc;

use tidewater_connect::{ConnectRecord, Schema, Struct, Value};

use crate::cache::{DEFAULT_CAPACITY, SchemaCache};
use crate::config::TransformOptions;
use crate::error::Result;
use crate::traits::Transform;
use crate::util::{Side, build, field_value, map_key_name, require_map, struct_basics, struct_of};

/// `ReplaceField$Key` / `ReplaceField$Value`: `exclude` (legacy
/// `blacklist`), `include` (legacy `whitelist`), `renames` (`old:new,…`).
#[derive(Debug)]
pub struct ReplaceField {
    side: Side,
    exclude: Vec<String>,
    include: Vec<String>,
    renames: Vec<(String, String)>,
    replace_null_with_default: bool,
    schemas: SchemaCache<(Arc<Schema>, Arc<[usize]>)>,
}

impl ReplaceField {
    /// From the options of `ReplaceField$Key` or `$Value`.
    pub fn from_options(side: Side, opts: &mut TransformOptions) -> Result<ReplaceField> {
        let mut exclude = opts.list("exclude");
        exclude.extend(opts.list("blacklist"));
        let mut include = opts.list("include");
        include.extend(opts.list("whitelist"));
        let mut renames = Vec::new();
        for r in opts.list("renames") {
            match r.split(':').collect::<Vec<_>>().as_slice() {
                [from, to] if !from.is_empty() && !to.is_empty() => {
                    renames.push((from.to_string(), to.to_string()));
                }
                _ => {
                    return Err(opts.error(
                        "renames",
                        Some(&r),
                        "invalid rename mapping: use old:new pairs separated by commas",
                    ));
                }
            }
        }
        let replace_null_with_default = opts.bool("replace.null.with.default", true)?;
        Ok(ReplaceField {
            side,
            exclude,
            include,
            renames,
            replace_null_with_default,
            schemas: SchemaCache::new(DEFAULT_CAPACITY),
        })
    }

    fn keeps(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name)
            && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames
            .iter()
            .find(|(from, _)| from == name)
            .map(|(_, to)| to.as_str())
            .unwrap_or(name)
    }
}

impl Transform for ReplaceField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let Some(value) = self.side.value(&record) else {
            return Ok(Some(record));
        };
        let topic = record.topic.clone();
        match self.side.schema(&record).cloned() {
            None => {
                let entries = require_map(value, &topic, "field replacement")?;
                let out: Vec<(Value, Option<Value>)> = entries
                    .iter()
                    .filter(|(k, _)| self.keeps(&map_key_name(k)))
                    .map(|(k, v)| {
                        let name = map_key_name(k);
                        let new = self.renamed(&name);
                        let key = if new == name {
                            k.clone()
                        } else {
                            Value::from(new)
                        };
                        (key, v.clone())
                    })
                    .collect();
                self.side.put(&mut record, None, Some(Value::Map(out)));
            }
            Some(schema) => {
                let s = struct_of(value, &schema, &topic, "field replacement")?;
                let (out, kept) = self.schemas.get_or_try_insert(&schema, (), || {
                    let mut b = struct_basics(&schema);
                    let mut kept = Vec::new();
                    for f in schema.fields() {
                        if self.keeps(f.name()) {
                            b = b.field(self.renamed(f.name()), f.schema().clone());
                            kept.push(f.index());
                        }
                    }
                    Ok::<_, crate::TransformError>((build(b, &topic)?, Arc::from(kept)))
                })?;
                let values = kept
                    .iter()
                    .map(|i| field_value(s, *i, self.replace_null_with_default))
                    .collect();
                let st = Struct::from_values_unchecked(out.clone(), values);
                self.side
                    .put(&mut record, Some(out), Some(Value::Struct(st)));
            }
        }
        Ok(Some(record))
    }
}
