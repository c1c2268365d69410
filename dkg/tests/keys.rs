#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use dkg::bls::BlsKeyShare;
use dkg::insecure_dealer::{deal_bls, deal_secp};
use dkg::keys::ImportError;
use dkg::secp::SecpKeyShare;
use group::Group;
use rand::SeedableRng;

#[test]
fn deal_bls__should_give_consistent_shares_that_roundtrip_through_sealing() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let (public, shares) = deal_bls(3, 5, &mut rng).unwrap();
    public.check_consistent().unwrap();
    assert_eq!(public.threshold(), 3);
    let h = blstrs::G2Projective::random(&mut rng);
    for s in &shares {
        let sealed = s.export_for_sealing();
        let back = BlsKeyShare::import_from_sealing(&sealed).unwrap();
        assert_eq!(back.index(), s.index());
        assert_eq!(back.mul_g2(&h), s.mul_g2(&h));
        assert_eq!(back.public(), &public);
    }
    // A BLS share does not import as a secp share.
    let sealed = shares[0].export_for_sealing();
    assert!(matches!(
        SecpKeyShare::import_from_sealing(&sealed),
        Err(ImportError::WrongSuite { .. })
    ));
}

#[test]
fn deal_secp__should_sign_with_frost() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
    let (public, shares) = deal_secp(2, 3, &mut rng).unwrap();
    public.check_consistent().unwrap();
    let signers: Vec<&SecpKeyShare> = shares.iter().take(2).collect();
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for s in &signers {
        let (n, c) = s.commit(&mut rng);
        nonces.insert(s.identifier(), n);
        commitments.insert(s.identifier(), c);
    }
    let msg = b"keynet";
    let pkg = frost_secp256k1_tr::SigningPackage::new(commitments, msg);
    let mut sig_shares = BTreeMap::new();
    for s in &signers {
        let id = s.identifier();
        let share = s.sign(&pkg, &nonces[&id]).unwrap();
        sig_shares.insert(id, share);
    }
    let sig = frost_secp256k1_tr::aggregate(&pkg, &sig_shares, public.package()).unwrap();
    public.group_key().verify(msg, &sig).unwrap();
    let sealed = shares[2].export_for_sealing();
    let back = SecpKeyShare::import_from_sealing(&sealed).unwrap();
    assert_eq!(*back.export_for_sealing(), *sealed);
}

#[test]
fn import_from_sealing__should_reject_tampered_secret() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
    let (_, shares) = deal_bls(2, 2, &mut rng).unwrap();
    let mut sealed = shares[0].export_for_sealing().to_vec();
    // The secret is a 32-byte CBOR byte string (0x58 0x20 prefix); flip a byte of it.
    let pos = sealed.windows(2).position(|w| w == [0x58, 0x20]).unwrap() + 5;
    sealed[pos] ^= 1;
    assert!(BlsKeyShare::import_from_sealing(&sealed).is_err());
}
