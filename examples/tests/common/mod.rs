//! Running the example programs from tests: building them once, capturing
//! their output, signals and timeouts, and a broker shared by the tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers; not every test uses every helper"
)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tidewater_testkit::Broker;

/// The directory of the example binaries of this build (`target/<profile>/examples`),
/// built with `cargo build --examples` once per test process (a no-op when they are up to
/// date; `cargo test` of the whole package builds them already).
pub fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = BUILT.get_or_init(build_examples).clone();
    let dir = dir.unwrap_or_else(|e| panic!("building the examples failed: {e}"));
    let path = dir.join(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

fn build_examples() -> Result<PathBuf, String> {
    // This test binary is target/<profile>/deps/<name>-<hash>.
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("the test binary is not in target/<profile>/deps")?
        .to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "tidewater-examples", "--examples"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let output = cmd.output().map_err(|e| format!("running cargo: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(profile_dir.join("examples"))
}

/// A running example with its stdout and stderr collected as they come; killed
/// when dropped while still running.
pub struct Running {
    name: String,
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

/// How a run ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0_u8; 8192];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    })
}

impl Running {
    /// Starts example `name` with `args`, `envs` added to its environment, in `dir`
    /// (or the current directory).
    pub fn start(name: &str, args: &[&str], envs: &[(&str, &str)], dir: Option<&Path>) -> Running {
        let mut cmd = Command::new(example(name));
        cmd.args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting example {name}: {e}"));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), Arc::clone(&stdout)),
            collect(child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        Running {
            name: name.to_owned(),
            child,
            stdout,
            stderr,
            readers,
        }
    }

    /// What the example wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// What the example wrote to stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    /// Waits until stderr holds a line containing `needle` and returns that line;
    /// fails after `timeout` or when the example exits first.
    pub fn wait_for_stderr_line(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let stderr = self.stderr();
            if let Some(line) = stderr.lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before printing {needle:?}; stderr:\n{stderr}\nstdout:\n{}",
                    self.name,
                    self.stdout()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} printed no {needle:?} within {timeout:?}; stderr:\n{stderr}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends a signal (`TERM`, `INT`) to the example.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -{signal} {}", self.child.id());
    }

    /// Waits for the example to exit (killing it after `timeout`, which fails the
    /// test) and returns its status and output.
    pub fn finish(mut self, timeout: Duration) -> Finished {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the example") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{} did not exit within {timeout:?}; stderr:\n{}\nstdout:\n{}",
                    self.name,
                    self.stderr(),
                    self.stdout()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        Finished {
            status,
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs example `name` to its end (at most `timeout`).
pub fn run(name: &str, args: &[&str], timeout: Duration) -> Finished {
    Running::start(name, args, &[], None).finish(timeout)
}

/// A broker shared by the tests of this binary: started by the first test that
/// asks, stopped when the last one holding it finishes.
pub fn broker() -> Arc<Broker> {
    static SHARED: Mutex<Weak<Broker>> = Mutex::new(Weak::new());
    let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(broker) = slot.upgrade() {
        return broker;
    }
    let broker = Arc::new(
        Broker::start().unwrap_or_else(|e| panic!("starting the tansu broker for the test: {e}")),
    );
    *slot = Arc::downgrade(&broker);
    broker
}

/// Parses a stream of JSON documents (as the pretty sink prints them).
pub fn json_documents(text: &str) -> Vec<serde_json::Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("not a stream of JSON documents ({e}):\n{text}"))
}

/// JSON of a Kafka key or value (`Null` for a Kafka null).
pub fn json_of(bytes: Option<&[u8]>) -> serde_json::Value {
    match bytes {
        Some(b) => serde_json::from_slice(b)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(b))),
        None => serde_json::Value::Null,
    }
}
