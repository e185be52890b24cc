-- core.deaths: one row per person, the earliest registered death (a row with a cause wins a tie).
create or replace table core.deaths as
select pnr, doddato, nullif(upper(trim(c_dodsaarsag)), '') as c_dodsaarsag
from src_dod
where pnr is not null and doddato is not null
qualify row_number() over (
    partition by pnr
    order by doddato, (nullif(trim(c_dodsaarsag), '') is null), _source_row
) = 1;
