//! What an application computes from the network's public keys alone (DESIGN §4):
//! its signing public key `xonly(P_app)` (§4.3), sealing to `(app_id, path)` (§4.2),
//! opening a sealed box with `sigma`, and checking a BIP-340 signature.

use blstrs::G1Affine;
use frost_secp256k1_tr::VerifyingKey;
use governance_contract::EpochInfo;
use rand::rngs::OsRng;
use tss::{AppSigningKey, Identity, Sigma};

use super::error::AppError;
use crate::sdk::error::{Error, Result};

/// `(app_id, path)` as DESIGN §4.1 defines it (`bad_input` for a path outside
/// 1..=255 bytes).
pub fn identity(app_id: [u8; 32], path: &str) -> Result<Identity> {
    Identity::new(app_id, path)
        .map_err(|e| Error::BadInput(format!("--path {path:?}: {e} (DESIGN §4.1)")))
}

/// The network's group keys as the chain records them for one epoch.
#[derive(Debug, Clone)]
pub struct NetworkKeys {
    /// The epoch the keys were read from (both keys survive every reshare).
    pub epoch: u64,
    /// Its threshold `t`.
    pub threshold: u16,
    bls: G1Affine,
    secp: VerifyingKey,
    secp_bytes: [u8; 33],
}

impl NetworkKeys {
    /// The keys of `epoch` (`no_active_epoch` before genesis activates,
    /// `bad_chain_record` if a key does not decode).
    pub fn from_epoch(epoch: &EpochInfo) -> Result<Self> {
        match (&epoch.bls_group_pk, &epoch.secp_group_pk, epoch.activated_at) {
            (Some(bls), Some(secp), Some(_)) => {
                Self::from_bytes(epoch.epoch, epoch.threshold, bls, secp)
            }
            _ => Err(AppError::NoActiveEpoch(format!(
                "the chain has no active epoch with group keys yet (last epoch {}); wait for genesis to finish",
                epoch.epoch
            ))
            .into()),
        }
    }

    /// Keys from their encodings: `PK` compressed G1 (48 bytes), `P` SEC1 compressed
    /// (33 bytes).
    pub fn from_bytes(epoch: u64, threshold: u16, bls: &[u8; 48], secp: &[u8; 33]) -> Result<Self> {
        let bls_point = Option::<G1Affine>::from(G1Affine::from_compressed(bls))
            .filter(|p| !bool::from(group::prime::PrimeCurveAffine::is_identity(p)))
            .ok_or_else(|| {
                AppError::BadChainRecord(format!(
                    "epoch {epoch}: the BLS group key on chain is not a G1 point"
                ))
            })?;
        let secp_key = VerifyingKey::deserialize(secp).map_err(|_| {
            AppError::BadChainRecord(format!(
                "epoch {epoch}: the secp256k1 group key on chain is not a curve point"
            ))
        })?;
        Ok(Self {
            epoch,
            threshold,
            bls: bls_point,
            secp: secp_key,
            secp_bytes: *secp,
        })
    }

    /// `PK`, the BLS12-381 group key.
    pub fn bls_group_key(&self) -> &G1Affine {
        &self.bls
    }

    /// `PK` compressed (48 bytes).
    pub fn bls_group_key_bytes(&self) -> [u8; 48] {
        self.bls.to_compressed()
    }

    /// `P`, the secp256k1 group key, SEC1 compressed (33 bytes).
    pub fn secp_group_key_bytes(&self) -> [u8; 33] {
        self.secp_bytes
    }

    /// The application's signing key `P_app = P + tweak·G` (DESIGN §4.3).
    pub fn app_signing_key(&self, id: &Identity) -> Result<AppSigningKey> {
        AppSigningKey::new(&self.secp, id)
            .map_err(|e| Error::Internal(format!("cannot tweak the group key: {e}")))
    }

    /// `xonly(P_app)`: the application's BIP-340 public key.
    pub fn app_xonly(&self, id: &Identity) -> Result<[u8; 32]> {
        self.app_signing_key(id)?
            .xonly()
            .map_err(|e| Error::Internal(format!("cannot encode the application key: {e}")))
    }

