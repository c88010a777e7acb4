//! The crate's error type.

use std::path::PathBuf;

/// What went wrong while loading a model, running it or installing one.
///
/// Messages name the file and the problem; they never contain the text being scanned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A required file of a model directory is missing.
    #[error("{path}: missing ({what})")]
    MissingFile {
        /// The expected path.
        path: PathBuf,
        /// What the file is for.
        what: &'static str,
    },
    /// A file is present but its content is not usable (bad JSON, unsupported `model_type`,
    /// missing or mis-shaped tensor, bad tokenizer, …).
    #[error("{path}: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The problem.
        problem: String,
    },
    /// Options or a head file are inconsistent with the model.
    #[error("{0}")]
    Config(String),
    /// Tokenization or the forward pass failed.
    #[error("inference failed: {0}")]
    Inference(String),
    /// Installing a model failed (download, hash pin, archive).
    #[error("install: {0}")]
    Install(String),
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn invalid(path: impl Into<PathBuf>, problem: impl std::fmt::Display) -> Self {
        Error::Invalid {
            path: path.into(),
            problem: problem.to_string(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Inference(e.to_string())
    }
}

impl From<Error> for gatehouse_detect::models::ModelError {
    fn from(e: Error) -> Self {
        gatehouse_detect::models::ModelError(e.to_string())
    }
}
