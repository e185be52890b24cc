-- Shared helpers for the indicator unit SQL (temporary macros on the run's connection).

-- Completed years on `ref`: a person becomes a year older on the birthday's month and day; someone
-- born on 29 February becomes older on 1 March in non-leap years (28 February is still before it).
create or replace temp macro completed_years(birth, ref) as
    year(ref) - year(birth)
    - case when month(ref) * 100 + day(ref) < month(birth) * 100 + day(birth) then 1 else 0 end;

create or replace temp macro sex_label(koen) as
    case koen when 1 then 'male' when 2 then 'female' else 'unknown' end;

-- Two-way child/adult split; the last child age is the indicator's parameter (17 or 18).
create or replace temp macro child_adult(age, child_max_age) as
    case when age is null then 'unknown' when age <= child_max_age then 'children' else 'adults' end;

-- Label of the band whose lower bound is the largest one <= age, e.g. bounds [0, 13, 18] -> '13-17'.
create or replace temp macro age_band(age, lower_bounds) as
    case
        when age is null or age < lower_bounds[1] then 'unknown'
        when len(list_filter(lower_bounds, lambda b: b <= age)) = len(lower_bounds)
            then lower_bounds[len(lower_bounds)]::varchar || '+'
        else lower_bounds[len(list_filter(lower_bounds, lambda b: b <= age))]::varchar || '-'
            || (lower_bounds[len(list_filter(lower_bounds, lambda b: b <= age)) + 1] - 1)::varchar
    end;

-- ISO week key of a date as (iso_year, iso_week), for lookups in core.dream_weeks / dream_coverage.
create or replace temp macro iso_key(d) as {'iso_year': isoyear(d)::integer, 'iso_week': weekofyear(d)::integer};

-- Residence of each (pnr, year) of a CTE or table: `bef` on 1 January of the year, else the latest
-- earlier `bef` (rows with an empty kom are skipped, as arg_max skips them). An equi-join on pnr with
-- one row per person and bef year, so it stays linear, unlike a range or ASOF join (which DuckDB
-- planned as a nested loop here). This plan reads core.residence once, all years up to the last one
-- asked: the cheapest for runs over many years. A run over few years redefines the macro with
-- _residence_few_years.sql (same rows). Use: left join residence_asof(units) r
create or replace temp macro residence_asof(source) as table
    select q.pnr, q.year, arg_max(res.kom, res.year) as kom
    from (select distinct pnr, year from query_table(source)) q
    join core.residence res on res.pnr = q.pnr and res.year <= q.year
    group by q.pnr, q.year;
