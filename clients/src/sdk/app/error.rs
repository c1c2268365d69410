//! The application SDK's own failures, one kind each (docs/APP.md "Errors"); the SDK's
//! [`Error::App`](crate::Error::App) carries them with their kind. Messages never hold
//! a key, a share or `sigma`.

/// Why an application call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The chain records no active epoch with group keys (genesis has not finished).
    #[error("{0}")]
    NoActiveEpoch(String),
    /// A group key or node record on chain does not decode.
    #[error("{0}")]
    BadChainRecord(String),
    /// The chosen attester has no device here, or this build cannot drive it.
    #[error("{0}")]
    AttesterUnavailable(String),
    /// The attester failed to produce evidence.
    #[error("{0}")]
    AttestFailed(String),
    /// The simulated attester was asked for outside a devnet.
    #[error("{0}")]
    SimulatedNotAllowed(String),
    /// Fewer than `t` nodes gave a good answer before the deadline.
    #[error("{0}")]
    NotEnoughNodes(String),
    /// The nodes refused the request for the same lasting reason (the build is not
    /// approved, revoked, the evidence refused, …): a reason, not an outage. The kind
    /// is the nodes' code (`not_approved`, `revoked`, `evidence_rejected`, …).
    #[error("{1}")]
    Refused(kms_api::ErrorCode, String),
    /// A sealed box is not one (wrong version, too short, bad point).
    #[error("{0}")]
    BadSealedBox(String),
    /// A sealed box does not open with this application's key for this path.
    #[error("{0}")]
    UnsealFailed(String),
    /// The nodes returned a signature that does not verify under the application's key.
    #[error("{0}")]
    BadSignature(String),
}

impl AppError {
    /// The stable snake_case kind scripts match on.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::NoActiveEpoch(_) => "no_active_epoch",
            AppError::BadChainRecord(_) => "bad_chain_record",
            AppError::AttesterUnavailable(_) => "attester_unavailable",
            AppError::AttestFailed(_) => "attest_failed",
            AppError::SimulatedNotAllowed(_) => "simulated_not_allowed",
            AppError::NotEnoughNodes(_) => "not_enough_nodes",
            AppError::Refused(code, _) => code.as_str(),
            AppError::BadSealedBox(_) => "bad_sealed_box",
            AppError::UnsealFailed(_) => "unseal_failed",
            AppError::BadSignature(_) => "bad_signature",
        }
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn app_error_kind__should_be_distinct_and_documented_in_app_md() {
        let s = || "m".to_owned();
        let all = [
            AppError::NoActiveEpoch(s()),
            AppError::BadChainRecord(s()),
            AppError::AttesterUnavailable(s()),
            AppError::AttestFailed(s()),
            AppError::SimulatedNotAllowed(s()),
            AppError::NotEnoughNodes(s()),
            AppError::BadSealedBox(s()),
            AppError::UnsealFailed(s()),
            AppError::BadSignature(s()),
        ];
        let doc = include_str!("../../../../docs/APP.md");
        let mut kinds: Vec<&str> = all.iter().map(AppError::kind).collect();
        // A refusal carries the node's code: every code is documented too.
        for code in kms_api::ErrorCode::ALL {
            let refused = AppError::Refused(code, s());
            assert!(
                doc.contains(&format!("`{}`", refused.kind())),
                "{code} is not in docs/APP.md"
            );
        }
        for k in &kinds {
            assert!(doc.contains(&format!("`{k}`")), "{k} is not in docs/APP.md");
        }
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), all.len());
    }
}
