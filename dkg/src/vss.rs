//! The round engine shared by the DKG, resharing and refresh: joint-Feldman verifiable
//! secret sharing with complaints and justifications.
//!
//! Follows Pedersen's DKG (EUROCRYPT '91) as presented by Gennaro, Jarecki, Krawczyk
//! and Rabin, "Secure Distributed Key Generation for Discrete-Log Based Cryptosystems"
//! (J. Cryptology 2007), Fig. 1 ("Joint-Feldman"), with a Schnorr proof of knowledge of
//! each dealer's constant term (as FROST's `keys::dkg`, RFC 9591 appendix C / Komlo–
//! Goldberg Fig. 1 step 2) against rogue-key attacks, and signed per-dealer echo
//! digests against equivocation. Resharing follows Desmedt–Jajodia / Wong–Wang–Wing: each old
//! dealer shares its own share `s_i` (Feldman constant term checked against `PK_i`) and
//! new parties combine with Lagrange coefficients over the qualified dealers. Refresh
//! (Herzberg et al., CRYPTO '95) shares zero.
//!
//! Four rounds, each a consuming transition:
//!
//! | round | sender | message | channel |
//! |---|---|---|---|
//! | 1 | dealer | [`round1::Broadcast`]: Feldman commitment (+ proof of knowledge), signed by the dealer's identity key | authenticated, to all |
//! | 2 | dealer | [`round2::Direct`]: the share `f_d(j)` and the digest of the sender's round-1 view | confidential, authenticated, to receiver `j` |
//! | 3 | receiver | [`round3::Broadcast`]: signed digest of every round-1 broadcast received (echo) + complaints | broadcast with agreement |
//! | 4 | dealer | [`round4::Broadcast`]: shares revealed to answer complaints, round-1 re-broadcast if reported missing | broadcast with agreement |
//!
//! Dealers and receivers are numbered in two index spaces (a reshare's old and new
//! committee, each by position; DESIGN §7): the input maps of rounds 1, 2 and 4 are
//! keyed by dealer index, those of round 3 by receiver index, and one party with both
//! roles ([`crate::Roles`]) is linked by its identity key. See docs/PROTOCOL.md "DKG
//! wire messages", "Two index spaces".
//!
//! # Identifiable aborts
//!
//! Every participant has an Ed25519 identity key, known to all (the parameters carry
//! them). A dealer signs the digest of its round-1 broadcast
//! ([`round1::Broadcast::digest`]) bound to the run and its own index
//! ([`signed_message`]: a signature from another run does not verify, so it cannot be
//! replayed as an echo; the run id must be fresh for every attempt); a broadcast whose
//! signature does not verify counts as not received. In round 3 every receiver echoes, per dealer,
//! the digest and signature it received. [`Round4::finish`] then decides per dealer,
//! from broadcast data only:
//!
//! - an echo whose signature does not verify under the dealer's key is a provable lie of
//!   the **reporter** ([`Fault::ForgedEcho`], evidence: the report): the echo is
//!   ignored and the reporter is excluded from QUAL if it deals;
//! - two different validly signed digests are provable **equivocation** by the dealer
//!   ([`Fault::Equivocation`], evidence: both signed digests);
//! - a dealer reported missing by anyone must re-broadcast its signed round-1 message in
//!   round 4 ([`Fault::MissingRebroadcast`] otherwise); a party that missed it takes the
//!   commitment from there, and since it complained about that dealer in round 3 (no
//!   commitment to check its share against), the dealer's round-4 reveal gives it its
//!   share;
//! - no validly signed digest anywhere: [`Fault::MissingBroadcast`].
//!
//! A "missing" claim cannot be told from a real loss, so it blames nobody; it costs the
//! dealer one re-broadcast. Hence one malicious participant can no longer get an honest
//! dealer excluded: honest dealers sign one broadcast, answer every complaint and
//! re-broadcast on demand. Signatures are checked with `verify_strict`, one by one (a
//! batch check can accept signatures a single check rejects, and honest parties must
//! agree on every verdict); a party checks each dealer's signature once in round 1 and
//! in [`Round4::finish`] only echoes that differ from what it received.
//!
//! **Channel assumptions.** Honest parties reach the same QUAL, keys and transcript
//! hash iff they process the same round-3 and round-4 messages: rounds 3 and 4 need a
//! broadcast with agreement (every honest party's message reaches every honest party;
//! a malicious party's message reaches all honest parties with the same bytes, or none
//! of them), as in Gennaro et al. Round 1 needs no agreement, only authenticated
//! delivery: equivocation is caught by the signed echoes and a partial delivery is
//! repaired by the round-4 re-broadcast. Round 2 needs a confidential authenticated
//! link. For secrecy, rounds 1 and 2 must also be reliable *between honest parties*
//! (the usual synchronous model): a receiver that misses a round-1 broadcast or a share
//! complains, and the dealer's answer makes that receiver's share from it public (an
//! adversary able to drop honest-to-honest traffic to `t` honest receivers from every
//! honest dealer would learn the key). If the agreement assumption is broken (a
//! round-3/4 message reaching only some honest parties), honest parties may end with
//! different QUALs; the transcript hash, compared on chain, exposes that. Inputs are
//! maps by sender, so reordered deliveries do not matter; [`crate::inbox::Inbox`]
//! builds them from raw deliveries (exact duplicates ignored).
//!
//! # Security
//!
//! As with FROST's DKG (the same joint-Feldman construction with proofs of knowledge),
//! a rushing adversary can bias the distribution of the group key by choosing, after
//! seeing the honest commitments, whether its dealers get disqualified (Gennaro et al.,
//! J. Cryptology 2007, §3). Gennaro et al., "Secure Applications of Pedersen's
//! Distributed Key Generation Protocol" (CT-RSA 2003), show that threshold Schnorr
//! signatures stay secure with such keys; keynet's BLS PRF and secp256k1 FROST rely on
//! that. The qualified set always keeps at least `t` dealers, so at least one honest
//! dealer's secret is in the key. With at least `t` honest dealers the run completes
//! whatever the other participants do (see "Identifiable aborts").
//!
//! Share checks are batched: a receiver evaluates every dealer's commitment at its own
//! (small) index with Horner's rule and checks one random linear combination
//! `Σ ρ_d·s_d·G == Σ ρ_d·E_d(j)` with one multi-scalar multiplication; only when that
//! fails does it test each dealer alone to find the culprits.
#![deny(clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::{Signature, Signer, VerifyingKey};
use ff::Field;
use group::Group;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::error::{Fault, ParamError, SignedDigest};
use crate::keys::{KeyShare, PublicKeys};
use crate::party::{PartyIndex, Roles};
use crate::secret::{SecretPoly, SecretScalar};
use crate::suite::{self, Suite};
use crate::wire::{Bytes, Header, Sig, VERSION};
use crate::Error;

