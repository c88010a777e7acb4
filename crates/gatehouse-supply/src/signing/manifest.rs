//! Model serialization: which files make up a model and their digests, as the OpenSSF
//! model-signing v1.0 predicate records them.

use std::cmp::Ordering;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::SignError;

/// Paths ignored by default (relative to the model root), as the reference tool does.
pub const DEFAULT_IGNORES: &[&str] = &[".git", ".gitattributes", ".github", ".gitignore"];

/// How a model is cut into manifest items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One item per file.
    Files,
    /// One item per `shard_size` bytes of each file (`path:start:end`).
    Shards(u64),
}

/// What to hash.
#[derive(Debug, Clone)]
pub struct HashOptions {
    /// Files or shards.
    pub method: Method,
    /// Follow symbolic links (otherwise a link is an error).
    pub allow_symlinks: bool,
    /// Paths relative to the model root to leave out (a directory leaves out its subtree).
    pub ignore_paths: Vec<String>,
    /// Worker threads (0: one per core).
    pub threads: usize,
}

impl Default for HashOptions {
    fn default() -> Self {
        HashOptions {
            method: Method::Files,
            allow_symlinks: false,
            ignore_paths: DEFAULT_IGNORES.iter().map(|s| (*s).to_string()).collect(),
            threads: 0,
        }
    }
}

/// One manifest item: a file (or shard) and its SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// `path` (files) or `path:start:end` (shards), `/`-separated, relative to the model root;
    /// `.` for a single-file model.
    pub name: String,
    /// Digest algorithm name as recorded (`sha256`, or `sha256-sharded-N` variants).
    pub algorithm: String,
    /// Raw digest bytes.
    pub digest: Vec<u8>,
}

/// A model's manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Subject name (the model directory's or file's name).
    pub model_name: String,
    /// Items in canonical order.
    pub items: Vec<Item>,
    /// The `serialization` object of the predicate.
    pub serialization: Value,
}

impl Manifest {
    /// SHA-256 over the concatenated item digests, in order: the in-toto subject digest.
    pub fn root_digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        for it in &self.items {
            h.update(&it.digest);
        }
        h.finalize().into()
    }
}

