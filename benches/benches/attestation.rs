//! Evidence verification per platform, each next to the library it wraps called
//! directly in the same run (docs/PERFORMANCE.md, "Attestation").
//!
//! Run: `cargo bench -p keynet-benches --bench attestation -- --warm-up-time 1 --measurement-time 3`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use attestation_gate::sev_snp::SevSnpVerifier;
use attestation_gate::{Collateral, Evidence, Platform, UnixTime, VerifyEvidence};
use criterion::{criterion_group, criterion_main, Criterion};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/attestation"
);

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{rel}")).unwrap()
}

/// TDX (quote v4) and SGX (quote v3): keynet's verifier (cold, and cached for the same
/// quote and collateral) against `dcap_qvl` directly.
fn dcap(c: &mut Criterion) {
    for (name, dir, t, tdx) in [
        ("tdx", "tdx/dcapqvl-v4-uptodate", 1751328000u64, true),
        ("sgx", "sgx/dcapqvl-v3", 1751328000u64, false),
    ] {
        let quote = read(&format!("{dir}/quote.bin"));
        let json = read(&format!("{dir}/collateral.json"));
        let collateral = Collateral::new().with("collateral.json", json.clone());
        let parsed: dcap_qvl::QuoteCollateralV3 = serde_json::from_slice(&json).unwrap();
        let mut g = c.benchmark_group(format!("attestation/{name}"));
        g.sample_size(20);
        // Every verifier owns a cache; capacity 0 is the uncached verifier.
        let (platform, cold, cached): (_, Box<dyn VerifyEvidence>, Box<dyn VerifyEvidence>) = if tdx
        {
            (
                Platform::Tdx,
                Box::new(attestation_gate::dcap::TdxVerifier::new().with_cache_capacity(0)),
                Box::new(attestation_gate::dcap::TdxVerifier::new()),
            )
        } else {
            (
                Platform::Sgx,
                Box::new(attestation_gate::dcap::SgxVerifier::new().with_cache_capacity(0)),
                Box::new(attestation_gate::dcap::SgxVerifier::new()),
            )
        };
        let evidence = Evidence::new(platform, quote.clone());
        g.bench_function("keynet verify (collateral.json parsed each time)", |b| {
            b.iter(|| cold.verify(&evidence, &collateral, UnixTime(t)).unwrap())
        });
        g.bench_function("keynet verify (collateral pre-parsed)", |b| {
            b.iter(|| {
                attestation_gate::dcap::verify_with_collateral(&quote, parsed.clone(), UnixTime(t))
                    .unwrap()
            })
        });
        cached.verify(&evidence, &collateral, UnixTime(t)).unwrap();
        g.bench_function("keynet verify cached (same quote and collateral)", |b| {
            b.iter(|| cached.verify(&evidence, &collateral, UnixTime(t)).unwrap())
        });
        g.bench_function("dcap-qvl QuoteVerifier::verify directly", |b| {
            let v = dcap_qvl::verify::QuoteVerifier::new(
                attestation_gate::dcap::INTEL_SGX_ROOT_CA_DER.to_vec(),
            );
            b.iter(|| v.verify(&quote, &parsed, t).unwrap())
        });
        g.finish();
    }
}

