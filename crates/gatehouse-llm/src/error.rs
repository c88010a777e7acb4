use std::fmt;

/// What went wrong talking to an upstream provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamErrorKind {
    /// Could not connect (refused, DNS, TLS handshake).
    Connect,
    /// Connected, but no answer (or no next chunk) within the read timeout.
    Timeout,
    /// The upstream answered with a non-success status.
    Status(u16),
    /// The upstream's answer could not be understood.
    Protocol,
    /// The provider cannot do this (e.g. embeddings on Anthropic).
    Unsupported,
}

/// An upstream failure. `detail` is for operators' logs only: it may hold an upstream message
/// and is never sent to the client.
#[derive(Debug, Clone)]
pub struct UpstreamError {
    /// Category.
    pub kind: UpstreamErrorKind,
    /// Log-only detail.
    pub detail: String,
}

impl UpstreamError {
    /// New error.
    pub fn new(kind: UpstreamErrorKind, detail: impl Into<String>) -> Self {
        UpstreamError {
            kind,
            detail: detail.into(),
        }
    }

    /// Whether the same request may be tried again (same target, after backoff): connection
    /// failures, 429 and 5xx. Timeouts are not retried on the same target (that would multiply
    /// the caller's wait) but do move on to a fallback target.
    pub fn retryable(&self) -> bool {
        match self.kind {
            UpstreamErrorKind::Connect => true,
            UpstreamErrorKind::Status(s) => s == 429 || (500..600).contains(&s),
            _ => false,
        }
    }

    /// Whether a fallback target should be tried after this error.
    pub fn try_fallback(&self) -> bool {
        self.retryable() || self.kind == UpstreamErrorKind::Timeout
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            UpstreamErrorKind::Connect => write!(f, "connect error: {}", self.detail),
            UpstreamErrorKind::Timeout => write!(f, "timeout: {}", self.detail),
            UpstreamErrorKind::Status(s) => write!(f, "status {s}: {}", self.detail),
            UpstreamErrorKind::Protocol => write!(f, "protocol error: {}", self.detail),
            UpstreamErrorKind::Unsupported => write!(f, "unsupported: {}", self.detail),
        }
    }
}

impl std::error::Error for UpstreamError {}