    /// Seals `plaintext` to `id` (offline: only `PK` is needed).
    pub fn seal(&self, id: &Identity, plaintext: &[u8]) -> Result<Vec<u8>> {
        tss::seal::seal(&self.bls, id, plaintext, &mut OsRng)
            .map_err(|e| Error::Internal(format!("sealing failed: {e}")))
    }
}

/// Cheap checks of a sealed box before any network round trip: its version byte and
/// minimum length (`bad_sealed_box`).
pub fn check_sealed_box(sealed: &[u8]) -> Result<()> {
    match sealed.first() {
        None => Err(AppError::BadSealedBox("the sealed file is empty".into()).into()),
        Some(v) if *v != tss::seal::VERSION => Err(AppError::BadSealedBox(format!(
            "not a keynet sealed box (version byte {v}, expected {})",
            tss::seal::VERSION
        ))
        .into()),
        Some(_) if sealed.len() < tss::seal::OVERHEAD => Err(AppError::BadSealedBox(format!(
            "a sealed box has at least {} bytes, this one {}",
            tss::seal::OVERHEAD,
            sealed.len()
        ))
        .into()),
        Some(_) => Ok(()),
    }
}

/// Opens a sealed box with `sigma` for `id` (`unseal_failed` for a box sealed to
/// another application or path, or tampered with; `bad_sealed_box` if malformed).
pub fn unseal(sigma: &Sigma, id: &Identity, sealed: &[u8]) -> Result<Vec<u8>> {
    check_sealed_box(sealed)?;
    tss::seal::unseal(sigma, id, sealed).map_err(|e| match e {
        tss::Error::DecryptionFailed => AppError::UnsealFailed(format!(
            "the box does not open for path {:?} of this application: sealed to another application or path, or modified",
            id.path()
        ))
        .into(),
        other => AppError::BadSealedBox(format!("not a valid sealed box: {other}")).into(),
    })
}

