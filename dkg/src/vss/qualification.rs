//! The decisions of [`super::Round4::finish`], each from broadcast data only (so every
//! honest party reaches the same ones): agreement on the round-1 broadcasts, the verdict
//! on complaints, the qualified set with its combined commitment, the output keys and
//! this party's share.

use std::collections::{BTreeMap, BTreeSet};

use ff::Field;
use group::Group;

use super::digests::digest_round1;
use super::rounds::{check_constant_term, parse, Local};
use super::session::{Kind, Session};
use super::{round1, round3, round4};
use crate::error::{Fault, SignedDigest};
use crate::keys::{InvalidPublicKeys, KeyShare, PublicKeys};
use crate::party::PartyIndex;
use crate::secret::{SecretPoly, SecretScalar};
use crate::suite::{self, Suite};
use crate::wire::Sig;
use crate::Error;

/// What the round-3 echoes and round-4 re-broadcasts settle about round 1.
pub(super) struct Agreement<S: Suite> {
    /// Commitment of every dealer whose one signed digest is agreed and whose broadcast
    /// passes the round-1 checks.
    pub(super) commitments: BTreeMap<PartyIndex, Vec<S::Affine>>,
    /// The agreed round-1 digest of every such dealer (and of those failing the checks).
    pub(super) digests: BTreeMap<PartyIndex, [u8; 32]>,
    /// Dealers excluded so far, by dealer index.
    pub(super) faults: BTreeMap<PartyIndex, Fault>,
    /// Receivers that forged an echo, by receiver index.
    pub(super) lying_receivers: BTreeMap<PartyIndex, Fault>,
}

/// Signature checks of one run, remembering what verified: verification is
/// deterministic, so equal bytes need no second check.
struct Verifier<'a, S: Suite> {
    session: &'a Session<S>,
    verified: BTreeSet<(PartyIndex, [u8; 32], Sig)>,
}

impl<S: Suite> Verifier<'_, S> {
    fn check(&mut self, dealer: PartyIndex, digest: [u8; 32], signature: Sig) -> bool {
        if self.verified.contains(&(dealer, digest, signature)) {
            return true;
        }
        let ok = self.session.signature_ok(dealer, &digest, &signature);
        if ok {
            self.verified.insert((dealer, digest, signature));
        }
        ok
    }
}

/// Every validly signed round-1 digest reported for one dealer.
struct Reports<'m> {
    signed: BTreeMap<[u8; 32], SignedDigest>,
    /// Receivers whose report lacks the dealer.
    missing: BTreeSet<PartyIndex>,
    /// The dealer's round-4 re-broadcast, if validly signed.
    rebroadcast: Option<([u8; 32], &'m round1::Broadcast)>,
}

/// Collects the reports on dealer `d`; an echo that does not verify blames its reporter.
fn reports<'m, S: Suite>(
    verifier: &mut Verifier<'_, S>,
    d: PartyIndex,
    round3: &BTreeMap<PartyIndex, round3::Broadcast>,
    round4: Option<&'m round4::Broadcast>,
    lying_receivers: &mut BTreeMap<PartyIndex, Fault>,
) -> Reports<'m> {
    let mut signed = BTreeMap::new();
    let mut missing = BTreeSet::new();
    for (p, m) in round3 {
        let Some(e) = m.echo.get(&d) else {
            missing.insert(*p);
            continue;
        };
        let sd = SignedDigest {
            digest: e.digest,
            signature: e.signature.0,
        };
        if verifier.check(d, e.digest, e.signature) {
            signed.entry(e.digest).or_insert(sd);
        } else {
            lying_receivers.entry(*p).or_insert(Fault::ForgedEcho {
                dealer: d,
                report: Box::new(sd),
            });
        }
    }
    let rebroadcast = round4.and_then(|m| m.round1.as_ref()).and_then(|msg| {
        let digest = digest_round1(d, msg);
        verifier
            .check(d, digest, msg.signature)
            .then_some((digest, msg))
    });
    if let Some((digest, msg)) = rebroadcast {
        signed.entry(digest).or_insert(SignedDigest {
            digest,
            signature: msg.signature.0,
        });
    }
    Reports {
        signed,
        missing,
        rebroadcast,
    }
}

/// The one agreed digest of a dealer, or why there is none.
fn agreed_digest(r: Reports<'_>) -> Result<[u8; 32], Fault> {
    let mut distinct = r.signed.values();
    let (Some(first), second) = (distinct.next(), distinct.next()) else {
        return Err(Fault::MissingBroadcast);
    };
    if let Some(second) = second {
        return Err(Fault::Equivocation {
            first: Box::new(*first),
            second: Box::new(*second),
        });
    }
    if !r.missing.is_empty() && r.rebroadcast.is_none() {
        return Err(Fault::MissingRebroadcast {
            reporters: r.missing,
        });
    }
    Ok(first.digest)
}

