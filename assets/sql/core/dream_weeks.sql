-- core.dream_weeks (empty shell) and core.dream_coverage: every week column of staging.dream
-- (y_YYWW -> ISO year 20YY, ISO week WW), so "outside the extract" is a lookup. Without a
-- staging.dream table the coverage is empty.
create or replace table core.dream_weeks (pnr varchar, iso_year integer, iso_week integer, code varchar);

create or replace table core.dream_coverage as
select distinct 2000 + cast(substr(column_name, 3, 2) as integer) as iso_year,
       cast(substr(column_name, 5, 2) as integer) as iso_week
from information_schema.columns
where table_schema = 'staging' and table_name = 'dream'
  and regexp_full_match(lower(column_name), 'y_[0-9]{2}(0[1-9]|[1-4][0-9]|5[0-3])')
order by iso_year, iso_week;
