-- The inbox, version 4: what a console reads. Each row keeps when its running (or last) attempt
-- was claimed and how many times it was replayed; the history of its settled attempts (the
-- newest 100 per row) is a table of its own, deleted with the row. Indexes serve every console
-- read without a scan of the table: pages newest first (every state; one state; retrying rows),
-- activity per minute (received rows; finished rows by the index of version 2), the depth
-- counts (by state; held rows; retrying rows) and the oldest pending row.
ALTER TABLE runhook_inbox ADD COLUMN claimed_at INTEGER;
ALTER TABLE runhook_inbox ADD COLUMN replays INTEGER NOT NULL DEFAULT 0;
CREATE TABLE runhook_inbox_attempts (
    key TEXT NOT NULL,
    series INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('done', 'retry', 'dead')),
    error TEXT,
    next_at INTEGER,
    PRIMARY KEY (key, series, attempt)
) WITHOUT ROWID;
CREATE INDEX runhook_inbox_received ON runhook_inbox (received_at, key);
CREATE INDEX runhook_inbox_state ON runhook_inbox (state, received_at, key);
CREATE INDEX runhook_inbox_retrying ON runhook_inbox (received_at, key)
    WHERE state = 'pending' AND last_error IS NOT NULL;
CREATE INDEX runhook_inbox_leased ON runhook_inbox (lease_until)
    WHERE state = 'pending' AND lease_until IS NOT NULL;