/// The commitment of the agreed broadcast of dealer `d`: as received in round 1, or the
/// re-broadcast (a receiver that missed it reported it missing, so one was required).
fn agreed_commitment<S: Suite>(
    session: &Session<S>,
    d: PartyIndex,
    digest: [u8; 32],
    local: Option<&Local<S>>,
    rebroadcast: Option<&round1::Broadcast>,
) -> Result<Result<Vec<S::Affine>, Fault>, Error> {
    Ok(match (local, rebroadcast) {
        (Some(l), _) if l.echo.digest == digest => l.verdict.clone(),
        (_, Some(msg)) => parse::<S>(session, msg).and_then(|p| {
            check_constant_term(session, d, &p)?;
            Ok(p.commitment)
        }),
        // Only a dealer that does not receive can get here: it cannot compute the keys,
        // and its view blames nobody.
        _ if !session.is_receiver() => return Err(Error::MissedBroadcast { dealer: d }),
        _ => Err(Fault::MissingBroadcast),
    })
}

/// Agreement on round 1, dealer by dealer (see "Identifiable aborts" in
/// [`crate::vss`]). `round3` holds every receiver's report (this party's included),
/// `round4` every dealer's round-4 message.
pub(super) fn agree_round1<S: Suite>(
    session: &Session<S>,
    local: &BTreeMap<PartyIndex, Local<S>>,
    round3: &BTreeMap<PartyIndex, round3::Broadcast>,
    round4: &BTreeMap<PartyIndex, &round4::Broadcast>,
) -> Result<Agreement<S>, Error> {
    let mut verifier = Verifier {
        session,
        verified: local
            .iter()
            .map(|(d, l)| (*d, l.echo.digest, l.echo.signature))
            .collect(),
    };
    let mut out = Agreement {
        commitments: BTreeMap::new(),
        digests: BTreeMap::new(),
        faults: BTreeMap::new(),
        lying_receivers: BTreeMap::new(),
    };
    for d in session.dealers.keys() {
        let r = reports(
            &mut verifier,
            *d,
            round3,
            round4.get(d).copied(),
            &mut out.lying_receivers,
        );
        let rebroadcast = r.rebroadcast.map(|(_, msg)| msg);
        let digest = match agreed_digest(r) {
            Ok(digest) => digest,
            Err(f) => {
                out.faults.insert(*d, f);
                continue;
            }
        };
        out.digests.insert(*d, digest);
        match agreed_commitment(session, *d, digest, local.get(d), rebroadcast)? {
            Ok(c) => {
                out.commitments.insert(*d, c);
            }
            Err(f) => {
                out.faults.insert(*d, f);
            }
        }
    }
    Ok(out)
}

/// Checks every complaint against a dealer with a commitment: the revealed share (or,
/// for this party's own dealing, its polynomial) must match the commitment. A justified
/// share of this party's own complaint goes into `shares`. Returns the failed dealers
/// in order (a dealer keeps its first verdict).
pub(super) fn judge_complaints<S: Suite>(
    session: &Session<S>,
    poly: Option<&SecretPoly<S::Scalar>>,
    commitments: &BTreeMap<PartyIndex, Vec<S::Affine>>,
    round3: &BTreeMap<PartyIndex, round3::Broadcast>,
    round4: &BTreeMap<PartyIndex, &round4::Broadcast>,
    shares: &mut BTreeMap<PartyIndex, SecretScalar<S::Scalar>>,
) -> Vec<(PartyIndex, Fault)> {
    let mut verdicts = Vec::new();
    for (d, commitment) in commitments {
        let reveal = round4.get(d);
        for (c, m) in round3 {
            if !m.complaints.contains(d) {
                continue;
            }
            let revealed = if Some(*d) == session.me.dealer {
                poly.map(|p| p.eval::<S>(*c))
            } else {
                reveal
                    .and_then(|m| m.revealed.get(c))
                    .and_then(|b| suite::scalar_from_bytes::<S>(&b.0))
            };
            match revealed {
                None => verdicts.push((*d, Fault::MissingJustification { complainer: *c })),
                Some(s)
                    if S::Point::generator() * s != suite::eval_commitment::<S>(commitment, *c) =>
                {
                    verdicts.push((*d, Fault::FailedJustification { complainer: *c }));
                }
                Some(s) => {
                    if Some(*c) == session.me.receiver {
                        shares.insert(*d, SecretScalar::new(s));
                    }
                }
            }
        }
    }
    verdicts
}

/// QUAL with its combination weights and combined commitment `A_k = Σ w_i·C_{i,k}`.
pub(super) struct Qualified<S: Suite> {
    pub(super) dealers: BTreeSet<PartyIndex>,
    pub(super) weights: BTreeMap<PartyIndex, S::Scalar>,
    pub(super) combined: Vec<S::Affine>,
}

/// The weight of each QUAL dealer: the Lagrange coefficient at 0 over QUAL when
/// resharing (old shares are combined), else 1.
fn weights<S: Suite>(
    session: &Session<S>,
    qualified: &BTreeSet<PartyIndex>,
) -> Result<BTreeMap<PartyIndex, S::Scalar>, Error> {
    qualified
        .iter()
        .map(|d| {
            let w = match &session.kind {
                Kind::Reshare { .. } => suite::lagrange::<S>(qualified, *d, S::Scalar::ZERO)
                    .ok_or(InvalidPublicKeys::Inconsistent)?,
                _ => S::Scalar::ONE,
            };
            Ok((*d, w))
        })
        .collect()
}