/// SEV-SNP (Milan, VCEK): keynet cold (pinned CA chain checked per call), keynet with
/// the pinned CA chain verified once (the verifier object), keynet with the VCEK chain
/// from the verifier's warmed cache, the `sev` crate directly, and the one P-384
/// verification a cached report still needs.
fn sev_snp(c: &mut Criterion) {
    let report_hex = String::from_utf8(read("sev-snp/virtee-milan-vcek/report.hex")).unwrap();
    let report = hex::decode(report_hex.trim()).unwrap();
    let vcek = read("sev-snp/virtee-milan-vcek/vcek.der");
    let chain_pem = read("sev-snp/amd-roots/milan_ask_ark_asvk.pem");
    let collateral = Collateral::new().with("vcek.der", vcek.clone());
    let evidence = Evidence::new(Platform::SevSnp, report.clone());
    let t = UnixTime(1735689600);
    let mut g = c.benchmark_group("attestation/sev-snp");
    g.sample_size(20);
    g.bench_function("keynet verify cold (new verifier each time)", |b| {
        b.iter(|| {
            SevSnpVerifier::new()
                .with_cache_capacity(0)
                .verify(&evidence, &collateral, t)
                .unwrap()
        })
    });
    let warm = SevSnpVerifier::new().with_cache_capacity(0);
    g.bench_function("keynet verify (pinned CA chain verified once)", |b| {
        b.iter(|| warm.verify(&evidence, &collateral, t).unwrap())
    });
    let cached = SevSnpVerifier::new();
    cached.verify(&evidence, &collateral, t).unwrap();
    // The benchmark's name is kept from when the cache was a separate `VerifiedCache`.
    g.bench_function(
        "keynet verify cached (VCEK chain from VerifiedCache)",
        |b| b.iter(|| cached.verify(&evidence, &collateral, t).unwrap()),
    );
    g.bench_function("raw p384: report signature, pre-extracted", |b| {
        use p384::ecdsa::signature::Verifier;
        use x509_cert::der::Decode;
        let parsed = attestation_gate::sev_snp::SnpReport::parse(&report).unwrap();
        let sig = parsed.signature().unwrap();
        let cert = x509_cert::Certificate::from_der(&vcek).unwrap();
        let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(
            cert.tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes(),
        )
        .unwrap();
        let signed = parsed.signed_bytes().to_vec();
        b.iter(|| key.verify(&signed, &sig).unwrap())
    });
    g.bench_function("sev crate Chain+report verify directly", |b| {
        use sev::certs::snp::{ca, Certificate, Chain, Verifiable};
        use sev::firmware::guest::AttestationReport;
        use sev::parser::ByteParser;
        let pems: Vec<Vec<u8>> = pem_blocks(&chain_pem);
        b.iter(|| {
            let chain = Chain {
                ca: ca::Chain {
                    ask: Certificate::from_pem(&pems[0]).unwrap(),
                    ark: Certificate::from_pem(&pems[1]).unwrap(),
                },
                vek: Certificate::from_der(&vcek).unwrap(),
            };
            let r = AttestationReport::from_bytes(&report).unwrap();
            (&chain, &r).verify().unwrap()
        })
    });
    g.finish();
}

fn pem_blocks(pem: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(pem);
    text.split_inclusive("-----END CERTIFICATE-----")
        .filter(|b| b.contains("BEGIN"))
        .map(|b| b.trim().as_bytes().to_vec())
        .collect()
}

