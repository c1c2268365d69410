//! Hashes and signatures: the round-1 digest and its signed message, the round-1 view
//! digest, the proof-of-knowledge challenge, the transcript hash and the batch weights.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::Signature;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use super::session::{Protocol, Session};
use super::{round1, round3};
use crate::keys::PublicKeys;
use crate::party::PartyIndex;
use crate::suite::{self, Suite};
use crate::wire::{Header, Sig};

/// Unpredictable per-party seed for batch-verification weights.
pub(crate) struct Seed(pub(crate) [u8; 32]);

impl Drop for Seed {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Seed {
    pub(crate) fn weight<S: Suite>(&self, purpose: &[u8], d: PartyIndex) -> S::Scalar {
        suite::hash_to_scalar::<S>(b"batch-weight", &[&self.0, purpose, &d.get().to_be_bytes()])
    }
}

/// The digest a dealer signs: its round-1 broadcast without the signature, bound to the
/// dealer index (the header binds it to the run).
pub(crate) fn digest_round1(dealer: PartyIndex, msg: &round1::Broadcast) -> [u8; 32] {
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
/// evidence of [`Fault::Equivocation`](crate::Fault::Equivocation) and [`Fault::ForgedEcho`](crate::Fault::ForgedEcho) independently.
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
    pub(crate) fn signature_ok(
        &self,
        dealer: PartyIndex,
        digest: &[u8; 32],
        signature: &Sig,
    ) -> bool {
        let Some(key) = self.dealers.get(&dealer) else {
            return false;
        };
        key.verify_strict(
            &self.signed_message(dealer, digest),
            &Signature::from_bytes(&signature.0),
        )
        .is_ok()
    }

    pub(crate) fn signed_message(&self, dealer: PartyIndex, digest: &[u8; 32]) -> Vec<u8> {
        signed_message(&self.header(), self.kind.protocol(), dealer, digest)
    }
}

pub(crate) fn view_digest(echo: &BTreeMap<PartyIndex, round3::Echo>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"keynet/dkg/round1-view/v1");
    for (d, e) in echo {
        h.update(d.get().to_be_bytes());
        h.update(e.digest);
    }
    h.finalize().into()
}

pub(crate) fn pok_challenge<S: Suite>(
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

/// SHA-256 over: label, suite, protocol kind, run id, threshold, QUAL with the SHA-256
/// digest of each QUAL dealer's round-1 broadcast (which holds its commitment), group
/// key, every public share (integers big-endian, points compressed). See
/// docs/PROTOCOL.md "DKG wire messages".
pub(crate) fn transcript<S: Suite>(
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
