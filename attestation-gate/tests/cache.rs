//! The verified-collateral cache (`attestation_gate::cache`) never changes an outcome:
//! for every platform, good, tampered and out-of-window inputs give exactly the same
//! result (claims, or error with its fields) through a warmed cache as through a cold
//! verifier; the tests also check that the cache was really hit where it can be, and that
//! failures are not cached.

#![cfg(all(
    feature = "tdx",
    feature = "sgx",
    feature = "sev_snp",
    feature = "nitro",
    feature = "simulated"
))]
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/samples.rs"]
mod samples;

#[path = "support/nitro_builder.rs"]
mod nitro_builder;

#[path = "support/verify_bytes.rs"]
mod verify_bytes;
use verify_bytes::VerifyBytes;

use std::sync::OnceLock;

use attestation_gate::nitro::NitroVerifier;
use attestation_gate::sev_snp::{ProductLine, SevSnpVerifier};
use attestation_gate::{Claims, Collateral, Evidence, Platform, UnixTime, Verifiers};
use proptest::prelude::*;
use samples::Sample;

/// A verification outcome in comparable form: the claims, or the error's full `Debug`
/// (variant, `what`, times).
type Outcome = Result<Claims, String>;

fn outcome(r: Result<Claims, attestation_gate::Error>) -> Outcome {
    r.map_err(|e| format!("{e:?}"))
}

fn cold() -> Verifiers {
    Verifiers::new().with_cache_capacity(0)
}

/// Verifiers whose cache holds the entry of `evidence` verified at `t`.
fn warmed(platform: Platform, evidence: &[u8], collateral: &Collateral, t: UnixTime) -> Verifiers {
    let v = Verifiers::new();
    v.verify(&Evidence::new(platform, evidence), collateral, t)
        .unwrap_or_else(|e| panic!("warming: {e}"));
    assert_eq!(v.cache_stats().entries, 1);
    v
}

/// Cold and cached give the same outcome; returns it.
fn assert_same(
    cached: &Verifiers,
    platform: Platform,
    evidence: &[u8],
    collateral: &Collateral,
    now: UnixTime,
) -> Outcome {
    let want = outcome(cold().verify(&Evidence::new(platform, evidence), collateral, now));
    let got = outcome(cached.verify(&Evidence::new(platform, evidence), collateral, now));
    assert_eq!(got, want, "{platform} at {now}");
    want
}

fn binary(s: &Sample) -> Vec<u8> {
    attestation_gate::detect::detect(&s.evidence_bytes())
        .unwrap()
        .bytes
}

fn xor(bytes: &[u8], at: usize, mask: u8) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= mask;
    b
}

/// Good input at `t`, at both window edges, one second outside them, and at `before`
/// and `after` (outside the window) give the same outcome; the three inside accept.
fn times__should_agree(
    cached: &Verifiers,
    platform: Platform,
    (evidence, c): (&[u8], &Collateral),
    t: UnixTime,
    [before, after]: [UnixTime; 2],
) {
    let claims = cold()
        .verify(&Evidence::new(platform, evidence), c, t)
        .unwrap();
    let v = claims.validity().unwrap();
    let times = [
        t,
        v.not_before,
        v.not_after,
        UnixTime(v.not_before.0 - 1),
        UnixTime(v.not_after.0 + 1),
        before,
        after,
    ];
    let accepted = times
        .iter()
        .filter(|now| assert_same(cached, platform, evidence, c, **now).is_ok())
        .count();
    assert_eq!(accepted, 3, "{platform} at {t}");
}

fn sample_times__should_agree(cached: &Verifiers, s: &Sample, evidence: &[u8], c: &Collateral) {
    times__should_agree(cached, s.platform, (evidence, c), s.t, [s.before, s.after]);
}

// ---- DCAP ----------------------------------------------------------------------------

