//! Sealed share storage (DESIGN §7, "Restart / lost storage" and "Start-up check").
//!
//! A node's key shares are sealed at rest and written atomically: a new epoch's shares
//! are written as *pending* during the transition, *promoted* once the epoch
//! activates, and the old epoch's are *erased* after the grace window. At start-up the
//! unsealed share is checked against the public key share on record
//! ([`check_share_against_record`], [`load_checked`]) before anything is served.
//!
//! - [`StoreShare`] is the capability the node's logic takes (STYLE §4);
//!   [`FileShareStore`] is the real one, `testing::MemoryShareStore` the fake.
//! - [`sealed`] is the file format, [`Sealer`] where its keys come from:
//!   [`OperatorKeySealer`] (a key the operator holds) or [`SevSnpSealer`] (a key the
//!   SEV-SNP firmware derives for this guest, [`sev_snp`]); [`sealer_from_config`]
//!   picks one.
//! - Share bytes are dkg's `export_for_sealing` / `import_from_sealing`
//!   ([`SealableShare`]); they stay in [`Zeroizing`] buffers.

pub mod files;
pub mod sealed;
pub mod sealer;
pub mod sev_snp;

use std::fmt;
use std::path::PathBuf;

use dkg::bls::BlsKeyShare;
use dkg::keys::{ImportError, PublicKeys};
use dkg::secp::SecpKeyShare;
use dkg::suite::{Bls12381G1, Secp256k1, Suite};
use dkg::PartyIndex;
use zeroize::Zeroizing;

pub use files::FileShareStore;
pub use sealer::{sealer_from_config, OperatorKeySealer, Sealer};
pub use sev_snp::{DerivedKeySource, SevGuestKeys, SevSnpSealer};

/// An epoch number (the contract's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch(pub u64);

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which root key a share belongs to (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ShareKind {
    /// The BLS12-381 key (derived secrets, IBE sealing).
    Bls,
    /// The secp256k1 FROST key (signing).
    Secp,
    /// The node's own keys (p2p identity, Noise static key, signer), sealed under
    /// epoch 0 in `identity.sealed` (`node::identity`); not an epoch's share.
    NodeIdentity,
}

impl ShareKind {
    /// Every share kind; an epoch holds one share of each.
    pub const ALL: [ShareKind; 2] = [ShareKind::Bls, ShareKind::Secp];

    /// Code in the sealed file header.
    pub fn code(self) -> u8 {
        match self {
            Self::Bls => 1,
            Self::Secp => 2,
            Self::NodeIdentity => 3,
        }
    }

    /// Inverse of [`ShareKind::code`].
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Bls),
            2 => Some(Self::Secp),
            3 => Some(Self::NodeIdentity),
            _ => None,
        }
    }
}

impl fmt::Display for ShareKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bls => "bls",
            Self::Secp => "secp",
            Self::NodeIdentity => "node-identity",
        })
    }
}

/// How a file was sealed (its header says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealingMethod {
    /// [`OperatorKeySealer`].
    OperatorKey,
    /// [`SevSnpSealer`]: the SEV-SNP firmware's derived key.
    SevSnp,
}

impl SealingMethod {
    /// Code in the sealed file header.
    pub fn code(self) -> u8 {
        match self {
            Self::OperatorKey => 1,
            Self::SevSnp => 2,
        }
    }

    /// Inverse of [`SealingMethod::code`].
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::OperatorKey),
            2 => Some(Self::SevSnp),
            _ => None,
        }
    }
}

