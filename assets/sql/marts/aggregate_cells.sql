-- Aggregates of every measure of one indicator per year and breakdown cell (level x key x sex x age
-- group), in one pass over the unit table. Run by pipeline.aggregate. Markers: {{unit_table}}
-- (validated table name), cell_keys (the unit's sex, age group and key k_<level> at every level,
-- 'unknown' where it has none, NULL for a level not asked for, so a national-only run groups by no
-- geography at all; written by aggregate._sql_parts), {{filters}} (a list of the
-- catalogue's measure predicates, one boolean per measure, in catalogue order). Values are bound:
-- $years, $levels, $n_measures, $flag_tokens.
-- Two steps: (1) every unit row is counted once per measure into its finest cell (year, sex, age
-- group and its key at every level): a few thousand rows however many units; (2) the finest cells
-- are repeated once per breakdown level and rolled up with GROUPING SETS over the splits. Counts and
-- sums add up exactly; the distinct-person counts and medians, which do not add up, are computed by
-- distinct_persons_cells.sql and median_cells.sql. Every cell with at least one unit row is kept,
-- also when its counts are zero (no HAVING); cells without any unit are added by the caller.
with u as (
    select
        year,
        coalesce(in_denominator, false) as in_den,
        coalesce(in_numerator, false) as in_num,
        {{filters}} as filters,
        coalesce(weight, 1.0) as w,
        cast(value as double) as v,
        -- unit flags as a bit set over the table's distinct flag tokens (exact and cheap to OR up)
        coalesce(list_reduce(
            list_transform(string_split(flags, ','), lambda t: cast(1 as bigint) << (list_position($flag_tokens, t) - 1)),
            lambda a, b: a | b
        ), 0) as flag_bits,
        {{cell_keys}}
    from {{unit_table}}
    where year in (select unnest($years))
),
per_measure as (
    select u.* exclude (filters), m.measure_ix, u.filters[m.measure_ix] as in_filter
    from u
    cross join (select unnest(range(1, $n_measures + 1)) as measure_ix) as m
),
fine as (
    select
        measure_ix, year, sex, age_group, k_region, k_region2027, k_sundhedsraad, k_kom, k_reporting_region,
        count(*) as n_rows,
        count(*) filter (where in_den and in_filter) as den,
        count(*) filter (where in_den) as den_all,
        count(*) filter (where in_den and in_num and in_filter) as num,
        count(*) filter (where in_num and in_filter) as num_rows,
        sum(w) filter (where in_den and in_filter) as sum_w,
        sum(w * w) filter (where in_den and in_filter) as sum_w2,
        sum(w) filter (where in_den and in_num and in_filter) as sum_w_num,
        count(v) filter (where in_den and in_filter) as n_value,
        sum(v) filter (where in_den and in_filter) as sum_value,
        sum(v) filter (where in_num and in_filter) as sum_value_num,
        bit_or(flag_bits) filter (where (in_den or in_num) and in_filter) as flag_bits
    from per_measure
    group by measure_ix, year, sex, age_group, k_region, k_region2027, k_sundhedsraad, k_kom, k_reporting_region
),
long as (
    select
        fine.*,
        l.breakdown_level,
        breakdown_key(l.breakdown_level, k_region, k_region2027, k_sundhedsraad, k_kom, k_reporting_region) as breakdown_key
    from fine
    cross join (select unnest($levels) as breakdown_level) as l
)
select
    measure_ix,
    year,
    breakdown_level,
    breakdown_key,
    case when grouping(sex) = 1 then 'all' else sex end as sex,
    case when grouping(age_group) = 1 then 'all' else age_group end as age_group,
    cast(sum(n_rows) as bigint) as n_rows,
    cast(sum(den) as bigint) as den,
    cast(sum(den_all) as bigint) as den_all,
    cast(sum(num) as bigint) as num,
    cast(sum(num_rows) as bigint) as num_rows,
    sum(sum_w) as sum_w,
    sum(sum_w2) as sum_w2,
    sum(sum_w_num) as sum_w_num,
    cast(sum(n_value) as bigint) as n_value,
    sum(sum_value) as sum_value,
    sum(sum_value) / nullif(sum(n_value), 0) as mean_value,
    sum(sum_value_num) as sum_value_num,
    bit_or(flag_bits) as flag_bits
from long
group by measure_ix, year, breakdown_level, breakdown_key, grouping sets ((), (sex), (age_group), (sex, age_group))
