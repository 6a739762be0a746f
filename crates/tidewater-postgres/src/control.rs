//! The control connection: an ordinary SQL session (tokio-postgres) with the
//! same address, credentials, TLS and session settings as the replication
//! connection.

use std::time::Duration;

use crate::config::SourceConfig;
use crate::error::{Result, SourceError};
use crate::replication::{APPLICATION_NAME, SESSION_OPTIONS};
use crate::tls::{TlsPolicy, TlsSetup};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens an SQL connection with the source's settings (TLS per
/// `database.sslmode`, the text contract's session settings) and spawns its
/// connection task on the current Tokio runtime.
///
/// ```no_run
/// # async fn example(config: tidewater_postgres::SourceConfig) -> Result<(), tidewater_postgres::SourceError> {
/// let client = tidewater_postgres::connect_sql(&config).await?;
/// let row = client.query_one("SELECT current_setting('DateStyle')", &[]).await
///     .map_err(|e| tidewater_postgres::SourceError::Closed(e.to_string()))?;
/// assert!(row.get::<_, String>(0).starts_with("ISO"));
/// # Ok(())
/// # }
/// ```
pub async fn connect_sql(config: &SourceConfig) -> Result<tokio_postgres::Client> {
    let tls = TlsSetup::from_config(config)?;
    connect_with(config, &tls, APPLICATION_NAME).await
}

pub(crate) async fn connect_with(
    config: &SourceConfig,
    tls: &TlsSetup,
    application_name: &str,
) -> Result<tokio_postgres::Client> {
    let mut pg = tokio_postgres::Config::new();
    if config.uses_unix_socket() {
        pg.host_path(&config.hostname);
    } else {
        pg.host(&config.hostname);
    }
    pg.port(config.port)
        .user(&config.user)
        .dbname(&config.dbname)
        .application_name(application_name)
        .options(SESSION_OPTIONS)
        .connect_timeout(CONNECT_TIMEOUT);
    if let Some(password) = &config.password {
        pg.password(password);
    }
    let context = format!("connecting to {} as {} (SQL)", config.target(), config.user);
    let (connector, mode) = tls.for_tokio_postgres();
    pg.ssl_mode(mode);
    let result = if tls.mode == TlsPolicy::Off {
        pg.connect(tokio_postgres::NoTls)
            .await
            .map(|(client, connection)| {
                spawn_connection(connection);
                client
            })
    } else {
        pg.connect(connector).await.map(|(client, connection)| {
            spawn_connection(connection);
            client
        })
    };
    result.map_err(|e| SourceError::control(context, e))
}

fn spawn_connection<F>(connection: F)
where
    F: std::future::Future<Output = std::result::Result<(), tokio_postgres::Error>>
        + Send
        + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "SQL connection ended");
        }
    });
}

/// `server_version_num` over SQL.
pub(crate) async fn server_version(client: &tokio_postgres::Client) -> Result<u32> {
    let row = client
        .query_one("SELECT current_setting('server_version_num')::int4", &[])
        .await
        .map_err(|e| SourceError::control("reading server_version_num", e))?;
    let version: i32 = row
        .try_get(0)
        .map_err(|e| SourceError::control("reading server_version_num", e))?;
    u32::try_from(version)
        .map_err(|_| SourceError::protocol("reading server_version_num", version.to_string()))
}

