-- Aggregates of one measure of one indicator per year and breakdown cell (level x key x sex x age group).
-- Run by pipeline.aggregate. Markers: {{unit_table}} (validated table name), {{reporting_region}} (a
-- column name or NULL), {{measure_filter}} (the catalogue's predicate), {{num_persons}} and
-- {{median_value}} (the distinct/holistic aggregates, or NULL when the measure kind does not need
-- them: they are by far the most expensive part). Values are bound: $years, $levels, $flag_tokens.
-- Each unit row is repeated once per breakdown level asked for, so one GROUPING SETS over the splits
-- serves every level. Every cell with at least one unit row is kept, also when its counts are zero
-- (no HAVING); cells without any unit are added by the caller.
with u as (
    select
        year,
        pnr,
        coalesce(in_denominator, false) as in_den,
        coalesce(in_numerator, false) as in_num,
        coalesce(({{measure_filter}}), false) as in_filter,
        coalesce(weight, 1.0) as w,
        cast(value as double) as v,
        -- unit flags as a bit set over the table's distinct flag tokens (exact and cheap to OR up)
        coalesce(list_reduce(
            list_transform(string_split(flags, ','), lambda t: cast(1 as bigint) << (list_position($flag_tokens, t) - 1)),
            lambda a, b: a | b
        ), 0) as flag_bits,
        coalesce(sex, 'unknown') as sex,
        coalesce(age_group, 'unknown') as age_group,
        coalesce(cast(region_code as varchar), 'unknown') as k_region,
        coalesce(cast(region2027_code as varchar), 'unknown') as k_region2027,
        coalesce(cast(sundhedsraad_code as varchar), 'unknown') as k_sundhedsraad,
        coalesce(cast(kom as varchar), 'unknown') as k_kom,
        coalesce(cast({{reporting_region}} as varchar), 'unknown') as k_reporting_region
    from {{unit_table}}
    where year in (select unnest($years))
),
long as (
    select
        u.*,
        l.breakdown_level,
        breakdown_key(l.breakdown_level, k_region, k_region2027, k_sundhedsraad, k_kom, k_reporting_region) as breakdown_key
    from u
    cross join (select unnest($levels) as breakdown_level) as l
)
select
    year,
    breakdown_level,
    breakdown_key,
    case when grouping(sex) = 1 then 'all' else sex end as sex,
    case when grouping(age_group) = 1 then 'all' else age_group end as age_group,
    count(*) as n_rows,
    count(*) filter (where in_den and in_filter) as den,
    count(*) filter (where in_den) as den_all,
    count(*) filter (where in_den and in_num and in_filter) as num,
    count(*) filter (where in_num and in_filter) as num_rows,
    {{num_persons}} as num_persons,
    sum(w) filter (where in_den and in_filter) as sum_w,
    sum(w * w) filter (where in_den and in_filter) as sum_w2,
    sum(w) filter (where in_den and in_num and in_filter) as sum_w_num,
    count(v) filter (where in_den and in_filter) as n_value,
    sum(v) filter (where in_den and in_filter) as sum_value,
    avg(v) filter (where in_den and in_filter) as mean_value,
    {{median_value}} as median_value,
    sum(v) filter (where in_num and in_filter) as sum_value_num,
    bit_or(flag_bits) filter (where (in_den or in_num) and in_filter) as flag_bits
from long
group by year, breakdown_level, breakdown_key, grouping sets ((), (sex), (age_group), (sex, age_group))
