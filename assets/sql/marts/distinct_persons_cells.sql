-- Distinct persons in the numerator of one distinct_persons measure per year and breakdown cell
-- (pipeline.aggregate). Exact, without count(distinct) over every unit row per grouping set: the units
-- are first reduced to one row per person and finest cell (year, sex, age group, key at every level),
-- then to one row per person and cell of each level, and only that small set is counted per grouping
-- set. A person with units in two cells of a level counts once in each (regions can sum to more than
-- the nation). Markers as in aggregate_cells.sql plus {{measure_filter}}; values: $years, $levels.
with d as (
    select distinct
        year,
        pnr,
        {{cell_keys}}
    from {{unit_table}}
    where year in (select unnest($years))
      and pnr is not null
      and coalesce(in_numerator, false)
      and coalesce(({{measure_filter}}), false)
),
long as (
    select distinct
        year,
        pnr,
        sex,
        age_group,
        l.breakdown_level,
        breakdown_key(l.breakdown_level, k_region, k_region2027, k_sundhedsraad, k_kom, k_reporting_region) as breakdown_key
    from d
    cross join (select unnest($levels) as breakdown_level) as l
)
select
    year,
    breakdown_level,
    breakdown_key,
    case when grouping(sex) = 1 then 'all' else sex end as sex,
    case when grouping(age_group) = 1 then 'all' else age_group end as age_group,
    count(distinct pnr) as num_persons
from long
group by year, breakdown_level, breakdown_key, grouping sets ((), (sex), (age_group), (sex, age_group))
