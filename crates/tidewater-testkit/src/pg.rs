//! Throwaway PostgreSQL clusters.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use tempfile::TempDir;

use crate::error::{Result, TestkitError};
use crate::util::{self, RunAs};

/// Environment variable naming a PostgreSQL `bin` directory to use instead of the system one.
pub const PG_BIN_ENV: &str = "TIDEWATER_PG_BIN";

const INSTALL_HINT: &str = "run scripts/setup.sh (installs the Debian `postgresql` package) or set \
                            TIDEWATER_PG_BIN to a directory holding initdb, pg_ctl and postgres";

/// The administrative superuser created by `initdb`, reachable without a password over the
/// cluster's Unix socket.
pub const ADMIN_USER: &str = "postgres";

/// How long `pg_ctl` may wait for the server to start or stop, in seconds.
const PG_CTL_TIMEOUT_SECS: &str = "60";

/// Session settings for captures: the ones Tidewater's replication connection forces, so
/// text-format values in captured messages look exactly as they do on a replication stream
/// (`DateStyle=ISO`, `TimeZone=UTC`, `IntervalStyle=iso_8601`, `extra_float_digits=3`).
pub const CAPTURE_SESSION: &str = "\\set QUIET on\nSET DateStyle = ISO; SET TimeZone = 'UTC'; SET IntervalStyle = iso_8601; SET extra_float_digits = 3;\n";

/// One row of `pg_logical_slot_{peek,get}_binary_changes`: a pgoutput message as PostgreSQL
/// produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedChange {
    /// The message's LSN in PostgreSQL's `X/Y` notation.
    pub lsn: String,
    /// The transaction id the message belongs to.
    pub xid: u32,
    /// The raw pgoutput message (its first byte is the message type, e.g. `b'B'` for Begin).
    pub data: Vec<u8>,
}

/// Configures a [`PgCluster`] before it starts. Created by [`PgCluster::builder`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct PgClusterBuilder {
    settings: Vec<(String, String)>,
    password: Option<(String, String)>,
    tls: bool,
    bin_dir: Option<PathBuf>,
}

impl PgClusterBuilder {
    /// Sets `logical_decoding_work_mem` (e.g. `"64kB"`, the minimum), which makes PostgreSQL
    /// spill or stream large transactions early.
    pub fn logical_decoding_work_mem(self, value: impl Into<String>) -> Self {
        self.setting("logical_decoding_work_mem", value)
    }

    /// Sets any `postgresql.conf` parameter. The value is written quoted, as PostgreSQL
    /// accepts for every parameter type; later calls win over earlier ones and over the kit's
    /// defaults.
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// Creates `user` (LOGIN REPLICATION SUPERUSER) with `password`, and requires
    /// SCRAM-SHA-256 password authentication for every TCP connection (normal and
    /// replication). The kit itself keeps using the trusted Unix socket.
    ///
    /// `user` may be `postgres`, which then just gets the password.
    pub fn password(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.password = Some((user.into(), password.into()));
        self
    }

    /// Turns TLS on (`ssl = on`) with a freshly generated self-signed CA and a server
    /// certificate for `localhost` / `127.0.0.1`, made with the `openssl` command-line tool.
    /// The CA certificate is at [`PgCluster::ca_cert_path`].
    pub fn tls(mut self, enabled: bool) -> Self {
        self.tls = enabled;
        self
    }

    /// Uses the PostgreSQL binaries in `dir` rather than discovering them (see
    /// [`PgCluster`] for the discovery order).
    pub fn bin_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.bin_dir = Some(dir.into());
        self
    }

    /// Creates and starts the cluster. Blocking, but it never enters an async runtime, so it
    /// may be called from within one as well as from plain code.
    pub fn start(self) -> Result<PgCluster> {
        PgCluster::launch(self)
    }
}

/// The PostgreSQL programs the kit runs.
#[derive(Debug, Clone)]
struct PgBinaries {
    bin_dir: PathBuf,
    /// A `lib` directory bundled next to `bin` (builds not installed system-wide); it goes on
    /// `LD_LIBRARY_PATH` of every PostgreSQL program we run.
    bundled_lib: Option<PathBuf>,
    psql: PathBuf,
}

