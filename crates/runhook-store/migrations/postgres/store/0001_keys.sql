-- The idempotency store, version 1: one row per key ('in_flight' with the holder's token and
-- lease end, or 'done' with the end of retention; ms since the epoch, by the caller's clock),
-- tokens from a sequence. {schema} and {table} are quoted identifiers, {name} the table's bare
-- name.
CREATE SEQUENCE IF NOT EXISTS {schema}."{name}_token" AS bigint MINVALUE 1;
CREATE TABLE IF NOT EXISTS {schema}.{table} (
    key text PRIMARY KEY,
    state text NOT NULL CHECK (state IN ('in_flight', 'done')),
    token bigint NOT NULL,
    until_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS "{name}_until" ON {schema}.{table} (until_ms);
