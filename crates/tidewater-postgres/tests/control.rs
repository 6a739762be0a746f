//! Start-up against a real PostgreSQL: prerequisite checks with actionable
//! errors, publications per `publication.autocreate.mode`, slot reuse, a slot
//! held by another process, and `slot.drop.on.stop`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod common;

use std::time::Duration;

use common::{SharedCluster, config, fresh_db, unique};
use tidewater_postgres::{
    ChangeSource, PostgresSource, ReplicationConnection, SourceError, StartOptions,
};
use tidewater_testkit::PgCluster;

static PG: SharedCluster = SharedCluster::new(PgCluster::builder);
static REPLICA_WAL: SharedCluster =
    SharedCluster::new(|| PgCluster::builder().setting("wal_level", "replica"));

fn slot_exists(pg: &PgCluster, slot: &str) -> bool {
    pg.psql(&format!(
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}'"
    ))
    .unwrap()
        == "1"
}

fn prerequisite(err: &SourceError) -> &str {
    match err {
        SourceError::Prerequisite(message) => message,
        other => panic!("expected a prerequisite error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_level_replica_is_a_clear_error() {
    let pg = REPLICA_WAL.get();
    let db = fresh_db(&pg, "ctl_wal");
    let err = PostgresSource::start(config(&pg, &db, &[("slot.name", "never_made")]))
        .await
        .unwrap_err();
    let message = prerequisite(&err);
    assert!(
        message.contains("wal_level is 'replica'")
            && message.contains("ALTER SYSTEM SET wal_level = logical")
            && message.contains("restart"),
        "{message}"
    );
    assert!(!slot_exists(&pg, "never_made"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_publication_in_disabled_mode_is_a_clear_error() {
    let pg = PG.get();
    let db = fresh_db(&pg, "ctl_nopub");
    let slot = unique("nopub");
    let err = PostgresSource::start(config(
        &pg,
        &db,
        &[
            ("slot.name", &slot),
            ("publication.name", "orders_pub"),
            ("publication.autocreate.mode", "disabled"),
        ],
    ))
    .await
    .unwrap_err();
    let message = prerequisite(&err);
    assert!(
        message.contains("publication \"orders_pub\" does not exist")
            && message.contains("publication.autocreate.mode = disabled")
            && message.contains("CREATE PUBLICATION"),
        "{message}"
    );
    assert!(!slot_exists(&pg, &slot), "nothing is created on failure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_without_replication_is_a_clear_error() {
    let pg = PG.get();
    let db = fresh_db(&pg, "ctl_role");
    let user = unique("plain");
    pg.psql(&format!("CREATE ROLE {user} LOGIN")).unwrap();
    let err = PostgresSource::start(config(&pg, &db, &[("database.user", &user)]))
        .await
        .unwrap_err();
    let message = prerequisite(&err);
    assert!(
        message.contains(&format!("ALTER ROLE {user} WITH REPLICATION")),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publications_follow_the_autocreate_mode() {
    let pg = PG.get();
    let db = fresh_db(&pg, "ctl_pub");
    pg.psql_db(
        &db,
        "CREATE TABLE orders (id int PRIMARY KEY);
         CREATE TABLE customers (id int PRIMARY KEY);
         CREATE TABLE audit_log (id int PRIMARY KEY);",
    )
    .unwrap();
    let published = |publication: &str| {
        pg.psql_db(
            &db,
            &format!(
                "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables \
                 WHERE pubname = '{publication}'"
            ),
        )
        .unwrap()
    };
    let options = |publication: &str| {
        pg.psql_db(
            &db,
            &format!(
                "SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate \
                 FROM pg_publication WHERE pubname = '{publication}'"
            ),
        )
        .unwrap()
    };
    let run = |extra: Vec<(&'static str, String)>| {
        let pg = &pg;
        let db = &db;
        async move {
            let slot = unique("pubslot");
            let mut props: Vec<(&str, &str)> = vec![
                ("slot.name", &slot),
                ("slot.drop.on.stop", "true"),
                ("snapshot.mode", "no_data"),
            ];
            props.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
            let source = PostgresSource::start(config(pg, db, &props)).await.unwrap();
            assert!(source.slot().unwrap().created);
            source.close().await.unwrap();
            assert!(!slot_exists(pg, &slot), "slot.drop.on.stop drops the slot");
        }
    };

    // all_tables (the default): FOR ALL TABLES; skipped.operations (default `t`)
    // leaves truncate out of `publish`.
    run(vec![("publication.name", "p_all".into())]).await;
    assert_eq!(options("p_all"), "t|t|t|t|f");
    assert_eq!(published("p_all"), "audit_log,customers,orders");

    // filtered: exactly the tables the filters select; a later run with other
    // filters sets the publication to the new list.
    run(vec![
        ("publication.name", "p_filtered".into()),
        ("publication.autocreate.mode", "filtered".into()),
        ("table.exclude.list", r"public\.audit_.*".into()),
        ("skipped.operations", "d".into()),
    ])
    .await;
    assert_eq!(published("p_filtered"), "customers,orders");
    assert_eq!(options("p_filtered"), "f|t|t|f|t");
    run(vec![
        ("publication.name", "p_filtered".into()),
        ("publication.autocreate.mode", "filtered".into()),
        ("table.include.list", r"public\.orders".into()),
    ])
    .await;
    assert_eq!(published("p_filtered"), "orders");
    assert_eq!(options("p_filtered"), "f|t|t|t|f");

    // no_tables: an empty publication, left alone afterwards.
    run(vec![
        ("publication.name", "p_empty".into()),
        ("publication.autocreate.mode", "no_tables".into()),
    ])
    .await;
    assert_eq!(options("p_empty"), "f|t|t|t|f");
    assert_eq!(published("p_empty"), "");

    // disabled with an existing publication: used as it is.
    run(vec![
        ("publication.name", "p_filtered".into()),
        ("publication.autocreate.mode", "disabled".into()),
        ("table.include.list", r"public\.customers".into()),
    ])
    .await;
    assert_eq!(published("p_filtered"), "orders");

    // filtered with no matching table.
    let err = PostgresSource::start(config(
        &pg,
        &db,
        &[
            ("slot.name", &unique("pubslot")),
            ("publication.name", "p_none"),
            ("publication.autocreate.mode", "filtered"),
            ("table.include.list", r"public\.nothing_like_this"),
        ],
    ))
    .await
    .unwrap_err();
    assert!(prerequisite(&err).contains("no table"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_in_use_is_waited_for_then_reported() {
    let pg = PG.get();
    let db = fresh_db(&pg, "ctl_busy");
    let slot = unique("busy");
    pg.psql_db(&db, "CREATE PUBLICATION dbz_publication FOR ALL TABLES")
        .unwrap();
    let cfg = config(
        &pg,
        &db,
        &[
            ("slot.name", &slot),
            ("snapshot.mode", "no_data"),
            ("slot.max.retries", "2"),
            ("slot.retry.delay.ms", "100"),
        ],
    );
    // Another client streams from the slot.
    let mut other = ReplicationConnection::connect(&cfg).await.unwrap();
    other
        .create_slot(&slot, false, tidewater_postgres::SlotSnapshot::Nothing)
        .await
        .unwrap();
    let pid = other.backend_pid().unwrap();
    let stream = other
        .start_replication(
            &slot,
            tidewater_pgoutput::Lsn::INVALID,
            &StartOptions::new("dbz_publication"),
        )
        .await
        .unwrap();

    let started = std::time::Instant::now();
    let err = PostgresSource::start(cfg.clone()).await.unwrap_err();
    let message = prerequisite(&err);
    assert!(
        message.contains(&format!("is active for PID {pid}"))
            && message.contains("slot.max.retries"),
        "{message}"
    );
    assert!(started.elapsed() >= Duration::from_millis(200), "two waits");

    // Once the other client is gone, the slot is reused.
    stream.finish().await.unwrap().close().await;
    let source = PostgresSource::start(cfg).await.unwrap();
    assert!(!source.slot().unwrap().created);
    source.close().await.unwrap();
    assert!(slot_exists(&pg, &slot), "the slot is kept by default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_protocol_options_are_refused() {
    let pg = PG.get();
    let db = fresh_db(&pg, "ctl_proto");
    let err = PostgresSource::start(config(
        &pg,
        &db,
        &[
            ("slot.name", &unique("proto")),
            ("pgoutput.protocol.version", "1"),
            ("pgoutput.binary", "true"),
        ],
    ))
    .await
    .unwrap_err();
    assert!(prerequisite(&err).contains("protocol version 2"), "{err}");
    if pg.server_version_num() < 160_000 {
        let err = PostgresSource::start(config(
            &pg,
            &db,
            &[
                ("slot.name", &unique("proto")),
                ("pgoutput.protocol.version", "4"),
            ],
        ))
        .await
        .unwrap_err();
        assert!(prerequisite(&err).contains("supports at most"), "{err}");
    }
}

static LIMITED: SharedCluster = SharedCluster::new(|| {
    PgCluster::builder()
        .setting("max_replication_slots", "2")
        .setting("max_slot_wal_keep_size", "1MB")
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slot_limit_and_lost_wal_are_reported_or_recovered() {
    let pg = LIMITED.get();
    let db = fresh_db(&pg, "ctl_limits");
    pg.psql_db(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);",
    )
    .unwrap();
    for name in ["taken_a", "taken_b"] {
        pg.create_logical_slot(&db, name, false).unwrap();
    }

    // Every slot is taken.
    let err = PostgresSource::start(config(&pg, &db, &[("slot.name", "one_more")]))
        .await
        .unwrap_err();
    let message = prerequisite(&err);
    assert!(
        message.contains("all 2 replication slots are in use")
            && message.contains("max_replication_slots"),
        "{message}"
    );

    // A slot that fell too far behind loses its WAL (max_slot_wal_keep_size).
    pg.psql_db(&db, "SELECT pg_drop_replication_slot('taken_b')")
        .unwrap();
    pg.psql_db(
        &db,
        "CREATE TABLE churn (x text);
         INSERT INTO churn SELECT repeat('x', 1000) FROM generate_series(1, 40000);
         SELECT pg_switch_wal();
         CHECKPOINT;
         INSERT INTO churn SELECT repeat('y', 1000) FROM generate_series(1, 40000);
         SELECT pg_switch_wal();
         CHECKPOINT;",
    )
    .unwrap();
    let lost = pg
        .psql("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'taken_a'")
        .unwrap();
    assert_eq!(lost, "lost");
    let cfg = |mode: &str| {
        config(
            &pg,
            &db,
            &[("slot.name", "taken_a"), ("snapshot.mode", mode)],
        )
    };
    let err = PostgresSource::start(cfg("initial")).await.unwrap_err();
    let message = prerequisite(&err);
    assert!(
        message.contains("wal_status = lost") && message.contains("when_needed"),
        "{message}"
    );
    // when_needed starts over: a new slot and a new snapshot.
    let mut source = PostgresSource::start(cfg("when_needed")).await.unwrap();
    assert!(source.slot().unwrap().created);
    let batch = tokio::time::timeout(Duration::from_secs(30), source.next_batch())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(batch.first(), Some(tidewater_pgoutput::TransactionEvent::Begin(b)) if b.xid == tidewater_postgres::SNAPSHOT_XID),
        "{batch:?}"
    );
    source.close().await.unwrap();
    let status = pg
        .psql("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'taken_a'")
        .unwrap();
    assert_ne!(status, "lost");
}
