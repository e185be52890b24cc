-- core.residence: the municipality of each person on 1 January of each bef year (one row per
-- person and year; a person listed twice in one year keeps the last row of the file).
create or replace table core.residence as
select pnr, _year as year, kom
from src_bef
where pnr is not null and _year is not null
qualify row_number() over (partition by pnr, _year order by _source_row desc) = 1;
