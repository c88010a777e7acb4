//! Trains the semantic prompt-attack head (layer 3 of the cascade) on all-MiniLM-L6-v2
//! embeddings and the fast layers' margin, and chooses how the cascade uses it.
//!
//! ```text
//! cargo build --release -p gatehouse-detect --example train_injection
//! cargo run --release -p gatehouse-ml --example train_semantic_head -- \
//!     --model-dir ~/.local/share/gatehouse/models/all-minilm-l6-v2 \
//!     --train ../shared/datasets/injection/train.jsonl \
//!     --out crates/gatehouse-ml/models/injection-semantic-head.json \
//!     --fast-trainer target/release/examples/train_injection \
//!     [--select-by source|prefix] [--cache /tmp/minilm-embeddings.bin] \
//!     [--fast-cache DIR] [--dump-oof FILE]
//! ```
//!
//! Everything is chosen on the training file (plus the synthetic rows of gatehouse-detect's
//! `train_injection/synth.rs`, same seed); no development or test data is read.
//!
//! # Two cross-validation protocols (5 folds each, deterministic)
//!
//! - `prefix`: group = the first 48 lower-cased alphanumeric characters of the text, fold =
//!   SHA-256(group) mod 5. Same e-mail, same template, same application prompt stay together;
//!   attack *families* do not. This estimates in-distribution quality.
//! - `source` (`--group-by-source` of `train_injection`): group = the row's upstream `source`
//!   (e.g. `bipia/email+code_attack/train`, `gptfuzz/template+question`), fold = FNV-1a(source)
//!   mod 5, exactly the folds of `train_injection --group-by-source`. Every family is scored by
//!   models that never saw it: the estimate of generalisation to unseen attack families and
//!   unseen applications.
//!
//! Under each protocol the fast layers are retrained once per fold (`--fast-trainer`, i.e.
//! `train_injection --quick` on the other folds, which adds the synthetic rows itself), so every
//! fast margin and probability used below is out of fold. Without `--fast-trainer` the committed
//! fast model gives in-sample margins and the numbers are meaningless (a warning says so).
//!
//! # Candidates
//!
//! - Head: logistic regression, full-batch AdaGrad (400 epochs), L2 on the weights only
//!   (1e-4, 1e-3, 1e-2; per candidate the best out-of-fold TPR at 1 % FPR of the head alone),
//!   trained on the unit mean of a text's window embeddings, evaluated on the maximum over
//!   windows. Variants: with or without the fast margin as a feature; with or without the
//!   synthetic rows in training (synthetic rows are never scored; their fast margins are
//!   in-sample, since the fast layers always train on them).
//! - Combination: `head` (the head's probability, margin feature included) or `stacked`:
//!   `sigmoid(a·z + b·margin + c)` with `z` the logit of the head *without* the margin feature
//!   and `(a, b, c)` fitted on out-of-fold `(z, margin)`; for the scores reported here the fit of
//!   each fold uses only the other folds' rows (cross-fitted). A stacked head is stored as an
//!   ordinary head (`weights·a`, `margin_weight = b`, `bias·a + c`): same file format.
//! - Band `[lo, hi)` of fast-layer probability in which the head replaces the fast layers (the
//!   production rule of `InjectionDetector`, signature floors included; scores come from the real
//!   detector with the out-of-fold head replayed).
//!
//! # Rule for the shipped configuration (protocol `--select-by`, default `source`)
//!
//! 1. Admissible: (combination, synthetic rows or not, band) whose share of training texts in
//!    the band is at most 25 % (the transformer costs ~100 ms per text, the fast layers µs), and
//!    whose cascade ranks at least as well as the fast layers alone: ROC AUC and TPR at 5 % FPR
//!    not lower. (A gain at exactly 1 % FPR paid for with a worse ranking elsewhere is noise of
//!    the operating point: with whole benign families held out, the 1 % threshold sits on a few
//!    dozen benign texts that score ~1.)
//! 2. If no admissible candidate beats the fast layers alone by at least 0.5 point of
//!    out-of-fold TPR at 1 % FPR, layer 3 does not earn its place: ship the narrowest band
//!    `[0.3, 0.5)` with the combination that scores best there (TPR, then ROC AUC).
//! 3. Otherwise ship the admissible candidate with the smallest share whose TPR is within
//!    0.5 point of the best admissible TPR (ties: higher ROC AUC).
//! 4. `threshold` (`--threshold-by`, default `prefix`): the lowest cascade threshold of the
//!    chosen configuration with at most 1 % out-of-fold false positives under the `prefix`
//!    protocol — the protocol that sets the committed fast layers' own threshold, so attaching
//!    layer 3 does not move the operating point. (Under `source` the 1 % threshold is ~0.99:
//!    families such as `LatentWhois:clean` are the benign twins of held-out attack families and
//!    score ~1; the example prints both.)
//! 5. The final head is retrained on all rows (+ synthetic rows when chosen); a stacked
//!    combination takes `(a, b, c)` fitted on all out-of-fold rows of the selection protocol.
//!
//! Caveat: the per-fold fast layers use `train_injection --quick` hyper-parameters, not exactly
//! those of the committed model, and in production the committed fast model is more confident on
//! texts like its training data than the out-of-fold models are.
//!
//! Dev data is not read here: measure the shipped head once with `examples/eval_cascade.rs`.
//! `--dump-oof FILE` writes the out-of-fold scores per row (no text) for analysis;
//! `--fast-cache DIR` keeps the per-fold fast models between runs.
#![allow(
    clippy::needless_range_loop,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

