//! The stores' part in [`Maintenance`](crate::Maintenance): what it purges here, and who leads.

use std::time::SystemTime;

use async_trait::async_trait;
use runhook::store::StoreError;
#[cfg(feature = "postgres")]
use runhook_receiver::maintenance::Leadership;
use runhook_receiver::maintenance::Purgeable;

#[cfg(feature = "sqlite")]
#[async_trait]
impl Purgeable for crate::SqliteStore {
    async fn purge(&self, now: SystemTime) -> Result<u64, StoreError> {
        crate::SqliteStore::purge(self, now).await
    }
}

#[cfg(feature = "postgres")]
#[async_trait]
impl Purgeable for crate::PostgresStore {
    async fn purge(&self, now: SystemTime) -> Result<u64, StoreError> {
        crate::PostgresStore::purge(self, now).await
    }
}

#[cfg(feature = "postgres")]
#[async_trait]
impl Leadership for crate::PostgresLease {
    async fn lead(&self) -> Result<bool, StoreError> {
        self.acquire().await
    }
}