impl PgBinaries {
    fn discover(explicit: Option<PathBuf>) -> Result<Self> {
        let bin_dir = match explicit {
            Some(dir) => check_bin_dir(dir, "the builder's bin_dir")?,
            None => match std::env::var_os(PG_BIN_ENV).filter(|v| !v.is_empty()) {
                Some(dir) => check_bin_dir(PathBuf::from(dir), PG_BIN_ENV)?,
                None => system_bin_dir().ok_or_else(|| TestkitError::NotFound {
                    what: "PostgreSQL (initdb/pg_ctl on PATH or under /usr/lib/postgresql/*/bin)"
                        .to_owned(),
                    hint: INSTALL_HINT.to_owned(),
                })?,
            },
        };
        let bundled_lib = bin_dir
            .parent()
            .map(|prefix| prefix.join("lib"))
            .filter(|lib| lib.join("libpq.so.5").exists());
        let psql = find_psql(&bin_dir).ok_or_else(|| TestkitError::NotFound {
            what: "psql".to_owned(),
            hint: format!(
                "not in {} nor under /usr/lib/postgresql/*/bin nor on PATH; run scripts/setup.sh \
                 or install Debian's postgresql-client package",
                bin_dir.display()
            ),
        })?;
        Ok(Self {
            bin_dir,
            bundled_lib,
            psql,
        })
    }

    /// Adds `LD_LIBRARY_PATH` for a bundled `lib` directory to a command running one of our
    /// programs.
    fn apply_env(&self, cmd: &mut Command, program: &Path) {
        let Some(lib) = &self.bundled_lib else {
            return;
        };
        let Some(prefix) = lib.parent() else {
            return;
        };
        if !program.starts_with(prefix) {
            return;
        }
        let mut value = lib.as_os_str().to_owned();
        if let Some(existing) = std::env::var_os("LD_LIBRARY_PATH").filter(|v| !v.is_empty()) {
            value.push(":");
            value.push(existing);
        }
        cmd.env("LD_LIBRARY_PATH", value);
    }
}

fn check_bin_dir(dir: PathBuf, source: &str) -> Result<PathBuf> {
    for program in ["initdb", "pg_ctl", "postgres"] {
        if !util::is_executable(&dir.join(program)) {
            return Err(TestkitError::NotFound {
                what: format!("{program} in {} (from {source})", dir.display()),
                hint: INSTALL_HINT.to_owned(),
            });
        }
    }
    Ok(dir)
}

/// `initdb` on `PATH` (symlinks resolved, so `pg_ctl` finds its `postgres`), else the newest
/// `/usr/lib/postgresql/<major>/bin`.
fn system_bin_dir() -> Option<PathBuf> {
    if let Some(initdb) = util::which("initdb") {
        let resolved = fs::canonicalize(&initdb).unwrap_or(initdb);
        if let Some(dir) = resolved.parent()
            && util::is_executable(&dir.join("pg_ctl"))
            && util::is_executable(&dir.join("postgres"))
        {
            return Some(dir.to_path_buf());
        }
    }
    debian_bin_dirs()
        .into_iter()
        .find(|dir| util::is_executable(&dir.join("initdb")))
}

/// `/usr/lib/postgresql/<major>/bin` directories, newest major first.
fn debian_bin_dirs() -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir("/usr/lib/postgresql") else {
        return Vec::new();
    };
    let mut majors: Vec<(u32, PathBuf)> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .collect();
    majors.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
    majors.into_iter().map(|(_, dir)| dir).collect()
}

fn find_psql(bin_dir: &Path) -> Option<PathBuf> {
    let local = bin_dir.join("psql");
    if util::is_executable(&local) {
        return Some(local);
    }
    debian_bin_dirs()
        .into_iter()
        .map(|dir| dir.join("psql"))
        .find(|p| util::is_executable(p))
        .or_else(|| util::which("psql"))
}

