//! Repair of one lost share with the help of `t` (or more) parties, revealing no other
//! share: the repairable threshold scheme of Laing and Stinson, "A Survey and
//! Refinement of Repairable Threshold Schemes" (J. Math. Cryptology 2018), §4, the
//! scheme behind frost's `keys::repairable`, made verifiable.
//!
//! 1. Helper `i ∈ H` computes `δ_i = λ_i^H(r)·s_i` (Lagrange coefficient at the lost
//!    index `r`), splits it into random additive parts `δ_{i,j}` for `j ∈ H`, broadcasts
//!    `Δ_{i,j} = δ_{i,j}·G` and sends `δ_{i,j}` to helper `j`. Everyone checks
//!    `Σ_j Δ_{i,j} == λ_i^H(r)·PK_i`.
//! 2. Helper `j` checks each `δ_{i,j}` against `Δ_{i,j}` and sends `σ_j = Σ_i δ_{i,j}` to `r`.
//! 3. `r` checks `σ_j·G == Σ_i Δ_{i,j}` and sets `s_r = Σ_j σ_j`, which equals `f(r)`;
//!    `s_r·G == PK_r` is re-checked.
//!
//! Frost's version sends `δ_{i,j}` unauthenticated by any commitment, so a wrong
//! contribution is detected only at the end and cannot be attributed; the `Δ`
//! commitments here name the culprit. They reveal only `δ_{i,j}·G` of random additive
//! parts, so `r` still learns nothing beyond `s_r`.
#![deny(clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use ff::Field;
use group::Group;
use rand_core::CryptoRngCore;

use crate::error::ParamError;
use crate::keys::{KeyShare, PublicKeys};
use crate::party::PartyIndex;
use crate::secret::SecretScalar;
use crate::suite::{self, Suite};
use crate::wire::{Bytes, Header, VERSION};
use crate::Error;

mod machine;
pub use machine::{Message, Repair};

/// Step-1 messages.
pub mod step1 {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};
    use zeroize::Zeroize;

    use crate::party::PartyIndex;
    use crate::wire::{Bytes, Header};

    /// Sent by every helper to the other helpers and to the lost party.
    ///
    /// # Security
    ///
    /// Requires the echo-broadcast channel among the helpers and the lost party.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Broadcast {
        pub(crate) header: Header,
        /// The party being repaired.
        pub(crate) lost: PartyIndex,
        /// `Δ_{i,j}` for every helper `j`.
        pub(crate) commitments: BTreeMap<PartyIndex, Bytes>,
    }

    /// Sent by helper `i` to helper `j`: the additive part `δ_{i,j}`.
    ///
    /// # Security
    ///
    /// Secret; confidential, authenticated channel. Zeroed on drop.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Direct {
        pub(crate) header: Header,
        pub(crate) delta: Bytes,
    }

    impl Drop for Direct {
        fn drop(&mut self) {
            self.delta.0.zeroize();
        }
    }
}

/// Step-2 message.
pub mod step2 {
    use serde::{Deserialize, Serialize};
    use zeroize::Zeroize;

    use crate::wire::{Bytes, Header};

    /// Sent by helper `j` to the lost party: `σ_j`.
    ///
    /// # Security
    ///
    /// Secret; confidential, authenticated channel. Zeroed on drop.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Direct {
        pub(crate) header: Header,
        pub(crate) sigma: Bytes,
    }

    impl Drop for Direct {
        fn drop(&mut self) {
            self.sigma.0.zeroize();
        }
    }
}

/// Parameters of one repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params<S: Suite> {
    /// Run identifier.
    pub run_id: [u8; 32],
    /// The party whose share is lost.
    pub lost: PartyIndex,
    /// Helpers (at least `t`, not including `lost`).
    pub helpers: BTreeSet<PartyIndex>,
    /// Public keys of the committee (the lost party reads them from the chain).
    pub public: PublicKeys<S>,
}

