//! Pieces shared by every `kms` subcommand: the error contract and output.
//!
//! On failure every command exits non-zero; with `--json` it prints
//! `{"error": {"kind": "<snake_case_kind>", "message": "<sentence>"}}` (CLI.md).

use std::fmt;

/// A failure a user can act on, as the CLI reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// Stable snake_case kind; scripts match on it.
    pub kind: &'static str,
    /// One sentence a user can act on. Never contains secret material.
    pub message: String,
}

impl CliError {
    /// An error of `kind` with `message`.
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The JSON form CLI.md fixes.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": { "kind": self.kind, "message": self.message } })
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error ({}): {}", self.kind, self.message)
    }
}

impl std::error::Error for CliError {}

/// Prints a command's result: the JSON object with `--json`, otherwise the human text.
pub fn emit(json: bool, value: &serde_json::Value, human: &str) {
    if json {
        println!("{value}");
    } else {
        println!("{human}");
    }
}

#[cfg(test)]
#[allow(non_snake_case)] // test names read `subject__should_outcome` (STYLE.md §8)
mod tests {
    use super::*;

    #[test]
    fn cli_error__should_render_the_documented_json_shape() {
        let e = CliError::new("bad_input", "the file is empty");
        assert_eq!(
            e.to_json().to_string(),
            r#"{"error":{"kind":"bad_input","message":"the file is empty"}}"#
        );
    }
}