/// Round-1 message.
pub mod round1 {
    use serde::{Deserialize, Serialize};

    use crate::wire::{Bytes, Header, Sig};

    /// Sent by every dealer to every participant in round 1, signed with the dealer's
    /// identity key.
    ///
    /// # Security
    ///
    /// Needs only authenticated delivery: the round-3 echoes of the signed digest expose
    /// a dealer that signs two different broadcasts (excluded with both signatures as
    /// evidence), and a broadcast that did not reach everyone is re-broadcast in round 4.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Broadcast {
        pub(crate) header: Header,
        /// Feldman commitment `C_k = a_k·G`, `k = 0..t`.
        pub(crate) commitment: Vec<Bytes>,
        /// Proof of knowledge of `a_0` (fresh DKG only).
        pub(crate) proof: Option<Proof>,
        /// Ed25519 signature of the dealer's identity key over the round-1 digest.
        pub(crate) signature: Sig,
    }

    /// Schnorr proof of knowledge of the discrete log of the constant term.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Proof {
        pub(crate) r: Bytes,
        pub(crate) z: Bytes,
    }

    impl Broadcast {
        /// The header.
        pub fn header(&self) -> &Header {
            &self.header
        }
        /// The digest `dealer` signs (and participants echo in round 3): SHA-256 over
        /// `"keynet/dkg/round1-digest/v2" || be16(dealer) || CBOR([header, commitment,
        /// proof])`.
        pub fn digest(&self, dealer: crate::party::PartyIndex) -> [u8; 32] {
            super::digest_round1(dealer, self)
        }
        /// The dealer's Ed25519 signature over [`super::signed_message`] of the digest.
        pub fn signature(&self) -> [u8; 64] {
            self.signature.0
        }
    }
}

/// Round-2 message.
pub mod round2 {
    use serde::{Deserialize, Serialize};
    use zeroize::Zeroize;

    use crate::wire::{Bytes, Header};

    /// Sent by a dealer to one receiver in round 2: the receiver's share.
    ///
    /// # Security
    ///
    /// Secret. Requires a confidential, authenticated channel to the receiver (the
    /// attested Noise link). Zeroed on drop; `Debug` shows only sizes.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Direct {
        pub(crate) header: Header,
        pub(crate) share: Bytes,
        /// SHA-256 digest of all round-1 broadcasts as the sender received them.
        pub(crate) round1_digest: [u8; 32],
    }

    impl Drop for Direct {
        fn drop(&mut self) {
            self.share.0.zeroize();
        }
    }

    impl Direct {
        /// The header.
        pub fn header(&self) -> &Header {
            &self.header
        }
    }
}

/// Round-3 message.
pub mod round3 {
    use std::collections::{BTreeMap, BTreeSet};

    use serde::{Deserialize, Serialize};

    use crate::party::PartyIndex;
    use crate::wire::{Header, Sig};

    /// Sent by every receiver in round 3 (keyed by receiver index): what it received in
    /// round 1 and which dealers it accuses of a missing or wrong share.
    ///
    /// # Security
    ///
    /// Requires the broadcast channel with agreement (see [`crate::vss`]).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Broadcast {
        pub(crate) header: Header,
        /// Dealer → the signed digest of the round-1 broadcast received from it. A
        /// dealer absent from the map is reported missing (nothing validly signed came).
        pub(crate) echo: BTreeMap<PartyIndex, Echo>,
        /// Dealers whose share was missing or did not match the commitment, and dealers
        /// whose round-1 broadcast is missing (their share is checked on the reveal).
        pub(crate) complaints: BTreeSet<PartyIndex>,
    }

    /// One echoed round-1 broadcast: its digest and the dealer's signature over it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Echo {
        pub(crate) digest: [u8; 32],
        pub(crate) signature: Sig,
    }

    impl Broadcast {
        /// The header.
        pub fn header(&self) -> &Header {
            &self.header
        }
        /// Dealers this party complains about.
        pub fn complaints(&self) -> &BTreeSet<PartyIndex> {
            &self.complaints
        }
    }
}

