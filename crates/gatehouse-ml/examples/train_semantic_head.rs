//! Trains the semantic prompt-attack head (layer 3 of the cascade) on all-MiniLM-L6-v2
//! embeddings and the fast layers' margin.
//!
//! ```text
//! cargo run --release -p gatehouse-ml --example train_semantic_head -- \
//!     --model-dir ~/.local/share/gatehouse/models/all-minilm-l6-v2 \
//!     --train ../shared/datasets/injection/train.jsonl \
//!     --out crates/gatehouse-ml/models/injection-semantic-head.json \
//!     [--dev ../shared/datasets/injection/dev.jsonl] [--cache /tmp/minilm-embeddings.bin] \
//!     [--fast-trainer target/release/examples/train_injection]
//! ```
//!
//! `--fast-trainer` (recommended; build it with `cargo build --release -p gatehouse-detect
//! --example train_injection`) retrains the fast layers once per fold (`--quick`) so that the
//! margins and probabilities used here are out of fold. Without it the committed fast model,
//! trained on the same file, gives in-sample margins that separate the training set perfectly
//! (the head then learns little beyond the margin and any band passes the criterion).
//!
//! Method (deterministic: fixed fold assignment, fixed order, no randomness):
//!
//! - Features: the embedding and the fast margin (`InjectionDetector::fast_score`, direction
//!   from the row's `direction` field, `input` when absent). A text with several windows is
//!   trained on the mean of its window embeddings, re-normalised to unit length; at inference
//!   (and in every evaluation below) the head takes the maximum over windows.
//! - Logistic regression, full-batch AdaGrad, L2 on the weights (not the bias).
//! - 5-fold **group** cross-validation on the training file only (group: the first 48
//!   lower-cased alphanumeric characters of the text; fold = SHA-256 of the group mod 5)
//!   picks the L2 strength (out-of-fold TPR at 1 % FPR of the head on every text) and the band:
//!   the band that sends the fewest texts to the transformer among those whose out-of-fold
//!   cascade TPR at 1 % FPR is within 0.5 point of sending every text. Cascade scores come from
//!   the real `InjectionDetector` with the out-of-fold head attached, so floors and the
//!   replacement rule are exactly those of production.
//! - `threshold`: the lowest cascade threshold with at most 1 % out-of-fold false positives.
//!
//! Caveat: with `--fast-trainer` the per-fold fast layers use `train_injection --quick`
//! hyper-parameters, not exactly those of the committed model.
//!
//! `--dev` only measures (never tunes): metrics of the fast layers alone and of the cascade.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

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

struct Args {
    model_dir: PathBuf,
    train: PathBuf,
    out: PathBuf,
    dev: Option<PathBuf>,
    cache: Option<PathBuf>,
    fast_trainer: Option<PathBuf>,
}

