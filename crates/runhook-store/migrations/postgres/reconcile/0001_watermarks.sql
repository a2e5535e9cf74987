-- The reconcile state's watermarks, version 1: one row per scope (one reconciler's state, e.g.
-- one per API account), the creation time its next sweep lists runs after (ms since the epoch,
-- by the caller's clock). {schema} and {table} are quoted identifiers, {name} the table's bare
-- name.
CREATE TABLE IF NOT EXISTS {schema}.{table} (
    scope text COLLATE "C" PRIMARY KEY,
    watermark_ms bigint NOT NULL
);