#[allow(dead_code)]
#[path = "../../gatehouse-detect/examples/train_injection/banks.rs"]
mod banks;
#[allow(dead_code)]
#[path = "../../gatehouse-detect/examples/train_injection/synth.rs"]
mod synth;
#[allow(dead_code)]
#[path = "../../gatehouse-detect/examples/train_injection/synth2.rs"]
mod synth2;

use std::collections::HashMap;
use std::error::Error;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use gatehouse_core::Direction;
use gatehouse_detect::injection::{InjectionConfig, InjectionDetector, eval};
use gatehouse_detect::models::{AttackModel, FastScore, ModelError};
use gatehouse_ml::{Embedder, HEAD_EMBEDDER, SemanticHead, sigmoid};
use sha2::{Digest, Sha256};

type Key = [u8; 32];

fn key(text: &str) -> Key {
    Sha256::digest(text.as_bytes()).into()
}

/// Seed of the synthetic rows (the one `train_injection` uses).
const SYNTH_SEED: u64 = 20_240_611;
/// Seed and scale of the compositional generator's rows for the head (a smaller draw than the
/// fast layers' 3,000 documents: every row costs a transformer pass).
const SYNTH2_SEED: u64 = 20_261_207;
const SYNTH2_SCALE: usize = 800;
const FOLDS: usize = 5;
const MAX_SHARE: f64 = 0.25;
const MIN_GAIN: f64 = 0.005;

struct Args {
    model_dir: PathBuf,
    train: PathBuf,
    out: PathBuf,
    cache: Option<PathBuf>,
    fast_trainer: Option<PathBuf>,
    select_by: Proto,
    dump: Option<PathBuf>,
    fast_cache: Option<PathBuf>,
    threshold_by: Proto,
}

fn args() -> Result<Args, Box<dyn Error>> {
    let (mut model_dir, mut train, mut out, mut cache) = (None, None, None, None);
    let mut fast_trainer = None;
    let mut select_by = Proto::Source;
    let mut dump = None;
    let mut fast_cache = None;
    let mut threshold_by = Proto::Prefix;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--model-dir" => model_dir = Some(PathBuf::from(val()?)),
            "--train" => train = Some(PathBuf::from(val()?)),
            "--out" => out = Some(PathBuf::from(val()?)),
            "--cache" => cache = Some(PathBuf::from(val()?)),
            "--fast-trainer" => fast_trainer = Some(PathBuf::from(val()?)),
            "--dump-oof" => dump = Some(PathBuf::from(val()?)),
            "--fast-cache" => fast_cache = Some(PathBuf::from(val()?)),
            "--group-by-source" => select_by = Proto::Source,
            "--select-by" => select_by = proto_arg(&a, &val()?)?,
            "--threshold-by" => threshold_by = proto_arg(&a, &val()?)?,
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    Ok(Args {
        model_dir: model_dir.ok_or("--model-dir is required")?,
        train: train.ok_or("--train is required")?,
        out: out.ok_or("--out is required")?,
        cache,
        fast_trainer,
        select_by,
        dump,
        fast_cache,
        threshold_by,
    })
}

fn proto_arg(flag: &str, v: &str) -> Result<Proto, String> {
    match v {
        "source" => Ok(Proto::Source),
        "prefix" => Ok(Proto::Prefix),
        _ => Err(format!("{flag} {v}: expected source or prefix")),
    }
}

// ---- embedding cache: "GHEMB001", dim u32, then records: key[32], windows u32, f32 LE ----

const MAGIC: &[u8; 8] = b"GHEMB001";

struct Cache {
    dim: usize,
    map: HashMap<Key, Vec<Vec<f32>>>,
    path: Option<PathBuf>,
    dirty: usize,
}

impl Cache {
    fn open(path: Option<PathBuf>, dim: usize) -> Result<Cache, Box<dyn Error>> {
        let mut map = HashMap::new();
        if let Some(p) = &path
            && p.exists()
        {
            let mut b = Vec::new();
            std::fs::File::open(p)?.read_to_end(&mut b)?;
            let ok = b.len() >= 12
                && &b[..8] == MAGIC
                && u32::from_le_bytes(b[8..12].try_into()?) as usize == dim;
            if ok {
                let mut i = 12;
                while i + 36 <= b.len() {
                    let k: Key = b[i..i + 32].try_into()?;
                    let n = u32::from_le_bytes(b[i + 32..i + 36].try_into()?) as usize;
                    i += 36;
                    let need = n * dim * 4;
                    if i + need > b.len() {
                        break;
                    }
                    let floats: Vec<f32> = b[i..i + need]
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect();
                    i += need;
                    map.insert(k, floats.chunks(dim).map(<[f32]>::to_vec).collect());
                }
            } else {
                eprintln!(
                    "cache {}: other format or dimension, rebuilding",
                    p.display()
                );
            }
        }
        Ok(Cache {
            dim,
            map,
            path,
            dirty: 0,
        })
    }

    fn save(&mut self) -> Result<(), Box<dyn Error>> {
        let Some(p) = &self.path else { return Ok(()) };
        if self.dirty == 0 {
            return Ok(());
        }
        let tmp = p.with_extension("tmp");
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        f.write_all(MAGIC)?;
        f.write_all(&(self.dim as u32).to_le_bytes())?;
        let mut keys: Vec<&Key> = self.map.keys().collect();
        keys.sort();
        for k in keys {
            let w = &self.map[k];
            f.write_all(k)?;
            f.write_all(&(w.len() as u32).to_le_bytes())?;
            for v in w {
                for x in v {
                    f.write_all(&x.to_le_bytes())?;
                }
            }
        }
        f.into_inner()?.sync_all()?;
        std::fs::rename(&tmp, p)?;
        self.dirty = 0;
        Ok(())
    }
}

