//! The sealed share file format (docs/OPERATOR.md, "Sealed file format").
//!
//! ```text
//! offset  len  field
//!      0    8  magic "KNSEALED"
//!      8    2  format version, big-endian (1)
//!     10    8  epoch, big-endian
//!     18    1  share kind (1 = bls, 2 = secp)
//!     19    1  sealing method (1 = operator-key, 2 = platform)
//!     20   12  ChaCha20-Poly1305 nonce
//!     32    …  ciphertext of the share bytes, then the 16-byte tag
//! ```
//!
//! The 32 header bytes are the AEAD's associated data, so a file moved to another
//! epoch's or kind's slot, or relabelled with another version or sealing method, fails
//! to open. The key is the [`Sealer`]'s per-(epoch, kind) key.
//!
//! [`SealedFile::parse`] reads untrusted bytes (the disk is the untrusted host's): it
//! returns typed errors and never panics; a proptest and the `kms-node/fuzz` target
//! `sealed_file` cover it.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use zeroize::Zeroizing;

use super::{Epoch, Error, Sealer, SealingMethod, ShareKind};

/// `"KNSEALED"`.
pub const MAGIC: [u8; 8] = *b"KNSEALED";
/// The format version this build writes and reads.
pub const VERSION: u16 = 1;
/// Header length (the AEAD's associated data), nonce included.
pub const HEADER_LEN: usize = 32;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// Largest sealed file accepted (a share with its committee's public keys is a few
/// KiB; this bounds what a corrupted or hostile file can make the node read).
pub const MAX_SEALED_LEN: usize = 1 << 20;

/// A parsed (not yet authenticated) sealed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedFile<'a> {
    /// Format version.
    pub version: u16,
    /// Epoch in the header.
    pub epoch: Epoch,
    /// Share kind in the header.
    pub kind: ShareKind,
    /// Sealing method in the header.
    pub sealing: SealingMethod,
    nonce: [u8; 12],
    header: &'a [u8; HEADER_LEN],
    ciphertext: &'a [u8],
}

fn header_bytes(
    epoch: Epoch,
    kind: ShareKind,
    sealing: SealingMethod,
    nonce: &[u8; 12],
) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    let parts: [&[u8]; 6] = [
        &MAGIC,
        &VERSION.to_be_bytes(),
        &epoch.0.to_be_bytes(),
        &[kind.code()],
        &[sealing.code()],
        nonce,
    ];
    let mut rest = h.as_mut_slice();
    for part in parts {
        let (dst, tail) = rest.split_at_mut(part.len());
        dst.copy_from_slice(part);
        rest = tail;
    }
    h
}

fn aead(key: &[u8; 32]) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(&Key::from(*key))
}

/// Seals `share` for `(epoch, kind)` with `sealer` and the given fresh `nonce`.
///
/// # Security
///
/// `nonce` must never repeat under the same sealer, epoch and kind; the file store
/// draws it from the OS RNG.
pub fn seal(
    sealer: &dyn Sealer,
    epoch: Epoch,
    kind: ShareKind,
    share: &[u8],
    nonce: [u8; 12],
) -> Result<Vec<u8>, Error> {
    let header = header_bytes(epoch, kind, sealer.method(), &nonce);
    let key = sealer.file_key(epoch, kind)?;
    let ciphertext = aead(&key)
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: share,
                aad: &header,
            },
        )
        .map_err(|_| Error::TooLarge { len: share.len() })?;
    let mut out = Vec::with_capacity(HEADER_LEN.saturating_add(ciphertext.len()));
    out.extend_from_slice(&header);
    out.extend_from_slice(&ciphertext);
    if out.len() > MAX_SEALED_LEN {
        return Err(Error::TooLarge { len: out.len() });
    }
    Ok(out)
}