/// Checks what logical replication needs before anything is created: a recent
/// enough server, `wal_level = logical`, WAL senders, and a role allowed to replicate.
pub(crate) async fn check_prerequisites(
    client: &tokio_postgres::Client,
    config: &SourceConfig,
    server_version: u32,
) -> Result<()> {
    let target = config.target();
    if server_version < 100_000 {
        return Err(SourceError::Prerequisite(format!(
            "{target} runs PostgreSQL {server_version}; logical replication with pgoutput needs \
             PostgreSQL 10 or later"
        )));
    }
    let settings = client
        .query_one(
            "SELECT current_setting('wal_level'), current_setting('max_wal_senders')::int4, \
                    current_setting('max_replication_slots')::int4",
            &[],
        )
        .await
        .map_err(|e| SourceError::control("reading replication settings", e))?;
    let get_err = |e| SourceError::control("reading replication settings", e);
    let wal_level: String = settings.try_get(0).map_err(get_err)?;
    let max_wal_senders: i32 = settings.try_get(1).map_err(get_err)?;
    let max_slots: i32 = settings.try_get(2).map_err(get_err)?;
    if wal_level != "logical" {
        return Err(SourceError::Prerequisite(format!(
            "wal_level is '{wal_level}' on {target}, but logical decoding needs wal_level = \
             logical: run ALTER SYSTEM SET wal_level = logical (or set it in postgresql.conf) \
             and restart PostgreSQL"
        )));
    }
    if max_wal_senders < 1 || max_slots < 1 {
        return Err(SourceError::Prerequisite(format!(
            "{target} has max_wal_senders = {max_wal_senders} and max_replication_slots = \
             {max_slots}; both must be at least 1 (set them in postgresql.conf and restart)"
        )));
    }
    let role = client
        .query_one(
            "SELECT r.rolsuper OR r.rolreplication OR COALESCE(( \
                 SELECT pg_has_role(r.oid, rds.oid, 'MEMBER') \
                 FROM pg_roles rds WHERE rds.rolname = 'rds_replication'), false) \
             FROM pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .await
        .map_err(|e| SourceError::control("reading the role's attributes", e))?;
    let may_replicate: bool = role
        .try_get(0)
        .map_err(|e| SourceError::control("reading the role's attributes", e))?;
    if !may_replicate {
        let user = &config.user;
        return Err(SourceError::Prerequisite(format!(
            "role {user} may not start replication: ALTER ROLE {user} WITH REPLICATION (on \
             Amazon RDS and Aurora: GRANT rds_replication TO {user}); it also needs SELECT on \
             the captured tables for snapshots"
        )));
    }
    Ok(())
}

/// Creates or adjusts the publication per `publication.autocreate.mode`.
pub(crate) async fn ensure_publication(
    client: &tokio_postgres::Client,
    config: &SourceConfig,
    server_version: u32,
) -> Result<()> {
    use crate::config::PublicationAutocreateMode as Mode;
    use crate::replication::{quote_identifier, quote_literal};

    let name = &config.publication_name;
    let quoted = quote_identifier(name);
    let existing = client
        .query_opt(
            "SELECT puballtables FROM pg_publication WHERE pubname = $1",
            &[name],
        )
        .await
        .map_err(|e| SourceError::control("looking up the publication", e))?;
    let all_tables: Option<bool> = match &existing {
        Some(row) => Some(
            row.try_get(0)
                .map_err(|e| SourceError::control("looking up the publication", e))?,
        ),
        None => None,
    };
    // PostgreSQL 10 has no truncate in `publish`.
    let mut publish = config.skipped_operations.publish_option();
    if server_version < 110_000 {
        publish = publish
            .split(", ")
            .filter(|op| *op != "truncate")
            .collect::<Vec<_>>()
            .join(", ");
    }
    let with = format!(" WITH (publish = {})", quote_literal(&publish));
    let mode = config.publication_autocreate_mode;
    let run = |sql: String, what: String| async move {
        tracing::info!(%sql, "managing the publication");
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| SourceError::control(what, e))
    };
    match (mode, all_tables) {
        (Mode::Disabled, None) => Err(SourceError::Prerequisite(format!(
            "publication {quoted} does not exist in database {} and \
             publication.autocreate.mode = disabled: create it (CREATE PUBLICATION {quoted} FOR \
             TABLE ...) or set publication.autocreate.mode to all_tables, filtered or no_tables",
            config.dbname
        ))),
        (Mode::Disabled | Mode::AllTables | Mode::NoTables, Some(_)) => Ok(()),
        (Mode::AllTables, None) => {
            run(
                format!("CREATE PUBLICATION {quoted} FOR ALL TABLES{with}"),
                format!(
                    "creating publication {quoted} FOR ALL TABLES (publication.autocreate.mode \
                     = all_tables; this needs a superuser)"
                ),
            )
            .await
        }
        (Mode::NoTables, None) => {
            run(
                format!("CREATE PUBLICATION {quoted}{with}"),
                format!("creating publication {quoted} (publication.autocreate.mode = no_tables)"),
            )
            .await
        }
        (Mode::Filtered, Some(true)) => Err(SourceError::Prerequisite(format!(
            "publication {quoted} is FOR ALL TABLES, which publication.autocreate.mode = filtered \
             cannot narrow: drop it (DROP PUBLICATION {quoted}) or use another mode"
        ))),
        (Mode::Filtered, existing) => {
            let tables: Vec<String> = crate::catalog::user_tables(client)
                .await?
                .into_iter()
                .filter(|t| config.filters.includes_table(&t.schema, &t.name))
                .map(|t| {
                    format!(
                        "{}.{}",
                        quote_identifier(&t.schema),
                        quote_identifier(&t.name)
                    )
                })
                .collect();
            if tables.is_empty() {
                return Err(SourceError::Prerequisite(format!(
                    "publication.autocreate.mode = filtered, but no table of database {} matches \
                     the schema and table filters",
                    config.dbname
                )));
            }
            let list = tables.join(", ");
            if existing.is_none() {
                run(
                    format!("CREATE PUBLICATION {quoted} FOR TABLE {list}{with}"),
                    format!("creating publication {quoted} for the filtered tables"),
                )
                .await
            } else {
                run(
                    format!(
                        "ALTER PUBLICATION {quoted} SET TABLE {list}; \
                         ALTER PUBLICATION {quoted} SET (publish = {})",
                        quote_literal(&publish)
                    ),
                    format!("setting publication {quoted} to the filtered tables"),
                )
                .await
            }
        }
    }
}

