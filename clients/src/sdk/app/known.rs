//! What an [`super::AppClient`] has already checked, so that a release on new sessions
//! does not check it again: node evidence that verified, public key shares that are
//! points of the group, and `t`-subsets of them that interpolate to the group key. It
//! also remembers the public key share each node last served with a share that was
//! used, so that the next release can prepare its share check before the answers come
//! (`tss::PrfInput::prepare_shares`; a node answering with another key share is simply
//! checked the unprepared way).
//!
//! Public data only (claims, points, digests). Each entry is a pure function of the
//! bytes it is keyed by, except the node evidence verdict, which also depends on the
//! time (collateral windows): it is used for [`NODE_VERDICT_TTL`] at most, and what
//! depends on the policy, the binding and the evidence age ([`attestation_gate::appraise`])
//! runs on every session anyway. Failures are never kept.
//!
//! Bounded: a map that reaches [`MAX_ENTRIES`] is emptied (a client talks to one
//! committee; more entries than that mean churn, and starting over costs one cold check
//! per node). Written here rather than taken from a crate: three small maps behind one
//! lock, with no eviction order worth a dependency.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use attestation_gate::Claims;
use blstrs::G1Affine;
use group::prime::PrimeCurveAffine;
use sha2::{Digest, Sha256};
use tss::PartyIndex;

/// How long a node evidence verdict is relied on.
pub const NODE_VERDICT_TTL: Duration = Duration::from_secs(60);

/// Entries per map before it is emptied.
pub const MAX_ENTRIES: usize = 1024;

/// See the module documentation.
#[derive(Default)]
pub struct Known {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    claims: HashMap<[u8; 32], (Claims, Instant)>,
    points: HashMap<[u8; 48], G1Affine>,
    consistent: HashSet<[u8; 32]>,
    share_keys: HashMap<(u64, u16), G1Affine>,
}

fn insert_bounded<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, k: K, v: V) {
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(k, v);
}

