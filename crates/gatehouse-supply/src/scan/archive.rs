//! Zip and tar containers: PyTorch checkpoints, TorchScript, `.npz`, `.keras`, and plain archives.
//! Checks member paths (zip-slip), links, duplicate names, overlapping entries and decompression
//! bombs, and scans every member by content.

use std::io::{BufReader, Read, Seek, SeekFrom};

use super::{Ctx, Format, formats, run_pickle, scan_stream};
use crate::finding::{Finding, Severity};
use crate::pickle::Pickles;

/// Caps how much a decompressor may produce and records why it stopped.
pub(crate) struct BombGuard<R> {
    inner: R,
    limit: u64,
    compressed: Option<u64>,
    max_ratio: u64,
    produced: u64,
    tripped: Option<String>,
}

impl<R> BombGuard<R> {
    pub(crate) fn new(inner: R, limit: u64, compressed: Option<u64>, max_ratio: u64) -> Self {
        BombGuard {
            inner,
            limit,
            compressed,
            max_ratio,
            produced: 0,
            tripped: None,
        }
    }

    /// Why the guard cut the stream, if it did.
    pub(crate) fn tripped(&self) -> Option<&str> {
        self.tripped.as_deref()
    }
}

impl<R: Read> Read for BombGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.tripped.is_some() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        if self.produced > self.limit {
            self.tripped = Some(format!("decompressed data exceeds {} bytes", self.limit));
            return Err(std::io::Error::other("decompression limit exceeded"));
        }
        if let Some(c) = self.compressed
            && self.produced > 16 * 1024 * 1024
            && self.produced / c.max(1) > self.max_ratio
        {
            self.tripped = Some(format!(
                "compression ratio above {}:1 ({} bytes from {c})",
                self.max_ratio, self.produced
            ));
            return Err(std::io::Error::other("compression ratio limit exceeded"));
        }
        Ok(n)
    }
}

/// A member path that escapes the extraction directory (zip-slip / tar path traversal).
fn escapes(name: &str) -> bool {
    let n = name.replace('\\', "/");
    n.starts_with('/')
        || n.as_bytes().get(1) == Some(&b':')
        || n.split('/').any(|c| c == "..")
        || n.contains('\0')
}

/// Number of entries the end-of-central-directory record declares (None for zip64 or absent).
fn eocd_entries<R: Read + Seek>(r: &mut R) -> Option<usize> {
    let len = r.seek(SeekFrom::End(0)).ok()?;
    let tail = len.min(65_557);
    r.seek(SeekFrom::Start(len - tail)).ok()?;
    let mut buf = Vec::new();
    r.take(tail).read_to_end(&mut buf).ok()?;
    let pos = buf.windows(4).rposition(|w| w == b"PK\x05\x06")?;
    let total = u16::from_le_bytes([*buf.get(pos + 10)?, *buf.get(pos + 11)?]);
    if total == 0xffff {
        None
    } else {
        Some(usize::from(total))
    }
}

fn is_torch_storage(name: &str) -> bool {
    // `archive/data/0`, `model/data/123`: raw tensor bytes, never unpickled.
    let mut parts = name.rsplit('/');
    matches!(
        (parts.next(), parts.next()),
        (Some(file), Some("data")) if !file.is_empty() && file.bytes().all(|b| b.is_ascii_digit())
    )
}

