//! The typed rounds: each a consuming transition from one state to the next.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::{Signature, Signer};
use ff::Field;
use group::Group;
use rand_core::CryptoRngCore;

use super::digests::{digest_round1, pok_challenge, transcript, view_digest, Seed};
use super::output::Output;
use super::session::{check_dealer_senders, check_receiver_senders, Kind, Session};
use super::{qualification, round1, round2, round3, round4};
use crate::error::{Fault, ParamError};
use crate::keys::{KeyShare, PublicKeys};
use crate::party::PartyIndex;
use crate::secret::{SecretPoly, SecretScalar};
use crate::suite::{self, Suite};
use crate::wire::{Bytes, Sig};
use crate::Error;

/// State after round 1 started ([`crate::pedersen::start`], [`crate::reshare::start`]): the dealer's polynomial, waiting for round-1 broadcasts.
///
/// Neither `Clone` nor `Serialize`: a round secret cannot be used twice.
pub struct Round1<S: Suite> {
    session: Session<S>,
    poly: Option<SecretPoly<S::Scalar>>,
    own: Option<round1::Broadcast>,
    old_secret: Option<SecretScalar<S::Scalar>>,
    seed: Seed,
}

/// Round 1 > Every dealer `P_i` samples a polynomial `f_i` of degree `t-1` (constant
/// term random, `s_i` or zero depending on the protocol), broadcasts the Feldman
/// commitment `C_{i,k} = a_{i,k}·G` and, for a fresh DKG, a Schnorr proof of knowledge
/// of `a_{i,0}` bound to the run and the dealer index.
pub(crate) fn start<S: Suite>(
    session: Session<S>,
    own_share: Option<&KeyShare<S>>,
    signer: &impl Signer<Signature>,
    rng: &mut impl CryptoRngCore,
) -> Result<(Round1<S>, Option<round1::Broadcast>), Error> {
    session.check_roles()?;
    let mut seed = Seed([0; 32]);
    rng.fill_bytes(&mut seed.0);
    // The old share of a dealer must be the one at its dealer index.
    let old_share = |old: &PublicKeys<S>| -> Result<&KeyShare<S>, ParamError> {
        let d = session.me.dealer.ok_or(ParamError::NoRoles)?;
        let share = own_share.ok_or(ParamError::NoRole(d))?;
        if share.public() != old || share.index() != d {
            return Err(ParamError::ForeignShare);
        }
        Ok(share)
    };
    let constant: Option<S::Scalar> = match &session.kind {
        Kind::Dkg => Some(S::Scalar::random(&mut *rng)),
        Kind::Reshare { old } => {
            if session.is_dealer() {
                Some(*old_share(old)?.secret())
            } else {
                None
            }
        }
        Kind::Refresh { old } => {
            old_share(old)?;
            Some(S::Scalar::ZERO)
        }
    };
    let old_secret = match (&session.kind, own_share) {
        (Kind::Refresh { .. }, Some(s)) => Some(SecretScalar::new(*s.secret())),
        _ => None,
    };
    let (poly, own) = match (constant, session.me.dealer) {
        (Some(a0), Some(me)) => {
            let degree = usize::from(session.threshold).saturating_sub(1);
            let poly = SecretPoly::random(a0, degree, &mut *rng);
            let msg = deal(&session, me, &poly, signer, rng)?;
            (Some(poly), Some(msg))
        }
        _ => (None, None),
    };
    let out = own.clone();
    Ok((
        Round1 {
            session,
            poly,
            own,
            old_secret,
            seed,
        },
        out,
    ))
}

