//! `model scan`: detect every file's format by its content, walk directories and containers, and
//! decide whether loading it could run code.
//!
//! One [`FileReport`] per file named on the command line or found under a named directory;
//! findings inside containers carry the member path in their location. A file is *clean* only if
//! every byte a loader would interpret was analysed; otherwise it is *incomplete* (never clean).

mod archive;
mod formats;

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::finding::{Finding, Severity};
use crate::pickle::policy::Policy;
use crate::pickle::{self, Pickles};

/// Knobs for one scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The pickle allowlist in force.
    pub policy: Policy,
    /// How deep containers may nest (zip in tar in gzip …).
    pub max_depth: usize,
    /// Largest nested container buffered in memory to be walked (zip needs random access).
    pub max_buffered: u64,
    /// Total uncompressed bytes an archive may declare before it is reported as a bomb.
    pub max_uncompressed: u64,
    /// Compression ratio above which a member is reported as a bomb.
    pub max_ratio: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            policy: Policy::new(),
            max_depth: 6,
            max_buffered: 512 * 1024 * 1024,
            max_uncompressed: 64 * 1024 * 1024 * 1024,
            max_ratio: 200,
        }
    }
}

/// What a file (or container member) turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// A raw pickle stream (also joblib, dill, `.pkl`).
    Pickle,
    /// A PyTorch zip checkpoint (`torch.save` since 1.6).
    TorchZip,
    /// A TorchScript archive (carries code).
    TorchScript,
    /// A legacy PyTorch checkpoint: stacked pickles followed by raw storages.
    TorchLegacy,
    /// A NumPy `.npy` array.
    Numpy,
    /// A NumPy `.npz` archive.
    Npz,
    /// A safetensors file.
    Safetensors,
    /// A GGUF file.
    Gguf,
    /// A Keras v3 `.keras` archive.
    Keras,
    /// An HDF5 file (legacy Keras `.h5`).
    Hdf5,
    /// An ONNX model.
    Onnx,
    /// A TensorFlow SavedModel graph.
    SavedModel,
    /// A zip archive.
    Zip,
    /// A tar archive.
    Tar,
    /// A gzip stream.
    Gzip,
    /// Not a model format.
    Other,
}

impl Format {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pickle => "pickle",
            Format::TorchZip => "torch-zip",
            Format::TorchScript => "torch-script",
            Format::TorchLegacy => "torch-legacy",
            Format::Numpy => "numpy",
            Format::Npz => "npz",
            Format::Safetensors => "safetensors",
            Format::Gguf => "gguf",
            Format::Keras => "keras",
            Format::Hdf5 => "hdf5",
            Format::Onnx => "onnx",
            Format::SavedModel => "saved-model",
            Format::Zip => "zip",
            Format::Tar => "tar",
            Format::Gzip => "gzip",
            Format::Other => "other",
        }
    }
}

/// The outcome for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fully analysed, nothing found.
    Clean,
    /// At least one finding.
    Findings,
    /// Not fully analysed (and nothing found in what was).
    Incomplete,
    /// Not a model format; nothing a model loader would interpret.
    Skipped,
}

/// Scan result for one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// Path as given or found.
    pub path: String,
    /// Detected format of the file itself.
    pub format: Format,
    /// File size.
    pub bytes: u64,
    /// Outcome.
    pub status: Status,
    /// Findings, worst first.
    pub findings: Vec<Finding>,
    /// Why parts could not be analysed.
    pub incomplete: Vec<String>,
    /// Container members and their formats.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<(String, Format)>,
    /// Pickle globals imported anywhere in the file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub globals: Vec<String>,
}

/// Scan result for a whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanReport {
    /// One entry per file.
    pub files: Vec<FileReport>,
}

impl ScanReport {
    /// `0` clean, `1` findings, `2` incomplete or error (findings take precedence: a finding is a
    /// definite result, and both fail a CI gate).
    pub fn exit_code(&self) -> u8 {
        if self.files.iter().any(|f| f.status == Status::Findings) {
            1
        } else if self.files.iter().any(|f| f.status == Status::Incomplete) {
            2
        } else {
            0
        }
    }

    /// Number of findings at or above `min`.
    pub fn count(&self, min: Severity) -> usize {
        self.files
            .iter()
            .flat_map(|f| &f.findings)
            .filter(|f| f.severity >= min)
            .count()
    }
}

