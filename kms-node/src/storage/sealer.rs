//! Where the sealing keys come from (DESIGN §7).
//!
//! - [`OperatorKeySealer`]: a 32-byte key held by the operator, from a file or the
//!   configuration; each file's key is HKDF-SHA256 of it for `(epoch, kind, method)`.
//! - [`super::SevSnpSealer`]: SEV-SNP's derived key through `SNP_GET_DERIVED_KEY` on
//!   `<attestation.device_root>/dev/sev-guest` ([`super::sev_snp`]).
//!
//! [`sealer_from_config`] builds the one the configuration names. TDX and Nitro have no
//! sealing key a guest can ask for, so their nodes use the operator key.

use std::io::Read;
use std::path::Path;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::sev_snp::{SevGuestKeys, SevSnpSealer};
use super::{Epoch, Error, SealingMethod, ShareKind};
use crate::config::{Config, OperatorKeySource, Sealing};

/// HKDF salt of per-file keys.
const SALT: &[u8] = b"keynet/kms-node/sealed-share/v1";

/// Provides the AEAD key of each sealed file.
pub trait Sealer {
    /// The method written in each file's header.
    fn method(&self) -> SealingMethod;
    /// The key sealing the share of `(epoch, kind)`.
    fn file_key(&self, epoch: Epoch, kind: ShareKind) -> Result<Zeroizing<[u8; 32]>, Error>;
}

impl<S: Sealer + ?Sized> Sealer for Box<S> {
    fn method(&self) -> SealingMethod {
        (**self).method()
    }

    fn file_key(&self, epoch: Epoch, kind: ShareKind) -> Result<Zeroizing<[u8; 32]>, Error> {
        (**self).file_key(epoch, kind)
    }
}

/// Seals under a 32-byte key held by the operator.
///
/// # Security
///
/// Anyone with the key and the data directory has the share: keep the key off the
/// node's disk where possible (`KMS_NODE_STORAGE_OPERATOR_KEY`), or in a file of mode
/// `0600` or stricter (a group- or world-readable file is refused). The key is zeroed
/// on drop; the type has no `Debug`, `Clone` or `Display`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct OperatorKeySealer {
    key: [u8; 32],
}

impl OperatorKeySealer {
    /// From the key bytes. Refuses the all-zero key (an unset key, never a real one).
    pub fn from_key(key: &[u8; 32]) -> Result<Self, Error> {
        if key.iter().all(|b| *b == 0) {
            return Err(Error::WeakKey);
        }
        Ok(Self { key: *key })
    }

    /// From a file holding exactly 32 raw bytes, or 64 hex digits (a trailing newline
    /// allowed). On Unix the file must not be readable by group or others.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let io = |source| Error::KeyFile {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = file.metadata().map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(Error::KeyFilePermissions {
                    path: path.to_owned(),
                    mode: mode & 0o7777,
                });
            }
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(66));
        // At most 130 bytes are read: anything longer is not a key.
        file.take(130).read_to_end(&mut bytes).map_err(io)?;
        let mut key = Zeroizing::new([0u8; 32]);
        if let Ok(raw) = <[u8; 32]>::try_from(bytes.as_slice()) {
            key.copy_from_slice(&raw);
        } else {
            let text = std::str::from_utf8(&bytes).map_err(|_| Error::KeyFileFormat {
                path: path.to_owned(),
            })?;
            hex::decode_to_slice(text.trim_end_matches(['\n', '\r']), key.as_mut_slice()).map_err(
                |_| Error::KeyFileFormat {
                    path: path.to_owned(),
                },
            )?;
        }
        Self::from_key(&key)
    }
}

impl Sealer for OperatorKeySealer {
    fn method(&self) -> SealingMethod {
        SealingMethod::OperatorKey
    }

    fn file_key(&self, epoch: Epoch, kind: ShareKind) -> Result<Zeroizing<[u8; 32]>, Error> {
        let mut info = [0u8; 10];
        let (e, rest) = info.split_at_mut(8);
        e.copy_from_slice(&epoch.0.to_be_bytes());
        rest.copy_from_slice(&[kind.code(), SealingMethod::OperatorKey.code()]);
        let mut out = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(SALT), &self.key)
            .expand(&info, out.as_mut_slice())
            .map_err(|_| Error::WeakKey)?;
        Ok(out)
    }
}