/// The signed round-1 broadcast of dealer `me` for `poly`: the Feldman commitment, a
/// proof of knowledge of `a_0` bound to the run and the dealer (fresh DKG only), and the
/// identity-key signature over the round-1 digest (checked against the identity key, so
/// a wrong signer is caught here, not blamed on this party later).
fn deal<S: Suite>(
    session: &Session<S>,
    me: PartyIndex,
    poly: &SecretPoly<S::Scalar>,
    signer: &impl Signer<Signature>,
    rng: &mut impl CryptoRngCore,
) -> Result<round1::Broadcast, Error> {
    let commitment: Vec<S::Point> = poly.coeffs().map(|a| S::Point::generator() * a).collect();
    let proof = match session.kind {
        Kind::Dkg => {
            let k = SecretScalar::new(S::Scalar::random(&mut *rng));
            let r = S::Point::generator() * k.expose();
            let c0 = commitment
                .first()
                .copied()
                .unwrap_or_else(S::Point::identity);
            let c = pok_challenge::<S>(&session.run_id, me, &c0, &r);
            let a0 = poly.coeffs().next().copied().unwrap_or(S::Scalar::ZERO);
            let z = *k.expose() + c * a0;
            Some(round1::Proof {
                r: Bytes(S::wide_bytes(&r)),
                z: Bytes(suite::scalar_bytes::<S>(&z)),
            })
        }
        _ => None,
    };
    let mut msg = round1::Broadcast {
        header: session.header(),
        commitment: commitment.iter().map(|c| Bytes(S::wide_bytes(c))).collect(),
        proof,
        signature: Sig([0; 64]),
    };
    let digest = digest_round1(me, &msg);
    let signature = signer
        .try_sign(&session.signed_message(me, &digest))
        .map_err(|e| Error::Signer {
            reason: e.to_string(),
        })?;
    msg.signature = Sig(signature.to_bytes());
    if !session.signature_ok(me, &digest, &msg.signature) {
        return Err(ParamError::WrongSigner(me).into());
    }
    Ok(msg)
}

/// A dealer's parsed round-1 commitment.
pub(crate) struct Parsed<S: Suite> {
    pub(crate) commitment: Vec<S::Affine>,
    proof: Option<(S::Point, S::Scalar)>,
}

pub(crate) fn parse<S: Suite>(
    session: &Session<S>,
    msg: &round1::Broadcast,
) -> Result<Parsed<S>, Fault> {
    if !session.header_ok(&msg.header) || msg.commitment.len() != usize::from(session.threshold) {
        return Err(Fault::Malformed);
    }
    let commitment = msg
        .commitment
        .iter()
        .map(|b| S::wide_from_bytes(&b.0))
        .collect::<Option<Vec<_>>>()
        .ok_or(Fault::Malformed)?;
    let proof = match (&session.kind, &msg.proof) {
        (Kind::Dkg, Some(p)) => Some((
            suite::proj::<S>(S::wide_from_bytes(&p.r.0).ok_or(Fault::Malformed)?),
            suite::scalar_from_bytes::<S>(&p.z.0).ok_or(Fault::Malformed)?,
        )),
        (Kind::Dkg, None) => return Err(Fault::Malformed),
        (_, Some(_)) => return Err(Fault::Malformed),
        (_, None) => None,
    };
    Ok(Parsed { commitment, proof })
}

/// The constant-term check of one dealer: the proof of knowledge (fresh DKG), `PK_d`
/// (resharing) or the identity (refresh).
pub(crate) fn check_constant_term<S: Suite>(
    session: &Session<S>,
    d: PartyIndex,
    p: &Parsed<S>,
) -> Result<(), Fault> {
    let c0 = p.commitment.first().copied().map(suite::proj::<S>);
    match &session.kind {
        Kind::Dkg => {
            let ok = match (&p.proof, c0) {
                (Some((r, z)), Some(c0)) => {
                    let c = pok_challenge::<S>(&session.run_id, d, &c0, r);
                    S::Point::generator() * z == *r + c0 * c
                }
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                Err(Fault::InvalidProof)
            }
        }
        Kind::Reshare { old } => {
            if c0.as_ref() == old.share(d) {
                Ok(())
            } else {
                Err(Fault::BadConstantTerm)
            }
        }
        Kind::Refresh { .. } => {
            if c0.is_some_and(|c| bool::from(c.is_identity())) {
                Ok(())
            } else {
                Err(Fault::BadConstantTerm)
            }
        }
    }
}

/// What this party received from one dealer in round 1, validly signed.
pub(crate) struct Local<S: Suite> {
    pub(crate) echo: round3::Echo,
    /// The commitment, or why the broadcast fails the round-1 checks.
    pub(crate) verdict: Result<Vec<S::Affine>, Fault>,
}

