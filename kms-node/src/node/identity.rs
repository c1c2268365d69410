//! The node's own keys (DESIGN §6 "node registry", §8): generated inside the enclave
//! at first start, sealed at rest, never leaving the process.
//!
//! - the **p2p identity key** (Ed25519): the libp2p identity (the on-chain `p2p_key` is
//!   its 32-byte public key) and the DKG identity key every round-1 broadcast is signed
//!   with;
//! - the **Noise static key** (X25519) of the app-facing service;
//! - the **signer** (secp256k1): the EVM account that signs the registration and
//!   `confirm`s epochs; the node id is `keccak256(abi.encode(signer))`.
//!
//! The three secrets are sealed together in `<data_dir>/identity.sealed` (the share
//! store's sealed format, kind [`ShareKind::NodeIdentity`], epoch 0), written
//! atomically. A node that lost this file is a new node: it must be registered again.

use std::fs;
use std::path::Path;

use alloy::primitives::{keccak256, Address};
use alloy::signers::local::PrivateKeySigner;
use ed25519_dalek::SigningKey;
use rand_core::CryptoRngCore;
use x25519_dalek::{PublicKey as NoisePublic, StaticSecret};
use zeroize::Zeroizing;

use crate::storage::{self, sealed, Epoch, Sealer, ShareKind};

/// The sealed file's name in the data directory.
pub const FILE: &str = "identity.sealed";

/// Why the node's keys could not be loaded or created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Sealing, unsealing or writing failed.
    #[error("node identity: {0}")]
    Storage(#[from] storage::Error),
    /// The file could not be read.
    #[error("node identity: cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The unsealed bytes are not three keys.
    #[error("node identity: {0} is corrupt (wrong length or an invalid signer key)")]
    Corrupt(String),
}

/// The node's three key pairs.
///
/// # Security
///
/// Secret: every key is zeroed on drop (ed25519-dalek, x25519-dalek and k256 zeroize
/// their secrets); no `Debug`, `Clone` or `Display`.
pub struct NodeKeys {
    p2p: SigningKey,
    noise: StaticSecret,
    signer: PrivateKeySigner,
}

const LEN: usize = 96;

