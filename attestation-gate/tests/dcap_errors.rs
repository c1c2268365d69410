//! dcap-qvl's failures reach typed kinds (src/dcap/errors.rs): real TDX and SGX
//! samples, mutated to reach one failure each, give the kind and `what` the mapping
//! promises, and never `Error::Unclassified`.

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

use attestation_gate::dcap::verify_with_collateral;
use attestation_gate::{Error, UnixTime};
use dcap_qvl::QuoteCollateralV3;
use samples::Sample;

fn quote(s: &Sample) -> Vec<u8> {
    attestation_gate::detect::detect(&s.evidence_bytes())
        .unwrap()
        .bytes
}

fn collateral(s: &Sample) -> QuoteCollateralV3 {
    serde_json::from_slice(&samples::must_read(&format!("{}/collateral.json", s.dir))).unwrap()
}

/// The PEM blocks of a chain.
fn pem_blocks(chain: &str) -> Vec<String> {
    chain
        .split_inclusive("-----END CERTIFICATE-----")
        .filter(|b| b.contains("BEGIN"))
        .map(|b| b.trim().to_owned())
        .collect()
}

/// Verifies `s`'s quote after `mutate_quote` with its collateral after
/// `mutate_collateral`, at `now`, expecting a failure.
fn must_fail_at(
    s: &Sample,
    now: UnixTime,
    mutate_quote: impl FnOnce(&mut Vec<u8>),
    mutate_collateral: impl FnOnce(&mut QuoteCollateralV3),
) -> Error {
    let mut q = quote(s);
    mutate_quote(&mut q);
    let mut c = collateral(s);
    mutate_collateral(&mut c);
    let e = verify_with_collateral(&q, c, now).expect_err(s.name);
    assert!(!matches!(e, Error::Unclassified(_)), "{}: {e:?}", s.name);
    e
}

fn must_fail(
    s: &Sample,
    mutate_quote: impl FnOnce(&mut Vec<u8>),
    mutate_collateral: impl FnOnce(&mut QuoteCollateralV3),
) -> Error {
    must_fail_at(s, s.t, mutate_quote, mutate_collateral)
}

fn quote_only(s: &Sample, f: impl FnOnce(&mut Vec<u8>)) -> Error {
    must_fail(s, f, |_| {})
}

fn collateral_only(s: &Sample, f: impl FnOnce(&mut QuoteCollateralV3)) -> Error {
    must_fail(s, |_| {}, f)
}

macro_rules! assert_kind {
    ($e:expr, $pat:pat $(if $guard:expr)?) => {{
        let e = $e;
        assert!(matches!(e, $pat $(if $guard)?), "{e:?}");
    }};
}

const TDX: &Sample = &samples::TDX_V4_UPTODATE;
const SGX: &Sample = &samples::SGX_V3;

// ---- quote header and body -------------------------------------------------------------

#[test]
fn truncated_or_unknown_version_quote__should_be_malformed_quote() {
    for s in [TDX, SGX] {
        assert_kind!(
            quote_only(s, |q| q.truncate(100)),
            Error::Malformed { what: "DCAP quote" }
        );
        assert_kind!(
            quote_only(s, |q| q[0] = 7),
            Error::Malformed { what: "DCAP quote" }
        );
        // TEE type neither SGX (0) nor TDX (0x81).
        assert_kind!(
            quote_only(s, |q| q[4] = 0x55),
            Error::Malformed { what: "DCAP quote" }
        );
    }
}

#[test]
fn unknown_qe_vendor__should_be_malformed_vendor_id() {
    for s in [TDX, SGX] {
        assert_kind!(
            quote_only(s, |q| q[12] ^= 1),
            Error::Malformed {
                what: "DCAP quote QE vendor id"
            }
        );
    }
}

#[test]
fn unknown_attestation_key_type__should_be_malformed_key_type() {
    for s in [TDX, SGX] {
        assert_kind!(
            quote_only(s, |q| q[2] = 3),
            Error::Malformed {
                what: "DCAP attestation key type"
            }
        );
    }
}

// ---- collateral parsing ------------------------------------------------------------------

#[test]
fn unparsable_tcb_info_or_qe_identity__should_be_malformed() {
    for s in [TDX, SGX] {
        assert_kind!(
            collateral_only(s, |c| c.tcb_info = "not json".into()),
            Error::Malformed { what: "TCB info" }
        );
        assert_kind!(
            collateral_only(s, |c| c.qe_identity = "{}".into()),
            Error::Malformed {
                what: "QE identity"
            }
        );
    }
}

#[test]
fn short_collateral_signature__should_be_malformed_signature() {
    let e = collateral_only(TDX, |c| c.tcb_info_signature.truncate(10));
    assert_kind!(e, Error::Malformed { what } if what.starts_with("ECDSA signature"));
    let e = collateral_only(TDX, |c| c.qe_identity_signature.truncate(31));
    assert_kind!(e, Error::Malformed { what } if what.starts_with("ECDSA signature"));
}

#[test]
fn empty_or_unparsable_issuer_chain__should_be_missing_or_malformed() {
    assert_kind!(
        collateral_only(TDX, |c| c.tcb_info_issuer_chain = String::new()),
        Error::MissingCollateral {
            what: "TCB info issuer chain"
        }
    );
    assert_kind!(
        collateral_only(TDX, |c| c.qe_identity_issuer_chain = String::new()),
        Error::MissingCollateral {
            what: "QE identity issuer chain"
        }
    );
    assert_kind!(
        collateral_only(TDX, |c| {
            c.tcb_info_issuer_chain =
                "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".into()
        }),
        Error::Malformed {
            what: "TCB info or QE identity issuer chain (PEM)"
        }
    );
}

