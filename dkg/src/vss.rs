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
//! Four rounds, each a consuming transition; round 4 only when some dealer owes an
//! answer ([`Round4::obligated`]), else the run ends after round 3:
//!
//! | round | sender | message | channel |
//! |---|---|---|---|
//! | 1 | dealer | [`round1::Broadcast`]: Feldman commitment (+ proof of knowledge), signed by the dealer's identity key | authenticated, to all |
//! | 2 | dealer | [`round2::Direct`]: the share `f_d(j)` and the digest of the sender's round-1 view | confidential, authenticated, to receiver `j` |
//! | 3 | receiver | [`round3::Broadcast`]: signed digest of every round-1 broadcast received (echo) + complaints | broadcast with agreement |
//! | 4 | dealer that owes one | [`round4::Broadcast`]: shares revealed to answer complaints, round-1 re-broadcast if reported missing | broadcast with agreement |
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
//!   the **reporter** ([`Fault::ForgedEcho`](crate::Fault::ForgedEcho), evidence: the report): the echo is
//!   ignored and the reporter is excluded from QUAL if it deals;
//! - two different validly signed digests are provable **equivocation** by the dealer
//!   ([`Fault::Equivocation`](crate::Fault::Equivocation), evidence: both signed digests);
//! - a dealer reported missing by anyone must re-broadcast its signed round-1 message in
//!   round 4 ([`Fault::MissingRebroadcast`](crate::Fault::MissingRebroadcast) otherwise); a party that missed it takes the
//!   commitment from there, and since it complained about that dealer in round 3 (no
//!   commitment to check its share against), the dealer's round-4 reveal gives it its
//!   share;
//! - no validly signed digest anywhere: [`Fault::MissingBroadcast`](crate::Fault::MissingBroadcast).
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

mod digests;
mod machine;
mod messages;
mod output;
mod qualification;
mod rounds;
mod session;

pub use digests::signed_message;
pub use machine::{Message, Vss};
pub use messages::{round1, round2, round3, round4};
pub use output::Output;
pub(crate) use rounds::start;
pub use rounds::{Round1, Round2, Round3, Round4};
pub use session::Protocol;
pub(crate) use session::{committee_keys, Kind, Session};
