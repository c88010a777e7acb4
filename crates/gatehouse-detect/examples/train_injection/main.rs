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
//! Training data: `train.jsonl` plus the synthetic rows of `synth.rs` and `synth2.rs` (written
//! for this project; always in the training side of every fold, never scored: every reported
//! number is measured on real rows only).
//!
//! Two 5-fold cross-validation protocols over the real rows:
//!
//! - `prefix`: groups = the first 48 normalised characters (same e-mail context, same jailbreak
//!   template, same application prompt land in the same fold): in-distribution quality;
//! - `source`: groups = the upstream `source` field, so every family (BIPIA, GCG suffixes, one
//!   latent-injection probe …) is scored by a model that never saw it: the estimate of
//!   generalisation to unseen attack families.
//!
//! Hyper-parameters (L2 strength, epochs, the weight of synthetic rows) are chosen by the sum of
//! ROC AUC and TPR at 1 % FPR under both protocols; Platt calibration, the floor gate and the
//! decision threshold (≤ 1 % FPR) on the `prefix` protocol's out-of-fold scores. `--dev` is only
//! measured, after everything is chosen.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod banks;
mod synth;
mod synth2;

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
    /// Fold keys (real rows): by text prefix and by upstream source. `None`: synthetic.
    groups: Option<(u64, u64)>,
    /// Synthetic rows are weighted by `--synth-weight`.
    synthetic: bool,
    text: String,
    kind_name: String,
    /// Source family for the per-family report (real rows).
    family: String,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Protocol {
    Prefix,
    Source,
}

