//! The PostgreSQL side of the kit against real servers. These tests fail (never skip) when
//! PostgreSQL is missing; `TIDEWATER_PG_BIN` selects another version.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests panic on unexpected results by design"
)]

use std::process::Command;

use tidewater_testkit::PgCluster;

/// The major version `postgres --version` reports for the cluster's binaries.
fn binary_major(pg: &PgCluster) -> u32 {
    let mut cmd = Command::new(pg.bin_dir().join("postgres"));
    let lib = pg.bin_dir().parent().unwrap().join("lib");
    if lib.join("libpq.so.5").exists() {
        cmd.env("LD_LIBRARY_PATH", lib);
    }
    let out = cmd.arg("--version").output().expect("postgres --version");
    let text = String::from_utf8(out.stdout).unwrap();
    // "postgres (PostgreSQL) 15.18 (Debian ...)" or "postgres (PostgreSQL) 18.4"
    let version = text.split_whitespace().nth(2).expect("a version field");
    version.split('.').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn logical_cluster_captures_pgoutput() {
    let pg = PgCluster::start().expect("PostgreSQL cluster starts");

    assert_eq!(pg.psql("SHOW wal_level").unwrap(), "logical");
    assert_eq!(pg.psql("SHOW max_prepared_transactions").unwrap(), "10");
    assert_eq!(pg.psql("SHOW port").unwrap(), pg.port().to_string());
    assert_eq!(pg.host(), "127.0.0.1");

    let version = pg.server_version_num();
    assert!((100_000..1_000_000).contains(&version), "{version}");
    assert_eq!(version / 10_000, binary_major(&pg));
    eprintln!(
        "server_version_num = {version} from {}",
        pg.bin_dir().display()
    );

    pg.create_database("app").unwrap();
    pg.psql_db(
        "app",
        "CREATE TABLE items (id int PRIMARY KEY, note text);
         CREATE PUBLICATION pub FOR TABLE items;",
    )
    .unwrap();
    let slot_lsn = pg.create_logical_slot("app", "slot", false).unwrap();
    assert!(slot_lsn.contains('/'), "{slot_lsn}");

    let client = pg
        .connect("app")
        .await
        .expect("tokio-postgres over the socket");
    client
        .execute("INSERT INTO items VALUES (1, 'hello')", &[])
        .await
        .unwrap();

    let options = [("publication_names", "pub")];
    let changes = pg.peek_binary_changes("app", "slot", &options).unwrap();
    let tags: Vec<u8> = changes.iter().map(|c| c.data[0]).collect();
    assert_eq!(tags, b"BRIC", "Begin, Relation, Insert, Commit");
    assert!(changes.iter().all(|c| c.lsn.contains('/') && c.xid > 0));
    assert!(changes.iter().all(|c| c.xid == changes[0].xid));

    // Peeking again sees the same; getting consumes.
    assert_eq!(
        pg.peek_binary_changes("app", "slot", &options).unwrap(),
        changes
    );
    assert_eq!(
        pg.get_binary_changes("app", "slot", &options).unwrap(),
        changes
    );
    assert!(
        pg.peek_binary_changes("app", "slot", &options)
            .unwrap()
            .is_empty()
    );

    // proto_version given explicitly is used instead of the default.
    client
        .execute("INSERT INTO items VALUES (2, 'again')", &[])
        .await
        .unwrap();
    let v2 = pg
        .peek_binary_changes(
            "app",
            "slot",
            &[("proto_version", "2"), ("publication_names", "pub")],
        )
        .unwrap();
    assert_eq!(v2.first().map(|c| c.data[0]), Some(b'B'));

    // The TCP connection string works for tokio-postgres too.
    let (tcp, connection) =
        tokio_postgres::connect(&pg.connection_string("app"), tokio_postgres::NoTls)
            .await
            .expect("TCP connection with trust auth");
    tokio::spawn(connection);
    let row = tcp
        .query_one("SELECT count(*) FROM items", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 2);
}

#[test]
fn drop_stops_the_server_and_removes_the_data_dir() {
    let pg = PgCluster::start().unwrap();
    let data_dir = pg.data_dir().to_path_buf();
    let socket_dir = pg.socket_dir().to_path_buf();
    let port = pg.port();
    assert!(data_dir.join("PG_VERSION").exists());
    drop(pg);
    assert!(!data_dir.exists(), "{} still exists", data_dir.display());
    assert!(
        !socket_dir.exists(),
        "{} still exists",
        socket_dir.display()
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something still listens on {port}"
    );
}

#[test]
fn restart_keeps_data_and_port() {
    let pg = PgCluster::builder()
        .logical_decoding_work_mem("64kB")
        .setting("max_connections", "42")
        .start()
        .unwrap();
    assert_eq!(pg.psql("SHOW logical_decoding_work_mem").unwrap(), "64kB");
    assert_eq!(pg.psql("SHOW max_connections").unwrap(), "42");
    pg.psql("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7);")
        .unwrap();
    let port = pg.port();

    pg.stop().unwrap();
    assert!(!pg.is_running());
    assert!(pg.psql("SELECT 1").is_err());

    pg.restart().unwrap();
    assert!(pg.is_running());
    assert_eq!(pg.port(), port);
    assert_eq!(pg.psql("SELECT x FROM kept").unwrap(), "7");
}

#[test]
fn two_phase_slot_and_multi_statement_scripts() {
    let pg = PgCluster::start().unwrap();
    pg.create_logical_slot("postgres", "tp", true).unwrap();
    assert_eq!(
        pg.psql("SELECT two_phase FROM pg_replication_slots WHERE slot_name = 'tp'")
            .unwrap(),
        "t"
    );
    let out = pg.psql("SELECT 1; SELECT 'a' || 'b';").unwrap();
    assert_eq!(out, "1\nab");
    let err = pg
        .psql("SELECT * FROM no_such_table")
        .unwrap_err()
        .to_string();
    assert!(err.contains("no_such_table"), "{err}");
}

#[tokio::test]
async fn password_and_tls_cluster() {
    let pg = PgCluster::builder()
        .password("tidewater", "s3cret pass")
        .tls(true)
        .start()
        .expect("password + TLS cluster starts");

    assert_eq!(pg.psql("SHOW ssl").unwrap(), "on");
    let ca = pg.ca_cert_path().expect("a CA certificate");
    let pem = std::fs::read_to_string(ca).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(pg.credentials(), Some(("tidewater", "s3cret pass")));
    assert_eq!(
        pg.psql("SELECT rolsuper AND rolreplication AND rolcanlogin FROM pg_roles WHERE rolname = 'tidewater'")
            .unwrap(),
        "t"
    );

    // TCP requires the password (SCRAM); the connection string carries it.
    let conn = pg.connection_string("postgres");
    assert!(conn.contains("user=tidewater"), "{conn}");
    let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
        .await
        .expect("password login over TCP");
    tokio::spawn(connection);
    let row = client
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "tidewater");

    let wrong = format!(
        "host=127.0.0.1 port={} user=tidewater password=wrong dbname=postgres",
        pg.port()
    );
    assert!(
        tokio_postgres::connect(&wrong, tokio_postgres::NoTls)
            .await
            .is_err()
    );
    let no_password = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres",
        pg.port()
    );
    assert!(
        tokio_postgres::connect(&no_password, tokio_postgres::NoTls)
            .await
            .is_err()
    );

    // The kit's own admin path (Unix socket) stays trusted.
    let admin = pg.connect("postgres").await.unwrap();
    admin.simple_query("SELECT 1").await.unwrap();
}

#[test]
fn a_panicking_test_still_cleans_up() {
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = std::panic::catch_unwind(move || {
        let pg = PgCluster::start().unwrap();
        tx.send(pg.data_dir().to_path_buf()).unwrap();
        panic!("a failing test");
    });
    assert!(outcome.is_err());
    let data_dir = rx.recv().unwrap();
    assert!(!data_dir.exists(), "{} still exists", data_dir.display());
}

#[test]
fn missing_binaries_say_how_to_install() {
    let err = PgCluster::builder()
        .bin_dir("/nonexistent/tidewater/bin")
        .start()
        .unwrap_err()
        .to_string();
    assert!(err.contains("scripts/setup.sh"), "{err}");
    assert!(err.contains("TIDEWATER_PG_BIN"), "{err}");
}
