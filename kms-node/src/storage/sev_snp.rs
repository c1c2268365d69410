//! SEV-SNP platform sealing (DESIGN §7, "Storage"): the sealing key is derived by the
//! AMD secure processor (`SNP_GET_DERIVED_KEY` on `/dev/sev-guest`), so the shares open
//! only inside a guest of the same launch measurement and guest policy on the same chip.
//!
//! - [`DerivedKeySource`] is the capability (STYLE §4): [`SevGuestKeys`] asks the
//!   device under the configured `attestation.device_root`; tests use a fake (an ioctl
//!   cannot be faked with a plain file).
//! - [`SevSnpSealer`] asks once, at start-up, for the key of [`SEALING_KEY_REQUEST`] and
//!   derives each file's key from it with HKDF-SHA256, the request's encoding in the
//!   info, so a key asked for with other selections never opens these files.
//!
//! What the firmware mixes in ([`SEALING_KEY_REQUEST`]): the chip's VCEK as root key
//! (the key is bound to this chip), the launch MEASUREMENT and the guest POLICY (a
//! guest with another kernel, initrd, command line or kms-node build, or launched with
//! another policy, e.g. debug allowed, derives another key), at VMPL 0 (code running at
//! a less privileged VMPL cannot ask for it). The TCB version, guest SVN and ID-block
//! fields are left out, so that a firmware update or a re-signed ID block does not
//! lose the shares; an upgraded kms-node build is a new member anyway (DESIGN §6) and
//! receives its shares by resharing.

use std::path::{Path, PathBuf};

use attestation_gate::attest::sev_guest::{
    DerivedKeyRequest, RootKey, SevGuest, GUEST_FIELD_MEASUREMENT, GUEST_FIELD_POLICY,
};
use attestation_gate::attest::AttestError;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{Epoch, Error, Sealer, SealingMethod, ShareKind};

/// HKDF salt of per-file keys (the same as the operator-key sealer's; the info differs).
const SALT: &[u8] = b"keynet/kms-node/sealed-share/v1";

/// The derived-key request of the sealing key: VCEK root, measurement and policy mixed
/// in, VMPL 0.
pub const SEALING_KEY_REQUEST: DerivedKeyRequest = DerivedKeyRequest {
    root_key: RootKey::Vcek,
    guest_field_select: GUEST_FIELD_POLICY | GUEST_FIELD_MEASUREMENT,
    vmpl: 0,
    guest_svn: 0,
    tcb_version: 0,
};

/// Where SEV-SNP derived keys come from.
pub trait DerivedKeySource {
    /// The firmware's key for `request`.
    ///
    /// # Security
    ///
    /// The key is secret: return it in a [`Zeroizing`] buffer and never log it.
    fn derived_key(&self, request: &DerivedKeyRequest) -> Result<Zeroizing<[u8; 32]>, Error>;
}

/// Derived keys from `<device_root>/dev/sev-guest`.
#[derive(Debug, Clone)]
pub struct SevGuestKeys {
    guest: SevGuest,
}

impl SevGuestKeys {
    /// The device under `device_root`; refused with [`Error::SealingDeviceMissing`] when
    /// it does not exist (not an SEV-SNP guest, or the `sev-guest` driver is not loaded).
    pub fn new(device_root: &Path) -> Result<Self, Error> {
        let guest = SevGuest::new(device_root);
        let path = guest.device();
        if !path.exists() {
            return Err(Error::SealingDeviceMissing { path });
        }
        Ok(Self { guest })
    }

    /// The device file.
    pub fn device(&self) -> PathBuf {
        self.guest.device()
    }
}

impl DerivedKeySource for SevGuestKeys {
    fn derived_key(&self, request: &DerivedKeyRequest) -> Result<Zeroizing<[u8; 32]>, Error> {
        self.guest.derived_key(request).map_err(|e| match e {
            AttestError::DeviceNotFound { path } => Error::SealingDeviceMissing { path },
            other => Error::PlatformKey(other),
        })
    }
}

/// Seals under a key the SEV-SNP firmware derives for this guest ([`SEALING_KEY_REQUEST`]).
///
/// # Security
///
/// The firmware's key is held for the process's life (asked once) and zeroed on drop;
/// the type has no `Debug`, `Clone` or `Display`. Each file's key is
/// HKDF-SHA256(salt, firmware key, `epoch ‖ kind ‖ method ‖ encoded request`).
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SevSnpSealer {
    key: [u8; 32],
}

