//! [`SqliteConfig`]: how a [`SqliteStore`](crate::SqliteStore) or a
//! [`SqliteInbox`](crate::SqliteInbox) keeps its file.

/// How a [`SqliteStore`](crate::SqliteStore) or a [`SqliteInbox`](crate::SqliteInbox) keeps its
/// file; given to [`SqliteStore::open_with`](crate::SqliteStore::open_with) or
/// [`SqliteInbox::open_with`](crate::SqliteInbox::open_with).
///
/// ```
/// use runhook_store::SqliteConfig;
///
/// // Every acknowledged claim and completion survives a power loss, at the cost of an fsync
/// // per commit.
/// let config = SqliteConfig::default().synchronous_full(true);
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SqliteConfig {
    pub(crate) synchronous_full: bool,
}

/// The former name of [`SqliteConfig`].
#[deprecated(note = "renamed SqliteConfig: it configures the SQLite inbox too")]
pub type SqliteStoreConfig = SqliteConfig;

impl SqliteConfig {
    /// The durability of a commit (SQLite's `PRAGMA synchronous`, in WAL mode). Default `false`
    /// (but [`SqliteInbox::open`](crate::SqliteInbox::open) uses `true`):
    ///
    /// - `false`, `synchronous=NORMAL`: a commit survives a crash of the process, but a power
    ///   loss or OS crash may lose the last commits before the next WAL checkpoint (never
    ///   corrupting the file). A lost completion reads as absent or in flight again, so at worst
    ///   an event is processed twice after a power loss.
    /// - `true`, `synchronous=FULL`: the WAL is synced to disk at every commit, so a commit
    ///   also survives a power loss. Slower: one fsync per commit, shared by the operations the
    ///   writer groups into that commit.
    pub fn synchronous_full(mut self, full: bool) -> Self {
        self.synchronous_full = full;
        self
    }
}
