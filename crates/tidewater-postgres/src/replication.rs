//! The replication connection: the frontend/backend protocol spoken with
//! postgres-protocol over tokio, in `replication=database` mode.
//!
//! ```text
//!  connect ──► [SSLRequest ─► TLS] ─► StartupMessage ─► auth (trust, cleartext, MD5,
//!              SCRAM-SHA-256) ─► ParameterStatus… ─► ReadyForQuery
//!  simple queries: IDENTIFY_SYSTEM, CREATE_REPLICATION_SLOT, DROP_REPLICATION_SLOT, SQL
//!  START_REPLICATION ─► CopyBoth: server sends CopyData (w / k), client sends
//!                       CopyData (r), CopyDone ends it
//! ```
//!
//! # References
//! PostgreSQL documentation, "Frontend/Backend Protocol" and "Streaming Replication Protocol".

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use bytes::Bytes;
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256};
use postgres_protocol::message::backend::{ErrorFields, Message};
use postgres_protocol::message::frontend;
use tidewater_pgoutput::{Lsn, StandbyStatusUpdate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use crate::config::SourceConfig;
use crate::error::{Result, ServerError, SourceError};
use crate::tls::{TlsPolicy, TlsSetup};
use crate::wire::{Backend, Wire, WireReader};

/// The session settings every Tidewater connection forces, so that values in
/// text form are unambiguous and parse as the decoder expects (passed as the
/// startup `options`).
pub const SESSION_OPTIONS: &str =
    "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=iso_8601 -c extra_float_digits=3";

/// The `application_name` of Tidewater's connections.
pub const APPLICATION_NAME: &str = "tidewater";

/// Time allowed to connect, negotiate TLS and authenticate.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Time allowed for the server to end a replication stream after CopyDone.
const FINISH_TIMEOUT: Duration = Duration::from_secs(10);

/// The answer to `IDENTIFY_SYSTEM`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SystemIdentity {
    /// The cluster's system identifier.
    pub system_id: String,
    /// The current timeline.
    pub timeline: u32,
    /// The current WAL flush position.
    pub xlog_pos: Lsn,
    /// The database connected to.
    pub dbname: Option<String>,
}

/// The answer to `CREATE_REPLICATION_SLOT`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreatedSlot {
    /// The slot's name.
    pub slot_name: String,
    /// Where the slot became consistent: streaming from here follows an exported
    /// snapshot without gap or overlap.
    pub consistent_point: Lsn,
    /// The exported snapshot, valid until this connection runs another command.
    pub snapshot_name: Option<String>,
    /// The output plugin.
    pub output_plugin: String,
}

/// What `CREATE_REPLICATION_SLOT` does with the snapshot it builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlotSnapshot {
    /// Export it for other sessions (`SET TRANSACTION SNAPSHOT`).
    Export,
    /// Discard it.
    Nothing,
}

/// Options of `START_REPLICATION` for pgoutput.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StartOptions {
    /// `proto_version` (1 to 4).
    pub protocol_version: u32,
    /// `publication_names`.
    pub publication_names: Vec<String>,
    /// `messages`: send logical decoding messages (PostgreSQL 14+).
    pub messages: bool,
    /// `binary`: send values in binary form where the type allows (PostgreSQL 14+).
    pub binary: bool,
}

impl StartOptions {
    /// Options for `publication`, with protocol version 1 and nothing else.
    pub fn new(publication: impl Into<String>) -> StartOptions {
        StartOptions {
            protocol_version: 1,
            publication_names: vec![publication.into()],
            messages: false,
            binary: false,
        }
    }

    /// The option list of `START_REPLICATION`. Streaming of in-progress
    /// transactions and two-phase decoding are never requested: the source
    /// assembles whole committed transactions.
    fn render(&self) -> String {
        let names = self
            .publication_names
            .iter()
            .map(|n| quote_identifier(n))
            .collect::<Vec<_>>()
            .join(",");
        let mut out = format!(
            "proto_version '{}', publication_names {}",
            self.protocol_version,
            quote_literal(&names)
        );
        if self.messages {
            out.push_str(", messages 'true'");
        }
        if self.binary {
            out.push_str(", binary 'true'");
        }
        out
    }
}