impl<S: Suite> Params<S> {
    fn check(&self) -> Result<(), Error> {
        let t = usize::from(self.public.threshold());
        if self.helpers.len() < t {
            return Err(ParamError::TooFewParties {
                have: self.helpers.len(),
                need: t,
            }
            .into());
        }
        if self.helpers.contains(&self.lost)
            || self.public.share(self.lost).is_none()
            || self.helpers.iter().any(|h| self.public.share(*h).is_none())
        {
            return Err(ParamError::NoRole(self.lost).into());
        }
        Ok(())
    }

    fn header_ok(&self, h: &Header) -> bool {
        h.version == VERSION && h.suite == S::ID && h.run_id == self.run_id
    }

    fn lambda(&self, i: PartyIndex) -> Result<S::Scalar, Error> {
        suite::lagrange::<S>(&self.helpers, i, suite::index_scalar::<S>(self.lost))
            .ok_or_else(|| ParamError::NoRole(i).into())
    }
}

fn parse_commitments<S: Suite>(
    params: &Params<S>,
    sender: PartyIndex,
    msg: &step1::Broadcast,
) -> Result<BTreeMap<PartyIndex, S::Point>, Error> {
    let bad = Error::InvalidRepairContribution { culprit: sender };
    if !params.header_ok(&msg.header)
        || msg.lost != params.lost
        || msg.commitments.keys().ne(params.helpers.iter())
    {
        return Err(bad);
    }
    let pts = msg
        .commitments
        .iter()
        .map(|(j, b)| suite::point_from_bytes::<S>(&b.0).map(|p| (*j, p)))
        .collect::<Option<BTreeMap<_, _>>>()
        .ok_or(Error::InvalidRepairContribution { culprit: sender })?;
    // Σ_j Δ_{i,j} == λ_i·PK_i
    let sum = pts.values().fold(S::Point::identity(), |a, p| a + p);
    let pk = params.public.share(sender).copied().ok_or(bad)?;
    if sum != pk * params.lambda(sender)? {
        return Err(Error::InvalidRepairContribution { culprit: sender });
    }
    Ok(pts)
}

fn all_commitments<S: Suite>(
    params: &Params<S>,
    broadcasts: &BTreeMap<PartyIndex, step1::Broadcast>,
) -> Result<BTreeMap<PartyIndex, BTreeMap<PartyIndex, S::Point>>, Error> {
    for s in broadcasts.keys() {
        if !params.helpers.contains(s) {
            return Err(Error::UnexpectedSender { sender: *s });
        }
    }
    params
        .helpers
        .iter()
        .map(|h| {
            let msg = broadcasts
                .get(h)
                .ok_or(Error::InvalidRepairContribution { culprit: *h })?;
            parse_commitments(params, *h, msg).map(|c| (*h, c))
        })
        .collect()
}

/// A helper between steps 1 and 2.
pub struct Helper<S: Suite> {
    params: Params<S>,
    me: PartyIndex,
    own_broadcast: step1::Broadcast,
    own_part: SecretScalar<S::Scalar>,
}

/// What [`start_helper`] returns: the helper's state, its broadcast, and the additive
/// parts for the other helpers (by recipient).
pub type HelperStart<S> = (
    Helper<S>,
    step1::Broadcast,
    BTreeMap<PartyIndex, step1::Direct>,
);

/// Step 1 for helper `share.index()`: returns the state, the broadcast and the parts
/// for the other helpers.
pub fn start_helper<S: Suite>(
    params: &Params<S>,
    share: &KeyShare<S>,
    rng: &mut impl CryptoRngCore,
) -> Result<HelperStart<S>, Error> {
    params.check()?;
    let me = share.index();
    if !params.helpers.contains(&me) {
        return Err(ParamError::NoRole(me).into());
    }
    if share.public() != &params.public {
        return Err(ParamError::ForeignShare.into());
    }
    let delta = SecretScalar::new(params.lambda(me)? * share.secret());
    // Random additive split of δ_i over the helpers.
    let mut parts: BTreeMap<PartyIndex, SecretScalar<S::Scalar>> = BTreeMap::new();
    let mut rest = SecretScalar::new(*delta.expose());
    let last = params.helpers.iter().next_back().copied();
    for j in &params.helpers {
        let part = if Some(*j) == last {
            *rest.expose()
        } else {
            let r = S::Scalar::random(&mut *rng);
            *rest.expose_mut() -= r;
            r
        };
        parts.insert(*j, SecretScalar::new(part));
    }
    let header = Header::new(S::ID, params.run_id);
    let broadcast = step1::Broadcast {
        header,
        lost: params.lost,
        commitments: parts
            .iter()
            .map(|(j, p)| {
                (
                    *j,
                    Bytes(suite::point_bytes::<S>(
                        &(S::Point::generator() * p.expose()),
                    )),
                )
            })
            .collect(),
    };
    let directs = parts
        .iter()
        .filter(|(j, _)| **j != me)
        .map(|(j, p)| {
            (
                *j,
                step1::Direct {
                    header,
                    delta: Bytes(suite::scalar_bytes::<S>(p.expose())),
                },
            )
        })
        .collect();
    let own_part = parts.remove(&me).ok_or(ParamError::NoRole(me))?;
    Ok((
        Helper {
            params: params.clone(),
            me,
            own_broadcast: broadcast.clone(),
            own_part,
        },
        broadcast,
        directs,
    ))
}

