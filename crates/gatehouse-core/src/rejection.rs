use std::fmt;

/// Stable error codes. Clients and SDKs match on these strings, so they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// No credential, or one that does not verify (401).
    Unauthenticated,
    /// Authenticated but not allowed (403).
    Forbidden,
    /// A guardrail blocked the content (400 on input, stream error on output).
    BlockedByGuardrail,
    /// A rate limit was hit (429).
    RateLimited,
    /// A token or cost budget is exhausted (429).
    BudgetExceeded,
    /// The upstream failed or answered with an error (502).
    UpstreamError,
    /// The upstream did not answer in time (504).
    UpstreamTimeout,
    /// The request is malformed (400).
    InvalidRequest,
    /// The body is larger than the configured limit (413).
    PayloadTooLarge,
    /// No such route or model (404).
    NotFound,
    /// The method is not allowed on this route (405).
    MethodNotAllowed,
    /// A stage of the gateway failed; the request was refused rather than let through (500).
    InternalError,
    /// The gateway is not ready or is overloaded (503).
    Unavailable,
}

impl ErrorCode {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::BlockedByGuardrail => "blocked_by_guardrail",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::BudgetExceeded => "budget_exceeded",
            ErrorCode::UpstreamError => "upstream_error",
            ErrorCode::UpstreamTimeout => "upstream_timeout",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::Unavailable => "unavailable",
        }
    }

    /// The HTTP status this code maps to.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::BlockedByGuardrail => 400,
            ErrorCode::RateLimited | ErrorCode::BudgetExceeded => 429,
            ErrorCode::UpstreamError => 502,
            ErrorCode::UpstreamTimeout => 504,
            ErrorCode::InvalidRequest => 400,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::InternalError => 500,
            ErrorCode::Unavailable => 503,
        }
    }

    /// The OpenAI `error.type` family for this code.
    pub fn openai_type(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "authentication_error",
            ErrorCode::Forbidden => "permission_error",
            ErrorCode::RateLimited | ErrorCode::BudgetExceeded => "rate_limit_error",
            ErrorCode::NotFound => "not_found_error",
            ErrorCode::InternalError | ErrorCode::Unavailable => "server_error",
            ErrorCode::UpstreamError | ErrorCode::UpstreamTimeout => "upstream_error",
            ErrorCode::BlockedByGuardrail
            | ErrorCode::InvalidRequest
            | ErrorCode::PayloadTooLarge
            | ErrorCode::MethodNotAllowed => "invalid_request_error",
        }
    }

    /// The Anthropic `error.type` for this code.
    pub fn anthropic_type(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "authentication_error",
            ErrorCode::Forbidden => "permission_error",
            ErrorCode::RateLimited | ErrorCode::BudgetExceeded => "rate_limit_error",
            ErrorCode::NotFound => "not_found_error",
            ErrorCode::PayloadTooLarge => "request_too_large",
            ErrorCode::Unavailable => "overloaded_error",
            ErrorCode::InternalError | ErrorCode::UpstreamError | ErrorCode::UpstreamTimeout => {
                "api_error"
            }
            ErrorCode::BlockedByGuardrail
            | ErrorCode::InvalidRequest
            | ErrorCode::MethodNotAllowed => "invalid_request_error",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stage's refusal. The message is written for the caller: it must never contain a secret,
/// a raw body, an upstream's response text or policy source.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// Stable code.
    pub code: ErrorCode,
    /// Human-readable reason, safe to show the caller.
    pub message: String,
    /// The deciding policy id, when a policy decided.
    pub policy: Option<String>,
    /// Finding types that caused a guardrail block (types only, never values).
    pub finding_types: Vec<String>,
    /// Seconds after which a retry may succeed (rate limits).
    pub retry_after_secs: Option<u64>,
    /// Which stage refused (for audit and logs).
    pub stage: &'static str,
    /// Extra response headers that describe the refusal to the caller (the limiter's
    /// `x-ratelimit-*` values). Names are static; values never carry secrets.
    /// Boxed: most rejections have none, and the error type stays small.
    pub headers: Option<Box<Vec<(&'static str, String)>>>,
}

impl Rejection {
    /// A rejection with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Rejection {
        Rejection {
            code,
            message: message.into(),
            policy: None,
            finding_types: Vec::new(),
            retry_after_secs: None,
            stage: "",
            headers: None,
        }
    }

    /// Tags the rejection with the stage that produced it.
    pub fn at(mut self, stage: &'static str) -> Rejection {
        self.stage = stage;
        self
    }

    /// A stage failed internally; the request is refused (fail closed). `what` names the stage
    /// for the caller; internal detail goes to the log, not here.
    pub fn internal(what: &str) -> Rejection {
        Rejection::new(
            ErrorCode::InternalError,
            format!("the gateway could not complete the {what} stage; the request was refused"),
        )
    }

    /// Shorthand for `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Rejection {
        Rejection::new(ErrorCode::InvalidRequest, message)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Rejection {}
