//! Fixed vectors for the DESIGN §4.1 and §4.3 derivations: the output of
//! `cargo run -p tss --example vectors -- --n 3 --t 2 --seed 1`, checked independently by
//! `shared/tools/check_vectors.py` (py_ecc) when it was committed. This test recomputes
//! every derived value from the recorded public inputs, so a change of the message
//! encoding, DST, Lagrange combination, HKDF parameters or tweak breaks it.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use serde_json::Value;
use tss::{interpolate, AppSigningKey, Identity, PartyIndex, PrfInput, PrfShare};

fn must_hex<const N: usize>(v: &Value) -> [u8; N] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn must_load() -> Value {
    let path = format!(
        "{}/tests/vectors/design4_n3_t2_seed1.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn derive__should_reproduce_recorded_sigma_and_key() {
    let v = must_load();
    let id = Identity::new(must_hex::<32>(&v["app_id"]), v["path"].as_str().unwrap()).unwrap();
    let input = PrfInput::new(id.clone());
    let group_key =
        blstrs::G1Affine::from_compressed(&must_hex::<48>(&v["bls"]["group_pk"])).unwrap();
    let shares: Vec<(PartyIndex, PrfShare)> = v["bls"]["signature_shares"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(i, s)| {
            (
                PartyIndex::new(i.parse().unwrap()).unwrap(),
                PrfShare::from_bytes(&must_hex::<96>(s)).unwrap(),
            )
        })
        .collect();
    let sigma = interpolate(&group_key, &input, &shares).unwrap();
    assert_eq!(
        hex::encode(sigma.to_bytes().as_ref()),
        v["bls"]["sigma"].as_str().unwrap()
    );
    assert_eq!(
        hex::encode(sigma.derive_key(&id).expose_secret()),
        v["bls"]["key"].as_str().unwrap()
    );
    // After resharing, the same sigma and key.
    assert_eq!(v["reshare"]["sigma"], v["bls"]["sigma"]);
    assert_eq!(v["reshare"]["key"], v["bls"]["key"]);
}

#[test]
fn sign__should_reproduce_recorded_app_key_and_verify_signatures() {
    let v = must_load();
    let id = Identity::new(must_hex::<32>(&v["app_id"]), v["path"].as_str().unwrap()).unwrap();
    let p = frost_secp256k1_tr::VerifyingKey::deserialize(&must_hex::<33>(&v["frost"]["group_pk"]))
        .unwrap();
    let app = AppSigningKey::new(&p, &id).unwrap();
    assert_eq!(
        hex::encode(app.xonly().unwrap()),
        v["frost"]["app_xonly"].as_str().unwrap()
    );
    let key = k256::schnorr::VerifyingKey::from_bytes(&app.xonly().unwrap()).unwrap();
    let message = hex::decode(v["frost"]["message"].as_str().unwrap()).unwrap();
    for sig in [&v["frost"]["signature"], &v["reshare"]["signature"]] {
        let sig = k256::schnorr::Signature::try_from(&must_hex::<64>(sig)[..]).unwrap();
        assert!(key.verify_raw(&message, &sig).is_ok());
    }
}