/// A private PostgreSQL cluster on a random loopback port, deleted when dropped.
///
/// Created in a fresh temporary directory by `initdb`, configured for logical replication
/// (`wal_level = logical`, 20 replication slots and WAL senders, `max_prepared_transactions =
/// 10` for two-phase tests, `fsync = off`, `shared_buffers = 32MB`), listening on 127.0.0.1
/// and on a Unix socket in the temporary directory, and started with `pg_ctl`.
///
/// # Which PostgreSQL
///
/// 1. [`PgClusterBuilder::bin_dir`], when given;
/// 2. the directory in the `TIDEWATER_PG_BIN` environment variable;
/// 3. `initdb` found on `PATH`;
/// 4. the newest `/usr/lib/postgresql/*/bin`.
///
/// `psql` comes from the same directory when it has one, else from the newest Debian install
/// or `PATH`. A `lib` directory next to `bin` holding `libpq.so.5` (a self-contained build) is
/// put on `LD_LIBRARY_PATH` for the programs from that build.
///
/// # Running as root
///
/// PostgreSQL refuses to run as root. When the tests run as root, the kit runs `initdb`,
/// `pg_ctl` and thereby the server as the `postgres` system user (via `setpriv`, or
/// `runuser`), and gives it the temporary directory, which lives under `/tmp` so that user can
/// reach it.
///
/// # Dropping
///
/// Dropping the cluster (also while a test panics) stops the server with `pg_ctl stop -m
/// immediate` and removes the temporary directory.
#[derive(Debug)]
pub struct PgCluster {
    bins: PgBinaries,
    run_as: RunAs,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
    port: u16,
    version_num: u32,
    password: Option<(String, String)>,
    ca_cert: Option<PathBuf>,
    running: Mutex<bool>,
    /// Declared last: removed after `Drop::drop` has stopped the server.
    root: TempDir,
}

impl PgCluster {
    /// A builder for a cluster with non-default settings.
    pub fn builder() -> PgClusterBuilder {
        PgClusterBuilder::default()
    }

    /// Starts a cluster with the default settings; see [`PgClusterBuilder::start`].
    pub fn start() -> Result<Self> {
        Self::builder().start()
    }

    fn launch(builder: PgClusterBuilder) -> Result<Self> {
        let bins = PgBinaries::discover(builder.bin_dir)?;
        let run_as = RunAs::unprivileged(ADMIN_USER)?;

        let mut temp = tempfile::Builder::new();
        temp.prefix("tidewater-pg-");
        let root = if util::is_root() {
            // Not $TMPDIR: it might be under /root, which the postgres user cannot traverse.
            temp.tempdir_in("/tmp")
        } else {
            temp.tempdir()
        }
        .map_err(|e| TestkitError::io("creating a temporary directory", e))?;
        let root_path = root.path().to_path_buf();
        util::chmod(&root_path, 0o700)?;
        run_as.chown_tree(&root_path)?;

        let data_dir = root_path.join("data");
        let log_file = root_path.join("postgres.log");
        let mut cluster = Self {
            bins,
            run_as,
            data_dir,
            socket_dir: root_path,
            log_file,
            port: 0,
            version_num: 0,
            password: builder.password,
            ca_cert: None,
            running: Mutex::new(false),
            root,
        };

        cluster.initdb()?;
        if builder.tls {
            cluster.ca_cert = Some(cluster.generate_certificates()?);
        }
        cluster.write_config(&builder.settings, builder.tls)?;
        cluster.run_as.chown_tree(cluster.root.path())?;

        // The port is picked free but released before the server binds it; retry on a race.
        let mut attempt = 0;
        loop {
            attempt += 1;
            cluster.port = util::free_port()?;
            match cluster.start_server() {
                Ok(()) => break,
                Err(e) if attempt < 3 && cluster.bind_failed() => {
                    let _ = fs::remove_file(&cluster.log_file);
                    drop(e);
                }
                Err(e) => return Err(e),
            }
        }

        let version = cluster.psql("SHOW server_version_num")?;
        cluster.version_num = version.trim().parse().map_err(|_| {
            TestkitError::Parse(format!("server_version_num is not a number: {version:?}"))
        })?;

        if let Some((user, password)) = &cluster.password {
            let user = quote_ident(user);
            let password = util::sql_literal(password);
            let sql = if cluster.password_user_is_admin() {
                format!("ALTER ROLE {user} PASSWORD {password}")
            } else {
                format!("CREATE ROLE {user} LOGIN REPLICATION SUPERUSER PASSWORD {password}")
            };
            cluster.psql(&sql)?;
        }
        Ok(cluster)
    }

