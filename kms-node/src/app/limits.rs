//! Bounded bookkeeping of the app service: token buckets per key (peer IP, app id), the
//! handshake replay guard and a small verdict cache. Time is passed in (`Instant`), so
//! every rule is tested without sleeping.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// A token bucket's shape: `burst` tokens at most, refilled at `per_sec`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Largest burst.
    pub burst: u32,
    /// Tokens added per second.
    pub per_sec: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One token bucket per key, at most `max_keys` keys (when full, buckets that are
/// full again are dropped first; if none is, the new key is refused, which errs on
/// the side of refusing).
#[derive(Debug)]
pub struct Buckets<K> {
    rate: Rate,
    max_keys: usize,
    buckets: HashMap<K, Bucket>,
}

impl<K: Eq + Hash + Clone> Buckets<K> {
    /// Empty buckets of `rate`, at most `max_keys` keys tracked.
    pub fn new(rate: Rate, max_keys: usize) -> Self {
        Self {
            rate,
            max_keys,
            buckets: HashMap::new(),
        }
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate.per_sec).min(f64::from(self.rate.burst));
        b.at = now;
    }

    /// Takes one token for `key` at `now`: `Ok` or `Err(seconds until one is there)`
    /// (at least 1).
    pub fn take(&mut self, key: &K, now: Instant) -> Result<(), u32> {
        if !self.buckets.contains_key(key) && self.buckets.len() >= self.max_keys {
            self.evict_full(now);
            if self.buckets.len() >= self.max_keys {
                return Err(1);
            }
        }
        let burst = f64::from(self.rate.burst);
        let mut bucket = self.buckets.get(key).copied().unwrap_or(Bucket {
            tokens: burst,
            at: now,
        });
        self.refill(&mut bucket, now);
        let result = if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let missing = 1.0 - bucket.tokens;
            let secs = if self.rate.per_sec > 0.0 {
                (missing / self.rate.per_sec).ceil()
            } else {
                f64::from(u32::MAX)
            };
            // `secs` is finite, positive and at most u32::MAX here.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Err((secs as u32).max(1))
        };
        self.buckets.insert(key.clone(), bucket);
        result
    }

    /// Drops the buckets that refilled completely (they hold no information).
    fn evict_full(&mut self, now: Instant) {
        let rate = self.rate;
        self.buckets.retain(|_, b| {
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            b.tokens + elapsed * rate.per_sec < f64::from(rate.burst)
        });
    }

    /// Keys tracked.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

/// Remembers, for `window`, from which peer address each `(evidence, static key)`
/// was presented; at most `max` entries (the oldest are forgotten first).
#[derive(Debug)]
pub struct ReplayGuard<A> {
    window: Duration,
    max: usize,
    seen: HashMap<[u8; 32], (A, Instant)>,
    order: BTreeMap<Instant, Vec<[u8; 32]>>,
}