/// Rows of a simple query, all values in text form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows; `None` is SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// The command tag of the last statement.
    pub command_tag: Option<String>,
}

impl QueryResult {
    /// The value of `column` in row `row`, when present and not NULL.
    pub fn get(&self, row: usize, column: &str) -> Option<&str> {
        let index = self.columns.iter().position(|c| c == column)?;
        self.rows.get(row)?.get(index)?.as_deref()
    }
}

/// The highest pgoutput protocol version a server supports: 1 on PostgreSQL
/// 10–13, 2 on 14, 3 on 15, 4 on 16 and later.
pub fn highest_protocol_version(server_version_num: u32) -> u32 {
    match server_version_num {
        160_000.. => 4,
        150_000.. => 3,
        140_000.. => 2,
        _ => 1,
    }
}

/// A connection in `replication=database` mode.
///
/// ```no_run
/// # async fn example() -> Result<(), tidewater_postgres::SourceError> {
/// use tidewater_postgres::{ReplicationConnection, SourceConfig};
/// let config = SourceConfig::from_properties([
///     ("database.hostname", "localhost"),
///     ("database.user", "cdc"),
///     ("database.password", "secret"),
///     ("database.dbname", "shop"),
/// ])?;
/// let mut conn = ReplicationConnection::connect(&config).await?;
/// let system = conn.identify_system().await?;
/// println!("timeline {} at {}", system.timeline, system.xlog_pos);
/// conn.close().await;
/// # Ok(())
/// # }
/// ```
pub struct ReplicationConnection {
    wire: Wire,
    target: String,
    user: String,
    tls: bool,
    server_version_num: u32,
    parameters: HashMap<String, String>,
    backend_pid: Option<i32>,
}

impl std::fmt::Debug for ReplicationConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicationConnection")
            .field("target", &self.target)
            .field("user", &self.user)
            .field("tls", &self.tls)
            .field("server_version_num", &self.server_version_num)
            .field("backend_pid", &self.backend_pid)
            .finish_non_exhaustive()
    }
}

impl ReplicationConnection {
    /// Connects, negotiates TLS per `database.sslmode`, authenticates and checks
    /// that the session settings of the text contract are in force.
    pub async fn connect(config: &SourceConfig) -> Result<ReplicationConnection> {
        let tls = TlsSetup::from_config(config)?;
        Self::connect_with(config, &tls).await
    }

    pub(crate) async fn connect_with(
        config: &SourceConfig,
        tls: &TlsSetup,
    ) -> Result<ReplicationConnection> {
        let target = config.target();
        match tokio::time::timeout(CONNECT_TIMEOUT, Self::establish(config, tls)).await {
            Ok(result) => result,
            Err(_) => Err(SourceError::Timeout {
                context: format!("connecting to {target}"),
                seconds: CONNECT_TIMEOUT.as_secs(),
            }),
        }
    }

