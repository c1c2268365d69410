//! tss benchmarks: the derived-key PRF (make share, verify share, combine + verify) and
//! FROST signing (all rounds, t signers in one process), each next to a baseline that
//! calls the underlying library directly in the same run: `blst` (min_pk) for the PRF,
//! `frost-secp256k1-tr` for signing. Results: docs/PERFORMANCE.md, "Threshold PRF,
//! sealing and signing".
//!
//! cargo bench -p keynet-benches --bench tss -- --warm-up-time 1 --measurement-time 3
//!
//! Times are process CPU time (see `cpu`), not wall time.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;

use blst::min_pk;
use blst::{MultiPoint, BLST_ERROR};
use cpu::CpuTime;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};

type C = Criterion<CpuTime>;
use blstrs::G1Affine;
use dkg::bls::{BlsKeyShare, BlsPublicKeys};
use dkg::insecure_dealer::{deal_bls, deal_secp};
use dkg::secp::{SecpKeyShare, SecpPublicKeys};
use frost_secp256k1_tr as frost;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tss::prf::DST;
use tss::sign::{commit, Coordinator};
use tss::{
    combine, interpolate, make_share, verify_share, AppSigningKey, Identity, PartyIndex, PrfInput,
    PrfShare,
};

fn identity() -> Identity {
    Identity::new(core::array::from_fn(|i| i as u8), "disk").unwrap()
}

struct BlsFixture {
    public: BlsPublicKeys,
    keys: Vec<BlsKeyShare>,
    shares: BTreeMap<PartyIndex, PrfShare>,
    share_bytes: Vec<(PartyIndex, [u8; 96])>,
    // The same keys as blst sees them: per-party public keys, a secret key for the
    // make-share baseline (cost does not depend on which scalar).
    blst_pks: BTreeMap<PartyIndex, min_pk::PublicKey>,
    blst_group: min_pk::PublicKey,
    blst_sk: min_pk::SecretKey,
}

fn bls_fixture(t: u16) -> BlsFixture {
    let mut rng = ChaCha20Rng::seed_from_u64(u64::from(t));
    let (public, keys) = deal_bls(t, t, &mut rng).unwrap();
    let input = PrfInput::new(identity());
    let shares: BTreeMap<_, _> = keys
        .iter()
        .map(|k| (k.index(), make_share(k, &input)))
        .collect();
    let share_bytes = shares.iter().map(|(i, s)| (*i, s.to_bytes())).collect();
    let blst_pks = public
        .shares()
        .iter()
        .map(|(i, p)| {
            (
                *i,
                min_pk::PublicKey::from_bytes(&p.to_compressed()).unwrap(),
            )
        })
        .collect();
    let blst_group = min_pk::PublicKey::from_bytes(&public.group_key().to_compressed()).unwrap();
    let blst_sk = min_pk::SecretKey::key_gen(&[7; 32], &[]).unwrap();
    BlsFixture {
        public,
        keys,
        shares,
        share_bytes,
        blst_pks,
        blst_group,
        blst_sk,
    }
}

/// blst baseline of the combination: Lagrange coefficients, one blst multi-scalar
/// multiplication, and blst's verify (hash + pairing check).
fn blst_combine_verify(f: &BlsFixture, msg: &[u8], shares: &[(PartyIndex, [u8; 96])]) -> bool {
    let indices: Vec<PartyIndex> = shares.iter().map(|(i, _)| *i).collect();
    let lambdas = tss::prf::lagrange_at_zero(&indices).unwrap();
    let mut scalars = Vec::with_capacity(32 * lambdas.len());
    for l in &lambdas {
        scalars.extend_from_slice(&l.to_bytes_le());
    }
    let points: Vec<blst::blst_p2_affine> = shares
        .iter()
        .map(|(_, b)| min_pk::Signature::from_bytes(b).unwrap().into())
        .collect();
    let sigma =
        min_pk::AggregateSignature::from(points.as_slice().mult(&scalars, 255)).to_signature();
    sigma.verify(true, msg, DST, &[], &f.blst_group, false) == BLST_ERROR::BLST_SUCCESS
}