/// A replication slot as `pg_replication_slots` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlotState {
    pub(crate) confirmed_flush: tidewater_pgoutput::Lsn,
    /// `wal_status` (PostgreSQL 13+).
    pub(crate) wal_status: Option<String>,
}

impl SlotState {
    /// Whether the slot still has the WAL it needs.
    pub(crate) fn usable(&self) -> bool {
        self.wal_status.as_deref() != Some("lost")
    }
}

/// Looks the slot up and checks it can be used by this source, waiting
/// (`slot.max.retries` × `slot.retry.delay.ms`) while another process holds it.
pub(crate) async fn inspect_slot(
    client: &tokio_postgres::Client,
    config: &SourceConfig,
    server_version: u32,
) -> Result<Option<SlotState>> {
    let wal_status = if server_version >= 130_000 {
        "wal_status::text"
    } else {
        "NULL::text"
    };
    let sql = format!(
        "SELECT plugin::text, slot_type::text, database::text, active, active_pid, \
                confirmed_flush_lsn::text, {wal_status} \
         FROM pg_replication_slots WHERE slot_name = $1"
    );
    let slot = &config.slot_name;
    let mut attempt = 0;
    loop {
        let Some(row) = client
            .query_opt(&sql, &[slot])
            .await
            .map_err(|e| SourceError::control("looking up the replication slot", e))?
        else {
            return Ok(None);
        };
        let get_err = |e| SourceError::control("looking up the replication slot", e);
        let plugin: Option<String> = row.try_get(0).map_err(get_err)?;
        let slot_type: String = row.try_get(1).map_err(get_err)?;
        let database: Option<String> = row.try_get(2).map_err(get_err)?;
        let active: bool = row.try_get(3).map_err(get_err)?;
        let active_pid: Option<i32> = row.try_get(4).map_err(get_err)?;
        let confirmed: Option<String> = row.try_get(5).map_err(get_err)?;
        let wal_status: Option<String> = row.try_get(6).map_err(get_err)?;
        if slot_type != "logical" {
            return Err(SourceError::Prerequisite(format!(
                "replication slot {slot} is a {slot_type} slot; set slot.name to a logical slot \
                 (or a new name)"
            )));
        }
        if plugin.as_deref() != Some("pgoutput") {
            return Err(SourceError::Prerequisite(format!(
                "replication slot {slot} uses output plugin {}; Tidewater reads pgoutput: drop \
                 the slot (SELECT pg_drop_replication_slot('{slot}')) or set slot.name to \
                 another name",
                plugin.unwrap_or_default()
            )));
        }
        if database.as_deref() != Some(config.dbname.as_str()) {
            return Err(SourceError::Prerequisite(format!(
                "replication slot {slot} belongs to database {}, not {}: set slot.name to \
                 another name",
                database.unwrap_or_default(),
                config.dbname
            )));
        }
        if active {
            if attempt < config.slot_max_retries {
                attempt += 1;
                tracing::info!(
                    %slot,
                    pid = active_pid.unwrap_or_default(),
                    attempt,
                    "replication slot in use; waiting"
                );
                tokio::time::sleep(config.slot_retry_delay).await;
                continue;
            }
            let pid = active_pid.map_or_else(|| "?".to_owned(), |p| p.to_string());
            return Err(SourceError::Prerequisite(format!(
                "replication slot {slot} is active for PID {pid} (still after {} attempts \
                 {} ms apart, slot.max.retries / slot.retry.delay.ms): another client streams \
                 from it; stop that client (SELECT pg_terminate_backend({pid})) or set slot.name \
                 to another name",
                config.slot_max_retries,
                config.slot_retry_delay.as_millis()
            )));
        }
        let confirmed_flush = match confirmed {
            Some(text) => text.parse().map_err(|_| {
                SourceError::protocol(
                    "looking up the replication slot",
                    format!("confirmed_flush_lsn {text:?}"),
                )
            })?,
            None => tidewater_pgoutput::Lsn::INVALID,
        };
        return Ok(Some(SlotState {
            confirmed_flush,
            wal_status,
        }));
    }
}

/// Fails with advice when every replication slot is taken.
pub(crate) async fn check_slot_capacity(client: &tokio_postgres::Client) -> Result<()> {
    let row = client
        .query_one(
            "SELECT count(*)::int4, current_setting('max_replication_slots')::int4 \
             FROM pg_replication_slots",
            &[],
        )
        .await
        .map_err(|e| SourceError::control("counting replication slots", e))?;
    let get_err = |e| SourceError::control("counting replication slots", e);
    let used: i32 = row.try_get(0).map_err(get_err)?;
    let max: i32 = row.try_get(1).map_err(get_err)?;
    if used >= max {
        return Err(SourceError::Prerequisite(format!(
            "all {max} replication slots are in use (max_replication_slots = {max}): drop unused \
             ones (SELECT slot_name, active FROM pg_replication_slots; SELECT \
             pg_drop_replication_slot('name')) or raise max_replication_slots and restart \
             PostgreSQL"
        )));
    }
    Ok(())
}
