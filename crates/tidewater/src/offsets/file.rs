//! [`FileOffsetStore`]: offsets in a local file of JSON lines, replaced atomically.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::connect::{key_json, key_matches};
use super::{OffsetError, OffsetStore, SourceOffset};

/// An offset store in a local file (`offset.storage.file.filename`).
///
/// The file holds one JSON object per line, `{"key":<key>,"value":<value>}`, where `key` is
/// Kafka Connect's offset key (`["<connector>",{"server":"<topic.prefix>"}]`) and `value`
/// the offset object Debezium writes (or `null`, a tombstone). Several connectors may share
/// a file: a store rewrites its own line and keeps the others as they are.
///
/// * A missing file loads as `None`.
/// * A file that is not valid JSON lines, or whose line for this connector is not a valid
///   offset, fails [`load`](OffsetStore::load) with [`OffsetError::Malformed`] naming the
///   file, the line and what is wrong; nothing is silently ignored. A file that is not
///   valid JSON lines fails [`store`](OffsetStore::store) too, and is left as it is; a bad
///   value for this connector alone is replaced by the one stored.
/// * [`store`](OffsetStore::store) writes a temporary file in the same directory, syncs it,
///   renames it over the file and syncs the directory: after a crash the file holds either
///   the old or the new offsets, never a mix.
///
/// Only one process may write a given file at a time.
#[derive(Debug, Clone)]
pub struct FileOffsetStore {
    path: PathBuf,
    connector_name: String,
    topic_prefix: String,
}

impl FileOffsetStore {
    /// A store in the file at `path` for the connector `connector_name` whose
    /// `topic.prefix` is `topic_prefix`. Nothing is read or written until
    /// [`load`](OffsetStore::load) or [`store`](OffsetStore::store).
    pub fn new(
        path: impl Into<PathBuf>,
        connector_name: impl Into<String>,
        topic_prefix: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            connector_name: connector_name.into(),
            topic_prefix: topic_prefix.into(),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// One line of the file.
struct Entry {
    line: usize,
    key: Value,
    value: Value,
}

fn io_error(path: &Path, operation: &'static str, source: std::io::Error) -> OffsetError {
    OffsetError::Io {
        path: path.to_owned(),
        operation,
        source,
    }
}

fn malformed(path: &Path, line: usize, reason: String) -> OffsetError {
    OffsetError::Malformed {
        location: format!("{} line {line}", path.display()),
        reason,
    }
}

/// The file's entries; an empty list when it does not exist.
fn read_entries(path: &Path) -> Result<Vec<Entry>, OffsetError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(path, "read", e)),
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        malformed(
            path,
            1 + e
                .as_bytes()
                .iter()
                .take(e.utf8_error().valid_up_to())
                .filter(|&&b| b == b'\n')
                .count(),
            "not UTF-8 text".to_owned(),
        )
    })?;
    let mut entries = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let parsed: Value = serde_json::from_str(raw)
            .map_err(|e| malformed(path, line, format!("not JSON: {e}")))?;
        let Value::Object(mut object) = parsed else {
            return Err(malformed(
                path,
                line,
                "expected an object {\"key\": ..., \"value\": ...}".to_owned(),
            ));
        };
        let key = object
            .remove("key")
            .ok_or_else(|| malformed(path, line, "missing \"key\"".to_owned()))?;
        if !key.is_array() {
            return Err(malformed(
                path,
                line,
                format!(
                    "\"key\" must be Kafka Connect's offset key [name, partition], found {key}"
                ),
            ));
        }
        let value = object
            .remove("value")
            .ok_or_else(|| malformed(path, line, "missing \"value\"".to_owned()))?;
        entries.push(Entry { line, key, value });
    }
    Ok(entries)
}

fn load(path: &Path, name: &str, prefix: &str) -> Result<Option<SourceOffset>, OffsetError> {
    let entries = read_entries(path)?;
    let Some(entry) = entries
        .iter()
        .rev()
        .find(|e| key_matches(&e.key, name, prefix))
    else {
        return Ok(None);
    };
    if entry.value.is_null() {
        return Ok(None);
    }
    SourceOffset::parse_connect_value(&entry.value)
        .map(Some)
        .map_err(|reason| malformed(path, entry.line, reason))
}

fn entry_line(key: Value, value: Value) -> String {
    let mut object = Map::new();
    object.insert("key".to_owned(), key);
    object.insert("value".to_owned(), value);
    Value::Object(object).to_string()
}

fn store(path: &Path, name: &str, prefix: &str, offset: &SourceOffset) -> Result<(), OffsetError> {
    let entries = read_entries(path)?;
    let mut text = String::new();
    for entry in entries {
        if key_matches(&entry.key, name, prefix) {
            continue;
        }
        text.push_str(&entry_line(entry.key, entry.value));
        text.push('\n');
    }
    text.push_str(&entry_line(
        key_json(name, prefix),
        offset.to_connect_value(),
    ));
    text.push('\n');
    replace_atomically(path, text.as_bytes())
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Writes `contents` to a temporary file beside `path`, syncs it, renames it over `path`
/// and syncs the directory.
pub(crate) fn replace_atomically(path: &Path, contents: &[u8]) -> Result<(), OffsetError> {
    let dir = parent_dir(path);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| OffsetError::Malformed {
            location: path.display().to_string(),
            reason: "the offset file path names no file".to_owned(),
        })?;
    let temp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(contents)?;
        file.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&temp);
        return Err(io_error(&temp, "write", e));
    }
    if let Err(e) = fs::rename(&temp, path) {
        let _ = fs::remove_file(&temp);
        return Err(io_error(path, "rename", e));
    }
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(&dir, "sync directory", e))
}

async fn blocking<T: Send + 'static>(
    path: &Path,
    work: impl FnOnce() -> Result<T, OffsetError> + Send + 'static,
) -> Result<T, OffsetError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        io_error(
            path,
            "run file task",
            std::io::Error::other(format!("the file task failed: {e}")),
        )
    })?
}

impl OffsetStore for FileOffsetStore {
    async fn load(&mut self) -> Result<Option<SourceOffset>, OffsetError> {
        let this = self.clone();
        blocking(&self.path, move || {
            load(&this.path, &this.connector_name, &this.topic_prefix)
        })
        .await
    }

    async fn store(&mut self, offset: &SourceOffset) -> Result<(), OffsetError> {
        let this = self.clone();
        let offset = offset.clone();
        blocking(&self.path, move || {
            store(
                &this.path,
                &this.connector_name,
                &this.topic_prefix,
                &offset,
            )
        })
        .await
    }
}
