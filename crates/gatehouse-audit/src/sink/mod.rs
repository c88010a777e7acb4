//! Sinks: where chained rows are stored. The writer computes the chain once and hands the same
//! rows to every sink.

use crate::chain::{Anchor, ChainedRecord, Checkpoint, Hash};
use std::path::PathBuf;

pub mod jsonl;
pub mod otlp;
pub mod postgres;
pub mod sqlite;
pub mod stdout;

/// A sink failure.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// I/O or database error (message never holds credentials or event contents).
    #[error("{0}")]
    Io(String),
    /// A row with this seq is already stored with a different hash: another writer appended.
    #[error("chain conflict at seq {0}: another writer appended to this log")]
    Conflict(u64),
}

/// The end of a stored chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tail {
    /// Last seq.
    pub seq: u64,
    /// Its hash.
    pub hash: Hash,
}

/// A place chained rows go. Writes must be idempotent per seq: a row already stored with the
/// same hash is skipped (rows are replayed from the spool after a failure).
pub trait Sink: Send {
    /// Stable id (kind and target), used to name the sink's spool file. Never holds secrets.
    fn id(&self) -> &str;
    /// Stores rows (in seq order) durably before returning.
    fn write(&mut self, rows: &[ChainedRecord]) -> Result<(), SinkError>;
    /// Stores a signed checkpoint.
    fn checkpoint(&mut self, cp: &Checkpoint) -> Result<(), SinkError>;
    /// The last stored row, when the sink can read back.
    fn tail(&mut self) -> Result<Option<Tail>, SinkError> {
        Ok(None)
    }
    /// Deletes rows whose timestamp is before `cutoff` (RFC 3339), keeping at least the last
    /// row, and stores `anchor(first_kept_seq, its prev_hash)`. Sinks that cannot delete ignore it.
    fn retain(
        &mut self,
        _cutoff: &str,
        _anchor: &mut dyn FnMut(u64, &Hash) -> Anchor,
    ) -> Result<u64, SinkError> {
        Ok(0)
    }
}

/// Which sink to open. `Debug` never shows a PostgreSQL URL (it may hold a password).
#[derive(Clone, PartialEq)]
pub enum SinkSpec {
    /// SQLite file (WAL, STRICT tables).
    Sqlite(PathBuf),
    /// PostgreSQL: connection URL and schema for the tables.
    Postgres {
        /// Connection URL (a secret: never logged).
        url: String,
        /// Schema (`[a-z_][a-z0-9_]*`); created when missing.
        schema: String,
    },
    /// JSON lines, rotated when a file would exceed `max_bytes` (0 = never).
    Jsonl {
        /// The active file; rotated files get `.1`, `.2`, … appended.
        path: PathBuf,
        /// Rotation size.
        max_bytes: u64,
    },
    /// JSON lines on standard output.
    Stdout,
    /// OpenTelemetry logs over OTLP/HTTP (JSON) to `{endpoint}/v1/logs`; see [`otlp`].
    Otlp {
        /// Collector base URL (`http://127.0.0.1:4318`); `/v1/logs` is appended.
        endpoint: String,
        /// Extra request headers, e.g. a collector API key (secrets: values never shown).
        headers: Vec<(String, String)>,
        /// Per-request timeout (connect and answer).
        timeout: std::time::Duration,
    },
    /// A sink supplied by the caller (tests, embedding).
    Custom(SharedSink),
}

/// A caller-supplied sink behind a mutex, so a [`SinkSpec`] stays `Clone`.
#[derive(Clone)]
pub struct SharedSink(pub std::sync::Arc<std::sync::Mutex<Box<dyn Sink>>>);

impl std::fmt::Debug for SharedSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSink")
    }
}

impl PartialEq for SharedSink {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

struct Shared {
    id: String,
    inner: SharedSink,
}

impl Sink for Shared {
    fn id(&self) -> &str {
        &self.id
    }
    fn write(&mut self, rows: &[ChainedRecord]) -> Result<(), SinkError> {
        self.inner
            .0
            .lock()
            .map_err(|_| SinkError::Io("sink lock poisoned".into()))?
            .write(rows)
    }
    fn checkpoint(&mut self, cp: &Checkpoint) -> Result<(), SinkError> {
        self.inner
            .0
            .lock()
            .map_err(|_| SinkError::Io("sink lock poisoned".into()))?
            .checkpoint(cp)
    }
    fn tail(&mut self) -> Result<Option<Tail>, SinkError> {
        self.inner
            .0
            .lock()
            .map_err(|_| SinkError::Io("sink lock poisoned".into()))?
            .tail()
    }
}

impl std::fmt::Debug for SinkSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SinkSpec::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            SinkSpec::Postgres { schema, .. } => f
                .debug_struct("Postgres")
                .field("url", &"<redacted>")
                .field("schema", schema)
                .finish(),
            SinkSpec::Jsonl { path, max_bytes } => f
                .debug_struct("Jsonl")
                .field("path", path)
                .field("max_bytes", max_bytes)
                .finish(),
            SinkSpec::Stdout => f.write_str("Stdout"),
            SinkSpec::Otlp {
                endpoint,
                headers,
                timeout,
            } => f
                .debug_struct("Otlp")
                .field("endpoint", endpoint)
                .field(
                    "headers",
                    &headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
                )
                .field("timeout", timeout)
                .finish(),
            SinkSpec::Custom(_) => f.write_str("Custom"),
        }
    }
}