/// Embeds every text (from the cache when possible); returns the per-text latencies of the
/// texts that were embedded now, with their byte lengths.
fn embed_all(
    emb: &Embedder,
    cache: &mut Cache,
    texts: &[&str],
) -> Result<Vec<(f64, usize)>, Box<dyn Error>> {
    let mut lat = Vec::new();
    let todo = texts
        .iter()
        .filter(|t| !cache.map.contains_key(&key(t)))
        .count();
    let t0 = Instant::now();
    for text in texts {
        let k = key(text);
        if cache.map.contains_key(&k) {
            continue;
        }
        let t = Instant::now();
        let w = emb.embed_windows(text)?;
        lat.push((t.elapsed().as_secs_f64() * 1e6, text.len()));
        cache.map.insert(k, w);
        cache.dirty += 1;
        if lat.len() % 250 == 0 {
            eprintln!(
                "  embedded {}/{todo} ({:.0} s)",
                lat.len(),
                t0.elapsed().as_secs_f64()
            );
            cache.save()?;
        }
    }
    cache.save()?;
    Ok(lat)
}

// ---- data ----

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Proto {
    Prefix,
    Source,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Prefix => "prefix",
            Proto::Source => "source",
        }
    }
}

/// Lower-cased alphanumeric characters, at most 48 (the grouping of `train_injection`).
fn normalised_prefix(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .take(48)
        .collect()
}

/// Fold of the `prefix` protocol: SHA-256 of the text's group.
fn prefix_fold(text: &str) -> usize {
    let h = Sha256::digest(normalised_prefix(text).as_bytes());
    (u64::from_le_bytes(h[..8].try_into().unwrap_or([0; 8])) % FOLDS as u64) as usize
}

/// FNV-1a of the normalised prefix mod 5: `train_injection`'s fold of a group key (its
/// `--group-by-source` folds when applied to the `source` field).
fn fnv_fold(s: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in normalised_prefix(s).bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % FOLDS as u64) as usize
}

struct Item {
    key: Key,
    text: String,
    direction: Direction,
    y: bool,
    /// Training features: unit mean of the window embeddings.
    x: Vec<f32>,
    /// All window embeddings (evaluation takes the maximum over windows).
    windows: Vec<Vec<f32>>,
    synth: bool,
    prefix_fold: usize,
    /// `source` fold (synthetic rows: the fold of their generator group).
    source_fold: usize,
}

fn item(
    text: &str,
    y: bool,
    direction: Direction,
    source_fold: usize,
    synth: bool,
    cache: &Cache,
) -> Result<Item, Box<dyn Error>> {
    let k = key(text);
    let windows = cache.map.get(&k).ok_or("embedding missing")?.clone();
    let mut x = vec![0f32; cache.dim];
    for w in &windows {
        for (a, b) in x.iter_mut().zip(w) {
            *a += b;
        }
    }
    let norm = x.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    x.iter_mut().for_each(|v| *v /= norm);
    Ok(Item {
        key: k,
        text: text.to_owned(),
        direction,
        y,
        x,
        windows,
        synth,
        prefix_fold: prefix_fold(text),
        source_fold,
    })
}

// ---- logistic regression ----

#[derive(Clone)]
struct Model {
    w: Vec<f32>,
    mw: f32,
    b: f32,
}

impl Model {
    fn head(&self, band: [f32; 2], threshold: f32, trained_on: String) -> SemanticHead {
        SemanticHead {
            version: 1,
            embedder: HEAD_EMBEDDER.to_owned(),
            dim: self.w.len(),
            weights: self.w.clone(),
            margin_weight: self.mw,
            bias: self.b,
            band,
            threshold,
            trained_on,
        }
    }

    fn logit(&self, x: &[f32], margin: f32) -> f32 {
        self.w.iter().zip(x).map(|(a, b)| a * b).sum::<f32>() + self.mw * margin + self.b
    }

    /// Maximum logit over the windows (the probability is monotone in it).
    fn logit_max(&self, windows: &[Vec<f32>], margin: f32) -> f32 {
        windows
            .iter()
            .map(|w| self.logit(w, margin))
            .fold(f32::NEG_INFINITY, f32::max)
    }
}

const EPOCHS: usize = 400;
const LR: f32 = 0.5;
const L2S: [f32; 3] = [1e-4, 1e-3, 1e-2];

struct TrainRow<'a> {
    x: &'a [f32],
    m: f32,
    y: bool,
}

/// Full-batch AdaGrad logistic regression; the margin weight stays 0 unless `use_margin`.
fn train(data: &[TrainRow], dim: usize, l2: f32, use_margin: bool) -> Model {
    let mut m = Model {
        w: vec![0.0; dim],
        mw: 0.0,
        b: 0.0,
    };
    let n = data.len().max(1) as f32;
    let (mut gw2, mut gm2, mut gb2) = (vec![1e-8f32; dim], 1e-8f32, 1e-8f32);
    let mut gw = vec![0f32; dim];
    for _ in 0..EPOCHS {
        gw.iter_mut().for_each(|g| *g = 0.0);
        let (mut gm, mut gb) = (0f32, 0f32);
        for ex in data {
            let err = sigmoid(m.logit(ex.x, ex.m)) - if ex.y { 1.0 } else { 0.0 };
            for (g, x) in gw.iter_mut().zip(ex.x) {
                *g += err * x;
            }
            gm += err * ex.m;
            gb += err;
        }
        for i in 0..dim {
            let g = gw[i] / n + l2 * m.w[i];
            gw2[i] += g * g;
            m.w[i] -= LR * g / gw2[i].sqrt();
        }
        if use_margin {
            let g = gm / n + l2 * m.mw;
            gm2 += g * g;
            m.mw -= LR * g / gm2.sqrt();
        }
        let g = gb / n;
        gb2 += g * g;
        m.b -= LR * g / gb2.sqrt();
    }
    m
}

