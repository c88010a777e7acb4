//! Hooks for learned models that run outside this crate.
//!
//! `gatehouse-detect` stays pure and light: it does not depend on an inference runtime. A
//! transformer (the semantic prompt-attack layer, a bring-your-own sequence classifier, a
//! named-entity model) is implemented elsewhere (`gatehouse-ml`, with candle) and plugged in
//! through these traits:
//!
//! - [`AttackModel`]: layer 3 of the prompt-attack cascade
//!   ([`InjectionDetector::with_attack_model`](crate::injection::InjectionDetector::with_attack_model)).
//!   It only sees texts the fast layers could not decide (the *band*).
//! - [`EntityModel`]: PERSON / LOCATION / ORGANIZATION spans for the data-protection engine
//!   ([`Engine::with_entity_model`](crate::Engine::with_entity_model)).
//!
//! Both are synchronous and may take milliseconds: callers on an async runtime run the detector
//! on a blocking thread when a model is attached.

use std::fmt::Debug;

/// What the fast layers (signatures + linear classifier) concluded about a text; handed to the
/// attack model so that it can combine its own evidence with theirs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FastScore {
    /// The linear classifier's margin after direction biases (before calibration); 0 when the
    /// classifier is off.
    pub margin: f32,
    /// The calibrated probability of the fast layers (before signature floors).
    pub probability: f32,
}

/// Error of an external model (inference failed, input could not be tokenized, …). The detector
/// fails closed on it: see [`InjectionResult::model_error`](crate::injection::InjectionResult).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError(pub String);

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ModelError {}

/// Layer 3 of the prompt-attack cascade: a learned model over the whole text.
pub trait AttackModel: Send + Sync + Debug {
    /// Short description for `/readyz`, `scan` and logs (e.g. `"minilm-l6 + head v1"`); never
    /// contains a path with secrets.
    fn describe(&self) -> String;

    /// The probability in `[0, 1]` that `text` is a prompt attack, given what the fast layers
    /// found. Implementations score long texts in overlapping windows and keep the maximum.
    fn score(&self, text: &str, fast: FastScore) -> Result<f32, ModelError>;

    /// The fast-layer probability band `[low, high)` inside which this model is consulted, when
    /// the model was trained together with a band (configuration may override it).
    fn band(&self) -> Option<(f32, f32)> {
        None
    }

    /// The decision threshold for the cascade's score when this model is attached, if it was
    /// chosen together with the model (configuration may override it).
    fn threshold(&self) -> Option<f32> {
        None
    }
}

/// One entity found by an [`EntityModel`], in byte offsets of the text it was given.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// Byte offset of the first byte (on a char boundary).
    pub start: usize,
    /// Byte offset one past the last byte (on a char boundary).
    pub end: usize,
    /// Presidio-style type: `PERSON`, `LOCATION`, `ORGANIZATION` (others are ignored).
    pub entity_type: String,
    /// Confidence in `[0, 1]`.
    pub score: f32,
}

/// A named-entity recognizer (token classification) for names, places and organisations.
pub trait EntityModel: Send + Sync + Debug {
    /// Short description for `/readyz`, `scan` and logs.
    fn describe(&self) -> String;

    /// Entities in `text`, byte offsets into `text`. Long texts are processed in windows.
    fn entities(&self, text: &str) -> Result<Vec<Entity>, ModelError>;
}
