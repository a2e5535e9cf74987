-- The inbox, version 2: claims walk the pending rows in the order they are due and stop at the
-- limit, whatever the backlog (version 1's (state, next_at) index made every claim sort every
-- pending row); purges find finished rows by state and finish time.
DROP INDEX IF EXISTS {schema}."{name}_due";
CREATE INDEX IF NOT EXISTS "{name}_pending" ON {schema}.{table} (next_at, key)
    WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS "{name}_finished" ON {schema}.{table} (state, finished_at)
    WHERE finished_at IS NOT NULL;