fn args() -> Result<Args, Box<dyn Error>> {
    let (mut model_dir, mut train, mut out, mut dev, mut cache) = (None, None, None, None, None);
    let mut fast_trainer = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .map(PathBuf::from)
                .ok_or(format!("{a} needs a value"))
        };
        match a.as_str() {
            "--model-dir" => model_dir = Some(val()?),
            "--train" => train = Some(val()?),
            "--out" => out = Some(val()?),
            "--dev" => dev = Some(val()?),
            "--cache" => cache = Some(val()?),
            "--fast-trainer" => fast_trainer = Some(val()?),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    Ok(Args {
        model_dir: model_dir.ok_or("--model-dir is required")?,
        train: train.ok_or("--train is required")?,
        out: out.ok_or("--out is required")?,
        dev,
        cache,
        fast_trainer,
    })
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

/// Embeds every row (from the cache when possible); returns the per-text latencies of the
/// texts that were embedded now, with their byte lengths.
fn embed_all(
    emb: &Embedder,
    cache: &mut Cache,
    rows: &[eval::Row],
) -> Result<Vec<(f64, usize)>, Box<dyn Error>> {
    let mut lat = Vec::new();
    let todo = rows
        .iter()
        .filter(|r| !cache.map.contains_key(&key(&r.text)))
        .count();
    let t0 = Instant::now();
    for r in rows {
        let k = key(&r.text);
        if cache.map.contains_key(&k) {
            continue;
        }
        let t = Instant::now();
        let w = emb.embed_windows(&r.text)?;
        lat.push((t.elapsed().as_secs_f64() * 1e6, r.text.len()));
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

// ---- logistic regression ----

struct Example {
    /// Training features: unit mean embedding.
    x: Vec<f32>,
    /// All window embeddings (evaluation takes the max over windows).
    windows: Vec<Vec<f32>>,
    margin: f32,
    y: bool,
    fold: usize,
    key: Key,
    text: String,
    direction: Direction,
}

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

    fn prob(&self, x: &[f32], margin: f32) -> f32 {
        let z: f32 =
            self.w.iter().zip(x).map(|(a, b)| a * b).sum::<f32>() + self.mw * margin + self.b;
        sigmoid(z)
    }

    fn prob_max(&self, ex: &Example) -> f32 {
        ex.windows
            .iter()
            .map(|w| self.prob(w, ex.margin))
            .fold(0.0, f32::max)
    }
}

const EPOCHS: usize = 400;
const LR: f32 = 0.5;

fn train(data: &[&Example], dim: usize, l2: f32) -> Model {
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
            let err = m.prob(&ex.x, ex.margin) - if ex.y { 1.0 } else { 0.0 };
            for (g, x) in gw.iter_mut().zip(&ex.x) {
                *g += err * x;
            }
            gm += err * ex.margin;
            gb += err;
        }
        for i in 0..dim {
            let g = gw[i] / n + l2 * m.w[i];
            gw2[i] += g * g;
            m.w[i] -= LR * g / gw2[i].sqrt();
        }
        let g = gm / n + l2 * m.mw;
        gm2 += g * g;
        m.mw -= LR * g / gm2.sqrt();
        let g = gb / n;
        gb2 += g * g;
        m.b -= LR * g / gb2.sqrt();
    }
    m
}

fn group_fold(text: &str) -> usize {
    let g: String = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .take(48)
        .collect();
    let h = Sha256::digest(g.as_bytes());
    (u64::from_le_bytes(h[..8].try_into().unwrap_or([0; 8])) % 5) as usize
}

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

fn cascade(
    data: &[Example],
    head_p: &HashMap<Key, f32>,
    band: [f32; 2],
    fast: &FastModels,
) -> Result<Vec<(f32, bool)>, Box<dyn Error>> {
    let cfg = InjectionConfig {
        model_band: Some(band),
        ..InjectionConfig::default()
    };
    let replay = Arc::new(Replay(head_p.clone()));
    let mut out = vec![(0f32, false); data.len()];
    for fold in 0..5 {
        let det = fast.detector(fold, &cfg)?.with_attack_model(replay.clone());
        for (i, e) in data.iter().enumerate().filter(|(_, e)| e.fold == fold) {
            out[i] = (det.score(&e.text, e.direction).score, e.y);
        }
    }
    Ok(out)
}