fn with_json_field(
    c: &Collateral,
    field: &str,
    f: impl FnOnce(&mut serde_json::Value),
) -> Collateral {
    let mut json: serde_json::Value =
        serde_json::from_slice(c.get("collateral.json").unwrap()).unwrap();
    f(&mut json[field]);
    c.clone()
        .with("collateral.json", serde_json::to_vec(&json).unwrap())
}

fn flip_hex_byte(v: &mut serde_json::Value) {
    let mut b = hex::decode(v.as_str().unwrap()).unwrap();
    b[10] ^= 0x01;
    *v = serde_json::Value::String(hex::encode(b));
}

fn dcap_cases(s: &Sample, quote_flips: &[usize]) {
    let (q, c) = (binary(s), s.collateral());
    let cached = warmed(s.platform, &q, &c, s.t);
    sample_times__should_agree(&cached, s, &q, &c);
    let hits = cached.cache_stats().hits;
    assert!(hits >= 3, "{}: {hits} hits", s.name);
    for at in quote_flips {
        assert!(assert_same(&cached, s.platform, &xor(&q, *at, 1), &c, s.t).is_err());
    }
    for field in ["tcb_info_signature", "qe_identity_signature", "root_ca_crl"] {
        let tampered = with_json_field(&c, field, flip_hex_byte);
        assert!(assert_same(&cached, s.platform, &q, &tampered, s.t).is_err());
    }
    assert!(assert_same(&cached, s.platform, &q, &Collateral::new(), s.t).is_err());
    // Only the warming entry: no failure was stored.
    assert_eq!(cached.cache_stats().entries, 1);
}

#[test]
fn tdx__should_give_the_same_outcomes_cold_and_cached() {
    dcap_cases(&samples::TDX_V4_UPTODATE, &[184, 568, 646, 834]);
}

#[test]
fn sgx__should_give_the_same_outcomes_cold_and_cached() {
    dcap_cases(&samples::SGX_V3, &[112, 441]);
}

/// Pre-parsed collateral, serialized back to `collateral.json`, through a caching
/// verifier: tampered fields and out-of-window times give the cold outcome.
#[test]
fn dcap_parsed_collateral__should_give_the_same_outcomes_cold_and_cached() {
    use attestation_gate::dcap::{verify_with_collateral, TdxVerifier};
    let s = &samples::TDX_V4_UPTODATE;
    let q = binary(s);
    let parsed: dcap_qvl::QuoteCollateralV3 =
        serde_json::from_slice(s.collateral().get("collateral.json").unwrap()).unwrap();
    let json = |c: &dcap_qvl::QuoteCollateralV3| {
        Collateral::new().with("collateral.json", serde_json::to_vec(c).unwrap())
    };
    let cached = TdxVerifier::new();
    cached.verify_bytes(&q, &json(&parsed), s.t).unwrap();
    let mut tcb_sig = parsed.clone();
    tcb_sig.tcb_info_signature[10] ^= 1;
    let mut qe_sig = parsed.clone();
    qe_sig.qe_identity_signature[10] ^= 1;
    let mut pck_crl = parsed.clone();
    pck_crl.pck_crl = parsed.root_ca_crl.clone();
    for (c, now) in [
        (&parsed, s.t),
        (&parsed, s.before),
        (&parsed, s.after),
        (&tcb_sig, s.t),
        (&qe_sig, s.t),
        (&pck_crl, s.t),
    ] {
        let want = outcome(verify_with_collateral(&q, c.clone(), now));
        let got = outcome(cached.verify_bytes(&q, &json(c), now));
        assert_eq!(got, want, "at {now}");
    }
    let stats = cached.cache_stats();
    assert_eq!((stats.entries, stats.hits), (1, 1));
}

#[test]
fn dcap__should_not_cache_a_rejected_quote() {
    let s = &samples::TDX_V5_NO_TCB_MATCH;
    let (q, c) = (binary(s), s.collateral());
    let v = Verifiers::new();
    for _ in 0..2 {
        assert!(assert_same(&v, s.platform, &q, &c, s.t).is_err());
    }
    let stats = v.cache_stats();
    assert_eq!((stats.entries, stats.hits), (0, 0));
}

