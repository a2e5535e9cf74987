//! The idempotency store: a webhook is processed once per key, under retries and concurrency.
//!
//! A receiver **claims** the event's key before calling its handler, then **completes** it (the
//! event is processed: duplicates are answered 200 without calling the handler again) or
//! **releases** it (a retryable failure: the next delivery may claim it). A claim holds a
//! **lease**: if its holder dies, the lease runs out and the next delivery takes the key over.
//! A completed key is **retained** (72 hours by default, longer than any sender's retry window)
//! and then forgotten.
//!
//! Time is an argument of every operation; nothing here reads a clock.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use runhook::store::{Claim, IdempotencyKey, MemoryStore, DEFAULT_RETENTION};
//!
//! let store = MemoryStore::new();
//! let key = IdempotencyKey::new("4562765d-156e-4c47-b217-55b3ec4a9720");
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_434_600);
//! let lease = Duration::from_secs(60);
//!
//! let Claim::Acquired(token) = store.claim(&key, now, lease)? else { unreachable!() };
//! // A concurrent delivery of the same run is told to come back later.
//! assert!(matches!(store.claim(&key, now, lease)?, Claim::InFlight { .. }));
//! store.complete(&key, token, now, DEFAULT_RETENTION)?;
//! // A redelivery after processing is a duplicate.
//! assert_eq!(store.claim(&key, now + Duration::from_secs(5), lease)?, Claim::Done);
//! # Ok::<(), runhook::store::StoreError>(())
//! ```

mod claim;
mod error;
mod idempotency;
mod key;
mod memory;

use std::time::Duration;

pub use claim::{Claim, ClaimToken, KeyState};
pub use error::{StoreError, fenced};
pub use idempotency::IdempotencyStore;
pub use key::{IdempotencyKey, KeyFn, KeyStrategy};
pub use memory::MemoryStore;

/// How long a completed key is kept by default: 72 hours (docs/protocol.md §4.3: longer than any
/// sender's retry window, Stripe's 3 days included).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(72 * 60 * 60);

/// How long a claim is held by default before another delivery may take it over: 5 seconds.
///
/// A receiver renews the claim while its handler runs, so the lease only matters when the holder
/// is gone (a crash, a runtime shut down, a claim the store committed after the receiver stopped
/// waiting). Then it must run out before the sender's next attempt: TinyFish's attempts arrive
/// about 1, 3 and 7 s after the first when each fails fast, and 11, 23 and 37 s after it when
/// each times out, so a 5 s lease lets attempt 4 (fast failures) or attempt 2 (time-outs)
/// process the run.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(5);
