-- The idempotency store, version 1: keys (in flight: done = 0, the holder's token and the lease
-- end; done: done = 1 and the end of retention; times in ms since the epoch, by the caller's
-- clock) and the token counter.
CREATE TABLE runhook_idempotency (
    key TEXT PRIMARY KEY NOT NULL,
    done INTEGER NOT NULL,
    token INTEGER NOT NULL,
    until_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX runhook_idempotency_expiry ON runhook_idempotency (done, until_ms);
CREATE TABLE runhook_token (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
INSERT INTO runhook_token (id, last) VALUES (1, 0);
