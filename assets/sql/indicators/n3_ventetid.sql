-- N3 experienced waiting time: one unit per psychiatric referral whose first contact starts in the year.
--   LPR3: per course, its first contact (earliest start, any contact type; ties by contact id), kept if
--         that contact is psychiatric, planned and has a referral date.
--   LPR2: per person and referral date (d_hendto), the earliest planned psychiatric contact.
-- `value` = waiting days = first contact start date - referral date. A negative wait is a data error:
-- exclusion_reason `negative_wait` (left out of the values, counted by the data-quality mart).
-- Age at the referral date; children 0-$child_max_age (18), adults above. Residence: the first
-- contact's kom, else bef of the year (the latest bef on or before 1 January of the year).
with lpr3_courses as (
    -- only a course with a contact starting in the run's years can have its first contact there
    select distinct c.course_id
    from core.contacts c
    where c.generation = 'LPR3' and c.course_id is not null
      and c.start_ts >= make_timestamp($year_from, 1, 1, 0, 0, 0) and c.start_ts < make_timestamp($year_to + 1, 1, 1, 0, 0, 0)
),
lpr3_first as (
    -- the columns used below only: the window sorts every column it carries (5 M rows nationally)
    select *
    from (
        select
            c.contact_id, c.pnr, c.generation, c.course_id, c.psychiatric, c.planned, c.start_ts, c.referral_date, c.kom,
            row_number() over (partition by c.course_id order by c.start_ts, c.contact_id) as rn
        from core.contacts c
        semi join lpr3_courses k on k.course_id = c.course_id
        where c.generation = 'LPR3' and c.course_id is not null
    )
    where rn = 1 and psychiatric and planned and referral_date is not null
),
lpr2_refs as (
    -- likewise for LPR2: the referrals with a planned psychiatric contact starting in the run's years
    select distinct c.pnr, c.referral_date
    from core.contacts c
    where c.generation = 'LPR2' and c.psychiatric and c.planned and c.referral_date is not null
      and c.start_ts >= make_timestamp($year_from, 1, 1, 0, 0, 0) and c.start_ts < make_timestamp($year_to + 1, 1, 1, 0, 0, 0)
),
lpr2_first as (
    select *
    from (
        select
            c.contact_id, c.pnr, c.generation, c.course_id, c.psychiatric, c.planned, c.start_ts, c.referral_date, c.kom,
            row_number() over (partition by c.pnr, c.referral_date order by c.start_ts, c.contact_id) as rn
        from core.contacts c
        semi join lpr2_refs k on k.pnr is not distinct from c.pnr and k.referral_date = c.referral_date
        where c.generation = 'LPR2' and c.psychiatric and c.planned and c.referral_date is not null
    )
    where rn = 1
),
referrals as (
    select 'L3:' || course_id as unit_id, pnr, start_ts, referral_date, kom, generation from lpr3_first
    union all
    select 'L2:' || pnr || ':' || strftime(referral_date, '%Y-%m-%d'), pnr, start_ts, referral_date, kom, generation
    from lpr2_first
),
units as (
    select
        f.*,
        year(f.start_ts)::integer as year,
        date_diff('day', f.referral_date, f.start_ts::date) as wait_days,
        p.koen,
        completed_years(p.foed_dag, f.referral_date) as age
    from referrals f
    left join core.persons p on p.pnr = f.pnr
    where year(f.start_ts) between $year_from and $year_to
),
without_kom as (
    select pnr, year from units where kom is null
),
located as (
    -- bef only where the first contact has no kom
    select u.*, coalesce(u.kom, r.kom) as res_kom
    from units u
    left join residence_asof(without_kom) r on r.pnr = u.pnr and r.year = u.year
)
select
    l.year,
    l.unit_id,
    l.pnr,
    l.wait_days >= 0 as in_denominator,
    l.wait_days >= 0 as in_numerator,
    case when l.wait_days < 0 then 'negative_wait' end as exclusion_reason,
    sex_label(l.koen) as sex,
    l.age,
    child_adult(l.age, $child_max_age) as age_group,
    l.res_kom as kom,
    g.region_code,
    g.region2027_code,
    g.sundhedsraad_code,
    1.0::double as weight,
    l.wait_days::double as value,
    null::varchar as flags,
    l.generation
from located l
left join ref.geography g on g.kom = l.res_kom
