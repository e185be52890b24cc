-- core.dream_weeks: DREAM wide -> long, one row per person and non-empty week (set-based UNPIVOT;
-- UNPIVOT drops NULL cells, empty strings are dropped here). Runs only when staging.dream has week
-- columns (see dream_weeks.sql for the shell and the coverage).
insert into core.dream_weeks
select pnr,
       2000 + cast(substr(week_col, 3, 2) as integer) as iso_year,
       cast(substr(week_col, 5, 2) as integer) as iso_week,
       trim(code) as code
from (
    unpivot (select pnr, columns('^y_[0-9]{2}(0[1-9]|[1-4][0-9]|5[0-3])$') from staging.dream)
    on columns(* exclude (pnr))
    into name week_col value code
)
where pnr is not null and trim(code) <> '';
