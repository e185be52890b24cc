-- Stratum counts for direct standardisation of one std_share measure (pipeline.aggregate).
-- Per year, breakdown cell and stratum: denominator and numerator units, joined to the standard
-- population: the denominator units of $standard_year at national level, per split value of the cell
-- (sex and age group, 'all' = not split). Markers {{unit_table}}, the cell keys (as in
-- aggregate_cells.sql), {{measure_filter}}, {{stratum}} are replaced by validated names / catalogue text; values are bound.
-- The units are first counted per finest cell and stratum (a few thousand rows), then rolled up per
-- level and grouping set: exact counts without repeating every unit row once per level.
with u as (
    select
        year,
        coalesce(in_numerator, false) as in_num,
        coalesce(cast({{stratum}} as varchar), 'unknown') as stratum,
        {{cell_keys}}
    from {{unit_table}}
    where (year in (select unnest($years)) or year = $standard_year)
      and coalesce(in_denominator, false)
      and coalesce(({{measure_filter}}), false)
),
fine as (
    select
        year, stratum, sex, age_group, k_region, k_region2027, k_sundhedsraad, k_kom, k_reporting_region,
        count(*) as den,
        count(*) filter (where in_num) as num
    from u
    where u.year in (select unnest($years))
    group by all
),
long as (
    select
        fine.*,
        l.breakdown_level,
        breakdown_key(l.breakdown_level, k_region, k_region2027, k_sundhedsraad, k_kom, k_reporting_region) as breakdown_key
    from fine
    cross join (select unnest($levels) as breakdown_level) as l
),
cells as (
    select
        year,
        breakdown_level,
        breakdown_key,
        case when grouping(sex) = 1 then 'all' else sex end as sex,
        case when grouping(age_group) = 1 then 'all' else age_group end as age_group,
        stratum,
        cast(sum(den) as bigint) as den,
        cast(sum(num) as bigint) as num
    from long
    group by year, breakdown_level, breakdown_key, stratum, grouping sets ((), (sex), (age_group), (sex, age_group))
),
standard as (
    select
        case when grouping(sex) = 1 then 'all' else sex end as sex,
        case when grouping(age_group) = 1 then 'all' else age_group end as age_group,
        stratum,
        count(*) as std_n
    from u
    where year = $standard_year
    group by stratum, grouping sets ((), (sex), (age_group), (sex, age_group))
),
std_totals as (
    select sex, age_group, count(*) as n_std_strata from standard group by sex, age_group
)
select
    c.year, c.breakdown_level, c.breakdown_key, c.sex, c.age_group, c.stratum, c.den, c.num,
    coalesce(s.std_n, 0) as std_n,
    coalesce(t.n_std_strata, 0) as n_std_strata
from cells as c
left join standard as s using (sex, age_group, stratum)
left join std_totals as t using (sex, age_group)