/// `(a, b, c)` of `sigmoid(a·z + b·m + c)` by damped Newton steps on the mean log-loss with a
/// small L2 penalty on `a` and `b`.
fn fit_stack(rows: &[(f32, f32, bool)]) -> [f64; 3] {
    const RIDGE: f64 = 1e-4;
    let n = rows.len().max(1) as f64;
    let loss = |p: &[f64; 3]| -> f64 {
        let l: f64 = rows
            .iter()
            .map(|&(z, m, y)| {
                let t = p[0] * f64::from(z) + p[1] * f64::from(m) + p[2];
                let sp = if t > 0.0 {
                    t + (-t).exp().ln_1p()
                } else {
                    t.exp().ln_1p()
                };
                sp - if y { t } else { 0.0 }
            })
            .sum();
        l / n + 0.5 * RIDGE * (p[0] * p[0] + p[1] * p[1])
    };
    let mut p = [1.0f64, 0.0, 0.0];
    let mut cur = loss(&p);
    for _ in 0..100 {
        let mut g = [RIDGE * p[0], RIDGE * p[1], 0.0];
        let mut h = [[0f64; 3]; 3];
        h[0][0] = RIDGE;
        h[1][1] = RIDGE;
        h[2][2] = 1e-9;
        for &(z, m, y) in rows {
            let f = [f64::from(z), f64::from(m), 1.0];
            let t = p[0] * f[0] + p[1] * f[1] + p[2];
            let q = 1.0 / (1.0 + (-t).exp());
            let d = q - if y { 1.0 } else { 0.0 };
            let s = q * (1.0 - q);
            for i in 0..3 {
                g[i] += d * f[i] / n;
                for j in 0..3 {
                    h[i][j] += s * f[i] * f[j] / n;
                }
            }
        }
        let Some(step) = solve3(h, g) else { break };
        let mut t = 1.0;
        let mut improved = false;
        while t > 1e-6 {
            let cand = [p[0] - t * step[0], p[1] - t * step[1], p[2] - t * step[2]];
            let l = loss(&cand);
            if l.is_finite() && l < cur - 1e-12 {
                (p, cur, improved) = (cand, l, true);
                break;
            }
            t /= 2.0;
        }
        if !improved {
            break;
        }
    }
    p
}

