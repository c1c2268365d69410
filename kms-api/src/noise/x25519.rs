//! X25519 for the Noise session through aws-lc-rs; hashing, the cipher and the random
//! generator stay snow's defaults.
//!
//! Why this exists (hand-written glue, not a library): snow's default resolver computes
//! X25519 with curve25519-dalek's portable arithmetic, 66.9 µs per Diffie-Hellman on the
//! CI machines against 33.8 µs for aws-lc-rs's assembly (docs/PERFORMANCE.md, "Key
//! release"). Each side of a new session runs three of them and a key generation, about
//! 70 % of a node's CPU for a new-session release. snow ships no aws-lc-rs resolver, and
//! ring (already a dependency) cannot use a static X25519 key, so this module only maps
//! snow's [`Dh`] trait onto `aws_lc_rs::agreement`.
//!
//! Unlike snow's default, it refuses an all-zero shared secret (a low-order public key,
//! RFC 7748 §6.1): the handshake then fails with [`snow::Error::Dh`].

use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey, X25519};
use snow::params::{CipherChoice, DHChoice, HashChoice};
use snow::resolvers::{CryptoResolver, DefaultResolver};
use snow::types::{Cipher, Dh, Hash, Random};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Bytes of an X25519 key (private or public) and of a shared secret.
pub(super) const KEY_LEN: usize = 32;

/// snow's resolver with X25519 from aws-lc-rs.
pub(super) struct Resolver;

impl CryptoResolver for Resolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        DefaultResolver.resolve_rng()
    }

    fn resolve_dh(&self, choice: &DHChoice) -> Option<Box<dyn Dh>> {
        match choice {
            DHChoice::Curve25519 => Some(Box::new(KeyPair::default())),
            _ => None,
        }
    }

    fn resolve_hash(&self, choice: &HashChoice) -> Option<Box<dyn Hash>> {
        DefaultResolver.resolve_hash(choice)
    }

    fn resolve_cipher(&self, choice: &CipherChoice) -> Option<Box<dyn Cipher>> {
        DefaultResolver.resolve_cipher(choice)
    }
}

/// The public key of the X25519 private key `secret`; `None` only if aws-lc-rs refuses
/// the key (it accepts every 32 bytes: the scalar is clamped).
pub(super) fn public_key(secret: &[u8; KEY_LEN]) -> Option<[u8; KEY_LEN]> {
    let mut pair = KeyPair::default();
    pair.set(secret);
    pair.key.is_some().then_some(pair.public)
}

/// snow's view of one X25519 key pair. aws-lc frees its copy of the private key with
/// `OPENSSL_free`, which clears the memory; ours is zeroized on drop.
#[derive(Default)]
struct KeyPair {
    secret: Zeroizing<[u8; KEY_LEN]>,
    public: [u8; KEY_LEN],
    /// `None` until a key is set, or if aws-lc-rs refused it: every DH then fails.
    key: Option<PrivateKey>,
}

impl KeyPair {
    /// Derives the key and public key from `secret`; on refusal leaves no usable key.
    fn install(&mut self) {
        let key = PrivateKey::from_private_key(&X25519, self.secret.as_slice()).ok();
        let public = key.as_ref().and_then(|key| {
            let public = key.compute_public_key().ok()?;
            <[u8; KEY_LEN]>::try_from(public.as_ref()).ok()
        });
        match (key, public) {
            (Some(key), Some(public)) => {
                self.key = Some(key);
                self.public = public;
            }
            _ => *self = Self::default(),
        }
    }
}

impl Dh for KeyPair {
    fn name(&self) -> &'static str {
        "25519"
    }

    fn pub_len(&self) -> usize {
        KEY_LEN
    }

    fn priv_len(&self) -> usize {
        KEY_LEN
    }

    fn set(&mut self, privkey: &[u8]) {
        // snow passes exactly `priv_len` bytes; anything else leaves no usable key.
        match <[u8; KEY_LEN]>::try_from(privkey) {
            Ok(bytes) => {
                *self.secret = bytes;
                self.install();
            }
            Err(_) => *self = Self::default(),
        }
    }

    fn generate(&mut self, rng: &mut dyn Random) {
        rng.fill_bytes(self.secret.as_mut_slice());
        self.install();
    }

    fn pubkey(&self) -> &[u8] {
        &self.public
    }

    fn privkey(&self) -> &[u8] {
        self.secret.as_slice()
    }

    fn dh(&self, pubkey: &[u8], out: &mut [u8]) -> Result<(), snow::Error> {
        let key = self.key.as_ref().ok_or(snow::Error::Dh)?;
        // snow hands over its whole key buffer (56 bytes for X448); X25519 uses the first 32.
        let pubkey = pubkey.get(..KEY_LEN).ok_or(snow::Error::Dh)?;
        let out = out.get_mut(..KEY_LEN).ok_or(snow::Error::Dh)?;
        let peer = UnparsedPublicKey::new(&X25519, pubkey);
        agreement::agree(key, peer, snow::Error::Dh, |shared| {
            // aws-lc refuses an all-zero result itself; checked here too, in constant
            // time, so the rule does not rest on another library's internals.
            if bool::from(shared.ct_eq(&[0u8; KEY_LEN])) {
                return Err(snow::Error::Dh);
            }
            let shared = <&[u8; KEY_LEN]>::try_from(shared).map_err(|_| snow::Error::Dh)?;
            out.copy_from_slice(shared);
            Ok(())
        })
    }
}
