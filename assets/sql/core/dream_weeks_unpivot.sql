-- core.dream_weeks: DREAM wide -> long, one row per person and non-empty week (set-based UNPIVOT;
-- UNPIVOT drops NULL cells, empty strings are dropped here). Runs only when staging.dream has week
-- columns (see dream_weeks.sql for the shell and the coverage). The ISO year and week come from a
-- join with the week columns (one parse per column instead of one per cell: ~20 % faster).
insert into core.dream_weeks
with weeks as (
    select column_name as week_col,
           2000 + cast(substr(column_name, 3, 2) as integer) as iso_year,
           cast(substr(column_name, 5, 2) as integer) as iso_week
    from information_schema.columns
    where table_schema = 'staging' and table_name = 'dream'
      and regexp_full_match(column_name, 'y_[0-9]{2}(0[1-9]|[1-4][0-9]|5[0-3])')
)
select u.pnr, w.iso_year, w.iso_week, trim(u.code) as code
from (
    unpivot (select pnr, columns('^y_[0-9]{2}(0[1-9]|[1-4][0-9]|5[0-3])$') from staging.dream)
    on columns(* exclude (pnr))
    into name week_col value code
) as u
join weeks as w on w.week_col = u.week_col
where u.pnr is not null and trim(u.code) <> '';