/// The sealer the configuration asks for: the operator key, or the SEV-SNP derived key
/// of `<attestation.device_root>/dev/sev-guest` (refused with
/// [`Error::SealingDeviceMissing`] where that device does not exist).
pub fn sealer_from_config(config: &Config) -> Result<Box<dyn Sealer + Send + Sync>, Error> {
    let storage = &config.storage;
    match (storage.sealing, &storage.operator_key) {
        (Sealing::OperatorKey, Some(OperatorKeySource::File(path))) => {
            Ok(Box::new(OperatorKeySealer::from_file(path)?))
        }
        (Sealing::OperatorKey, Some(OperatorKeySource::Inline(key))) => {
            Ok(Box::new(OperatorKeySealer::from_key(key.expose())?))
        }
        (Sealing::OperatorKey, None) => Err(Error::NoOperatorKey),
        (Sealing::SevSnp, _) => {
            let keys = SevGuestKeys::new(&config.attestation.device_root)?;
            Ok(Box::new(SevSnpSealer::new(&keys)?))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(non_snake_case, clippy::unwrap_used, clippy::panic)]

    use std::path::PathBuf;

    use super::*;

    fn write_key(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        #[cfg(not(unix))]
        let _ = mode;
        path
    }

    #[test]
    fn from_file__should_accept_raw_and_hex_keys_alike() {
        let dir = tempfile::tempdir().unwrap();
        let key = [0x5a; 32];
        let raw = write_key(dir.path(), "raw", &key, 0o600);
        let hexed = write_key(
            dir.path(),
            "hex",
            format!("{}\n", hex::encode(key)).as_bytes(),
            0o400,
        );
        let a = OperatorKeySealer::from_file(&raw).unwrap();
        let b = OperatorKeySealer::from_file(&hexed).unwrap();
        let c = OperatorKeySealer::from_key(&key).unwrap();
        let k = |s: &OperatorKeySealer| *s.file_key(Epoch(1), ShareKind::Bls).unwrap();
        assert_eq!(k(&a), k(&c));
        assert_eq!(k(&b), k(&c));
    }

    #[test]
    fn from_file__should_refuse_bad_lengths_and_encodings() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [
            ("short", vec![1u8; 31]),
            ("long", vec![1u8; 33]),
            ("badhex", b"zz".repeat(32)),
            ("shorthex", b"ab".repeat(31)),
        ] {
            let path = write_key(dir.path(), name, &bytes, 0o600);
            let err = OperatorKeySealer::from_file(&path).err().unwrap();
            assert!(
                matches!(err, Error::KeyFileFormat { .. }),
                "{name}: {err:?}"
            );
        }
        let err = OperatorKeySealer::from_file(&dir.path().join("absent"))
            .err()
            .unwrap();
        assert!(matches!(err, Error::KeyFile { .. }), "{err:?}");
    }

    #[cfg(unix)]
    #[test]
    fn from_file__should_refuse_a_key_readable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_key(dir.path(), "k", &[3; 32], 0o644);
        let err = OperatorKeySealer::from_file(&path).err().unwrap();
        assert!(
            matches!(err, Error::KeyFilePermissions { mode: 0o644, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn from_key__should_refuse_the_zero_key() {
        assert!(matches!(
            OperatorKeySealer::from_key(&[0; 32]),
            Err(Error::WeakKey)
        ));
    }

    #[test]
    fn file_key__should_differ_per_epoch_and_kind() {
        let s = OperatorKeySealer::from_key(&[7; 32]).unwrap();
        let a = *s.file_key(Epoch(1), ShareKind::Bls).unwrap();
        let b = *s.file_key(Epoch(2), ShareKind::Bls).unwrap();
        let c = *s.file_key(Epoch(1), ShareKind::Secp).unwrap();
        assert!(a != b && a != c && b != c);
        assert_ne!(a, [7; 32]);
    }

    #[test]
    fn sealer_from_config__should_build_the_operator_key_sealer() {
        let dir = tempfile::tempdir().unwrap();
        let key = [0x33; 32];
        let path = write_key(dir.path(), "k", &key, 0o600);
        let text = format!(
            "[node]\noperator_address = \"0x{}\"\n[chain]\nrpc_url = \"http://h\"\ncontract = \"0x{}\"\n[attestation]\nattester = \"nitro\"\n[storage]\nsealing = \"operator-key\"\n",
            "22".repeat(20),
            "11".repeat(20)
        );
        let expected = *OperatorKeySealer::from_key(&key)
            .unwrap()
            .file_key(Epoch(4), ShareKind::Secp)
            .unwrap();
        let from_file = crate::config::Config::parse_with_env(
            &format!("{text}operator_key_file = {:?}\n", path.to_str().unwrap()),
            Path::new("t.toml"),
            [],
        )
        .unwrap();
        let from_env = crate::config::Config::parse_with_env(
            &text,
            Path::new("t.toml"),
            [("KMS_NODE_STORAGE_OPERATOR_KEY".to_owned(), hex::encode(key))],
        )
        .unwrap();
        for config in [from_file, from_env] {
            let sealer = sealer_from_config(&config).unwrap();
            assert_eq!(sealer.method(), SealingMethod::OperatorKey);
            assert_eq!(
                *sealer.file_key(Epoch(4), ShareKind::Secp).unwrap(),
                expected
            );
        }
    }

    #[test]
    fn sealer_from_config__should_refuse_sev_snp_without_the_device() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[node]\noperator_address = \"0x{}\"\n[chain]\nrpc_url = \"http://h\"\ncontract = \"0x{}\"\n[attestation]\nattester = \"sev-guest\"\ndevice_root = {:?}\n[storage]\nsealing = \"sev-snp\"\n",
            "22".repeat(20),
            "11".repeat(20),
            dir.path().to_str().unwrap()
        );
        let config = crate::config::Config::parse_with_env(&text, Path::new("t.toml"), []).unwrap();
        let err = sealer_from_config(&config).err().unwrap();
        assert!(
            matches!(&err, Error::SealingDeviceMissing { path } if *path == dir.path().join("dev/sev-guest")),
            "{err:?}"
        );
        assert!(err.to_string().contains("operator-key"), "{err}");
    }
}