impl<'a> SealedFile<'a> {
    /// Parses the header of `bytes` (no authentication yet: see [`SealedFile::open`]).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_SEALED_LEN {
            return Err(Error::TooLarge { len: bytes.len() });
        }
        let truncated = Error::Truncated { len: bytes.len() };
        let (header, ciphertext) = bytes.split_first_chunk::<HEADER_LEN>().ok_or(truncated)?;
        if ciphertext.len() < TAG_LEN {
            return Err(Error::Truncated { len: bytes.len() });
        }
        let (magic, rest) = header.split_first_chunk::<8>().ok_or(Error::BadMagic)?;
        if magic != &MAGIC {
            return Err(Error::BadMagic);
        }
        let (version, rest) = rest.split_first_chunk::<2>().ok_or(Error::BadMagic)?;
        let version = u16::from_be_bytes(*version);
        if version != VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        let (epoch, rest) = rest.split_first_chunk::<8>().ok_or(Error::BadMagic)?;
        let (&[kind, sealing], rest) = rest.split_first_chunk::<2>().ok_or(Error::BadMagic)?;
        let nonce: [u8; 12] = rest.try_into().map_err(|_| Error::BadMagic)?;
        Ok(Self {
            version,
            epoch: Epoch(u64::from_be_bytes(*epoch)),
            kind: ShareKind::from_code(kind).ok_or(Error::UnknownKind(kind))?,
            sealing: SealingMethod::from_code(sealing).ok_or(Error::UnknownSealing(sealing))?,
            nonce,
            header,
            ciphertext,
        })
    }

    /// Authenticates and decrypts the file as the share of `(epoch, kind)`.
    ///
    /// Refuses a file whose header names another slot ([`Error::WrongSlot`]) or another
    /// sealing method than `sealer`'s ([`Error::SealingMismatch`]), and any file that
    /// does not authenticate under the sealer's key ([`Error::Decrypt`]: wrong key or
    /// altered bytes).
    pub fn open(
        &self,
        sealer: &dyn Sealer,
        epoch: Epoch,
        kind: ShareKind,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        if (self.epoch, self.kind) != (epoch, kind) {
            return Err(Error::WrongSlot {
                expected: (epoch, kind),
                found: (self.epoch, self.kind),
            });
        }
        if self.sealing != sealer.method() {
            return Err(Error::SealingMismatch {
                file: self.sealing,
                sealer: sealer.method(),
            });
        }
        let key = sealer.file_key(epoch, kind)?;
        aead(&key)
            .decrypt(
                &Nonce::from(self.nonce),
                Payload {
                    msg: self.ciphertext,
                    aad: self.header,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::Decrypt)
    }
}

/// [`SealedFile::parse`] then [`SealedFile::open`].
pub fn open(
    sealer: &dyn Sealer,
    epoch: Epoch,
    kind: ShareKind,
    bytes: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    SealedFile::parse(bytes)?.open(sealer, epoch, kind)
}

