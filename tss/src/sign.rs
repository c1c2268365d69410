//! FROST signing rounds (RFC 9591 §5) as consuming, sans-IO states.
//!
//! ```text
//! signer:       commit(key, rng) -> (AwaitingPackage, SigningCommitments)      RFC 9591 §5.1
//! coordinator:  Coordinator::new(public, message, signers)
//!               .package(commitments) -> (AwaitingShares, SigningPackage)
//! signer:       AwaitingPackage::sign(self, package) -> SignatureShare         RFC 9591 §5.2
//! coordinator:  AwaitingShares::aggregate(self, shares) -> Signature           RFC 9591 §5.3
//! ```
//!
//! Generic over [`frost_core::Ciphersuite`]: production uses FROST(secp256k1,
//! SHA-256-TR) with keys from [`crate::tweak`]; the RFC 9591 test vectors run through
//! the same code with FROST(secp256k1, SHA-256).
//!
//! Channels: commitments and signature shares go from each signer to the coordinator
//! over an authenticated channel (the coordinator attributes them to their sender by
//! channel, never by anything inside the message); the signing package goes from the
//! coordinator to every signer.
//!
//! A signature share that does not verify is attributed to its sender
//! ([`Error::InvalidSignatureShares`]); the run then aborts and must be restarted with
//! other signers and fresh nonces.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use dkg::PartyIndex;
use frost_core::keys::{KeyPackage, PublicKeyPackage};
use frost_core::round1::{SigningCommitments, SigningNonces};
use frost_core::round2::SignatureShare;
use frost_core::{CheaterDetection, Ciphersuite, Identifier, Signature, SigningPackage};
use rand_core::CryptoRngCore;

use crate::error::{Error, FrostFailure};

/// The FROST identifier of a party (the same number, as a scalar).
pub fn identifier<C: Ciphersuite>(index: PartyIndex) -> Result<Identifier<C>, Error> {
    Identifier::try_from(index.get()).map_err(|_| Error::Frost(FrostFailure::Malformed))
}

/// A signer's FROST key: a bare frost `KeyPackage` (the RFC 9591 vectors) or keynet's
/// per-application share ([`crate::tweak::TweakedKeyPackage`], which keeps its secret
/// inside `dkg::secp::SecpKeyShare` and runs frost's round functions there).
pub trait FrostKey<C: Ciphersuite>: Send + Sync {
    /// The signer's FROST identifier.
    fn identifier(&self) -> Identifier<C>;
    /// RFC 9591 §5.1 `commit` with this key's signing share.
    fn commit(&self, rng: &mut dyn CryptoRngCore) -> (SigningNonces<C>, SigningCommitments<C>);
    /// RFC 9591 §5.2 `sign` with this key.
    fn sign(
        &self,
        package: &SigningPackage<C>,
        nonces: &SigningNonces<C>,
    ) -> Result<SignatureShare<C>, frost_core::Error<C>>;
    /// A handle on this key for the signer state between the rounds.
    fn handle(&self) -> Arc<dyn FrostKey<C>>;
}

impl<C: Ciphersuite> FrostKey<C> for KeyPackage<C> {
    fn identifier(&self) -> Identifier<C> {
        *KeyPackage::identifier(self)
    }
    fn commit(&self, mut rng: &mut dyn CryptoRngCore) -> (SigningNonces<C>, SigningCommitments<C>) {
        frost_core::round1::commit(self.signing_share(), &mut rng)
    }
    fn sign(
        &self,
        package: &SigningPackage<C>,
        nonces: &SigningNonces<C>,
    ) -> Result<SignatureShare<C>, frost_core::Error<C>> {
        frost_core::round2::sign(package, nonces, self)
    }
    fn handle(&self) -> Arc<dyn FrostKey<C>> {
        Arc::new(self.clone())
    }
}

/// Round 1 (RFC 9591 §5.1 `commit`): draws the hiding and binding nonces and returns
/// the state that signs once, plus the commitments to send to the coordinator.
pub fn commit<C: Ciphersuite>(
    key: &impl FrostKey<C>,
    rng: &mut impl CryptoRngCore,
) -> (AwaitingPackage<C>, SigningCommitments<C>) {
    let (nonces, commitments) = key.commit(rng);
    (
        AwaitingPackage {
            key: key.handle(),
            nonces,
        },
        commitments,
    )
}

/// A signer between round 1 and round 2.
///
/// # Security
///
/// Holds the nonces; neither `Clone` nor `Serialize`, and [`AwaitingPackage::sign`]
/// consumes it, so a nonce pair signs at most once. Zeroized on drop (frost's nonces
/// and key package zeroize themselves).
pub struct AwaitingPackage<C: Ciphersuite> {
    key: Arc<dyn FrostKey<C>>,
    nonces: SigningNonces<C>,
}

impl<C: Ciphersuite> AwaitingPackage<C> {
    /// Round 2 (RFC 9591 §5.2 `sign`): the signature share for `package`, which must
    /// contain this signer's commitment unchanged.
    pub fn sign(self, package: &SigningPackage<C>) -> Result<SignatureShare<C>, Error> {
        match package.signing_commitment(&self.key.identifier()) {
            Some(c) if c == *self.nonces.commitments() => {}
            _ => return Err(Error::OwnCommitmentMissing),
        }
        self.key
            .sign(package, &self.nonces)
            .map_err(|e| map_error(e, &BTreeMap::new()))
    }
}

