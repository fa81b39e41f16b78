//! Errors: one [`Error`] type carrying an [`ErrorCode`].
//!
//! Placeholder with the final API shape; the full code table (every Kafka
//! protocol code plus librdkafka's local codes) lands with the foundation issue.

use std::fmt;

/// What went wrong: a Kafka protocol error code or a client-local code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The server experienced an unexpected error (Kafka code -1).
    UnknownServerError,
    /// Invalid argument or configuration (local).
    InvalidArg,
    /// Broker transport failure (local).
    Transport,
    /// A broker sent a response that could not be decoded (local).
    BadMsg,
}

impl ErrorCode {
    /// The code's name, as librdkafka and Kafka spell it.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::UnknownServerError => "UNKNOWN_SERVER_ERROR",
            ErrorCode::InvalidArg => "_INVALID_ARG",
            ErrorCode::Transport => "_TRANSPORT",
            ErrorCode::BadMsg => "_BAD_MSG",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error type of every fallible ferrokafka operation.
#[derive(Debug, Clone)]
pub struct Error {
    code: ErrorCode,
    message: String,
}

impl Error {
    /// An error with `code` and a human-readable `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }

    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

/// Result with ferrokafka's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
