use serde::{Deserialize, Serialize};

/// Which way the inspected text flows. Detectors weigh the same words differently: an
/// instruction inside a tool result is suspicious by itself, in a user prompt it may be normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Text a caller sends towards a model or tool.
    Input,
    /// Text a model or tool returns.
    Output,
    /// Tool results, function outputs and retrieved documents embedded in a request.
    ToolResult,
}

/// What the checkpoint decided about a piece of content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Pass unchanged.
    Allow,
    /// Pass with the offending spans rewritten.
    Redact,
    /// Refuse.
    Block,
}

/// One thing a detector found. It carries where and what kind, never the matched value: a finding
/// is safe to log, to put in an audit row and to return to a caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Detector family (`pii`, `secrets`, `injection`, `leak`, `exfiltration`, `obfuscation`, `blocklist`).
    pub detector: String,
    /// Entity type or rule id (`EMAIL_ADDRESS`, `aws-access-token`, `jailbreak`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Confidence in [0, 1].
    pub score: f32,
    /// Start offset in Unicode scalar values into the original text.
    pub start: usize,
    /// End offset (exclusive) in Unicode scalar values.
    pub end: usize,
}