impl<A: Eq + Clone> ReplayGuard<A> {
    /// An empty guard.
    pub fn new(window: Duration, max: usize) -> Self {
        Self {
            window,
            max,
            seen: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    /// Records `digest` presented from `from` at `now`; `false` when it was presented
    /// from another address within the window (a replay).
    pub fn check(&mut self, digest: [u8; 32], from: &A, now: Instant) -> bool {
        self.expire(now);
        if let Some((addr, _)) = self.seen.get(&digest) {
            if addr != from {
                return false;
            }
        }
        if !self.seen.contains_key(&digest) {
            while self.seen.len() >= self.max {
                let Some((_, oldest)) = self.order.pop_first() else {
                    break;
                };
                for d in oldest {
                    self.seen.remove(&d);
                }
            }
            self.seen.insert(digest, (from.clone(), now));
            self.order.entry(now).or_default().push(digest);
        }
        true
    }

    fn expire(&mut self, now: Instant) {
        while let Some(entry) = self.order.first_entry() {
            if now.saturating_duration_since(*entry.key()) < self.window {
                break;
            }
            for d in entry.remove() {
                self.seen.remove(&d);
            }
        }
    }

    /// Entries remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// A map of at most `max` entries, each valid for `ttl`; when full, it is cleared
/// (entries are cheap to recompute, and a flood cannot grow it).
#[derive(Debug)]
pub struct Cache<K, V> {
    ttl: Duration,
    max: usize,
    entries: HashMap<K, (V, Instant)>,
}

impl<K: Eq + Hash, V: Clone> Cache<K, V> {
    /// An empty cache.
    pub fn new(ttl: Duration, max: usize) -> Self {
        Self {
            ttl,
            max,
            entries: HashMap::new(),
        }
    }

    /// The value for `key` if stored less than `ttl` before `now`.
    pub fn get(&self, key: &K, now: Instant) -> Option<V> {
        self.entries
            .get(key)
            .filter(|(_, at)| now.saturating_duration_since(*at) < self.ttl)
            .map(|(v, _)| v.clone())
    }

    /// Stores `value` for `key` at `now`.
    pub fn insert(&mut self, key: K, value: V, now: Instant) {
        if self.entries.len() >= self.max {
            self.entries.clear();
        }
        self.entries.insert(key, (value, now));
    }

    /// Entries stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn buckets__should_allow_the_burst_then_refuse_with_the_wait_until_refilled() {
        let t0 = Instant::now();
        let mut b = Buckets::new(
            Rate {
                burst: 3,
                per_sec: 0.5,
            },
            10,
        );
        for _ in 0..3 {
            assert_eq!(b.take(&"ip", t0), Ok(()));
        }
        assert_eq!(b.take(&"ip", t0), Err(2));
        // Another key has its own bucket.
        assert_eq!(b.take(&"other", t0), Ok(()));
        assert_eq!(b.take(&"ip", t0 + Duration::from_secs(1)), Err(1));
        assert_eq!(b.take(&"ip", t0 + Duration::from_secs(2)), Ok(()));
    }

    #[test]
    fn buckets__should_bound_the_keys_and_reuse_room_of_refilled_ones() {
        let t0 = Instant::now();
        let mut b = Buckets::new(
            Rate {
                burst: 2,
                per_sec: 1.0,
            },
            2,
        );
        assert!(b.take(&1, t0).is_ok() && b.take(&2, t0).is_ok());
        assert_eq!(b.take(&3, t0), Err(1));
        assert_eq!(b.len(), 2);
        // One second later both refilled: they are dropped and 3 gets a bucket.
        assert_eq!(b.take(&3, t0 + Duration::from_secs(1)), Ok(()));
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn replay_guard__should_refuse_the_same_digest_from_another_address_within_the_window() {
        let t0 = Instant::now();
        let mut g = ReplayGuard::new(Duration::from_secs(10), 100);
        assert!(g.check([1; 32], &"a", t0));
        assert!(g.check([1; 32], &"a", t0 + Duration::from_secs(1)));
        assert!(!g.check([1; 32], &"b", t0 + Duration::from_secs(9)));
        assert!(g.check([2; 32], &"b", t0));
        // After the window the digest is forgotten.
        assert!(g.check([1; 32], &"b", t0 + Duration::from_secs(10)));
    }

    #[test]
    fn replay_guard__should_forget_the_oldest_when_full() {
        let t0 = Instant::now();
        let mut g = ReplayGuard::new(Duration::from_secs(100), 2);
        for (i, d) in [[1; 32], [2; 32], [3; 32]].into_iter().enumerate() {
            assert!(g.check(d, &"a", t0 + Duration::from_secs(i as u64)));
        }
        assert_eq!(g.len(), 2);
        assert!(g.check([1; 32], &"b", t0 + Duration::from_secs(3)));
        assert!(!g.check([3; 32], &"b", t0 + Duration::from_secs(3)));
    }

    #[test]
    fn cache__should_expire_entries_and_clear_when_full() {
        let t0 = Instant::now();
        let mut c = Cache::new(Duration::from_secs(5), 2);
        c.insert(1, "one", t0);
        assert_eq!(c.get(&1, t0 + Duration::from_secs(4)), Some("one"));
        assert_eq!(c.get(&1, t0 + Duration::from_secs(5)), None);
        c.insert(2, "two", t0);
        c.insert(3, "three", t0);
        assert_eq!(c.len(), 1);
        assert_eq!(c.get(&3, t0), Some("three"));
    }
}
