//! The garbage-collection margin every durable store keeps keys for.

use std::time::Duration;

/// How long a durable store keeps a key past the time the store's own logic needs it: the
/// garbage-collection margin (one hour) of Redis's key TTLs and of the SQLite store's pruning of
/// abandoned claims, so clock skew between callers never removes a key early, and a holder past
/// its lease that nobody took over can still complete within the margin.
pub const GC_MARGIN: Duration = Duration::from_secs(60 * 60);
