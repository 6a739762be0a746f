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
