//! SEV-SNP platform sealing (`storage.sealing = "sev-snp"`) against a fake secure
//! processor: an ioctl cannot be faked with a plain file, so the fake sits behind
//! `DerivedKeySource`, the capability the sealer takes. It derives keys the way the
//! firmware is specified to: from a per-chip root secret, mixing in the guest fields the
//! request selects (policy, measurement) and the VMPL, refusing a VMPL below the caller's.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Mutex;

use attestation_gate::attest::sev_guest::{
    DerivedKeyRequest, RootKey, GUEST_FIELD_MEASUREMENT, GUEST_FIELD_POLICY,
};
use attestation_gate::attest::AttestError;
use hkdf::Hkdf;
use kms_node::config::Config;
use kms_node::storage::sev_snp::SEALING_KEY_REQUEST;
use kms_node::storage::{
    sealer_from_config, DerivedKeySource, Epoch, Error, FileShareStore, OperatorKeySealer, Sealer,
    SealingMethod, SevGuestKeys, SevSnpSealer, ShareKind, StoreShare,
};
use sha2::Sha256;
use zeroize::Zeroizing;

/// A guest as the fake secure processor sees it.
struct FakeFirmware {
    chip_secret: [u8; 32],
    measurement: [u8; 48],
    policy: u64,
    /// The VMPL the guest code runs at.
    vmpl: u32,
    asked: Mutex<Vec<DerivedKeyRequest>>,
}

impl FakeFirmware {
    fn new(measurement: u8) -> Self {
        Self {
            chip_secret: [0xc1; 32],
            measurement: [measurement; 48],
            policy: 0x30000,
            vmpl: 0,
            asked: Mutex::default(),
        }
    }
}

impl DerivedKeySource for FakeFirmware {
    fn derived_key(&self, r: &DerivedKeyRequest) -> Result<Zeroizing<[u8; 32]>, Error> {
        self.asked.lock().unwrap().push(*r);
        let status = |status| Err(Error::PlatformKey(AttestError::SnpKeyStatus { status }));
        if r.vmpl < self.vmpl {
            return status(0x16); // INVALID_PARAM
        }
        if r.root_key != RootKey::Vcek {
            return status(0x27); // INVALID_KEY: no VMRK installed
        }
        let mut info = Vec::new();
        info.extend(r.guest_field_select.to_le_bytes());
        info.extend(r.vmpl.to_le_bytes());
        if r.guest_field_select & GUEST_FIELD_POLICY != 0 {
            info.extend(self.policy.to_le_bytes());
        }
        if r.guest_field_select & GUEST_FIELD_MEASUREMENT != 0 {
            info.extend(self.measurement);
        }
        let mut key = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(b"fake-amd-sp"), &self.chip_secret)
            .expand(&info, key.as_mut_slice())
            .unwrap();
        Ok(key)
    }
}

fn store(dir: &Path, firmware: &FakeFirmware) -> FileShareStore<SevSnpSealer> {
    FileShareStore::open(dir, SevSnpSealer::new(firmware).unwrap()).unwrap()
}

/// Seals two shares of epoch 3 as the guest `firmware` describes and promotes them.
fn seal_epoch(dir: &Path, firmware: &FakeFirmware) {
    let mut s = store(dir, firmware);
    s.put_pending(Epoch(3), ShareKind::Bls, b"bls share bytes")
        .unwrap();
    s.put_pending(Epoch(3), ShareKind::Secp, b"secp share bytes")
        .unwrap();
    s.promote(Epoch(3)).unwrap();
}

#[test]
fn sev_snp_sealer__should_round_trip_shares_across_a_restart_of_the_same_guest() {
    let dir = tempfile::tempdir().unwrap();
    seal_epoch(dir.path(), &FakeFirmware::new(1));
    // A new process of the same build on the same chip: a new sealer, the same key.
    let firmware = FakeFirmware::new(1);
    let reopened = store(dir.path(), &firmware);
    assert_eq!(
        reopened.load(Epoch(3), ShareKind::Bls).unwrap().as_slice(),
        b"bls share bytes"
    );
    assert_eq!(
        reopened.load(Epoch(3), ShareKind::Secp).unwrap().as_slice(),
        b"secp share bytes"
    );
    // The sealer asked the firmware once, for the VCEK-rooted key of the measurement
    // and the policy, at VMPL 0.
    let asked = firmware.asked.lock().unwrap();
    assert_eq!(asked.as_slice(), &[SEALING_KEY_REQUEST]);
    assert_eq!(
        SEALING_KEY_REQUEST.guest_field_select,
        GUEST_FIELD_POLICY | GUEST_FIELD_MEASUREMENT
    );
    // The file says how it was sealed.
    let bytes = std::fs::read(reopened.share_path(false, Epoch(3), ShareKind::Bls)).unwrap();
    assert_eq!(bytes[19], SealingMethod::SevSnp.code());
}

