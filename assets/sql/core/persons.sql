-- core.persons: one row per person in bef; the latest bef year (then the last row) wins.
create or replace table core.persons as
select pnr, koen, foed_dag
from src_bef
where pnr is not null
qualify row_number() over (partition by pnr order by _year desc nulls last, _source_row desc) = 1;
