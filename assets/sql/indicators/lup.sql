-- N5 satisfaction / N6 involvement (LUP psykiatri): one unit per respondent and year. $question picks
-- the answer column (`tilfredshed` for N5, `inddragelse` for N6).
-- Denominator: answers 1-5; numerator: answers >= $positive_min (4 or 5). An empty answer ("don't know")
-- is left out as `dont_know`, a value outside 1-5 as `invalid_answer`.
-- Age group from the target group: `bu_*` children and young people, `voksen_*` adults. Breakdown by the
-- region of the unit (region and 2027 region; no municipality).
with regions as (
    select distinct region_code, region2027_code from ref.geography
),
answers as (
    select
        l.*,
        case $question when 'tilfredshed' then l.tilfredshed when 'inddragelse' then l.inddragelse end as answer
    from core.lup l
    where l.year between $year_from and $year_to
),
classified as (
    select
        a.*,
        case
            when a.answer is null then 'dont_know'
            when a.answer not between 1 and 5 then 'invalid_answer'
        end as exclusion_reason
    from answers a
)
select
    c.year::integer as year,
    c.respondent_id::varchar as unit_id,
    null::varchar as pnr,
    c.exclusion_reason is null as in_denominator,
    c.exclusion_reason is null and c.answer >= $positive_min as in_numerator,
    c.exclusion_reason,
    'unknown' as sex,
    null::integer as age,
    case
        when c.maalgruppe like 'bu\_%' escape '\' then 'children'
        when c.maalgruppe like 'voksen\_%' escape '\' then 'adults'
        else 'unknown'
    end as age_group,
    null::integer as kom,
    c.region::integer as region_code,
    r.region2027_code,
    null::integer as sundhedsraad_code,
    1.0::double as weight,
    c.answer::double as value,
    null::varchar as flags,
    c.maalgruppe
from classified c
left join regions r on r.region_code = c.region