impl<S: Suite> Helper<S> {
    /// Step 2: checks the other helpers' broadcasts and parts, returns `σ_j` for the
    /// lost party.
    pub fn advance(
        self,
        broadcasts: &BTreeMap<PartyIndex, step1::Broadcast>,
        directs: &BTreeMap<PartyIndex, step1::Direct>,
    ) -> Result<step2::Direct, Error> {
        if broadcasts.contains_key(&self.me) || directs.contains_key(&self.me) {
            return Err(Error::UnexpectedSender { sender: self.me });
        }
        let mut all = broadcasts.clone();
        all.insert(self.me, self.own_broadcast.clone());
        let commitments = all_commitments(&self.params, &all)?;
        let mut sigma = *self.own_part.expose();
        for (i, c) in &commitments {
            if *i == self.me {
                continue;
            }
            let bad = Error::InvalidRepairContribution { culprit: *i };
            let msg = directs
                .get(i)
                .ok_or(Error::InvalidRepairContribution { culprit: *i })?;
            if !self.params.header_ok(&msg.header) {
                return Err(bad);
            }
            let d = suite::scalar_from_bytes::<S>(&msg.delta.0)
                .ok_or(Error::InvalidRepairContribution { culprit: *i })?;
            if Some(&(S::Point::generator() * d)) != c.get(&self.me) {
                return Err(bad);
            }
            sigma += d;
        }
        let sigma = SecretScalar::new(sigma);
        Ok(step2::Direct {
            header: Header::new(S::ID, self.params.run_id),
            sigma: Bytes(suite::scalar_bytes::<S>(sigma.expose())),
        })
    }
}

/// Step 3 at the lost party: rebuilds its share from the helpers' broadcasts and `σ_j`.
pub fn recover<S: Suite>(
    params: &Params<S>,
    broadcasts: &BTreeMap<PartyIndex, step1::Broadcast>,
    sigmas: &BTreeMap<PartyIndex, step2::Direct>,
) -> Result<KeyShare<S>, Error> {
    params.check()?;
    let commitments = all_commitments(params, broadcasts)?;
    let mut s = S::Scalar::ZERO;
    for j in &params.helpers {
        let bad = Error::InvalidRepairContribution { culprit: *j };
        let msg = sigmas
            .get(j)
            .ok_or(Error::InvalidRepairContribution { culprit: *j })?;
        if !params.header_ok(&msg.header) {
            return Err(bad);
        }
        let sigma = suite::scalar_from_bytes::<S>(&msg.sigma.0)
            .ok_or(Error::InvalidRepairContribution { culprit: *j })?;
        let expected = commitments
            .values()
            .filter_map(|c| c.get(j))
            .fold(S::Point::identity(), |a, p| a + p);
        if S::Point::generator() * sigma != expected {
            return Err(bad);
        }
        s += sigma;
    }
    for sender in sigmas.keys() {
        if !params.helpers.contains(sender) {
            return Err(Error::UnexpectedSender { sender: *sender });
        }
    }
    Ok(KeyShare::new(
        params.lost,
        SecretScalar::new(s),
        params.public.clone(),
    )?)
}