    async fn establish(config: &SourceConfig, tls: &TlsSetup) -> Result<ReplicationConnection> {
        let target = config.target();
        let connect_err = |source| SourceError::Connect {
            target: target.clone(),
            source,
        };
        let (wire, is_tls) = if config.uses_unix_socket() {
            let stream = UnixStream::connect(&target).await.map_err(connect_err)?;
            (Wire::new(Box::new(stream)), false)
        } else {
            let mut stream = TcpStream::connect((config.hostname.as_str(), config.port))
                .await
                .map_err(connect_err)?;
            stream.set_nodelay(true).map_err(connect_err)?;
            match tls.mode {
                TlsPolicy::Off => (Wire::new(Box::new(stream)), false),
                TlsPolicy::Prefer | TlsPolicy::Require => {
                    if request_tls(&mut stream, &target).await? {
                        let stream = tls.handshake(stream).await?;
                        (Wire::new(Box::new(stream)), true)
                    } else if tls.mode == TlsPolicy::Require {
                        return Err(SourceError::Tls {
                            target,
                            reason: format!(
                                "the server does not accept TLS connections, and \
                                 database.sslmode = {} requires TLS",
                                config.sslmode.as_str()
                            ),
                        });
                    } else {
                        (Wire::new(Box::new(stream)), false)
                    }
                }
            }
        };
        let mut conn = ReplicationConnection {
            wire,
            target,
            user: config.user.clone(),
            tls: is_tls,
            server_version_num: 0,
            parameters: HashMap::new(),
            backend_pid: None,
        };
        conn.startup(config).await?;
        conn.check_session()?;
        conn.server_version_num = match conn.parameters.get("server_version") {
            Some(v) => parse_server_version(v),
            None => None,
        }
        .unwrap_or(0);
        if conn.server_version_num == 0 {
            let result = conn.simple_query("SHOW server_version_num").await?;
            conn.server_version_num = result
                .rows
                .first()
                .and_then(|r| r.first())
                .and_then(|v| v.as_deref())
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| {
                    SourceError::protocol("reading server_version_num", "no usable value")
                })?;
        }
        Ok(conn)
    }

    fn context(&self) -> String {
        format!(
            "connecting to {} as {} (replication)",
            self.target, self.user
        )
    }

    async fn send(&mut self, context: &str) -> Result<()> {
        self.wire
            .flush()
            .await
            .map_err(|e| SourceError::io(context.to_owned(), e))
    }

    async fn receive(&mut self, context: &str) -> Result<Backend> {
        self.wire
            .read()
            .await
            .map_err(|e| SourceError::io(context.to_owned(), e))
    }

    /// The next message of the startup phase, where copy messages cannot come.
    async fn receive_startup(&mut self, context: &str) -> Result<Message> {
        match self.receive(context).await? {
            Backend::Message(m) => Ok(m),
            _ => Err(SourceError::protocol(
                context,
                "a copy message during startup",
            )),
        }
    }

    async fn startup(&mut self, config: &SourceConfig) -> Result<()> {
        let context = self.context();
        let params = [
            ("user", config.user.as_str()),
            ("database", config.dbname.as_str()),
            ("replication", "database"),
            ("application_name", APPLICATION_NAME),
            ("client_encoding", "UTF8"),
            ("options", SESSION_OPTIONS),
        ];
        frontend::startup_message(params, self.wire.out())
            .map_err(|e| SourceError::io(context.clone(), e))?;
        self.send(&context).await?;

        let mut scram: Option<ScramSha256> = None;
        loop {
            let message = self.receive_startup(&context).await?;
            match message {
                Message::AuthenticationOk => break,
                Message::AuthenticationCleartextPassword => {
                    let password = self.password(config, "cleartext password")?;
                    frontend::password_message(password.as_bytes(), self.wire.out())
                        .map_err(|e| SourceError::io(context.clone(), e))?;
                    self.send(&context).await?;
                }
                Message::AuthenticationMd5Password(body) => {
                    let password = self.password(config, "MD5 password")?;
                    let hash = md5_hash(config.user.as_bytes(), password.as_bytes(), body.salt());
                    frontend::password_message(hash.as_bytes(), self.wire.out())
                        .map_err(|e| SourceError::io(context.clone(), e))?;
                    self.send(&context).await?;
                }
                Message::AuthenticationSasl(body) => {
                    let mut mechanisms = Vec::new();
                    let mut iter = body.mechanisms();
                    while let Some(m) = iter
                        .next()
                        .map_err(|e| SourceError::protocol(&context, e.to_string()))?
                    {
                        mechanisms.push(m.to_owned());
                    }
                    if !mechanisms.iter().any(|m| m == "SCRAM-SHA-256") {
                        return Err(self.auth_error(format!(
                            "the server offers SASL mechanisms {mechanisms:?}; only SCRAM-SHA-256 is supported"
                        )));
                    }
                    let password = self.password(config, "SCRAM-SHA-256")?;
                    // Channel binding is not implemented; over TLS say so ("n"), so a
                    // server offering SCRAM-SHA-256-PLUS does not suspect a downgrade.
                    let binding = if self.tls {
                        ChannelBinding::unsupported()
                    } else {
                        ChannelBinding::unrequested()
                    };
                    let client = ScramSha256::new(password.as_bytes(), binding);
                    frontend::sasl_initial_response(
                        "SCRAM-SHA-256",
                        client.message(),
                        self.wire.out(),
                    )
                    .map_err(|e| SourceError::io(context.clone(), e))?;
                    self.send(&context).await?;
                    scram = Some(client);
                }
                Message::AuthenticationSaslContinue(body) => {
                    let Some(client) = scram.as_mut() else {
                        return Err(SourceError::protocol(
                            &context,
                            "SASL continue without SASL start",
                        ));
                    };
                    client
                        .update(body.data())
                        .map_err(|e| self.auth_error(format!("SCRAM exchange: {e}")))?;
                    frontend::sasl_response(client.message(), self.wire.out())
                        .map_err(|e| SourceError::io(context.clone(), e))?;
                    self.send(&context).await?;
                }
                Message::AuthenticationSaslFinal(body) => {
                    let Some(client) = scram.as_mut() else {
                        return Err(SourceError::protocol(
                            &context,
                            "SASL final without SASL start",
                        ));
                    };
                    client.finish(body.data()).map_err(|e| {
                        self.auth_error(format!("the server's SCRAM proof does not verify: {e}"))
                    })?;
                }
                Message::ErrorResponse(body) => {
                    return Err(server_error(body.fields(), context).into());
                }
                Message::NoticeResponse(body) => log_notice(body.fields()),
                Message::AuthenticationKerberosV5
                | Message::AuthenticationScmCredential
                | Message::AuthenticationGss
                | Message::AuthenticationGssContinue(_)
                | Message::AuthenticationSspi => {
                    return Err(self.auth_error(
                        "the server asks for Kerberos/GSSAPI/SSPI/SCM authentication; only \
                         trust, password, md5 and scram-sha-256 are supported"
                            .to_owned(),
                    ));
                }
                _ => {
                    return Err(SourceError::protocol(
                        &context,
                        "unexpected message during authentication",
                    ));
                }
            }
        }

        loop {
            let message = self.receive_startup(&context).await?;
            match message {
                Message::ReadyForQuery(_) => return Ok(()),
                Message::BackendKeyData(body) => self.backend_pid = Some(body.process_id()),
                Message::ParameterStatus(body) => self.record_parameter(&body),
                Message::NoticeResponse(body) => log_notice(body.fields()),
                Message::ErrorResponse(body) => {
                    return Err(server_error(body.fields(), context).into());
                }
                _ => {
                    return Err(SourceError::protocol(
                        &context,
                        "unexpected message after authentication",
                    ));
                }
            }
        }
    }

    fn password<'c>(&self, config: &'c SourceConfig, method: &str) -> Result<&'c str> {
        config.password.as_deref().ok_or_else(|| {
            self.auth_error(format!(
                "the server asks for a password ({method}) but database.password is not set"
            ))
        })
    }

    fn auth_error(&self, reason: String) -> SourceError {
        SourceError::Auth {
            target: self.target.clone(),
            user: self.user.clone(),
            reason,
        }
    }

    fn record_parameter(
        &mut self,
        body: &postgres_protocol::message::backend::ParameterStatusBody,
    ) {
        if let (Ok(name), Ok(value)) = (body.name(), body.value()) {
            self.parameters.insert(name.to_owned(), value.to_owned());
        }
    }

    /// The settings of the text contract must be in force: a pooler or a server
    /// that ignored the startup options would make text values ambiguous.
    fn check_session(&self) -> Result<()> {
        let date_style = ("DateStyle", "ISO");
        let interval_style = ("IntervalStyle", "iso_8601");
        let time_zone = ("TimeZone", "UTC");
        for (name, wanted) in [date_style, interval_style, time_zone] {
            if let Some(value) = self.parameters.get(name) {
                let ok = if name == "DateStyle" {
                    value.starts_with(wanted)
                } else {
                    value.eq_ignore_ascii_case(wanted)
                };
                if !ok {
                    return Err(SourceError::Prerequisite(format!(
                        "{}: the session reports {name} = {value:?} although {wanted} was \
                         requested in the startup options; a connection pooler in between may \
                         drop them (connect to PostgreSQL directly)",
                        self.context()
                    )));
                }
            }
        }
        Ok(())
    }

    /// `server_version_num` of the server, e.g. 150004.
    pub fn server_version_num(&self) -> u32 {
        self.server_version_num
    }

    /// A parameter the server reported (`server_version`, `DateStyle`, ...).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(String::as_str)
    }

    /// The process id of the server backend (the walsender).
    pub fn backend_pid(&self) -> Option<i32> {
        self.backend_pid
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Runs commands with the simple query protocol and returns the rows of the
    /// last result. An `ErrorResponse` becomes [`SourceError::Server`].
    pub async fn simple_query(&mut self, sql: &str) -> Result<QueryResult> {
        let context = format!("running `{}`", abbreviate(sql));
        frontend::query(sql, self.wire.out()).map_err(|e| SourceError::io(context.clone(), e))?;
        self.send(&context).await?;
        let mut result = QueryResult::default();
        let mut error = None;
        loop {
            let message = match self.receive(&context).await? {
                Backend::Message(m) => m,
                Backend::CopyBothResponse | Backend::CopyData(_) | Backend::CopyDone => {
                    return Err(SourceError::protocol(
                        &context,
                        "a copy message in a simple query",
                    ));
                }
            };
            match message {
                Message::RowDescription(body) => {
                    result.columns.clear();
                    result.rows.clear();
                    let mut fields = body.fields();
                    while let Some(field) = fields
                        .next()
                        .map_err(|e| SourceError::protocol(&context, e.to_string()))?
                    {
                        result.columns.push(field.name().to_owned());
                    }
                }
                Message::DataRow(body) => {
                    let mut row = Vec::with_capacity(result.columns.len());
                    let mut ranges = body.ranges();
                    while let Some(range) = ranges
                        .next()
                        .map_err(|e| SourceError::protocol(&context, e.to_string()))?
                    {
                        let value = match range {
                            None => None,
                            Some(range) => {
                                let bytes = body.buffer().get(range).ok_or_else(|| {
                                    SourceError::protocol(&context, "a DataRow value out of bounds")
                                })?;
                                Some(String::from_utf8(bytes.to_vec()).map_err(|_| {
                                    SourceError::protocol(&context, "a value that is not UTF-8")
                                })?)
                            }
                        };
                        row.push(value);
                    }
                    result.rows.push(row);
                }
                Message::CommandComplete(body) => {
                    result.command_tag = body.tag().ok().map(str::to_owned);
                }
                Message::EmptyQueryResponse => {}
                Message::ErrorResponse(body) => {
                    error = Some(server_error(body.fields(), context.clone()));
                }
                Message::NoticeResponse(body) => log_notice(body.fields()),
                Message::ParameterStatus(body) => self.record_parameter(&body),
                Message::ReadyForQuery(_) => break,
                _ => {
                    return Err(SourceError::protocol(
                        &context,
                        "unexpected message in a simple query",
                    ));
                }
            }
        }
        match error {
            Some(e) => Err(e.into()),
            None => Ok(result),
        }
    }

    /// `IDENTIFY_SYSTEM`.
    pub async fn identify_system(&mut self) -> Result<SystemIdentity> {
        let result = self.simple_query("IDENTIFY_SYSTEM").await?;
        let context = "IDENTIFY_SYSTEM";
        let missing =
            |what: &str| SourceError::protocol(context, format!("no {what} in the answer"));
        let system_id = result
            .get(0, "systemid")
            .ok_or_else(|| missing("systemid"))?;
        let timeline = result
            .get(0, "timeline")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| missing("timeline"))?;
        let xlog_pos = result
            .get(0, "xlogpos")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| missing("xlogpos"))?;
        Ok(SystemIdentity {
            system_id: system_id.to_owned(),
            timeline,
            xlog_pos,
            dbname: result.get(0, "dbname").map(str::to_owned),
        })
    }

    /// `CREATE_REPLICATION_SLOT name [TEMPORARY] LOGICAL pgoutput` with the
    /// snapshot action, in the syntax of the server's version. Never two-phase.
    pub async fn create_slot(
        &mut self,
        name: &str,
        temporary: bool,
        snapshot: SlotSnapshot,
    ) -> Result<CreatedSlot> {
        let mut sql = format!("CREATE_REPLICATION_SLOT {}", quote_identifier(name));
        if temporary {
            sql.push_str(" TEMPORARY");
        }
        sql.push_str(" LOGICAL pgoutput");
        let export = snapshot == SlotSnapshot::Export;
        if self.server_version_num >= 150_000 {
            let _ = write!(
                sql,
                " (SNAPSHOT '{}')",
                if export { "export" } else { "nothing" }
            );
        } else {
            sql.push_str(if export {
                " EXPORT_SNAPSHOT"
            } else {
                " NOEXPORT_SNAPSHOT"
            });
        }
        let result = self.simple_query(&sql).await?;
        let context = "CREATE_REPLICATION_SLOT";
        let consistent_point = result
            .get(0, "consistent_point")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| SourceError::protocol(context, "no consistent_point in the answer"))?;
        let snapshot_name = result.get(0, "snapshot_name").map(str::to_owned);
        if export && snapshot_name.is_none() {
            return Err(SourceError::protocol(context, "no snapshot was exported"));
        }
        Ok(CreatedSlot {
            slot_name: result.get(0, "slot_name").unwrap_or(name).to_owned(),
            consistent_point,
            snapshot_name,
            output_plugin: result
                .get(0, "output_plugin")
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// `DROP_REPLICATION_SLOT name [WAIT]`.
    pub async fn drop_slot(&mut self, name: &str, wait: bool) -> Result<()> {
        let mut sql = format!("DROP_REPLICATION_SLOT {}", quote_identifier(name));
        if wait {
            sql.push_str(" WAIT");
        }
        self.simple_query(&sql).await.map(drop)
    }

    /// `START_REPLICATION SLOT slot LOGICAL start (options)`. The server moves a
    /// start below the slot's `confirmed_flush_lsn` up to it.
    pub async fn start_replication(
        mut self,
        slot: &str,
        start: Lsn,
        options: &StartOptions,
    ) -> Result<ReplicationStream> {
        let sql = format!(
            "START_REPLICATION SLOT {} LOGICAL {start} ({})",
            quote_identifier(slot),
            options.render()
        );
        let context = format!("starting replication from slot {slot} at {start}");
        frontend::query(&sql, self.wire.out()).map_err(|e| SourceError::io(context.clone(), e))?;
        self.send(&context).await?;
        let mut error = None;
        loop {
            match self.receive(&context).await? {
                Backend::CopyBothResponse if error.is_none() => {
                    return Ok(ReplicationStream {
                        conn: self,
                        server_done: false,
                        slot: slot.to_owned(),
                    });
                }
                Backend::Message(Message::ErrorResponse(body)) => {
                    error = Some(server_error(body.fields(), context.clone()));
                }
                Backend::Message(Message::NoticeResponse(body)) => log_notice(body.fields()),
                Backend::Message(Message::ParameterStatus(body)) => self.record_parameter(&body),
                Backend::Message(Message::ReadyForQuery(_)) => {
                    return Err(match error {
                        Some(e) => e.into(),
                        None => SourceError::protocol(
                            &context,
                            "ReadyForQuery instead of CopyBothResponse",
                        ),
                    });
                }
                _ => {
                    return Err(SourceError::protocol(
                        &context,
                        "unexpected answer to START_REPLICATION",
                    ));
                }
            }
        }
    }

    /// Sends Terminate and closes the connection.
    pub async fn close(mut self) {
        frontend::terminate(self.wire.out());
        let _ = self.wire.flush().await;
        self.wire.shutdown().await;
    }
}

/// A running `START_REPLICATION`: CopyData frames from the server, standby
/// status updates from the client.
#[derive(Debug)]
pub struct ReplicationStream {
    conn: ReplicationConnection,
    server_done: bool,
    slot: String,
}

impl ReplicationStream {
    /// The next CopyData payload (an XLogData `w` or keepalive `k` frame), or
    /// `None` when the server ended the stream with CopyDone. Cancel-safe.
    pub async fn next_frame(&mut self) -> Result<Option<Bytes>> {
        loop {
            let message =
                self.conn.wire.read().await.map_err(|e| {
                    SourceError::io(format!("streaming from slot {}", self.slot), e)
                })?;
            match message {
                Backend::CopyData(frame) => return Ok(Some(frame)),
                Backend::CopyDone => {
                    self.server_done = true;
                    return Ok(None);
                }
                // A walsender that shuts down ends the copy with CommandComplete.
                Backend::Message(Message::CommandComplete(_)) => {
                    self.server_done = true;
                    return Ok(None);
                }
                Backend::Message(Message::ErrorResponse(body)) => {
                    return Err(server_error(
                        body.fields(),
                        format!("streaming from slot {}", self.slot),
                    )
                    .into());
                }
                Backend::Message(Message::NoticeResponse(body)) => log_notice(body.fields()),
                Backend::Message(Message::ParameterStatus(body)) => {
                    self.conn.record_parameter(&body)
                }
                _ => {
                    return Err(SourceError::protocol(
                        format!("streaming from slot {}", self.slot),
                        "unexpected message during CopyBoth",
                    ));
                }
            }
        }
    }

    /// Sends a standby status update. Not cancel-safe.
    pub async fn send_status(&mut self, status: &StandbyStatusUpdate) -> Result<()> {
        let context = format!("sending a status update on slot {}", self.slot);
        frontend::CopyData::new(status.to_bytes())
            .map_err(|e| SourceError::io(context.clone(), e))?
            .write(self.conn.wire.out());
        self.conn.send(&context).await
    }

    /// The connection underneath.
    pub fn connection(&self) -> &ReplicationConnection {
        &self.conn
    }

    /// The slot streamed from.
    pub(crate) fn slot(&self) -> &str {
        &self.slot
    }

    /// Lends out the read side, so that frames can be read by one owner while
    /// this value keeps sending status updates. Reading this value's own
    /// frames fails until [`put_reader`](Self::put_reader) gives it back.
    pub(crate) fn take_reader(&mut self) -> Option<WireReader> {
        self.conn.wire.take_reader()
    }

    /// Takes the read side back (needed by [`finish`](Self::finish)).
    pub(crate) fn put_reader(&mut self, reader: WireReader) {
        self.conn.wire.put_reader(reader);
    }

    /// Shuts the connection down at once, so that a read of it elsewhere ends.
    pub(crate) async fn abort(&mut self) {
        self.conn.wire.shutdown().await;
    }

    /// Ends the stream with CopyDone and waits for the server to finish,
    /// returning the connection to command mode. Frames still in flight are
    /// discarded (they are sent again on the next start, being unacknowledged).
    pub async fn finish(mut self) -> Result<ReplicationConnection> {
        let context = format!("ending replication on slot {}", self.slot);
        match tokio::time::timeout(FINISH_TIMEOUT, self.finish_inner(&context)).await {
            Ok(Ok(())) => Ok(self.conn),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(SourceError::Timeout {
                context,
                seconds: FINISH_TIMEOUT.as_secs(),
            }),
        }
    }

    async fn finish_inner(&mut self, context: &str) -> Result<()> {
        frontend::copy_done(self.conn.wire.out());
        self.conn.send(context).await?;
        let mut error = None;
        loop {
            match self.conn.receive(context).await? {
                Backend::CopyData(_) => {}
                Backend::CopyDone => self.server_done = true,
                Backend::Message(Message::ErrorResponse(body)) => {
                    error = Some(server_error(body.fields(), context.to_owned()));
                }
                Backend::Message(Message::ReadyForQuery(_)) => break,
                Backend::Message(Message::NoticeResponse(body)) => log_notice(body.fields()),
                Backend::Message(_) | Backend::CopyBothResponse => {}
            }
        }
        match error {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}

/// Asks for TLS: `S` means go ahead, `N` means the server does not do TLS.
async fn request_tls(stream: &mut TcpStream, target: &str) -> Result<bool> {
    let mut buf = bytes::BytesMut::with_capacity(8);
    frontend::ssl_request(&mut buf);
    let context = format!("requesting TLS from {target}");
    stream
        .write_all(&buf)
        .await
        .map_err(|e| SourceError::io(context.clone(), e))?;
    let answer = stream
        .read_u8()
        .await
        .map_err(|e| SourceError::io(context.clone(), e))?;
    match answer {
        b'S' => Ok(true),
        b'N' => Ok(false),
        other => Err(SourceError::protocol(
            context,
            format!("answer {:?} to SSLRequest", char::from(other)),
        )),
    }
}

/// Reads an ErrorResponse's fields.
pub(crate) fn server_error(mut fields: ErrorFields<'_>, context: String) -> ServerError {
    let mut error = ServerError {
        context,
        severity: String::new(),
        code: String::new(),
        message: String::new(),
        detail: None,
        hint: None,
    };
    let mut localized_severity = String::new();
    while let Ok(Some(field)) = fields.next() {
        let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
        match field.type_() {
            b'V' => error.severity = value,
            b'S' => localized_severity = value,
            b'C' => error.code = value,
            b'M' => error.message = value,
            b'D' => error.detail = Some(value),
            b'H' => error.hint = Some(value),
            _ => {}
        }
    }
    if error.severity.is_empty() {
        error.severity = localized_severity;
    }
    error
}

pub(crate) fn log_notice(mut fields: ErrorFields<'_>) {
    let mut severity = String::new();
    let mut message = String::new();
    while let Ok(Some(field)) = fields.next() {
        match field.type_() {
            b'V' => severity = String::from_utf8_lossy(field.value_bytes()).into_owned(),
            b'M' => message = String::from_utf8_lossy(field.value_bytes()).into_owned(),
            _ => {}
        }
    }
    tracing::info!(%severity, %message, "PostgreSQL notice on the replication connection");
}

/// `15.4 (Debian ...)` → 150004, `18beta1` → 180000, `9.6.3` → 90603.
fn parse_server_version(text: &str) -> Option<u32> {
    let version = text.split_whitespace().next()?;
    let mut parts = version.split('.').map(|p| {
        let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    let major = parts.next()??;
    let second = parts.next().flatten().unwrap_or(0);
    if major >= 10 {
        Some(major * 10_000 + second)
    } else {
        let third = parts.next().flatten().unwrap_or(0);
        Some(major * 10_000 + second * 100 + third)
    }
}

/// Quotes an identifier for SQL and replication commands.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal (standard_conforming_strings on).
pub(crate) fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn abbreviate(sql: &str) -> String {
    let line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", line.get(..i).unwrap_or_default()),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_versions_parse() {
        assert_eq!(
            parse_server_version("15.18 (Debian 15.18-1.pgdg120+1)"),
            Some(150_018)
        );
        assert_eq!(parse_server_version("18.0"), Some(180_000));
        assert_eq!(parse_server_version("18beta1"), Some(180_000));
        assert_eq!(parse_server_version("9.6.3"), Some(90_603));
        assert_eq!(parse_server_version("devel"), None);
    }

    #[test]
    fn protocol_versions_follow_the_server() {
        assert_eq!(highest_protocol_version(130_010), 1);
        assert_eq!(highest_protocol_version(140_000), 2);
        assert_eq!(highest_protocol_version(150_004), 3);
        assert_eq!(highest_protocol_version(160_000), 4);
        assert_eq!(highest_protocol_version(180_001), 4);
    }

    #[test]
    fn start_options_render() {
        let mut options = StartOptions::new("dbz_publication");
        assert_eq!(
            options.render(),
            r#"proto_version '1', publication_names '"dbz_publication"'"#
        );
        options.protocol_version = 4;
        options.publication_names.push("it's \"odd\"".into());
        options.messages = true;
        options.binary = true;
        assert_eq!(
            options.render(),
            r#"proto_version '4', publication_names '"dbz_publication","it''s ""odd"""', messages 'true', binary 'true'"#
        );
    }

    #[test]
    fn queries_are_abbreviated_in_messages() {
        assert_eq!(abbreviate("SELECT\n  1"), "SELECT 1");
        let long = "x".repeat(100);
        assert_eq!(abbreviate(&long).chars().count(), 81);
    }
}
