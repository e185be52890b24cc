-- P6 social-service recipients in education or employment: one unit per person and year.
-- Candidates: persons with support under a section in $paragraphs (85, 107, 108) for a target group in
-- $target_groups (sindslidelse, socialt_problem) active on at least one day of Y (start on or before
-- 31 December Y, end empty or on or after 1 January Y).
-- Left out: age on $age_ref_month/$age_ref_day (1 July) outside $min_age..$max_age (`age_outside_range`;
-- unknown age kept when $unknown_age_included, else `unknown_age`); ISO year Y not wholly inside the
-- dream extract (`weeks_outside_extract`).
-- Numerator: at least $min_weeks of the ISO weeks of ISO year Y are empty or carry a code whose
-- meaning in ref.codes list `dream_code` is $student_grant_meaning (su). `value` = that number of weeks.
with years as (
    select
        range::integer as year,
        weekofyear(make_date(range::integer, 12, 28))::integer as n_weeks  -- 28 Dec is in the last ISO week
    from range($year_from, $year_to + 1)
),
active as (
    -- support active on at least one day of a year = the years from its start year to its end year
    -- (empty end: to the last run year); unnest of that range instead of a range join
    select distinct pnr, year
    from (
        select
            s.pnr,
            unnest(range(year(s.start_dato), coalesce(year(s.slut_dato), $year_to) + 1))::integer as year
        from core.social_support s
        where list_contains($paragraphs, s.paragraf)
          and list_contains($target_groups, s.maalgruppe)
          and year(s.start_dato) <= $year_to
          and (s.slut_dato is null or year(s.slut_dato) >= $year_from)
    )
    where year between $year_from and $year_to
),
cand as (
    select a.year, y.n_weeks, a.pnr
    from active a
    join years y on y.year = a.year
),
coverage as (
    select iso_year, count(distinct iso_week) as weeks_in_extract
    from core.dream_coverage
    group by iso_year
),
su_codes as (
    select distinct code from ref.codes where list_name = 'dream_code' and meaning = $student_grant_meaning
),
other_weeks as (
    -- weeks carrying a benefit other than a student grant, of the candidates only (a semi join on
    -- the few candidate person-years before counting, not a count over every person in dream).
    -- count(*) counts weeks: a (pnr, iso_year, iso_week) is one row of core.dream_weeks, since staged
    -- dream rows have unique pnr (contract `unique: [pnr]`, enforced by the rules and the Pandera gate)
    -- and each week column is one week (count(distinct) cost 10 s of 28 s nationally, 2010-2025)
    select w.pnr, w.iso_year, count(*) as n
    from core.dream_weeks w
    semi join cand c on c.pnr = w.pnr and c.year = w.iso_year
    where w.iso_year between $year_from and $year_to
      and w.code not in (select code from su_codes)
    group by w.pnr, w.iso_year
),
units as (
    select
        c.*,
        p.koen,
        completed_years(p.foed_dag, make_date(c.year, $age_ref_month, $age_ref_day)) as age,
        coalesce(cov.weeks_in_extract, 0) = c.n_weeks as year_covered,
        c.n_weeks - coalesce(o.n, 0) as free_weeks,
        r.kom
    from cand c
    left join core.persons p on p.pnr = c.pnr
    left join coverage cov on cov.iso_year = c.year
    left join other_weeks o on o.pnr = c.pnr and o.iso_year = c.year
    left join residence_asof(cand) r on r.pnr = c.pnr and r.year = c.year
),
classified as (
    select
        u.*,
        case
            when u.age is null and not $unknown_age_included then 'unknown_age'
            when u.age < $min_age or u.age > $max_age then 'age_outside_range'
            when not u.year_covered then 'weeks_outside_extract'
        end as exclusion_reason
    from units u
)
select
    c.year,
    c.pnr as unit_id,
    c.pnr,
    c.exclusion_reason is null as in_denominator,
    c.exclusion_reason is null and c.free_weeks >= $min_weeks as in_numerator,
    c.exclusion_reason,
    sex_label(c.koen) as sex,
    c.age,
    case
        when c.age is null then 'unknown'
        when c.age between $min_age and $max_age then $min_age::varchar || '-' || $max_age::varchar
        else 'outside'
    end as age_group,
    c.kom,
    g.region_code,
    g.region2027_code,
    g.sundhedsraad_code,
    1.0::double as weight,
    c.free_weeks::double as value,
    null::varchar as flags
from classified c
left join ref.geography g on g.kom = c.kom
