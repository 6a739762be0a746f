//! The source's configuration, built from Debezium connector keys.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::filter::{Filters, NameFilter, NameList, SkippedOperations};

/// Every key [`SourceConfig::from_properties`] reads. Other keys (topic naming,
/// converters, transforms, ...) belong to other stages and are ignored here.
pub const KEYS: &[&str] = &[
    "database.hostname",
    "database.port",
    "database.user",
    "database.password",
    "database.dbname",
    "database.sslmode",
    "database.sslrootcert",
    "plugin.name",
    "slot.name",
    "slot.drop.on.stop",
    "slot.max.retries",
    "slot.retry.delay.ms",
    "publication.name",
    "publication.autocreate.mode",
    "snapshot.mode",
    "snapshot.fetch.size",
    "max.batch.size",
    "max.queue.size",
    "status.update.interval.ms",
    "schema.include.list",
    "schema.exclude.list",
    "schema.whitelist",
    "schema.blacklist",
    "table.include.list",
    "table.exclude.list",
    "table.whitelist",
    "table.blacklist",
    "column.include.list",
    "column.exclude.list",
    "column.whitelist",
    "column.blacklist",
    "skipped.operations",
    "errors.max.retries",
    "retriable.restart.connector.wait.ms",
    "pgoutput.protocol.version",
    "pgoutput.binary",
];

/// A configuration key with a missing or invalid value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required key is absent.
    #[error("`{key}` is required")]
    Missing {
        /// The key.
        key: &'static str,
    },
    /// A key has a value that cannot be used.
    #[error("`{key}` = `{value}`: {reason}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// The value given (passwords are never shown).
        value: String,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// Two keys that exclude each other are both set.
    #[error("`{key}` and `{other}` cannot both be set: {reason}")]
    Conflict {
        /// One key.
        key: &'static str,
        /// The other key.
        other: &'static str,
        /// Why.
        reason: &'static str,
    },
}

/// libpq's `sslmode` (`database.sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SslMode {
    /// Plain TCP only.
    Disable,
    /// TLS when the server offers it, plain TCP otherwise; the certificate is not checked.
    Prefer,
    /// TLS required; the certificate is not checked unless `database.sslrootcert`
    /// is set, in which case it is checked as with `verify-ca` (libpq's rule).
    Require,
    /// TLS required; the certificate must chain to `database.sslrootcert`.
    VerifyCa,
    /// As `verify-ca`, and the certificate must name `database.hostname`.
    VerifyFull,
}

impl SslMode {
    /// Parses a libpq sslmode name.
    pub fn parse(value: &str) -> Option<SslMode> {
        Some(match value.trim().to_ascii_lowercase().as_str() {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" | "verify_ca" => SslMode::VerifyCa,
            "verify-full" | "verify_full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// The libpq name.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// What to do about the publication (`publication.autocreate.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PublicationAutocreateMode {
    /// Create it `FOR ALL TABLES` when missing (needs a superuser); keep an existing one.
    AllTables,
    /// Never create or change it; a missing publication is an error.
    Disabled,
    /// Create it for the tables the filters select, or set an existing one to them.
    Filtered,
    /// Create it with no tables when missing; tables are added by hand.
    NoTables,
}

impl PublicationAutocreateMode {
    /// The configuration value.
    pub fn as_str(self) -> &'static str {
        match self {
            PublicationAutocreateMode::AllTables => "all_tables",
            PublicationAutocreateMode::Disabled => "disabled",
            PublicationAutocreateMode::Filtered => "filtered",
            PublicationAutocreateMode::NoTables => "no_tables",
        }
    }
}

/// When to read existing rows (`snapshot.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SnapshotMode {
    /// Snapshot once (when the slot is created, or an earlier snapshot did not
    /// finish), then stream.
    Initial,
    /// Snapshot at every start, then stream.
    Always,
    /// Snapshot once and stop; never stream.
    InitialOnly,
    /// Never snapshot; stream from the slot (`no_data`, formerly `never`).
    NoData,
    /// Snapshot when the slot is missing or unusable, then stream.
    WhenNeeded,
}

impl SnapshotMode {
    /// The configuration value.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotMode::Initial => "initial",
            SnapshotMode::Always => "always",
            SnapshotMode::InitialOnly => "initial_only",
            SnapshotMode::NoData => "no_data",
            SnapshotMode::WhenNeeded => "when_needed",
        }
    }

    /// Whether the mode streams changes after any snapshot.
    pub fn streams(self) -> bool {
        self != SnapshotMode::InitialOnly
    }
}

