//! [`RedisStore`]: an idempotency store on Redis, shared by any number of replicas.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use runhook::store::{Claim, ClaimToken, IdempotencyKey, IdempotencyStore, KeyState, StoreError};

use crate::PURGE_MARGIN;
use crate::millis::{millis, millis_since_epoch};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one command may take; a receiver bounds its own store calls too.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// An [`IdempotencyStore`] on Redis.
///
/// Each key is a hash `{s: "i" | "d", t: token, u: until}` under a configurable prefix, read and
/// changed by one Lua script per operation, so every operation is atomic on the server (of any
/// number of concurrent claims of one key, exactly one gets [`Claim::Acquired`]). Tokens come
/// from one counter (`INCR`) under the prefix.
///
/// **Which clock decides.** The caller's: lease ends and retentions are the `now` passed in
/// plus the lease or retention, as in the in-memory store, so a receiver's clock (and a test's
/// virtual one) decides. Redis's own TTL only removes a key [`PURGE_MARGIN`] after the
/// store stopped needing it. Under a clock skew of *d* between two replicas, a lease taken by one
/// looks *d* longer or shorter to the other; keep replicas on NTP (skew well under the 5 s
/// lease).
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    scripts: Arc<Scripts>,
}

/// The Lua scripts, hashed once (each call sends `EVALSHA`, loading the script on a miss).
struct Scripts {
    claim: Script,
    settle: Script,
    state: Script,
}

impl RedisStore {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "runhook:idempotency:";

    /// Connects to `url` (`redis://host:port/db`), with the default prefix. Fails at once if the
    /// server cannot be reached, so a bad URL is found at start, not on the first request.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_prefix(url, Self::DEFAULT_PREFIX).await
    }

    /// Connects to `url` with another key prefix (one per application or test run).
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(2);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        let store = RedisStore {
            connection,
            prefix: prefix.to_owned(),
            scripts: Arc::new(Scripts {
                claim: Script::new(CLAIM),
                settle: Script::new(SETTLE),
                state: Script::new(STATE),
            }),
        };
        let mut connection = store.connection.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(store)
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, key: &IdempotencyKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    fn counter(&self) -> String {
        format!("{}\u{0}token", self.prefix)
    }

    async fn run(
        &self,
        script: &Script,
        keys: &[String],
        args: &[i64],
    ) -> Result<Vec<u64>, StoreError> {
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.connection.clone();
        invocation
            .invoke_async::<Vec<u64>>(&mut connection)
            .await
            .map_err(unavailable)
    }
}

/// Claims a key: `{0, token}` acquired, `{1, ms left}` in flight, `{2, 0}` done.
const CLAIM: &str = r"
local v = redis.call('HMGET', KEYS[1], 's', 'u')
local now = tonumber(ARGV[1])
if v[1] and tonumber(v[2]) > now then
  if v[1] == 'd' then return {2, 0} end
  return {1, tonumber(v[2]) - now}
end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 's', 'i', 't', token, 'u', now + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[3]))
return {0, token}
";

/// Completes (ARGV[4] = 1), renews (2) or releases (3) the claim of token ARGV[1]: `{1}` done,
/// `{0}` not held.
const SETTLE: &str = r"
local v = redis.call('HMGET', KEYS[1], 's', 't')
if v[1] ~= 'i' or v[2] ~= ARGV[1] then return {0} end
local op = tonumber(ARGV[4])
if op == 3 then
  redis.call('DEL', KEYS[1])
  return {1}
end
local state = 'i'
if op == 1 then state = 'd' end
redis.call('HSET', KEYS[1], 's', state, 'u', tonumber(ARGV[2]) + tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[5]))
return {1}
";

/// The state of a key: `{0}` absent, `{1}` in flight, `{2}` done.
const STATE: &str = r"
local v = redis.call('HMGET', KEYS[1], 's', 'u')
if not v[1] or tonumber(v[2]) <= tonumber(ARGV[1]) then return {0} end
if v[1] == 'd' then return {2} end
return {1}
";

const COMPLETE: i64 = 1;
const RENEW: i64 = 2;
const RELEASE: i64 = 3;

#[async_trait]
impl IdempotencyStore for RedisStore {
    async fn claim(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let keys = [self.key(key), self.counter()];
        let args = [millis_since_epoch(now), millis(lease), millis(PURGE_MARGIN)];
        let answer = self.run(&self.scripts.claim, &keys, &args).await?;
        match answer.as_slice() {
            [0, token] => Ok(Claim::Acquired(ClaimToken::new(*token))),
            [1, left] => Ok(Claim::InFlight {
                retry_after: Duration::from_millis(*left),
            }),
            [2, _] => Ok(Claim::Done),
            other => Err(StoreError::Unavailable {
                message: format!("unexpected answer from the claim script: {other:?}"),
            }),
        }
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        retention: Duration,
    ) -> Result<(), StoreError> {
        self.settle(key, token, now, retention, COMPLETE).await
    }

    async fn release(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        self.settle(key, token, now, Duration::ZERO, RELEASE).await
    }

    async fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError> {
        self.settle(key, token, now, lease, RENEW).await
    }

    async fn state(&self, key: &IdempotencyKey, now: SystemTime) -> Result<KeyState, StoreError> {
        let keys = [self.key(key)];
        let answer = self
            .run(&self.scripts.state, &keys, &[millis_since_epoch(now)])
            .await?;
        Ok(match answer.as_slice() {
            [2] => KeyState::Done,
            [1] => KeyState::InFlight,
            _ => KeyState::Absent,
        })
    }
}

impl RedisStore {
    async fn settle(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        span: Duration,
        op: i64,
    ) -> Result<(), StoreError> {
        let keys = [self.key(key)];
        let args = [
            i64::try_from(token.get()).unwrap_or(i64::MAX),
            millis_since_epoch(now),
            millis(span),
            op,
            millis(PURGE_MARGIN),
        ];
        let answer = self.run(&self.scripts.settle, &keys, &args).await?;
        runhook::store::fenced(key, matches!(answer.as_slice(), [1]))
    }
}

/// A Redis error as the store's: the server is unreachable or failed.
fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError::Unavailable {
        message: format!("Redis: {error}"),
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}
