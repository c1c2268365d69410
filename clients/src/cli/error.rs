//! The error contract of CLI.md: on failure every command exits non-zero; with `--json`
//! it prints `{"error": {"kind": "<snake_case_kind>", "message": "<sentence>"}}`. The
//! kinds are the SDK's ([`clients::Error::kind`]) and clap's `usage`.

use std::fmt;

use attestation_gate::Error as GateError;

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

impl From<&clients::Error> for CliError {
    /// The SDK error's kind and message, with the flag that fixes it where one does.
    fn from(e: &clients::Error) -> Self {
        let message = match e {
            clients::Error::Attestation(
                GateError::Expired { .. } | GateError::NotYetValid { .. },
            ) => format!("{e}; pass --at with a time inside the evidence's validity window"),
            clients::Error::Attestation(GateError::MissingCollateral { .. }) => {
                format!("{e}; pass --collateral with the folder holding it")
            }
            _ => e.to_string(),
        };
        Self::new(e.kind(), message)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error ({}): {}", self.kind, self.message)
    }
}

impl std::error::Error for CliError {}

#[cfg(test)]
#[allow(non_snake_case)]
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

    #[test]
    fn cli_error__should_keep_the_sdk_kind_and_message() {
        let e = CliError::from(&clients::Error::MissingRpc("give --rpc".into()));
        assert_eq!((e.kind, e.message.as_str()), ("missing_rpc", "give --rpc"));
        assert_eq!(e.to_string(), "error (missing_rpc): give --rpc");
        let gate = CliError::from(&clients::Error::Attestation(GateError::UnknownFormat));
        assert_eq!(gate.kind, "unknown_format");
    }
}
