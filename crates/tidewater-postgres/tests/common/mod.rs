//! Helpers shared by the integration tests: clusters from the test kit (shared
//! by the tests of one file while any of them runs), unique names and configs.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers; not every test file uses every helper"
)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tidewater_postgres::SourceConfig;
use tidewater_testkit::{PgCluster, PgClusterBuilder};

/// A cluster shared by the tests of one test binary: started by the first test
/// that asks, stopped when the last one holding it finishes.
pub struct SharedCluster {
    slot: Mutex<Weak<PgCluster>>,
    build: fn() -> PgClusterBuilder,
}

impl SharedCluster {
    pub const fn new(build: fn() -> PgClusterBuilder) -> Self {
        SharedCluster {
            slot: Mutex::new(Weak::new()),
            build,
        }
    }

    pub fn get(&self) -> Arc<PgCluster> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pg) = slot.upgrade() {
            return pg;
        }
        let pg = Arc::new(
            (self.build)()
                .start()
                .unwrap_or_else(|e| panic!("starting PostgreSQL for the test: {e}")),
        );
        *slot = Arc::downgrade(&pg);
        pg
    }
}

/// A name unique within this test process.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}_{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Creates a fresh database and returns its name.
pub fn fresh_db(pg: &PgCluster, prefix: &str) -> String {
    let name = unique(prefix);
    pg.create_database(&name).unwrap();
    name
}

/// Properties reaching `db` over TCP as the kit's user (or the password user).
pub fn properties(pg: &PgCluster, db: &str) -> Vec<(String, String)> {
    let (user, password) = match pg.credentials() {
        Some((u, p)) => (u.to_owned(), Some(p.to_owned())),
        None => ("postgres".to_owned(), None),
    };
    let mut props = vec![
        ("database.hostname".to_owned(), pg.host().to_owned()),
        ("database.port".to_owned(), pg.port().to_string()),
        ("database.user".to_owned(), user),
        ("database.dbname".to_owned(), db.to_owned()),
    ];
    if let Some(password) = password {
        props.push(("database.password".to_owned(), password));
    }
    props
}

/// A config for `db` with extra properties (later ones win).
pub fn config(pg: &PgCluster, db: &str, extra: &[(&str, &str)]) -> SourceConfig {
    let mut props = properties(pg, db);
    props.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    SourceConfig::from_properties(props).unwrap()
}

/// Polls `check` until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