#[test]
fn sev_snp_sealer__should_not_unseal_in_a_guest_of_another_measurement_policy_or_chip() {
    let dir = tempfile::tempdir().unwrap();
    seal_epoch(dir.path(), &FakeFirmware::new(1));
    let other_build = FakeFirmware::new(2);
    let debug_policy = FakeFirmware {
        policy: 0xb0000,
        ..FakeFirmware::new(1)
    };
    let other_chip = FakeFirmware {
        chip_secret: [0xc2; 32],
        ..FakeFirmware::new(1)
    };
    for (what, firmware) in [
        ("measurement", other_build),
        ("policy", debug_policy),
        ("chip", other_chip),
    ] {
        let s = store(dir.path(), &firmware);
        for kind in ShareKind::ALL {
            let err = s.load(Epoch(3), kind).unwrap_err();
            assert!(matches!(err, Error::Decrypt), "{what} {kind}: {err:?}");
        }
    }
}

#[test]
fn sev_snp_sealer__should_not_open_operator_key_files_nor_the_reverse() {
    let dir = tempfile::tempdir().unwrap();
    let mut op =
        FileShareStore::open(dir.path(), OperatorKeySealer::from_key(&[9; 32]).unwrap()).unwrap();
    op.put_pending(Epoch(1), ShareKind::Bls, b"x").unwrap();
    let snp = store(dir.path(), &FakeFirmware::new(1));
    let err = snp.load_pending(Epoch(1), ShareKind::Bls).unwrap_err();
    assert!(
        matches!(
            err,
            Error::SealingMismatch {
                file: SealingMethod::OperatorKey,
                sealer: SealingMethod::SevSnp
            }
        ),
        "{err:?}"
    );
    seal_epoch(dir.path(), &FakeFirmware::new(1));
    let err = op.load(Epoch(3), ShareKind::Secp).unwrap_err();
    assert!(matches!(err, Error::SealingMismatch { .. }), "{err:?}");
}

#[test]
fn sev_snp_sealer__should_report_the_firmware_refusing_the_request() {
    // Guest code at VMPL 1 (under an SVSM) may not ask for a VMPL-0 key.
    let firmware = FakeFirmware {
        vmpl: 1,
        ..FakeFirmware::new(1)
    };
    let err = SevSnpSealer::new(&firmware).err().unwrap();
    assert!(
        matches!(
            err,
            Error::PlatformKey(AttestError::SnpKeyStatus { status: 0x16 })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("INVALID_PARAM"), "{err}");
}

fn sev_snp_config(device_root: &Path) -> Config {
    let text = format!(
        "[node]\noperator_address = \"0x{}\"\n[chain]\nrpc_url = \"http://127.0.0.1:8545\"\ncontract = \"0x{}\"\n[attestation]\nattester = \"sev-guest\"\ndevice_root = {:?}\n[storage]\nsealing = \"sev-snp\"\n",
        "22".repeat(20),
        "11".repeat(20),
        device_root.to_str().unwrap()
    );
    Config::parse_with_env(&text, Path::new("node.toml"), []).unwrap()
}

#[test]
fn sealer_from_config__should_refuse_sev_snp_sealing_without_the_device() {
    let root = tempfile::tempdir().unwrap();
    let err = sealer_from_config(&sev_snp_config(root.path()))
        .err()
        .unwrap();
    let device = root.path().join("dev/sev-guest");
    assert!(
        matches!(&err, Error::SealingDeviceMissing { path } if *path == device),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(device.to_str().unwrap()), "{message}");
    assert!(message.contains("operator-key"), "{message}");
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn sealer_from_config__should_refuse_a_device_that_is_not_the_sev_guest_driver() {
    // A regular file where the device should be: the real ioctl path runs and the
    // kernel answers ENOTTY.
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("dev")).unwrap();
    std::fs::write(root.path().join("dev/sev-guest"), b"").unwrap();
    let keys = SevGuestKeys::new(root.path()).unwrap();
    assert_eq!(keys.device(), root.path().join("dev/sev-guest"));
    let err = sealer_from_config(&sev_snp_config(root.path()))
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            Error::PlatformKey(AttestError::NotATeeDevice {
                request: "SNP_GET_DERIVED_KEY",
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn sev_snp_sealer__should_be_usable_as_the_boxed_sealer_the_daemon_holds() {
    let dir = tempfile::tempdir().unwrap();
    let boxed: Box<dyn Sealer + Send + Sync> =
        Box::new(SevSnpSealer::new(&FakeFirmware::new(1)).unwrap());
    let mut s = FileShareStore::open(dir.path(), boxed).unwrap();
    s.put_pending(Epoch(5), ShareKind::Bls, b"b").unwrap();
    assert_eq!(
        s.load_pending(Epoch(5), ShareKind::Bls).unwrap().as_slice(),
        b"b"
    );
}