/// `A_k = Σ_{i∈QUAL} w_i·C_{i,k}` for `k < t`.
fn combine<S: Suite>(
    session: &Session<S>,
    commitments: &BTreeMap<PartyIndex, Vec<S::Affine>>,
    weights: &BTreeMap<PartyIndex, S::Scalar>,
) -> Vec<S::Point> {
    (0..usize::from(session.threshold))
        .map(|k| {
            let mut pts = Vec::with_capacity(weights.len());
            let mut sc = Vec::with_capacity(weights.len());
            for (d, w) in weights {
                if let Some(c) = commitments.get(d).and_then(|c| c.get(k)) {
                    pts.push(*c);
                    sc.push(*w);
                }
            }
            match &session.kind {
                Kind::Reshare { .. } => {
                    let pts: Vec<S::Point> = pts.into_iter().map(suite::proj::<S>).collect();
                    S::msm(&pts, &sc)
                }
                _ => pts.iter().fold(S::Point::identity(), |a, p| a + *p),
            }
        })
        .collect()
}

/// QUAL: the dealers with a commitment and no fault; at least `min_qualified`.
/// Commitments were decoded without subgroup checks (cheap); the combined commitment,
/// from which every output key is computed, is checked instead, and only if that fails
/// are the individual dealers checked and excluded (`NotInSubgroup` into `faults`).
pub(super) fn qualify<S: Suite>(
    session: &Session<S>,
    commitments: &BTreeMap<PartyIndex, Vec<S::Affine>>,
    faults: &mut BTreeMap<PartyIndex, Fault>,
) -> Result<Qualified<S>, Error> {
    loop {
        let dealers: BTreeSet<PartyIndex> = commitments
            .keys()
            .filter(|d| !faults.contains_key(d))
            .copied()
            .collect();
        if dealers.len() < session.min_qualified {
            return Err(Error::TooFewQualified {
                qualified: dealers.len(),
                needed: session.min_qualified,
                disqualified: core::mem::take(faults),
            });
        }
        let weights = weights(session, &dealers)?;
        let combined = combine(session, commitments, &weights);
        if combined.iter().all(S::is_torsion_free) {
            return Ok(Qualified {
                dealers,
                weights,
                combined: suite::to_affine::<S>(&combined),
            });
        }
        let mut found = false;
        for d in &dealers {
            if commitments
                .get(d)
                .is_some_and(|c| !c.iter().all(|p| S::is_torsion_free(&suite::proj::<S>(*p))))
            {
                faults.insert(*d, Fault::NotInSubgroup);
                found = true;
            }
        }
        if !found {
            return Err(InvalidPublicKeys::Point.into());
        }
    }
}

/// The receivers' public keys from the combined commitment: group key `A_0` (which a
/// reshare must leave unchanged) and `PK_j = Σ_k j^k·A_k`; a refresh adds the old keys
/// to the zero sharing.
pub(super) fn public_keys<S: Suite>(
    session: &Session<S>,
    combined: &[S::Affine],
) -> Result<PublicKeys<S>, Error> {
    let constant = combined
        .first()
        .copied()
        .map(suite::proj::<S>)
        .unwrap_or_else(S::Point::identity);
    let mut shares = suite::eval_commitment_all::<S>(combined, &session.receiver_set());
    let group_key = match &session.kind {
        Kind::Dkg => constant,
        Kind::Reshare { old } if constant == *old.group_key() => constant,
        Kind::Reshare { .. } => return Err(InvalidPublicKeys::Inconsistent.into()),
        Kind::Refresh { old } => {
            for (j, p) in shares.iter_mut() {
                *p += old.share(*j).ok_or(InvalidPublicKeys::Inconsistent)?;
            }
            *old.group_key()
        }
    };
    Ok(PublicKeys::new(session.threshold, group_key, shares)?)
}

/// This party's new share `x_j = Σ_{i∈QUAL} w_i·s_{i,j}` (+ the old share when
/// refreshing), if it receives.
pub(super) fn own_share<S: Suite>(
    session: &Session<S>,
    old_secret: Option<&SecretScalar<S::Scalar>>,
    shares: &BTreeMap<PartyIndex, SecretScalar<S::Scalar>>,
    qualified: &Qualified<S>,
    public: &PublicKeys<S>,
) -> Result<Option<KeyShare<S>>, Error> {
    let Some(me) = session.me.receiver else {
        return Ok(None);
    };
    let mut x = SecretScalar::new(old_secret.map(|s| *s.expose()).unwrap_or(S::Scalar::ZERO));
    for d in &qualified.dealers {
        let s = shares.get(d).ok_or(Error::MissingShare { dealer: *d })?;
        let w = qualified.weights.get(d).copied().unwrap_or(S::Scalar::ZERO);
        *x.expose_mut() += w * s.expose();
    }
    Ok(Some(KeyShare::new(me, x, public.clone())?))
}
