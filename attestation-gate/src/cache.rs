//! A bounded, thread-safe cache of verifications that do not depend on the individual
//! piece of evidence, so that repeated verifications skip them.
//!
//! Every verifier that caches owns one [`Cache`] from construction (clones of the
//! verifier share it); [`crate::Verifiers`] builds each verifier once, so its caches live
//! as long as it does. The one lookup-verify-insert sequence is `Cache::through` (crate-private).
//!
//! | platform | cached | key (SHA-256 of) | a cache hit still does |
//! |---|---|---|---|
//! | SEV-SNP | ARK→ASK/ASVK→VCEK/VLEK chain: RSA-PSS signatures and the product line | the VCEK/VLEK bytes, the signer kind, the verifier's product lines | parse the VCEK/VLEK, the P-384 report signature, the TCB/hwID checks |
//! | Nitro | the CA part of the path, pinned root ← `cabundle[1..]`: names, CA flags, path lengths, signatures | the pinned root and every `cabundle` DER | decode, leaf name/CA checks, the leaf's signature by its issuer, the leaf's validity, the COSE signature |
//! | TDX, SGX | the whole dcap-qvl verification result (see below) | the pinned Intel root, the quote, the `collateral.json` bytes | nothing but the window check |
//!
//! dcap-qvl 0.7 verifies the collateral (CRLs, TCB info, QE identity, PCK chain) and the
//! quote in one private function (`verify_impl`); its step functions are not public, so
//! the collateral part cannot be verified once and reused for another quote without
//! re-implementing dcap-qvl. The DCAP entry therefore caches the outcome for one exact
//! `(quote, collateral)` pair: the same evidence verified again (a peer's evidence
//! re-checked, `verify` after `measure`) costs a hash; a new quote costs the full
//! dcap-qvl verification. docs/PERFORMANCE.md gives the numbers.
//!
//! # Correctness
//!
//! * An entry is written only after a **complete, successful** verification of the
//!   evidence it came from; failures are never cached.
//! * The key is a SHA-256 of everything the cached checks read (length-prefixed, with a
//!   per-platform domain), so different bytes never share an entry.
//! * Every entry stores its validity window (latest notBefore/thisUpdate/issueDate,
//!   earliest notAfter/nextUpdate, as the cold path computes it) and is used only when
//!   `now` is inside it. Outside it the verifier runs cold and reports the same
//!   [`crate::Error::Expired`] / [`crate::Error::NotYetValid`] as without a cache.
//! * The cached checks are pure functions of the keyed bytes and of `now` (only through
//!   the window), so a hit gives what the cold path would give at that `now`; the tests
//!   in `tests/cache.rs` compare the two on good, tampered and out-of-window inputs.
//!
//! The cache holds public data only (certificates, public keys, claims).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use sha2::{Digest, Sha256};

use crate::claims::Validity;
use crate::error::Error;
use crate::types::UnixTime;

/// Default number of entries of a verifier's cache.
pub const DEFAULT_CAPACITY: usize = 256;

/// A cache key: SHA-256 of a domain and length-prefixed parts.
pub(crate) type Key = [u8; 32];

/// The key of `parts` under `domain`; every part is prefixed with its length, so the
/// split between parts is part of the key.
#[cfg_attr(
    not(any(
        feature = "tdx",
        feature = "sgx",
        feature = "sev_snp",
        feature = "nitro"
    )),
    allow(dead_code)
)]
pub(crate) fn key(domain: &str, parts: &[&[u8]]) -> Key {
    let mut h = Sha256::new();
    h.update((domain.len() as u64).to_be_bytes());
    h.update(domain.as_bytes());
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// Counters of a [`Cache`] (or, from [`crate::Verifiers::cache_stats`], of several).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Lookups that found a usable entry (right key, `now` inside its window).
    pub hits: u64,
    /// Lookups that did not (then the verifier ran cold).
    pub misses: u64,
    /// Entries held.
    pub entries: usize,
}

impl CacheStats {
    /// The sum of two counters.
    pub fn plus(self, other: CacheStats) -> CacheStats {
        CacheStats {
            hits: self.hits.saturating_add(other.hits),
            misses: self.misses.saturating_add(other.misses),
            entries: self.entries.saturating_add(other.entries),
        }
    }
}