/// Accumulates findings for one top-level file while walking it.
pub(crate) struct Ctx<'o> {
    pub(crate) opts: &'o ScanOptions,
    pub(crate) findings: Vec<Finding>,
    pub(crate) incomplete: Vec<String>,
    pub(crate) members: Vec<(String, Format)>,
    pub(crate) globals: Vec<String>,
}

impl Ctx<'_> {
    pub(crate) fn find(&mut self, f: Finding) {
        if !self.findings.contains(&f) && self.findings.len() < 10_000 {
            self.findings.push(f);
        }
    }
    pub(crate) fn incomplete(&mut self, label: &str, why: impl std::fmt::Display) {
        if self.incomplete.len() < 1000 {
            self.incomplete.push(format!("{label}: {why}"));
        }
    }
}

/// Lists the files under `paths` (directories recursively, symlinks not followed), sorted.
pub fn collect_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out, 0);
    }
    out
}

fn walk(p: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        out.push(p.to_path_buf());
        return;
    };
    if meta.is_dir() && depth < 64 {
        let Ok(rd) = std::fs::read_dir(p) else {
            out.push(p.to_path_buf());
            return;
        };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for e in entries {
            walk(&e, out, depth + 1);
        }
    } else {
        out.push(p.to_path_buf());
    }
}

/// Scans files and directories.
pub fn scan_paths(paths: &[PathBuf], opts: &ScanOptions) -> ScanReport {
    scan_files(&collect_files(paths), opts, |_| {})
}

/// Scans an explicit list of files, calling `progress` with each file's size after it is done.
pub fn scan_files(
    files: &[PathBuf],
    opts: &ScanOptions,
    mut progress: impl FnMut(u64),
) -> ScanReport {
    let mut report = ScanReport::default();
    for f in files {
        let r = scan_file(f, opts);
        progress(r.bytes);
        report.files.push(r);
    }
    report
}

/// Scans one file.
pub fn scan_file(path: &Path, opts: &ScanOptions) -> FileReport {
    let mut ctx = Ctx {
        opts,
        findings: Vec::new(),
        incomplete: Vec::new(),
        members: Vec::new(),
        globals: Vec::new(),
    };
    let label = path.display().to_string();
    let mut bytes = 0;
    let format = match std::fs::symlink_metadata(path) {
        Err(e) => {
            ctx.incomplete(&label, format!("cannot read: {e}"));
            Format::Other
        }
        Ok(m) if m.file_type().is_symlink() => {
            ctx.find(
                Finding::new(
                    "symlink",
                    Severity::Medium,
                    "symbolic link in a model tree (may point outside it); not followed",
                )
                .at(&label),
            );
            Format::Other
        }
        Ok(m) if !m.is_file() => {
            ctx.incomplete(&label, "not a regular file");
            Format::Other
        }
        Ok(m) => {
            bytes = m.len();
            match File::open(path) {
                Err(e) => {
                    ctx.incomplete(&label, format!("cannot open: {e}"));
                    Format::Other
                }
                Ok(file) => {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let dir = path.parent().map(Path::to_path_buf);
                    scan_file_handle(&mut ctx, &label, &name, file, bytes, dir.as_deref())
                }
            }
        }
    };
    finish(label, format, bytes, ctx)
}

/// Scans an in-memory buffer (used by tests and fuzzing).
pub fn scan_bytes(name: &str, data: &[u8], opts: &ScanOptions) -> FileReport {
    let mut ctx = Ctx {
        opts,
        findings: Vec::new(),
        incomplete: Vec::new(),
        members: Vec::new(),
        globals: Vec::new(),
    };
    let format = scan_stream(
        &mut ctx,
        name,
        name,
        &mut BufReader::new(data),
        Some(data.len() as u64),
        0,
        None,
    );
    finish(name.to_string(), format, data.len() as u64, ctx)
}

fn finish(path: String, format: Format, bytes: u64, ctx: Ctx<'_>) -> FileReport {
    let mut findings = ctx.findings;
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let status = if !findings.is_empty() {
        Status::Findings
    } else if !ctx.incomplete.is_empty() {
        Status::Incomplete
    } else if format == Format::Other && ctx.members.is_empty() {
        Status::Skipped
    } else {
        Status::Clean
    };
    FileReport {
        path,
        format,
        bytes,
        status,
        findings,
        incomplete: ctx.incomplete,
        members: ctx.members,
        globals: ctx.globals,
    }
}

