//! The local durable spool: rows (and checkpoints) a sink could not take, appended to a file in
//! the data directory and fsynced per batch, replayed in order when the sink is back.

use crate::chain::{ChainedRecord, Checkpoint, parse_hash};
use crate::sink::jsonl::Line;
use crate::sink::{SinkError, Tail, io};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// One spooled item.
#[derive(Debug, Clone)]
pub enum Spooled {
    /// A chained row.
    Row(ChainedRecord),
    /// A checkpoint.
    Checkpoint(Checkpoint),
}

/// A sink's spool file (`<dir>/spool-<sink id>.jsonl`).
#[derive(Debug)]
pub struct Spool {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl Spool {
    /// The spool for `sink_id` under `dir` (nothing is created until the first append).
    pub fn new(dir: &Path, sink_id: &str) -> Spool {
        Spool {
            path: dir.join(format!("spool-{sink_id}.jsonl")),
            file: None,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether anything is waiting.
    pub fn pending(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|m| m.len() > 0)
    }

    /// Appends and fsyncs.
    pub fn append(&mut self, items: &[Spooled]) -> Result<(), SinkError> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir).map_err(io("spool directory"))?;
            }
            self.file = Some(crate::sink::open_append(&self.path).map_err(io("open spool"))?);
        }
        let mut buf = Vec::new();
        for it in items {
            match it {
                Spooled::Row(r) => buf.extend_from_slice(r.to_line().as_bytes()),
                Spooled::Checkpoint(c) => buf.extend_from_slice(c.to_line().as_bytes()),
            }
            buf.push(b'\n');
        }
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| SinkError::Io("spool not open".into()))?;
        let r = crate::sink::append_all(f, &buf, true);
        if r.is_err() {
            self.file = None;
        }
        r.map_err(io("write spool"))
    }

    /// Everything spooled, in order. A torn last line (crash mid-append, before its fsync
    /// returned and so before any ack) is ignored.
    pub fn read(&self) -> Result<Vec<Spooled>, SinkError> {
        if !self.path.is_file() {
            return Ok(Vec::new());
        }
        let f = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("read spool")(e)),
        };
        let mut out = Vec::new();
        for line in std::io::BufReader::new(f).lines() {
            let line = line.map_err(io("read spool"))?;
            let Ok(l) = serde_json::from_str::<Line>(&line) else {
                continue;
            };
            if let Some(c) = l.checkpoint {
                out.push(Spooled::Checkpoint(c));
                continue;
            }
            let (Some(seq), Some(p), Some(h), Some(ev)) = (l.seq, l.prev_hash, l.hash, l.event)
            else {
                continue;
            };
            let (Some(prev_hash), Some(hash)) = (parse_hash(&p), parse_hash(&h)) else {
                continue;
            };
            let event_json = ev.get().to_owned();
            let ts = serde_json::from_str::<serde_json::Value>(&event_json)
                .ok()
                .and_then(|v| v.get("ts").and_then(|t| t.as_str()).map(str::to_owned))
                .unwrap_or_default();
            out.push(Spooled::Row(ChainedRecord {
                seq,
                prev_hash,
                hash,
                event_json,
                ts,
            }));
        }
        Ok(out)
    }

    /// The last spooled row.
    pub fn tail(&self) -> Result<Option<Tail>, SinkError> {
        Ok(self.read()?.iter().rev().find_map(|s| match s {
            Spooled::Row(r) => Some(Tail {
                seq: r.seq,
                hash: r.hash,
            }),
            Spooled::Checkpoint(_) => None,
        }))
    }

    /// Empties the spool after a successful replay.
    pub fn clear(&mut self) -> Result<(), SinkError> {
        self.file = None;
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("clear spool")(e)),
        }
    }
}
