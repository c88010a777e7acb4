//! The error type of this crate.

use std::fmt;

/// Why an [`crate::Engine`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
}

/// Kinds of [`Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A rule or custom pattern failed to compile; names the rule.
    Pattern {
        /// Rule id.
        id: String,
        /// Compiler message.
        message: String,
    },
    /// A custom pattern exceeds the size limits.
    PatternTooLarge {
        /// Rule id.
        id: String,
    },
    /// The built-in rule file is malformed (a build defect).
    RuleFile(String),
    /// A configuration value is out of range.
    Config(String),
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error { kind }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Pattern { id, message } => {
                write!(f, "pattern {id:?} does not compile: {message}")
            }
            ErrorKind::PatternTooLarge { id } => write!(f, "pattern {id:?} exceeds the size limit"),
            ErrorKind::RuleFile(m) => write!(f, "built-in rule file: {m}"),
            ErrorKind::Config(m) => write!(f, "detect config: {m}"),
        }
    }
}

impl std::error::Error for Error {}