fn scan_file_handle(
    ctx: &mut Ctx<'_>,
    label: &str,
    name: &str,
    mut file: File,
    len: u64,
    dir: Option<&Path>,
) -> Format {
    let mut head = Vec::new();
    if let Err(e) = (&mut file).take(HEAD as u64).read_to_end(&mut head) {
        ctx.incomplete(label, format!("read error: {e}"));
        return Format::Other;
    }
    if is_zip(&head) {
        return archive::scan_zip(ctx, label, file, 0);
    }
    let mut r = BufReader::with_capacity(1 << 20, Cursor::new(head).chain(file));
    scan_stream(ctx, label, name, &mut r, Some(len), 0, dir)
}

/// Bytes sniffed to detect a format.
const HEAD: usize = 1024;

pub(crate) fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

/// The legacy PyTorch magic number, pickled as `LONG1` (0x1950a86a20f9469cfc6c).
const TORCH_LEGACY_MAGIC: [u8; 14] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19,
];

/// Detects a format from the first bytes (and the name only where the format has no magic).
pub(crate) fn detect(head: &[u8], len: Option<u64>, name: &str) -> Format {
    let lower = name.to_ascii_lowercase();
    if is_zip(head) {
        Format::Zip
    } else if head.get(257..262) == Some(b"ustar") {
        Format::Tar
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Format::Gzip
    } else if head.starts_with(b"\x93NUMPY") {
        Format::Numpy
    } else if head.starts_with(b"GGUF") {
        Format::Gguf
    } else if head.starts_with(b"\x89HDF\r\n\x1a\n") {
        Format::Hdf5
    } else if formats::looks_like_safetensors(head, len) {
        Format::Safetensors
    } else if head.starts_with(&TORCH_LEGACY_MAGIC) {
        Format::TorchLegacy
    } else if head.first() == Some(&0x80) && head.get(1).is_some_and(|p| *p <= 5) {
        Format::Pickle
    } else if lower.ends_with(".onnx") || formats::looks_like_onnx(head) {
        Format::Onnx
    } else if lower.ends_with(".pb") {
        Format::SavedModel
    } else {
        Format::Other
    }
}

/// First bytes that can start a protocol 0/1 pickle and are worth a trial parse.
fn maybe_text_pickle(head: &[u8]) -> bool {
    matches!(
        head.first(),
        Some(
            b'(' | b'c'
                | b'S'
                | b']'
                | b'}'
                | b')'
                | b'N'
                | b'I'
                | b'V'
                | b'l'
                | b'd'
                | b'K'
                | b'J'
                | b'X'
                | b'U'
                | b'T'
                | b'i'
                | b'F'
                | b'L'
                | b'G'
                | b'M'
                | b'\x95'
        )
    )
}

/// Extensions that promise a model format: such a file we cannot recognise is incomplete.
fn model_extension(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        ".bin",
        ".pt",
        ".pth",
        ".ckpt",
        ".pkl",
        ".pickle",
        ".joblib",
        ".dill",
        ".h5",
        ".hdf5",
        ".keras",
        ".onnx",
        ".pb",
        ".gguf",
        ".ggml",
        ".safetensors",
        ".npy",
        ".npz",
        ".msgpack",
        ".tflite",
        ".mlmodel",
        ".model",
        ".mar",
        ".nemo",
        ".llamafile",
        ".tar",
        ".zip",
    ]
    .iter()
    .any(|e| lower.ends_with(e))
}

