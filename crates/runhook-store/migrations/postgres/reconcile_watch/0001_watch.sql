-- The reconcile state's watch list, version 1: the runs each scope checks again, each since the
-- sweep that first saw it (ms since the epoch, by the caller's clock), read longest watched first
-- (run ids compared bytewise). {schema} and {table} are quoted identifiers, {name} the table's
-- bare name.
CREATE TABLE IF NOT EXISTS {schema}.{table} (
    scope text COLLATE "C" NOT NULL,
    run_id text COLLATE "C" NOT NULL,
    since_ms bigint NOT NULL,
    PRIMARY KEY (scope, run_id)
);
CREATE INDEX IF NOT EXISTS "{name}_since" ON {schema}.{table} (scope, since_ms, run_id);
