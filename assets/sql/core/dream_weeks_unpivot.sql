-- core.dream_weeks: DREAM wide -> long for the week columns of one ISO year ($iso_year; its columns
-- y_YYWW, YY = $yy), one row per person and non-empty week (set-based UNPIVOT; UNPIVOT drops NULL
-- cells, empty strings are dropped here). Runs once per year of core.dream_coverage, in year order
-- (core.py, _build_dream), so the table is stored ordered by iso_year: a query over a few years (P5,
-- P6 of one year) skips the other years' row groups by their min/max, instead of reading all 171 M
-- rows of a national extract. Each pass reads only its own year's columns, so the whole build costs
-- what one pass over every column did.
insert into core.dream_weeks
select u.pnr, cast($iso_year as integer) as iso_year, cast(substr(u.week_col, 5, 2) as integer) as iso_week,
       trim(u.code) as code
from (
    unpivot (select pnr, columns('^y_' || $yy || '(0[1-9]|[1-4][0-9]|5[0-3])$') from staging.dream)
    on columns(* exclude (pnr))
    into name week_col value code
) as u
where u.pnr is not null and trim(u.code) <> '';
