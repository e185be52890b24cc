-- P2 persons subjected to coercion: one unit per coercion measure starting in the year.
-- A unit is counted (in_denominator = in_numerator) when the measure was taken in psychiatry and is not
-- a voluntary belt fixation (only `baelte` with begrundelse `frivillig` is voluntary; core sets
-- `voluntary`). `counted_coercion` marks the measures that make a person "subjected to coercion": counted
-- and of a form in $person_forms (1-3); forms 4 and 5 are counted as measures only.
-- Age split: the person's age at the start date of their first counted coercion measure in the year
-- (a person with only form 4/5 measures: their first counted measure; only left-out measures: their
-- first measure), so each person falls in one age group and the total counts each person once.
-- Breakdowns: `reporting_region` = the measure's reporting region (a person with measures in two
-- regions counts in each); kom/region = residence (bef on 1 January, else the latest earlier bef).
with m as (
    select
        c.*,
        year(c.start_date)::integer as year,
        case when not c.psychiatry then 'not_psychiatry' when c.voluntary then 'voluntary_belt' end
            as exclusion_reason,
        c.psychiatry and not c.voluntary and list_contains($person_forms, c.skema) as counted_coercion,
        row_number() over (
            partition by c.pnr, year(c.start_date)
            order by c.start_ts, c.skema, c.tvangstype, c.end_ts, c.region, c.begrundelse
        ) as seq
    from core.coercion c
    where year(c.start_date) between $year_from and $year_to
),
person_year as (
    select
        pnr,
        year,
        coalesce(
            min(start_date) filter (where counted_coercion),
            min(start_date) filter (where exclusion_reason is null),
            min(start_date)
        ) as age_date
    from m
    group by pnr, year
),
person_attr as (
    select py.pnr, py.year, p.koen, completed_years(p.foed_dag, py.age_date) as age, r.kom
    from person_year py
    left join core.persons p on p.pnr = py.pnr
    left join residence_asof(person_year) r on r.pnr = py.pnr and r.year = py.year
)
select
    m.year,
    m.pnr || ':' || m.seq::varchar as unit_id,
    m.pnr,
    m.exclusion_reason is null as in_denominator,
    m.exclusion_reason is null as in_numerator,
    m.exclusion_reason,
    sex_label(a.koen) as sex,
    a.age,
    child_adult(a.age, $child_max_age) as age_group,
    a.kom,
    g.region_code,
    g.region2027_code,
    g.sundhedsraad_code,
    1.0::double as weight,
    null::double as value,
    null::varchar as flags,
    m.region as reporting_region,
    m.skema as form,
    m.tvangstype,
    m.counted_coercion
from m
join person_attr a on a.pnr = m.pnr and a.year = m.year
left join ref.geography g on g.kom = a.kom
