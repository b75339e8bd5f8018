//! Nonce-count replay protection with bounded memory.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::AuthError;

const SHARDS: usize = 16;

/// Default number of (nonce, cnonce) pairs remembered per generation (about 24 bytes each plus
/// hash-table overhead; two generations are kept).
pub const DEFAULT_REPLAY_CAPACITY: usize = 256 * 1024;

/// Remembers the highest `nc` accepted per (nonce, cnonce) and rejects any `nc` that is not
/// greater.
///
/// A CPE that reuses one nonce with `nc=00000001` and a fresh cnonce every time creates a new
/// pair each time and passes. Memory is bounded: pairs are stored as 128-bit keyed hashes in
/// sharded maps split into two generations that rotate every nonce TTL, so each pair is kept
/// at least one TTL (by which time its nonce is stale anyway) and at most two. When a shard's
/// current generation fills up before the TTL elapses, it rotates early: the oldest pairs are
/// forgotten (failing open for them, never rejecting legitimate clients).
///
/// The tracker is per process: a replay sent to another instance sharing the nonce secret is
/// not detected.
pub struct NonceTracker {
    shards: Box<[Mutex<Shard>]>,
    ttl_secs: u64,
    per_shard: usize,
    k1: RandomState,
    k2: RandomState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Key(u64, u64);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Already a keyed hash: feed one half to the identity hasher.
        state.write_u64(self.0);
    }
}

#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Map = HashMap<Key, u32, BuildHasherDefault<IdentityHasher>>;

struct Shard {
    current: Map,
    previous: Map,
    since: u64,
}

impl Shard {
    fn rotate(&mut self, now: u64) {
        std::mem::swap(&mut self.current, &mut self.previous);
        self.current.clear();
        self.since = now;
    }

    fn rotate_if_due(&mut self, now: u64, ttl: u64) {
        if now >= self.since.saturating_add(ttl.saturating_mul(2)) {
            self.current.clear();
            self.previous.clear();
            self.since = now;
        } else if now >= self.since.saturating_add(ttl) {
            self.rotate(now);
        }
    }
}

impl NonceTracker {
    /// `ttl` should be the nonce lifetime; `capacity` is the number of pairs per generation.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    current: Map::default(),
                    previous: Map::default(),
                    since: 0,
                })
            })
            .collect();
        NonceTracker {
            shards,
            ttl_secs: ttl.as_secs().max(1),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            k1: RandomState::new(),
            k2: RandomState::new(),
        }
    }

    /// Pairs remembered per generation.
    pub fn capacity(&self) -> usize {
        self.per_shard * SHARDS
    }

    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_secs)
    }

    fn key(&self, nonce: &str, cnonce: &str) -> Key {
        Key(
            self.k1.hash_one((nonce, cnonce)),
            self.k2.hash_one((nonce, cnonce)),
        )
    }

    fn shard(&self, key: Key) -> MutexGuard<'_, Shard> {
        let i = (key.1 as usize) % SHARDS;
        self.shards[i]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Accepts and records `nc` if it is greater than any accepted before for this
    /// (nonce, cnonce); otherwise [`AuthError::Replay`]. Call only after the response checked out.
    pub fn check_and_record(
        &self,
        nonce: &str,
        cnonce: &str,
        nc: u32,
        now_unix: u64,
    ) -> Result<(), AuthError> {
        let key = self.key(nonce, cnonce);
        let mut shard = self.shard(key);
        shard.rotate_if_due(now_unix, self.ttl_secs);
        let last = shard
            .current
            .get(&key)
            .or_else(|| shard.previous.get(&key))
            .copied();
        if last.is_some_and(|last| nc <= last) {
            return Err(AuthError::Replay);
        }
        if shard.current.len() >= self.per_shard && !shard.current.contains_key(&key) {
            shard.rotate(now_unix);
        }
        shard.current.insert(key, nc);
        Ok(())
    }

    /// Pairs currently remembered (both generations; a pair may count twice).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap_or_else(|p| p.into_inner());
                s.current.len() + s.previous.len()
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops generations older than two TTLs in every shard (otherwise done lazily on access).
    pub fn prune(&self, now_unix: u64) {
        for s in self.shards.iter() {
            s.lock()
                .unwrap_or_else(|p| p.into_inner())
                .rotate_if_due(now_unix, self.ttl_secs);
        }
    }
}

impl std::fmt::Debug for NonceTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceTracker")
            .field("ttl_secs", &self.ttl_secs)
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000;

    #[test]
    fn increasing_nc_passes_repeat_fails() {
        let t = NonceTracker::new(Duration::from_secs(300), 1000);
        assert_eq!(t.check_and_record("n", "c", 1, T0), Ok(()));
        assert_eq!(t.check_and_record("n", "c", 2, T0), Ok(()));
        assert_eq!(t.check_and_record("n", "c", 2, T0), Err(AuthError::Replay));
        assert_eq!(t.check_and_record("n", "c", 1, T0), Err(AuthError::Replay));
        assert_eq!(t.check_and_record("n", "c", 5, T0), Ok(()));
        // Fresh cnonce, same nonce, nc=1 again: a different pair.
        assert_eq!(t.check_and_record("n", "c2", 1, T0), Ok(()));
        assert_eq!(t.check_and_record("n2", "c", 1, T0), Ok(()));
        // Pair boundaries are unambiguous.
        assert_eq!(t.check_and_record("nc", "", 1, T0), Ok(()));
        assert_eq!(t.check_and_record("n", "c", 6, T0), Ok(()));
    }

    #[test]
    fn remembered_for_at_least_one_ttl() {
        let t = NonceTracker::new(Duration::from_secs(300), 1000);
        t.check_and_record("n", "c", 1, T0).unwrap();
        // Rotation happens on other traffic, the pair moves to the previous generation.
        t.check_and_record("x", "y", 1, T0 + 299).unwrap();
        assert_eq!(
            t.check_and_record("n", "c", 1, T0 + 299),
            Err(AuthError::Replay)
        );
        for dt in [300, 400, 599] {
            assert_eq!(
                t.check_and_record("n", "c", 1, T0 + dt),
                Err(AuthError::Replay),
                "{dt}"
            );
        }
        // Long after (the nonce itself is stale by then), forgotten.
        t.prune(T0 + 10_000);
        assert!(t.is_empty());
    }

    #[test]
    fn bounded_under_many_nonces() {
        let cap = 1024;
        let t = NonceTracker::new(Duration::from_secs(300), cap);
        for i in 0..200_000u32 {
            let nonce = format!("nonce-{i}");
            t.check_and_record(&nonce, "c", 1, T0).unwrap();
        }
        assert!(t.len() <= 2 * t.capacity(), "{}", t.len());
        // The most recent pairs are still remembered.
        assert_eq!(
            t.check_and_record("nonce-199999", "c", 1, T0),
            Err(AuthError::Replay)
        );
    }

    #[test]
    fn concurrent_use() {
        let t = std::sync::Arc::new(NonceTracker::new(Duration::from_secs(300), 100_000));
        let handles: Vec<_> = (0..4)
            .map(|k| {
                let t = t.clone();
                std::thread::spawn(move || {
                    for i in 0..2000u32 {
                        t.check_and_record("shared", &format!("{k}-{i}"), 1, T0)
                            .unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(t.len(), 8000);
    }
}
