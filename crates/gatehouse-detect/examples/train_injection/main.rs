//! Trains the injection classifier (logistic regression on hashed features) and writes the
//! committed weights file.
//!
//! ```text
//! cargo run --release -p gatehouse-detect --example train_injection -- \
//!     --train ../shared/datasets/injection/train.jsonl \
//!     --out crates/gatehouse-detect/models/injection-linear.bin \
//!     [--dev ../shared/datasets/injection/dev.jsonl]
//! ```
//!
//! Hyper-parameters (L2 strength, epochs), the Platt calibration and the decision threshold are
//! chosen by 5-fold group cross-validation on the training data (plus the synthetic rows of
//! `synth.rs`); groups are the first 48 normalised characters (same e-mail context, same
//! jailbreak template, same application prompt land in the same fold). `--dev` is only measured.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod synth;

use std::collections::HashMap;
use std::error::Error;

use gatehouse_core::Direction;
use gatehouse_detect::injection::{
    InjectionConfig, InjectionDetector, LinearWeights, eval, hash_sign, kind_index, main_index,
};

const LOG2_KDIM: u32 = 12;
const FOLDS: usize = 5;
const TARGET_FPR: f64 = 0.01;

struct Example {
    /// Merged (index, signed value) for the main head.
    x: Vec<(u32, f32)>,
    /// Merged (index, signed value) for the kind heads (attacks only).
    kx: Vec<(u32, f32)>,
    y: bool,
    kind: u8,
    group: u64,
    weight: f32,
    text: String,
    kind_name: String,
}

fn merge(mut v: Vec<(u32, f32)>) -> Vec<(u32, f32)> {
    v.sort_unstable_by_key(|p| p.0);
    let mut out: Vec<(u32, f32)> = Vec::with_capacity(v.len());
    for (i, x) in v {
        match out.last_mut() {
            Some(last) if last.0 == i => last.1 += x,
            _ => out.push((i, x)),
        }
    }
    out
}

