-- N1 days after discharge-ready (faerdigbehandlingsdage): one unit per psychiatric admission ending in
-- the year with a marker meaning $marker_meaning (faerdigbehandlet) dated from the stay's start date to
-- its end date: LPR2 markers on a contact of the stay, LPR3 markers on a course with a contact in the
-- stay. With several markers the earliest counts. `value` = end date - marker date in days (0 counts).
-- Admissions without such a marker are not units. `over_10_days` marks value > $long_days.
with adm as (
    select stay_id, pnr, start_ts, end_ts, last_kom, year(end_ts)::integer as year
    from core.stays
    where psychiatric and is_admission and not is_open and end_ts is not null
      and year(end_ts) between $year_from and $year_to
),
adm_contacts as (
    -- the contacts of those admissions: stay_contacts is read once (31 M rows nationally)
    select sc.stay_id, sc.contact_id
    from core.stay_contacts sc
    semi join adm a on a.stay_id = sc.stay_id
),
stay_markers as (
    select ac.stay_id, m.marker_date
    from adm_contacts ac
    join core.markers m
      on m.generation = 'LPR2' and m.contact_id = ac.contact_id and m.meaning = $marker_meaning
    union all
    select ac.stay_id, m.marker_date
    from adm_contacts ac
    join core.contacts c on c.contact_id = ac.contact_id
    join core.markers m
      on m.generation = 'LPR3' and m.course_id = c.course_id and m.meaning = $marker_meaning
),
first_marker as (
    select a.stay_id, min(sm.marker_date) as marker_date
    from adm a
    join stay_markers sm
      on sm.stay_id = a.stay_id
     and sm.marker_date between a.start_ts::date and a.end_ts::date
    group by a.stay_id
),
units as (
    select
        a.*,
        date_diff('day', f.marker_date, a.end_ts::date) as days,
        p.koen,
        completed_years(p.foed_dag, a.end_ts::date) as age
    from adm a
    join first_marker f using (stay_id)
    left join core.persons p on p.pnr = a.pnr
)
select
    u.year,
    u.stay_id::varchar as unit_id,
    u.pnr,
    true as in_denominator,
    true as in_numerator,
    null::varchar as exclusion_reason,
    sex_label(u.koen) as sex,
    u.age,
    child_adult(u.age, $child_max_age) as age_group,
    u.last_kom as kom,
    g.region_code,
    g.region2027_code,
    g.sundhedsraad_code,
    1.0::double as weight,
    u.days::double as value,
    null::varchar as flags,
    u.days > $long_days as over_10_days
from units u
left join ref.geography g on g.kom = u.last_kom
