//! Bytes of a DCAP quote that no signature covers: genuine quotes must not stay valid
//! when they change (src/dcap/canonical.rs). Before that check, 946 of the 4,374
//! single-bit flips past the TDX v4 quote body, 872 for SGX v3 and 3,941 for the
//! zkdcap TDX quote still verified.

#![cfg(all(feature = "tdx", feature = "sgx"))]
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/samples.rs"]
mod samples;

use attestation_gate::{Error, Platform, Verifiers};
use proptest::prelude::*;
use samples::Sample;

fn quote(s: &Sample) -> Vec<u8> {
    attestation_gate::detect::detect(&s.evidence_bytes())
        .unwrap()
        .bytes
}

fn verify(s: &Sample, q: &[u8]) -> Result<(), Error> {
    Verifiers::new()
        .verify_any(q, &s.collateral(), s.t)
        .map(|_| ())
}

/// Where the signature data starts (after the u32 length).
fn sig_data(s: &Sample) -> usize {
    match s.platform {
        Platform::Sgx => 48 + 384 + 4,
        _ => 48 + 584 + 4,
    }
}

fn pem_start(q: &[u8]) -> usize {
    q.windows(10).position(|w| w == b"-----BEGIN").unwrap()
}

fn assert_refused(s: &Sample, q: &[u8], why: &str) {
    let e = verify(s, q).expect_err(why);
    assert!(
        matches!(
            e,
            Error::NonCanonical { .. } | Error::Malformed { .. } | Error::BadSignature { .. }
        ),
        "{}: {why}: {e:?}",
        s.name
    );
}

fn structure__should_be_refused_when_changed(s: &Sample) {
    let q = quote(s);
    verify(s, &q).unwrap();
    let sd = sig_data(s);
    // The signature data length, one more (it would take in a padding byte or fail).
    let mut m = q.clone();
    m[sd - 4] ^= 1;
    assert_refused(s, &m, "signature data length");
    // A newline of the PCK chain turned into another whitespace character.
    let nl = pem_start(&q) + q[pem_start(&q)..].iter().position(|b| *b == b'\n').unwrap();
    let mut m = q.clone();
    m[nl] = 0x0b;
    assert!(matches!(
        verify(s, &m),
        Err(Error::NonCanonical { .. } | Error::Malformed { .. })
    ));
    // A base64 letter of the root copy at the end of the chain.
    let last = q.windows(10).rposition(|w| w == b"-----BEGIN").unwrap();
    let body = last + 28 + 40;
    let mut m = q.clone();
    m[body] = if q[body] == b'A' { b'B' } else { b'A' };
    assert_refused(s, &m, "root copy");
    // A non-zero byte after the signature data.
    let mut m = q.clone();
    m.push(1);
    let e = verify(s, &m).unwrap_err();
    assert!(
        matches!(e, Error::NonCanonical { offset, .. } if offset == q.len()),
        "{e:?}"
    );
    assert_eq!(e.kind(), "non_canonical");
}

#[test]
fn tdx_v4__structure_should_be_refused_when_changed() {
    structure__should_be_refused_when_changed(&samples::TDX_V4_UPTODATE);
    // v4/v5: the outer certification data type (6 at offset 764).
    let q = quote(&samples::TDX_V4_UPTODATE);
    assert_eq!(q[764], 6);
    for (at, mask) in [(764, 1), (765, 1)] {
        let mut m = q.clone();
        m[at] ^= mask;
        assert_refused(&samples::TDX_V4_UPTODATE, &m, "certification data type");
    }
}

#[test]
fn sgx_v3__structure_should_be_refused_when_changed() {
    structure__should_be_refused_when_changed(&samples::SGX_V3);
}

#[test]
fn zkdcap_tdx__structure_should_be_refused_when_changed() {
    structure__should_be_refused_when_changed(&samples::TDX_V4_OUTOFDATE);
}

/// Zero padding after the signature data is what real quotes carry (the dcap-qvl and
/// zkdcap samples hold 70 and 3,065 zero bytes), so it stays accepted.
#[test]
fn zero_padding__should_stay_accepted() {
    for s in [&samples::TDX_V4_UPTODATE, &samples::SGX_V3] {
        let mut q = quote(s);
        q.extend_from_slice(&[0; 16]);
        verify(s, &q).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    /// Any change of any byte past the quote body is refused.
    #[test]
    fn unsigned_bytes__should_not_change_without_refusal(pick in any::<prop::sample::Index>(), mask in 1u8..=255, sgx in any::<bool>()) {
        let s = if sgx { &samples::SGX_V3 } else { &samples::TDX_V4_UPTODATE };
        let q = quote(s);
        let start = sig_data(s) - 4;
        let at = start + pick.index(q.len() - start);
        let mut m = q.clone();
        m[at] ^= mask;
        prop_assert!(verify(s, &m).is_err(), "{}: byte {at} ^ {mask:#x} accepted", s.name);
    }
}

fn pem_chain(q: &[u8]) -> &[u8] {
    &q[pem_start(q)..]
}

fn with_pck_chain(s: &Sample, chain: &str) -> attestation_gate::Collateral {
    let c = s.collateral();
    let mut json: serde_json::Value =
        serde_json::from_slice(c.get("collateral.json").unwrap()).unwrap();
    json["pck_certificate_chain"] = serde_json::Value::String(chain.to_owned());
    c.with("collateral.json", serde_json::to_vec(&json).unwrap())
}

/// dcap-qvl prefers a PCK chain given in the collateral to the quote's own. The quote's
/// chain must then still be the same certificates, else it is unverified bytes: here the
/// SGX quote's chain is swapped for the TDX sample's (canonical, ends at the root), and
/// the SGX chain is supplied in the collateral.
#[test]
fn collateral_pck_chain__should_equal_the_quotes_own() {
    let s = &samples::SGX_V3;
    let q = quote(s);
    // v3 quote ending in its chain (no padding): swap it and fix both sizes.
    let own = std::str::from_utf8(pem_chain(&q)).unwrap().to_owned();
    let tdx = quote(&samples::TDX_V4_UPTODATE);
    let tdx_end = tdx.len() - 70; // the TDX sample's zero padding
    let other = &tdx[pem_start(&tdx)..tdx_end];
    assert_ne!(own.as_bytes(), other);
    // The same chain in the collateral (any PEM layout) is accepted.
    verify_with(s, &q, &with_pck_chain(s, own.trim_end_matches('\0'))).unwrap();
    let at = pem_start(&q);
    let mut m = q[..at].to_vec();
    m[at - 4..at].copy_from_slice(&u32::try_from(other.len()).unwrap().to_le_bytes());
    m.extend_from_slice(other);
    let sig_len = u32::try_from(m.len() - 436).unwrap().to_le_bytes();
    m[432..436].copy_from_slice(&sig_len);
    let e = verify_with(s, &m, &with_pck_chain(s, &own)).unwrap_err();
    assert!(matches!(e, Error::CollateralMismatch { .. }), "{e:?}");
}

fn verify_with(s: &Sample, q: &[u8], c: &attestation_gate::Collateral) -> Result<(), Error> {
    Verifiers::new().verify_any(q, c, s.t).map(|_| ())
}
