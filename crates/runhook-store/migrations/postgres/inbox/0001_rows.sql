-- The inbox, version 1: the rows (times in ms since the epoch, by the caller's clock; drift as
-- JSON text; keys and run ids compared bytewise), their indexes for claims and runs, tokens from
-- a sequence. {schema} and {table} are quoted identifiers, {name} the table's bare name.
CREATE SEQUENCE IF NOT EXISTS {schema}."{name}_token" AS bigint MINVALUE 1;
CREATE TABLE IF NOT EXISTS {schema}.{table} (
    key text COLLATE "C" PRIMARY KEY,
    run_id text COLLATE "C",
    event text NOT NULL,
    received_at bigint NOT NULL,
    body bytea NOT NULL,
    drift text NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
    attempts integer NOT NULL,
    next_at bigint NOT NULL,
    lease_until bigint,
    token bigint NOT NULL,
    last_error text,
    finished_at bigint
);
CREATE INDEX IF NOT EXISTS "{name}_due" ON {schema}.{table} (state, next_at);
CREATE INDEX IF NOT EXISTS "{name}_run" ON {schema}.{table} (run_id, state, received_at, key);