/// What differs between an unsealed share and the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordMismatch {
    /// The share is another party's.
    Party {
        /// Party index in the share.
        found: PartyIndex,
        /// Party index on record.
        expected: PartyIndex,
    },
    /// The share belongs to another group key.
    GroupKey,
    /// The share's public share `sk_i·G` is not the one on record.
    PublicShare,
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file system operation failed.
    #[error("storage: cannot {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No share is stored for this slot.
    #[error("storage: no {kind} share for epoch {epoch} (pending: {pending})")]
    NotFound {
        /// Epoch.
        epoch: Epoch,
        /// Kind.
        kind: ShareKind,
        /// Whether the pending area was read.
        pending: bool,
    },
    /// The file is shorter than a header and a tag.
    #[error("sealed share is truncated ({len} bytes)")]
    Truncated {
        /// Its length.
        len: usize,
    },
    /// The file or share is larger than [`sealed::MAX_SEALED_LEN`].
    #[error("sealed share is too large ({len} bytes)")]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The file does not start with the magic bytes.
    #[error("not a sealed share file (bad magic)")]
    BadMagic,
    /// The file's format version is not this build's.
    #[error("sealed share has unsupported format version {0}")]
    UnsupportedVersion(u16),
    /// Unknown share kind code.
    #[error("sealed share has unknown kind {0}")]
    UnknownKind(u8),
    /// Unknown sealing method code.
    #[error("sealed share has unknown sealing method {0}")]
    UnknownSealing(u8),
    /// The header names another epoch or kind than the slot it was read from.
    #[error("sealed share for {found:?} found in the slot of {expected:?}")]
    WrongSlot {
        /// The slot read.
        expected: (Epoch, ShareKind),
        /// The header's.
        found: (Epoch, ShareKind),
    },
    /// The file was sealed with another method than the configured sealer's.
    #[error("sealed share uses {file:?} sealing, the node is configured for {sealer:?}")]
    SealingMismatch {
        /// The file's method.
        file: SealingMethod,
        /// The sealer's.
        sealer: SealingMethod,
    },
    /// Authentication failed: wrong key, or the file was altered.
    #[error("sealed share does not authenticate (wrong key or altered file)")]
    Decrypt,
    /// The operator key file could not be read.
    #[error("cannot read operator key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The operator key file is not 32 bytes or 64 hex digits.
    #[error("operator key file {path} must hold 32 raw bytes or 64 hex digits")]
    KeyFileFormat {
        /// The file.
        path: PathBuf,
    },
    /// The operator key file is readable by group or others.
    #[error("operator key file {path} has mode {mode:o}; it must not be readable by group or others (chmod 600)")]
    KeyFilePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The all-zero operator key.
    #[error("the operator key is all zeros")]
    WeakKey,
    /// Operator-key sealing without a key.
    #[error("operator-key sealing is configured without a key")]
    NoOperatorKey,
    /// `sev-snp` sealing, but the SEV-SNP guest device does not exist.
    #[error("storage.sealing = \"sev-snp\" needs the SEV-SNP guest device, and {path} does not exist (not an SEV-SNP guest, or the sev-guest driver is not loaded); TDX, Nitro and simulated nodes use sealing = \"operator-key\"")]
    SealingDeviceMissing {
        /// The device file looked for.
        path: PathBuf,
    },
    /// The SEV-SNP firmware did not derive the sealing key.
    #[error("sev-snp sealing: the firmware did not derive the sealing key: {0}")]
    PlatformKey(#[source] attestation_gate::attest::AttestError),
    /// The OS random number generator failed.
    #[error("the OS random number generator failed")]
    Randomness,
    /// The epoch is already active (promoted).
    #[error("epoch {epoch} is already active")]
    AlreadyActive {
        /// Epoch.
        epoch: Epoch,
    },
    /// Nothing is pending for this epoch.
    #[error("nothing is pending for epoch {epoch}")]
    NothingPending {
        /// Epoch.
        epoch: Epoch,
    },
    /// A pending epoch lacks one of its shares.
    #[error("epoch {epoch} cannot be promoted: its {missing} share is missing")]
    PendingIncomplete {
        /// Epoch.
        epoch: Epoch,
        /// The missing kind.
        missing: ShareKind,
    },
    /// The unsealed bytes are not a share of this kind.
    #[error("unsealed {kind} share does not import: {source}")]
    Import {
        /// Kind.
        kind: ShareKind,
        /// dkg's error.
        source: ImportError,
    },
    /// The unsealed share does not match the public key share on record.
    #[error("unsealed {kind} share does not match the record: {mismatch:?}")]
    Record {
        /// Kind.
        kind: ShareKind,
        /// What differs.
        mismatch: RecordMismatch,
    },
}