/// Configuration of a `PostgresSource`.
///
/// Build it from Debezium's connector keys with [`from_properties`](Self::from_properties);
/// the fields can be adjusted afterwards.
///
/// ```
/// use tidewater_postgres::{SourceConfig, SnapshotMode};
/// let config = SourceConfig::from_properties([
///     ("database.hostname", "db.internal"),
///     ("database.user", "cdc"),
///     ("database.password", "secret"),
///     ("database.dbname", "shop"),
///     ("slot.name", "shop_cdc"),
///     ("table.include.list", r"public\.orders,public\.customers"),
///     ("snapshot.mode", "never"),
/// ])?;
/// assert_eq!(config.port, 5432);
/// assert_eq!(config.snapshot_mode, SnapshotMode::NoData);
/// assert!(!format!("{config:?}").contains("secret"));
/// # Ok::<(), tidewater_postgres::ConfigError>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct SourceConfig {
    /// `database.hostname`: a host name or address, or a directory holding the
    /// server's Unix socket when it starts with `/`. Required.
    pub hostname: String,
    /// `database.port` (5432).
    pub port: u16,
    /// `database.user`. Required.
    pub user: String,
    /// `database.password`.
    pub password: Option<String>,
    /// `database.dbname`. Required.
    pub dbname: String,
    /// `database.sslmode` (`prefer`).
    pub sslmode: SslMode,
    /// `database.sslrootcert`: PEM file of the certificate authorities to trust.
    pub sslrootcert: Option<PathBuf>,
    /// `slot.name` (`debezium`).
    pub slot_name: String,
    /// `slot.drop.on.stop` (false): drop the slot when the source closes.
    pub slot_drop_on_stop: bool,
    /// `slot.max.retries` (6): attempts while the slot is active for another process.
    pub slot_max_retries: u32,
    /// `slot.retry.delay.ms` (10000): wait between those attempts.
    pub slot_retry_delay: Duration,
    /// `publication.name` (`dbz_publication`).
    pub publication_name: String,
    /// `publication.autocreate.mode` (`all_tables`).
    pub publication_autocreate_mode: PublicationAutocreateMode,
    /// `snapshot.mode` (`initial`).
    pub snapshot_mode: SnapshotMode,
    /// `snapshot.fetch.size` (10240): rows read per round trip during a snapshot.
    pub snapshot_fetch_size: usize,
    /// `max.batch.size` (2048): most events one `next_batch` returns.
    pub max_batch_size: usize,
    /// `max.queue.size` (8192): most messages read ahead while the consumer is
    /// not asking for events, counting those it took for its coming batches
    /// and has not handed out yet; when reached, reading from the server
    /// pauses.
    pub max_queue_size: usize,
    /// `status.update.interval.ms` (10000): how often the acknowledged position is reported.
    pub status_update_interval: Duration,
    /// Schema, table and column filters (`*.include.list`, `*.exclude.list`).
    pub filters: Filters,
    /// `skipped.operations` (`t`).
    pub skipped_operations: SkippedOperations,
    /// `errors.max.retries` (-1 = unlimited): reconnection attempts after the
    /// connection is lost, before the source fails; 0 disables reconnection.
    pub errors_max_retries: Option<u32>,
    /// `retriable.restart.connector.wait.ms` (10000): the longest wait between
    /// reconnection attempts (the wait starts at 100 ms and doubles up to this).
    pub reconnect_max_delay: Duration,
    /// `pgoutput.protocol.version` (the highest the server supports, at most 4).
    pub protocol_version: Option<u32>,
    /// `pgoutput.binary` (false): ask for column values in binary form (PostgreSQL 14+).
    pub binary: bool,
}

