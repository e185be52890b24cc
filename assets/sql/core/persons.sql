-- core.persons: one row per person in bef; the latest bef year (then the last row of the file) wins.
-- One hash aggregate per person (arg_max over the ordering key) instead of a window sort; a NULL
-- year or row number ranks lowest, as NULLS LAST in a descending order would.
create or replace table core.persons as
select pnr, latest.koen, latest.foed_dag
from (
    select pnr,
           arg_max_null(struct_pack(koen, foed_dag),
                        struct_pack(y := coalesce(_year, -2147483648), r := coalesce(_source_row, -1))) as latest
    from src_bef
    where pnr is not null
    group by pnr
);
