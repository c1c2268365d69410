//! Prints one JSON object of DESIGN §4 test vectors, deterministic from `--seed`:
//! both DKGs for (n, t) through `dkg::sim`, a derived key and a FROST signature for
//! app_id 00..1f and path "disk" from random t-subsets, then a reshare to (n+2, t+2) and
//! the same again with the new committee.
//!
//! ```text
//! cargo run --release -p tss --example vectors -- --n 5 --t 3 --seed 7 \
//!     | python3 ../shared/tools/check_vectors.py
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;

use dkg::bls::{BlsKeyShare, BlsPublicKeys};
use dkg::secp::{SecpKeyShare, SecpPublicKeys};
use dkg::sim;
use frost_secp256k1_tr::Secp256K1Sha256TR;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Map, Value};
use tss::sign::{commit, Coordinator};
use tss::tweak::compressed;
use tss::{combine, make_share, AppSigningKey, Identity, PartyIndex, PrfInput};

const MESSAGE: &[u8] = b"hello world";

struct Args {
    n: u16,
    t: u16,
    seed: u64,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut n = None;
    let mut t = None;
    let mut seed = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--n" => n = Some(value.parse()?),
            "--t" => t = Some(value.parse()?),
            "--seed" => seed = Some(value.parse()?),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(Args {
        n: n.ok_or("--n is required")?,
        t: t.ok_or("--t is required")?,
        seed: seed.unwrap_or(0),
    })
}

fn pick<'a, T>(items: &'a [T], k: u16, rng: &mut ChaCha20Rng) -> Vec<&'a T> {
    let mut v: Vec<&T> = items.iter().collect();
    v.shuffle(rng);
    v.truncate(usize::from(k));
    v
}

struct Derived {
    signers: Vec<u16>,
    shares: Map<String, Value>,
    sigma: String,
    key: String,
}

fn derive(
    public: &BlsPublicKeys,
    keys: &[BlsKeyShare],
    id: &Identity,
    rng: &mut ChaCha20Rng,
) -> Result<Derived, Box<dyn Error>> {
    let input = PrfInput::new(id.clone());
    let mut chosen = pick(keys, public.threshold(), rng);
    chosen.sort_by_key(|k| k.index());
    let shares: BTreeMap<PartyIndex, _> = chosen
        .iter()
        .map(|k| (k.index(), make_share(k, &input)))
        .collect();
    let combined = combine(public, &input, &shares)?;
    if !combined.culprits.is_empty() {
        return Err("honest shares reported as bad".into());
    }
    Ok(Derived {
        signers: shares.keys().map(|i| i.get()).collect(),
        shares: shares
            .iter()
            .map(|(i, s)| (i.get().to_string(), json!(hex::encode(s.to_bytes()))))
            .collect(),
        sigma: hex::encode(combined.sigma.to_bytes().as_ref()),
        key: hex::encode(combined.sigma.derive_key(id).expose_secret()),
    })
}

fn sign(
    public: &SecpPublicKeys,
    keys: &[SecpKeyShare],
    app: &AppSigningKey,
    rng: &mut ChaCha20Rng,
) -> Result<(Vec<u16>, String), Box<dyn Error>> {
    let chosen = pick(keys, public.threshold(), rng);
    let signers: BTreeSet<PartyIndex> = chosen.iter().map(|k| k.index()).collect();
    let mut states = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for k in &chosen {
        let (state, c) = commit::<Secp256K1Sha256TR>(app.key_package(k).package(), rng);
        states.insert(k.index(), state);
        commitments.insert(k.index(), c);
    }
    let (awaiting, package) =
        Coordinator::new(app.public_package(public), MESSAGE, &signers)?.package(commitments)?;
    let mut shares = BTreeMap::new();
    for (i, state) in states {
        shares.insert(i, state.sign(&package)?);
    }
    let signature = awaiting.aggregate(shares)?;
    Ok((
        signers.iter().map(|i| i.get()).collect(),
        hex::encode(signature.serialize()?),
    ))
}

fn main() -> Result<(), Box<dyn Error>> {
    let Args { n, t, seed } = parse_args()?;
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let app_id: [u8; 32] = core::array::from_fn(|i| i as u8);
    let id = Identity::new(app_id, "disk")?;

    let (bls_public, bls_keys, _) = sim::dkg_bls(t, n, &mut rng)?;
    let (secp_public, secp_keys, _) = sim::dkg_secp(t, n, &mut rng)?;
    let app = AppSigningKey::new(secp_public.group_key(), &id)?;

    let derived = derive(&bls_public, &bls_keys, &id, &mut rng)?;
    let (frost_signers, signature) = sign(&secp_public, &secp_keys, &app, &mut rng)?;

    // Reshare both keys from a random t-subset of the old committee to (n+2, t+2).
    let (n2, t2) = (n + 2, t + 2);
    let new_committee = sim::committee(n2);
    let bls_dealers = pick(&bls_keys, t, &mut rng);
    let (bls_public2, bls_keys2, _) = sim::reshare_bls(&bls_dealers, &new_committee, t2, &mut rng)?;
    let secp_dealers = pick(&secp_keys, t, &mut rng);
    let (secp_public2, secp_keys2, _) =
        sim::reshare_secp(&secp_dealers, &new_committee, t2, &mut rng)?;
    let app2 = AppSigningKey::new(secp_public2.group_key(), &id)?;
    let derived2 = derive(&bls_public2, &bls_keys2, &id, &mut rng)?;
    let (_, signature2) = sign(&secp_public2, &secp_keys2, &app2, &mut rng)?;
    let signers2 = derived2.signers.clone();

    let public_shares: Map<String, Value> = bls_public
        .shares()
        .iter()
        .map(|(i, p)| (i.get().to_string(), json!(hex::encode(p.to_compressed()))))
        .collect();
    let out = json!({
        "n": n,
        "t": t,
        "app_id": hex::encode(app_id),
        "path": id.path(),
        "bls": {
            "group_pk": hex::encode(bls_public.group_key().to_compressed()),
            "public_shares": public_shares,
            "signers": derived.signers,
            "signature_shares": derived.shares,
            "sigma": derived.sigma,
            "key": derived.key,
        },
        "frost": {
            "group_pk": hex::encode(compressed(secp_public.group_key())?),
            "app_xonly": hex::encode(app.xonly()?),
            "message": hex::encode(MESSAGE),
            "signers": frost_signers,
            "signature": signature,
        },
        "reshare": {
            "n": n2,
            "t": t2,
            "bls_group_pk": hex::encode(bls_public2.group_key().to_compressed()),
            "secp_group_pk": hex::encode(compressed(secp_public2.group_key())?),
            "sigma": derived2.sigma,
            "key": derived2.key,
            "signature": signature2,
            "signers": signers2,
        },
    });
    println!("{out}");
    Ok(())
}