/// Checks a BIP-340 signature `sig` of `message` under `xonly` with an implementation
/// independent of the signers' (k256), `bad_signature` otherwise.
pub fn verify_bip340(xonly: &[u8; 32], message: &[u8], sig: &[u8; 64]) -> Result<()> {
    let bad = |why: &str| -> Error {
        AppError::BadSignature(format!("the nodes' signature does not verify: {why}")).into()
    };
    let key = k256::schnorr::VerifyingKey::from_bytes(xonly).map_err(|_| bad("bad key"))?;
    let sig = k256::schnorr::Signature::try_from(&sig[..]).map_err(|_| bad("malformed"))?;
    key.verify_raw(message, &sig)
        .map_err(|_| bad("not under xonly(P_app)"))
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use std::collections::BTreeMap;

    use dkg::insecure_dealer::{deal_bls, deal_secp};
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use tss::{combine, make_share, PrfInput};

    use super::*;

    fn must_hex<const N: usize>(v: &serde_json::Value) -> [u8; N] {
        hex::decode(v.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    }

    /// A dealt committee (t = 2, n = 3): its keys and `sigma` for `id`.
    fn committee(seed: u64, ids: &[&Identity]) -> (NetworkKeys, Vec<Sigma>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (bls, shares) = deal_bls(2, 3, &mut rng).unwrap();
        let (secp, _) = deal_secp(2, 3, &mut rng).unwrap();
        let secp_bytes: [u8; 33] = tss::tweak::compressed(secp.package().verifying_key()).unwrap();
        let keys =
            NetworkKeys::from_bytes(1, 2, &bls.group_key().to_compressed(), &secp_bytes).unwrap();
        let sigmas = ids
            .iter()
            .map(|id| {
                let input = PrfInput::new((*id).clone());
                let s: BTreeMap<_, _> = shares[1..]
                    .iter()
                    .map(|k| (k.index(), make_share(k, &input)))
                    .collect();
                combine(&bls, &input, &s).unwrap().sigma
            })
            .collect();
        (keys, sigmas)
    }

    #[test]
    fn app_xonly__should_match_the_recorded_design_vector() {
        let v: serde_json::Value = serde_json::from_str(include_str!(
            "../../../../tss/tests/vectors/design4_n3_t2_seed1.json"
        ))
        .unwrap();
        let id = identity(must_hex::<32>(&v["app_id"]), v["path"].as_str().unwrap()).unwrap();
        let keys = NetworkKeys::from_bytes(
            1,
            2,
            &must_hex::<48>(&v["bls"]["group_pk"]),
            &must_hex::<33>(&v["frost"]["group_pk"]),
        )
        .unwrap();
        assert_eq!(
            hex::encode(keys.app_xonly(&id).unwrap()),
            v["frost"]["app_xonly"].as_str().unwrap()
        );
        let message = hex::decode(v["frost"]["message"].as_str().unwrap()).unwrap();
        let sig = must_hex::<64>(&v["frost"]["signature"]);
        verify_bip340(&keys.app_xonly(&id).unwrap(), &message, &sig).unwrap();
        let mut bad = sig;
        bad[63] ^= 1;
        let e = verify_bip340(&keys.app_xonly(&id).unwrap(), &message, &bad).unwrap_err();
        assert_eq!(e.kind(), "bad_signature");
        // Another path, another key.
        let other = identity(*id.app_id(), "other").unwrap();
        assert_ne!(
            keys.app_xonly(&other).unwrap(),
            keys.app_xonly(&id).unwrap()
        );
    }

    #[test]
    fn seal__should_open_with_sigma_of_its_identity_only() {
        let disk = identity([3; 32], "disk").unwrap();
        let wallet = identity([3; 32], "wallet").unwrap();
        let (keys, sigmas) = committee(1, &[&disk, &wallet]);
        let sealed = keys.seal(&disk, b"the disk key").unwrap();
        assert_eq!(unseal(&sigmas[0], &disk, &sealed).unwrap(), b"the disk key");
        let e = unseal(&sigmas[1], &wallet, &sealed).unwrap_err();
        assert_eq!(e.kind(), "unseal_failed");
        let e = unseal(&sigmas[0], &wallet, &sealed).unwrap_err();
        assert_eq!(e.kind(), "unseal_failed");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(
            unseal(&sigmas[0], &disk, &tampered).unwrap_err().kind(),
            "unseal_failed"
        );
    }

    #[test]
    fn check_sealed_box__should_refuse_empty_short_and_other_versions() {
        for bad in [vec![], vec![2u8; 10], {
            let mut v = vec![1u8; 100];
            v[0] = 1;
            v
        }] {
            assert_eq!(check_sealed_box(&bad).unwrap_err().kind(), "bad_sealed_box");
        }
        let disk = identity([3; 32], "disk").unwrap();
        let (keys, sigmas) = committee(2, &[&disk]);
        let mut bad_point = keys.seal(&disk, b"x").unwrap();
        bad_point[1..49].fill(0xff);
        assert_eq!(
            unseal(&sigmas[0], &disk, &bad_point).unwrap_err().kind(),
            "bad_sealed_box"
        );
    }

    #[test]
    fn network_keys__should_refuse_points_off_the_curves_and_missing_epochs() {
        let e = NetworkKeys::from_bytes(1, 2, &[0xff; 48], &[2; 33]).unwrap_err();
        assert_eq!(e.kind(), "bad_chain_record");
        let mut epoch = governance_contract::EpochInfo {
            epoch: 0,
            status: governance_contract::EpochStatus::None,
            threshold: 0,
            committee: vec![],
            created_at: 0,
            activated_at: None,
            transcript_hash: None,
            bls_group_pk: None,
            secp_group_pk: None,
            confirmations: 0,
            deadline: 0,
            not_confirmed: vec![],
        };
        assert_eq!(
            NetworkKeys::from_epoch(&epoch).unwrap_err().kind(),
            "no_active_epoch"
        );
        epoch.bls_group_pk = Some([0xff; 48]);
        epoch.secp_group_pk = Some([2; 33]);
        epoch.activated_at = Some(1);
        assert_eq!(
            NetworkKeys::from_epoch(&epoch).unwrap_err().kind(),
            "bad_chain_record"
        );
    }

    #[test]
    fn identity__should_refuse_an_empty_or_long_path() {
        assert_eq!(identity([0; 32], "").unwrap_err().kind(), "bad_input");
        assert_eq!(
            identity([0; 32], &"a".repeat(256)).unwrap_err().kind(),
            "bad_input"
        );
        assert!(identity([0; 32], &"a".repeat(255)).is_ok());
    }
}