#[test]
fn pck_chain_in_collateral__should_be_parsed_and_required_non_empty() {
    assert_kind!(
        collateral_only(TDX, |c| c.pck_certificate_chain = Some(String::new())),
        Error::MissingCollateral {
            what: "PCK certificate chain"
        }
    );
    assert_kind!(
        collateral_only(TDX, |c| {
            c.pck_certificate_chain =
                Some("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".into())
        }),
        Error::Malformed {
            what: "PCK certificate chain (PEM)"
        }
    );
}

// ---- chains and CRLs -------------------------------------------------------------------

#[test]
fn root_crl_signed_by_another_key__should_be_bad_signature_of_the_root_crl() {
    assert_kind!(
        collateral_only(TDX, |c| c.root_ca_crl = c.pck_crl.clone()),
        Error::BadSignature {
            what: "root CA CRL"
        }
    );
}

#[test]
fn unparsable_crls__should_be_malformed_with_their_name() {
    assert_kind!(
        collateral_only(TDX, |c| c.root_ca_crl = vec![0x30, 0x03, 1, 2, 3]),
        Error::Malformed {
            what: "root CA CRL"
        }
    );
    assert_kind!(
        collateral_only(TDX, |c| c.pck_crl = vec![0x30, 0x03, 1, 2, 3]),
        Error::Malformed { what: "PCK CRL" }
    );
}

/// With the root CA CRL in place of the PCK CRL, nothing covers the PCK certificate.
#[test]
fn pck_crl_missing__should_be_untrusted_chain_without_revocation_status() {
    assert_kind!(
        collateral_only(TDX, |c| c.pck_crl = c.root_ca_crl.clone()),
        Error::UntrustedRoot {
            what: "DCAP certificate chain (no CRL covers a certificate)"
        }
    );
}

/// A CA certificate offered as the QE identity signer (the PCK CA, from the PCK CRL
/// issuer chain) is refused by the path builder.
#[test]
fn ca_as_signing_certificate__should_be_untrusted_chain() {
    assert_kind!(
        collateral_only(TDX, |c| c.qe_identity_issuer_chain =
            c.pck_crl_issuer_chain.clone()),
        Error::UntrustedRoot {
            what: "DCAP certificate chain"
        }
    );
}

#[test]
fn too_many_intermediates__should_be_malformed_chain() {
    let e = collateral_only(TDX, |c| {
        let root = pem_blocks(&c.tcb_info_issuer_chain).pop().unwrap();
        for _ in 0..5 {
            c.tcb_info_issuer_chain.push('\n');
            c.tcb_info_issuer_chain.push_str(&root);
        }
    });
    assert_kind!(
        e,
        Error::Malformed {
            what: "DCAP certificate chain (more than 4 intermediates)"
        }
    );
}

/// A byte flipped in the signature of the TCB signing certificate.
#[test]
fn flipped_certificate_signature__should_be_bad_signature_on_the_chain() {
    use base64::Engine;
    let e = collateral_only(TDX, |c| {
        let mut blocks = pem_blocks(&c.tcb_info_issuer_chain);
        let body: String = blocks[0]
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let mut der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        let n = der.len();
        der[n - 5] ^= 1;
        blocks[0] = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
            base64::engine::general_purpose::STANDARD.encode(der)
        );
        c.tcb_info_issuer_chain = blocks.join("\n");
    });
    assert_kind!(
        e,
        Error::BadSignature {
            what: "certificate on a DCAP chain"
        }
    );
}

// ---- collateral of another platform --------------------------------------------------

#[test]
fn collateral_of_another_tee_type__should_be_collateral_mismatch() {
    let sgx_collateral = collateral(SGX);
    let e = verify_with_collateral(&quote(TDX), sgx_collateral, SGX.t).unwrap_err();
    assert_kind!(
        e,
        Error::CollateralMismatch {
            what: "QE identity id"
        }
    );
    let e = verify_with_collateral(&quote(SGX), collateral(TDX), TDX.t).unwrap_err();
    assert_kind!(
        e,
        Error::CollateralMismatch {
            what: "QE identity id"
        }
    );
}

/// A TDX quote checked against the (genuine, signed) collateral of a TDX platform with
/// another FMSPC.
#[test]
fn collateral_of_another_fmspc__should_be_collateral_mismatch_or_uncovered() {
    let other = &samples::TDX_V4_NEAR_GAS;
    let e = verify_with_collateral(&quote(TDX), collateral(other), other.t).unwrap_err();
    assert!(
        matches!(
            e,
            Error::CollateralMismatch {
                what: "FMSPC of the TCB info"
            }
        ),
        "{e:?}"
    );
}

// ---- time ----------------------------------------------------------------------------

#[test]
fn outside_the_window__should_be_expired_or_not_yet_valid() {
    for s in [TDX, SGX] {
        let e = must_fail_at(s, s.after, |_| {}, |_| {});
        assert_kind!(e, Error::Expired { .. });
        let e = must_fail_at(s, s.before, |_| {}, |_| {});
        assert_kind!(e, Error::NotYetValid { .. });
        // Far outside: the certificates themselves.
        let e = must_fail_at(s, UnixTime(4_000_000_000), |_| {}, |_| {});
        assert_kind!(e, Error::Expired { .. });
        let e = must_fail_at(s, UnixTime(1_000_000_000), |_| {}, |_| {});
        assert_kind!(e, Error::NotYetValid { .. });
    }
}

// ---- TCB -----------------------------------------------------------------------------

#[test]
fn no_tcb_level__should_be_tcb_mismatch() {
    let s = &samples::TDX_V5_NO_TCB_MATCH;
    let e = verify_with_collateral(&quote(s), collateral(s), s.t).unwrap_err();
    assert_kind!(
        e,
        Error::TcbMismatch {
            what: "no TCB level in the TCB info matches the platform"
        }
    );
}