/// Stores this node's sealed shares (STYLE §4: the capability the node's logic takes).
///
/// Lifecycle of an epoch's shares: [`StoreShare::put_pending`] each kind during the
/// transition, [`StoreShare::promote`] when the epoch activates,
/// [`StoreShare::erase_epoch`] the previous epoch after its grace window.
///
/// # Single writer
///
/// Writers take `&mut self`; one process owns a store's backing storage.
pub trait StoreShare {
    /// Seals and stores `share` (bytes of `export_for_sealing`) as the pending share of
    /// `(epoch, kind)`, replacing an earlier pending one. Refused for an active epoch.
    fn put_pending(&mut self, epoch: Epoch, kind: ShareKind, share: &[u8]) -> Result<(), Error>;
    /// Unseals the pending share of `(epoch, kind)`.
    fn load_pending(&self, epoch: Epoch, kind: ShareKind) -> Result<Zeroizing<Vec<u8>>, Error>;
    /// Makes the pending shares of `epoch` active, all at once. Refused unless every
    /// kind is pending and unseals, and if the epoch is already active.
    fn promote(&mut self, epoch: Epoch) -> Result<(), Error>;
    /// Erases the active and pending shares of `epoch` (no error if there are none).
    fn erase_epoch(&mut self, epoch: Epoch) -> Result<(), Error>;
    /// Unseals the active share of `(epoch, kind)`.
    fn load(&self, epoch: Epoch, kind: ShareKind) -> Result<Zeroizing<Vec<u8>>, Error>;
    /// Active epochs, ascending.
    fn active_epochs(&self) -> Result<Vec<Epoch>, Error>;
}

/// A dkg share type that can be sealed.
pub trait SealableShare: Sized {
    /// Its group.
    type Suite: Suite;
    /// Its kind.
    const KIND: ShareKind;
    /// dkg's `export_for_sealing`.
    fn export(&self) -> Zeroizing<Vec<u8>>;
    /// dkg's `import_from_sealing` (re-checks `sk_i·G == PK_i` of the embedded keys).
    fn import(bytes: &[u8]) -> Result<Self, ImportError>;
    /// Its party index.
    fn party(&self) -> PartyIndex;
    /// The committee's public keys it carries.
    fn public_keys(&self) -> &PublicKeys<Self::Suite>;
}

impl SealableShare for BlsKeyShare {
    type Suite = Bls12381G1;
    const KIND: ShareKind = ShareKind::Bls;
    fn export(&self) -> Zeroizing<Vec<u8>> {
        self.export_for_sealing()
    }
    fn import(bytes: &[u8]) -> Result<Self, ImportError> {
        Self::import_from_sealing(bytes)
    }
    fn party(&self) -> PartyIndex {
        self.index()
    }
    fn public_keys(&self) -> &PublicKeys<Bls12381G1> {
        self.public().as_generic()
    }
}

impl SealableShare for SecpKeyShare {
    type Suite = Secp256k1;
    const KIND: ShareKind = ShareKind::Secp;
    fn export(&self) -> Zeroizing<Vec<u8>> {
        self.export_for_sealing()
    }
    fn import(bytes: &[u8]) -> Result<Self, ImportError> {
        Self::import_from_sealing(bytes)
    }
    fn party(&self) -> PartyIndex {
        self.index()
    }
    fn public_keys(&self) -> &PublicKeys<Secp256k1> {
        self.public().as_generic()
    }
}

/// The public key share on record for this node in an epoch: its party index (its
/// position in the on-chain committee plus one), its public share `PK_i = sk_i·G` and
/// the group key the epoch confirmed on chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedShare<S: Suite> {
    /// Party index.
    pub party: PartyIndex,
    /// `PK_i`.
    pub public_share: S::Point,
    /// The group key.
    pub group_key: S::Point,
}

impl<S: Suite> RecordedShare<S> {
    /// Party `party`'s record in the epoch's public keys; `None` if it has no share.
    pub fn from_public_keys(keys: &PublicKeys<S>, party: PartyIndex) -> Option<Self> {
        Some(Self {
            party,
            public_share: *keys.share(party)?,
            group_key: *keys.group_key(),
        })
    }
}

