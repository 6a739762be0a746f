//! What the source reads from the system catalogs: table metadata (columns,
//! primary key, replica identity), user-defined types for the decoder, and the
//! tables of a publication.

use tidewater_pgoutput::{Relation, RelationColumn, ReplicaIdentity, TypeInfo, TypeKind};
use tokio_postgres::Client;

use crate::error::{Result, SourceError};
use crate::filter::is_system_schema;

/// A table as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableMetadata {
    /// The table's OID.
    pub oid: u32,
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// The replica identity setting, which decides what old values changes carry.
    pub replica_identity: ReplicaIdentity,
    /// Columns in table order (dropped and generated columns left out, as pgoutput does).
    pub columns: Vec<ColumnMetadata>,
    /// Primary key columns in key order; empty without a primary key.
    pub primary_key: Vec<String>,
    /// Columns of the replica identity index (`REPLICA IDENTITY USING INDEX`, or the
    /// primary key for `DEFAULT`); empty otherwise.
    pub identity_index: Vec<String>,
}

/// A column of a [`TableMetadata`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ColumnMetadata {
    /// Column name.
    pub name: String,
    /// Data type OID.
    pub type_oid: u32,
    /// Type modifier (`atttypmod`), -1 when none.
    pub type_modifier: i32,
    /// The type as SQL writes it, e.g. `numeric(10,2)`.
    pub type_name: String,
    /// Whether the column is `NOT NULL`.
    pub not_null: bool,
    /// The column's default expression as PostgreSQL prints it
    /// (`pg_get_expr` of `pg_attrdef`), for example `0`, `'abc'::text` or
    /// `nextval('t_id_seq'::regclass)`; `None` without a default.
    pub default: Option<String>,
}

impl TableMetadata {
    /// The columns identifying a row for message keys, as Debezium chooses them:
    /// the primary key, else the replica identity index; empty when neither exists.
    pub fn key_columns(&self) -> &[String] {
        if self.primary_key.is_empty() {
            &self.identity_index
        } else {
            &self.primary_key
        }
    }

    /// The `Relation` pgoutput would send for this table, restricted to the
    /// columns at `positions` (indexes into [`columns`](Self::columns)). Key flags
    /// follow pgoutput: every column under `REPLICA IDENTITY FULL`, the identity
    /// index columns otherwise.
    pub fn relation(&self, positions: &[usize]) -> Relation {
        let columns = positions
            .iter()
            .filter_map(|&i| self.columns.get(i))
            .map(|c| {
                let key = match self.replica_identity {
                    ReplicaIdentity::Full => true,
                    ReplicaIdentity::Nothing => false,
                    _ => self.identity_index.contains(&c.name),
                };
                RelationColumn {
                    flags: u8::from(key),
                    name: c.name.clone(),
                    type_oid: c.type_oid,
                    type_modifier: c.type_modifier,
                }
            })
            .collect();
        Relation {
            xid: None,
            oid: self.oid,
            namespace: self.schema.clone(),
            name: self.name.clone(),
            replica_identity: self.replica_identity,
            columns,
        }
    }
}

/// A table a publication publishes (or, without a publication, a user table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublishedTable {
    pub(crate) oid: u32,
    pub(crate) schema: String,
    pub(crate) name: String,
    /// The publication's column list (PostgreSQL 15+), if it has one.
    pub(crate) columns: Option<Vec<String>>,
}

fn query_error(what: &str) -> impl FnOnce(tokio_postgres::Error) -> SourceError + '_ {
    move |e| SourceError::control(format!("reading {what} from the catalog"), e)
}

/// Reads a table's metadata; `None` when the table no longer exists.
pub(crate) async fn table_metadata(
    client: &Client,
    oid: u32,
    server_version: u32,
) -> Result<Option<TableMetadata>> {
    let generated = if server_version >= 120_000 {
        "AND a.attgenerated = ''"
    } else {
        ""
    };
    let sql = format!(
        "SELECT n.nspname::text, c.relname::text, c.relreplident::text, \
                a.attname::text, a.atttypid, a.atttypmod, \
                format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                array_position(pk.indkey::int2[], a.attnum), \
                array_position(ri.indkey::int2[], a.attnum), \
                pg_get_expr(d.adbin, d.adrelid) \
         FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 \
              AND NOT a.attisdropped {generated} \
         LEFT JOIN pg_index pk ON pk.indrelid = c.oid AND pk.indisprimary \
         LEFT JOIN pg_index ri ON ri.indrelid = c.oid AND ri.indisreplident \
         LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
         WHERE c.oid = $1 \
         ORDER BY a.attnum"
    );
    let rows = client
        .query(&sql, &[&oid])
        .await
        .map_err(query_error("table metadata"))?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let get_err = |e: tokio_postgres::Error| SourceError::control("reading table metadata", e);
    let identity: String = first.try_get(2).map_err(get_err)?;
    let replica_identity = match identity.as_str() {
        "d" => ReplicaIdentity::Default,
        "n" => ReplicaIdentity::Nothing,
        "f" => ReplicaIdentity::Full,
        "i" => ReplicaIdentity::Index,
        other => {
            return Err(SourceError::protocol(
                "reading table metadata",
                format!("unknown relreplident {other:?}"),
            ));
        }
    };
    let mut table = TableMetadata {
        oid,
        schema: first.try_get(0).map_err(get_err)?,
        name: first.try_get(1).map_err(get_err)?,
        replica_identity,
        columns: Vec::with_capacity(rows.len()),
        primary_key: Vec::new(),
        identity_index: Vec::new(),
    };
    let mut pk: Vec<(i32, String)> = Vec::new();
    let mut ri: Vec<(i32, String)> = Vec::new();
    for row in &rows {
        let Some(name) = row.try_get::<_, Option<String>>(3).map_err(get_err)? else {
            continue;
        };
        if let Some(pos) = row.try_get::<_, Option<i32>>(8).map_err(get_err)? {
            pk.push((pos, name.clone()));
        }
        if let Some(pos) = row.try_get::<_, Option<i32>>(9).map_err(get_err)? {
            ri.push((pos, name.clone()));
        }
        table.columns.push(ColumnMetadata {
            name,
            type_oid: row.try_get(4).map_err(get_err)?,
            type_modifier: row.try_get(5).map_err(get_err)?,
            type_name: row.try_get(6).map_err(get_err)?,
            not_null: row.try_get(7).map_err(get_err)?,
            default: row.try_get(10).map_err(get_err)?,
        });
    }
    pk.sort();
    ri.sort();
    table.primary_key = pk.into_iter().map(|(_, n)| n).collect();
    table.identity_index = match replica_identity {
        ReplicaIdentity::Default => table.primary_key.clone(),
        ReplicaIdentity::Index => ri.into_iter().map(|(_, n)| n).collect(),
        _ => Vec::new(),
    };
    Ok(Some(table))
}

