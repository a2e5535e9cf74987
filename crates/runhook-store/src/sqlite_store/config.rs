//! [`SqliteStoreConfig`]: how a [`SqliteStore`](super::SqliteStore) keeps its file.

/// How a [`SqliteStore`](super::SqliteStore) keeps its file; given to
/// [`SqliteStore::open_with`](super::SqliteStore::open_with).
///
/// ```
/// use runhook_store::SqliteStoreConfig;
///
/// // Every acknowledged claim and completion survives a power loss, at the cost of an fsync
/// // per commit.
/// let config = SqliteStoreConfig::default().synchronous_full(true);
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SqliteStoreConfig {
    pub(super) synchronous_full: bool,
}

impl SqliteStoreConfig {
    /// The durability of a commit (SQLite's `PRAGMA synchronous`, in WAL mode). Default `false`:
    ///
    /// - `false`, `synchronous=NORMAL`: a commit survives a crash of the process, but a power
    ///   loss or OS crash may lose the last commits before the next WAL checkpoint (never
    ///   corrupting the file). A lost completion reads as absent or in flight again, so at worst
    ///   an event is processed twice after a power loss.
    /// - `true`, `synchronous=FULL`: the WAL is synced to disk at every commit, so a commit
    ///   also survives a power loss. Slower: one fsync per commit, shared by the operations the
    ///   store groups into that commit.
    pub fn synchronous_full(mut self, full: bool) -> Self {
        self.synchronous_full = full;
        self
    }
}