fn short_hash(s: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(s.as_bytes())[..6])
}

impl SinkSpec {
    /// Opens the sink. `strict` asks for full durability (fsync per batch).
    pub fn open(&self, strict: bool) -> Result<Box<dyn Sink>, SinkError> {
        Ok(match self {
            SinkSpec::Sqlite(p) => Box::new(sqlite::SqliteSink::open(p, strict)?),
            SinkSpec::Postgres { url, schema } => {
                Box::new(postgres::PostgresSink::connect(url, schema)?)
            }
            SinkSpec::Jsonl { path, max_bytes } => {
                Box::new(jsonl::JsonlSink::open(path, *max_bytes, strict)?)
            }
            SinkSpec::Stdout => Box::new(stdout::StdoutSink),
            SinkSpec::Otlp {
                endpoint,
                headers,
                timeout,
            } => Box::new(otlp::OtlpSink::new(endpoint, headers, *timeout)?),
            SinkSpec::Custom(s) => {
                let id =
                    s.0.lock()
                        .map(|g| g.id().to_owned())
                        .map_err(|_| SinkError::Io("sink lock poisoned".into()))?;
                Box::new(Shared {
                    id,
                    inner: s.clone(),
                })
            }
        })
    }

    /// The id the opened sink will have (names its spool file).
    pub fn id(&self) -> String {
        match self {
            SinkSpec::Sqlite(p) => format!("sqlite-{}", short_hash(&p.display().to_string())),
            SinkSpec::Postgres { url, schema } => {
                format!("postgres-{}", short_hash(&format!("{url}|{schema}")))
            }
            SinkSpec::Jsonl { path, .. } => {
                format!("jsonl-{}", short_hash(&path.display().to_string()))
            }
            SinkSpec::Stdout => "stdout".into(),
            SinkSpec::Otlp { endpoint, .. } => format!("otlp-{}", short_hash(endpoint)),
            SinkSpec::Custom(s) => {
                s.0.lock()
                    .map(|g| g.id().to_owned())
                    .unwrap_or_else(|_| "custom".into())
            }
        }
    }
}

pub(crate) fn io<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> SinkError + '_ {
    move |e| SinkError::Io(format!("{what}: {e}"))
}

/// Opens `path` for appending and makes sure it ends with a newline, so that a line torn by a
/// crash or a failed write is never glued to the next one.
pub(crate) fn open_append(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    let len = f.metadata()?.len();
    if len > 0 && f.metadata()?.is_file() {
        let mut last = [0u8; 1];
        f.seek(SeekFrom::Start(len - 1))?;
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            f.write_all(b"\n")?;
        }
    }
    Ok(f)
}

/// Appends `buf` and syncs (or flushes); on failure cuts the file back to where it was, so no
/// partial line stays behind.
pub(crate) fn append_all(f: &mut std::fs::File, buf: &[u8], sync: bool) -> std::io::Result<()> {
    use std::io::Write;
    let before = f.metadata().map(|m| m.len()).ok();
    let r = f
        .write_all(buf)
        .and_then(|_| if sync { f.sync_data() } else { f.flush() });
    if r.is_err()
        && let Some(len) = before
        && f.metadata().is_ok_and(|m| m.is_file())
    {
        let _ = f.set_len(len);
    }
    r
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_torn_last_line_is_never_glued_to_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.jsonl");
        std::fs::write(&p, "{\"seq\":1}\n{\"seq\":2,\"ha").unwrap();
        let mut f = super::open_append(&p).unwrap();
        super::append_all(&mut f, b"{\"seq\":3}\n", true).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().last(), Some("{\"seq\":3}"));
        assert_eq!(text.lines().count(), 3);
    }
}

#[cfg(test)]
mod debug_tests {
    #[test]
    fn debug_never_shows_a_postgres_url() {
        let s = super::SinkSpec::Postgres {
            url: "postgres://u:hunter2@db/x".into(),
            schema: "a".into(),
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        let r = crate::AuditSource::Postgres {
            url: "postgres://u:hunter2@db/x".into(),
            schema: "a".into(),
        };
        assert!(!format!("{r:?}").contains("hunter2"));
        let o = super::SinkSpec::Otlp {
            endpoint: "http://127.0.0.1:4318".into(),
            headers: vec![("x-api-key".into(), "hunter2".into())],
            timeout: std::time::Duration::from_secs(5),
        };
        assert!(!format!("{o:?}").contains("hunter2"));
        assert!(format!("{o:?}").contains("x-api-key"));
    }
}
