//! Throwaway Kafka-compatible brokers ([tansu](https://crates.io/crates/tansu)).

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::error::{Result, TestkitError};
use crate::util;

/// Environment variable naming the `tansu` executable to use.
pub const TANSU_ENV: &str = "TIDEWATER_TANSU";

/// The command that installs the broker.
pub const TANSU_INSTALL: &str = "cargo install tansu --locked --features dynostore,libsql";

/// How long [`Broker::start`] waits for the broker to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a stopping broker gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The SQLite file of a persistent broker, relative to its working directory.
const SQLITE_URL: &str = "sqlite://tansu.db";

/// Environment variables tansu reads as defaults for its options; cleared so that the
/// caller's environment cannot change the broker.
const TANSU_ENV_OPTIONS: &[&str] = &[
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "DATA_LAKE",
];

/// Where a broker keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerStorage {
    /// In memory (`memory://tansu/`): lost when the broker stops.
    Memory,
    /// In a SQLite file in the broker's temporary directory (`sqlite://tansu.db`): survives
    /// [`Broker::restart`].
    Sqlite,
}

impl BrokerStorage {
    fn url(self) -> &'static str {
        match self {
            Self::Memory => "memory://tansu/",
            Self::Sqlite => SQLITE_URL,
        }
    }
}

/// A tansu broker on a random loopback port, stopped when dropped.
///
/// It runs `tansu broker --listener-url tcp://127.0.0.1:PORT --advertised-listener-url
/// tcp://127.0.0.1:PORT --storage-engine URL` with its working directory and log file
/// (`broker.log`) in a fresh temporary directory.
///
/// The executable is taken from `TIDEWATER_TANSU`, else `tansu` on `PATH`, else
/// `$CARGO_HOME/bin` (`~/.cargo/bin`). When none is found, starting fails (it never skips)
/// with the install command.
#[derive(Debug)]
pub struct Broker {
    tansu: PathBuf,
    storage: BrokerStorage,
    port: u16,
    log_file: PathBuf,
    child: Mutex<Option<Child>>,
    /// Declared last: removed after `Drop::drop` has stopped the broker.
    dir: TempDir,
}

impl Broker {
    /// Starts a broker with in-memory storage.
    pub fn start() -> Result<Self> {
        Self::start_with(BrokerStorage::Memory)
    }

    /// Starts a broker storing its data in SQLite, so that [`restart`](Self::restart) keeps it.
    pub fn start_persistent() -> Result<Self> {
        Self::start_with(BrokerStorage::Sqlite)
    }

    /// Starts a broker with the given storage. Blocking; it never enters an async runtime.
    pub fn start_with(storage: BrokerStorage) -> Result<Self> {
        let tansu = find_tansu()?;
        let dir = tempfile::Builder::new()
            .prefix("tidewater-broker-")
            .tempdir()
            .map_err(|e| TestkitError::io("creating a temporary directory", e))?;
        let log_file = dir.path().join("broker.log");
        let mut broker = Self {
            tansu,
            storage,
            port: 0,
            log_file,
            child: Mutex::new(None),
            dir,
        };
        // The port is picked free but released before the broker binds it; retry on a race.
        let mut attempt = 0;
        loop {
            attempt += 1;
            broker.port = util::free_port()?;
            match broker.launch() {
                Ok(()) => return Ok(broker),
                Err(e) if attempt < 3 && broker.bind_failed() => drop(e),
                Err(e) => return Err(e),
            }
        }
    }

