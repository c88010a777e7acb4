//! The semantic prompt-attack head: logistic regression over a MiniLM sentence embedding and
//! the fast layers' margin.

use gatehouse_detect::models::{AttackModel, FastScore, ModelError};
use serde::{Deserialize, Serialize};

use crate::embed::Embedder;
use crate::error::{Error, Result};

/// The embedder a head is trained for.
pub const HEAD_EMBEDDER: &str = "all-minilm-l6-v2";

/// A trained head, as stored in JSON:
/// `{"version":1,"embedder":"all-minilm-l6-v2","dim":384,"weights":[…],"margin_weight":f,
/// "bias":f,"band":[lo,hi],"threshold":f,"trained_on":"…"}`.
///
/// `p = sigmoid(weights · embedding + margin_weight · fast.margin + bias)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SemanticHead {
    /// Format version (1).
    pub version: u32,
    /// The embedding model the head was trained on ([`HEAD_EMBEDDER`]).
    pub embedder: String,
    /// Embedding dimension.
    pub dim: usize,
    /// One weight per embedding dimension.
    pub weights: Vec<f32>,
    /// Weight of the fast layers' margin.
    pub margin_weight: f32,
    /// Bias.
    pub bias: f32,
    /// Fast-layer probability band `[lo, hi)` in which the cascade consults the head.
    pub band: [f32; 2],
    /// Cascade threshold chosen for at most 1 % false positives on the training data
    /// (out-of-fold).
    pub threshold: f32,
    /// Free text: what the head was trained on.
    pub trained_on: String,
}

const BUILTIN: &str = include_str!("../models/injection-semantic-head.json");

impl SemanticHead {
    /// Parses and validates a head file.
    pub fn from_json(json: &str) -> Result<SemanticHead> {
        let head: SemanticHead =
            serde_json::from_str(json).map_err(|e| Error::Config(format!("semantic head: {e}")))?;
        head.validate()?;
        Ok(head)
    }

    /// The head shipped with this crate (`models/injection-semantic-head.json`).
    pub fn builtin() -> Result<SemanticHead> {
        SemanticHead::from_json(BUILTIN)
    }

    /// Checks version, embedder, dimension, finiteness and ranges.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(format!("semantic head: {m}")));
        if self.version != 1 {
            return bad(format!("unsupported version {}", self.version));
        }
        if self.embedder != HEAD_EMBEDDER {
            return bad(format!(
                "embedder {:?}, expected {HEAD_EMBEDDER:?}",
                self.embedder
            ));
        }
        if self.dim == 0 || self.weights.len() != self.dim {
            return bad(format!(
                "dim {} but {} weights",
                self.dim,
                self.weights.len()
            ));
        }
        if !self.weights.iter().all(|w| w.is_finite())
            || !self.margin_weight.is_finite()
            || !self.bias.is_finite()
        {
            return bad("weights must be finite numbers".to_owned());
        }
        let [lo, hi] = self.band;
        if !(lo.is_finite() && hi.is_finite() && (0.0..=1.0).contains(&lo) && lo <= hi && hi <= 1.0)
        {
            return bad("band must satisfy 0 <= lo <= hi <= 1".to_owned());
        }
        if !(self.threshold.is_finite() && (0.0..=1.0).contains(&self.threshold)) {
            return bad("threshold must be in [0, 1]".to_owned());
        }
        Ok(())
    }

    /// The head's probability for one embedding and the fast layers' margin.
    pub fn probability(&self, embedding: &[f32], margin: f32) -> f32 {
        let dot: f32 = self.weights.iter().zip(embedding).map(|(w, e)| w * e).sum();
        sigmoid(dot + self.margin_weight * margin + self.bias)
    }
}

/// Logistic function, safe for any finite or infinite input.
pub fn sigmoid(z: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Layer 3 of the prompt-attack cascade: all-MiniLM-L6-v2 embeddings + a [`SemanticHead`].
#[derive(Debug)]
pub struct MiniLmAttackModel {
    embedder: Embedder,
    head: SemanticHead,
}

impl MiniLmAttackModel {
    /// Combines an embedder and a head; fails when their dimensions differ.
    pub fn new(embedder: Embedder, head: SemanticHead) -> Result<MiniLmAttackModel> {
        head.validate()?;
        if embedder.dim() != head.dim {
            return Err(Error::Config(format!(
                "semantic head: dim {} but the embedder produces {}",
                head.dim,
                embedder.dim()
            )));
        }
        Ok(MiniLmAttackModel { embedder, head })
    }

    /// The head.
    pub fn head(&self) -> &SemanticHead {
        &self.head
    }
}

impl AttackModel for MiniLmAttackModel {
    fn describe(&self) -> String {
        format!("{HEAD_EMBEDDER} + head v{}", self.head.version)
    }

    fn score(&self, text: &str, fast: FastScore) -> std::result::Result<f32, ModelError> {
        let margin = if fast.margin.is_finite() {
            fast.margin
        } else {
            0.0
        };
        let windows = self.embedder.embed_windows(text)?;
        Ok(windows
            .iter()
            .map(|e| self.head.probability(e, margin))
            .fold(0.0f32, f32::max))
    }

    fn band(&self) -> Option<(f32, f32)> {
        Some((self.head.band[0], self.head.band[1]))
    }

    fn threshold(&self) -> Option<f32> {
        Some(self.head.threshold)
    }
}