/// This party's round-1 view: every dealer's broadcast that arrived validly signed (its
/// own included), with its commitment or why it fails the round-1 checks.
fn check_round1<S: Suite>(
    session: &Session<S>,
    seed: &Seed,
    own: Option<&round1::Broadcast>,
    received: &BTreeMap<PartyIndex, round1::Broadcast>,
) -> BTreeMap<PartyIndex, Local<S>> {
    let mut echo = BTreeMap::new();
    let mut faults = BTreeMap::new();
    let mut parsed: BTreeMap<PartyIndex, Parsed<S>> = BTreeMap::new();
    for d in session.dealers.keys() {
        let msg = if Some(*d) == session.me.dealer {
            own
        } else {
            received.get(d)
        };
        let Some(msg) = msg else {
            continue;
        };
        let digest = digest_round1(*d, msg);
        if !session.signature_ok(*d, &digest, &msg.signature) {
            continue;
        }
        let signature = msg.signature;
        echo.insert(*d, round3::Echo { digest, signature });
        match parse::<S>(session, msg) {
            Ok(p) => {
                parsed.insert(*d, p);
            }
            Err(f) => {
                faults.insert(*d, f);
            }
        }
    }
    if !(matches!(session.kind, Kind::Dkg) && proofs_ok_batched(session, seed, &parsed)) {
        for (d, p) in &parsed {
            if let Err(f) = check_constant_term(session, *d, p) {
                faults.insert(*d, f);
            }
        }
    }
    echo.into_iter()
        .map(|(d, e)| {
            let verdict = match (faults.remove(&d), parsed.remove(&d)) {
                (Some(f), _) => Err(f),
                (None, Some(p)) => Ok(p.commitment),
                (None, None) => Err(Fault::Malformed),
            };
            (d, Local { echo: e, verdict })
        })
        .collect()
}

/// All proofs of knowledge at once: `Σ ρ_d (z_d·G − R_d − c_d·C_d0) = 0` with secret
/// random weights `ρ_d`. `false` means at least one fails (then each is checked alone).
fn proofs_ok_batched<S: Suite>(
    session: &Session<S>,
    seed: &Seed,
    parsed: &BTreeMap<PartyIndex, Parsed<S>>,
) -> bool {
    let mut points = vec![S::Point::generator()];
    let mut scalars = vec![S::Scalar::ZERO];
    let mut zsum = S::Scalar::ZERO;
    for (d, p) in parsed {
        if let (Some((r, z)), Some(c0)) = (
            &p.proof,
            p.commitment.first().copied().map(suite::proj::<S>),
        ) {
            let rho = seed.weight::<S>(b"pok", *d);
            let c = pok_challenge::<S>(&session.run_id, *d, &c0, r);
            zsum += rho * z;
            points.push(*r);
            scalars.push(-rho);
            points.push(c0);
            scalars.push(-(rho * c));
        }
    }
    if let Some(first) = scalars.first_mut() {
        *first = zsum;
    }
    bool::from(S::msm(&points, &scalars).is_identity())
}

/// Round 2 of a dealer: `f(j)` for every other receiver `j`, with this party's round-1
/// view digest.
fn shares_for_receivers<S: Suite>(
    session: &Session<S>,
    poly: &SecretPoly<S::Scalar>,
    view: [u8; 32],
) -> BTreeMap<PartyIndex, round2::Direct> {
    session
        .receivers
        .keys()
        .filter(|r| Some(**r) != session.me.receiver)
        .map(|r| {
            let direct = round2::Direct {
                header: session.header(),
                share: Bytes(suite::scalar_bytes::<S>(&poly.eval::<S>(*r))),
                round1_digest: view,
            };
            (*r, direct)
        })
        .collect()
}

/// State after round 1: the accepted commitments, waiting for round-2 shares.
pub struct Round2<S: Suite> {
    session: Session<S>,
    poly: Option<SecretPoly<S::Scalar>>,
    own: Option<round1::Broadcast>,
    old_secret: Option<SecretScalar<S::Scalar>>,
    seed: Seed,
    /// Dealers whose validly signed round-1 broadcast arrived.
    local: BTreeMap<PartyIndex, Local<S>>,
    view: [u8; 32],
}