/// SHA-256 of length-prefixed parts under a domain. The same construction as
/// attestation-gate's cache keys (`cache::key`), which that crate keeps private.
fn digest(domain: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((domain.len() as u64).to_be_bytes());
    h.update(domain.as_bytes());
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

impl Known {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The maps hold checked public data; a panic elsewhere cannot leave one half
        // written, so a poisoned lock is taken over.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key of a node's evidence: its platform, evidence and aux bytes (absent aux
    /// and empty aux are different keys).
    pub fn evidence_key(platform: &str, evidence: &[u8], aux: Option<&[u8]>) -> [u8; 32] {
        let (has_aux, aux) = match aux {
            Some(a) => (&[1u8][..], a),
            None => (&[0u8][..], &[][..]),
        };
        digest(
            "keynet/client/node-evidence",
            &[platform.as_bytes(), evidence, has_aux, aux],
        )
    }

    /// The claims of evidence that verified less than [`NODE_VERDICT_TTL`] ago.
    pub fn claims(&self, key: &[u8; 32]) -> Option<Claims> {
        let mut inner = self.lock();
        match inner.claims.get(key) {
            Some((claims, at)) if at.elapsed() < NODE_VERDICT_TTL => Some(claims.clone()),
            Some(_) => {
                inner.claims.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps the claims of evidence that verified now.
    pub fn keep_claims(&self, key: [u8; 32], claims: Claims) {
        insert_bounded(&mut self.lock().claims, key, (claims, Instant::now()));
    }

    /// The public key share encoded by `bytes`: a point of the group, not the identity
    /// (decompressed and subgroup-checked once per encoding).
    pub fn point(&self, bytes: &[u8; 48]) -> Option<G1Affine> {
        if let Some(p) = self.lock().points.get(bytes) {
            return Some(*p);
        }
        let p = Option::<G1Affine>::from(G1Affine::from_compressed(bytes))
            .filter(|p| !bool::from(p.is_identity()))?;
        insert_bounded(&mut self.lock().points, *bytes, p);
        Some(p)
    }

    /// The public key share node `index` of `epoch` last served a used share with.
    pub fn share_key(&self, epoch: u64, index: PartyIndex) -> Option<G1Affine> {
        self.lock().share_keys.get(&(epoch, index.get())).copied()
    }

    /// Remembers the public key share node `index` of `epoch` served a used share with.
    pub fn keep_share_key(&self, epoch: u64, index: PartyIndex, key: G1Affine) {
        insert_bounded(&mut self.lock().share_keys, (epoch, index.get()), key);
    }

    fn subset_key(group_key: &G1Affine, subset: &[(PartyIndex, &G1Affine)]) -> [u8; 32] {
        let mut parts: Vec<Vec<u8>> = Vec::with_capacity(subset.len() + 1);
        parts.push(group_key.to_compressed().to_vec());
        for (i, p) in subset {
            let mut part = i.get().to_be_bytes().to_vec();
            part.extend_from_slice(&p.to_compressed());
            parts.push(part);
        }
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        digest("keynet/client/consistent-subset", &refs)
    }

    /// Whether `subset` (party indexes with their claimed public key shares)
    /// interpolates to `group_key`: `check` runs once per distinct subset that passes.
    pub fn consistent(
        &self,
        group_key: &G1Affine,
        subset: &[(PartyIndex, &G1Affine)],
        check: impl FnOnce() -> bool,
    ) -> bool {
        let key = Self::subset_key(group_key, subset);
        if self.lock().consistent.contains(&key) {
            return true;
        }
        if !check() {
            return false;
        }
        let mut inner = self.lock();
        if inner.consistent.len() >= MAX_ENTRIES {
            inner.consistent.clear();
        }
        inner.consistent.insert(key);
        true
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use group::{Curve, Group};

    #[test]
    fn point__should_refuse_the_identity_and_non_points_and_keep_only_good_ones() {
        let known = Known::default();
        assert!(known.point(&G1Affine::identity().to_compressed()).is_none());
        assert!(known.point(&[0xff; 48]).is_none());
        let p = G1Affine::from(blstrs::G1Projective::generator() * blstrs::Scalar::from(7u64));
        assert_eq!(known.point(&p.to_compressed()), Some(p));
        assert_eq!(known.point(&p.to_compressed()), Some(p));
        assert_eq!(known.lock().points.len(), 1);
    }

    #[test]
    fn consistent__should_run_the_check_until_it_passes_then_not_again() {
        let known = Known::default();
        let g = G1Affine::generator();
        let i1 = PartyIndex::new(1).unwrap();
        let i2 = PartyIndex::new(2).unwrap();
        let subset = [(i1, &g), (i2, &g)];
        let mut runs = 0;
        assert!(!known.consistent(&g, &subset, || {
            runs += 1;
            false
        }));
        assert!(known.consistent(&g, &subset, || {
            runs += 1;
            true
        }));
        assert!(known.consistent(&g, &subset, || {
            runs += 1;
            false
        }));
        assert_eq!(runs, 2);
        // Another index order or another point is another subset.
        assert!(!known.consistent(&g, &[(i2, &g), (i1, &g)], || false));
    }

    #[test]
    fn share_key__should_be_kept_per_epoch_and_index() {
        let known = Known::default();
        let (i1, i2) = (PartyIndex::new(1).unwrap(), PartyIndex::new(2).unwrap());
        let g = G1Affine::generator();
        let h = (blstrs::G1Projective::generator() + G1Affine::generator()).to_affine();
        assert!(known.share_key(7, i1).is_none());
        known.keep_share_key(7, i1, g);
        known.keep_share_key(7, i2, h);
        assert_eq!(known.share_key(7, i1), Some(g));
        assert_eq!(known.share_key(7, i2), Some(h));
        assert!(known.share_key(8, i1).is_none());
        known.keep_share_key(7, i1, h);
        assert_eq!(known.share_key(7, i1), Some(h));
    }

    #[test]
    fn maps__should_stay_bounded() {
        let known = Known::default();
        let g = G1Affine::generator();
        for k in 0..(MAX_ENTRIES as u16 + 10) {
            let i = PartyIndex::new(k + 1).unwrap();
            known.consistent(&g, &[(i, &g)], || true);
        }
        assert!(known.lock().consistent.len() <= MAX_ENTRIES);
        for k in 0..(MAX_ENTRIES as u64 + 10) {
            known.keep_share_key(k, PartyIndex::new(1).unwrap(), g);
        }
        assert!(known.lock().share_keys.len() <= MAX_ENTRIES);
    }
}
