-- core.data_end: the last day covered by the LPR extracts. $configured (PSYK_DATA_END) wins;
-- otherwise 31 December of the latest LPR file year among the contacts (NULL without contacts).
create or replace table core.data_end as
select coalesce(
    cast($configured as date),
    make_date(max(coalesce(source_year, year(start_ts))), 12, 31)
) as data_end
from core.contacts;