// ---- SEV-SNP -------------------------------------------------------------------------

fn snp_cases(s: &Sample) {
    let (r, c) = (binary(s), s.collateral());
    let cached = warmed(s.platform, &r, &c, s.t);
    sample_times__should_agree(&cached, s, &r, &c);
    // Report tampering hits the cached chain and must still fail on the report.
    let before = cached.cache_stats().hits;
    for at in [0x50, 0x90, 0x180, 0x1A0, 0x2A0] {
        assert!(assert_same(&cached, s.platform, &xor(&r, at, 1), &c, s.t).is_err());
    }
    assert!(cached.cache_stats().hits >= before + 5, "{}", s.name);
    assert_eq!(cached.cache_stats().entries, 1);
}

#[test]
fn snp__should_give_the_same_outcomes_cold_and_cached() {
    for s in [
        &samples::SNP_MILAN_VCEK,
        &samples::SNP_MILAN_DEBUG,
        &samples::SNP_MILAN_VLEK,
    ] {
        snp_cases(s);
    }
}

#[test]
fn snp__should_not_reuse_a_chain_for_other_certificate_bytes() {
    let s = &samples::SNP_MILAN_VCEK;
    let (r, c) = (binary(s), s.collateral());
    let cached = warmed(s.platform, &r, &c, s.t);
    let mut vcek = c.get("vcek.der").unwrap().to_vec();
    let n = vcek.len();
    vcek[n - 10] ^= 1; // inside the ASK's signature
    let tampered = Collateral::new().with("vcek.der", vcek);
    assert!(assert_same(&cached, s.platform, &r, &tampered, s.t).is_err());
    let other_chip = samples::SNP_MILAN_DEBUG.collateral();
    assert!(assert_same(&cached, s.platform, &r, &other_chip, s.t).is_err());
}

/// One `Verifiers` (and so one cache) used from several threads at once.
#[test]
fn snp__should_share_one_cache_between_threads() {
    let s = &samples::SNP_MILAN_VCEK;
    let (r, c) = (binary(s), s.collateral());
    let v = Verifiers::new();
    let want = cold()
        .verify(&Evidence::new(s.platform, r.as_slice()), &c, s.t)
        .unwrap();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..3 {
                    assert_eq!(
                        v.verify(&Evidence::new(s.platform, r.as_slice()), &c, s.t)
                            .unwrap(),
                        want
                    );
                }
            });
        }
    });
    let stats = v.cache_stats();
    assert_eq!(stats.entries, 1);
    assert_eq!(stats.hits + stats.misses, 12);
    assert!(stats.hits >= 8, "{stats:?}");
}

/// A chain cached by a verifier of every product line is not reused by one restricted
/// to other lines.
#[test]
fn snp__should_not_reuse_a_chain_across_product_line_restrictions() {
    let s = &samples::SNP_MILAN_VCEK;
    let (report, c) = (binary(s), s.collateral());
    let all = SevSnpVerifier::new();
    all.verify_bytes(&report, &c, s.t).unwrap();
    let genoa = SevSnpVerifier::with_product_lines(&[ProductLine::Genoa]);
    let want = outcome(
        genoa
            .clone()
            .with_cache_capacity(0)
            .verify_bytes(&report, &c, s.t),
    );
    let got = outcome(
        genoa
            .with_cache(all.cache().clone())
            .verify_bytes(&report, &c, s.t),
    );
    assert_eq!(got, want);
    assert!(want.unwrap_err().starts_with("UntrustedRoot"));
}