impl<S: Suite> Round2<S> {
    pub(crate) fn session(&self) -> &Session<S> {
        &self.session
    }

    pub(crate) fn echo(&self) -> BTreeMap<PartyIndex, round3::Echo> {
        self.local.iter().map(|(d, l)| (*d, l.echo)).collect()
    }
}

impl<S: Suite> Round1<S> {
    pub(crate) fn session(&self) -> &Session<S> {
        &self.session
    }

    /// Round 1 > Every participant checks each dealer's broadcast: signature (a
    /// broadcast that does not verify under the dealer's identity key counts as not
    /// received), header, degree, encodings, and the proof of knowledge (fresh DKG) or
    /// the constant term (`PK_i` when resharing, identity when refreshing). The verdicts
    /// become final in [`Round4::finish`], once every party's echo is known.
    /// Round 2 > Each dealer sends `f_i(j)` to every receiver `j`.
    ///
    /// `received` holds the round-1 broadcasts of the other dealers, by sender.
    pub fn advance(
        self,
        received: &BTreeMap<PartyIndex, round1::Broadcast>,
    ) -> Result<(Round2<S>, BTreeMap<PartyIndex, round2::Direct>), Error> {
        let Round1 {
            session,
            poly,
            own,
            old_secret,
            seed,
        } = self;
        check_dealer_senders(&session, received.keys())?;
        let local = check_round1(&session, &seed, own.as_ref(), received);
        let view = view_digest(&local.iter().map(|(d, l)| (*d, l.echo)).collect());
        let directs = match &poly {
            Some(poly) => shares_for_receivers(&session, poly, view),
            None => BTreeMap::new(),
        };
        let state = Round2 {
            session,
            poly,
            own,
            old_secret,
            seed,
            local,
            view,
        };
        Ok((state, directs))
    }
}

/// State after round 2: verified shares, waiting for complaints.
pub struct Round3<S: Suite> {
    r: Round2<S>,
    shares: BTreeMap<PartyIndex, SecretScalar<S::Scalar>>,
    view_mismatches: BTreeSet<PartyIndex>,
    /// This party's round-3 broadcast (receivers only).
    own: Option<round3::Broadcast>,
}

impl<S: Suite> Round2<S> {
    /// Round 3 > Each receiver `j` checks its shares against the commitments
    /// (`s_{i,j}·G == Σ_k j^k·C_{i,k}`, batched) and broadcasts a complaint against every
    /// dealer whose share is missing or wrong or whose round-1 broadcast it did not get,
    /// together with the signed digest of every round-1 broadcast it received (echo).
    ///
    /// `received` holds the round-2 messages addressed to this party, by dealer index.
    /// Returns the round-3 broadcast iff this party receives (a dealer that leaves the
    /// committee has nothing to echo or complain about: only receivers speak in round 3).
    pub fn advance(
        self,
        received: &BTreeMap<PartyIndex, round2::Direct>,
    ) -> Result<(Round3<S>, Option<round3::Broadcast>), Error> {
        check_dealer_senders(&self.session, received.keys())?;
        let mut shares = BTreeMap::new();
        let mut complaints = BTreeSet::new();
        let mut view_mismatches = BTreeSet::new();
        if let Some(me) = self.session.me.receiver {
            let mut candidates: Vec<(PartyIndex, S::Scalar, S::Point)> = Vec::new();
            for d in self.session.dealers.keys() {
                if Some(*d) != self.session.me.dealer && !self.local.contains_key(d) {
                    // No commitment to check a share against: the dealer must reveal
                    // it in round 4 (with its round-1 broadcast).
                    complaints.insert(*d);
                }
            }
            let commitments = self
                .local
                .iter()
                .filter_map(|(d, l)| l.verdict.as_ref().ok().map(|c| (d, c)));
            for (d, commitment) in commitments {
                let expected = suite::eval_commitment::<S>(commitment, me);
                if Some(*d) == self.session.me.dealer {
                    if let Some(poly) = &self.poly {
                        shares.insert(*d, SecretScalar::new(poly.eval::<S>(me)));
                    }
                    continue;
                }
                let share = received.get(d).and_then(|m| {
                    if !self.session.header_ok(&m.header) {
                        return None;
                    }
                    if m.round1_digest != self.view {
                        view_mismatches.insert(*d);
                    }
                    suite::scalar_from_bytes::<S>(&m.share.0)
                });
                match share {
                    Some(s) => candidates.push((*d, s, expected)),
                    None => {
                        complaints.insert(*d);
                    }
                }
            }
            // Batched check Σ ρ_d·s_d·G == Σ ρ_d·E_d(j).
            let mut lhs = S::Scalar::ZERO;
            let mut points = Vec::with_capacity(candidates.len());
            let mut scalars = Vec::with_capacity(candidates.len());
            for (d, s, e) in &candidates {
                let rho = self.seed.weight::<S>(b"share", *d);
                lhs += rho * s;
                points.push(*e);
                scalars.push(rho);
            }
            let batch_ok = S::Point::generator() * lhs == S::msm(&points, &scalars);
            for (d, s, e) in candidates {
                if batch_ok || S::Point::generator() * s == e {
                    shares.insert(d, SecretScalar::new(s));
                } else {
                    complaints.insert(d);
                }
            }
        }
        let msg = self.session.is_receiver().then(|| round3::Broadcast {
            header: self.session.header(),
            echo: self.echo(),
            complaints: complaints.clone(),
        });
        Ok((
            Round3 {
                r: self,
                shares,
                view_mismatches,
                own: msg.clone(),
            },
            msg,
        ))
    }
}