impl fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceConfig")
            .field("hostname", &self.hostname)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .field("sslrootcert", &self.sslrootcert)
            .field("slot_name", &self.slot_name)
            .field("slot_drop_on_stop", &self.slot_drop_on_stop)
            .field("slot_max_retries", &self.slot_max_retries)
            .field("slot_retry_delay", &self.slot_retry_delay)
            .field("publication_name", &self.publication_name)
            .field(
                "publication_autocreate_mode",
                &self.publication_autocreate_mode,
            )
            .field("snapshot_mode", &self.snapshot_mode)
            .field("snapshot_fetch_size", &self.snapshot_fetch_size)
            .field("max_batch_size", &self.max_batch_size)
            .field("max_queue_size", &self.max_queue_size)
            .field("status_update_interval", &self.status_update_interval)
            .field("filters", &self.filters)
            .field("skipped_operations", &self.skipped_operations)
            .field("errors_max_retries", &self.errors_max_retries)
            .field("reconnect_max_delay", &self.reconnect_max_delay)
            .field("protocol_version", &self.protocol_version)
            .field("binary", &self.binary)
            .finish()
    }
}

/// Reads keys from a property map, remembering which were used.
struct Props {
    values: HashMap<String, String>,
}

impl Props {
    fn get(&self, key: &'static str) -> Option<&str> {
        self.values
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, key: &'static str) -> Result<String, ConfigError> {
        self.get(key)
            .map(str::to_owned)
            .ok_or(ConfigError::Missing { key })
    }

    fn string(&self, key: &'static str, default: &str) -> String {
        self.get(key).unwrap_or(default).to_owned()
    }

    fn number<T: std::str::FromStr>(
        &self,
        key: &'static str,
        default: T,
        check: impl Fn(&T) -> Result<(), String>,
    ) -> Result<T, ConfigError> {
        let Some(raw) = self.get(key) else {
            return Ok(default);
        };
        let value = raw.parse::<T>().map_err(|_| ConfigError::Invalid {
            key,
            value: raw.to_owned(),
            reason: "not a number in range".to_owned(),
        })?;
        check(&value).map_err(|reason| ConfigError::Invalid {
            key,
            value: raw.to_owned(),
            reason,
        })?;
        Ok(value)
    }

    fn millis(&self, key: &'static str, default: u64, min: u64) -> Result<Duration, ConfigError> {
        let ms = self.number(key, default, |&v| {
            if v < min {
                Err(format!("must be at least {min}"))
            } else {
                Ok(())
            }
        })?;
        Ok(Duration::from_millis(ms))
    }