const TYPE_COLUMNS: &str = "t.oid, n.nspname::text, t.typname::text, t.typtype::text, \
     t.typbasetype, t.typelem, t.typcategory::text, \
     ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid \
           ORDER BY e.enumsortorder)";

fn type_from_row(row: &tokio_postgres::Row) -> Result<Option<TypeInfo>> {
    let get_err = |e: tokio_postgres::Error| SourceError::control("reading a type", e);
    let oid: u32 = row.try_get(0).map_err(get_err)?;
    let namespace: String = row.try_get(1).map_err(get_err)?;
    let name: String = row.try_get(2).map_err(get_err)?;
    let typtype: String = row.try_get(3).map_err(get_err)?;
    let base: u32 = row.try_get(4).map_err(get_err)?;
    let element: u32 = row.try_get(5).map_err(get_err)?;
    let category: String = row.try_get(6).map_err(get_err)?;
    let labels: Vec<String> = row.try_get(7).map_err(get_err)?;
    let kind = match typtype.as_str() {
        "e" => TypeKind::Enum { labels },
        "d" => TypeKind::Domain { base_oid: base },
        _ if category == "A" && element != 0 => TypeKind::Array {
            element_oid: element,
        },
        _ => return Ok(None),
    };
    let namespace = if namespace == "pg_catalog" {
        String::new()
    } else {
        namespace
    };
    Ok(Some(TypeInfo {
        oid,
        namespace,
        name,
        kind,
    }))
}

/// Enum and domain types outside the system schemas, and arrays of them.
pub(crate) async fn user_types(client: &Client) -> Result<Vec<TypeInfo>> {
    let sql = format!(
        "SELECT {TYPE_COLUMNS} FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND (t.typtype IN ('e', 'd') \
                OR (t.typcategory = 'A' AND EXISTS ( \
                      SELECT 1 FROM pg_type el \
                      WHERE el.oid = t.typelem AND el.typtype IN ('e', 'd'))))"
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(query_error("user-defined types"))?;
    let mut types = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(info) = type_from_row(row)? {
            types.push(info);
        }
    }
    Ok(types)
}

/// One type, when it is an enum, a domain or an array.
pub(crate) async fn type_info(client: &Client, oid: u32) -> Result<Option<TypeInfo>> {
    let sql = format!(
        "SELECT {TYPE_COLUMNS} FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE t.oid = $1"
    );
    let rows = client
        .query(&sql, &[&oid])
        .await
        .map_err(query_error("a type"))?;
    match rows.first() {
        Some(row) => type_from_row(row),
        None => Ok(None),
    }
}

/// The tables a publication publishes, with their column lists (PostgreSQL 15+).
pub(crate) async fn publication_tables(
    client: &Client,
    publication: &str,
    server_version: u32,
) -> Result<Vec<PublishedTable>> {
    let attnames = if server_version >= 150_000 {
        "p.attnames::text[]"
    } else {
        "NULL::text[]"
    };
    let sql = format!(
        "SELECT c.oid, p.schemaname::text, p.tablename::text, {attnames} \
         FROM pg_publication_tables p \
         JOIN pg_namespace n ON n.nspname = p.schemaname \
         JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename \
         WHERE p.pubname = $1 \
         ORDER BY 2, 3"
    );
    let rows = client
        .query(&sql, &[&publication])
        .await
        .map_err(query_error("publication tables"))?;
    rows.iter()
        .map(|row| {
            let get_err = |e| SourceError::control("reading publication tables", e);
            Ok(PublishedTable {
                oid: row.try_get(0).map_err(get_err)?,
                schema: row.try_get(1).map_err(get_err)?,
                name: row.try_get(2).map_err(get_err)?,
                columns: row.try_get(3).map_err(get_err)?,
            })
        })
        .collect()
}

/// Ordinary and partitioned tables outside the system schemas (partitions are
/// read through their parent).
pub(crate) async fn user_tables(client: &Client) -> Result<Vec<PublishedTable>> {
    let rows = client
        .query(
            "SELECT c.oid, n.nspname::text, c.relname::text \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
             ORDER BY 2, 3",
            &[],
        )
        .await
        .map_err(query_error("tables"))?;
    let mut tables = Vec::new();
    for row in &rows {
        let get_err = |e| SourceError::control("reading tables", e);
        let schema: String = row.try_get(1).map_err(get_err)?;
        if is_system_schema(&schema) {
            continue;
        }
        tables.push(PublishedTable {
            oid: row.try_get(0).map_err(get_err)?,
            schema,
            name: row.try_get(2).map_err(get_err)?,
            columns: None,
        });
    }
    Ok(tables)
}