/// Nitro (evervault 2022 document): keynet's verifier, cold and with the CA path from a
/// warmed `VerifiedCache`, against the raw P-384 ECDSA work each contains (cold: 4
/// certificate signatures on the path root ← regional ← zonal ← instance ← leaf plus
/// the COSE signature; cached: the leaf's signature plus the COSE signature), on
/// pre-extracted bytes and keys, so the difference is parsing and checks.
fn nitro(c: &mut Criterion) {
    use attestation_gate::nitro::NitroVerifier;
    use ciborium::value::Value;
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    use p384::ecdsa::signature::Verifier;
    use p384::ecdsa::{Signature, VerifyingKey};
    use sha2::Digest;
    use x509_cert::der::{Decode, Encode};
    use x509_cert::Certificate;

    let doc = read("nitro/evervault-2022-nondebug/attestation_doc.cbor");
    let t = UnixTime(1665651482);

    // Pre-extraction for the baseline.
    let Value::Array(items) = ciborium::de::from_reader::<Value, _>(&doc[..]).unwrap() else {
        panic!("not an array")
    };
    let bytes = |v: &Value| v.as_bytes().unwrap().clone();
    let (protected, payload, cose_sig) = (bytes(&items[0]), bytes(&items[2]), bytes(&items[3]));
    let mut sig_structure = Vec::new();
    ciborium::ser::into_writer(
        &Value::Array(vec![
            Value::Text("Signature1".into()),
            Value::Bytes(protected),
            Value::Bytes(Vec::new()),
            Value::Bytes(payload.clone()),
        ]),
        &mut sig_structure,
    )
    .unwrap();
    let Value::Map(fields) = ciborium::de::from_reader::<Value, _>(&payload[..]).unwrap() else {
        panic!("not a map")
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let mut path: Vec<Certificate> = field("cabundle")
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Certificate::from_der(v.as_bytes().unwrap()).unwrap())
        .collect();
    path.push(Certificate::from_der(field("certificate").as_bytes().unwrap()).unwrap());
    let key = |c: &Certificate| {
        VerifyingKey::from_sec1_bytes(
            c.tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes(),
        )
        .unwrap()
    };
    let cert_checks: Vec<(VerifyingKey, Vec<u8>, Signature)> = path
        .windows(2)
        .map(|w| {
            (
                key(&w[0]),
                w[1].tbs_certificate.to_der().unwrap(),
                Signature::from_der(w[1].signature.as_bytes().unwrap()).unwrap(),
            )
        })
        .collect();
    let leaf_key = key(path.last().unwrap());
    let cose_sig = Signature::from_slice(&cose_sig).unwrap();

    let mut g = c.benchmark_group("attestation/nitro");
    g.sample_size(20);
    let evidence = Evidence::new(Platform::Nitro, doc.clone());
    g.bench_function("keynet verify", |b| {
        let v = NitroVerifier::new().with_cache_capacity(0);
        b.iter(|| v.verify(&evidence, &Collateral::new(), t).unwrap())
    });
    // The benchmark's name is kept from when the cache was a separate `VerifiedCache`.
    g.bench_function("keynet verify cached (CA path from VerifiedCache)", |b| {
        let v = NitroVerifier::new();
        v.verify(&evidence, &Collateral::new(), t).unwrap();
        b.iter(|| v.verify(&evidence, &Collateral::new(), t).unwrap())
    });
    g.bench_function("raw p384: leaf cert sig + COSE sig, pre-extracted", |b| {
        let (k, tbs, sig) = cert_checks.last().unwrap();
        b.iter(|| {
            k.verify(tbs, sig).unwrap();
            leaf_key
                .verify_prehash(&sha2::Sha384::digest(&sig_structure), &cose_sig)
                .unwrap();
        })
    });
    g.bench_function("raw p384: 4 cert sigs + COSE sig, pre-extracted", |b| {
        b.iter(|| {
            for (k, tbs, sig) in &cert_checks {
                k.verify(tbs, sig).unwrap();
            }
            leaf_key
                .verify_prehash(&sha2::Sha384::digest(&sig_structure), &cose_sig)
                .unwrap();
        })
    });
    g.finish();
}

/// Simulated evidence: keynet's verifier against one Ed25519 `verify_strict` of the
/// same message.
fn simulated(c: &mut Criterion) {
    use attestation_gate::simulated::{DevnetSigningKey, SimulatedAttester, SimulatedVerifier};
    use attestation_gate::ReportData;

    let attester =
        SimulatedAttester::new(DevnetSigningKey::from_seed(&[1; 32]), "sim-intel", [2; 32])
            .unwrap();
    let t = UnixTime(1_800_000_000);
    let wire = attester.attest(&ReportData([3; 64]), t);
    let evidence = wire.bytes.clone();
    let verifier = SimulatedVerifier::new([attester.public_key()]);
    let mut g = c.benchmark_group("attestation/simulated");
    g.bench_function("keynet verify", |b| {
        b.iter(|| verifier.verify(&wire, &Collateral::new(), t).unwrap())
    });
    g.bench_function("ed25519-dalek verify_strict of the same message", |b| {
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(&attester.public_key().to_bytes()).unwrap();
        let (body, sig) = evidence.split_at(evidence.len() - 64);
        let mut msg = attestation_gate::simulated::SIGNATURE_DOMAIN.to_vec();
        msg.extend_from_slice(body);
        let sig = ed25519_dalek::Signature::from_slice(sig).unwrap();
        b.iter(|| key.verify_strict(&msg, &sig).unwrap())
    });
    g.finish();
}

criterion_group!(benches, dcap, sev_snp, nitro, simulated);
criterion_main!(benches);