/// Round-4 message.
pub mod round4 {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use crate::party::PartyIndex;
    use crate::wire::{Bytes, Header};

    /// Sent by every dealer in round 4: the shares of the receivers that complained
    /// about it (by receiver index), revealed so everyone can check them against the commitment, and its signed
    /// round-1 broadcast again if any round-3 report said it was missing.
    ///
    /// # Security
    ///
    /// Requires the broadcast channel with agreement (see [`crate::vss`]). Revealed
    /// shares become public (they are shares of parties that either are faulty or did
    /// not get this dealer's messages).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Broadcast {
        pub(crate) header: Header,
        pub(crate) revealed: BTreeMap<PartyIndex, Bytes>,
        /// The dealer's signed round-1 broadcast, re-sent for parties that missed it.
        pub(crate) round1: Option<super::round1::Broadcast>,
    }

    impl Broadcast {
        /// The header.
        pub fn header(&self) -> &Header {
            &self.header
        }
        /// The re-broadcast round-1 message, if any.
        pub fn rebroadcast(&self) -> Option<&super::round1::Broadcast> {
            self.round1.as_ref()
        }
    }
}

/// Which protocol a run is.
pub(crate) enum Kind<S: Suite> {
    /// Fresh key: random constant terms with proofs of knowledge.
    Dkg,
    /// Old dealers share their shares of `old`; new parties combine with Lagrange.
    Reshare { old: PublicKeys<S> },
    /// Same committee, zero constant terms added to the old shares.
    Refresh { old: PublicKeys<S> },
}

impl<S: Suite> Kind<S> {
    fn protocol(&self) -> Protocol {
        match self {
            Kind::Dkg => Protocol::Dkg,
            Kind::Reshare { .. } => Protocol::Reshare,
            Kind::Refresh { .. } => Protocol::Refresh,
        }
    }
}

/// The protocol of a run, as bound into the round-1 signatures ([`signed_message`]) and
/// the transcript hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// Fresh DKG ([`crate::pedersen`]).
    Dkg,
    /// Resharing ([`crate::reshare::start`]).
    Reshare,
    /// Proactive refresh ([`crate::reshare::start_refresh`]).
    Refresh,
}

impl Protocol {
    /// Stable one-byte code used inside hashes: 1 DKG, 2 reshare, 3 refresh.
    pub fn code(self) -> u8 {
        match self {
            Protocol::Dkg => 1,
            Protocol::Reshare => 2,
            Protocol::Refresh => 3,
        }
    }
}

/// Everything fixed before round 1.
///
/// Dealers and receivers are numbered in two index spaces: a dealer by its index in the
/// dealing (old) committee, a receiver by its index in the receiving (new) committee
/// (DESIGN §7). For a DKG and a refresh the two are the same committee. Rounds 1, 2 and
/// 4 are sent by dealers (maps keyed by dealer index), round 3 by receivers (keyed by
/// receiver index); one party holding both roles is linked by its identity key.
pub(crate) struct Session<S: Suite> {
    pub(crate) kind: Kind<S>,
    pub(crate) run_id: [u8; 32],
    pub(crate) me: Roles,
    /// Dealer index (old committee) → identity (Ed25519) key.
    pub(crate) dealers: BTreeMap<PartyIndex, VerifyingKey>,
    /// Receiver index (new committee) → identity (Ed25519) key.
    pub(crate) receivers: BTreeMap<PartyIndex, VerifyingKey>,
    /// Threshold of the sharing being created.
    pub(crate) threshold: u16,
    /// Minimum qualified dealers (`t` of the dealing committee: at least one is honest).
    pub(crate) min_qualified: usize,
}

impl<S: Suite> Session<S> {
    fn header(&self) -> Header {
        Header::new(S::ID, self.run_id)
    }

    fn header_ok(&self, h: &Header) -> bool {
        h.version == VERSION && h.suite == S::ID && h.run_id == self.run_id
    }

    fn receiver_set(&self) -> BTreeSet<PartyIndex> {
        self.receivers.keys().copied().collect()
    }

    fn is_dealer(&self) -> bool {
        self.me.dealer.is_some()
    }

    fn is_receiver(&self) -> bool {
        self.me.receiver.is_some()
    }

    /// The dealer index of the party that is receiver `j` (same identity key), if it
    /// also deals.
    fn dealer_of_receiver(&self, j: PartyIndex) -> Option<PartyIndex> {
        let key = self.receivers.get(&j)?;
        self.dealers
            .iter()
            .find(|(_, k)| *k == key)
            .map(|(d, _)| *d)
    }