    fn pg_command(&self, program: &str) -> Command {
        let path = self.bins.bin_dir.join(program);
        let mut cmd = self.run_as.command(&path);
        self.bins.apply_env(&mut cmd, &path);
        // The postgres user may not be able to enter the caller's working directory.
        cmd.current_dir(self.root.path());
        cmd
    }

    fn initdb(&self) -> Result<()> {
        let mut cmd = self.pg_command("initdb");
        cmd.arg("-D")
            .arg(&self.data_dir)
            .args(["-A", "trust", "-U", ADMIN_USER])
            .args(["--encoding", "UTF8", "--no-locale", "--no-sync"]);
        util::run(&mut cmd).map(drop)
    }

    fn generate_certificates(&self) -> Result<PathBuf> {
        let openssl = util::which("openssl").ok_or_else(|| TestkitError::NotFound {
            what: "openssl (to make TLS certificates)".to_owned(),
            hint: "run scripts/setup.sh or `apt-get install openssl`".to_owned(),
        })?;
        let dir = &self.data_dir;
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        util::run(
            Command::new(&openssl)
                .current_dir(dir)
                .args(["req", "-x509"])
                .args(ec)
                .args(["-keyout", "ca.key", "-out", "ca.crt", "-days", "3650"])
                .args(["-subj", "/CN=Tidewater test CA"])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
        )?;
        util::run(
            Command::new(&openssl)
                .current_dir(dir)
                .args(["req", "-new"])
                .args(ec)
                .args(["-keyout", "server.key", "-out", "server.csr"])
                .args(["-subj", "/CN=localhost"]),
        )?;
        let extensions = "basicConstraints=CA:FALSE\n\
                          keyUsage=critical,digitalSignature,keyEncipherment\n\
                          extendedKeyUsage=serverAuth\n\
                          subjectAltName=DNS:localhost,IP:127.0.0.1\n";
        fs::write(dir.join("server.ext"), extensions)
            .map_err(|e| TestkitError::io("writing server.ext", e))?;
        util::run(
            Command::new(&openssl)
                .current_dir(dir)
                .args(["x509", "-req", "-in", "server.csr"])
                .args(["-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"])
                .args([
                    "-out",
                    "server.crt",
                    "-days",
                    "3650",
                    "-extfile",
                    "server.ext",
                ]),
        )?;
        // The server refuses a key that group or others can read.
        util::chmod(&dir.join("server.key"), 0o600)?;
        util::chmod(&dir.join("ca.key"), 0o600)?;
        util::chmod(&dir.join("ca.crt"), 0o644)?;
        Ok(dir.join("ca.crt"))
    }