/// The start-up check (DESIGN §7): `share` is party `record.party`'s share of
/// `record.group_key` and its public share is `record.public_share`.
///
/// The share's own public share is bound to its secret (`import_from_sealing` checks
/// `sk_i·G == PK_i`), so equal public shares mean the secret is the one on record.
/// Public points are compared; nothing secret is.
pub fn check_share_against_record<T: SealableShare>(
    share: &T,
    record: &RecordedShare<T::Suite>,
) -> Result<(), Error> {
    let mismatch = |mismatch| Error::Record {
        kind: T::KIND,
        mismatch,
    };
    if share.party() != record.party {
        return Err(mismatch(RecordMismatch::Party {
            found: share.party(),
            expected: record.party,
        }));
    }
    let keys = share.public_keys();
    if keys.group_key() != &record.group_key {
        return Err(mismatch(RecordMismatch::GroupKey));
    }
    if keys.share(record.party) != Some(&record.public_share) {
        return Err(mismatch(RecordMismatch::PublicShare));
    }
    Ok(())
}

/// Seals `share` as the pending share of `epoch`.
pub fn put_pending_share<T: SealableShare>(
    store: &mut (impl StoreShare + ?Sized),
    epoch: Epoch,
    share: &T,
) -> Result<(), Error> {
    store.put_pending(epoch, T::KIND, &share.export())
}

/// Unseals the active share of `epoch`, imports it and checks it against `record`.
pub fn load_checked<T: SealableShare>(
    store: &(impl StoreShare + ?Sized),
    epoch: Epoch,
    record: &RecordedShare<T::Suite>,
) -> Result<T, Error> {
    let bytes = store.load(epoch, T::KIND)?;
    let share = T::import(&bytes).map_err(|source| Error::Import {
        kind: T::KIND,
        source,
    })?;
    check_share_against_record(&share, record)?;
    Ok(share)
}

#[cfg(test)]
mod tests {
    #![allow(
        non_snake_case,
        clippy::unwrap_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use std::fs;

    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::testing::MemoryShareStore;

    const E: Epoch = Epoch(3);

    fn sealer() -> OperatorKeySealer {
        OperatorKeySealer::from_key(&[0x42; 32]).unwrap()
    }

    fn file_store(dir: &tempfile::TempDir) -> FileShareStore<OperatorKeySealer> {
        FileShareStore::open(dir.path(), sealer()).unwrap()
    }

    // ---- the StoreShare contract, run against the file store and the fake ----------

    fn contract__round_trip(store: &mut dyn StoreShare) {
        store.put_pending(E, ShareKind::Bls, b"bls share").unwrap();
        store
            .put_pending(E, ShareKind::Secp, b"secp share")
            .unwrap();
        assert_eq!(
            store.load_pending(E, ShareKind::Bls).unwrap().as_slice(),
            b"bls share"
        );
        assert!(matches!(
            store.load(E, ShareKind::Bls),
            Err(Error::NotFound { pending: false, .. })
        ));
        assert_eq!(store.active_epochs().unwrap(), vec![]);
        store.promote(E).unwrap();
        assert_eq!(
            store.load(E, ShareKind::Bls).unwrap().as_slice(),
            b"bls share"
        );
        assert_eq!(
            store.load(E, ShareKind::Secp).unwrap().as_slice(),
            b"secp share"
        );
        assert!(matches!(
            store.load_pending(E, ShareKind::Bls),
            Err(Error::NotFound { pending: true, .. })
        ));
        assert_eq!(store.active_epochs().unwrap(), vec![E]);
    }

    fn contract__put_pending_replaces(store: &mut dyn StoreShare) {
        store.put_pending(E, ShareKind::Bls, b"attempt 1").unwrap();
        store.put_pending(E, ShareKind::Bls, b"attempt 2").unwrap();
        assert_eq!(
            store.load_pending(E, ShareKind::Bls).unwrap().as_slice(),
            b"attempt 2"
        );
    }

    fn contract__promote_refusals(store: &mut dyn StoreShare) {
        assert!(matches!(
            store.promote(E),
            Err(Error::NothingPending { epoch: E })
        ));
        store.put_pending(E, ShareKind::Bls, b"b").unwrap();
        assert!(matches!(
            store.promote(E),
            Err(Error::PendingIncomplete {
                epoch: E,
                missing: ShareKind::Secp
            })
        ));
        // Nothing moved.
        assert_eq!(
            store.load_pending(E, ShareKind::Bls).unwrap().as_slice(),
            b"b"
        );
        store.put_pending(E, ShareKind::Secp, b"s").unwrap();
        store.promote(E).unwrap();
        assert!(matches!(
            store.promote(E),
            Err(Error::AlreadyActive { epoch: E })
        ));
        assert!(matches!(
            store.put_pending(E, ShareKind::Bls, b"x"),
            Err(Error::AlreadyActive { epoch: E })
        ));
    }

