//! Sentence embeddings (mean pooling + L2 normalisation, as sentence-transformers does for
//! all-MiniLM-L6-v2).

use std::path::Path;

use candle_core::{D, Tensor};

use crate::backbone::{Encoder, ModelFiles};
use crate::error::{Error, Result};

/// Tokens per window, `[CLS]` and `[SEP]` included (all-MiniLM-L6-v2's `max_seq_length`).
pub const EMBED_WINDOW_TOKENS: usize = 256;
/// Content tokens between the starts of two consecutive windows (windows overlap by half).
pub const EMBED_STRIDE: usize = 128;
/// Most windows embedded per text: beyond that, the first 8 and the last 8 windows are kept
/// and the middle of the text is not embedded.
pub const EMBED_MAX_WINDOWS: usize = 16;

/// A sentence-embedding model (all-MiniLM-L6-v2 or any BERT / DeBERTa-v2 encoder).
pub struct Embedder {
    encoder: Encoder,
    dim: usize,
    family: &'static str,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("family", &self.family)
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

impl Embedder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path) -> Result<Embedder> {
        let files = ModelFiles::read(dir)?;
        let dim = files.hidden_size()?;
        let encoder = files.encoder()?;
        if encoder.max_positions < EMBED_WINDOW_TOKENS.min(encoder.specials() + 2) {
            return Err(Error::invalid(
                files.config_path(),
                "max_position_embeddings too small",
            ));
        }
        Ok(Embedder {
            encoder,
            dim,
            family: files.family.name(),
        })
    }

    /// Dimension of the embeddings.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// One unit-length embedding per window of `text` (see [`EMBED_WINDOW_TOKENS`],
    /// [`EMBED_STRIDE`], [`EMBED_MAX_WINDOWS`]); a text of at most 254 tokens gives one
    /// embedding, equal to the sentence-transformers embedding of the text. All windows of a
    /// text are run in one batch.
    pub fn embed_windows(&self, text: &str) -> Result<Vec<Vec<f32>>> {
        let window = EMBED_WINDOW_TOKENS.min(self.encoder.max_positions);
        let w = self
            .encoder
            .windows(text, window, EMBED_STRIDE, EMBED_MAX_WINDOWS)?;
        let (hidden, mask) = self.encoder.forward(&w.windows)?;
        let pooled = mean_pool_normalize(&hidden, &mask)?;
        Ok(pooled.to_vec2::<f32>()?)
    }
}

/// Mean over the tokens where `mask` is 1, then L2 normalisation. `hidden`: `[b, t, h]`,
/// `mask`: `[b, t]` (f32).
fn mean_pool_normalize(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&m)?.sum(1)?;
    let count = m.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    let mean = summed.broadcast_div(&count)?;
    let norm = mean
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12f32, f32::MAX)?;
    Ok(mean.broadcast_div(&norm)?)
}