    fn launch(&self) -> Result<()> {
        let listener = format!("tcp://127.0.0.1:{}", self.port);
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log_file)
            .map_err(|e| TestkitError::io(format!("opening {}", self.log_file.display()), e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| TestkitError::io("duplicating the log file handle", e))?;
        let mut cmd = Command::new(&self.tansu);
        cmd.arg("broker")
            .args(["--listener-url", &listener])
            .args(["--advertised-listener-url", &listener])
            .args(["--storage-engine", self.storage.url()])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        for name in TANSU_ENV_OPTIONS {
            cmd.env_remove(name);
        }
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "warn");
        }
        let shown = util::describe(&cmd);
        let child = cmd.spawn().map_err(|e| util::spawn_error(&shown, e))?;
        *self.child.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);

        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.exited()? {
                self.take_child();
                return Err(self.startup_error(format!("`{shown}` exited with {status}")));
            }
            let last_error = match api_versions_probe(addr, Duration::from_secs(2)) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                self.kill();
                return Err(self.startup_error(format!(
                    "no Kafka ApiVersions answer on {addr} within {}s (last error: {last_error})",
                    READY_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn startup_error(&self, reason: String) -> TestkitError {
        TestkitError::Startup {
            what: format!("tansu broker ({})", self.tansu.display()),
            reason,
            log: self.log_file.clone(),
            log_tail: util::log_tail(&self.log_file, 30),
        }
    }

    fn bind_failed(&self) -> bool {
        let tail = util::log_tail(&self.log_file, 30);
        tail.contains("Address already in use") || tail.contains("AddrInUse")
    }

    fn exited(&self) -> Result<Option<std::process::ExitStatus>> {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(child) => child
                .try_wait()
                .map_err(|e| TestkitError::io("checking on the broker process", e)),
            None => Ok(None),
        }
    }

    fn take_child(&self) -> Option<Child> {
        self.child.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn kill(&self) {
        if let Some(mut child) = self.take_child() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the broker: SIGTERM, then SIGKILL if it has not exited within a few seconds.
    /// With [`BrokerStorage::Sqlite`] the data stays for [`restart`](Self::restart).
    pub fn stop(&self) -> Result<()> {
        let Some(mut child) = self.take_child() else {
            return Ok(());
        };
        // Ask politely first (std can only SIGKILL), so the storage can close cleanly.
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOP_GRACE;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => break,
            }
        }
        let _ = child.kill();
        child
            .wait()
            .map(drop)
            .map_err(|e| TestkitError::io("waiting for the broker to exit", e))
    }

    /// Stops the broker and starts it again on the same port with the same storage (in-memory
    /// data is lost; SQLite data is kept).
    pub fn restart(&self) -> Result<()> {
        self.stop()?;
        self.launch()
    }

    /// Whether the broker process is running.
    pub fn is_running(&self) -> bool {
        matches!(self.exited(), Ok(None)) && self.child.lock().is_ok_and(|c| c.is_some())
    }

    /// The bootstrap address, `127.0.0.1:PORT`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The storage the broker uses.
    pub fn storage(&self) -> BrokerStorage {
        self.storage
    }

    /// The broker's working directory (holding the SQLite file for persistent storage).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The broker's log file (its standard output and error).
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// The tansu executable in use.
    pub fn executable(&self) -> &Path {
        &self.tansu
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Locates the `tansu` executable (see [`Broker`]).
pub fn find_tansu() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(TANSU_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        if util::is_executable(&path) {
            return Ok(path);
        }
        return Err(TestkitError::NotFound {
            what: format!("tansu at {} (from {TANSU_ENV})", path.display()),
            hint: format!("install it with `{TANSU_INSTALL}` or run scripts/setup.sh"),
        });
    }
    if let Some(path) = util::which("tansu") {
        return Ok(path);
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    if let Some(path) = cargo_home.map(|home| home.join("bin").join("tansu"))
        && util::is_executable(&path)
    {
        return Ok(path);
    }
    Err(TestkitError::NotFound {
        what: "the tansu broker (not on PATH nor in ~/.cargo/bin)".to_owned(),
        hint: format!("install it with `{TANSU_INSTALL}` or run scripts/setup.sh"),
    })
}

/// Sends a Kafka ApiVersions v0 request and checks for a matching, error-free response.
fn api_versions_probe(addr: SocketAddr, timeout: Duration) -> io::Result<()> {
    const API_VERSIONS: i16 = 18;
    const CORRELATION_ID: i32 = 0x7769_6465;
    const CLIENT_ID: &[u8] = b"tidewater-testkit";

    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidData, msg);

    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;

    // Request header v1: api_key, api_version, correlation_id, client_id (int16-length
    // string); the v0 body is empty.
    let mut request = Vec::with_capacity(32);
    request.extend_from_slice(&API_VERSIONS.to_be_bytes());
    request.extend_from_slice(&0_i16.to_be_bytes());
    request.extend_from_slice(&CORRELATION_ID.to_be_bytes());
    let client_id_len = i16::try_from(CLIENT_ID.len()).map_err(|e| invalid(e.to_string()))?;
    request.extend_from_slice(&client_id_len.to_be_bytes());
    request.extend_from_slice(CLIENT_ID);
    let size = i32::try_from(request.len()).map_err(|e| invalid(e.to_string()))?;
    let mut frame = size.to_be_bytes().to_vec();
    frame.extend_from_slice(&request);
    stream.write_all(&frame)?;

    // Response: size, correlation_id, then the v0 body: error_code, [api_key, min, max].
    let mut size = [0_u8; 4];
    stream.read_exact(&mut size)?;
    let size = i32::from_be_bytes(size);
    let size = usize::try_from(size)
        .ok()
        .filter(|n| (6..=1 << 20).contains(n))
        .ok_or_else(|| invalid(format!("implausible response size {size}")))?;
    let mut body = vec![0_u8; size];
    stream.read_exact(&mut body)?;
    let field = |range: std::ops::Range<usize>| {
        body.get(range)
            .ok_or_else(|| invalid("short response".to_owned()))
    };
    let correlation = i32::from_be_bytes(
        field(0..4)?
            .try_into()
            .map_err(|_| invalid("short response".to_owned()))?,
    );
    if correlation != CORRELATION_ID {
        return Err(invalid(format!(
            "correlation id {correlation:#x} instead of {CORRELATION_ID:#x}"
        )));
    }
    let error_code = i16::from_be_bytes(
        field(4..6)?
            .try_into()
            .map_err(|_| invalid("short response".to_owned()))?,
    );
    if error_code != 0 {
        return Err(invalid(format!("ApiVersions error code {error_code}")));
    }
    Ok(())
}
