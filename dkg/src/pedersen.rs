//! Fresh distributed key generation (joint-Feldman with proofs of knowledge,
//! complaints and justifications); see [`crate::vss`] for the rounds.
//!
//! ```text
//! let (r1, b1) = pedersen::start::<Bls12381G1>(&params, &id_key, &mut rng)?; // broadcast b1
//! let (r2, d2) = r1.advance(&round1_broadcasts)?;                        // send d2[j] to j
//! let (r3, b3) = r2.advance(&round2_directs)?;                           // broadcast b3
//! let (r4, b4) = r3.advance(&round3_broadcasts)?;                        // broadcast b4
//! let out = r4.finish(&round4_broadcasts)?;                              // key share
//! ```

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::{Signature, Signer, VerifyingKey};
use rand_core::CryptoRngCore;

use crate::error::ParamError;
use crate::party::{PartyIndex, Roles};
use crate::suite::Suite;
use crate::vss::{self, round1, Kind, Round1, Session};
use crate::Error;

/// Parameters of one DKG run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// Run identifier (every message and proof is bound to it).
    pub run_id: [u8; 32],
    /// This party.
    pub me: PartyIndex,
    /// The committee (every member deals and receives).
    pub parties: BTreeSet<PartyIndex>,
    /// Threshold `t`; the qualified set must keep at least `t` dealers.
    pub threshold: u16,
    /// Identity (Ed25519) key of every party: dealers sign their round-1 broadcast with
    /// it, so equivocation is provable and lying echoes are detected.
    pub identities: BTreeMap<PartyIndex, VerifyingKey>,
}

/// Round 1 of a fresh DKG: returns the state and this party's broadcast, signed by
/// `signer` (this party's identity key, `params.identities[me]`; an
/// `ed25519_dalek::SigningKey` or a signer kept elsewhere, such as in an enclave).
pub fn start<S: Suite>(
    params: &Params,
    signer: &impl Signer<Signature>,
    rng: &mut impl CryptoRngCore,
) -> Result<(Round1<S>, round1::Broadcast), Error> {
    let n = u16::try_from(params.parties.len()).unwrap_or(u16::MAX);
    if params.threshold == 0 || params.threshold > n {
        return Err(ParamError::Threshold {
            t: params.threshold,
            n,
        }
        .into());
    }
    if !params.parties.contains(&params.me) {
        return Err(ParamError::NoRole(params.me).into());
    }
    let committee = vss::committee_keys(&params.parties, &params.identities)?;
    let session = Session {
        kind: Kind::Dkg,
        run_id: params.run_id,
        me: Roles::both(params.me),
        dealers: committee.clone(),
        receivers: committee,
        threshold: params.threshold,
        min_qualified: usize::from(params.threshold),
    };
    let (state, msg) = vss::start(session, None, signer, rng)?;
    let msg = msg.ok_or(ParamError::NoRole(params.me))?;
    Ok((state, msg))
}
