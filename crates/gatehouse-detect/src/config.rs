//! Typed configuration of the detection engine.

use gatehouse_core::{Direction, Verdict};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// What to do with content in which a finding of some type was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Allow and record the finding.
    Flag,
    /// Rewrite the span with a mask.
    Redact,
    /// Refuse the content.
    Block,
}

impl Action {
    /// The verdict this action implies on its own.
    pub fn verdict(self) -> Verdict {
        match self {
            Action::Flag => Verdict::Allow,
            Action::Redact => Verdict::Redact,
            Action::Block => Verdict::Block,
        }
    }
}

/// How a redacted span is rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskStyle {
    /// `[EMAIL_ADDRESS_1]`: type and a per-text counter (the same value gets the same number).
    #[default]
    Placeholder,
    /// `****1234`: keeps the last four characters of values of eight characters or more.
    Partial,
    /// `[EMAIL_ADDRESS:1a2b3c4d]`: keyed hash (HMAC-SHA-256 with `hash_key`), stable across texts.
    Hash,
}

/// A user-supplied pattern. Size-limited: at most [`MAX_CUSTOM_PATTERN_LEN`] bytes of source and
/// a bounded compiled size.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPattern {
    /// The finding type.
    pub id: String,
    /// Regular expression (linear-time syntax: no look-around, no back-references).
    pub regex: String,
    /// Detector family reported (default `pii`).
    #[serde(default)]
    pub detector: Option<String>,
    /// Score in [0, 1] (default 0.8).
    #[serde(default)]
    pub score: Option<f32>,
    /// Context words that must appear near a match, if any are given.
    #[serde(default)]
    pub context: Vec<String>,
}

/// Longest accepted source of a user pattern, in bytes.
pub const MAX_CUSTOM_PATTERN_LEN: usize = 1024;
/// Most user patterns.
pub const MAX_CUSTOM_PATTERNS: usize = 256;

/// Configuration of the engine. `Default` is the recommended configuration: all data-protection
/// detectors on, secrets block, PII is redacted with type placeholders, obfuscation is flagged.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Run the PII recognizers.
    pub pii: bool,
    /// Run the secret rules.
    pub secrets: bool,
    /// Report invisible characters, bidi controls, tag characters and homoglyphs.
    pub obfuscation: bool,
    /// Run the model-free PERSON recognizer.
    pub names: bool,
    /// Decode base64/hex/percent-encoded runs and scan their content.
    pub decode: bool,
    /// Findings scoring below this are dropped.
    pub min_score: f32,
    /// Action per finding type or detector family (type wins). Unlisted: `flag`.
    pub actions: BTreeMap<String, Action>,
    /// Per-direction overrides of `actions`.
    pub direction_actions: HashMap<Direction, BTreeMap<String, Action>>,
    /// Mask used by redaction.
    pub mask: MaskStyle,
    /// Key of the `hash` mask. Without one, a fixed built-in key is used (stable but guessable).
    pub hash_key: Option<String>,
    /// Types never reported.
    pub disabled_types: Vec<String>,
    /// Extra user patterns.
    pub custom: Vec<CustomPattern>,
    /// Upper bound of the streaming hold-back window in bytes (patterns with unbounded length
    /// are cut at this length).
    pub max_holdback: usize,
}

impl Default for DetectConfig {
    fn default() -> Self {
        let mut actions = BTreeMap::new();
        actions.insert("secrets".to_owned(), Action::Block);
        actions.insert("pii".to_owned(), Action::Redact);
        actions.insert("obfuscation".to_owned(), Action::Flag);
        actions.insert("placeholder".to_owned(), Action::Flag);
        actions.insert("DATE_TIME".to_owned(), Action::Flag);
        // Places and organisations are PII-adjacent (they identify someone only together with
        // other facts): reported, not masked, unless configured.
        actions.insert("LOCATION".to_owned(), Action::Flag);
        actions.insert("ORGANIZATION".to_owned(), Action::Flag);
        DetectConfig {
            pii: true,
            secrets: true,
            obfuscation: true,
            names: true,
            decode: true,
            min_score: 0.5,
            actions,
            direction_actions: HashMap::new(),
            mask: MaskStyle::Placeholder,
            hash_key: None,
            disabled_types: Vec::new(),
            custom: Vec::new(),
            max_holdback: 16 * 1024,
        }
    }
}

impl DetectConfig {
    /// The action for a finding of `kind` from `detector` in `direction`.
    pub fn action_for(&self, detector: &str, kind: &str, direction: Direction) -> Action {
        if let Some(map) = self.direction_actions.get(&direction)
            && let Some(a) = map.get(kind).or_else(|| map.get(detector))
        {
            return *a;
        }
        self.actions
            .get(kind)
            .or_else(|| self.actions.get(detector))
            .copied()
            .unwrap_or(Action::Flag)
    }
}