    fn contract__erase(store: &mut dyn StoreShare) {
        for (epoch, tag) in [(Epoch(1), b'1'), (Epoch(2), b'2')] {
            for kind in ShareKind::ALL {
                store.put_pending(epoch, kind, &[tag]).unwrap();
            }
            store.promote(epoch).unwrap();
        }
        store.put_pending(Epoch(3), ShareKind::Bls, b"p").unwrap();
        store.erase_epoch(Epoch(1)).unwrap();
        store.erase_epoch(Epoch(3)).unwrap();
        assert_eq!(store.active_epochs().unwrap(), vec![Epoch(2)]);
        for kind in ShareKind::ALL {
            assert!(matches!(
                store.load(Epoch(1), kind),
                Err(Error::NotFound { .. })
            ));
        }
        assert!(matches!(
            store.load_pending(Epoch(3), ShareKind::Bls),
            Err(Error::NotFound { .. })
        ));
        assert_eq!(
            store.load(Epoch(2), ShareKind::Secp).unwrap().as_slice(),
            b"2"
        );
        // Idempotent.
        store.erase_epoch(Epoch(1)).unwrap();
        store.erase_epoch(Epoch(99)).unwrap();
    }

    fn contract__shares(store: &mut dyn StoreShare) {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let (bls_pub, bls) = dkg::insecure_dealer::deal_bls(2, 3, &mut rng).unwrap();
        let (secp_pub, secp) = dkg::insecure_dealer::deal_secp(2, 3, &mut rng).unwrap();
        let me = bls[1].index();
        put_pending_share(store, E, &bls[1]).unwrap();
        put_pending_share(store, E, &secp[1]).unwrap();
        store.promote(E).unwrap();
        let bls_record = RecordedShare::from_public_keys(bls_pub.as_generic(), me).unwrap();
        let secp_record = RecordedShare::from_public_keys(secp_pub.as_generic(), me).unwrap();
        let b: BlsKeyShare = load_checked(store, E, &bls_record).unwrap();
        let s: SecpKeyShare = load_checked(store, E, &secp_record).unwrap();
        assert_eq!((b.index(), s.index()), (me, me));
        assert_eq!(b.export().as_slice(), bls[1].export().as_slice());
        assert_eq!(s.export().as_slice(), secp[1].export().as_slice());
    }

    macro_rules! contract_tests {
        ($($name:ident),*) => {
            mod file_store {
                use super::*;
                $(#[test] fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    super::$name(&mut file_store(&dir));
                })*
            }
            mod memory_store {
                use super::*;
                $(#[test] fn $name() { super::$name(&mut MemoryShareStore::default()); })*
            }
        };
    }

    contract_tests!(
        contract__round_trip,
        contract__put_pending_replaces,
        contract__promote_refusals,
        contract__erase,
        contract__shares
    );

    // ---- the start-up check --------------------------------------------------------

    #[test]
    fn check_share_against_record__should_name_what_differs() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let (public, shares) = dkg::insecure_dealer::deal_bls(2, 3, &mut rng).unwrap();
        let (other_public, _) = dkg::insecure_dealer::deal_bls(2, 3, &mut rng).unwrap();
        let p1 = shares[0].index();
        let p2 = shares[1].index();
        let record = RecordedShare::from_public_keys(public.as_generic(), p1).unwrap();
        check_share_against_record(&shares[0], &record).unwrap();