    /// Checks the roles of this party: at least one, each in its committee, and one
    /// identity key for both.
    fn check_roles(&self) -> Result<(), ParamError> {
        let dealer_key = match self.me.dealer {
            Some(d) => Some(self.dealers.get(&d).ok_or(ParamError::NoRole(d))?),
            None => None,
        };
        let receiver_key = match self.me.receiver {
            Some(j) => Some(self.receivers.get(&j).ok_or(ParamError::NoRole(j))?),
            None => None,
        };
        match (self.me.dealer, dealer_key, self.me.receiver, receiver_key) {
            (None, _, None, _) => Err(ParamError::NoRoles),
            (Some(dealer), Some(a), Some(receiver), Some(b)) if a != b => {
                Err(ParamError::RolesOfTwoParties { dealer, receiver })
            }
            _ => Ok(()),
        }
    }
}

/// The identity keys of `parties`, each required.
pub(crate) fn committee_keys(
    parties: &BTreeSet<PartyIndex>,
    identities: &BTreeMap<PartyIndex, VerifyingKey>,
) -> Result<BTreeMap<PartyIndex, VerifyingKey>, ParamError> {
    parties
        .iter()
        .map(|p| {
            let key = identities.get(p).ok_or(ParamError::MissingIdentity(*p))?;
            Ok((*p, *key))
        })
        .collect()
}

/// Local misuse check of an input map of a round sent by dealers (1, 2, 4), keyed by
/// dealer index: no entry from this party itself or from outside the dealers. The
/// driver addresses senders in the index space of the round (see [`Session`]), so a
/// party without the sending role has no key to appear under.
fn check_dealer_senders<'a, S: Suite>(
    session: &Session<S>,
    senders: impl Iterator<Item = &'a PartyIndex>,
) -> Result<(), Error> {
    for s in senders {
        if Some(*s) == session.me.dealer || !session.dealers.contains_key(s) {
            return Err(Error::UnexpectedSender { sender: *s });
        }
    }
    Ok(())
}

/// [`check_dealer_senders`] for round 3, sent by receivers and keyed by receiver index.
fn check_receiver_senders<'a, S: Suite>(
    session: &Session<S>,
    senders: impl Iterator<Item = &'a PartyIndex>,
) -> Result<(), Error> {
    for s in senders {
        if Some(*s) == session.me.receiver || !session.receivers.contains_key(s) {
            return Err(Error::UnexpectedSender { sender: *s });
        }
    }
    Ok(())
}

/// Unpredictable per-party seed for batch-verification weights.
struct Seed([u8; 32]);

impl Drop for Seed {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Seed {
    fn weight<S: Suite>(&self, purpose: &[u8], d: PartyIndex) -> S::Scalar {
        suite::hash_to_scalar::<S>(b"batch-weight", &[&self.0, purpose, &d.get().to_be_bytes()])
    }
}

/// The digest a dealer signs: its round-1 broadcast without the signature, bound to the
/// dealer index (the header binds it to the run).
fn digest_round1(dealer: PartyIndex, msg: &round1::Broadcast) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"keynet/dkg/round1-digest/v2");
    h.update(dealer.get().to_be_bytes());
    // Re-encoding is canonical: different messages give different encodings.
    h.update(crate::wire::encode(&(&msg.header, &msg.commitment, &msg.proof)).unwrap_or_default());
    h.finalize().into()
}

const SIGNATURE_LABEL: &[u8] = b"keynet/dkg/round1-signature/v2";

/// The bytes `dealer`'s identity key signs for a round-1 digest in the run `header`
/// (version, suite, run id) of `protocol`: `"keynet/dkg/round1-signature/v2" ||
/// be16(version) || u8(suite) || u8(protocol) || run_id || be16(dealer) || digest`.
///
/// The run and the dealer are bound here, not only inside the digest, because an echo
/// carries just the digest: identity keys are long-term, so a signature from another
/// run would otherwise verify and let any reporter make an honest dealer look like an
/// equivocator. Hence the run id must be **fresh for every attempt**: a retry under the
/// same run id (same suite and protocol) lets a participant replay the earlier attempt's
/// signed digests as equivocation evidence against honest dealers. With
/// [`round1::Broadcast::digest`] and the run's header and protocol, enough to check the
/// evidence of [`Fault::Equivocation`] and [`Fault::ForgedEcho`] independently.
pub fn signed_message(
    header: &Header,
    protocol: Protocol,
    dealer: PartyIndex,
    digest: &[u8; 32],
) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNATURE_LABEL.len() + 2 + 1 + 1 + 32 + 2 + 32);
    m.extend_from_slice(SIGNATURE_LABEL);
    m.extend_from_slice(&header.version.to_be_bytes());
    m.push(header.suite.code());
    m.push(protocol.code());
    m.extend_from_slice(&header.run_id);
    m.extend_from_slice(&dealer.get().to_be_bytes());
    m.extend_from_slice(digest);
    m
}

impl<S: Suite> Session<S> {
    /// Strict Ed25519 verification (canonical encodings, no small-order key or `R`), so
    /// every honest party reaches the same verdict on the same bytes, of `dealer`'s
    /// signature over `digest` in this run.
    fn signature_ok(&self, dealer: PartyIndex, digest: &[u8; 32], signature: &Sig) -> bool {
        let Some(key) = self.dealers.get(&dealer) else {
            return false;
        };
        key.verify_strict(
            &self.signed_message(dealer, digest),
            &Signature::from_bytes(&signature.0),
        )
        .is_ok()
    }

