//! Standard-output sink: one chained JSON line per row.

use super::{Sink, SinkError, io};
use crate::chain::{ChainedRecord, Checkpoint};
use std::io::Write;

/// The stdout sink. It cannot read back, so a chain kept only on stdout restarts at seq 1
/// with each process.
#[derive(Debug, Default)]
pub struct StdoutSink;

impl Sink for StdoutSink {
    fn id(&self) -> &str {
        "stdout"
    }

    fn write(&mut self, rows: &[ChainedRecord]) -> Result<(), SinkError> {
        let mut buf = Vec::with_capacity(rows.len() * 512);
        for r in rows {
            buf.extend_from_slice(r.to_line().as_bytes());
            buf.push(b'\n');
        }
        let mut out = std::io::stdout().lock();
        out.write_all(&buf)
            .and_then(|_| out.flush())
            .map_err(io("stdout"))
    }

    fn checkpoint(&mut self, cp: &Checkpoint) -> Result<(), SinkError> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", cp.to_line()).map_err(io("stdout"))
    }
}