pub(crate) fn scan_zip<R: Read + Seek>(
    ctx: &mut Ctx<'_>,
    label: &str,
    mut reader: R,
    depth: usize,
) -> Format {
    let declared = eocd_entries(&mut reader);
    let _ = reader.seek(SeekFrom::Start(0));
    let mut zip = match zip::ZipArchive::new(reader) {
        Ok(z) => z,
        Err(e) => {
            ctx.incomplete(label, format!("unreadable zip: {e}"));
            return Format::Zip;
        }
    };
    if let Some(n) = declared
        && n != zip.len()
    {
        ctx.find(
                Finding::new(
                    "zip-duplicate-entries",
                    Severity::High,
                    format!(
                        "central directory declares {n} entries but only {} distinct names: loaders disagree on which duplicate wins",
                        zip.len()
                    ),
                )
                .at(label),
            );
    }
    let mut names = Vec::with_capacity(zip.len().min(100_000));
    let mut ranges = Vec::new();
    let mut declared_total: u64 = 0;
    for i in 0..zip.len() {
        match zip.by_index_raw(i) {
            Ok(f) => {
                names.push(String::from_utf8_lossy(f.name_raw()).into_owned());
                declared_total = declared_total.saturating_add(f.size());
                if let Some(start) = f.data_start() {
                    ranges.push((f.header_start(), start.saturating_add(f.compressed_size())));
                }
            }
            Err(e) => {
                ctx.incomplete(label, format!("zip entry {i}: {e}"));
                names.push(String::new());
            }
        }
    }
    ranges.sort_unstable();
    if ranges.windows(2).any(|w| matches!(w, [a, b] if b.0 < a.1)) {
        ctx.find(
            Finding::new(
                "zip-overlapping-entries",
                Severity::High,
                "zip entries overlap (a decompression-bomb and parser-confusion technique)",
            )
            .at(label),
        );
    }
    if declared_total > ctx.opts.max_uncompressed {
        ctx.find(
            Finding::new(
                "decompression-bomb",
                Severity::High,
                format!("zip declares {declared_total} uncompressed bytes"),
            )
            .at(label),
        );
    }
    let has = |suffix: &str| {
        names
            .iter()
            .any(|n| n == suffix || n.ends_with(&format!("/{suffix}")))
    };
    let format = if names.iter().any(|n| n.contains("/code/")) && has("constants.pkl") {
        Format::TorchScript
    } else if has("data.pkl") {
        Format::TorchZip
    } else if names.iter().any(|n| n == "config.json")
        && names
            .iter()
            .any(|n| n == "model.weights.h5" || n == "metadata.json")
    {
        Format::Keras
    } else if !names.is_empty() && names.iter().all(|n| n.ends_with(".npy")) {
        Format::Npz
    } else {
        Format::Zip
    };
    if format == Format::TorchScript {
        ctx.find(
            Finding::new(
                "torchscript-code",
                Severity::Medium,
                "TorchScript archive: torch.jit.load compiles and runs the code it carries",
            )
            .at(label),
        );
    }
    for (i, name) in names.iter().enumerate() {
        let member = format!("{label}!{name}");
        if escapes(name) {
            ctx.find(
                Finding::new(
                    "archive-path-traversal",
                    Severity::High,
                    format!("member path `{name}` escapes the extraction directory"),
                )
                .at(&member),
            );
        }
        let mut f = match zip.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                ctx.incomplete(&member, format!("cannot read member: {e}"));
                continue;
            }
        };
        if f.is_dir() {
            continue;
        }
        if f.is_symlink() {
            ctx.find(
                Finding::new(
                    "archive-symlink",
                    Severity::Medium,
                    "symbolic link inside archive",
                )
                .at(&member),
            );
            continue;
        }
        let size = f.size();
        let csize = f.compressed_size();
        if size > 16 * 1024 * 1024 && size / csize.max(1) > ctx.opts.max_ratio {
            ctx.find(
                Finding::new(
                    "decompression-bomb",
                    Severity::High,
                    format!("member expands {csize} → {size} bytes"),
                )
                .at(&member),
            );
            ctx.incomplete(&member, "not decompressed (bomb)");
            continue;
        }
        let limit = size.min(ctx.opts.max_uncompressed);
        let guard = BombGuard::new(&mut f, limit, Some(csize), ctx.opts.max_ratio);
        let mut r = BufReader::with_capacity(1 << 16, guard);
        let member_format = match format {
            Format::TorchZip | Format::TorchScript if name.ends_with(".pkl") => {
                run_pickle(ctx, &member, &mut r, Pickles::UntilEnd);
                Format::Pickle
            }
            Format::TorchZip | Format::TorchScript if is_torch_storage(name) => continue,
            Format::TorchScript if name.contains("/code/") || name.ends_with(".debug_pkl") => {
                continue;
            }
            Format::Keras if name == "config.json" => {
                formats::scan_keras_config(ctx, &member, &mut r);
                Format::Other
            }
            Format::Keras if name.ends_with(".h5") => {
                // Keras v3 weights: datasets only, read as arrays; model structure lives in
                // config.json, analysed above.
                Format::Hdf5
            }
            _ => scan_stream(ctx, &member, name, &mut r, Some(size), depth + 1, None),
        };
        if let Some(why) = r.get_ref().tripped() {
            ctx.find(
                Finding::new("decompression-bomb", Severity::High, why.to_string()).at(&member),
            );
        }
        if ctx.members.len() < 10_000 {
            ctx.members.push((member, member_format));
        }
    }
    format
}

pub(crate) fn scan_tar(ctx: &mut Ctx<'_>, label: &str, r: &mut dyn Read, depth: usize) {
    let mut ar = tar::Archive::new(r);
    let entries = match ar.entries() {
        Ok(e) => e,
        Err(e) => {
            ctx.incomplete(label, format!("unreadable tar: {e}"));
            return;
        }
    };
    for entry in entries {
        let mut e = match entry {
            Ok(e) => e,
            Err(err) => {
                ctx.incomplete(label, format!("tar entry: {err}"));
                return;
            }
        };
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let member = format!("{label}!{name}");
        if escapes(&name) {
            ctx.find(
                Finding::new(
                    "archive-path-traversal",
                    Severity::High,
                    format!("member path `{name}` escapes the extraction directory"),
                )
                .at(&member),
            );
        }
        let kind = e.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = e
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            let sev = if escapes(&target) {
                Severity::High
            } else {
                Severity::Medium
            };
            ctx.find(
                Finding::new(
                    "archive-link",
                    sev,
                    format!("link inside archive pointing to `{target}`"),
                )
                .at(&member),
            );
            continue;
        }
        if !kind.is_file() && !kind.is_contiguous() {
            continue;
        }
        let size = e.size();
        let base = name.rsplit('/').next().unwrap_or(&name).to_string();
        if matches!(base.as_str(), "storages" | "tensors") {
            // Legacy PyTorch tar checkpoints interleave small pickles with raw storage bytes.
            ctx.incomplete(&member, "legacy PyTorch tar storages are not analysed");
            continue;
        }
        let mut r = BufReader::with_capacity(1 << 16, &mut e);
        let f = scan_stream(ctx, &member, &base, &mut r, Some(size), depth + 1, None);
        if ctx.members.len() < 10_000 {
            ctx.members.push((member, f));
        }
    }
}
