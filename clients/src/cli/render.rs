//! Every command's output, in one place: the JSON object of CLI.md (`--json`) and the
//! human text, built from the SDK's typed results.

pub mod app;
pub mod attest;
pub mod devnet;
pub mod gov;
pub mod network;
pub mod node;

use serde_json::{json, Value};

/// A command's result, in both forms.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The JSON object printed with `--json`.
    pub json: Value,
    /// The text printed otherwise.
    pub text: String,
    /// The command's answer is a refusal: printed like a result, exit non-zero
    /// (`kms attest check` refusing).
    pub failed: bool,
}

impl Output {
    /// An output of both forms.
    pub fn new(json: Value, text: impl Into<String>) -> Self {
        Self {
            json,
            text: text.into(),
            failed: false,
        }
    }

    /// The same output, exiting non-zero.
    pub fn failing(mut self) -> Self {
        self.failed = true;
        self
    }

    /// Nothing left to print: the command printed its output itself (`kms devnet up`
    /// in the foreground prints once the network serves, then waits for Ctrl-C).
    pub fn printed() -> Self {
        Self::new(Value::Null, "")
    }

    /// Prints the JSON object with `json`, otherwise the text.
    pub fn emit(&self, json: bool) {
        if self.json.is_null() {
            return;
        }
        if json {
            println!("{}", self.json);
        } else {
            println!("{}", self.text);
        }
    }
}

/// Lowercase hex without `0x`, the CLI's JSON form for byte strings.
pub fn hex(b: impl AsRef<[u8]>) -> String {
    alloy::hex::encode(b)
}

/// `kms version`.
pub fn version(v: &str) -> Output {
    Output::new(json!({ "version": v }), v)
}