#[cfg(test)]
mod tests {
    #![allow(
        non_snake_case,
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]

    use proptest::prelude::*;

    use super::*;
    use crate::storage::OperatorKeySealer;

    const E: Epoch = Epoch(7);

    fn sealer(byte: u8) -> OperatorKeySealer {
        OperatorKeySealer::from_key(&[byte; 32]).unwrap()
    }

    fn sealed() -> Vec<u8> {
        seal(&sealer(1), E, ShareKind::Bls, b"share bytes", [9; 12]).unwrap()
    }

    #[test]
    fn seal__should_round_trip() {
        let bytes = sealed();
        let out = open(&sealer(1), E, ShareKind::Bls, &bytes).unwrap();
        assert_eq!(out.as_slice(), b"share bytes");
        assert_eq!(bytes.len(), HEADER_LEN + 11 + TAG_LEN);
    }

    #[test]
    fn header__should_have_the_documented_layout() {
        let bytes = seal(&sealer(1), Epoch(0x0102), ShareKind::Secp, b"", [0xAA; 12]).unwrap();
        assert_eq!(
            hex::encode(&bytes[..HEADER_LEN]),
            concat!(
                "4b4e5345414c4544", // KNSEALED
                "0001",             // version 1
                "0000000000000102", // epoch
                "02",               // secp
                "01",               // operator-key
                "aaaaaaaaaaaaaaaaaaaaaaaa"
            )
        );
        let parsed = SealedFile::parse(&bytes).unwrap();
        assert_eq!(
            (parsed.version, parsed.epoch, parsed.kind, parsed.sealing),
            (
                1,
                Epoch(0x0102),
                ShareKind::Secp,
                SealingMethod::OperatorKey
            )
        );
    }

    #[test]
    fn open__should_refuse_the_wrong_key() {
        let err = open(&sealer(2), E, ShareKind::Bls, &sealed()).unwrap_err();
        assert!(matches!(err, Error::Decrypt), "{err:?}");
    }

    #[test]
    fn open__should_refuse_another_slot() {
        let err = open(&sealer(1), Epoch(8), ShareKind::Bls, &sealed()).unwrap_err();
        assert!(matches!(err, Error::WrongSlot { .. }), "{err:?}");
        let err = open(&sealer(1), E, ShareKind::Secp, &sealed()).unwrap_err();
        assert!(matches!(err, Error::WrongSlot { .. }), "{err:?}");
    }

    #[test]
    fn open__should_refuse_a_relabelled_header() {
        // Epoch field rewritten to match the slot asked for: the AEAD catches it.
        let mut bytes = sealed();
        bytes[10..18].copy_from_slice(&8u64.to_be_bytes());
        let err = open(&sealer(1), Epoch(8), ShareKind::Bls, &bytes).unwrap_err();
        assert!(matches!(err, Error::Decrypt), "{err:?}");
        // Kind rewritten.
        let mut bytes = sealed();
        bytes[18] = ShareKind::Secp.code();
        let err = open(&sealer(1), E, ShareKind::Secp, &bytes).unwrap_err();
        assert!(matches!(err, Error::Decrypt), "{err:?}");
    }

    #[test]
    fn open__should_refuse_every_single_byte_flip() {
        let bytes = sealed();
        for i in 0..bytes.len() {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            assert!(open(&sealer(1), E, ShareKind::Bls, &t).is_err(), "byte {i}");
        }
    }

    #[test]
    fn parse__should_name_bad_magic_version_kind_and_sealing() {
        let mut t = sealed();
        t[0] = b'X';
        assert!(matches!(SealedFile::parse(&t), Err(Error::BadMagic)));
        let mut t = sealed();
        t[9] = 2;
        assert!(matches!(
            SealedFile::parse(&t),
            Err(Error::UnsupportedVersion(2))
        ));
        let mut t = sealed();
        t[18] = 9;
        assert!(matches!(SealedFile::parse(&t), Err(Error::UnknownKind(9))));
        let mut t = sealed();
        t[19] = 0;
        assert!(matches!(
            SealedFile::parse(&t),
            Err(Error::UnknownSealing(0))
        ));
    }

    #[test]
    fn parse__should_refuse_truncated_files() {
        let bytes = sealed();
        for len in [0, 1, HEADER_LEN - 1, HEADER_LEN, HEADER_LEN + TAG_LEN - 1] {
            let err = SealedFile::parse(&bytes[..len]).unwrap_err();
            assert!(
                matches!(err, Error::Truncated { len: l } if l == len),
                "{len}: {err:?}"
            );
        }
        // Long enough to parse, cut inside the ciphertext: authentication fails.
        let err = open(&sealer(1), E, ShareKind::Bls, &bytes[..bytes.len() - 1]).unwrap_err();
        assert!(matches!(err, Error::Decrypt), "{err:?}");
    }

    #[test]
    fn parse__should_refuse_oversized_input() {
        let big = vec![0u8; MAX_SEALED_LEN + 1];
        assert!(matches!(
            SealedFile::parse(&big),
            Err(Error::TooLarge { .. })
        ));
    }

    proptest! {
        #[test]
        fn parse__should_return_typed_errors_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            // Never panics; random bytes never authenticate.
            prop_assert!(open(&sealer(1), E, ShareKind::Bls, &bytes).is_err());
        }

        #[test]
        fn parse__should_refuse_random_edits_of_a_valid_file(
            at in 0usize..(HEADER_LEN + 11 + TAG_LEN),
            mask in 1u8..=255,
        ) {
            let mut t = sealed();
            t[at] ^= mask;
            prop_assert!(open(&sealer(1), E, ShareKind::Bls, &t).is_err());
        }

        #[test]
        fn parse__should_handle_a_valid_header_with_random_body(body in proptest::collection::vec(any::<u8>(), 0..128)) {
            let mut t = sealed()[..HEADER_LEN].to_vec();
            t.extend_from_slice(&body);
            let result = open(&sealer(1), E, ShareKind::Bls, &t);
            let typed = matches!(result, Err(Error::Truncated { .. } | Error::Decrypt));
            prop_assert!(typed);
        }
    }
}