/// State after round 3: complaints known, waiting for justifications.
pub struct Round4<S: Suite> {
    r3: Round3<S>,
    round3: BTreeMap<PartyIndex, round3::Broadcast>,
    /// This party's own round-4 message (its re-broadcast counts like anyone's).
    own: Option<round4::Broadcast>,
    /// The dealers that owe a round-4 message: some round-3 report lacks their round-1
    /// broadcast or complains about them. Only they send one; the others have nothing
    /// to say, and [`Round4::finish`] reads nothing from them.
    obligated: BTreeSet<PartyIndex>,
}

impl<S: Suite> Round3<S> {
    pub(crate) fn session(&self) -> &Session<S> {
        &self.r.session
    }

    /// Round 4 > Every dealer that received complaints reveals the complainers' shares
    /// `f_i(j)` publicly, and re-broadcasts its signed round-1 broadcast if any round-3
    /// report lacks it.
    ///
    /// `received` holds the round-3 broadcasts of the other receivers, by receiver
    /// index. Messages with a wrong header are ignored (identically by every honest
    /// party). Returns the round-4 broadcast iff this party deals and owes one (a
    /// complaint or a report lacking its round-1 broadcast); when no dealer owes one,
    /// which every honest party with the same round-3 reports sees alike, round 4 is
    /// empty ([`Round4::obligated`]).
    pub fn advance(
        self,
        received: &BTreeMap<PartyIndex, round3::Broadcast>,
    ) -> Result<(Round4<S>, Option<round4::Broadcast>), Error> {
        let session = &self.r.session;
        check_receiver_senders(session, received.keys())?;
        let mut round3: BTreeMap<PartyIndex, round3::Broadcast> = received
            .iter()
            .filter(|(_, m)| session.header_ok(&m.header))
            .map(|(p, m)| (*p, m.clone()))
            .collect();
        if let (Some(j), Some(own)) = (session.me.receiver, &self.own) {
            round3.insert(j, own.clone());
        }
        // The dealers that owe a round-4 message: some report lacks their round-1
        // broadcast or complains about them.
        let obligated: BTreeSet<PartyIndex> = session
            .dealers
            .keys()
            .filter(|d| {
                round3
                    .values()
                    .any(|m| !m.echo.contains_key(*d) || m.complaints.contains(*d))
            })
            .copied()
            .collect();
        let msg = match (session.me.dealer, &self.r.poly) {
            (Some(me), Some(poly)) if obligated.contains(&me) => {
                // Anyone reporting this dealer's round-1 broadcast missing gets it again.
                let rebroadcast = if round3.values().any(|m| !m.echo.contains_key(&me)) {
                    self.r.own.clone()
                } else {
                    None
                };
                let revealed = round3
                    .iter()
                    .filter(|(_, m)| m.complaints.contains(&me))
                    .map(|(c, _)| {
                        let share = poly.eval::<S>(*c);
                        (*c, Bytes(suite::scalar_bytes::<S>(&share)))
                    })
                    .collect();
                Some(round4::Broadcast {
                    header: session.header(),
                    revealed,
                    round1: rebroadcast,
                })
            }
            _ => None,
        };
        Ok((
            Round4 {
                r3: self,
                round3,
                own: msg.clone(),
                obligated,
            },
            msg,
        ))
    }
}