/// Solves a 3×3 linear system (Gaussian elimination with partial pivoting).
fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> Option<[f64; 3]> {
    for c in 0..3 {
        let piv = (c..3).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[piv][c].abs() < 1e-15 {
            return None;
        }
        a.swap(c, piv);
        b.swap(c, piv);
        for r in c + 1..3 {
            let f = a[r][c] / a[c][c];
            for k in c..3 {
                a[r][k] -= f * a[c][k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = [0f64; 3];
    for r in (0..3).rev() {
        let s: f64 = (r + 1..3).map(|k| a[r][k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

fn stack_prob(p: &[f64; 3], z: f32, m: f32) -> f32 {
    sigmoid((p[0] * f64::from(z) + p[1] * f64::from(m) + p[2]) as f32)
}

// ---- fast layers and cascade ----

/// Replays precomputed head probabilities (keyed by text) as an attack model.
#[derive(Debug)]
struct Replay(HashMap<Key, f32>);

impl AttackModel for Replay {
    fn describe(&self) -> String {
        "replay".to_owned()
    }
    fn score(&self, text: &str, _fast: FastScore) -> Result<f32, ModelError> {
        self.0
            .get(&key(text))
            .copied()
            .ok_or_else(|| ModelError("text not precomputed".to_owned()))
    }
}

/// The fast layers used for out-of-fold numbers: one model per fold (trained without that
/// fold), or the committed model for every fold.
struct FastModels(Vec<Option<Vec<u8>>>);

impl FastModels {
    fn detector(
        &self,
        fold: usize,
        cfg: &InjectionConfig,
    ) -> Result<InjectionDetector, Box<dyn Error>> {
        Ok(match self.0.get(fold).and_then(Option::as_ref) {
            Some(bytes) => InjectionDetector::with_model(cfg, bytes)?,
            None => InjectionDetector::new(cfg)?,
        })
    }
}

/// Trains the fast layers once per fold with `trainer` (gatehouse-detect's `train_injection`
/// example, `--quick`) on the training lines outside the fold.
fn train_fast_models(
    trainer: &std::path::Path,
    lines: &[(&str, usize)],
    tag: &str,
    cache: Option<(&std::path::Path, &str)>,
) -> Result<FastModels, Box<dyn Error>> {
    let dir =
        std::env::temp_dir().join(format!("gatehouse-fast-folds-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut models = Vec::new();
    for fold in 0..FOLDS {
        let cached = cache.map(|(d, sha)| d.join(format!("fast-{tag}-{sha}-{fold}.bin")));
        if let Some(c) = &cached
            && let Ok(bytes) = std::fs::read(c)
        {
            models.push(Some(bytes));
            eprintln!("  [{tag}] fast layers for fold {fold} from {}", c.display());
            continue;
        }
        let train = dir.join(format!("train-{fold}.jsonl"));
        let out = dir.join(format!("fast-{fold}.bin"));
        let mut body = String::new();
        for (l, _) in lines.iter().filter(|(_, f)| *f != fold) {
            body.push_str(l);
            body.push('\n');
        }
        std::fs::write(&train, body)?;
        let st = std::process::Command::new(trainer)
            .arg("--train")
            .arg(&train)
            .arg("--out")
            .arg(&out)
            .arg("--quick")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()?;
        if !st.success() {
            return Err(format!("fast-layer training for fold {fold} failed: {st}").into());
        }
        let bytes = std::fs::read(&out)?;
        if let Some(c) = &cached {
            std::fs::write(c, &bytes)?;
        }
        models.push(Some(bytes));
        eprintln!("  [{tag}] fast layers for fold {fold} trained");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(FastModels(models))
}

/// One protocol: folds, per-fold fast layers and their out-of-fold outputs.
struct Split {
    proto: Proto,
    /// Per item (synthetic rows: the fold of their generator group).
    fold: Vec<usize>,
    fast: FastModels,
    margin: Vec<f32>,
    fast_p: Vec<f32>,
    /// Final detector score without layer 3 (real rows).
    s_fast: Vec<f32>,
}

impl Split {
    fn new(
        proto: Proto,
        items: &[Item],
        n_real: usize,
        fast: FastModels,
    ) -> Result<Split, Box<dyn Error>> {
        let fold: Vec<usize> = items
            .iter()
            .map(|it| match proto {
                Proto::Prefix if !it.synth => it.prefix_fold,
                _ => it.source_fold,
            })
            .collect();
        let cfg = InjectionConfig::default();
        let dets: Vec<InjectionDetector> = (0..FOLDS)
            .map(|f| fast.detector(f, &cfg))
            .collect::<Result<_, _>>()?;
        let (mut margin, mut fast_p, mut s_fast) = (Vec::new(), Vec::new(), Vec::new());
        for (i, it) in items.iter().enumerate() {
            let det = &dets[fold[i]];
            let fs = det.fast_score(&it.text, it.direction);
            margin.push(if fs.margin.is_finite() {
                fs.margin
            } else {
                0.0
            });
            fast_p.push(fs.probability);
            if i < n_real {
                s_fast.push(det.score(&it.text, it.direction).score);
            }
        }
        Ok(Split {
            proto,
            fold,
            fast,
            margin,
            fast_p,
            s_fast,
        })
    }

    /// Detector scores with layer 3 on every text, the head's probability replayed from `q`.
    fn s_head(&self, items: &[Item], q: &[f32]) -> Result<Vec<f32>, Box<dyn Error>> {
        let cfg = InjectionConfig {
            model_band: Some([0.0, 1.01]),
            ..InjectionConfig::default()
        };
        let mut out = vec![0f32; q.len()];
        for f in 0..FOLDS {
            let idx: Vec<usize> = (0..q.len()).filter(|&i| self.fold[i] == f).collect();
            let map: HashMap<Key, f32> = idx.iter().map(|&i| (items[i].key, q[i])).collect();
            let det = self
                .fast
                .detector(f, &cfg)?
                .with_attack_model(Arc::new(Replay(map)));
            for i in idx {
                out[i] = det.score(&items[i].text, items[i].direction).score;
            }
        }
        Ok(out)
    }

    fn share(&self, n_real: usize, band: [f32; 2]) -> f64 {
        let k = self.fast_p[..n_real]
            .iter()
            .filter(|p| **p >= band[0] && **p < band[1])
            .count();
        k as f64 / n_real.max(1) as f64
    }

    fn cascade(&self, s_head: &[f32], ys: &[bool], band: [f32; 2]) -> Vec<(f32, bool)> {
        (0..ys.len())
            .map(|i| {
                let p = self.fast_p[i];
                let s = if p >= band[0] && p < band[1] {
                    s_head[i]
                } else {
                    self.s_fast[i]
                };
                (s, ys[i])
            })
            .collect()
    }
}

/// Out-of-fold maximum-over-windows logits of a head for the real rows.
fn oof_logits(
    items: &[Item],
    n_real: usize,
    split: &Split,
    l2: f32,
    use_margin: bool,
    with_synth: bool,
) -> Vec<f32> {
    let dim = items.first().map_or(0, |it| it.x.len());
    let per_fold: Vec<Model> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..FOLDS)
            .map(|f| {
                s.spawn(move || {
                    let rows: Vec<TrainRow> = items
                        .iter()
                        .enumerate()
                        .filter(|(i, it)| {
                            if it.synth {
                                with_synth
                            } else {
                                split.fold[*i] != f
                            }
                        })
                        .map(|(i, it)| TrainRow {
                            x: &it.x,
                            m: split.margin[i],
                            y: it.y,
                        })
                        .collect();
                    train(&rows, dim, l2, use_margin)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("training thread"))
            .collect()
    });
    (0..n_real)
        .map(|i| per_fold[split.fold[i]].logit_max(&items[i].windows, split.margin[i]))
        .collect()
}

fn metrics(scores: &[(f32, bool)]) -> (f64, f64) {
    (eval::tpr_at_fpr(scores, 0.01).0, eval::roc_auc(scores))
}

fn threshold_at_1pct(scores: &[(f32, bool)]) -> f32 {
    let (_, t) = eval::tpr_at_fpr(scores, 0.01);
    if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// A head variant evaluated out of fold under one protocol.
struct Variant {
    name: &'static str,
    use_margin: bool,
    with_synth: bool,
    stacked: bool,
    l2: f32,
    /// Out-of-fold head logits (real rows).
    z: Vec<f32>,
    /// Out-of-fold probabilities of the combination (real rows).
    q: Vec<f32>,
    s_head: Vec<f32>,
}

const VARIANTS: [(&str, bool, bool, bool); 4] = [
    // name, margin feature, synthetic rows, stacked
    ("head", true, false, false),
    ("head+synth", true, true, false),
    ("stacked", false, false, true),
    ("stacked+synth", false, true, true),
];

fn evaluate_split(
    items: &[Item],
    n_real: usize,
    split: &Split,
    ys: &[bool],
) -> Result<Vec<Variant>, Box<dyn Error>> {
    let tag = split.proto.name();
    let fast: Vec<(f32, bool)> = split
        .s_fast
        .iter()
        .copied()
        .zip(ys.iter().copied())
        .collect();
    let (t, a) = metrics(&fast);
    println!(
        "[{tag}] fast layers alone: TPR@1%FPR {t:.3}, TPR@5%FPR {:.3}, ROC AUC {a:.4}",
        eval::tpr_at_fpr(&fast, 0.05).0
    );
    let mut out = Vec::new();
    for (name, use_margin, with_synth, stacked) in VARIANTS {
        let mut best: Option<(f64, f64, f32, Vec<f32>)> = None;
        for l2 in L2S {
            let z = oof_logits(items, n_real, split, l2, use_margin, with_synth);
            let s: Vec<(f32, bool)> = z
                .iter()
                .map(|v| sigmoid(*v))
                .zip(ys.iter().copied())
                .collect();
            let (t, a) = metrics(&s);
            println!(
                "[{tag}] head alone, margin feature {}, synthetic rows {}: L2 {l2:e}: TPR@1%FPR {t:.3}, ROC AUC {a:.4}",
                if use_margin { "yes" } else { "no" },
                if with_synth { "yes" } else { "no" },
            );
            if best.as_ref().is_none_or(|b| (t, a) > (b.0, b.1)) {
                best = Some((t, a, l2, z));
            }
        }
        let (_, _, l2, z) = best.ok_or("no L2")?;
        let q: Vec<f32> = if stacked {
            let mut q = vec![0f32; n_real];
            for f in 0..FOLDS {
                let rows: Vec<(f32, f32, bool)> = (0..n_real)
                    .filter(|&i| split.fold[i] != f)
                    .map(|i| (z[i], split.margin[i], ys[i]))
                    .collect();
                let p = fit_stack(&rows);
                for i in (0..n_real).filter(|&i| split.fold[i] == f) {
                    q[i] = stack_prob(&p, z[i], split.margin[i]);
                }
            }
            let all: Vec<(f32, f32, bool)> = (0..n_real)
                .map(|i| (z[i], split.margin[i], ys[i]))
                .collect();
            let p = fit_stack(&all);
            let s: Vec<(f32, bool)> = q.iter().copied().zip(ys.iter().copied()).collect();
            let (t, a) = metrics(&s);
            println!(
                "[{tag}] {name} alone (cross-fitted; on all rows a {:.3} b {:.3} c {:.3}): TPR@1%FPR {t:.3}, ROC AUC {a:.4}",
                p[0], p[1], p[2]
            );
            q
        } else {
            z.iter().map(|v| sigmoid(*v)).collect()
        };
        let s_head = split.s_head(items, &q)?;
        out.push(Variant {
            name,
            use_margin,
            with_synth,
            stacked,
            l2,
            z,
            q,
            s_head,
        });
    }
    let report_bands: [[f32; 2]; 6] = [
        [0.3, 0.5],
        [0.2, 0.8],
        [0.1, 0.9],
        [0.05, 0.95],
        [0.02, 0.98],
        [0.0, 1.01],
    ];
    println!("[{tag}] cascade, out of fold (share = texts in the band):");
    println!(
        "  {:<14} {:<14} {:>7} {:>10} {:>10} {:>8}",
        "combination", "band", "share", "TPR@1%FPR", "TPR@5%FPR", "ROC AUC"
    );
    for v in &out {
        for band in report_bands {
            let c = split.cascade(&v.s_head, ys, band);
            let (t, a) = metrics(&c);
            println!(
                "  {:<14} [{:<4}, {:<4}) {:>6.1}% {:>10.3} {:>10.3} {:>8.4}",
                v.name,
                band[0],
                band[1],
                100.0 * split.share(n_real, band),
                t,
                eval::tpr_at_fpr(&c, 0.05).0,
                a
            );
        }
    }
    Ok(out)
}

struct Choice {
    variant: usize,
    band: [f32; 2],
    share: f64,
    tpr: f64,
    auc: f64,
    robust: bool,
}

/// The band kept when layer 3 does not earn a wider one.
const NARROWEST: [f32; 2] = [0.3, 0.5];

/// The rule of the header: see "Rule for the shipped configuration".
fn choose(
    split: &Split,
    variants: &[Variant],
    ys: &[bool],
    n_real: usize,
) -> Result<(Choice, f64, bool), Box<dyn Error>> {
    let fast: Vec<(f32, bool)> = split
        .s_fast
        .iter()
        .copied()
        .zip(ys.iter().copied())
        .collect();
    let (fast_tpr, fast_auc) = metrics(&fast);
    let fast_tpr5 = eval::tpr_at_fpr(&fast, 0.05).0;
    let los = [0.0f32, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3];
    let his = [
        0.5f32, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1.01,
    ];
    let mut cands: Vec<Choice> = Vec::new();
    for (vi, v) in variants.iter().enumerate() {
        for lo in los {
            for hi in his {
                let band = [lo, hi];
                let share = split.share(n_real, band);
                if share > MAX_SHARE {
                    continue;
                }
                let s = split.cascade(&v.s_head, ys, band);
                let (tpr, auc) = metrics(&s);
                // A gain at exactly 1 % FPR bought with a worse ranking overall (lower ROC
                // AUC or lower TPR at 5 % FPR) is noise of the operating point, not a gain.
                let robust = auc >= fast_auc && eval::tpr_at_fpr(&s, 0.05).0 >= fast_tpr5;
                if !robust && band != NARROWEST {
                    continue;
                }
                cands.push(Choice {
                    variant: vi,
                    band,
                    share,
                    tpr,
                    auc,
                    robust,
                });
            }
        }
    }
    let best = cands
        .iter()
        .filter(|c| c.robust)
        .map(|c| c.tpr)
        .fold(0.0, f64::max);
    let helps = best >= fast_tpr + MIN_GAIN;
    let pick = if helps {
        cands
            .into_iter()
            .filter(|c| c.robust && c.tpr + MIN_GAIN >= best)
            .min_by(|a, b| a.share.total_cmp(&b.share).then(b.auc.total_cmp(&a.auc)))
    } else {
        cands
            .into_iter()
            .filter(|c| c.band == NARROWEST)
            .max_by(|a, b| a.tpr.total_cmp(&b.tpr).then(a.auc.total_cmp(&b.auc)))
    };
    Ok((pick.ok_or("no admissible candidate")?, fast_tpr, helps))
}

fn percentile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn print_latency(label: &str, lat: &[(f64, usize)]) {
    if lat.is_empty() {
        println!("{label}: all embeddings from the cache (no latency measured)");
        return;
    }
    let mut t: Vec<f64> = lat.iter().map(|x| x.0).collect();
    let total_us: f64 = t.iter().sum();
    let kb: f64 = lat.iter().map(|x| x.1 as f64).sum::<f64>() / 1024.0;
    println!(
        "{label}: transformer latency per text over {} texts: median {:.1} ms, p90 {:.1} ms, {:.0} µs/KB",
        lat.len(),
        percentile(&mut t, 0.5) / 1e3,
        percentile(&mut t, 0.9) / 1e3,
        total_us / kb.max(1e-9)
    );
}

fn main() -> Result<(), Box<dyn Error>> {
    let a = args()?;
    let emb = Embedder::load(&a.model_dir)?;
    let dim = emb.dim();
    let mut cache = Cache::open(a.cache.clone(), dim)?;

    let train_text = std::fs::read_to_string(&a.train)?;
    let rows = eval::parse_jsonl(&train_text)?;
    let lines: Vec<&str> = train_text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    if lines.len() != rows.len() {
        return Err("training file: lines and parsed rows differ".into());
    }
    let mut synth_rows = synth::generate(SYNTH_SEED);
    synth_rows.extend(synth2::generate(SYNTH2_SEED, SYNTH2_SCALE));
    let file_sha = hex::encode(Sha256::digest(train_text.as_bytes()));
    eprintln!(
        "train: {} rows, {} synthetic; embedding …",
        rows.len(),
        synth_rows.len()
    );
    let texts: Vec<&str> = rows
        .iter()
        .map(|r| r.text.as_str())
        .chain(synth_rows.iter().map(|s| s.text.as_str()))
        .collect();
    let lat = embed_all(&emb, &mut cache, &texts)?;
    print_latency("train", &lat);

    let mut items: Vec<Item> = Vec::new();
    for r in &rows {
        items.push(item(
            &r.text,
            r.is_attack(),
            r.direction.unwrap_or(Direction::Input),
            fnv_fold(&r.source),
            false,
            &cache,
        )?);
    }
    let n_real = items.len();
    for s in &synth_rows {
        items.push(item(
            &s.text,
            s.attack,
            Direction::Input,
            fnv_fold(&s.group),
            true,
            &cache,
        )?);
    }
    let ys: Vec<bool> = items[..n_real].iter().map(|it| it.y).collect();
    println!(
        "train: {} texts ({} attack), {} with several windows; {} synthetic rows ({} attack)",
        n_real,
        ys.iter().filter(|y| **y).count(),
        items[..n_real]
            .iter()
            .filter(|e| e.windows.len() > 1)
            .count(),
        items.len() - n_real,
        items[n_real..].iter().filter(|e| e.y).count()
    );

    let mut splits = Vec::new();
    for proto in [Proto::Prefix, Proto::Source] {
        let fast = match &a.fast_trainer {
            Some(t) => {
                let folded: Vec<(&str, usize)> = lines
                    .iter()
                    .zip(&items)
                    .map(|(l, it)| {
                        let f = match proto {
                            Proto::Prefix => it.prefix_fold,
                            Proto::Source => it.source_fold,
                        };
                        (*l, f)
                    })
                    .collect();
                eprintln!(
                    "[{}] training the fast layers once per fold …",
                    proto.name()
                );
                train_fast_models(
                    t,
                    &folded,
                    proto.name(),
                    a.fast_cache.as_deref().map(|d| (d, &file_sha[..16])),
                )?
            }
            None => {
                eprintln!(
                    "WARNING: no --fast-trainer: the committed fast layers (trained on this file) \
                     give in-sample margins; every number below is biased"
                );
                FastModels(vec![None; FOLDS])
            }
        };
        splits.push(Split::new(proto, &items, n_real, fast)?);
    }

    let mut results = Vec::new();
    for split in &splits {
        results.push(evaluate_split(&items, n_real, split, &ys)?);
    }
    if let Some(p) = &a.dump {
        // Per real row and protocol: labels, source, out-of-fold scores (no text).
        let mut out = String::from("protocol\tfold\ty\tsource\tkind\tfast_p\ts_fast");
        for (name, ..) in VARIANTS {
            out.push_str(&format!("\tq_{name}\ts_{name}"));
        }
        out.push('\n');
        for (split, vs) in splits.iter().zip(&results) {
            for (i, r) in rows.iter().enumerate() {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    split.proto.name(),
                    split.fold[i],
                    u8::from(ys[i]),
                    r.source,
                    r.kind,
                    split.fast_p[i],
                    split.s_fast[i]
                ));
                for v in vs {
                    out.push_str(&format!("\t{}\t{}", v.q[i], v.s_head[i]));
                }
                out.push('\n');
            }
        }
        std::fs::write(p, out)?;
    }
    let si = splits
        .iter()
        .position(|s| s.proto == a.select_by)
        .ok_or("no split")?;
    let (split, variants) = (&splits[si], &results[si]);
    let (choice, fast_tpr, helps) = choose(split, variants, &ys, n_real)?;
    let v = &variants[choice.variant];
    // The 1 %-FPR threshold of the chosen configuration under each protocol.
    let thresholds: Vec<(Proto, f32)> = splits
        .iter()
        .zip(&results)
        .map(|(sp, vs)| {
            let c = sp.cascade(&vs[choice.variant].s_head, &ys, choice.band);
            (sp.proto, threshold_at_1pct(&c))
        })
        .collect();
    let threshold = thresholds
        .iter()
        .find(|(p, _)| *p == a.threshold_by)
        .map(|t| t.1)
        .ok_or("no threshold")?;
    for (p, t) in &thresholds {
        println!(
            "[{}] threshold with at most 1 % out-of-fold false positives: {t:.4}",
            p.name()
        );
    }
    println!(
        "[{}] chosen: {} (L2 {:e}), band [{}, {}): {:.1} % of training texts in the band; \
         out-of-fold cascade TPR@1%FPR {:.3} (fast layers alone {fast_tpr:.3}), ROC AUC {:.4}; \
         threshold {:.4} ({}){}",
        split.proto.name(),
        v.name,
        v.l2,
        choice.band[0],
        choice.band[1],
        100.0 * choice.share,
        choice.tpr,
        choice.auc,
        threshold,
        a.threshold_by.name(),
        if helps {
            ""
        } else {
            "; layer 3 does not robustly beat the fast layers by 0.5 point: narrowest band"
        }
    );
    // The same configuration under the other protocol, for comparison.
    for (sj, other) in splits.iter().enumerate().filter(|(j, _)| *j != si) {
        let ov = &results[sj][choice.variant];
        let (t, au) = metrics(&other.cascade(&ov.s_head, &ys, choice.band));
        println!(
            "[{}] same configuration: {:.1} % in the band, TPR@1%FPR {t:.3}, ROC AUC {au:.4}",
            other.proto.name(),
            100.0 * other.share(n_real, choice.band)
        );
    }

    // Final head on all rows (+ synthetic rows when chosen).
    let train_rows: Vec<TrainRow> = items
        .iter()
        .enumerate()
        .filter(|(_, it)| !it.synth || v.with_synth)
        .map(|(i, it)| TrainRow {
            x: &it.x,
            m: split.margin[i],
            y: it.y,
        })
        .collect();
    let mut m = train(&train_rows, dim, v.l2, v.use_margin);
    let mut combo = String::from("head probability");
    if v.stacked {
        let all: Vec<(f32, f32, bool)> = (0..n_real)
            .map(|i| (v.z[i], split.margin[i], ys[i]))
            .collect();
        let p = fit_stack(&all);
        m.w.iter_mut().for_each(|w| *w *= p[0] as f32);
        m.mw = p[1] as f32;
        m.b = m.b * p[0] as f32 + p[2] as f32;
        combo = format!(
            "stacked sigmoid(a·z + b·margin + c), a {:.3} b {:.3} c {:.3}, folded into the weights",
            p[0], p[1], p[2]
        );
    }
    let trained_on = format!(
        "injection/train.jsonl ({} rows, sha256 {}){}; {combo}; L2 {:e}, mean of windows, \
         {EPOCHS} AdaGrad epochs; chosen by 5-fold {}-held-out CV with out-of-fold fast layers: \
         cascade TPR@1%FPR {:.3} (fast alone {fast_tpr:.3}) with {:.1} % of texts in the band; \
         threshold: 1 % FPR under {}-held-out CV",
        n_real,
        &file_sha[..16],
        if v.with_synth {
            format!(
                " + {} synthetic rows (seed {SYNTH_SEED})",
                items.len() - n_real
            )
        } else {
            String::new()
        },
        v.l2,
        split.proto.name(),
        choice.tpr,
        100.0 * choice.share,
        a.threshold_by.name()
    );
    let head = m.head(choice.band, threshold, trained_on);
    head.validate()?;
    let json = serde_json::to_string(&head)?;
    SemanticHead::from_json(&json)?;
    std::fs::write(&a.out, format!("{json}\n"))?;
    println!("wrote {}", a.out.display());

    // Latency of one 1 KB text.
    let para = "Please summarise the attached quarterly report for the board and list the three \
                main risks, the open actions and who owns each of them. ";
    let text: String = para
        .repeat(1024 / para.len() + 1)
        .chars()
        .take(1024)
        .collect();
    let mut t = Vec::new();
    for _ in 0..20 {
        let s = Instant::now();
        emb.embed_windows(&text)?;
        t.push(s.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "1 KB text: median {:.1} ms over 20 runs (RAYON_NUM_THREADS={})",
        percentile(&mut t, 0.5),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".to_owned())
    );
    Ok(())
}
