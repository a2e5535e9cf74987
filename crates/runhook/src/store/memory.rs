//! The in-memory store: bounded, purging as it goes, safe to share between threads.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{Claim, ClaimToken, IdempotencyKey, IdempotencyStore, KeyState, StoreError};

/// An [`IdempotencyStore`] in memory, for one process.
///
/// It holds at most `capacity` keys. When a new key is claimed while it is full, it makes room
/// in this order:
/// 1. every completed key past its retention is dropped (it is claimable anyway, so dropping it
///    changes no answer);
/// 2. if it is still full, the completed key closest to the end of its retention is purged
///    (with one retention for all keys, the oldest completed); a later duplicate of that key
///    would be processed again;
/// 3. a claim is never purged, not even one whose lease has run out: until another delivery
///    takes the key over, its holder may still renew, complete or release it (fencing is by
///    token, not by the lease). If every entry is a claim, the new claim fails with
///    [`StoreError::Full`] (a receiver answers 503, and the sender retries).
///
/// Every operation takes one lock and costs O(log n); entries are kept in ordered maps, so no
/// hashing and no randomness are involved. Contents are lost when the process exits: use a
/// durable store when restarts must not re-run handlers.
pub struct MemoryStore {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: BTreeMap<IdempotencyKey, Entry>,
    /// Completed keys by end of retention.
    done: BTreeMap<(SystemTime, u64), IdempotencyKey>,
    /// The last token or sequence number handed out.
    last: u64,
}

#[derive(Debug, Clone, Copy)]
enum Entry {
    InFlight {
        token: ClaimToken,
        until: SystemTime,
    },
    Done {
        seq: u64,
        until: SystemTime,
    },
}

impl Entry {
    fn until(self) -> SystemTime {
        match self {
            Entry::InFlight { until, .. } | Entry::Done { until, .. } => until,
        }
    }

    fn expired(self, now: SystemTime) -> bool {
        self.until() <= now
    }
}

impl MemoryStore {
    /// The default capacity: 100 000 keys (a few tens of MB at most).
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store with the default capacity.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A store holding at most `capacity` keys (0 refuses every claim).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryStore {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The most keys it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The keys it holds now, expired ones included until they are dropped.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// See [`IdempotencyStore::claim`].
    pub fn claim(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let mut inner = self.lock();
        match inner.entries.get(key).copied() {
            Some(entry) if !entry.expired(now) => {
                return Ok(match entry {
                    Entry::InFlight { until, .. } => Claim::InFlight {
                        retry_after: until.duration_since(now).unwrap_or_default(),
                    },
                    Entry::Done { .. } => Claim::Done,
                });
            }
            Some(_) => inner.remove(key),
            None => inner.make_room(now, self.capacity)?,
        }
        let token = ClaimToken::new(inner.next());
        let until = later(now, lease);
        inner.insert(key.clone(), Entry::InFlight { token, until });
        Ok(Claim::Acquired(token))
    }

    /// See [`IdempotencyStore::complete`].
    pub fn complete(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        retention: Duration,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.take_claim(key, token)?;
        let seq = inner.next();
        let until = later(now, retention);
        inner.insert(key.clone(), Entry::Done { seq, until });
        Ok(())
    }

    /// See [`IdempotencyStore::release`].
    pub fn release(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        _now: SystemTime,
    ) -> Result<(), StoreError> {
        self.lock().take_claim(key, token)
    }

    /// See [`IdempotencyStore::renew`].
    pub fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.take_claim(key, token)?;
        let until = later(now, lease);
        inner.insert(key.clone(), Entry::InFlight { token, until });
        Ok(())
    }

    /// See [`IdempotencyStore::state`].
    pub fn state(&self, key: &IdempotencyKey, now: SystemTime) -> KeyState {
        match self.lock().entries.get(key) {
            None => KeyState::Absent,
            Some(entry) if entry.expired(now) => KeyState::Absent,
            Some(Entry::InFlight { .. }) => KeyState::InFlight,
            Some(Entry::Done { .. }) => KeyState::Done,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while the lock is held; if something did, the maps are still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn next(&mut self) -> u64 {
        self.last = self.last.wrapping_add(1);
        self.last
    }

    fn insert(&mut self, key: IdempotencyKey, entry: Entry) {
        if let Entry::Done { seq, until } = entry {
            self.done.insert((until, seq), key.clone());
        }
        self.entries.insert(key, entry);
    }

    fn remove(&mut self, key: &IdempotencyKey) {
        if let Some(Entry::Done { seq, until }) = self.entries.remove(key) {
            self.done.remove(&(until, seq));
        }
    }

    /// Removes the claim on `key` if `token` holds it.
    fn take_claim(&mut self, key: &IdempotencyKey, token: ClaimToken) -> Result<(), StoreError> {
        match self.entries.get(key) {
            Some(Entry::InFlight { token: held, .. }) if *held == token => {
                self.remove(key);
                Ok(())
            }
            _ => Err(StoreError::NotHeld { key: key.clone() }),
        }
    }

    /// Makes room for one more key; see the purge order on [`MemoryStore`].
    fn make_room(&mut self, now: SystemTime, capacity: usize) -> Result<(), StoreError> {
        if self.entries.len() < capacity {
            return Ok(());
        }
        while let Some(first) = self.done.first_entry() {
            if first.key().0 > now {
                break;
            }
            self.entries.remove(&first.remove());
        }
        while self.entries.len() >= capacity {
            let Some((_, key)) = self.done.pop_first() else {
                return Err(StoreError::Full { capacity });
            };
            self.entries.remove(&key);
        }
        Ok(())
    }
}

/// `now + span`, or as late as `SystemTime` can go.
fn later(now: SystemTime, mut span: Duration) -> SystemTime {
    loop {
        if let Some(time) = now.checked_add(span) {
            return time;
        }
        span /= 2;
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn claim(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        MemoryStore::claim(self, key, now, lease)
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        retention: Duration,
    ) -> Result<(), StoreError> {
        MemoryStore::complete(self, key, token, now, retention)
    }

    async fn release(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        MemoryStore::release(self, key, token, now)
    }

    async fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError> {
        MemoryStore::renew(self, key, token, now, lease)
    }

    async fn state(&self, key: &IdempotencyKey, now: SystemTime) -> Result<KeyState, StoreError> {
        Ok(MemoryStore::state(self, key, now))
    }
}
