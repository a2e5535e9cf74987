//! The purge margin every durable store keeps keys for.

use std::time::Duration;

/// How long a durable store keeps a key past the time the store's own logic needs it: the
/// purge margin (one hour) of Redis's key TTLs and of the SQLite and PostgreSQL stores' purges
/// of abandoned claims, so clock skew between callers never removes a key early, and a holder
/// past its lease that nobody took over can still complete within the margin.
pub const PURGE_MARGIN: Duration = Duration::from_secs(60 * 60);

/// The former name of [`PURGE_MARGIN`].
#[deprecated(note = "renamed PURGE_MARGIN")]
pub const GC_MARGIN: Duration = PURGE_MARGIN;