/// The family a `source` belongs to, for reports: `garak/<probe family>`, else the first
/// path component.
fn family(source: &str) -> String {
    let mut parts = source.split('/');
    let first = parts.next().unwrap_or("").split(':').next().unwrap_or("");
    if first == "garak" {
        format!(
            "garak/{}",
            parts.next().unwrap_or("").split(':').next().unwrap_or("")
        )
    } else {
        first.to_owned()
    }
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
    synth_weight: f32,
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
            let g = (sigmoid(m) - if y { 1.0 } else { 0.0 })
                * if ex.synthetic { h.synth_weight } else { 1.0 };
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
    let mut log2_dim: u32 = 18;
    let mut dump = None;
    let mut synth_scale: usize = 3000;
    let mut synth_weight: Option<f32> = None;
    let mut print_synth: Option<usize> = None;
    let mut exclude_family: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--train" => train_path = args.next(),
            "--dev" => dev_path = args.next(),
            "--out" => out_path = args.next(),
            "--quick" => quick = true,
            "--log2-dim" => log2_dim = args.next().map(|v| v.parse()).transpose()?.unwrap_or(18),
            "--dump-oof" => dump = args.next(),
            "--synth-scale" => {
                synth_scale = args.next().map(|v| v.parse()).transpose()?.unwrap_or(3000)
            }
            "--synth-weight" => synth_weight = args.next().map(|v| v.parse()).transpose()?,
            "--print-synth" => print_synth = args.next().map(|v| v.parse()).transpose()?,
            // Diagnostics: train without the real rows of one source family.
            "--exclude-family" => exclude_family = args.next(),
            // Kept for old command lines: both protocols always run now.
            "--group-by-source" => {}
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    if let Some(n) = print_synth {
        // Review aid: every k-th synthetic row of the generator, with its label and group.
        let rows = synth2::generate(20_261_207, synth_scale);
        let step = (rows.len() / n.max(1)).max(1);
        for s in rows.iter().step_by(step) {
            println!(
                "=== {} kind {} group {}
{}",
                if s.attack { "ATTACK" } else { "benign" },
                s.kind,
                s.group,
                s.text
            );
        }
        return Ok(());
    }
    let train_path = train_path.ok_or("--train FILE is required")?;
    let out_path = out_path.ok_or("--out FILE is required")?;

    // The featuriser needs no model: build a signatures-only detector.
    let feat_cfg = InjectionConfig {
        classifier: false,
        ..InjectionConfig::default()
    };
    let fx = InjectionDetector::new(&feat_cfg)?;

    let mut rows = eval::parse_jsonl(&std::fs::read_to_string(&train_path)?)?;
    if let Some(f) = &exclude_family {
        rows.retain(|r| &family(&r.source) != f);
    }
    let mut synth_rows = synth::generate(20_240_611);
    synth_rows.extend(synth2::generate(20_261_207, synth_scale));
    eprintln!(
        "train: {} rows from {train_path}, {} synthetic",
        rows.len(),
        synth_rows.len()
    );
    let mut data: Vec<Example> = Vec::new();
    let mut add = |text: &str,
                   y: bool,
                   kind: u8,
                   kind_name: &str,
                   groups: Option<(u64, u64)>,
                   family: String| {
        let mut x = Vec::new();
        let mut kx = Vec::new();
        fx.for_each_feature(text, |h, v| {
            x.push((main_index(h, log2_dim) as u32, hash_sign(h) * v));
        });
        if y {
            fx.for_each_kind_feature(text, |h, v| {
                kx.push((kind_index(h, LOG2_KDIM) as u32, hash_sign(h) * v));
            });
        }
        data.push(Example {
            x: merge(x),
            kx: merge(kx),
            y,
            kind,
            synthetic: groups.is_none(),
            groups,
            text: text.to_owned(),
            kind_name: kind_name.to_owned(),
            family,
        });
    };
    for r in &rows {
        add(
            &r.text,
            r.is_attack(),
            kind_code(&r.kind),
            &r.kind,
            Some((group_key(&r.text), group_key(&r.source))),
            family(&r.source),
        );
    }
    let n_real = rows.len();
    for s in &synth_rows {
        let kn = if s.attack {
            ["injection", "jailbreak", "extraction"][s.kind as usize]
        } else {
            "synthetic_benign"
        };
        add(&s.text, s.attack, s.kind, kn, None, "synthetic".to_owned());
    }
    let dim = 1usize << log2_dim;
    let kdim = 1usize << LOG2_KDIM;
    let fold_of = |ex: &Example, p: Protocol| -> Option<usize> {
        ex.groups.map(|(prefix, source)| {
            let g = if p == Protocol::Prefix {
                prefix
            } else {
                source
            };
            (g % FOLDS as u64) as usize
        })
    };

    // ---- cross-validation over a small grid -------------------------------------------------
    let weights: Vec<f32> = match synth_weight {
        Some(w) => vec![w],
        None if quick => vec![0.35],
        None => vec![0.2, 0.35, 0.5],
    };
    let mut grid: Vec<Hyper> = Vec::new();
    for &sw in &weights {
        let base: &[(f32, usize, f32)] = if quick {
            &[(1e-5, 8, 0.2)]
        } else {
            &[(1e-6, 8, 0.2), (1e-5, 8, 0.2), (1e-4, 8, 0.2)]
        };
        for &(l2, epochs, lr) in base {
            grid.push(Hyper {
                l2,
                epochs,
                lr,
                synth_weight: sw,
            });
        }
    }
    // Out-of-fold margins of the real rows under one protocol, and the fold models.
    type FoldModels = Vec<(Vec<f32>, f32)>;
    let run_cv = |h: Hyper, p: Protocol| -> (Vec<(f32, bool)>, FoldModels) {
        let mut oof = vec![(0f32, false); n_real];
        let mut models = Vec::new();
        for f in 0..FOLDS {
            let tr: Vec<&Example> = data.iter().filter(|e| fold_of(e, p) != Some(f)).collect();
            let (w, b) = train_lr(&tr, dim, h, |e| Some(e.y), |e| &e.x, 7 + f as u64);
            for (i, e) in data.iter().enumerate().take(n_real) {
                if fold_of(e, p) == Some(f) {
                    oof[i] = (margin(&w, b, &e.x), e.y);
                }
            }
            models.push((w, b));
        }
        (oof, models)
    };
    type Best = (
        f64,
        Hyper,
        Vec<(f32, bool)>,
        Vec<(Vec<f32>, f32)>,
        Vec<(Vec<f32>, f32)>,
    );
    let mut best: Option<Best> = None;
    for h in grid {
        let (oof_p, models_p) = run_cv(h, Protocol::Prefix);
        let (oof_s, models_s) = run_cv(h, Protocol::Source);
        let (auc_p, auc_s) = (eval::roc_auc(&oof_p), eval::roc_auc(&oof_s));
        let (tpr_p, _) = eval::tpr_at_fpr(&oof_p, TARGET_FPR);
        let (tpr_s, _) = eval::tpr_at_fpr(&oof_s, TARGET_FPR);
        let obj = auc_p + auc_s + tpr_p + tpr_s;
        eprintln!(
            "cv {h:?}: prefix AUC {auc_p:.4} TPR@1% {tpr_p:.4} | source AUC {auc_s:.4} TPR@1% {tpr_s:.4}"
        );
        if best.as_ref().is_none_or(|b| obj > b.0) {
            best = Some((obj, h, oof_p, models_p, models_s));
        }
    }
    let (_, hyper, oof, fold_models, source_models) = best.ok_or("empty grid")?;
    let platt_ab = platt(&oof);
    eprintln!(
        "chosen {hyper:?}; platt a={:.4} b={:.4}",
        platt_ab.0, platt_ab.1
    );

    // Out-of-fold *final* scores (signature floors included) to choose the floor gate and the
    // threshold (prefix protocol), then the same for the source protocol, reported.
    let to_bytes = |models: Vec<(Vec<f32>, f32)>| -> Vec<Vec<u8>> {
        models
            .into_iter()
            .map(|(w, b)| weights_from(log2_dim, w, b, None, platt_ab, 0.5, 0.0).encode())
            .collect()
    };
    let fold_bytes = to_bytes(fold_models);
    let source_bytes = to_bytes(source_models);
    let final_scores =
        |bytes: &[Vec<u8>], p: Protocol, gate: f32| -> Result<Vec<(f32, bool)>, Box<dyn Error>> {
            let cfg = InjectionConfig {
                floor_gate: Some(gate.min(1.0)),
                signature_floors: gate <= 1.0,
                ..InjectionConfig::default()
            };
            let mut scores = vec![(0f32, false); n_real];
            for (f, b) in bytes.iter().enumerate() {
                let det = InjectionDetector::with_model(&cfg, b)?;
                for (i, e) in data.iter().enumerate().take(n_real) {
                    if fold_of(e, p) == Some(f) {
                        scores[i] = (det.score(&e.text, Direction::Input).score, e.y);
                    }
                }
            }
            Ok(scores)
        };
    type BestGate = (f64, f32, Vec<(f32, bool)>);
    let mut best_gate: Option<BestGate> = None;
    for gate in [0.0f32, 0.05, 0.1, 0.2, 0.3, 0.5, 1.01] {
        let scores = final_scores(&fold_bytes, Protocol::Prefix, gate)?;
        let (tpr, _) = eval::tpr_at_fpr(&scores, TARGET_FPR);
        eprintln!("cv floor gate {gate}: TPR@1%FPR {tpr:.4}");
        if best_gate.as_ref().is_none_or(|b| tpr > b.0 + 1e-9) {
            best_gate = Some((tpr, gate, scores));
        }
    }
    let (_, floor_gate, oof_final) = best_gate.ok_or("no gate")?;
    let (cv_tpr, threshold) = eval::tpr_at_fpr(&oof_final, TARGET_FPR);
    let threshold = threshold.clamp(0.05, 0.99);
    let src_final = final_scores(&source_bytes, Protocol::Source, floor_gate)?;
    for (name, scores) in [("prefix", &oof_final), ("source", &src_final)] {
        let (tpr1, _) = eval::tpr_at_fpr(scores, TARGET_FPR);
        let (tpr5, _) = eval::tpr_at_fpr(scores, 0.05);
        eprintln!(
            "cv final score, protocol {name} (gate {floor_gate}): ROC AUC {:.4}  TPR@1%FPR {tpr1:.4}  TPR@5%FPR {tpr5:.4}",
            eval::roc_auc(scores)
        );
        let mut by: std::collections::BTreeMap<(String, String), (usize, usize)> =
            std::collections::BTreeMap::new();
        for (i, e) in data.iter().enumerate().take(n_real) {
            let ent = by
                .entry((e.family.clone(), e.kind_name.clone()))
                .or_default();
            ent.1 += 1;
            if scores[i].0 >= threshold {
                ent.0 += 1;
            }
        }
        for ((fam, kind), (d, n)) in by {
            eprintln!(
                "    flagged at {threshold:.3}: {fam:<28} {kind:<15} {d:>5}/{n:<5} {:.2}",
                d as f64 / n as f64
            );
        }
    }
    eprintln!(
        "chosen floor gate {floor_gate}, threshold {threshold:.4} (prefix CV TPR@1%FPR {cv_tpr:.4})"
    );
    if let Some(p) = &dump {
        let mut s = String::new();
        for (i, e) in data.iter().enumerate().take(n_real) {
            let t: String = e
                .text
                .chars()
                .take(300)
                .collect::<String>()
                .replace('\n', " ");
            s.push_str(&format!(
                "{:.4}\t{:.4}\t{}\t{}\t{}\t{}\n",
                oof_final[i].0, src_final[i].0, e.y, e.kind_name, e.family, t
            ));
        }
        std::fs::write(p, s)?;
    }

    // ---- final models on all data ----------------------------------------------------------
    let all: Vec<&Example> = data.iter().collect();
    let (w, b) = train_lr(&all, dim, hyper, |e| Some(e.y), |e| &e.x, 99);
    let kh = Hyper {
        l2: 1e-5,
        epochs: 8,
        lr: 0.2,
        synth_weight: hyper.synth_weight,
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