impl SevSnpSealer {
    /// Asks `source` for the sealing key. Refuses an all-zero key (no firmware answers
    /// one: a broken device or fake).
    pub fn new(source: &dyn DerivedKeySource) -> Result<Self, Error> {
        let key = source.derived_key(&SEALING_KEY_REQUEST)?;
        if key.iter().all(|b| *b == 0) {
            return Err(Error::WeakKey);
        }
        Ok(Self { key: *key })
    }
}

impl Sealer for SevSnpSealer {
    fn method(&self) -> SealingMethod {
        SealingMethod::SevSnp
    }

    fn file_key(&self, epoch: Epoch, kind: ShareKind) -> Result<Zeroizing<[u8; 32]>, Error> {
        let mut info = [0u8; 42];
        let (e, rest) = info.split_at_mut(8);
        e.copy_from_slice(&epoch.0.to_be_bytes());
        let (codes, request) = rest.split_at_mut(2);
        codes.copy_from_slice(&[kind.code(), SealingMethod::SevSnp.code()]);
        request.copy_from_slice(&SEALING_KEY_REQUEST.encode());
        let mut out = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(SALT), &self.key)
            .expand(&info, out.as_mut_slice())
            .map_err(|_| Error::WeakKey)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(non_snake_case, clippy::unwrap_used)]

    use std::cell::RefCell;

    use super::*;
    use crate::storage::{sealed, OperatorKeySealer};

    struct Fixed([u8; 32], RefCell<Vec<DerivedKeyRequest>>);

    impl DerivedKeySource for Fixed {
        fn derived_key(&self, r: &DerivedKeyRequest) -> Result<Zeroizing<[u8; 32]>, Error> {
            self.1.borrow_mut().push(*r);
            Ok(Zeroizing::new(self.0))
        }
    }

    #[test]
    fn new__should_ask_once_for_the_measurement_and_policy_bound_vcek_key() {
        let source = Fixed([4; 32], RefCell::default());
        let s = SevSnpSealer::new(&source).unwrap();
        let _ = s.file_key(Epoch(1), ShareKind::Bls).unwrap();
        let _ = s.file_key(Epoch(2), ShareKind::Secp).unwrap();
        let asked = source.1.borrow();
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].root_key, RootKey::Vcek);
        assert_eq!(asked[0].guest_field_select, 0b1001);
        assert_eq!(asked[0].vmpl, 0);
    }

    #[test]
    fn file_key__should_differ_per_epoch_and_kind_and_from_the_operator_key_sealer() {
        let s = SevSnpSealer::new(&Fixed([4; 32], RefCell::default())).unwrap();
        let a = *s.file_key(Epoch(1), ShareKind::Bls).unwrap();
        let b = *s.file_key(Epoch(2), ShareKind::Bls).unwrap();
        let c = *s.file_key(Epoch(1), ShareKind::Secp).unwrap();
        assert!(a != b && a != c && b != c);
        assert_ne!(a, [4; 32]);
        let op = OperatorKeySealer::from_key(&[4; 32]).unwrap();
        assert_ne!(a, *op.file_key(Epoch(1), ShareKind::Bls).unwrap());
        // And the header says which sealer wrote a file.
        let bytes = sealed::seal(&s, Epoch(1), ShareKind::Bls, b"x", [1; 12]).unwrap();
        assert_eq!(bytes[19], 2);
        let err = sealed::open(&op, Epoch(1), ShareKind::Bls, &bytes).unwrap_err();
        assert!(matches!(err, Error::SealingMismatch { .. }), "{err:?}");
    }

    #[test]
    fn new__should_refuse_an_all_zero_key() {
        let err = SevSnpSealer::new(&Fixed([0; 32], RefCell::default()))
            .err()
            .unwrap();
        assert!(matches!(err, Error::WeakKey), "{err:?}");
    }

    #[test]
    fn sev_guest_keys__should_refuse_a_missing_device() {
        let dir = tempfile::tempdir().unwrap();
        let err = SevGuestKeys::new(dir.path()).unwrap_err();
        assert!(
            matches!(&err, Error::SealingDeviceMissing { path } if path.ends_with("dev/sev-guest")),
            "{err:?}"
        );
    }
}