/// The signer kind is part of the key: a VLEK cached as a VLEK is not reused when the
/// report claims a VCEK signed it.
#[test]
fn snp__should_not_reuse_a_vlek_chain_for_a_vcek_report() {
    let s = &samples::SNP_MILAN_VLEK;
    let (r, c) = (binary(s), s.collateral());
    let cached = warmed(s.platform, &r, &c, s.t);
    let vlek = c.get("vlek.der").unwrap().to_vec();
    let as_vcek = xor(&r, 0x48, 0b100); // SIGNING_KEY 1 (VLEK) -> 0 (VCEK)
    let c = Collateral::new().with("vcek.der", vlek);
    let got = assert_same(&cached, s.platform, &as_vcek, &c, s.t);
    assert!(got.unwrap_err().starts_with("UntrustedRoot"));
}

// ---- Nitro ---------------------------------------------------------------------------

struct NitroSample {
    path: &'static str,
    t: UnixTime,
}

const NITRO: [NitroSample; 3] = [
    NitroSample {
        path: "nitro/evervault-2022-nondebug/attestation_doc.cbor",
        t: UnixTime(1665651482),
    },
    NitroSample {
        path: "nitro/evervault-2023-debug/attestation_doc.b64",
        t: UnixTime(1695049410),
    },
    NitroSample {
        path: "nitro/blocky-2024-debug/attestation_doc.b64",
        t: UnixTime(1725719886),
    },
];

fn nitro_doc(s: &NitroSample) -> Vec<u8> {
    attestation_gate::detect::detect(&samples::must_read(s.path))
        .unwrap()
        .bytes
}

#[test]
fn nitro__should_give_the_same_outcomes_cold_and_cached() {
    let none = Collateral::new();
    for s in &NITRO {
        let doc = nitro_doc(s);
        let cached = warmed(Platform::Nitro, &doc, &none, s.t);
        // A day before the window an intermediate is not valid yet; four hours after the
        // document the leaf has expired.
        let (before, after) = (UnixTime(s.t.0 - 86_400), UnixTime(s.t.0 + 4 * 3600));
        times__should_agree(
            &cached,
            Platform::Nitro,
            (&doc, &none),
            s.t,
            [before, after],
        );
        let hits = cached.cache_stats().hits;
        assert!(hits >= 3, "{}: {hits} hits", s.path);
        let n = doc.len();
        for at in [n - 1, n / 2, 104] {
            assert!(assert_same(&cached, Platform::Nitro, &xor(&doc, at, 1), &none, s.t).is_err());
        }
        assert_eq!(cached.cache_stats().entries, 1);
    }
}

#[test]
fn nitro__should_not_reuse_a_ca_path_under_another_pinned_root() {
    let s = &NITRO[0];
    let doc = nitro_doc(s);
    let first = NitroVerifier::new();
    first.verify_bytes(&doc, &Collateral::new(), s.t).unwrap();
    let other =
        NitroVerifier::with_pinned_root(nitro_builder::chain(1, Default::default()).root_der);
    let want = outcome(other.clone().with_cache_capacity(0).verify_bytes(
        &doc,
        &Collateral::new(),
        s.t,
    ));
    let got = outcome(other.with_cache(first.cache().clone()).verify_bytes(
        &doc,
        &Collateral::new(),
        s.t,
    ));
    assert_eq!(got, want);
    assert!(want.unwrap_err().starts_with("UntrustedRoot"));
}