impl NodeKeys {
    /// Fresh keys from `rng`.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = Zeroizing::new([0u8; LEN]);
        loop {
            rng.fill_bytes(bytes.as_mut_slice());
            // A secp256k1 scalar out of range has probability ~2^-128; draw again.
            if let Some(keys) = Self::from_bytes(&bytes) {
                return keys;
            }
        }
    }

    fn from_bytes(bytes: &[u8; LEN]) -> Option<Self> {
        let (p2p, rest) = bytes.split_at(32);
        let (noise, signer) = rest.split_at(32);
        let p2p: [u8; 32] = p2p.try_into().ok()?;
        let noise: Zeroizing<[u8; 32]> = Zeroizing::new(noise.try_into().ok()?);
        let signer = PrivateKeySigner::from_slice(signer).ok()?;
        Some(Self {
            p2p: SigningKey::from_bytes(&p2p),
            noise: StaticSecret::from(*noise),
            signer,
        })
    }

    fn to_bytes(&self) -> Zeroizing<[u8; LEN]> {
        let mut out = Zeroizing::new([0u8; LEN]);
        out[..32].copy_from_slice(self.p2p.as_bytes());
        out[32..64].copy_from_slice(self.noise.as_bytes());
        out[64..].copy_from_slice(&self.signer.to_bytes().0);
        out
    }

    /// Loads the keys sealed in `data_dir`, or creates, seals and stores new ones.
    /// Returns whether they were created.
    pub fn load_or_create(
        data_dir: &Path,
        sealer: &dyn Sealer,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Self, bool), Error> {
        let path = data_dir.join(FILE);
        match fs::read(&path) {
            Ok(bytes) => {
                let plain = sealed::open(sealer, Epoch(0), ShareKind::NodeIdentity, &bytes)?;
                let arr: &[u8; LEN] = plain
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::Corrupt(path.display().to_string()))?;
                let keys = Self::from_bytes(arr)
                    .ok_or_else(|| Error::Corrupt(path.display().to_string()))?;
                Ok((keys, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(data_dir).map_err(|source| Error::Read {
                    path: data_dir.display().to_string(),
                    source,
                })?;
                let keys = Self::generate(rng);
                let mut nonce = [0u8; 12];
                rng.fill_bytes(&mut nonce);
                let bytes = sealed::seal(
                    sealer,
                    Epoch(0),
                    ShareKind::NodeIdentity,
                    keys.to_bytes().as_slice(),
                    nonce,
                )?;
                storage::files::write_atomic(data_dir, FILE, ".identity.sealed.tmp", &bytes)?;
                Ok((keys, true))
            }
            Err(source) => Err(Error::Read {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// The Ed25519 p2p identity public key (the on-chain `p2p_key`).
    pub fn p2p_public(&self) -> [u8; 32] {
        self.p2p.verifying_key().to_bytes()
    }

    /// The Ed25519 key as the DKG identity signer (it signs round-1 broadcasts).
    pub fn dkg_signer(&self) -> &SigningKey {
        &self.p2p
    }

    /// The libp2p identity of the same Ed25519 key.
    pub fn libp2p_keypair(&self) -> Result<libp2p::identity::Keypair, Error> {
        // `ed25519_from_bytes` zeroes its input; it fails only on a wrong length.
        let mut secret = Zeroizing::new(*self.p2p.as_bytes());
        libp2p::identity::Keypair::ed25519_from_bytes(secret.as_mut_slice())
            .map_err(|_| Error::Corrupt("the p2p identity key".into()))
    }

    /// The Noise static public key (X25519).
    pub fn noise_public(&self) -> [u8; 32] {
        NoisePublic::from(&self.noise).to_bytes()
    }

    /// The Noise static key pair of the app-facing service (zeroized on drop).
    pub fn noise_static_key(&self) -> Result<kms_api::noise::StaticKey, Error> {
        kms_api::noise::StaticKey::from_secret(self.noise.to_bytes())
            .map_err(|_| Error::Corrupt("the Noise static key".into()))
    }

    /// The signer account.
    pub fn signer(&self) -> &PrivateKeySigner {
        &self.signer
    }

    /// The signer's address.
    pub fn signer_address(&self) -> [u8; 20] {
        self.signer.address().into_array()
    }

    /// The node id: `keccak256(abi.encode(signer))` (the contract's).
    pub fn node_id(&self) -> [u8; 32] {
        node_id_of(self.signer.address())
    }
}

/// `keccak256(abi.encode(signer))`: the contract's node id of a signer.
pub fn node_id_of(signer: Address) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(signer.as_slice());
    keccak256(word).0
}

#[cfg(test)]
mod tests {
    #![allow(non_snake_case, clippy::unwrap_used)]

    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::storage::OperatorKeySealer;

    #[test]
    fn load_or_create__should_create_once_then_load_the_same_keys() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = OperatorKeySealer::from_key(&[9; 32]).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (a, created) = NodeKeys::load_or_create(dir.path(), &sealer, &mut rng).unwrap();
        assert!(created);
        let (b, created) = NodeKeys::load_or_create(dir.path(), &sealer, &mut rng).unwrap();
        assert!(!created);
        assert_eq!(a.p2p_public(), b.p2p_public());
        assert_eq!(a.noise_public(), b.noise_public());
        assert_eq!(a.signer_address(), b.signer_address());
        // The file holds no key in the clear.
        let bytes = fs::read(dir.path().join(FILE)).unwrap();
        let secret = a.to_bytes();
        assert!(!bytes
            .windows(32)
            .any(|w| w == &secret[..32] || w == &secret[64..]));
        // Another operator key cannot open it.
        let other = OperatorKeySealer::from_key(&[8; 32]).unwrap();
        assert!(matches!(
            NodeKeys::load_or_create(dir.path(), &other, &mut rng),
            Err(Error::Storage(_))
        ));
    }

    #[test]
    fn keys__should_agree_with_libp2p_and_the_contract_node_id() {
        let keys = NodeKeys::generate(&mut ChaCha20Rng::seed_from_u64(2));
        let kp = keys.libp2p_keypair().unwrap();
        let pk = kp.public().try_into_ed25519().unwrap();
        assert_eq!(pk.to_bytes(), keys.p2p_public());
        // Anvil's first dev account: keccak256(abi.encode(address)).
        let addr: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse()
            .unwrap();
        let mut word = [0u8; 32];
        word[12..].copy_from_slice(addr.as_slice());
        assert_eq!(node_id_of(addr), keccak256(word).0);
        assert_eq!(
            keys.node_id(),
            node_id_of(Address::from(keys.signer_address()))
        );
    }
}