    fn write_config(&self, settings: &[(String, String)], tls: bool) -> Result<()> {
        let socket_dir = self.socket_dir.to_string_lossy().into_owned();
        let mut all: Vec<(&str, &str)> = vec![
            ("listen_addresses", "127.0.0.1"),
            ("unix_socket_directories", &socket_dir),
            ("wal_level", "logical"),
            ("max_replication_slots", "20"),
            ("max_wal_senders", "20"),
            ("max_prepared_transactions", "10"),
            ("fsync", "off"),
            ("shared_buffers", "32MB"),
        ];
        if tls {
            all.extend([
                ("ssl", "on"),
                ("ssl_cert_file", "server.crt"),
                ("ssl_key_file", "server.key"),
            ]);
        }
        all.extend(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())));

        let mut conf = String::from("\n# --- tidewater-testkit ---\n");
        for (name, value) in all {
            let _ = writeln!(conf, "{name} = {}", util::sql_literal(value));
        }
        let conf_path = self.data_dir.join("postgresql.conf");
        let mut existing = fs::read_to_string(&conf_path)
            .map_err(|e| TestkitError::io(format!("reading {}", conf_path.display()), e))?;
        existing.push_str(&conf);
        fs::write(&conf_path, existing)
            .map_err(|e| TestkitError::io(format!("writing {}", conf_path.display()), e))?;

        let tcp_method = if self.password.is_some() {
            "scram-sha-256"
        } else {
            "trust"
        };
        let hba = format!(
            "# TYPE  DATABASE     USER  ADDRESS       METHOD\n\
             local   all          all                 trust\n\
             local   replication  all                 trust\n\
             host    all          all   127.0.0.1/32  {tcp_method}\n\
             host    replication  all   127.0.0.1/32  {tcp_method}\n"
        );
        let hba_path = self.data_dir.join("pg_hba.conf");
        fs::write(&hba_path, hba)
            .map_err(|e| TestkitError::io(format!("writing {}", hba_path.display()), e))
    }

    fn start_server(&self) -> Result<()> {
        let mut cmd = self.pg_command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&self.log_file)
            .args(["-w", "-t", PG_CTL_TIMEOUT_SECS])
            .arg("-o")
            .arg(format!("-p {}", self.port))
            .arg("start");
        match util::run(&mut cmd) {
            Ok(_) => {
                *self.running.lock().unwrap_or_else(|e| e.into_inner()) = true;
                Ok(())
            }
            Err(e) => Err(TestkitError::Startup {
                what: format!("PostgreSQL from {}", self.bins.bin_dir.display()),
                reason: e.to_string(),
                log: self.log_file.clone(),
                log_tail: util::log_tail(&self.log_file, 30),
            }),
        }
    }

    fn bind_failed(&self) -> bool {
        let tail = util::log_tail(&self.log_file, 30);
        tail.contains("could not bind") || tail.contains("Address already in use")
    }

    fn stop_server(&self, mode: &str) -> Result<()> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if !*running {
            return Ok(());
        }
        let mut cmd = self.pg_command("pg_ctl");
        cmd.arg("-D").arg(&self.data_dir).args([
            "-m",
            mode,
            "-w",
            "-t",
            PG_CTL_TIMEOUT_SECS,
            "stop",
        ]);
        util::run(&mut cmd)?;
        *running = false;
        Ok(())
    }

    /// Stops the server with a fast (clean) shutdown, keeping the data directory.
    pub fn stop(&self) -> Result<()> {
        self.stop_server("fast")
    }

    /// Stops the server if it runs, then starts it again on the same port with the same data.
    pub fn restart(&self) -> Result<()> {
        self.stop()?;
        self.start_server()
    }

    /// Whether the server is running (as far as the kit knows).
    pub fn is_running(&self) -> bool {
        *self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TCP host: `"127.0.0.1"`.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The directory holding the server's Unix socket (`.s.PGSQL.<port>`).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server's log file.
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// The directory the PostgreSQL binaries were taken from.
    pub fn bin_dir(&self) -> &Path {
        &self.bins.bin_dir
    }

    /// The server's `server_version_num`, e.g. `150018` or `180004` (queried at start).
    pub fn server_version_num(&self) -> u32 {
        self.version_num
    }

    /// The CA certificate that signed the server certificate, when TLS is on.
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.ca_cert.as_deref()
    }

    /// The user and password set with [`PgClusterBuilder::password`], if any.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.password
            .as_ref()
            .map(|(user, password)| (user.as_str(), password.as_str()))
    }

    /// A TCP connection string for `tokio_postgres::Config`'s parser (also accepted by libpq),
    /// e.g. `host=127.0.0.1 port=5433 user=postgres dbname=app`.
    ///
    /// With [`PgClusterBuilder::password`] it names that user and includes the password, since
    /// every TCP connection then has to authenticate. It never sets `sslmode`.
    pub fn connection_string(&self, db: &str) -> String {
        let mut out = format!("host={} port={}", self.host(), self.port);
        match &self.password {
            Some((user, password)) => {
                let _ = write!(
                    out,
                    " user={} password={}",
                    conninfo_value(user),
                    conninfo_value(password)
                );
            }
            None => {
                let _ = write!(out, " user={ADMIN_USER}");
            }
        }
        let _ = write!(out, " dbname={}", conninfo_value(db));
        out
    }

    /// Runs SQL in database `postgres` with `psql`; see [`psql_db`](Self::psql_db).
    pub fn psql(&self, sql: &str) -> Result<String> {
        self.psql_db("postgres", sql)
    }

    /// Runs SQL (one statement or a script, fed on standard input) in database `db` with
    /// `psql -X -At -v ON_ERROR_STOP=1` as the `postgres` superuser over the Unix socket, and
    /// returns its standard output without the final newline: unaligned rows, columns separated
    /// by `|`. A failure carries psql's standard error.
    pub fn psql_db(&self, db: &str, sql: &str) -> Result<String> {
        let mut cmd = Command::new(&self.bins.psql);
        self.bins.apply_env(&mut cmd, &self.bins.psql);
        cmd.args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.socket_dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                ADMIN_USER,
                "-d",
                db,
                "-f",
                "-",
            ])
            .env_remove("PGPASSWORD")
            .env_remove("PGSERVICE")
            .env_remove("PGOPTIONS");
        let output = util::run_with_input(&mut cmd, Some(sql.as_bytes()))?;
        let mut text = String::from_utf8(output.stdout)
            .map_err(|e| TestkitError::Parse(format!("psql printed non-UTF-8: {e}")))?;
        if text.ends_with('\n') {
            text.pop();
        }
        Ok(text)
    }

    /// A command running one of the cluster's client programs (`pg_recvlogical`,
    /// `pg_dump`, `pgbench`…) from [`bin_dir`](Self::bin_dir), set up to reach this cluster
    /// as the `postgres` superuser over the Unix socket: `PGHOST`, `PGPORT` and `PGUSER` are
    /// set, password and service variables removed, and a bundled `lib` directory put on
    /// `LD_LIBRARY_PATH`. Fails when the program is not there.
    pub fn client_command(&self, program: &str) -> Result<Command> {
        let path = self.bins.bin_dir.join(program);
        if !util::is_executable(&path) {
            return Err(TestkitError::NotFound {
                what: format!("{program} in {}", self.bins.bin_dir.display()),
                hint: INSTALL_HINT.to_owned(),
            });
        }
        let mut cmd = Command::new(&path);
        self.bins.apply_env(&mut cmd, &path);
        cmd.env("PGHOST", &self.socket_dir)
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", ADMIN_USER)
            .env_remove("PGPASSWORD")
            .env_remove("PGSERVICE")
            .env_remove("PGOPTIONS");
        Ok(cmd)
    }

    /// Creates a database.
    pub fn create_database(&self, name: &str) -> Result<()> {
        self.psql(&format!("CREATE DATABASE {}", quote_ident(name)))
            .map(drop)
    }

    /// Connects to database `db` as the `postgres` superuser over the Unix socket (no password
    /// needed, whatever the TCP settings), spawning the connection task on the current Tokio
    /// runtime. Must be called within a Tokio runtime.
    pub async fn connect(&self, db: &str) -> Result<tokio_postgres::Client> {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(&self.socket_dir)
            .port(self.port)
            .user(ADMIN_USER)
            .dbname(db)
            .application_name("tidewater-testkit");
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("tidewater-testkit: PostgreSQL connection ended with an error: {e}");
            }
        });
        Ok(client)
    }

    /// Creates a logical replication slot using `pgoutput` (`two_phase` decodes prepared
    /// transactions at PREPARE time) and returns its consistent-point LSN.
    pub fn create_logical_slot(&self, db: &str, slot: &str, two_phase: bool) -> Result<String> {
        self.psql_db(
            db,
            &format!(
                "SELECT lsn FROM pg_create_logical_replication_slot({}, 'pgoutput', false, {two_phase})",
                util::sql_literal(slot)
            ),
        )
    }

    /// Reads pending pgoutput messages from `slot` without consuming them, via
    /// `pg_logical_slot_peek_binary_changes`, in a session with [`CAPTURE_SESSION`]'s settings
    /// (the text-format contract of the replication connection).
    ///
    /// `options` are pgoutput's options as name/value pairs and must include
    /// `publication_names`; `proto_version` defaults to `1` when absent. For example
    /// `&[("publication_names", "pub"), ("proto_version", "2"), ("streaming", "on")]`.
    pub fn peek_binary_changes(
        &self,
        db: &str,
        slot: &str,
        options: &[(&str, &str)],
    ) -> Result<Vec<CapturedChange>> {
        self.binary_changes("pg_logical_slot_peek_binary_changes", db, slot, options)
    }

    /// Like [`peek_binary_changes`](Self::peek_binary_changes), but consumes the messages
    /// (`pg_logical_slot_get_binary_changes`).
    pub fn get_binary_changes(
        &self,
        db: &str,
        slot: &str,
        options: &[(&str, &str)],
    ) -> Result<Vec<CapturedChange>> {
        self.binary_changes("pg_logical_slot_get_binary_changes", db, slot, options)
    }

    fn binary_changes(
        &self,
        function: &str,
        db: &str,
        slot: &str,
        options: &[(&str, &str)],
    ) -> Result<Vec<CapturedChange>> {
        let mut args = vec![
            util::sql_literal(slot),
            "NULL".to_owned(),
            "NULL".to_owned(),
        ];
        if !options.iter().any(|(name, _)| *name == "proto_version") {
            args.push("'proto_version'".to_owned());
            args.push("'1'".to_owned());
        }
        for (name, value) in options {
            args.push(util::sql_literal(name));
            args.push(util::sql_literal(value));
        }
        let sql = format!(
            "{CAPTURE_SESSION}SELECT lsn, xid, encode(data, 'hex') FROM {function}({})",
            args.join(", ")
        );
        let output = self.psql_db(db, &sql)?;
        output
            .lines()
            .filter(|line| !line.is_empty())
            .map(parse_change_row)
            .collect()
    }

    fn password_user_is_admin(&self) -> bool {
        self.password
            .as_ref()
            .is_some_and(|(user, _)| user == ADMIN_USER)
    }
}

