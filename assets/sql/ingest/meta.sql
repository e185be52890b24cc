-- Schemas of the ingest layer and the load log (one row per delivery attempt: a register file).
-- Other layers read meta.load_log: the data-quality mart (counts by rule) and the data version
-- (hash of a year's input files). status: loaded | refused | schema_drift | unreadable.
create schema if not exists raw;
create schema if not exists staging;
create schema if not exists quarantine;
create schema if not exists meta;
create table if not exists meta.load_log (
    register          VARCHAR   not null,
    year              INTEGER,             -- file year; NULL for one-file registers
    file              VARCHAR   not null,  -- file name, no folder
    rows_read         BIGINT,
    rows_staged       BIGINT,              -- 0 when the delivery was refused
    rows_quarantined  BIGINT,
    rule_counts       JSON,                -- {"column:rule": rows, ...}; counts only
    status            VARCHAR   not null,
    loaded_at         TIMESTAMP not null,
    file_hash         VARCHAR,             -- sha256 of the file's bytes
    run_id            VARCHAR,             -- Dagster run id
    message           VARCHAR,             -- why a delivery was refused or stopped (no row contents)
    file_format       VARCHAR,             -- parquet | csv | sas7bdat
    column_types      JSON,                -- {"column": kind in the file}, for the schema-drift check
    max_rows          BIGINT,              -- the register's thresholds when the delivery was judged
    max_share         DOUBLE
);
-- The raw archive behind the views raw.<register>: per register and year, the file that keeps the
-- current accepted delivery's rows as read, in `<warehouse file>.raw/<register>/` (assets/ingest.py).
create table if not exists meta.raw_files (
    register        VARCHAR   not null,
    year            INTEGER,             -- file year; NULL for one-file registers
    file            VARCHAR   not null,  -- the delivered file's name, no folder
    archive         VARCHAR   not null,  -- the archive file's name in <warehouse>.raw/<register>/
    archive_format  VARCHAR   not null,  -- delivered (the Parquet or CSV file as delivered) | text (rows as read)
    file_hash       VARCHAR,             -- sha256 of the delivered file (NULL: migrated from a raw table)
    rows            BIGINT    not null,  -- rows read
    loaded_at       TIMESTAMP not null,
    csv_encoding    VARCHAR,             -- the encoding a delivered CSV was read in (utf-8 | latin-1)
    archive_bytes   BIGINT               -- the archive file's size when written (row_conservation checks it)
);
alter table meta.raw_files add column if not exists csv_encoding VARCHAR;
alter table meta.raw_files add column if not exists archive_bytes BIGINT;