/// Scans one stream of unknown format. `dir` is the directory of a top-level file (for ONNX
/// external data checks).
pub(crate) fn scan_stream(
    ctx: &mut Ctx<'_>,
    label: &str,
    name: &str,
    r: &mut dyn BufRead,
    len: Option<u64>,
    depth: usize,
    dir: Option<&Path>,
) -> Format {
    if depth > ctx.opts.max_depth {
        ctx.incomplete(label, "containers nested too deeply");
        return Format::Other;
    }
    let mut head = Vec::new();
    if let Err(e) = r.take(HEAD as u64).read_to_end(&mut head) {
        ctx.incomplete(label, format!("read error: {e}"));
        return Format::Other;
    }
    let mut r = BufReader::with_capacity(1 << 16, Cursor::new(head.clone()).chain(r));
    let format = detect(&head, len, name);
    match format {
        Format::Zip => {
            let mut buf = Vec::new();
            match read_bounded(&mut r, ctx.opts.max_buffered, &mut buf) {
                Ok(true) => return archive::scan_zip(ctx, label, Cursor::new(buf), depth),
                Ok(false) => ctx.incomplete(label, "nested zip too large to buffer"),
                Err(e) => ctx.incomplete(label, format!("read error: {e}")),
            }
            format
        }
        Format::Tar => {
            archive::scan_tar(ctx, label, &mut r, depth);
            format
        }
        Format::Gzip => {
            let limit = ctx.opts.max_uncompressed;
            let dec = flate2::bufread::MultiGzDecoder::new(r);
            let mut bounded =
                BufReader::new(archive::BombGuard::new(dec, limit, len, ctx.opts.max_ratio));
            let inner_name = name.strip_suffix(".gz").unwrap_or(name).to_string();
            let inner = scan_stream(
                ctx,
                &format!("{label}!gunzip"),
                &inner_name,
                &mut bounded,
                None,
                depth + 1,
                None,
            );
            if let Some(why) = bounded.get_ref().tripped() {
                ctx.find(Finding::new("decompression-bomb", Severity::High, why).at(label));
            }
            ctx.members.push((format!("{label}!gunzip"), inner));
            format
        }
        Format::Numpy => {
            formats::scan_npy(ctx, label, &mut r);
            format
        }
        Format::Gguf => {
            formats::scan_gguf(ctx, label, &mut r, len);
            format
        }
        Format::Safetensors => {
            formats::scan_safetensors(ctx, label, &mut r, len);
            format
        }
        Format::Hdf5 => {
            formats::scan_hdf5(ctx, label, &mut r);
            format
        }
        Format::Onnx => {
            let mut buf = Vec::new();
            match read_bounded(&mut r, ctx.opts.max_buffered, &mut buf) {
                Ok(true) => formats::scan_onnx(ctx, label, &buf, dir),
                Ok(false) => ctx.incomplete(label, "ONNX model too large to analyse in memory"),
                Err(e) => ctx.incomplete(label, format!("read error: {e}")),
            }
            format
        }
        Format::SavedModel => {
            formats::scan_saved_model(ctx, label, &mut r);
            format
        }
        Format::TorchLegacy => {
            // magic, protocol version, sys_info, the object, the storage keys; raw storages follow
            // and are never unpickled.
            run_pickle(ctx, label, &mut r, Pickles::Exactly(5));
            format
        }
        Format::Pickle => {
            run_pickle(ctx, label, &mut r, Pickles::UntilEnd);
            format
        }
        Format::Other if maybe_text_pickle(&head) => {
            // Protocol 0/1 pickles have no header: parse, and call it a pickle if the parse
            // reached a STOP or saw any global.
            let mut buf = Vec::new();
            match read_bounded(&mut r, 64 * 1024 * 1024, &mut buf) {
                Ok(true) => {
                    let a =
                        pickle::analyze(buf.as_slice(), &ctx.opts.policy, Pickles::UntilEnd, label);
                    if a.pickles > 0 || !a.globals.is_empty() || !a.findings.is_empty() {
                        absorb(ctx, label, a);
                        Format::Pickle
                    } else {
                        other(ctx, label, name)
                    }
                }
                Ok(false) => other(ctx, label, name),
                Err(e) => {
                    ctx.incomplete(label, format!("read error: {e}"));
                    Format::Other
                }
            }
        }
        Format::Other | Format::TorchZip | Format::TorchScript | Format::Npz | Format::Keras => {
            other(ctx, label, name)
        }
    }
}

fn other(ctx: &mut Ctx<'_>, label: &str, name: &str) -> Format {
    if model_extension(name) {
        ctx.incomplete(label, "model file extension but unrecognised content");
    }
    Format::Other
}

pub(crate) fn run_pickle(ctx: &mut Ctx<'_>, label: &str, r: &mut dyn BufRead, count: Pickles) {
    let a = pickle::analyze(r, &ctx.opts.policy, count, label);
    absorb(ctx, label, a);
}

fn absorb(ctx: &mut Ctx<'_>, label: &str, a: pickle::PickleAnalysis) {
    for f in a.findings {
        ctx.find(f);
    }
    for g in a.globals {
        if !ctx.globals.contains(&g) && ctx.globals.len() < 10_000 {
            ctx.globals.push(g);
        }
    }
    if let Some(why) = a.incomplete {
        ctx.incomplete(label, why);
    }
}

/// Reads all of `r` into `buf` unless it exceeds `max` (then returns `Ok(false)`).
pub(crate) fn read_bounded(r: &mut dyn Read, max: u64, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let got = r.take(max.saturating_add(1)).read_to_end(buf)? as u64;
    Ok(got <= max)
}

#[cfg(test)]
mod tests;
