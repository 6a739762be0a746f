//! The replication connection against a real PostgreSQL: TCP and Unix socket,
//! trust, cleartext, MD5 and SCRAM-SHA-256, TLS per sslmode, and the errors a
//! user meets first (wrong password, missing database, untrusted certificate).
//!
//! Servers come from the test kit (PostgreSQL from PATH, Debian's
//! /usr/lib/postgresql, or `TIDEWATER_PG_BIN`); a missing server fails the test
//! with instructions, it never skips.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::process::Command;

use common::{SharedCluster, config, fresh_db, unique};
use tidewater_postgres::{
    ReplicationConnection, SlotSnapshot, SourceError, connect_sql, highest_protocol_version,
};
use tidewater_testkit::PgCluster;

static TRUST: SharedCluster = SharedCluster::new(PgCluster::builder);
static SECURE: SharedCluster =
    SharedCluster::new(|| PgCluster::builder().password("cdc", "s3cret pw").tls(true));

#[tokio::test]
async fn trust_over_tcp_and_unix_socket() {
    let pg = TRUST.get();
    let db = fresh_db(&pg, "conn_trust");

    // TCP, sslmode=prefer against a server without TLS: plain connection.
    let mut conn = ReplicationConnection::connect(&config(&pg, &db, &[]))
        .await
        .unwrap();
    assert!(!conn.is_tls());
    assert_eq!(conn.server_version_num(), pg.server_version_num());
    assert!(conn.backend_pid().is_some());
    let system = conn.identify_system().await.unwrap();
    assert_eq!(system.dbname.as_deref(), Some(db.as_str()));
    assert!(system.timeline >= 1);
    assert!(!system.xlog_pos.is_invalid());

    // The text contract's settings are in force on the walsender session.
    let settings = conn
        .simple_query(
            "SELECT current_setting('DateStyle') AS d, current_setting('TimeZone') AS z, \
             current_setting('IntervalStyle') AS i, current_setting('extra_float_digits') AS f",
        )
        .await
        .unwrap();
    assert_eq!(settings.get(0, "d"), Some("ISO, MDY"));
    assert_eq!(settings.get(0, "z"), Some("UTC"));
    assert_eq!(settings.get(0, "i"), Some("iso_8601"));
    assert_eq!(settings.get(0, "f"), Some("3"));
    conn.close().await;

    // Unix socket: hostname is the socket directory.
    let socket_dir = pg.socket_dir().to_str().unwrap().to_owned();
    let mut conn =
        ReplicationConnection::connect(&config(&pg, &db, &[("database.hostname", &socket_dir)]))
            .await
            .unwrap();
    let system = conn.identify_system().await.unwrap();
    assert_eq!(system.dbname.as_deref(), Some(db.as_str()));
    conn.close().await;

    // The SQL connection uses the same settings.
    let client = connect_sql(&config(&pg, &db, &[])).await.unwrap();
    let row = client
        .query_one("SELECT current_setting('IntervalStyle')", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "iso_8601");
}

#[tokio::test]
async fn tls_required_but_not_offered_is_an_error() {
    let pg = TRUST.get();
    let err = ReplicationConnection::connect(&config(
        &pg,
        "postgres",
        &[("database.sslmode", "require")],
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, SourceError::Tls { .. }), "{err:?}");
    assert!(
        err.to_string().contains("does not accept TLS"),
        "unclear message: {err}"
    );
}

#[tokio::test]
async fn md5_and_cleartext_passwords() {
    let pg = TRUST.get();
    let db = fresh_db(&pg, "conn_pw");
    let md5_user = unique("md5user");
    let clear_user = unique("clearuser");
    pg.psql(&format!(
        "SET password_encryption = 'md5';
         CREATE ROLE {md5_user} LOGIN REPLICATION PASSWORD 'md5 secret';
         RESET password_encryption;
         CREATE ROLE {clear_user} LOGIN REPLICATION PASSWORD 'clear secret';"
    ))
    .unwrap();
    // Put user-specific lines ahead of the kit's `trust` lines and reload.
    let hba = pg.data_dir().join("pg_hba.conf");
    let existing = std::fs::read_to_string(&hba).unwrap();
    let lines = format!(
        "host all,replication {md5_user} 127.0.0.1/32 md5\n\
         host all,replication {clear_user} 127.0.0.1/32 password\n"
    );
    std::fs::write(&hba, format!("{lines}{existing}")).unwrap();
    pg.psql("SELECT pg_reload_conf()").unwrap();

    for (user, password) in [(&md5_user, "md5 secret"), (&clear_user, "clear secret")] {
        let cfg = config(
            &pg,
            &db,
            &[("database.user", user), ("database.password", password)],
        );
        let mut conn = ReplicationConnection::connect(&cfg).await.unwrap();
        let who = conn.simple_query("SELECT current_user AS u").await.unwrap();
        assert_eq!(who.get(0, "u"), Some(user.as_str()));
        conn.close().await;
    }

    // Wrong password: the server's error with its SQLSTATE and advice.
    let cfg = config(
        &pg,
        &db,
        &[("database.user", &md5_user), ("database.password", "nope")],
    );
    let err = ReplicationConnection::connect(&cfg).await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("28P01"), "{err}");
    assert!(err.to_string().contains("database.password"), "{err}");

    // No password configured at all.
    let cfg = config(&pg, &db, &[("database.user", &clear_user)]);
    let err = ReplicationConnection::connect(&cfg).await.unwrap_err();
    assert!(matches!(err, SourceError::Auth { .. }), "{err:?}");
    assert!(
        err.to_string().contains("database.password is not set"),
        "{err}"
    );
}

