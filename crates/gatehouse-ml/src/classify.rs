//! Bring-your-own sequence classifier (`…ForSequenceClassification` of BERT, DeBERTa-v2/v3,
//! RoBERTa and XLM-R).

use std::path::PathBuf;

use candle_core::{D, Module};
use gatehouse_detect::models::{AttackModel, FastScore, ModelError};
use serde::{Deserialize, Serialize};

use crate::backbone::{Encoder, ModelFiles, Pooler};
use crate::error::{Error, Result};

/// Words that mark a label as an attack label when `attack_labels` is not configured
/// (case-insensitive substring match).
const ATTACK_WORDS: [&str; 5] = ["injection", "jailbreak", "malicious", "unsafe", "attack"];
/// Most windows scored per text (first and last half kept beyond that).
const MAX_WINDOWS: usize = 16;
/// Windows per forward pass (bounds memory at 512 tokens per window).
const BATCH: usize = 4;

/// Options of a [`SequenceClassifier`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceClassifierOptions {
    /// Model directory (`config.json`, `model.safetensors`, `tokenizer.json`).
    pub dir: PathBuf,
    /// Labels (names from `id2label`, case-insensitive) whose probabilities are summed into
    /// the attack probability. Default: the labels whose name contains injection, jailbreak,
    /// malicious, unsafe or attack; an error when there are none (e.g. `LABEL_0`/`LABEL_1`).
    #[serde(default)]
    pub attack_labels: Vec<String>,
    /// Tokens per window, special tokens included (default 512, at most
    /// `max_position_embeddings`).
    #[serde(default)]
    pub max_tokens: Option<usize>,
    /// Content tokens between window starts (default half the window).
    #[serde(default)]
    pub stride: Option<usize>,
}

impl SequenceClassifierOptions {
    /// Options with defaults for `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SequenceClassifierOptions {
            dir: dir.into(),
            attack_labels: Vec::new(),
            max_tokens: None,
            stride: None,
        }
    }
}

/// A fine-tuned sequence classifier used as the cascade's attack model: the attack
/// probability is the softmax mass of the attack labels, maximum over overlapping windows.
pub struct SequenceClassifier {
    encoder: Encoder,
    pooler: Pooler,
    classifier: candle_nn::Linear,
    labels: Vec<String>,
    attack: Vec<bool>,
    max_tokens: usize,
    stride: usize,
    model_type: &'static str,
}

impl std::fmt::Debug for SequenceClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SequenceClassifier")
            .field("model_type", &self.model_type)
            .field("labels", &self.labels)
            .field("attack", &self.attack)
            .field("max_tokens", &self.max_tokens)
            .field("stride", &self.stride)
            .finish_non_exhaustive()
    }
}

/// Which of `labels` are attack labels, from the configured names or the default words.
fn attack_mask(labels: &[String], configured: &[String]) -> Result<Vec<bool>> {
    if configured.is_empty() {
        let mask: Vec<bool> = labels
            .iter()
            .map(|l| {
                let l = l.to_lowercase();
                ATTACK_WORDS.iter().any(|w| l.contains(w))
            })
            .collect();
        if !mask.iter().any(|m| *m) {
            return Err(Error::Config(format!(
                "sequence classifier: no label of {labels:?} looks like an attack label; \
                 set attack_labels"
            )));
        }
        if mask.iter().all(|m| *m) {
            return Err(Error::Config(format!(
                "sequence classifier: every label of {labels:?} looks like an attack label; \
                 set attack_labels"
            )));
        }
        return Ok(mask);
    }
    let mut mask = vec![false; labels.len()];
    for c in configured {
        let i = labels
            .iter()
            .position(|l| l.eq_ignore_ascii_case(c))
            .ok_or_else(|| {
                Error::Config(format!(
                    "sequence classifier: attack label {c:?} is not one of {labels:?}"
                ))
            })?;
        mask[i] = true;
    }
    Ok(mask)
}

impl SequenceClassifier {
    /// Loads the model and checks the options against it.
    pub fn load(opts: &SequenceClassifierOptions) -> Result<SequenceClassifier> {
        let files = ModelFiles::read(&opts.dir)?;
        let labels = files.labels()?;
        let attack = attack_mask(&labels, &opts.attack_labels)?;
        let encoder = files.encoder()?;
        let max_pos = files.max_positions();
        let max_tokens = opts.max_tokens.unwrap_or(512.min(max_pos));
        if max_tokens > max_pos || max_tokens < encoder.specials() + 1 {
            return Err(Error::Config(format!(
                "sequence classifier: max_tokens {max_tokens} must be in {}..={max_pos}",
                encoder.specials() + 1
            )));
        }
        let content = max_tokens - encoder.specials();
        let stride = opts.stride.unwrap_or((content / 2).max(1));
        if stride == 0 || stride > content {
            return Err(Error::Config(format!(
                "sequence classifier: stride {stride} must be in 1..={content}"
            )));
        }
        let pooler = files.pooler()?;
        let classifier = files.seq_classifier(pooler.output_dim(), labels.len())?;
        Ok(SequenceClassifier {
            encoder,
            pooler,
            classifier,
            labels,
            attack,
            max_tokens,
            stride,
            model_type: files.family.name(),
        })
    }

    /// Label names in index order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Names of the labels counted as attacks.
    pub fn attack_labels(&self) -> Vec<&str> {
        self.labels
            .iter()
            .zip(&self.attack)
            .filter(|(_, a)| **a)
            .map(|(l, _)| l.as_str())
            .collect()
    }

    /// Softmax probabilities of every label, one row per window of `text`.
    pub fn window_probabilities(&self, text: &str) -> Result<Vec<Vec<f32>>> {
        let w = self
            .encoder
            .windows(text, self.max_tokens, self.stride, MAX_WINDOWS)?;
        let mut out = Vec::with_capacity(w.windows.len());
        for chunk in w.windows.chunks(BATCH) {
            let (hidden, _) = self.encoder.forward(chunk)?;
            let pooled = self.pooler.forward(&hidden)?;
            let logits = self.classifier.forward(&pooled)?;
            let probs = candle_nn::ops::softmax(&logits, D::Minus1)?;
            out.extend(probs.to_vec2::<f32>()?);
        }
        Ok(out)
    }

    /// The attack probability of `text`: the attack labels' probability mass, maximum over
    /// windows.
    pub fn attack_probability(&self, text: &str) -> Result<f32> {
        let rows = self.window_probabilities(text)?;
        let p = rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&self.attack)
                    .filter(|(_, a)| **a)
                    .map(|(p, _)| *p)
                    .sum::<f32>()
            })
            .fold(0.0f32, f32::max);
        if p.is_finite() {
            Ok(p.clamp(0.0, 1.0))
        } else {
            Err(Error::Inference("non-finite probability".to_owned()))
        }
    }
}

impl AttackModel for SequenceClassifier {
    fn describe(&self) -> String {
        format!("byo:{} ({} labels)", self.model_type, self.labels.len())
    }

    fn score(&self, text: &str, _fast: FastScore) -> std::result::Result<f32, ModelError> {
        Ok(self.attack_probability(text)?)
    }
}