/// Trains the fast layers once per fold with `trainer` (gatehouse-detect's `train_injection`
/// example, `--quick`) on the training lines outside the fold.
fn train_fast_models(
    trainer: &std::path::Path,
    lines: &[(&str, usize)],
) -> Result<FastModels, Box<dyn Error>> {
    let dir = std::env::temp_dir().join(format!("gatehouse-fast-folds-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut models = Vec::new();
    for fold in 0..5 {
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
            .status()?;
        if !st.success() {
            return Err(format!("fast-layer training for fold {fold} failed: {st}").into());
        }
        models.push(Some(std::fs::read(&out)?));
        eprintln!("  fast layers for fold {fold} trained");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(FastModels(models))
}

fn threshold_at_1pct(scores: &[(f32, bool)]) -> f32 {
    let (_, t) = eval::tpr_at_fpr(scores, 0.01);
    if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        1.0
    }
}

fn examples(
    rows: &[eval::Row],
    cache: &Cache,
    dets: &[InjectionDetector],
) -> Result<Vec<Example>, Box<dyn Error>> {
    rows.iter()
        .map(|r| {
            let k = key(&r.text);
            let windows = cache.map.get(&k).ok_or("embedding missing")?.clone();
            let mut x = vec![0f32; cache.dim];
            for w in &windows {
                for (a, b) in x.iter_mut().zip(w) {
                    *a += b;
                }
            }
            let norm = x.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            x.iter_mut().for_each(|v| *v /= norm);
            let direction = r.direction.unwrap_or(Direction::Input);
            let fold = group_fold(&r.text);
            let det = dets.get(fold).or(dets.first()).ok_or("no detector")?;
            Ok(Example {
                x,
                windows,
                margin: det.fast_score(&r.text, direction).margin,
                y: r.is_attack(),
                fold,
                key: k,
                text: r.text.clone(),
                direction,
            })
        })
        .collect()
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
    let fast = InjectionDetector::new(&InjectionConfig::default())?;

    let train_text = std::fs::read_to_string(&a.train)?;
    let rows = eval::parse_jsonl(&train_text)?;
    let lines: Vec<&str> = train_text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let fast_models = match &a.fast_trainer {
        Some(t) => {
            let lines: Vec<(&str, usize)> = lines
                .iter()
                .zip(&rows)
                .map(|(l, r)| (*l, group_fold(&r.text)))
                .collect();
            eprintln!("training the fast layers once per fold …");
            train_fast_models(t, &lines)?
        }
        None => {
            eprintln!(
                "WARNING: no --fast-trainer: the committed fast layers (trained on this file) \
                 give in-sample margins; the band and the margin weight will be biased"
            );
            FastModels(vec![None; 5])
        }
    };
    let fold_dets: Vec<InjectionDetector> = (0..5)
        .map(|f| fast_models.detector(f, &InjectionConfig::default()))
        .collect::<Result<_, _>>()?;
    let file_sha = hex::encode(Sha256::digest(train_text.as_bytes()));
    eprintln!("train: {} rows; embedding …", rows.len());
    let lat = embed_all(&emb, &mut cache, &rows)?;
    print_latency("train", &lat);
    let data = examples(&rows, &cache, &fold_dets)?;
    let n_attack = data.iter().filter(|e| e.y).count();
    println!(
        "train: {} texts ({} attack), {} with several windows",
        data.len(),
        n_attack,
        data.iter().filter(|e| e.windows.len() > 1).count()
    );

    // Out-of-fold head probabilities for each L2 strength.
    let mut best: Option<(f64, f64, f32, HashMap<Key, f32>)> = None;
    for l2 in [1e-4f32, 1e-3, 1e-2] {
        let mut oof: HashMap<Key, f32> = HashMap::new();
        for fold in 0..5 {
            let tr: Vec<&Example> = data.iter().filter(|e| e.fold != fold).collect();
            let m = train(&tr, dim, l2);
            for e in data.iter().filter(|e| e.fold == fold) {
                oof.insert(e.key, m.prob_max(e));
            }
        }
        let s: Vec<(f32, bool)> = data.iter().map(|e| (oof[&e.key], e.y)).collect();
        let (tpr, _) = eval::tpr_at_fpr(&s, 0.01);
        let auc = eval::roc_auc(&s);
        println!(
            "L2 {l2:e}: out-of-fold head alone: TPR@1%FPR {:.3}, ROC AUC {auc:.4}",
            tpr
        );
        if best.as_ref().is_none_or(|b| (tpr, auc) > (b.0, b.1)) {
            best = Some((tpr, auc, l2, oof));
        }
    }
    let (_, _, l2, oof) = best.ok_or("no L2 candidate")?;

    // Band: the full cascade (floors included) with the out-of-fold head.
    let every = cascade(&data, &oof, [0.0, 1.01], &fast_models)?;
    let (tpr_all, _) = eval::tpr_at_fpr(&every, 0.01);
    let fast_only: Vec<(f32, bool)> = data
        .iter()
        .map(|e| (fold_dets[e.fold].score(&e.text, e.direction).score, e.y))
        .collect();
    println!(
        "out-of-fold TPR@1%FPR: fast layers alone {:.3}, head on every text {:.3}",
        eval::tpr_at_fpr(&fast_only, 0.01).0,
        tpr_all
    );
    let fast_p: Vec<f32> = data
        .iter()
        .map(|e| {
            fold_dets[e.fold]
                .fast_score(&e.text, e.direction)
                .probability
        })
        .collect();
    let los = [0.0f32, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3];
    let his = [
        0.5f32, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1.01,
    ];
    let mut chosen: Option<([f32; 2], usize, f64)> = None;
    for lo in los {
        for hi in his {
            let reach = fast_p.iter().filter(|p| **p >= lo && **p < hi).count();
            if chosen.as_ref().is_some_and(|c| reach > c.1) {
                continue;
            }
            let s = cascade(&data, &oof, [lo, hi], &fast_models)?;
            let (tpr, _) = eval::tpr_at_fpr(&s, 0.01);
            if tpr + 0.005 >= tpr_all
                && chosen
                    .as_ref()
                    .is_none_or(|c| reach < c.1 || (reach == c.1 && hi - lo < c.0[1] - c.0[0]))
            {
                chosen = Some(([lo, hi], reach, tpr));
            }
        }
    }
    let (band, reach, band_tpr) = chosen.ok_or("no band reaches the target")?;
    let band_scores = cascade(&data, &oof, band, &fast_models)?;
    let threshold = threshold_at_1pct(&band_scores);
    println!(
        "band [{}, {}): {:.1} % of training texts reach the transformer; out-of-fold cascade TPR@1%FPR {:.3}; threshold {:.4}",
        band[0],
        band[1],
        100.0 * reach as f64 / data.len() as f64,
        band_tpr,
        threshold
    );

    // Final head on all training rows.
    let all: Vec<&Example> = data.iter().collect();
    let m = train(&all, dim, l2);
    let trained_on = format!(
        "injection/train.jsonl ({} rows, sha256 {}); L2 {l2:e}, mean of windows, {EPOCHS} AdaGrad epochs; \
         fast margins {}; 5-fold group CV: cascade TPR@1%FPR {band_tpr:.3} with {:.1} % of texts in the band",
        data.len(),
        &file_sha[..16],
        if a.fast_trainer.is_some() {
            "out-of-fold (train_injection --quick per fold)"
        } else {
            "in-sample"
        },
        100.0 * reach as f64 / data.len() as f64
    );
    let head = m.head(band, threshold, trained_on);
    head.validate()?;
    let json = serde_json::to_string(&head)?;
    SemanticHead::from_json(&json)?;
    std::fs::write(&a.out, format!("{json}\n"))?;
    println!("wrote {}", a.out.display());

    if let Some(dev) = &a.dev {
        let dev_rows = eval::parse_jsonl(&std::fs::read_to_string(dev)?)?;
        let lat = embed_all(&emb, &mut cache, &dev_rows)?;
        print_latency("dev", &lat);
        let dd = examples(&dev_rows, &cache, std::slice::from_ref(&fast))?;
        let p: HashMap<Key, f32> = dd.iter().map(|e| (e.key, m.prob_max(e))).collect();
        let fast_cfg = InjectionConfig::default();
        let casc_cfg = InjectionConfig {
            model_band: Some(band),
            threshold: Some(threshold),
            ..InjectionConfig::default()
        };
        let f = InjectionDetector::new(&fast_cfg)?;
        let c = InjectionDetector::new(&casc_cfg)?.with_attack_model(Arc::new(Replay(p)));
        let reach = dd
            .iter()
            .filter(|e| {
                let q = f.fast_score(&e.text, e.direction).probability;
                q >= band[0] && q < band[1]
            })
            .count();
        println!(
            "dev (measured only, nothing tuned on it): {} rows",
            dd.len()
        );
        println!(
            "dev: {:.1} % of texts reach the transformer",
            100.0 * reach as f64 / dd.len().max(1) as f64
        );
        println!(
            "--- fast layers alone ---\n{}",
            eval::evaluate(&f, &dev_rows)
        );
        println!(
            "--- cascade with the semantic head ---\n{}",
            eval::evaluate(&c, &dev_rows)
        );
    }

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
