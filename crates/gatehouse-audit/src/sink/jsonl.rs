//! JSON-lines sink with size-based rotation; the chain continues across files.
//!
//! The active file is `path`; when a batch would take it past `max_bytes` it is renamed to
//! `path.N` (N = 1, 2, …, increasing) and a new active file is started. Lines are chained rows
//! (`{"seq":…,"prev_hash":…,"hash":…,"event":{…}}`) and checkpoints (`{"checkpoint":{…}}`).

use super::{Sink, SinkError, Tail, io};
use crate::chain::{ChainedRecord, Checkpoint, parse_hash};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// The JSONL sink.
pub struct JsonlSink {
    id: String,
    path: PathBuf,
    max_bytes: u64,
    strict: bool,
    file: Option<std::fs::File>,
    size: u64,
    last_seq: u64,
}

/// The files of a rotated log, oldest first (rotated `path.N` by N, then `path`).
pub fn log_files(path: &Path) -> Vec<PathBuf> {
    let mut rotated: Vec<(u64, PathBuf)> = Vec::new();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return vec![path.to_owned()];
    };
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let f = e.file_name();
            let Some(f) = f.to_str() else { continue };
            if let Some(n) = f
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix('.'))
                .and_then(|r| r.parse::<u64>().ok())
            {
                rotated.push((n, e.path()));
            }
        }
    }
    rotated.sort();
    let mut out: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    if path.exists() {
        out.push(path.to_owned());
    }
    out
}

/// A parsed line of a chained JSONL file.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Line {
    pub seq: Option<u64>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
    pub event: Option<Box<serde_json::value::RawValue>>,
    pub checkpoint: Option<Checkpoint>,
}

fn last_row_in(path: &Path) -> Result<Option<Tail>, SinkError> {
    // Only regular files are read back (`/dev/full`, pipes and devices have no tail).
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("jsonl tail")(e)),
    };
    let mut last = None;
    for line in std::io::BufReader::new(f).lines() {
        let line = line.map_err(io("jsonl tail"))?;
        // A torn last line (crash mid-write) is skipped; the spool or the next write repairs it.
        if let Ok(Line {
            seq: Some(seq),
            hash: Some(h),
            ..
        }) = serde_json::from_str::<Line>(&line)
            && let Some(hash) = parse_hash(&h)
        {
            last = Some(Tail { seq, hash });
        }
    }
    Ok(last)
}

impl JsonlSink {
    /// Opens (appending) the active file.
    pub fn open(path: &Path, max_bytes: u64, strict: bool) -> Result<JsonlSink, SinkError> {
        let mut s = JsonlSink {
            id: super::SinkSpec::Jsonl {
                path: path.to_owned(),
                max_bytes,
            }
            .id(),
            path: path.to_owned(),
            max_bytes,
            strict,
            file: None,
            size: 0,
            last_seq: 0,
        };
        s.reopen()?;
        s.last_seq = s.tail()?.map_or(0, |t| t.seq);
        Ok(s)
    }

    fn reopen(&mut self) -> Result<(), SinkError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io("jsonl directory"))?;
        }
        let f = super::open_append(&self.path).map_err(io("open jsonl"))?;
        self.size = f.metadata().map(|m| m.len()).unwrap_or(0);
        self.file = Some(f);
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), SinkError> {
        let next = log_files(&self.path)
            .iter()
            .filter_map(|p| p.extension()?.to_str()?.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        let mut to = self.path.as_os_str().to_owned();
        to.push(format!(".{next}"));
        self.file = None;
        std::fs::rename(&self.path, PathBuf::from(to)).map_err(io("rotate jsonl"))?;
        self.reopen()
    }

    fn append(&mut self, buf: &[u8]) -> Result<(), SinkError> {
        if self.max_bytes > 0 && self.size > 0 && self.size + buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        if self.file.is_none() {
            self.reopen()?;
        }
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| SinkError::Io("jsonl not open".into()))?;
        let r = super::append_all(f, buf, self.strict);
        if let Err(e) = r {
            // Reopen next time: the file may have been replaced or its directory fixed.
            self.file = None;
            return Err(io("write jsonl")(e));
        }
        self.size += buf.len() as u64;
        Ok(())
    }
}

impl Sink for JsonlSink {
    fn id(&self) -> &str {
        &self.id
    }

    fn write(&mut self, rows: &[ChainedRecord]) -> Result<(), SinkError> {
        let mut buf = Vec::with_capacity(rows.len() * 512);
        let mut last = self.last_seq;
        for r in rows.iter().filter(|r| r.seq > self.last_seq) {
            buf.extend_from_slice(r.to_line().as_bytes());
            buf.push(b'\n');
            last = r.seq;
        }
        if buf.is_empty() {
            return Ok(());
        }
        self.append(&buf)?;
        self.last_seq = last;
        Ok(())
    }

    fn checkpoint(&mut self, cp: &Checkpoint) -> Result<(), SinkError> {
        let mut line = cp.to_line().into_bytes();
        line.push(b'\n');
        self.append(&line)
    }

    fn tail(&mut self) -> Result<Option<Tail>, SinkError> {
        for f in log_files(&self.path).iter().rev() {
            if let Some(t) = last_row_in(f)? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }
}
