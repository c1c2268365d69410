//! Signing on behalf of an application (DESIGN §4.3, §7 "Signing"): the capability the
//! app service calls once every check passed. The real signer runs FROST among the
//! chosen signers over the p2p layer ([`crate::node::sign_run::P2pSigner`], what the
//! daemon wires); [`NoSigner`] fails every request (answered `quorum_unavailable`), for
//! tests of the service alone.

use std::future::Future;

use dkg::PartyIndex;
use frost_secp256k1_tr::Signature;

use crate::node::keyring::ServingEpoch;

/// Why a signature could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignFailure {
    /// Not enough of the chosen signers took part before the deadline.
    #[error("signing quorum unavailable: {0}")]
    QuorumUnavailable(String),
    /// The application reused a signing session this node already ran (answered
    /// `bad_request`: a session's nonces sign once).
    #[error("signing session already used")]
    SessionReused,
    /// A fault inside this node.
    #[error("signing failed: {0}")]
    Internal(String),
}

/// Capability: run one FROST signing session (`session`, chosen by the application)
/// among `signers` of `epoch` for `identity`'s tweaked key and return the BIP-340
/// signature.
pub trait SignOnBehalf: Send + Sync + 'static {
    /// Signs `message`.
    fn sign(
        &self,
        epoch: &ServingEpoch,
        identity: &tss::Identity,
        message: &[u8],
        signers: &[PartyIndex],
        session: [u8; 16],
    ) -> impl Future<Output = Result<Signature, SignFailure>> + Send;
}

/// A signer that cannot sign: every request fails (tests of the service alone).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSigner;

impl SignOnBehalf for NoSigner {
    async fn sign(
        &self,
        _epoch: &ServingEpoch,
        _identity: &tss::Identity,
        _message: &[u8],
        _signers: &[PartyIndex],
        _session: [u8; 16],
    ) -> Result<Signature, SignFailure> {
        Err(SignFailure::QuorumUnavailable(
            "this node cannot sign on behalf of applications yet (no p2p signer)".into(),
        ))
    }
}
