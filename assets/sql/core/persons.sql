-- core.persons: one row per person in bef; the latest bef year (then the last row of the file) wins.
-- first_bef_year: the person's first bef year, so their first core.residence row (a residence lookup
-- for year Y whose person was first in bef in Y - 1 or later need not search the history; see
-- assets/sql/indicators/_residence_few_years.sql).
-- One hash aggregate per person (arg_max over the ordering key) instead of a window sort; a NULL
-- year or row number ranks lowest, as NULLS LAST in a descending order would. The ordering key is
-- one BIGINT, year * 2^32 + (row + 1), which orders as (year, row) does for every INTEGER year and
-- every data row below 2^32 - 1 (contact_key makes the same assumption): cheaper to compare than a
-- struct.
create or replace table core.persons as
select pnr, latest.koen, latest.foed_dag, first_bef_year
from (
    select pnr,
           arg_max_null(struct_pack(koen, foed_dag),
                        coalesce(cast(_year as bigint), -2147483648) * 4294967296
                        + coalesce(_source_row, -1) + 1) as latest,
           min(_year)::integer as first_bef_year
    from src_bef
    where pnr is not null
    group by pnr
);
