-- The reconcile state, version 1: for each scope (one reconciler's state, e.g. one per API
-- account), its watermark (the creation time its next sweep lists runs after) and its watch list
-- (runs to check again, each since the sweep that first saw it); times in ms since the epoch, by
-- the caller's clock. The watch list is read longest watched first.
CREATE TABLE runhook_reconcile (
    scope TEXT PRIMARY KEY NOT NULL,
    watermark_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE runhook_reconcile_watch (
    scope TEXT NOT NULL,
    run_id TEXT NOT NULL,
    since_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, run_id)
) WITHOUT ROWID;
CREATE INDEX runhook_reconcile_watch_since ON runhook_reconcile_watch (scope, since_ms, run_id);
