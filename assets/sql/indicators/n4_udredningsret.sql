-- N4 right to assessment met (udredningsret): one unit per referral and year with a marker meaning
-- $completed_meaning (udredning_afsluttet) in the year; the earliest such marker in the year decides.
--   LPR3: a course whose first contact (earliest start, ties by contact id) is psychiatric; markers on
--         the course; referral date = the earliest non-empty referral date among its contacts.
--   LPR2: a referral = a person's psychiatric contacts with the same d_hendto; markers on those contacts.
-- Met (in_numerator): the marker is at most $max_days (30) days after the referral date, or the referral
-- has a $justified_meaning (udredning_fristbrud_begrundet) marker (any date). Without a referral date the
-- unit is not met unless justified. `value` = days from referral to the marker.
-- Age at the referral date (at the first contact without one); children 0-$child_max_age (18).
with lpr3_marked as (
    -- the courses with a completed-assessment marker in the run's years (the only ones with units)
    select distinct course_id
    from core.markers
    where generation = 'LPR3' and meaning = $completed_meaning
      and year(marker_date) between $year_from and $year_to
),
lpr3_courses as (
    select
        c.course_id,
        arg_min(c.pnr, (c.start_ts, c.contact_id)) as pnr,
        arg_min(c.psychiatric, (c.start_ts, c.contact_id)) as first_psychiatric,
        arg_min(c.kom, (c.start_ts, c.contact_id)) as first_kom,
        min(c.start_ts) as first_start,
        min(c.referral_date) as referral_date
    from core.contacts c
    semi join lpr3_marked k on k.course_id = c.course_id
    where c.generation = 'LPR3' and c.course_id is not null
    group by c.course_id
),
lpr3_units as (
    select
        'L3:' || k.course_id as unit_id, k.pnr, k.first_start, k.first_kom, k.referral_date,
        year(m.marker_date)::integer as year,
        min(m.marker_date) as marker_date,
        'LPR3' as generation
    from lpr3_courses k
    join core.markers m
      on m.generation = 'LPR3' and m.course_id = k.course_id and m.meaning = $completed_meaning
    where k.first_psychiatric and year(m.marker_date) between $year_from and $year_to
    group by all
),
lpr3_justified as (
    select distinct 'L3:' || course_id as unit_id
    from core.markers
    where generation = 'LPR3' and meaning = $justified_meaning
),
lpr2_refs as (
    select
        'L2:' || c.pnr || ':' || strftime(c.referral_date, '%Y-%m-%d') as unit_id,
        c.pnr, c.contact_id, c.start_ts, c.kom, c.referral_date
    from core.contacts c
    where c.generation = 'LPR2' and c.psychiatric and c.referral_date is not null
),
lpr2_units as (
    select
        r.unit_id, r.pnr,
        min(r.start_ts) as first_start,
        arg_min(r.kom, (r.start_ts, r.contact_id)) as first_kom,
        r.referral_date,
        year(m.marker_date)::integer as year,
        min(m.marker_date) as marker_date,
        'LPR2' as generation
    from lpr2_refs r
    join core.markers m
      on m.generation = 'LPR2' and m.contact_id = r.contact_id and m.meaning = $completed_meaning
    where year(m.marker_date) between $year_from and $year_to
    group by r.unit_id, r.pnr, r.referral_date, year(m.marker_date)
),
lpr2_justified as (
    select distinct r.unit_id
    from lpr2_refs r
    join core.markers m
      on m.generation = 'LPR2' and m.contact_id = r.contact_id and m.meaning = $justified_meaning
),
units as (
    select u.*, j.unit_id is not null as justified
    from lpr3_units u left join lpr3_justified j using (unit_id)
    union all by name
    select u.*, j.unit_id is not null as justified
    from lpr2_units u left join lpr2_justified j using (unit_id)
),
without_kom as (
    select pnr, year from units where first_kom is null
),
attrs as (
    -- bef only where the first contact has no kom
    select
        u.*,
        date_diff('day', u.referral_date, u.marker_date) as days,
        p.koen,
        completed_years(p.foed_dag, coalesce(u.referral_date, u.first_start::date)) as age,
        coalesce(u.first_kom, r.kom) as res_kom
    from units u
    left join core.persons p on p.pnr = u.pnr
    left join residence_asof(without_kom) r on r.pnr = u.pnr and r.year = u.year
)
select
    a.year,
    a.unit_id,
    a.pnr,
    true as in_denominator,
    coalesce(a.days <= $max_days, false) or a.justified as in_numerator,
    null::varchar as exclusion_reason,
    sex_label(a.koen) as sex,
    a.age,
    child_adult(a.age, $child_max_age) as age_group,
    a.res_kom as kom,
    g.region_code,
    g.region2027_code,
    g.sundhedsraad_code,
    1.0::double as weight,
    a.days::double as value,
    null::varchar as flags,
    a.justified,
    a.referral_date is null as no_referral_date,
    a.generation
from attrs a
left join ref.geography g on g.kom = a.res_kom