fn parse_change_row(line: &str) -> Result<CapturedChange> {
    let mut fields = line.splitn(3, '|');
    let (Some(lsn), Some(xid), Some(hex)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(TestkitError::Parse(format!(
            "expected `lsn|xid|data` from psql, got {line:?}"
        )));
    };
    let xid = xid
        .parse()
        .map_err(|_| TestkitError::Parse(format!("xid is not a number in {line:?}")))?;
    Ok(CapturedChange {
        lsn: lsn.to_owned(),
        xid,
        data: util::decode_hex(hex)?,
    })
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Err(e) = self.stop_server("immediate") {
            eprintln!(
                "tidewater-testkit: stopping PostgreSQL in {} failed: {e}",
                self.data_dir.display()
            );
        }
        // `root` (the temporary directory) is removed when the fields drop, after this.
    }
}

/// Quotes an SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a value for a `key=value` connection string when needed.
fn conninfo_value(value: &str) -> String {
    if !value.is_empty() && !value.contains(|c: char| c.is_whitespace() || c == '\'' || c == '\\') {
        return value.to_owned();
    }
    let mut out = String::from("'");
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn parses_change_rows() {
        let change = parse_change_row("0/1A2B3C|745|42000000").unwrap();
        assert_eq!(change.lsn, "0/1A2B3C");
        assert_eq!(change.xid, 745);
        assert_eq!(change.data, vec![b'B', 0, 0, 0]);
        assert!(parse_change_row("0/1|x|00").is_err());
        assert!(parse_change_row("garbage").is_err());
    }

    #[test]
    fn quotes_conninfo_values() {
        assert_eq!(conninfo_value("app"), "app");
        assert_eq!(conninfo_value("a b"), "'a b'");
        assert_eq!(conninfo_value("it's"), r"'it\'s'");
        assert_eq!(conninfo_value(""), "''");
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }
}
