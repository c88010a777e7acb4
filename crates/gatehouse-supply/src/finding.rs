//! What a scan reports: findings with a severity, and files that could not be fully analysed.

use serde::Serialize;

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Unusual but unlikely to be exploitable (unindexed bytes, custom metadata).
    Low,
    /// A reference to code outside the allowlist that is imported but not called.
    Medium,
    /// A call of code outside the allowlist, or a structure a loader would reject inconsistently.
    High,
    /// A call of code known to run commands, load code or touch the system.
    Critical,
}

impl Severity {
    /// Lower-case name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One problem found in a model file. Safe to print: it names code paths and offsets, never
/// payload bytes beyond short identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule id (`pickle-dangerous-call`, `safetensors-overlap`, …).
    pub rule: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// Human explanation.
    pub message: String,
    /// Where inside the file (container member and byte offset), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Finding {
    /// Builds a finding.
    pub fn new(rule: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity,
            message: message.into(),
            location: None,
        }
    }

    /// Sets the location.
    pub fn at(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }
}