fn group_key(text: &str) -> u64 {
    let key: String = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .take(48)
        .collect();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn kind_code(kind: &str) -> u8 {
    match kind {
        "jailbreak" => 1,
        "extraction" => 2,
        _ => 0,
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[derive(Clone, Copy, Debug)]
struct Hyper {
    l2: f32,
    epochs: usize,
    lr: f32,
}

/// AdaGrad logistic regression on sparse rows. Returns (weights, bias).
fn train_lr(
    rows: &[&Example],
    dim: usize,
    h: Hyper,
    label: impl Fn(&Example) -> Option<bool>,
    feats: impl Fn(&Example) -> &[(u32, f32)],
    seed: u64,
) -> (Vec<f32>, f32) {
    let mut w = vec![0f32; dim];
    let mut g2 = vec![1e-6f32; dim];
    let (mut b, mut gb2) = (0f32, 1e-6f32);
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut rng = synth::Rng::new(seed);
    for _ in 0..h.epochs {
        for i in (1..order.len()).rev() {
            let j = rng.below(i + 1);
            order.swap(i, j);
        }
        for &i in &order {
            let ex = rows[i];
            let Some(y) = label(ex) else { continue };
            let x = feats(ex);
            let mut m = b;
            for &(j, v) in x {
                m += w[j as usize] * v;
            }
            let g = (sigmoid(m) - if y { 1.0 } else { 0.0 }) * ex.weight;
            for &(j, v) in x {
                let j = j as usize;
                let grad = g * v + h.l2 * w[j];
                g2[j] += grad * grad;
                w[j] -= h.lr * grad / g2[j].sqrt();
            }
            gb2 += g * g;
            b -= h.lr * g / gb2.sqrt();
        }
    }
    (w, b)
}

fn margin(w: &[f32], b: f32, x: &[(u32, f32)]) -> f32 {
    b + x.iter().map(|&(j, v)| w[j as usize] * v).sum::<f32>()
}

/// Log-loss of Platt parameters on (margin, label).
fn platt_loss(scores: &[(f32, bool)], a: f64, c: f64) -> f64 {
    scores
        .iter()
        .map(|&(m, y)| {
            let z = a * f64::from(m) + c;
            // log(1 + e^z) - y·z, computed stably.
            let softplus = if z > 0.0 {
                z + (-z).exp().ln_1p()
            } else {
                z.exp().ln_1p()
            };
            softplus - if y { z } else { 0.0 }
        })
        .sum()
}

/// Platt scaling: damped Newton steps with backtracking (never increases the loss).
fn platt(scores: &[(f32, bool)]) -> (f32, f32) {
    let (mut a, mut c) = (1.0f64, 0.0f64);
    let mut loss = platt_loss(scores, a, c);
    for _ in 0..100 {
        let (mut ga, mut gc, mut haa, mut hac, mut hcc) = (0.0, 0.0, 1e-6, 0.0, 1e-6);
        for &(m, y) in scores {
            let m = f64::from(m);
            let p = 1.0 / (1.0 + (-(a * m + c)).exp());
            let d = p - if y { 1.0 } else { 0.0 };
            ga += d * m;
            gc += d;
            let s = p * (1.0 - p);
            haa += s * m * m;
            hac += s * m;
            hcc += s;
        }
        let det = haa * hcc - hac * hac;
        let (da, dc) = if det.abs() > 1e-12 {
            ((hcc * ga - hac * gc) / det, (haa * gc - hac * ga) / det)
        } else {
            (ga * 1e-3, gc * 1e-3)
        };
        let mut step = 1.0;
        let mut improved = false;
        while step > 1e-6 {
            let (na, nc) = (a - step * da, c - step * dc);
            let nl = platt_loss(scores, na, nc);
            if nl.is_finite() && nl < loss {
                (a, c, loss) = (na, nc, nl);
                improved = true;
                break;
            }
            step /= 2.0;
        }
        if !improved {
            break;
        }
    }
    (a as f32, c as f32)
}

fn weights_from(
    log2_dim: u32,
    w: Vec<f32>,
    b: f32,
    kind: Option<&[(Vec<f32>, f32); 3]>,
    platt_ab: (f32, f32),
    threshold: f32,
    floor_gate: f32,
) -> LinearWeights {
    let kdim = 1usize << LOG2_KDIM;
    let mut kind_weights = vec![0f32; 3 * kdim];
    let mut kind_bias = [0f32; 3];
    if let Some(k) = kind {
        for (h, (kw, kb)) in k.iter().enumerate() {
            kind_weights[h * kdim..(h + 1) * kdim].copy_from_slice(kw);
            kind_bias[h] = *kb;
        }
    }
    LinearWeights {
        log2_dim,
        log2_kind_dim: LOG2_KDIM,
        bias: b,
        weights: w,
        platt_a: platt_ab.0,
        platt_b: platt_ab.1,
        threshold,
        floor_gate,
        kind_bias,
        kind_weights,
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut train_path = None;
    let mut dev_path = None;
    let mut out_path = None;
    let mut quick = false;
    let mut log2_dim: u32 = 16;
    let mut dump = None;
    let mut group_by_source = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--train" => train_path = args.next(),
            "--dev" => dev_path = args.next(),
            "--out" => out_path = args.next(),
            "--quick" => quick = true,
            "--log2-dim" => log2_dim = args.next().map(|v| v.parse()).transpose()?.unwrap_or(16),
            "--dump-oof" => dump = args.next(),
            "--group-by-source" => group_by_source = true,
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let train_path = train_path.ok_or("--train FILE is required")?;
    let out_path = out_path.ok_or("--out FILE is required")?;

    // The featuriser needs no model: build a signatures-only detector.
    let feat_cfg = InjectionConfig {
        classifier: false,
        ..InjectionConfig::default()
    };
    let fx = InjectionDetector::new(&feat_cfg)?;

    let rows = eval::parse_jsonl(&std::fs::read_to_string(&train_path)?)?;
    let synth_rows = synth::generate(20_240_611);
    eprintln!(
        "train: {} rows from {train_path}, {} synthetic",
        rows.len(),
        synth_rows.len()
    );
    let mut data: Vec<Example> = Vec::new();
    let mut add = |text: &str, y: bool, kind: u8, kind_name: &str, group: u64, weight: f32| {
        let mut x = Vec::new();
        let mut kx = Vec::new();
        fx.for_each_feature(text, |h, v| {
            let s = hash_sign(h) * v;
            x.push((main_index(h, log2_dim) as u32, s));
            if y {
                kx.push((kind_index(h, LOG2_KDIM) as u32, s));
            }
        });
        data.push(Example {
            x: merge(x),
            kx: merge(kx),
            y,
            kind,
            group,
            weight,
            text: text.to_owned(),
            kind_name: kind_name.to_owned(),
        });
    };
    for r in &rows {
        // Default groups: first 48 normalised characters. `--group-by-source` (a harsher estimate
        // of generalisation to unseen attack families) groups by the row's `source` instead.
        let group = if group_by_source {
            group_key(&r.source)
        } else {
            group_key(&r.text)
        };
        add(
            &r.text,
            r.is_attack(),
            kind_code(&r.kind),
            &r.kind,
            group,
            1.0,
        );
    }
    for s in &synth_rows {
        let kn = if s.attack {
            ["injection", "jailbreak", "extraction"][s.kind as usize]
        } else {
            "synthetic_benign"
        };
        add(&s.text, s.attack, s.kind, kn, group_key(&s.group), 1.0);
    }
    let dim = 1usize << log2_dim;
    let kdim = 1usize << LOG2_KDIM;
    let fold_of = |ex: &Example| (ex.group % FOLDS as u64) as usize;

    // ---- cross-validation over a small grid -------------------------------------------------
    let grid: Vec<Hyper> = if quick {
        vec![Hyper {
            l2: 1e-5,
            epochs: 8,
            lr: 0.2,
        }]
    } else {
        vec![
            Hyper {
                l2: 1e-6,
                epochs: 8,
                lr: 0.2,
            },
            Hyper {
                l2: 1e-5,
                epochs: 8,
                lr: 0.2,
            },
            Hyper {
                l2: 1e-4,
                epochs: 8,
                lr: 0.2,
            },
            Hyper {
                l2: 1e-5,
                epochs: 16,
                lr: 0.1,
            },
        ]
    };
    type Best = (f64, Hyper, Vec<(f32, bool)>, Vec<(Vec<f32>, f32)>);
    let mut best: Option<Best> = None;
    for h in grid {
        let mut oof = vec![(0f32, false); data.len()];
        let mut fold_models = Vec::new();
        for f in 0..FOLDS {
            let tr: Vec<&Example> = data.iter().filter(|e| fold_of(e) != f).collect();
            let (w, b) = train_lr(&tr, dim, h, |e| Some(e.y), |e| &e.x, 7 + f as u64);
            for (i, e) in data.iter().enumerate() {
                if fold_of(e) == f {
                    oof[i] = (margin(&w, b, &e.x), e.y);
                }
            }
            fold_models.push((w, b));
        }
        let auc = eval::roc_auc(&oof);
        let (tpr, _) = eval::tpr_at_fpr(&oof, TARGET_FPR);
        let obj = tpr + auc;
        eprintln!("cv {h:?}: ROC AUC {auc:.4}  TPR@1%FPR {tpr:.4}");
        if best.as_ref().is_none_or(|b| obj > b.0) {
            best = Some((obj, h, oof, fold_models));
        }
    }
    let (_, hyper, oof, fold_models) = best.ok_or("empty grid")?;
    let platt_ab = platt(&oof);
    eprintln!(
        "chosen {hyper:?}; platt a={:.4} b={:.4}",
        platt_ab.0, platt_ab.1
    );

    // Out-of-fold *final* scores (signature floors included) to choose the floor gate and the
    // threshold.
    let fold_bytes: Vec<Vec<u8>> = fold_models
        .into_iter()
        .map(|(w, b)| weights_from(log2_dim, w, b, None, platt_ab, 0.5, 0.0).encode())
        .collect();
    type BestGate = (f64, f32, Vec<(f32, bool)>);
    let mut best_gate: Option<BestGate> = None;
    for gate in [0.0f32, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.01] {
        let cfg = InjectionConfig {
            floor_gate: Some(gate.min(1.0)),
            signature_floors: gate <= 1.0,
            ..InjectionConfig::default()
        };
        let mut scores = vec![(0f32, false); data.len()];
        for (f, bytes) in fold_bytes.iter().enumerate() {
            let det = InjectionDetector::with_model(&cfg, bytes)?;
            for (i, e) in data.iter().enumerate() {
                if fold_of(e) == f {
                    scores[i] = (det.score(&e.text, Direction::Input).score, e.y);
                }
            }
        }
        let (tpr, _) = eval::tpr_at_fpr(&scores, TARGET_FPR);
        eprintln!("cv floor gate {gate}: TPR@1%FPR {tpr:.4}");
        if best_gate.as_ref().is_none_or(|b| tpr > b.0 + 1e-9) {
            best_gate = Some((tpr, gate, scores));
        }
    }
    let (_, floor_gate, oof_final) = best_gate.ok_or("no gate")?;
    let (cv_tpr, threshold) = eval::tpr_at_fpr(&oof_final, TARGET_FPR);
    let threshold = threshold.clamp(0.05, 0.99);
    eprintln!(
        "cv final score (gate {floor_gate}): ROC AUC {:.4}  TPR@1%FPR {:.4}  threshold {:.4}",
        eval::roc_auc(&oof_final),
        cv_tpr,
        threshold
    );
    if let Some(p) = &dump {
        let mut s = String::new();
        for (i, e) in data.iter().enumerate() {
            let t: String = e
                .text
                .chars()
                .take(300)
                .collect::<String>()
                .replace('\n', " ");
            s.push_str(&format!(
                "{:.4}\t{}\t{}\t{}\n",
                oof_final[i].0, e.y, e.kind_name, t
            ));
        }
        std::fs::write(p, s)?;
    }
    let mut by_kind: HashMap<&str, (usize, usize)> = HashMap::new();
    for (i, e) in data.iter().enumerate() {
        let hit = oof_final[i].0 >= threshold;
        let ent = by_kind.entry(e.kind_name.as_str()).or_default();
        ent.1 += 1;
        if hit {
            ent.0 += 1;
        }
    }
    let mut kinds: Vec<_> = by_kind.into_iter().collect();
    kinds.sort();
    for (k, (d, n)) in kinds {
        eprintln!("  cv flagged {k:<18} {d}/{n}");
    }

    // ---- final models on all data ----------------------------------------------------------
    let all: Vec<&Example> = data.iter().collect();
    let (w, b) = train_lr(&all, dim, hyper, |e| Some(e.y), |e| &e.x, 99);
    let kh = Hyper {
        l2: 1e-5,
        epochs: 8,
        lr: 0.2,
    };
    let heads: [(Vec<f32>, f32); 3] = std::array::from_fn(|k| {
        train_lr(
            &all,
            kdim,
            kh,
            |e| e.y.then_some(e.kind == k as u8),
            |e| &e.kx,
            200 + k as u64,
        )
    });
    let lw = weights_from(
        log2_dim,
        w,
        b,
        Some(&heads),
        platt_ab,
        threshold,
        floor_gate.min(1.0),
    );
    let bytes = lw.encode();
    std::fs::write(&out_path, &bytes)?;
    eprintln!("wrote {out_path} ({} bytes)", bytes.len());

    if let Some(dev) = dev_path {
        let det = InjectionDetector::with_model(&InjectionConfig::default(), &bytes)?;
        let rows = eval::parse_jsonl(&std::fs::read_to_string(&dev)?)?;
        let report = eval::evaluate(&det, &rows);
        println!("dev ({dev}):\n{report}");
    }
    Ok(())
}