    fn boolean(&self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ConfigError::Invalid {
                key,
                value: v.to_owned(),
                reason: "expected `true` or `false`".to_owned(),
            }),
        }
    }

    fn choice<T: Copy>(
        &self,
        key: &'static str,
        default: T,
        choices: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        let Some(raw) = self.get(key) else {
            return Ok(default);
        };
        choices
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(raw))
            .map(|&(_, value)| value)
            .ok_or_else(|| ConfigError::Invalid {
                key,
                value: raw.to_owned(),
                reason: format!(
                    "expected one of {}",
                    choices
                        .iter()
                        .map(|(name, _)| *name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    /// One of `current` / `legacy` (the old Debezium name), not both.
    fn list_key(
        &self,
        current: &'static str,
        legacy: &'static str,
    ) -> Result<Option<(&'static str, &str)>, ConfigError> {
        match (self.get(current), self.get(legacy)) {
            (Some(_), Some(_)) => Err(ConfigError::Conflict {
                key: current,
                other: legacy,
                reason: "the second is the legacy name of the first",
            }),
            (Some(v), None) => Ok(Some((current, v))),
            (None, Some(v)) => Ok(Some((legacy, v))),
            (None, None) => Ok(None),
        }
    }

    /// An include/exclude pair (each with its legacy name).
    fn name_filter(
        &self,
        include: (&'static str, &'static str),
        exclude: (&'static str, &'static str),
    ) -> Result<Option<NameFilter>, ConfigError> {
        let inc = self.list_key(include.0, include.1)?;
        let exc = self.list_key(exclude.0, exclude.1)?;
        let compile = |(key, value): (&'static str, &str)| {
            NameList::parse(value).map_err(|e| ConfigError::Invalid {
                key,
                value: value.to_owned(),
                reason: format!("invalid regular expression: {e}"),
            })
        };
        match (inc, exc) {
            (Some((ik, _)), Some((ek, _))) => Err(ConfigError::Conflict {
                key: ik,
                other: ek,
                reason: "an include list and an exclude list of the same kind exclude each other",
            }),
            (Some(i), None) => Ok(Some(NameFilter::Include(compile(i)?))),
            (None, Some(e)) => Ok(Some(NameFilter::Exclude(compile(e)?))),
            (None, None) => Ok(None),
        }
    }
}

/// A valid replication slot name: lower-case letters, digits and underscores, at most 63 bytes.
fn check_slot_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err("must be 1 to 63 characters long".to_owned());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err("may contain only lower-case letters, digits and underscores".to_owned());
    }
    Ok(())
}

impl SourceConfig {
    /// Builds the configuration from Debezium connector properties. Keys not in
    /// [`KEYS`] are ignored; a missing required key or an unusable value is an
    /// error naming the key.
    pub fn from_properties<K, V>(
        properties: impl IntoIterator<Item = (K, V)>,
    ) -> Result<SourceConfig, ConfigError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let props = Props {
            values: properties
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        };

        let plugin = props.string("plugin.name", "pgoutput");
        if plugin != "pgoutput" {
            return Err(ConfigError::Invalid {
                key: "plugin.name",
                value: plugin,
                reason: "only `pgoutput` is supported (decoderbufs and wal2json are not)"
                    .to_owned(),
            });
        }

        let hostname = props.required("database.hostname")?;
        let port = props.number("database.port", 5432u16, |&p| {
            if p == 0 {
                Err("must be 1 to 65535".to_owned())
            } else {
                Ok(())
            }
        })?;
        let user = props.required("database.user")?;
        // The password is taken verbatim: spaces may be part of it.
        let password = props
            .values
            .get("database.password")
            .filter(|p| !p.is_empty())
            .cloned();
        let dbname = props.required("database.dbname")?;
        let sslmode = match props.get("database.sslmode") {
            None => SslMode::Prefer,
            Some(raw) => SslMode::parse(raw).ok_or_else(|| ConfigError::Invalid {
                key: "database.sslmode",
                value: raw.to_owned(),
                reason: "expected one of disable, prefer, require, verify-ca, verify-full"
                    .to_owned(),
            })?,
        };
        let sslrootcert = props.get("database.sslrootcert").map(PathBuf::from);
        if matches!(sslmode, SslMode::VerifyCa | SslMode::VerifyFull) && sslrootcert.is_none() {
            return Err(ConfigError::Invalid {
                key: "database.sslmode",
                value: sslmode.as_str().to_owned(),
                reason: "needs `database.sslrootcert`, the certificate authorities to trust"
                    .to_owned(),
            });
        }

        let slot_name = props.string("slot.name", "debezium");
        check_slot_name(&slot_name).map_err(|reason| ConfigError::Invalid {
            key: "slot.name",
            value: slot_name.clone(),
            reason,
        })?;
        let publication_name = props.string("publication.name", "dbz_publication");

        let publication_autocreate_mode = props.choice(
            "publication.autocreate.mode",
            PublicationAutocreateMode::AllTables,
            &[
                ("all_tables", PublicationAutocreateMode::AllTables),
                ("disabled", PublicationAutocreateMode::Disabled),
                ("filtered", PublicationAutocreateMode::Filtered),
                ("no_tables", PublicationAutocreateMode::NoTables),
            ],
        )?;
        let snapshot_mode = props.choice(
            "snapshot.mode",
            SnapshotMode::Initial,
            &[
                ("initial", SnapshotMode::Initial),
                ("always", SnapshotMode::Always),
                ("initial_only", SnapshotMode::InitialOnly),
                ("no_data", SnapshotMode::NoData),
                ("never", SnapshotMode::NoData),
                ("when_needed", SnapshotMode::WhenNeeded),
            ],
        )?;

        let positive = |v: &usize| {
            if *v == 0 {
                Err("must be at least 1".to_owned())
            } else {
                Ok(())
            }
        };
        let snapshot_fetch_size = props.number("snapshot.fetch.size", 10_240usize, positive)?;
        let max_batch_size = props.number("max.batch.size", 2048usize, positive)?;
        let max_queue_size = props.number("max.queue.size", 8192usize, positive)?;
        if max_queue_size <= max_batch_size {
            return Err(ConfigError::Invalid {
                key: "max.queue.size",
                value: max_queue_size.to_string(),
                reason: format!("must be larger than max.batch.size ({max_batch_size})"),
            });
        }
        let status_update_interval = props.millis("status.update.interval.ms", 10_000, 1)?;
        let slot_max_retries = props.number("slot.max.retries", 6u32, |_| Ok(()))?;
        let slot_retry_delay = props.millis("slot.retry.delay.ms", 10_000, 0)?;
        let slot_drop_on_stop = props.boolean("slot.drop.on.stop", false)?;

        let filters = Filters {
            schema: props.name_filter(
                ("schema.include.list", "schema.whitelist"),
                ("schema.exclude.list", "schema.blacklist"),
            )?,
            table: props.name_filter(
                ("table.include.list", "table.whitelist"),
                ("table.exclude.list", "table.blacklist"),
            )?,
            column: props.name_filter(
                ("column.include.list", "column.whitelist"),
                ("column.exclude.list", "column.blacklist"),
            )?,
        };
        let skipped_operations = match props.values.get("skipped.operations") {
            None => SkippedOperations::DEFAULT,
            Some(raw) => SkippedOperations::parse(raw).map_err(|reason| ConfigError::Invalid {
                key: "skipped.operations",
                value: raw.clone(),
                reason,
            })?,
        };

        let errors_max_retries = props.number("errors.max.retries", -1i64, |&v| {
            if v < -1 || v > i64::from(u32::MAX) {
                Err("expected -1 (unlimited), 0 (never retry) or a count".to_owned())
            } else {
                Ok(())
            }
        })?;
        let errors_max_retries = u32::try_from(errors_max_retries).ok();
        let reconnect_max_delay = props.millis("retriable.restart.connector.wait.ms", 10_000, 1)?;
        let protocol_version = match props.get("pgoutput.protocol.version") {
            None => None,
            Some(_) => Some(props.number("pgoutput.protocol.version", 1u32, |v| {
                if (1..=4).contains(v) {
                    Ok(())
                } else {
                    Err("pgoutput protocol versions are 1 to 4".to_owned())
                }
            })?),
        };
        let binary = props.boolean("pgoutput.binary", false)?;

        Ok(SourceConfig {
            hostname,
            port,
            user,
            password,
            dbname,
            sslmode,
            sslrootcert,
            slot_name,
            slot_drop_on_stop,
            slot_max_retries,
            slot_retry_delay,
            publication_name,
            publication_autocreate_mode,
            snapshot_mode,
            snapshot_fetch_size,
            max_batch_size,
            max_queue_size,
            status_update_interval,
            filters,
            skipped_operations,
            errors_max_retries,
            reconnect_max_delay,
            protocol_version,
            binary,
        })
    }

    /// Whether `hostname` names a Unix socket directory.
    pub fn uses_unix_socket(&self) -> bool {
        self.hostname.starts_with('/')
    }

    /// `host:port`, or the socket path, for messages.
    pub fn target(&self) -> String {
        if self.uses_unix_socket() {
            format!("{}/.s.PGSQL.{}", self.hostname, self.port)
        } else if self.hostname.contains(':') {
            format!("[{}]:{}", self.hostname, self.port)
        } else {
            format!("{}:{}", self.hostname, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("database.hostname", "localhost"),
            ("database.user", "u"),
            ("database.dbname", "d"),
        ]
    }

    fn with(extra: &[(&'static str, &'static str)]) -> Result<SourceConfig, ConfigError> {
        let mut props = base();
        props.extend_from_slice(extra);
        SourceConfig::from_properties(props)
    }

    #[test]
    fn defaults_follow_debezium() {
        let c = with(&[]).unwrap();
        assert_eq!(c.port, 5432);
        assert_eq!(c.sslmode, SslMode::Prefer);
        assert_eq!(c.slot_name, "debezium");
        assert_eq!(c.publication_name, "dbz_publication");
        assert_eq!(
            c.publication_autocreate_mode,
            PublicationAutocreateMode::AllTables
        );
        assert_eq!(c.snapshot_mode, SnapshotMode::Initial);
        assert_eq!(c.snapshot_fetch_size, 10_240);
        assert_eq!(c.max_batch_size, 2048);
        assert_eq!(c.max_queue_size, 8192);
        assert_eq!(c.status_update_interval, Duration::from_secs(10));
        assert_eq!(c.slot_max_retries, 6);
        assert_eq!(c.slot_retry_delay, Duration::from_secs(10));
        assert!(!c.slot_drop_on_stop);
        assert_eq!(c.skipped_operations, SkippedOperations::DEFAULT);
        assert_eq!(c.errors_max_retries, None);
        assert_eq!(c.protocol_version, None);
        assert!(!c.binary);
        assert!(c.password.is_none());
    }

    #[test]
    fn missing_required_keys_are_named() {
        let err = SourceConfig::from_properties([("database.hostname", "h")]).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                key: "database.user"
            }
        );
        assert_eq!(err.to_string(), "`database.user` is required");
    }

    #[test]
    fn invalid_values_name_key_and_value() {
        let err = with(&[("plugin.name", "decoderbufs")]).unwrap_err();
        assert!(
            err.to_string().contains("`plugin.name` = `decoderbufs`"),
            "{err}"
        );
        let err = with(&[("snapshot.mode", "sometimes")]).unwrap_err();
        assert!(
            err.to_string().contains("expected one of initial, always"),
            "{err}"
        );
        let err = with(&[("database.port", "99999")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                key: "database.port",
                ..
            }
        ));
        let err = with(&[("max.batch.size", "0")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                key: "max.batch.size",
                ..
            }
        ));
        let err = with(&[("max.batch.size", "100"), ("max.queue.size", "100")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                key: "max.queue.size",
                ..
            }
        ));
        let err = with(&[("slot.name", "Bad-Name")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                key: "slot.name",
                ..
            }
        ));
        let err = with(&[("slot.drop.on.stop", "yes")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                key: "slot.drop.on.stop",
                ..
            }
        ));
        let err = with(&[("database.sslmode", "allow")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                key: "database.sslmode",
                ..
            }
        ));
        let err = with(&[("database.sslmode", "verify-full")]).unwrap_err();
        assert!(err.to_string().contains("database.sslrootcert"), "{err}");
        let err = with(&[("pgoutput.protocol.version", "5")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                key: "pgoutput.protocol.version",
                ..
            }
        ));
        let err = with(&[("table.include.list", "(unclosed")]).unwrap_err();
        assert!(
            err.to_string().contains("invalid regular expression"),
            "{err}"
        );
        let err = with(&[("skipped.operations", "c,x")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                key: "skipped.operations",
                ..
            }
        ));
    }

    #[test]
    fn legacy_list_names_are_accepted_but_not_together() {
        let c = with(&[("table.whitelist", r"public\.a")]).unwrap();
        assert!(c.filters.includes_table("public", "a"));
        assert!(!c.filters.includes_table("public", "b"));
        let c = with(&[("table.blacklist", r"public\.a")]).unwrap();
        assert!(!c.filters.includes_table("public", "a"));
        let err = with(&[("table.include.list", "x"), ("table.whitelist", "y")]).unwrap_err();
        assert!(matches!(err, ConfigError::Conflict { .. }));
        let err = with(&[("table.include.list", "x"), ("table.exclude.list", "y")]).unwrap_err();
        assert!(matches!(err, ConfigError::Conflict { .. }));
    }

    #[test]
    fn values_parse() {
        let c = with(&[
            ("database.port", "6543"),
            ("database.sslmode", "VERIFY-FULL"),
            ("database.sslrootcert", "/etc/ca.pem"),
            ("snapshot.mode", "never"),
            ("publication.autocreate.mode", "filtered"),
            ("status.update.interval.ms", "250"),
            ("errors.max.retries", "3"),
            ("skipped.operations", "none"),
            ("pgoutput.protocol.version", "2"),
            ("pgoutput.binary", "true"),
            ("database.password", " spaced "),
            ("unrelated.key", "ignored"),
        ])
        .unwrap();
        assert_eq!(c.port, 6543);
        assert_eq!(c.sslmode, SslMode::VerifyFull);
        assert_eq!(c.snapshot_mode, SnapshotMode::NoData);
        assert_eq!(
            c.publication_autocreate_mode,
            PublicationAutocreateMode::Filtered
        );
        assert_eq!(c.status_update_interval, Duration::from_millis(250));
        assert_eq!(c.errors_max_retries, Some(3));
        assert_eq!(c.skipped_operations, SkippedOperations::NONE);
        assert_eq!(c.protocol_version, Some(2));
        assert!(c.binary);
        assert_eq!(c.password.as_deref(), Some(" spaced "));
        assert!(!format!("{c:?}").contains("spaced"));
    }

    #[test]
    fn targets() {
        let mut c = with(&[]).unwrap();
        assert_eq!(c.target(), "localhost:5432");
        c.hostname = "/run/postgresql".into();
        assert!(c.uses_unix_socket());
        assert_eq!(c.target(), "/run/postgresql/.s.PGSQL.5432");
        c.hostname = "::1".into();
        assert_eq!(c.target(), "[::1]:5432");
    }
}