impl<S: Suite> Round4<S> {
    pub(crate) fn session(&self) -> &Session<S> {
        &self.r3.r.session
    }

    /// The dealers that owe a round-4 message (this party included, if it does).
    pub fn obligated(&self) -> &BTreeSet<PartyIndex> {
        &self.obligated
    }

    /// Finish > Dealers that signed two different round-1 broadcasts, signed none, or
    /// did not re-broadcast theirs when reported missing are disqualified (see
    /// "Identifiable aborts" in [`crate::vss`]), as are dealers that did not answer a
    /// complaint with a share matching their commitment, and reporters of forged
    /// echoes. `QUAL` is the rest; it must hold at least `t` dealers.
    ///
    /// `received` holds the round-4 messages of the other dealers, by dealer index; those
    /// of dealers that owe none ([`Round4::obligated`]) are ignored.
    /// Each receiver's share is `Σ_{i∈QUAL} w_i·f_i(j)` and the public keys follow from
    /// `Σ_{i∈QUAL} w_i·C_i` (`w_i = 1`, or the Lagrange coefficient of `i` over QUAL
    /// when resharing).
    pub fn finish(
        self,
        received: &BTreeMap<PartyIndex, round4::Broadcast>,
    ) -> Result<Output<S>, Error> {
        let Round4 {
            r3,
            round3,
            own,
            obligated,
        } = self;
        let Round3 {
            r,
            mut shares,
            view_mismatches,
            ..
        } = r3;
        let session = &r.session;
        check_dealer_senders(session, received.keys())?;
        // A dealer that owes nothing has nothing to say: what it sends anyway is read by
        // no honest party (the same at each, as the round-3 reports are).
        let mut round4: BTreeMap<PartyIndex, &round4::Broadcast> = received
            .iter()
            .filter(|(p, m)| obligated.contains(*p) && session.header_ok(&m.header))
            .map(|(p, m)| (*p, m))
            .collect();
        if let (Some(d), Some(own)) = (session.me.dealer, &own) {
            round4.insert(d, own);
        }
        if round3.is_empty() {
            // Only a dealer that does not receive has no round-3 report, not even its own.
            return Err(Error::NoReceiverReports);
        }
        let agreement = qualification::agree_round1(session, &r.local, &round3, &round4)?;
        let mut faults = agreement.faults;
        let verdicts = qualification::judge_complaints(
            session,
            r.poly.as_ref(),
            &agreement.commitments,
            &round3,
            &round4,
            &mut shares,
        );
        for (d, f) in verdicts {
            faults.entry(d).or_insert(f);
        }
        // Provably lying reporters (receivers) are excluded too if they deal.
        for (p, f) in &agreement.lying_receivers {
            if let Some(d) = session.dealer_of_receiver(*p) {
                faults.entry(d).or_insert_with(|| f.clone());
            }
        }
        let qualified = qualification::qualify(session, &agreement.commitments, &mut faults)?;
        let public = qualification::public_keys(session, &qualified.combined)?;
        let transcript = transcript::<S>(session, &qualified.dealers, &agreement.digests, &public);
        let key_share =
            qualification::own_share(session, r.old_secret.as_ref(), &shares, &qualified, &public)?;
        Ok(Output {
            key_share,
            public,
            qualified: qualified.dealers,
            disqualified: faults,
            lying_receivers: agreement.lying_receivers,
            transcript,
            view_mismatches,
        })
    }
}