#[tokio::test]
async fn scram_over_tls_with_verify_full() {
    let pg = SECURE.get();
    let db = fresh_db(&pg, "conn_tls");
    let ca = pg.ca_cert_path().unwrap().to_str().unwrap().to_owned();

    for mode in ["verify-full", "verify-ca", "require", "prefer"] {
        let cfg = config(
            &pg,
            &db,
            &[("database.sslmode", mode), ("database.sslrootcert", &ca)],
        );
        let mut conn = ReplicationConnection::connect(&cfg).await.unwrap();
        assert!(conn.is_tls(), "{mode}");
        let ssl = conn
            .simple_query("SELECT ssl::text AS ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .await
            .unwrap();
        assert_eq!(ssl.get(0, "ssl"), Some("true"), "{mode}");
        conn.close().await;
    }

    // The control connection authenticates and encrypts the same way.
    let cfg = config(
        &pg,
        &db,
        &[
            ("database.sslmode", "verify-full"),
            ("database.sslrootcert", &ca),
        ],
    );
    let client = connect_sql(&cfg).await.unwrap();
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));

    // A slot can be created with an exported snapshot and dropped again.
    let mut conn = ReplicationConnection::connect(&cfg).await.unwrap();
    let slot = unique("conn_slot");
    let created = conn
        .create_slot(&slot, false, SlotSnapshot::Export)
        .await
        .unwrap();
    assert_eq!(created.slot_name, slot);
    assert_eq!(created.output_plugin, "pgoutput");
    assert!(created.snapshot_name.is_some());
    assert!(!created.consistent_point.is_invalid());
    conn.drop_slot(&slot, true).await.unwrap();
    assert!(highest_protocol_version(conn.server_version_num()) >= 3);
    conn.close().await;
}

#[tokio::test]
async fn wrong_password_and_missing_database_are_clear_errors() {
    let pg = SECURE.get();
    let db = fresh_db(&pg, "conn_err");

    let cfg = config(&pg, &db, &[("database.password", "wrong")]);
    let err = ReplicationConnection::connect(&cfg).await.unwrap_err();
    let server = err.server_error().expect("a server error");
    assert_eq!(server.code, "28P01");
    assert!(server.message.contains("password authentication failed"));
    let text = err.to_string();
    assert!(
        text.contains("(replication)") && text.contains("28P01"),
        "{text}"
    );
    // The SQL connection reports the same error the same way.
    let err = connect_sql(&cfg).await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("28P01"), "{err}");

    let cfg = config(&pg, "no_such_database", &[]);
    let err = ReplicationConnection::connect(&cfg).await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("3D000"), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("\"no_such_database\" does not exist") && text.contains("database.dbname"),
        "{text}"
    );
    let err = connect_sql(&cfg).await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("3D000"), "{err}");
}

#[tokio::test]
async fn untrusted_certificate_is_rejected() {
    let pg = SECURE.get();
    // A CA that did not sign the server's certificate.
    let dir = tempfile_dir();
    let ca = dir.join("other-ca.pem");
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=someone else"])
        .arg("-keyout")
        .arg(dir.join("other-ca.key"))
        .arg("-out")
        .arg(&ca)
        .output()
        .expect("openssl (the test kit needs it for TLS too)");
    assert!(status.status.success(), "{status:?}");
    let ca = ca.to_str().unwrap().to_owned();

    for mode in ["verify-full", "verify-ca"] {
        let cfg = config(
            &pg,
            "postgres",
            &[("database.sslmode", mode), ("database.sslrootcert", &ca)],
        );
        let err = ReplicationConnection::connect(&cfg).await.unwrap_err();
        assert!(matches!(err, SourceError::Tls { .. }), "{mode}: {err:?}");
        assert!(
            err.to_string().contains("certificate"),
            "{mode}: unclear message: {err}"
        );
        let err = connect_sql(&cfg).await.unwrap_err();
        assert!(err.to_string().contains("certificate"), "{mode}: {err}");
    }

    // A root certificate file that does not exist names the key.
    let cfg = config(
        &pg,
        "postgres",
        &[
            ("database.sslmode", "verify-full"),
            ("database.sslrootcert", "/nonexistent/ca.pem"),
        ],
    );
    let err = ReplicationConnection::connect(&cfg).await.unwrap_err();
    assert!(err.to_string().contains("database.sslrootcert"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique(&format!("tw_pg_tls_{}", std::process::id())));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
