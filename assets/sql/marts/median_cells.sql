-- Exact median of `value` over the denominator units of one median measure per year and breakdown
-- cell (pipeline.aggregate), without sorting every unit row once per grouping set: the units are
-- reduced to (finest cell, value, how many), rolled up per level and grouping set, and the median is
-- read off the cumulative counts. As DuckDB's median (quantile_cont 0.5): with n values sorted, the
-- values at 0-based positions floor((n-1)/2) and ceil((n-1)/2), lo + (hi - lo) * 0.5 when they differ.
-- Markers as in distinct_persons_cells.sql; values: $years, $levels.
with vc as (
    select
        year,
        cast(value as double) as v,
        {{cell_keys}},
        count(*) as c
    from {{unit_table}}
    where year in (select unnest($years))
      and value is not null
      and coalesce(in_denominator, false)
      and coalesce(({{measure_filter}}), false)
    group by all
),
long as (
    select
        vc.*,
        l.breakdown_level,
        breakdown_key(l.breakdown_level, k_region, k_region2027, k_sundhedsraad, k_kom, k_reporting_region) as breakdown_key
    from vc
    cross join (select unnest($levels) as breakdown_level) as l
),
cell_values as (
    select
        year,
        breakdown_level,
        breakdown_key,
        case when grouping(sex) = 1 then 'all' else sex end as sex,
        case when grouping(age_group) = 1 then 'all' else age_group end as age_group,
        v,
        sum(c) as c
    from long
    group by year, breakdown_level, breakdown_key, v, grouping sets ((), (sex), (age_group), (sex, age_group))
),
cumulative as (
    select
        *,
        sum(c) over (partition by year, breakdown_level, breakdown_key, sex, age_group order by v
                     rows between unbounded preceding and current row) as upto,
        sum(c) over (partition by year, breakdown_level, breakdown_key, sex, age_group) as n
    from cell_values
),
middle as (
    select
        year, breakdown_level, breakdown_key, sex, age_group,
        -- 1-based positions of the two middle values: floor((n-1)/2)+1 and floor(n/2)+1
        min(v) filter (where upto >= (n - 1) // 2 + 1) as v_lo,
        min(v) filter (where upto >= n // 2 + 1) as v_hi
    from cumulative
    group by year, breakdown_level, breakdown_key, sex, age_group
)
select
    year, breakdown_level, breakdown_key, sex, age_group,
    case when v_lo = v_hi then v_lo else v_lo + (v_hi - v_lo) * 0.5 end as median_value
from middle
