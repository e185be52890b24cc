-- What the core build records of its writes of the checked tables (contacts, stays), and what their
-- checks found, so that a check after a partial write can look at the written rows only
-- (assets/core.py: run_core_check). Counts and stay ids only; no person ids, no free text.
create schema if not exists meta;

-- One row per write of a checked table, in the write's transaction: the write's number per table
-- (seq), the years it replaced ('all' = rebuilt whole), and the table's row counts before and after
-- (comma-separated, one per table it writes), which tell a write outside this record.
create table if not exists meta.core_writes (
    table_name VARCHAR, seq BIGINT, years VARCHAR, rows_before VARCHAR, rows_after VARCHAR, written_at TIMESTAMP
);

-- The stay ids the last partial stays write inserted (core.stays and core.stay_contacts), replaced by
-- each stays write.
create table if not exists meta.stays_written (seq BIGINT, stay_id BIGINT);

-- One row per check run: the write it checked (seq, NULL if the table has no recorded write), full or
-- bounded, the verdict, the counts (JSON) and the row counts it saw.
create table if not exists meta.core_checks (
    check_name VARCHAR, table_name VARCHAR, seq BIGINT, mode VARCHAR, passed BOOLEAN, counts VARCHAR,
    row_counts VARCHAR, checked_at TIMESTAMP
);