/// Orders paths component by component, as Python's `PurePosixPath` does (`a/b` < `a.txt`).
fn path_order(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

fn shard_key(name: &str) -> (Vec<&str>, u64, u64) {
    let mut parts = name.rsplitn(3, ':');
    let end = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let start = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let path = parts.next().unwrap_or("");
    (path.split('/').collect(), start, end)
}

pub(crate) fn sort_items(items: &mut [Item], method: Method) {
    match method {
        Method::Files => items.sort_by(|a, b| path_order(&a.name, &b.name)),
        Method::Shards(_) => items.sort_by(|a, b| shard_key(&a.name).cmp(&shard_key(&b.name))),
    }
}

/// The predicate's `serialization` object.
pub fn serialization_json(opts: &HashOptions) -> Value {
    let mut v = match opts.method {
        Method::Files => {
            json!({"method": "files", "hash_type": "sha256", "allow_symlinks": opts.allow_symlinks})
        }
        Method::Shards(n) => {
            json!({"method": "shards", "hash_type": "sha256", "shard_size": n, "allow_symlinks": opts.allow_symlinks})
        }
    };
    if !opts.ignore_paths.is_empty()
        && let Some(o) = v.as_object_mut()
    {
        o.insert("ignore_paths".into(), json!(opts.ignore_paths));
    }
    v
}

/// Reads the hashing options back from a predicate's `serialization` object (accepting the
/// reference tool's variants: `shard_size` as a float, missing `ignore_paths`).
pub fn options_from_serialization(v: &Value) -> Result<HashOptions, SignError> {
    let bad = |m: &str| SignError::Bundle(format!("serialization: {m}"));
    let o = v.as_object().ok_or_else(|| bad("not an object"))?;
    let hash = o
        .get("hash_type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("missing hash_type"))?;
    if hash != "sha256" {
        return Err(SignError::Unsupported(format!("hash_type {hash}")));
    }
    let method = match o.get("method").and_then(Value::as_str) {
        Some("files") => Method::Files,
        Some("shards") => {
            let size = o.get("shard_size").and_then(|s| {
                s.as_u64().or_else(|| {
                    s.as_f64()
                        .filter(|f| f.fract() == 0.0 && *f >= 1.0 && *f < 1.8e19)
                        .map(|f| f as u64)
                })
            });
            Method::Shards(
                size.filter(|s| *s > 0)
                    .ok_or_else(|| bad("invalid shard_size"))?,
            )
        }
        other => {
            return Err(SignError::Unsupported(format!(
                "serialization method {other:?}"
            )));
        }
    };
    let allow_symlinks = o
        .get("allow_symlinks")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ignore_paths = o
        .get("ignore_paths")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(HashOptions {
        method,
        allow_symlinks,
        ignore_paths,
        threads: 0,
    })
}

/// Normalises an ignore path to `/`-separated components relative to the root.
fn norm_ignore(root: &Path, p: &str) -> Option<Vec<String>> {
    let path = Path::new(p);
    let rel = if path.is_absolute() {
        path.strip_prefix(root).ok()?
    } else {
        path
    };
    let mut out = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Lists the files of a model, relative names with `/` separators, sorted canonically.
pub fn list_files(
    root: &Path,
    opts: &HashOptions,
    extra_ignores: &[PathBuf],
) -> Result<Vec<(String, PathBuf)>, SignError> {
    let mut ignores: Vec<Vec<String>> = opts
        .ignore_paths
        .iter()
        .filter_map(|p| norm_ignore(root, p))
        .collect();
    for p in extra_ignores {
        if let Some(v) = norm_ignore(root, &p.to_string_lossy()) {
            ignores.push(v);
        }
    }
    let meta = std::fs::symlink_metadata(root).map_err(|e| SignError::Io(root.to_path_buf(), e))?;
    if meta.file_type().is_symlink() && !opts.allow_symlinks {
        return Err(SignError::Symlink(root.to_path_buf()));
    }
    if !root.is_dir() {
        return Ok(vec![(".".to_string(), root.to_path_buf())]);
    }
    let mut out = Vec::new();
    walk(
        root,
        root,
        &mut Vec::new(),
        &ignores,
        opts.allow_symlinks,
        &mut out,
        0,
    )?;
    out.sort_by(|a, b| path_order(&a.0, &b.0));
    Ok(out)
}

fn walk(
    root: &Path,
    dir: &Path,
    rel: &mut Vec<String>,
    ignores: &[Vec<String>],
    allow_symlinks: bool,
    out: &mut Vec<(String, PathBuf)>,
    depth: usize,
) -> Result<(), SignError> {
    if depth > 128 {
        return Err(SignError::Bundle(format!(
            "{} nests too deeply",
            dir.display()
        )));
    }
    let rd = std::fs::read_dir(dir).map_err(|e| SignError::Io(dir.to_path_buf(), e))?;
    for entry in rd {
        let entry = entry.map_err(|e| SignError::Io(dir.to_path_buf(), e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        rel.push(name);
        if ignores
            .iter()
            .any(|ig| !ig.is_empty() && rel.starts_with(ig))
        {
            rel.pop();
            continue;
        }
        let path = entry.path();
        let ft = entry
            .file_type()
            .map_err(|e| SignError::Io(path.clone(), e))?;
        let is_link = ft.is_symlink();
        if is_link && !allow_symlinks {
            return Err(SignError::Symlink(path));
        }
        let meta = std::fs::metadata(&path).map_err(|e| SignError::Io(path.clone(), e))?;
        if meta.is_dir() {
            walk(root, &path, rel, ignores, allow_symlinks, out, depth + 1)?;
        } else if meta.is_file() {
            out.push((rel.join("/"), path));
        }
        rel.pop();
    }
    let _ = root;
    Ok(())
}

/// SHA-256 of `len` bytes of `file` from `start` (all of it when `len` is `None`), streamed.
pub fn hash_file(path: &Path, start: u64, len: Option<u64>) -> Result<[u8; 32], SignError> {
    let mut f = File::open(path).map_err(|e| SignError::Io(path.to_path_buf(), e))?;
    if start > 0 {
        f.seek(SeekFrom::Start(start))
            .map_err(|e| SignError::Io(path.to_path_buf(), e))?;
    }
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len.unwrap_or(u64::MAX);
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let chunk = buf.get_mut(..want).unwrap_or(&mut []);
        let n = f
            .read(chunk)
            .map_err(|e| SignError::Io(path.to_path_buf(), e))?;
        if n == 0 {
            break;
        }
        h.update(chunk.get(..n).unwrap_or(&[]));
        left -= n as u64;
    }
    Ok(h.finalize().into())
}

/// One hashing result, filled in by a worker.
type Slot = Option<Result<[u8; 32], SignError>>;

struct Job {
    name: String,
    path: PathBuf,
    start: u64,
    len: Option<u64>,
}

/// Hashes a model (directory or single file) into a manifest, files in parallel on std threads.
pub fn hash_model(
    root: &Path,
    opts: &HashOptions,
    extra_ignores: &[PathBuf],
    only: Option<&[String]>,
) -> Result<Manifest, SignError> {
    let mut files = list_files(root, opts, extra_ignores)?;
    if let Some(only) = only {
        files.retain(|(n, _)| only.contains(n));
    }
    let mut jobs = Vec::new();
    for (name, path) in files {
        match opts.method {
            Method::Files => jobs.push(Job {
                name,
                path,
                start: 0,
                len: None,
            }),
            Method::Shards(size) => {
                let total = std::fs::metadata(&path)
                    .map_err(|e| SignError::Io(path.clone(), e))?
                    .len();
                let mut start: u64 = 0;
                loop {
                    let end = start.saturating_add(size).min(total);
                    jobs.push(Job {
                        name: format!("{name}:{start}:{end}"),
                        path: path.clone(),
                        start,
                        len: Some(end - start),
                    });
                    start = end;
                    if start >= total {
                        break;
                    }
                }
            }
        }
    }
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        opts.threads
    }
    .min(jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Slot>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, AtomicOrdering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let r = hash_file(&job.path, job.start, job.len);
                    if let Ok(mut g) = results.lock()
                        && let Some(slot) = g.get_mut(i)
                    {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    let results = results
        .into_inner()
        .map_err(|_| SignError::Bundle("hashing worker panicked".into()))?;
    // The reference tool names shard digests `sha256-sharded-<shard_size>`.
    let algorithm = match opts.method {
        Method::Files => "sha256".to_string(),
        Method::Shards(n) => format!("sha256-sharded-{n}"),
    };
    let mut items = Vec::with_capacity(jobs.len());
    for (job, r) in jobs.into_iter().zip(results) {
        let digest = r.ok_or_else(|| SignError::Bundle("hashing worker failed".into()))??;
        items.push(Item {
            name: job.name,
            algorithm: algorithm.clone(),
            digest: digest.to_vec(),
        });
    }
    sort_items(&mut items, opts.method);
    let model_name = root
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| root.display().to_string());
    Ok(Manifest {
        model_name,
        items,
        serialization: serialization_json(opts),
    })
}
