//! Resharing from committee A `(t, n)` to committee B `(t', n')` (overlapping or
//! disjoint) keeping the group key, and proactive refresh inside one committee.
//!
//! Resharing: every participating old member `i` (old index) deals its share `s_i` with a
//! polynomial of degree `t'-1`; everyone checks the Feldman constant term against the
//! recorded `PK_i`; new member `j` (new index) sets `x'_j = Σ_{i∈QUAL} λ_i·f_i(j)` with `λ_i` the
//! Lagrange coefficients at 0 over QUAL (which must hold at least `t` old members), so
//! `Σ λ_i·s_i = sk` and the group key is unchanged (checked). Refresh: every member
//! deals zero (constant commitment must be the identity) and adds the sum of what it
//! receives to its share.
//!
//! The rounds are those of [`crate::vss`].

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::{Signature, Signer, VerifyingKey};
use rand_core::CryptoRngCore;

use crate::error::ParamError;
use crate::keys::{KeyShare, PublicKeys};
use crate::party::{PartyIndex, Roles};
use crate::suite::Suite;
use crate::vss::{self, round1, Kind, Round1, Session};
use crate::Error;

/// Parameters of one resharing run.
///
/// The old and the new committee are numbered separately, each by position in its own
/// list (party index = position + 1, as the governance contract numbers them): dealers
/// keep their old index, receivers take their new one (DESIGN §7). A member that stays
/// may deal as `i` and receive as `j != i`; its two roles are linked by its identity
/// key, which must be the same in both maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params<S: Suite> {
    /// Run identifier.
    pub run_id: [u8; 32],
    /// This party's roles: its old index if it deals, its new index if it receives.
    pub me: Roles,
    /// Public keys of the old committee (from the chain / the old DKG output), by old
    /// index.
    pub old: PublicKeys<S>,
    /// Old members taking part as dealers (at least `old.threshold()` of them): old index
    /// → identity (Ed25519) key.
    pub dealers: BTreeMap<PartyIndex, VerifyingKey>,
    /// The new committee: new index → identity (Ed25519) key.
    pub receivers: BTreeMap<PartyIndex, VerifyingKey>,
    /// The new threshold `t'`.
    pub new_threshold: u16,
}

/// Round 1 of a resharing. `share` is this party's old share (at `me.dealer`); required
/// iff this party deals. Returns the broadcast, signed by `signer` (this party's
/// identity key), iff this party deals.
pub fn start<S: Suite>(
    params: &Params<S>,
    share: Option<&KeyShare<S>>,
    signer: &impl Signer<Signature>,
    rng: &mut impl CryptoRngCore,
) -> Result<(Round1<S>, Option<round1::Broadcast>), Error> {
    let n = u16::try_from(params.receivers.len()).unwrap_or(u16::MAX);
    if params.new_threshold == 0 || params.new_threshold > n {
        return Err(ParamError::Threshold {
            t: params.new_threshold,
            n,
        }
        .into());
    }
    let t_old = usize::from(params.old.threshold());
    if params.dealers.len() < t_old {
        return Err(ParamError::TooFewParties {
            have: params.dealers.len(),
            need: t_old,
        }
        .into());
    }
    if params
        .dealers
        .keys()
        .any(|d| params.old.share(*d).is_none())
    {
        return Err(ParamError::ForeignShare.into());
    }
    let session = Session {
        kind: Kind::Reshare {
            old: params.old.clone(),
        },
        run_id: params.run_id,
        me: params.me,
        dealers: params.dealers.clone(),
        receivers: params.receivers.clone(),
        threshold: params.new_threshold,
        min_qualified: t_old,
    };
    vss::start(session, share, signer, rng)
}

/// Round 1 of a proactive refresh of `share`'s committee (same parties, same
/// threshold, same group key, fresh shares). Every member takes part. `identities` holds
/// every member's identity key; the broadcast is signed by `signer` (this member's).
pub fn start_refresh<S: Suite>(
    run_id: [u8; 32],
    share: &KeyShare<S>,
    identities: &BTreeMap<PartyIndex, VerifyingKey>,
    signer: &impl Signer<Signature>,
    rng: &mut impl CryptoRngCore,
) -> Result<(Round1<S>, round1::Broadcast), Error> {
    let old = share.public().clone();
    let parties: BTreeSet<PartyIndex> = old.parties().collect();
    let committee = vss::committee_keys(&parties, identities)?;
    let session = Session {
        kind: Kind::Refresh { old: old.clone() },
        run_id,
        me: Roles::both(share.index()),
        dealers: committee.clone(),
        receivers: committee,
        threshold: old.threshold(),
        min_qualified: usize::from(old.threshold()),
    };
    let (state, msg) = vss::start(session, Some(share), signer, rng)?;
    let msg = msg.ok_or(ParamError::NoRole(share.index()))?;
    Ok((state, msg))
}