/// The coordinator before it has the commitments.
pub struct Coordinator<C: Ciphersuite> {
    public: PublicKeyPackage<C>,
    message: Vec<u8>,
    ids: BTreeMap<Identifier<C>, PartyIndex>,
}

impl<C: Ciphersuite> Coordinator<C> {
    /// Starts a run that signs `message` under `public` with exactly `signers`, at least
    /// the threshold of them, all committee members.
    pub fn new(
        public: PublicKeyPackage<C>,
        message: &[u8],
        signers: &BTreeSet<PartyIndex>,
    ) -> Result<Self, Error> {
        let needed = public.min_signers().unwrap_or(u16::MAX);
        if signers.len() < usize::from(needed) {
            return Err(Error::TooFewSigners {
                needed,
                got: signers.len(),
            });
        }
        let mut ids = BTreeMap::new();
        for index in signers {
            let id = identifier::<C>(*index)?;
            if !public.verifying_shares().contains_key(&id) {
                return Err(Error::NotACommitteeMember { index: *index });
            }
            ids.insert(id, *index);
        }
        Ok(Self {
            public,
            message: message.to_vec(),
            ids,
        })
    }

    /// Builds the signing package from every signer's commitments (keyed by the channel
    /// each arrived on). Exactly the named signers must be present.
    pub fn package(
        self,
        commitments: BTreeMap<PartyIndex, SigningCommitments<C>>,
    ) -> Result<(AwaitingShares<C>, SigningPackage<C>), Error> {
        let by_id = self.exact_set(commitments)?;
        let package = SigningPackage::new(by_id, &self.message);
        Ok((
            AwaitingShares {
                public: self.public,
                package: package.clone(),
                ids: self.ids,
            },
            package,
        ))
    }

    fn exact_set<T>(
        &self,
        received: BTreeMap<PartyIndex, T>,
    ) -> Result<BTreeMap<Identifier<C>, T>, Error> {
        exact_set(&self.ids, received)
    }
}

/// The coordinator waiting for signature shares.
pub struct AwaitingShares<C: Ciphersuite> {
    public: PublicKeyPackage<C>,
    package: SigningPackage<C>,
    ids: BTreeMap<Identifier<C>, PartyIndex>,
}

impl<C: Ciphersuite> AwaitingShares<C> {
    /// RFC 9591 §5.3: verifies the aggregate and, if it fails, every share, naming all
    /// signers whose shares are invalid.
    pub fn aggregate(
        self,
        shares: BTreeMap<PartyIndex, SignatureShare<C>>,
    ) -> Result<Signature<C>, Error> {
        let by_id = exact_set(&self.ids, shares)?;
        frost_core::aggregate_custom(
            &self.package,
            &by_id,
            &self.public,
            CheaterDetection::AllCheaters,
        )
        .map_err(|e| map_error(e, &self.ids))
    }

    /// The signing package this run signs.
    pub fn signing_package(&self) -> &SigningPackage<C> {
        &self.package
    }
}

fn exact_set<C: Ciphersuite, T>(
    ids: &BTreeMap<Identifier<C>, PartyIndex>,
    received: BTreeMap<PartyIndex, T>,
) -> Result<BTreeMap<Identifier<C>, T>, Error> {
    let expected: BTreeSet<PartyIndex> = ids.values().copied().collect();
    if let Some(extra) = received.keys().find(|i| !expected.contains(i)) {
        return Err(Error::UnexpectedSigner { index: *extra });
    }
    if let Some(missing) = expected.iter().find(|i| !received.contains_key(i)) {
        return Err(Error::MissingSigner { index: *missing });
    }
    received
        .into_iter()
        .map(|(index, v)| identifier::<C>(index).map(|id| (id, v)))
        .collect()
}

fn map_error<C: Ciphersuite>(
    e: frost_core::Error<C>,
    ids: &BTreeMap<Identifier<C>, PartyIndex>,
) -> Error {
    use frost_core::Error as F;
    match e {
        F::InvalidSignatureShare { culprits } => Error::InvalidSignatureShares {
            culprits: culprits
                .iter()
                .filter_map(|c| ids.get(c).copied())
                .collect(),
        },
        F::IdentityCommitment => Error::Frost(FrostFailure::IdentityCommitment),
        F::InvalidSignature => Error::Frost(FrostFailure::InvalidSignature),
        F::MalformedSignature
        | F::MalformedSigningKey
        | F::MalformedVerifyingKey
        | F::MalformedIdentifier
        | F::FieldError(_)
        | F::GroupError(_) => Error::Frost(FrostFailure::Malformed),
        F::UnknownIdentifier
        | F::IncorrectNumberOfShares
        | F::IncorrectNumberOfCommitments
        | F::IncorrectNumberOfIdentifiers
        | F::DuplicatedIdentifier
        | F::MissingCommitment
        | F::IncorrectCommitment => Error::Frost(FrostFailure::InconsistentParticipants),
        _ => Error::Frost(FrostFailure::Other),
    }
}