/// A map of at most `capacity` verified values, each usable only inside its validity
/// window; when full, the least recently used entry goes. A capacity of 0 caches
/// nothing (and then no key is even computed).
pub struct Cache<V> {
    inner: Mutex<Inner<V>>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<V: Clone> Default for Cache<V> {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl<V> std::fmt::Debug for Cache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("entries", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

#[allow(dead_code)] // no platform compiled in
impl<V: Clone> Cache<V> {
    /// A cache of at most `capacity` entries; `0` caches nothing.
    pub fn with_capacity(capacity: usize) -> Self {
        Cache {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                tick: 0,
            }),
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Hit and miss counters and the number of entries.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.len(),
        }
    }

    /// The one lookup-verify-insert sequence. With an entry under `key()` valid at
    /// `now`, runs `warm` on it; otherwise runs `cold`, which verifies everything and
    /// returns the result with the entry to keep and its window, and stores that entry
    /// only when `cold` succeeded (failures are never cached).
    pub(crate) fn through<T>(
        &self,
        key: impl FnOnce() -> Key,
        now: UnixTime,
        warm: impl FnOnce(V) -> Result<T, Error>,
        cold: impl FnOnce() -> Result<(T, Option<(V, Validity)>), Error>,
    ) -> Result<T, Error> {
        if self.capacity == 0 {
            return cold().map(|(out, _)| out);
        }
        let key = key();
        if let Some(hit) = self.lookup(&key, now) {
            return warm(hit);
        }
        let (out, entry) = cold()?;
        if let Some((value, window)) = entry {
            self.insert(key, value, window);
        }
        Ok(out)
    }

    /// The value under `key` if `now` lies inside its window, counting the outcome.
    fn lookup(&self, key: &Key, now: UnixTime) -> Option<V> {
        let found = self.get(key, now);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }
}

struct Entry<V> {
    value: V,
    window: Validity,
    last_used: u64,
}

struct Inner<V> {
    map: HashMap<Key, Entry<V>>,
    tick: u64,
}

#[allow(dead_code)] // no platform compiled in
impl<V> Cache<V> {
    /// The lock; a poisoned lock (a panic elsewhere while holding it) still holds a
    /// consistent map, since no operation here can stop half-way.
    fn lock(&self) -> MutexGuard<'_, Inner<V>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// The value under `key` if `now` lies inside its window (both ends inclusive).
    fn get(&self, key: &Key, now: UnixTime) -> Option<V>
    where
        V: Clone,
    {
        let mut inner = self.lock();
        inner.tick = inner.tick.wrapping_add(1);
        let tick = inner.tick;
        let entry = inner.map.get_mut(key)?;
        if !entry.window.contains(now) {
            return None;
        }
        entry.last_used = tick;
        Some(entry.value.clone())
    }

    /// Stores `value`, valid in `window`, evicting the least recently used entry when
    /// full. An empty window is not stored.
    fn insert(&self, key: Key, value: V, window: Validity) {
        if self.capacity == 0 || window.not_before > window.not_after {
            return;
        }
        let mut inner = self.lock();
        inner.tick = inner.tick.wrapping_add(1);
        let tick = inner.tick;
        if !inner.map.contains_key(&key) && inner.map.len() >= self.capacity {
            let oldest = inner
                .map
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                inner.map.remove(&oldest);
            }
        }
        inner.map.insert(
            key,
            Entry {
                value,
                window,
                last_used: tick,
            },
        );
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    fn window(a: u64, b: u64) -> Validity {
        Validity {
            not_before: UnixTime(a),
            not_after: UnixTime(b),
        }
    }

    #[test]
    fn key__should_separate_parts_and_domains() {
        assert_ne!(key("d", &[b"ab", b"c"]), key("d", &[b"a", b"bc"]));
        assert_ne!(key("d", &[b"abc"]), key("e", &[b"abc"]));
        assert_eq!(key("d", &[b"a", b"b"]), key("d", &[b"a", b"b"]));
    }

    #[test]
    fn get__should_only_answer_inside_the_window() {
        let m = Cache::with_capacity(4);
        m.insert([1; 32], 7u8, window(10, 20));
        assert_eq!(m.get(&[1; 32], UnixTime(9)), None);
        assert_eq!(m.get(&[1; 32], UnixTime(10)), Some(7));
        assert_eq!(m.get(&[1; 32], UnixTime(20)), Some(7));
        assert_eq!(m.get(&[1; 32], UnixTime(21)), None);
        assert_eq!(m.get(&[2; 32], UnixTime(15)), None);
    }

    #[test]
    fn insert__should_evict_the_least_recently_used_and_respect_capacity() {
        let m = Cache::with_capacity(2);
        m.insert([1; 32], 1u8, window(0, 9));
        m.insert([2; 32], 2u8, window(0, 9));
        assert_eq!(m.get(&[1; 32], UnixTime(5)), Some(1)); // 2 is now the oldest
        m.insert([3; 32], 3u8, window(0, 9));
        assert_eq!(m.len(), 2);
        assert_eq!(m.get(&[2; 32], UnixTime(5)), None);
        assert_eq!(m.get(&[1; 32], UnixTime(5)), Some(1));
        assert_eq!(m.get(&[3; 32], UnixTime(5)), Some(3));
    }

    #[test]
    fn insert__should_store_nothing_with_capacity_zero_or_an_empty_window() {
        let m = Cache::with_capacity(0);
        m.insert([1; 32], 1u8, window(0, 9));
        assert_eq!(m.len(), 0);
        let m = Cache::with_capacity(1);
        m.insert([1; 32], 1u8, window(9, 0));
        assert_eq!(m.len(), 0);
    }

    /// A panic while the lock is held poisons it; the map stays usable and no call panics.
    #[test]
    fn bounded__should_keep_working_after_the_lock_is_poisoned() {
        let m = std::sync::Arc::new(Cache::with_capacity(2));
        m.insert([1; 32], 1u8, window(0, 9));
        let m2 = m.clone();
        let poisoner = std::thread::spawn(move || {
            let _guard = m2.inner.lock().unwrap();
            panic!("poison the lock");
        });
        assert!(poisoner.join().is_err());
        assert!(m.inner.is_poisoned());
        assert_eq!(m.get(&[1; 32], UnixTime(5)), Some(1));
        m.insert([2; 32], 2u8, window(0, 9));
        m.insert([3; 32], 3u8, window(0, 9));
        assert_eq!(m.len(), 2);
        assert_eq!(format!("{m:?}"), "Cache { entries: 2, capacity: 2 }");
    }

    #[test]
    fn cache__should_be_shareable_between_threads() {
        let c = std::sync::Arc::new(Cache::<u8>::with_capacity(8));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || c.stats().entries)
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 0);
        }
    }
}
