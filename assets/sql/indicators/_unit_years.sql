-- Record the years just written for one indicator in meta.unit_years (inside the write transaction):
-- one row per year of $year_from..$year_to, with zero counts for a year without units.
create schema if not exists meta;
create table if not exists meta.unit_years (
    indicator_id varchar, year integer, units bigint, denominator bigint, numerator bigint, written_at timestamp
);
delete from meta.unit_years where indicator_id = $indicator_id and year between $year_from and $year_to;
insert into meta.unit_years
select
    $indicator_id,
    y.range::integer,
    count(u.year),
    count(u.year) filter (where u.in_denominator),
    count(u.year) filter (where u.in_numerator),
    current_localtimestamp()
from range($year_from, $year_to + 1) y
left join _units_new u on u.year = y.range
group by y.range;
