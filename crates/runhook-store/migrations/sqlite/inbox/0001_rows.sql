-- The inbox, version 1: the rows (times in ms since the epoch, by the caller's clock; drift as
-- JSON text), their indexes for claims and runs, and the token counter.
CREATE TABLE runhook_inbox (
    key TEXT PRIMARY KEY NOT NULL,
    run_id TEXT,
    event TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    body BLOB NOT NULL,
    drift TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
    attempts INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    lease_until INTEGER,
    token INTEGER NOT NULL,
    last_error TEXT,
    finished_at INTEGER
);
CREATE INDEX runhook_inbox_due ON runhook_inbox (state, next_at);
CREATE INDEX runhook_inbox_run ON runhook_inbox (run_id, state, received_at, key);
CREATE TABLE runhook_inbox_token (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
INSERT INTO runhook_inbox_token (id, last) VALUES (1, 0);
