//! Small helpers shared by the server wrappers: processes, ports, users, files, hex.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::error::{Result, TestkitError};

/// Whether this process runs with effective uid 0, read from `/proc/self/status`.
pub(crate) fn is_root() -> bool {
    let Ok(status) = fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|effective| effective == "0")
}

/// Asks the kernel for a currently free TCP port on 127.0.0.1.
///
/// The port is released before returning, so another process could take it in between; callers
/// retry on a bind failure.
pub(crate) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| TestkitError::io("binding a probe socket on 127.0.0.1", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| TestkitError::io("reading the probe socket's address", e))?
        .port();
    Ok(port)
}

/// The last `lines` lines of a (log) file, or a note saying why there are none.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    const MAX_BYTES: u64 = 64 * 1024;
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) => return format!("(cannot read {}: {e})", path.display()),
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX_BYTES {
        let _ = file.seek(SeekFrom::Start(len - MAX_BYTES));
    }
    let mut bytes = Vec::new();
    if let Err(e) = file.read_to_end(&mut bytes) {
        return format!("(cannot read {}: {e})", path.display());
    }
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    let tail = all.get(start..).unwrap_or_default().join("\n");
    if tail.is_empty() {
        "(empty)".to_owned()
    } else {
        tail
    }
}

/// A command line for messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut out = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        out.push(' ');
        let arg = arg.to_string_lossy();
        if arg.contains(char::is_whitespace) || arg.is_empty() {
            let _ = write!(out, "'{arg}'");
        } else {
            out.push_str(&arg);
        }
    }
    out
}

/// Runs a command to completion, feeding it `stdin`, and fails unless it exits with status 0.
pub(crate) fn run_with_input(cmd: &mut Command, stdin: Option<&[u8]>) -> Result<Output> {
    use std::io::Write as _;

    let shown = describe(cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| spawn_error(&shown, e))?;
    let writer = match (stdin, child.stdin.take()) {
        (Some(input), Some(mut pipe)) => {
            let input = input.to_vec();
            // A separate thread, so a child that fills its stdout before reading all of its
            // input cannot deadlock us.
            Some(std::thread::spawn(move || pipe.write_all(&input)))
        }
        _ => None,
    };
    let output = child
        .wait_with_output()
        .map_err(|e| TestkitError::io(format!("waiting for `{shown}`"), e))?;
    if let Some(writer) = writer {
        // A broken pipe here means the child exited early; its status tells the real story.
        let _ = writer.join();
    }
    if output.status.success() {
        Ok(output)
    } else {
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !stdout.trim().is_empty() {
            text.push_str("\n--- stdout ---\n");
            text.push_str(&stdout);
        }
        Err(TestkitError::Command {
            command: shown,
            status: output.status.to_string(),
            output: text,
        })
    }
}

/// [`run_with_input`] without input.
pub(crate) fn run(cmd: &mut Command) -> Result<Output> {
    run_with_input(cmd, None)
}

pub(crate) fn spawn_error(shown: &str, e: std::io::Error) -> TestkitError {
    TestkitError::io(format!("starting `{shown}`"), e)
}

/// Finds an executable by name on `PATH`.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// How server programs are run: directly, or (when we are root) as an unprivileged user,
/// because PostgreSQL refuses to run as root.
#[derive(Debug, Clone)]
pub(crate) struct RunAs {
    /// `Some((name, uid, gid))` when commands are switched to that user.
    user: Option<(String, u32, u32)>,
    /// The tool used to switch user.
    switcher: PathBuf,
}

impl RunAs {
    /// Runs as the current user, or as `user` when the current user is root.
    pub(crate) fn unprivileged(user: &str) -> Result<Self> {
        if !is_root() {
            return Ok(Self {
                user: None,
                switcher: PathBuf::new(),
            });
        }
        let uid = id_of(user, "-u")?;
        let gid = id_of(user, "-g")?;
        let switcher = which("setpriv")
            .or_else(|| which("runuser"))
            .ok_or_else(|| TestkitError::NotFound {
                what: "setpriv or runuser (to run PostgreSQL as a non-root user)".to_owned(),
                hint: "install Debian's util-linux package".to_owned(),
            })?;
        Ok(Self {
            user: Some((user.to_owned(), uid, gid)),
            switcher,
        })
    }

    /// A command that runs `program` as the selected user.
    pub(crate) fn command(&self, program: impl AsRef<OsStr>) -> Command {
        match &self.user {
            None => Command::new(program),
            Some((name, _, _)) => {
                let mut cmd = Command::new(&self.switcher);
                if self.switcher.ends_with("setpriv") {
                    cmd.arg(format!("--reuid={name}"))
                        .arg(format!("--regid={name}"))
                        .arg("--init-groups");
                } else {
                    cmd.arg("-u").arg(name);
                }
                cmd.arg("--").arg(program);
                cmd
            }
        }
    }

    /// Gives `path` (recursively) to the selected user; a no-op when not switching users.
    pub(crate) fn chown_tree(&self, path: &Path) -> Result<()> {
        let Some((_, uid, gid)) = &self.user else {
            return Ok(());
        };
        chown_recursive(path, *uid, *gid)
    }
}

fn id_of(user: &str, flag: &str) -> Result<u32> {
    let output = Command::new("id")
        .arg(flag)
        .arg(user)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| TestkitError::io("running `id`", e))?;
    if !output.status.success() {
        return Err(TestkitError::NotFound {
            what: format!("system user `{user}`"),
            hint: "PostgreSQL cannot run as root; run scripts/setup.sh (installing Debian's \
                   postgresql package creates the user) or `useradd --system postgres`"
                .to_owned(),
        });
    }
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|_| TestkitError::Parse(format!("`id {flag} {user}` printed a non-number")))
}

fn chown_recursive(path: &Path, uid: u32, gid: u32) -> Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .map_err(|e| TestkitError::io(format!("chown {}", path.display()), e))?;
    let meta = fs::symlink_metadata(path)
        .map_err(|e| TestkitError::io(format!("stat {}", path.display()), e))?;
    if meta.is_dir() {
        let entries = fs::read_dir(path)
            .map_err(|e| TestkitError::io(format!("listing {}", path.display()), e))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| TestkitError::io(format!("listing {}", path.display()), e))?;
            chown_recursive(&entry.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// Sets a path's permission bits.
pub(crate) fn chmod(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| TestkitError::io(format!("chmod {mode:o} {}", path.display()), e))
}

/// Decodes a hexadecimal string (either case, even length).
pub(crate) fn decode_hex(text: &str) -> Result<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err(TestkitError::Parse(format!(
            "hex string of odd length {}",
            bytes.len()
        )));
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => match (nibble(*hi), nibble(*lo)) {
                (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
                _ => Err(TestkitError::Parse(format!(
                    "not a hex digit pair: {:?}",
                    String::from_utf8_lossy(pair)
                ))),
            },
            _ => Err(TestkitError::Parse("hex chunking failed".to_owned())),
        })
        .collect()
}

/// Encodes bytes as lowercase hexadecimal.
pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Quotes a string as an SQL literal.
pub(crate) fn sql_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn hex_round_trip() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = encode_hex(&bytes);
        assert_eq!(decode_hex(&text).unwrap(), bytes);
        assert_eq!(
            decode_hex("DEADbeef").unwrap(),
            vec![0xde, 0xad, 0xbe, 0xef]
        );
        assert!(decode_hex("abc").is_err());
        assert!(decode_hex("zz").is_err());
    }

    #[test]
    fn literal_quoting() {
        assert_eq!(sql_literal("it's"), "'it''s'");
    }
}
