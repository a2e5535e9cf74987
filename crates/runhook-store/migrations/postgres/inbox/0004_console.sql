-- The inbox, version 4: what a console reads. Each row keeps when its running (or last) attempt
-- was claimed and how many times it was replayed; the history of its settled attempts (the
-- newest 100 per row) is a table of its own, "{name}_attempts", deleted with the row. Indexes
-- serve every console read without a scan of the table: pages newest first (every state; one
-- state; retrying rows), activity per minute (received rows; finished rows by the index of
-- version 2), the depth counts (by state; held rows; retrying rows) and the oldest pending row.
ALTER TABLE {schema}.{table} ADD COLUMN IF NOT EXISTS claimed_at bigint;
ALTER TABLE {schema}.{table} ADD COLUMN IF NOT EXISTS replays integer NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS {schema}."{name}_attempts" (
    key text COLLATE "C" NOT NULL,
    series integer NOT NULL,
    attempt integer NOT NULL,
    started_at bigint NOT NULL,
    finished_at bigint NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('done', 'retry', 'dead')),
    error text,
    next_at bigint,
    PRIMARY KEY (key, series, attempt)
);
CREATE INDEX IF NOT EXISTS "{name}_received" ON {schema}.{table} (received_at, key);
CREATE INDEX IF NOT EXISTS "{name}_state" ON {schema}.{table} (state, received_at, key);
CREATE INDEX IF NOT EXISTS "{name}_retrying" ON {schema}.{table} (received_at, key)
    WHERE state = 'pending' AND last_error IS NOT NULL;
CREATE INDEX IF NOT EXISTS "{name}_leased" ON {schema}.{table} (lease_until)
    WHERE state = 'pending' AND lease_until IS NOT NULL;