fn bench_derive(c: &mut C) {
    let msg = identity().message();
    let mut g = c.benchmark_group("tss/derive");
    g.sample_size(10);
    for t in [3u16, 11, 43] {
        let f = bls_fixture(t);
        let (i0, b0) = f.share_bytes[0];

        // Node: hash to G2 and multiply by the share.
        g.bench_function(BenchmarkId::new("make_share/tss", t), |b| {
            b.iter(|| make_share(&f.keys[0], &PrfInput::new(black_box(identity()))))
        });
        g.bench_function(BenchmarkId::new("make_share/blst", t), |b| {
            b.iter(|| f.blst_sk.sign(black_box(&msg), DST, &[]))
        });

        // Client, one share from bytes: decode (subgroup check), hash, pairing check.
        g.bench_function(BenchmarkId::new("verify_share/tss", t), |b| {
            b.iter(|| {
                let s = PrfShare::from_bytes(black_box(&b0)).unwrap();
                verify_share(&f.public, &PrfInput::new(identity()), i0, &s).unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("verify_share/blst", t), |b| {
            b.iter(|| {
                let s = min_pk::Signature::from_bytes(black_box(&b0)).unwrap();
                assert_eq!(
                    s.verify(true, &msg, DST, &[], &f.blst_pks[&i0], false),
                    BLST_ERROR::BLST_SUCCESS
                )
            })
        });

        // Client: combine t verified shares and check sigma against PK.
        g.bench_function(BenchmarkId::new("combine_verify/tss", t), |b| {
            let shares: Vec<(PartyIndex, PrfShare)> =
                f.shares.iter().map(|(i, s)| (*i, *s)).collect();
            b.iter(|| {
                interpolate(
                    f.public.group_key(),
                    &PrfInput::new(identity()),
                    black_box(&shares),
                )
                .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("combine_verify/blst", t), |b| {
            b.iter(|| assert!(blst_combine_verify(&f, &msg, black_box(&f.share_bytes))))
        });

        // Client, the whole job: t shares from bytes, verify each, combine, check.
        g.bench_function(BenchmarkId::new("client_full/tss", t), |b| {
            b.iter(|| {
                let shares: BTreeMap<PartyIndex, PrfShare> = f
                    .share_bytes
                    .iter()
                    .map(|(i, b)| (*i, PrfShare::from_bytes(b).unwrap()))
                    .collect();
                combine(&f.public, &PrfInput::new(identity()), &shares).unwrap()
            })
        });
        // Client, split as the SDK runs it: what it computes while it waits for the
        // nodes (H(msg), the halves of the checks that do not depend on the shares), and
        // what is left once the shares are in, next to the same work on an input that
        // was only hashed (the whole check after the shares).
        let expected: Vec<(PartyIndex, G1Affine)> = f
            .shares
            .keys()
            .map(|i| (*i, *f.public.share(*i).unwrap()))
            .collect();
        let prepared = || {
            let input = PrfInput::new(identity());
            input.prepare_shares(&expected, &mut ChaCha20Rng::seed_from_u64(7));
            input.prepare(f.public.group_key());
            input
        };
        let after_shares = |input: PrfInput| {
            let shares: BTreeMap<PartyIndex, PrfShare> = f
                .share_bytes
                .iter()
                .map(|(i, b)| (*i, PrfShare::from_bytes(b).unwrap()))
                .collect();
            combine(&f.public, &input, &shares).unwrap()
        };
        g.bench_function(BenchmarkId::new("client_before_shares/tss", t), |b| {
            b.iter(prepared)
        });
        g.bench_function(BenchmarkId::new("client_after_shares/tss", t), |b| {
            b.iter_batched(prepared, after_shares, BatchSize::SmallInput)
        });
        g.bench_function(
            BenchmarkId::new("client_after_shares_unprepared/tss", t),
            |b| {
                b.iter_batched(
                    || PrfInput::new(identity()),
                    after_shares,
                    BatchSize::SmallInput,
                )
            },
        );
        g.bench_function(BenchmarkId::new("client_full/blst", t), |b| {
            b.iter(|| {
                for (i, bytes) in &f.share_bytes {
                    let s = min_pk::Signature::from_bytes(bytes).unwrap();
                    assert_eq!(
                        s.verify(true, &msg, DST, &[], &f.blst_pks[i], false),
                        BLST_ERROR::BLST_SUCCESS
                    );
                }
                assert!(blst_combine_verify(&f, &msg, &f.share_bytes))
            })
        });
    }
    g.finish();
}

struct SecpFixture {
    public: SecpPublicKeys,
    keys: Vec<SecpKeyShare>,
}

/// Our path: per-app tweak, typed rounds, aggregate with cheater detection.
fn tss_sign(f: &SecpFixture, rng: &mut ChaCha20Rng) -> frost::Signature {
    let app = AppSigningKey::new(f.public.group_key(), &identity()).unwrap();
    let signers: BTreeSet<PartyIndex> = f.keys.iter().map(|k| k.index()).collect();
    let mut states = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for k in &f.keys {
        let (s, c) = commit::<frost::Secp256K1Sha256TR>(app.key_package(k).package(), rng);
        states.insert(k.index(), s);
        commitments.insert(k.index(), c);
    }
    let (awaiting, package) =
        Coordinator::new(app.public_package(&f.public), b"hello world", &signers)
            .unwrap()
            .package(commitments)
            .unwrap();
    let shares = states
        .into_iter()
        .map(|(i, s)| (i, s.sign(&package).unwrap()))
        .collect();
    awaiting.aggregate(shares).unwrap()
}

/// Baseline: frost-secp256k1-tr called directly, on packages tweaked beforehand.
fn frost_sign(
    keys: &[frost::keys::KeyPackage],
    public: &frost::keys::PublicKeyPackage,
    rng: &mut ChaCha20Rng,
) -> frost::Signature {
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for k in keys {
        let (n, c) = frost::round1::commit(k.signing_share(), rng);
        nonces.insert(*k.identifier(), n);
        commitments.insert(*k.identifier(), c);
    }
    let package = frost::SigningPackage::new(commitments, b"hello world");
    let shares = keys
        .iter()
        .map(|k| {
            (
                *k.identifier(),
                frost::round2::sign(&package, &nonces[k.identifier()], k).unwrap(),
            )
        })
        .collect();
    frost::aggregate(&package, &shares, public).unwrap()
}

fn bench_sign(c: &mut C) {
    let mut g = c.benchmark_group("tss/sign");
    g.sample_size(10);
    for t in [3u16, 11] {
        let mut rng = ChaCha20Rng::seed_from_u64(u64::from(t));
        let (public, keys) = deal_secp(t, t, &mut rng).unwrap();
        let f = SecpFixture { public, keys };
        let app = AppSigningKey::new(f.public.group_key(), &identity()).unwrap();
        let frost_keys: Vec<frost::keys::KeyPackage> = f
            .keys
            .iter()
            .map(|k| app.shift_secret(&dkg::insecure_dealer::frost_key_package(k)))
            .collect();
        let frost_public = app.public_package(&f.public);
        g.bench_function(BenchmarkId::new("all_rounds/tss", t), |b| {
            b.iter(|| tss_sign(&f, &mut rng))
        });
        g.bench_function(BenchmarkId::new("all_rounds/frost", t), |b| {
            b.iter(|| frost_sign(&frost_keys, &frost_public, &mut rng))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = bench_derive, bench_sign
}
criterion_main!(benches);

/// Criterion measurement of process CPU time (all threads) instead of wall time. The
/// project's 2-core machine is shared with parallel builds, so wall time mostly measures
/// the scheduler; CPU time keeps the library-vs-baseline ratios meaningful.
mod cpu {
    use cpu_time::ProcessTime;
    use criterion::measurement::{Measurement, ValueFormatter};
    use criterion::Throughput;

    pub struct CpuTime;

    impl Measurement for CpuTime {
        type Intermediate = ProcessTime;
        type Value = std::time::Duration;
        fn start(&self) -> ProcessTime {
            ProcessTime::now()
        }
        fn end(&self, i: ProcessTime) -> std::time::Duration {
            i.elapsed()
        }
        fn add(&self, a: &std::time::Duration, b: &std::time::Duration) -> std::time::Duration {
            *a + *b
        }
        fn zero(&self) -> std::time::Duration {
            std::time::Duration::ZERO
        }
        fn to_f64(&self, v: &std::time::Duration) -> f64 {
            v.as_nanos() as f64
        }
        fn formatter(&self) -> &dyn ValueFormatter {
            &CpuFormatter
        }
    }

    struct CpuFormatter;

    impl ValueFormatter for CpuFormatter {
        fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
            let (div, unit) = if typical < 1e3 {
                (1.0, "ns cpu")
            } else if typical < 1e6 {
                (1e3, "µs cpu")
            } else if typical < 1e9 {
                (1e6, "ms cpu")
            } else {
                (1e9, "s cpu")
            };
            values.iter_mut().for_each(|v| *v /= div);
            unit
        }
        fn scale_throughputs(&self, _: f64, _: &Throughput, _: &mut [f64]) -> &'static str {
            "n/a"
        }
        fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
            "ns cpu"
        }
    }
}