        let err = check_share_against_record(&shares[1], &record).unwrap_err();
        assert!(
            matches!(err, Error::Record { kind: ShareKind::Bls, mismatch: RecordMismatch::Party { found, expected } } if found == p2 && expected == p1),
            "{err:?}"
        );
        // Another party's public share recorded under our index.
        let mut swapped = record.clone();
        swapped.public_share = *public.as_generic().share(p2).unwrap();
        let err = check_share_against_record(&shares[0], &swapped).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Record {
                    mismatch: RecordMismatch::PublicShare,
                    ..
                }
            ),
            "{err:?}"
        );
        // A record of another key.
        let foreign = RecordedShare::from_public_keys(other_public.as_generic(), p1).unwrap();
        let err = check_share_against_record(&shares[0], &foreign).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Record {
                    mismatch: RecordMismatch::GroupKey,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn load_checked__should_refuse_a_share_that_is_not_on_record() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let (public, shares) = dkg::insecure_dealer::deal_secp(2, 3, &mut rng).unwrap();
        let mut store = MemoryShareStore::default();
        put_pending_share(&mut store, E, &shares[0]).unwrap();
        store.put_pending(E, ShareKind::Bls, b"unused").unwrap();
        store.promote(E).unwrap();
        let record =
            RecordedShare::from_public_keys(public.as_generic(), shares[2].index()).unwrap();
        let err = load_checked::<SecpKeyShare>(&store, E, &record).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Record {
                    kind: ShareKind::Secp,
                    mismatch: RecordMismatch::Party { .. }
                }
            ),
            "{err:?}"
        );
        // Bytes that are not a share.
        let err = load_checked::<BlsKeyShare>(
            &store,
            E,
            &RecordedShare::from_public_keys(
                dkg::insecure_dealer::deal_bls(1, 1, &mut rng)
                    .unwrap()
                    .0
                    .as_generic(),
                shares[0].index(),
            )
            .unwrap(),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Import {
                    kind: ShareKind::Bls,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    // ---- the file store: crash leftovers, tampering, layout ------------------------

    #[test]
    fn file_store__should_use_the_documented_layout() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store(&dir);
        store.put_pending(Epoch(12), ShareKind::Bls, b"b").unwrap();
        assert!(dir.path().join("pending/12/bls.sealed").is_file());
        store.put_pending(Epoch(12), ShareKind::Secp, b"s").unwrap();
        store.promote(Epoch(12)).unwrap();
        assert!(dir.path().join("epochs/12/bls.sealed").is_file());
        assert!(dir.path().join("epochs/12/secp.sealed").is_file());
        assert!(!dir.path().join("pending/12").exists());
        let mut names: Vec<_> = fs::read_dir(dir.path().join("epochs/12"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["bls.sealed", "secp.sealed"]);
        // Ciphertext only.
        let raw = fs::read(dir.path().join("epochs/12/bls.sealed")).unwrap();
        assert_eq!(&raw[..8], b"KNSEALED");
        assert_eq!(raw.len(), sealed::HEADER_LEN + 1 + sealed::TAG_LEN);
    }

    #[cfg(unix)]
    #[test]
    fn file_store__should_write_private_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store(&dir);
        store.put_pending(E, ShareKind::Bls, b"b").unwrap();
        let mode = |p: &str| {
            fs::metadata(dir.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("pending/3/bls.sealed"), 0o600);
        assert_eq!(mode("pending/3"), 0o700);
    }

    #[test]
    fn file_store__should_ignore_stray_temp_files() {
        // A crash after writing the temp file but before the rename.
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store(&dir);
        let pending = dir.path().join("pending/3");
        fs::create_dir_all(&pending).unwrap();
        fs::write(pending.join(".bls.sealed.tmp"), b"half a fi").unwrap();
        assert!(matches!(
            store.load_pending(E, ShareKind::Bls),
            Err(Error::NotFound { pending: true, .. })
        ));
        assert!(matches!(
            store.promote(E),
            Err(Error::PendingIncomplete {
                missing: ShareKind::Bls,
                ..
            })
        ));
        // The next write replaces the temp file and succeeds.
        store.put_pending(E, ShareKind::Bls, b"b").unwrap();
        store.put_pending(E, ShareKind::Secp, b"s").unwrap();
        fs::write(pending.join(".secp.sealed.tmp"), b"garbage").unwrap();
        store.promote(E).unwrap();
        assert_eq!(store.load(E, ShareKind::Bls).unwrap().as_slice(), b"b");
        // Temp files do not survive promotion.
        assert!(!dir.path().join("epochs/3/.secp.sealed.tmp").exists());
    }

    #[test]
    fn file_store__should_refuse_partial_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store(&dir);
        for kind in ShareKind::ALL {
            store
                .put_pending(E, kind, b"a share of some length")
                .unwrap();
        }
        store.promote(E).unwrap();
        let path = store.share_path(false, E, ShareKind::Bls);
        let full = fs::read(&path).unwrap();
        fs::write(&path, &full[..20]).unwrap();
        assert!(matches!(
            store.load(E, ShareKind::Bls),
            Err(Error::Truncated { len: 20 })
        ));
        fs::write(&path, &full[..full.len() - 3]).unwrap();
        assert!(matches!(store.load(E, ShareKind::Bls), Err(Error::Decrypt)));
        fs::write(&path, b"").unwrap();
        assert!(matches!(
            store.load(E, ShareKind::Bls),
            Err(Error::Truncated { len: 0 })
        ));
    }

    #[test]
    fn file_store__should_refuse_a_partial_pending_file_at_promotion() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store(&dir);
        for kind in ShareKind::ALL {
            store.put_pending(E, kind, b"share").unwrap();
        }
        let path = store.share_path(true, E, ShareKind::Secp);
        let full = fs::read(&path).unwrap();
        fs::write(&path, &full[..full.len() / 2]).unwrap();
        assert!(matches!(store.promote(E), Err(Error::Truncated { .. })));
        assert_eq!(store.active_epochs().unwrap(), vec![]);
    }

    #[test]
    fn file_store__should_refuse_tampered_or_misplaced_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store(&dir);
        for epoch in [Epoch(1), Epoch(2)] {
            for kind in ShareKind::ALL {
                store.put_pending(epoch, kind, b"share").unwrap();
            }
            store.promote(epoch).unwrap();
        }
        // Epoch 1's file copied over epoch 2's.
        let one = store.share_path(false, Epoch(1), ShareKind::Bls);
        let two = store.share_path(false, Epoch(2), ShareKind::Bls);
        fs::copy(&one, &two).unwrap();
        assert!(matches!(
            store.load(Epoch(2), ShareKind::Bls),
            Err(Error::WrongSlot { .. })
        ));
        // The bls file copied over secp's.
        let secp = store.share_path(false, Epoch(1), ShareKind::Secp);
        fs::copy(&one, &secp).unwrap();
        assert!(matches!(
            store.load(Epoch(1), ShareKind::Secp),
            Err(Error::WrongSlot { .. })
        ));
        // A flipped ciphertext byte.
        let mut bytes = fs::read(&one).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x80;
        fs::write(&one, &bytes).unwrap();
        assert!(matches!(
            store.load(Epoch(1), ShareKind::Bls),
            Err(Error::Decrypt)
        ));
    }

    #[test]
    fn file_store__should_refuse_another_operator_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store(&dir);
        for kind in ShareKind::ALL {
            store.put_pending(E, kind, b"share").unwrap();
        }
        store.promote(E).unwrap();
        let other =
            FileShareStore::open(dir.path(), OperatorKeySealer::from_key(&[1; 32]).unwrap())
                .unwrap();
        assert!(matches!(other.load(E, ShareKind::Bls), Err(Error::Decrypt)));
        // Reopened with the right key, the share is there (restart).
        drop(store);
        let again = file_store(&dir);
        assert_eq!(again.load(E, ShareKind::Bls).unwrap().as_slice(), b"share");
        assert_eq!(again.active_epochs().unwrap(), vec![E]);
    }

    #[test]
    fn file_store__should_refuse_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(&dir);
        let path = store.share_path(false, E, ShareKind::Bls);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, vec![0u8; sealed::MAX_SEALED_LEN + 10]).unwrap();
        assert!(matches!(
            store.load(E, ShareKind::Bls),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn file_store__should_finish_an_interrupted_erase_on_open() {
        // A crash after the epoch was moved to trash, before it was removed.
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store(&dir);
        for kind in ShareKind::ALL {
            store.put_pending(E, kind, b"share").unwrap();
        }
        store.promote(E).unwrap();
        drop(store);
        fs::rename(
            dir.path().join("epochs/3"),
            dir.path().join("epochs/.trash-3"),
        )
        .unwrap();
        fs::create_dir_all(dir.path().join("epochs/not-an-epoch")).unwrap();
        fs::create_dir_all(dir.path().join("epochs/007")).unwrap();
        let store = file_store(&dir);
        assert!(!dir.path().join("epochs/.trash-3").exists());
        assert_eq!(store.active_epochs().unwrap(), vec![]);
        assert!(matches!(
            store.load(E, ShareKind::Bls),
            Err(Error::NotFound { .. })
        ));
    }
}
