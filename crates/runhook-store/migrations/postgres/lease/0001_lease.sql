-- The maintenance lease, version 1: one row per task name, held by one replica until expires_at
-- (by the database's clock). {schema} and {table} are quoted identifiers, {name} the table's
-- bare name.
CREATE TABLE IF NOT EXISTS {schema}.{table} (
    task text PRIMARY KEY,
    leader_id text NOT NULL,
    expires_at timestamptz NOT NULL
);