/// Same root and intermediate as a cached document, but the leaf is signed by the wrong
/// key, or the document by another key: the cached CA path is hit and the leaf and COSE
/// checks still refuse it.
#[test]
fn nitro__should_check_leaf_and_document_after_a_cached_ca_path() {
    use nitro_builder::{chain, document, ChainOptions, Fields, TIMESTAMP_MS};
    let now = UnixTime(TIMESTAMP_MS / 1000);
    let good = chain(30, ChainOptions::default());
    let bad_leaf = chain(
        30,
        ChainOptions {
            leaf_signed_by_wrong_key: true,
            ..Default::default()
        },
    );
    assert_eq!(good.intermediate_der, bad_leaf.intermediate_der);
    let fields = Fields::new(Some(vec![7; 64]));
    let v = NitroVerifier::with_pinned_root(good.root_der.clone());
    let cold = v.clone().with_cache_capacity(0);
    let cache = v.cache().clone();
    v.verify_bytes(&document(&good, &fields), &Collateral::new(), now)
        .unwrap();

    let other = chain(40, ChainOptions::default());
    let payload = nitro_builder::payload(&good, &fields);
    let signed_by_other = nitro_builder::sign_document(&other.leaf_key, payload);
    for doc in [document(&bad_leaf, &fields), signed_by_other] {
        let hits = cache.stats().hits;
        let want = outcome(cold.verify_bytes(&doc, &Collateral::new(), now));
        let got = outcome(v.verify_bytes(&doc, &Collateral::new(), now));
        assert_eq!(got, want);
        assert!(got.is_err());
        assert_eq!(cache.stats().hits, hits + 1, "the CA path was not hit");
    }
    assert_eq!(cache.stats().entries, 1);
}

// ---- byte flips ----------------------------------------------------------------------

fn snp_warm() -> &'static (Verifiers, Vec<u8>, Vec<u8>) {
    static W: OnceLock<(Verifiers, Vec<u8>, Vec<u8>)> = OnceLock::new();
    W.get_or_init(|| {
        let s = &samples::SNP_MILAN_VCEK;
        let (r, c) = (binary(s), s.collateral());
        let vcek = c.get("vcek.der").unwrap().to_vec();
        (warmed(s.platform, &r, &c, s.t), r, vcek)
    })
}

fn nitro_warm() -> &'static (Verifiers, Vec<u8>) {
    static W: OnceLock<(Verifiers, Vec<u8>)> = OnceLock::new();
    W.get_or_init(|| {
        let doc = nitro_doc(&NITRO[0]);
        (
            warmed(Platform::Nitro, &doc, &Collateral::new(), NITRO[0].t),
            doc,
        )
    })
}

fn tdx_warm() -> &'static (Verifiers, Vec<u8>, Collateral) {
    static W: OnceLock<(Verifiers, Vec<u8>, Collateral)> = OnceLock::new();
    W.get_or_init(|| {
        let s = &samples::TDX_V4_UPTODATE;
        let (q, c) = (binary(s), s.collateral());
        (warmed(s.platform, &q, &c, s.t), q, c)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A byte flip in the report or in the VCEK gives the same outcome cold and cached.
    #[test]
    fn snp_flip__should_give_the_same_outcome(in_vcek: bool, at: usize, mask in 1u8..=255) {
        let (cached, r, vcek) = snp_warm();
        let s = &samples::SNP_MILAN_VCEK;
        let (r, vcek) = if in_vcek {
            (r.clone(), xor(vcek, at % vcek.len(), mask))
        } else {
            (xor(r, at % r.len(), mask), vcek.clone())
        };
        let c = Collateral::new().with("vcek.der", vcek);
        let _ = assert_same(cached, s.platform, &r, &c, s.t);
    }

    /// A byte flip anywhere in a Nitro document gives the same outcome cold and cached.
    #[test]
    fn nitro_flip__should_give_the_same_outcome(at: usize, mask in 1u8..=255) {
        let (cached, doc) = nitro_warm();
        let doc = xor(doc, at % doc.len(), mask);
        let _ = assert_same(cached, Platform::Nitro, &doc, &Collateral::new(), NITRO[0].t);
    }

    /// A byte flip in a TDX quote gives the same outcome cold and cached.
    #[test]
    fn tdx_flip__should_give_the_same_outcome(at: usize, mask in 1u8..=255) {
        let (cached, q, c) = tdx_warm();
        let s = &samples::TDX_V4_UPTODATE;
        let _ = assert_same(cached, s.platform, &xor(q, at % q.len(), mask), c, s.t);
    }
}