    fn signed_message(&self, dealer: PartyIndex, digest: &[u8; 32]) -> Vec<u8> {
        signed_message(&self.header(), self.kind.protocol(), dealer, digest)
    }
}

fn view_digest(echo: &BTreeMap<PartyIndex, round3::Echo>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"keynet/dkg/round1-view/v1");
    for (d, e) in echo {
        h.update(d.get().to_be_bytes());
        h.update(e.digest);
    }
    h.finalize().into()
}

fn pok_challenge<S: Suite>(
    run_id: &[u8; 32],
    dealer: PartyIndex,
    c0: &S::Point,
    r: &S::Point,
) -> S::Scalar {
    suite::hash_to_scalar::<S>(
        b"pok",
        &[
            run_id,
            &dealer.get().to_be_bytes(),
            &suite::point_bytes::<S>(c0),
            &suite::point_bytes::<S>(r),
        ],
    )
}

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
            let commitment: Vec<S::Point> =
                poly.coeffs().map(|a| S::Point::generator() * a).collect();
            let proof = match session.kind {
                Kind::Dkg => {
                    let k = SecretScalar::new(S::Scalar::random(&mut *rng));
                    let r = S::Point::generator() * k.expose();
                    let c0 = commitment
                        .first()
                        .copied()
                        .unwrap_or_else(S::Point::identity);
                    let c = pok_challenge::<S>(&session.run_id, me, &c0, &r);
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

/// A dealer's parsed round-1 commitment.
struct Parsed<S: Suite> {
    commitment: Vec<S::Affine>,
    proof: Option<(S::Point, S::Scalar)>,
}

fn parse<S: Suite>(session: &Session<S>, msg: &round1::Broadcast) -> Result<Parsed<S>, Fault> {
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
fn check_constant_term<S: Suite>(
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
struct Local<S: Suite> {
    echo: round3::Echo,
    /// The commitment, or why the broadcast fails the round-1 checks.
    verdict: Result<Vec<S::Affine>, Fault>,
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
    fn echo(&self) -> BTreeMap<PartyIndex, round3::Echo> {
        self.local.iter().map(|(d, l)| (*d, l.echo)).collect()
    }
}

impl<S: Suite> Round1<S> {
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
        let mut echo = BTreeMap::new();
        let mut faults = BTreeMap::new();
        let mut parsed: BTreeMap<PartyIndex, Parsed<S>> = BTreeMap::new();
        for d in session.dealers.keys() {
            let msg = if Some(*d) == session.me.dealer {
                own.as_ref()
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
            echo.insert(
                *d,
                round3::Echo {
                    digest,
                    signature: msg.signature,
                },
            );
            match parse::<S>(&session, msg) {
                Ok(p) => {
                    parsed.insert(*d, p);
                }
                Err(f) => {
                    faults.insert(*d, f);
                }
            }
        }
        // Constant-term checks.
        if let Kind::Dkg = &session.kind {
            // Batched Schnorr check: Σ ρ_d (z_d·G − R_d − c_d·C_d0) = 0.
            let mut points = vec![S::Point::generator()];
            let mut scalars = vec![S::Scalar::ZERO];
            let mut zsum = S::Scalar::ZERO;
            for (d, p) in &parsed {
                if let (Some((r, z)), Some(c0)) = (
                    &p.proof,
                    p.commitment.first().copied().map(suite::proj::<S>),
                ) {
                    let c0 = &c0;
                    let rho = seed.weight::<S>(b"pok", *d);
                    let c = pok_challenge::<S>(&session.run_id, *d, c0, r);
                    zsum += rho * z;
                    points.push(*r);
                    scalars.push(-rho);
                    points.push(*c0);
                    scalars.push(-(rho * c));
                }
            }
            if let Some(first) = scalars.first_mut() {
                *first = zsum;
            }
            if !bool::from(S::msm(&points, &scalars).is_identity()) {
                for (d, p) in &parsed {
                    if let Err(f) = check_constant_term(&session, *d, p) {
                        faults.insert(*d, f);
                    }
                }
            }
        } else {
            for (d, p) in &parsed {
                if let Err(f) = check_constant_term(&session, *d, p) {
                    faults.insert(*d, f);
                }
            }
        }
        let mut local = BTreeMap::new();
        for (d, e) in echo {
            let verdict = match (faults.remove(&d), parsed.remove(&d)) {
                (Some(f), _) => Err(f),
                (None, Some(p)) => Ok(p.commitment),
                (None, None) => Err(Fault::Malformed),
            };
            local.insert(d, Local { echo: e, verdict });
        }
        let state = Round2 {
            session,
            poly,
            own,
            old_secret,
            seed,
            local,
            view: [0; 32],
        };
        let view = view_digest(&state.echo());
        let mut directs = BTreeMap::new();
        if let Some(poly) = &state.poly {
            for r in state
                .session
                .receivers
                .keys()
                .filter(|r| Some(**r) != state.session.me.receiver)
            {
                directs.insert(
                    *r,
                    round2::Direct {
                        header: state.session.header(),
                        share: Bytes(suite::scalar_bytes::<S>(&poly.eval::<S>(*r))),
                        round1_digest: view,
                    },
                );
            }
        }
        Ok((Round2 { view, ..state }, directs))
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
}

impl<S: Suite> Round3<S> {
    /// Round 4 > Every dealer that received complaints reveals the complainers' shares
    /// `f_i(j)` publicly, and re-broadcasts its signed round-1 broadcast if any round-3
    /// report lacks it.
    ///
    /// `received` holds the round-3 broadcasts of the other receivers, by receiver
    /// index. Messages with a wrong header are ignored (identically by every honest
    /// party). Returns the round-4 broadcast iff this party deals.
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
        let msg = match (session.me.dealer, &self.r.poly) {
            (Some(me), Some(poly)) => {
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
            },
            msg,
        ))
    }
}

/// Result of a run.
pub struct Output<S: Suite> {
    key_share: Option<KeyShare<S>>,
    public: PublicKeys<S>,
    qualified: BTreeSet<PartyIndex>,
    disqualified: BTreeMap<PartyIndex, Fault>,
    lying_receivers: BTreeMap<PartyIndex, Fault>,
    transcript: [u8; 32],
    view_mismatches: BTreeSet<PartyIndex>,
}

impl<S: Suite> core::fmt::Debug for Output<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Output")
            .field("key_share", &self.key_share)
            .field("public", &self.public)
            .field("qualified", &self.qualified)
            .field("disqualified", &self.disqualified)
            .field("lying_receivers", &self.lying_receivers)
            .finish_non_exhaustive()
    }
}

impl<S: Suite> Output<S> {
    /// This party's new share (`None` for a dealer that is not in the new committee).
    pub fn key_share(&self) -> Option<&KeyShare<S>> {
        self.key_share.as_ref()
    }
    /// Takes the share out.
    pub fn into_key_share(self) -> Option<KeyShare<S>> {
        self.key_share
    }
    /// The committee's public keys.
    pub fn public(&self) -> &PublicKeys<S> {
        &self.public
    }
    /// Qualified dealers (QUAL).
    pub fn qualified(&self) -> &BTreeSet<PartyIndex> {
        &self.qualified
    }
    /// Dealers outside QUAL and why (with evidence), by dealer index. A dealer that, as
    /// a receiver, provably lied ([`Fault::ForgedEcho`]) is among them.
    pub fn disqualified(&self) -> &BTreeMap<PartyIndex, Fault> {
        &self.disqualified
    }
    /// Receivers that provably lied in round 3 ([`Fault::ForgedEcho`], with the
    /// evidence), by receiver index. A liar that also deals is excluded from QUAL
    /// ([`Output::disqualified`]); a receiver-only liar still gets its share, the others
    /// can act on the blame.
    pub fn lying_receivers(&self) -> &BTreeMap<PartyIndex, Fault> {
        &self.lying_receivers
    }
    /// SHA-256 transcript hash (QUAL, commitments of QUAL, resulting keys); identical at
    /// every honest party.
    pub fn transcript_hash(&self) -> [u8; 32] {
        self.transcript
    }
    /// Dealers whose round-2 message carried a round-1 view digest different from ours.
    /// Diagnostic only: the per-dealer echo comparison decides exclusions.
    pub fn view_mismatches(&self) -> &BTreeSet<PartyIndex> {
        &self.view_mismatches
    }
}

impl<S: Suite> Round4<S> {
    /// Finish > Dealers that signed two different round-1 broadcasts, signed none, or
    /// did not re-broadcast theirs when reported missing are disqualified (see
    /// "Identifiable aborts" in [`crate::vss`]), as are dealers that did not answer a
    /// complaint with a share matching their commitment, and reporters of forged
    /// echoes. `QUAL` is the rest; it must hold at least `t` dealers.
    ///
    /// `received` holds the round-4 messages of the other dealers.
    /// Each receiver's share is `Σ_{i∈QUAL} w_i·f_i(j)` and the public keys follow from
    /// `Σ_{i∈QUAL} w_i·C_i` (`w_i = 1`, or the Lagrange coefficient of `i` over QUAL
    /// when resharing).
    pub fn finish(
        self,
        received: &BTreeMap<PartyIndex, round4::Broadcast>,
    ) -> Result<Output<S>, Error> {
        let Round4 { r3, round3, own } = self;
        let Round3 {
            r,
            mut shares,
            view_mismatches,
            ..
        } = r3;
        let session = &r.session;
        check_dealer_senders(session, received.keys())?;
        let mut round4: BTreeMap<PartyIndex, &round4::Broadcast> = received
            .iter()
            .filter(|(_, m)| session.header_ok(&m.header))
            .map(|(p, m)| (*p, m))
            .collect();
        if let (Some(d), Some(own)) = (session.me.dealer, &own) {
            round4.insert(d, own);
        }
        if round3.is_empty() {
            // Only a dealer that does not receive has no round-3 report, not even its own.
            return Err(Error::NoReceiverReports);
        }
        let mut faults: BTreeMap<PartyIndex, Fault> = BTreeMap::new();
        let mut reporter_faults: BTreeMap<PartyIndex, Fault> = BTreeMap::new();
        // Signatures already verified (this party's own round-1 view): verification is
        // deterministic, so equal bytes need no second check.
        let mut verified: BTreeSet<(PartyIndex, [u8; 32], Sig)> = r
            .local
            .iter()
            .map(|(d, l)| (*d, l.echo.digest, l.echo.signature))
            .collect();
        let mut commitments: BTreeMap<PartyIndex, Vec<S::Affine>> = BTreeMap::new();
        let mut agreed: BTreeMap<PartyIndex, [u8; 32]> = BTreeMap::new();
        // Echo consistency: every validly signed digest of each dealer.
        for d in session.dealers.keys() {
            let mut check = |digest: [u8; 32], signature: Sig| {
                verified.contains(&(*d, digest, signature)) || {
                    let ok = session.signature_ok(*d, &digest, &signature);
                    if ok {
                        verified.insert((*d, digest, signature));
                    }
                    ok
                }
            };
            let mut signed: BTreeMap<[u8; 32], SignedDigest> = BTreeMap::new();
            let mut missing: BTreeSet<PartyIndex> = BTreeSet::new();
            for (p, m) in &round3 {
                let Some(e) = m.echo.get(d) else {
                    missing.insert(*p);
                    continue;
                };
                let sd = SignedDigest {
                    digest: e.digest,
                    signature: e.signature.0,
                };
                if check(e.digest, e.signature) {
                    signed.entry(e.digest).or_insert(sd);
                } else {
                    reporter_faults.entry(*p).or_insert(Fault::ForgedEcho {
                        dealer: *d,
                        report: Box::new(sd),
                    });
                }
            }
            let rebroadcast = round4
                .get(d)
                .and_then(|m| m.round1.as_ref())
                .and_then(|msg| {
                    let digest = digest_round1(*d, msg);
                    check(digest, msg.signature).then_some((digest, msg))
                });
            if let Some((digest, msg)) = rebroadcast {
                signed.entry(digest).or_insert(SignedDigest {
                    digest,
                    signature: msg.signature.0,
                });
            }
            let mut distinct = signed.values();
            let (Some(first), second) = (distinct.next(), distinct.next()) else {
                faults.insert(*d, Fault::MissingBroadcast);
                continue;
            };
            if let Some(second) = second {
                faults.insert(
                    *d,
                    Fault::Equivocation {
                        first: Box::new(*first),
                        second: Box::new(*second),
                    },
                );
                continue;
            }
            if !missing.is_empty() && rebroadcast.is_none() {
                faults.insert(*d, Fault::MissingRebroadcast { reporters: missing });
                continue;
            }
            agreed.insert(*d, first.digest);
            // The agreed broadcast: as received in round 1, or the re-broadcast (this
            // party then reported it missing, so a re-broadcast was required).
            let verdict = match (r.local.get(d), rebroadcast) {
                (Some(l), _) if l.echo.digest == first.digest => l.verdict.clone(),
                (_, Some((_, msg))) => parse::<S>(session, msg).and_then(|p| {
                    check_constant_term(session, *d, &p)?;
                    Ok(p.commitment)
                }),
                // Only a dealer that does not receive can get here (a receiver that
                // missed it reported it missing, so a re-broadcast was required): it
                // cannot compute the keys, and its view blames nobody.
                _ if !session.is_receiver() => return Err(Error::MissedBroadcast { dealer: *d }),
                _ => Err(Fault::MissingBroadcast),
            };
            match verdict {
                Ok(c) => {
                    commitments.insert(*d, c);
                }
                Err(f) => {
                    faults.insert(*d, f);
                }
            }
        }
        // Justifications.
        let mut verdicts = Vec::new();
        for (d, commitment) in &commitments {
            let reveal = round4.get(d);
            for (c, m) in &round3 {
                if !m.complaints.contains(d) {
                    continue;
                }
                let revealed = if Some(*d) == session.me.dealer {
                    r.poly.as_ref().map(|p| p.eval::<S>(*c))
                } else {
                    reveal
                        .and_then(|m| m.revealed.get(c))
                        .and_then(|b| suite::scalar_from_bytes::<S>(&b.0))
                };
                match revealed {
                    None => verdicts.push((*d, Fault::MissingJustification { complainer: *c })),
                    Some(s) => {
                        if S::Point::generator() * s != suite::eval_commitment::<S>(commitment, *c)
                        {
                            verdicts.push((*d, Fault::FailedJustification { complainer: *c }));
                        } else if Some(*c) == session.me.receiver {
                            shares.insert(*d, SecretScalar::new(s));
                        }
                    }
                }
            }
        }
        for (d, f) in verdicts {
            faults.entry(d).or_insert(f);
        }
        // Provably lying reporters (receivers) are excluded too if they deal.
        for (p, f) in &reporter_faults {
            if let Some(d) = session.dealer_of_receiver(*p) {
                faults.entry(d).or_insert_with(|| f.clone());
            }
        }
        // QUAL, combination weights and the combined commitment `A_k = Σ w_i·C_{i,k}`.
        // Commitments were decoded without subgroup checks (cheap); the combined
        // commitment, from which every output key is computed, is checked instead, and
        // only if that fails are the individual dealers checked and excluded.
        let threshold = session.threshold;
        let (qualified, weights, combined) = loop {
            let qualified: BTreeSet<PartyIndex> = commitments
                .keys()
                .filter(|d| !faults.contains_key(d))
                .copied()
                .collect();
            if qualified.len() < session.min_qualified {
                return Err(Error::TooFewQualified {
                    qualified: qualified.len(),
                    needed: session.min_qualified,
                    disqualified: faults,
                });
            }
            let mut weights: BTreeMap<PartyIndex, S::Scalar> = BTreeMap::new();
            for d in &qualified {
                let w = match &session.kind {
                    Kind::Reshare { .. } => suite::lagrange::<S>(&qualified, *d, S::Scalar::ZERO)
                        .ok_or(crate::keys::InvalidPublicKeys::Inconsistent)?,
                    _ => S::Scalar::ONE,
                };
                weights.insert(*d, w);
            }
            let mut combined = Vec::with_capacity(usize::from(threshold));
            for k in 0..usize::from(threshold) {
                let mut pts = Vec::with_capacity(qualified.len());
                let mut sc = Vec::with_capacity(qualified.len());
                for d in &qualified {
                    if let (Some(c), Some(w)) =
                        (commitments.get(d).and_then(|c| c.get(k)), weights.get(d))
                    {
                        pts.push(*c);
                        sc.push(*w);
                    }
                }
                combined.push(match &session.kind {
                    Kind::Reshare { .. } => {
                        let pts: Vec<S::Point> = pts.into_iter().map(suite::proj::<S>).collect();
                        S::msm(&pts, &sc)
                    }
                    _ => pts.iter().fold(S::Point::identity(), |a, p| a + *p),
                });
            }
            if combined.iter().all(S::is_torsion_free) {
                break (qualified, weights, suite::to_affine::<S>(&combined));
            }
            let mut found = false;
            for d in &qualified {
                if commitments
                    .get(d)
                    .is_some_and(|c| !c.iter().all(|p| S::is_torsion_free(&suite::proj::<S>(*p))))
                {
                    faults.insert(*d, Fault::NotInSubgroup);
                    found = true;
                }
            }
            if !found {
                return Err(crate::keys::InvalidPublicKeys::Point.into());
            }
        };
        let (group_key, public_shares) = match &session.kind {
            Kind::Dkg => {
                let gk = combined
                    .first()
                    .copied()
                    .map(suite::proj::<S>)
                    .unwrap_or_else(S::Point::identity);
                let ps = suite::eval_commitment_all::<S>(&combined, &session.receiver_set());
                (gk, ps)
            }
            Kind::Reshare { old } => {
                let gk = combined
                    .first()
                    .copied()
                    .map(suite::proj::<S>)
                    .unwrap_or_else(S::Point::identity);
                if gk != *old.group_key() {
                    return Err(crate::keys::InvalidPublicKeys::Inconsistent.into());
                }
                let ps = suite::eval_commitment_all::<S>(&combined, &session.receiver_set());
                (gk, ps)
            }
            Kind::Refresh { old } => {
                let mut ps = suite::eval_commitment_all::<S>(&combined, &session.receiver_set());
                for (j, p) in ps.iter_mut() {
                    let o = old
                        .share(*j)
                        .ok_or(crate::keys::InvalidPublicKeys::Inconsistent)?;
                    *p += o;
                }
                (*old.group_key(), ps)
            }
        };
        let public = PublicKeys::new(threshold, group_key, public_shares)?;
        let transcript = transcript::<S>(session, &qualified, &agreed, &public);
        let key_share = if let Some(me) = session.me.receiver {
            let mut x = r
                .old_secret
                .as_ref()
                .map(|s| *s.expose())
                .unwrap_or(S::Scalar::ZERO);
            for d in &qualified {
                let s = shares.get(d).ok_or(Error::MissingShare { dealer: *d })?;
                let w = weights.get(d).copied().unwrap_or(S::Scalar::ZERO);
                x += w * s.expose();
            }
            let x = SecretScalar::new(x);
            Some(KeyShare::new(me, x, public.clone())?)
        } else {
            None
        };
        Ok(Output {
            key_share,
            public,
            qualified,
            disqualified: faults,
            lying_receivers: reporter_faults,
            transcript,
            view_mismatches,
        })
    }
}

/// SHA-256 over: label, suite, protocol kind, run id, threshold, QUAL with the SHA-256
/// digest of each QUAL dealer's round-1 broadcast (which holds its commitment), group
/// key, every public share (integers big-endian, points compressed). See
/// docs/PROTOCOL.md "DKG wire messages".
fn transcript<S: Suite>(
    session: &Session<S>,
    qualified: &BTreeSet<PartyIndex>,
    digests: &BTreeMap<PartyIndex, [u8; 32]>,
    public: &PublicKeys<S>,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"keynet/dkg/transcript/v1");
    h.update([S::ID.code(), session.kind.protocol().code()]);
    h.update(session.run_id);
    h.update(public.threshold().to_be_bytes());
    h.update((qualified.len() as u32).to_be_bytes());
    for d in qualified {
        h.update(d.get().to_be_bytes());
        h.update(digests.get(d).copied().unwrap_or_default());
    }
    h.update(suite::point_bytes::<S>(public.group_key()));
    h.update((public.shares().len() as u32).to_be_bytes());
    for (j, p) in public.shares() {
        h.update(j.get().to_be_bytes());
        h.update(suite::point_bytes::<S>(p));
    }
    h.finalize().into()
}
