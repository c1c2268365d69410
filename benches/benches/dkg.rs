//! DKG, resharing and the frost-secp256k1-tr `keys::dkg` baseline, all parties in one
//! process. Every function reports **process CPU time** per iteration (`iter_custom`
//! with `cpu_time::ProcessTime`; single-threaded code), so the numbers do not depend on
//! how busy the shared machine is. Results and the command are in docs/PERFORMANCE.md
//! ("DKG and resharing").
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use cpu_time::ProcessTime;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use dkg::keys::KeyShare;
use dkg::sim;
use dkg::suite::{Bls12381G1, Secp256k1};
use frost_secp256k1_tr as frost;
use rand_core::SeedableRng;

fn threshold(n: u16) -> u16 {
    2 * n / 3 + 1
}

/// Runs `f` `iters` times and returns the process CPU time spent.
fn cpu(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = ProcessTime::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(42)
}

/// frost's own DKG for all `n` parties in one process (the baseline).
fn frost_dkg(t: u16, n: u16, rng: &mut rand_chacha::ChaCha20Rng) {
    let ids: Vec<frost::Identifier> = (1..=n)
        .map(|i| frost::Identifier::try_from(i).unwrap())
        .collect();
    let mut s1 = BTreeMap::new();
    let mut p1 = BTreeMap::new();
    for id in &ids {
        let (sec, pkg) = frost::keys::dkg::part1(*id, n, t, &mut *rng).unwrap();
        s1.insert(*id, sec);
        p1.insert(*id, pkg);
    }
    let mut s2 = BTreeMap::new();
    let mut inbox: BTreeMap<frost::Identifier, BTreeMap<frost::Identifier, _>> = BTreeMap::new();
    for id in &ids {
        let mut others = p1.clone();
        others.remove(id);
        let (sec, out) = frost::keys::dkg::part2(s1.remove(id).unwrap(), &others).unwrap();
        for (to, pkg) in out {
            inbox.entry(to).or_default().insert(*id, pkg);
        }
        s2.insert(*id, sec);
    }
    for id in &ids {
        let mut others = p1.clone();
        others.remove(id);
        let r2 = inbox.remove(id).unwrap();
        let (_kp, _pkp) = frost::keys::dkg::part3(&s2[id], &others, &r2).unwrap();
    }
}

fn bench_dkg(c: &mut Criterion) {
    for n in [4u16, 16, 64] {
        let t = threshold(n);
        let mut g = c.benchmark_group(format!("dkg/n={n}"));
        if n >= 16 {
            // One iteration per sample, ten samples (n = 64: about 10 × 23 s for frost).
            g.sample_size(10);
            g.sampling_mode(SamplingMode::Flat);
            g.warm_up_time(Duration::from_millis(1));
            g.measurement_time(Duration::from_secs(1));
        }
        g.bench_function(BenchmarkId::new("keynet_bls12381", format!("t={t}")), |b| {
            let mut r = rng();
            b.iter_custom(|iters| {
                cpu(iters, || {
                    drop(sim::dkg::<Bls12381G1>(t, n, &mut r).unwrap())
                })
            })
        });
        g.bench_function(
            BenchmarkId::new("keynet_secp256k1", format!("t={t}")),
            |b| {
                let mut r = rng();
                b.iter_custom(|iters| {
                    cpu(iters, || drop(sim::dkg::<Secp256k1>(t, n, &mut r).unwrap()))
                })
            },
        );
        g.bench_function(BenchmarkId::new("keynet_both", format!("t={t}")), |b| {
            let mut r = rng();
            b.iter_custom(|iters| {
                cpu(iters, || {
                    drop(sim::dkg::<Bls12381G1>(t, n, &mut r).unwrap());
                    drop(sim::dkg::<Secp256k1>(t, n, &mut r).unwrap());
                })
            })
        });
        g.bench_function(
            BenchmarkId::new("frost_keys_dkg_baseline", format!("t={t}")),
            |b| {
                let mut r = rng();
                b.iter_custom(|iters| cpu(iters, || frost_dkg(t, n, &mut r)))
            },
        );
        g.finish();
    }
}

fn bench_reshare(c: &mut Criterion) {
    let (n, n_new) = (16u16, 17u16);
    let (t, t_new) = (threshold(n), threshold(n_new));
    let mut g = c.benchmark_group(format!("reshare/{n}->{n_new}"));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    let new = sim::committee(n_new);
    let mut r = rng();
    let bls: Vec<KeyShare<Bls12381G1>> = sim::dkg::<Bls12381G1>(t, n, &mut r)
        .unwrap()
        .into_values()
        .filter_map(|o| o.into_key_share())
        .collect();
    let secp: Vec<KeyShare<Secp256k1>> = sim::dkg::<Secp256k1>(t, n, &mut r)
        .unwrap()
        .into_values()
        .filter_map(|o| o.into_key_share())
        .collect();
    g.bench_function(format!("keynet_bls12381/t={t}->t'={t_new}"), |b| {
        let dealers: Vec<_> = bls.iter().collect();
        b.iter_custom(|iters| {
            cpu(iters, || {
                drop(sim::reshare(&dealers, &new, t_new, &mut r).unwrap())
            })
        })
    });
    g.bench_function(format!("keynet_secp256k1/t={t}->t'={t_new}"), |b| {
        let dealers: Vec<_> = secp.iter().collect();
        b.iter_custom(|iters| {
            cpu(iters, || {
                drop(sim::reshare(&dealers, &new, t_new, &mut r).unwrap())
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench_dkg, bench_reshare);
criterion_main!(benches);
