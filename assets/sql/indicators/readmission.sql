-- P4 (acute psychiatric readmission) and I1 (acute somatic admission after psychiatric discharge):
-- one unit per psychiatric admission ending in the year (the index). The two indicators differ only in
-- the domain of the admission that follows: $readmission_psychiatric = true (P4) or false (I1).
--
-- Index: a closed psychiatric admission (core.stays, >= 12 h) whose end lies in the year. Open stays
-- are never an index. Left out, in this order:
--   died_during_stay            death date on or before the index end date;
--   follow_up_after_data_end    index end date later than data end - $data_end_margin_days;
--   died_within_30_days         death on or before end date + $death_window_days with no qualifying
--                               readmission starting on or before the date of death.
-- Numerator: an acute admission of the domain (open ones included: core marks them admissions once
-- they last 12 h by data end) starting strictly after the index end and at most $follow_up_hours
-- wall-clock hours after it (exactly 720 h counts).
with data_end as (
    select max(data_end) as data_end from core.data_end
),
idx as (
    select stay_id, pnr, start_ts, end_ts, last_kom, year(end_ts)::integer as year
    from core.stays
    where psychiatric and is_admission and not is_open and end_ts is not null
      and year(end_ts) between $year_from and $year_to
),
first_follow as (
    select i.stay_id, min(r.start_ts) as follow_ts
    from idx i
    join core.stays r
      on r.pnr = i.pnr
     and r.psychiatric = $readmission_psychiatric
     and r.acute and r.is_admission
     and r.start_ts > i.end_ts
     and r.start_ts <= i.end_ts + to_hours(cast($follow_up_hours as bigint))
    group by i.stay_id
),
classified as (
    select
        i.*,
        f.follow_ts,
        p.koen,
        completed_years(p.foed_dag, i.end_ts::date) as age,
        case
            when d.doddato <= i.end_ts::date then 'died_during_stay'
            when i.end_ts::date > (select data_end from data_end) - cast($data_end_margin_days as integer)
                then 'follow_up_after_data_end'
            -- a readmission starting on the date of death counts as before the death
            when d.doddato <= i.end_ts::date + cast($death_window_days as integer)
                 and (f.follow_ts is null or f.follow_ts::date > d.doddato)
                then 'died_within_30_days'
        end as exclusion_reason
    from idx i
    left join first_follow f using (stay_id)
    left join core.deaths d on d.pnr = i.pnr
    left join core.persons p on p.pnr = i.pnr
)
select
    c.year,
    c.stay_id::varchar as unit_id,
    c.pnr,
    c.exclusion_reason is null as in_denominator,
    c.exclusion_reason is null and c.follow_ts is not null as in_numerator,
    c.exclusion_reason,
    sex_label(c.koen) as sex,
    c.age,
    child_adult(c.age, $child_max_age) as age_group,
    c.last_kom as kom,
    g.region_code,
    g.region2027_code,
    g.sundhedsraad_code,
    1.0::double as weight,
    null::double as value,
    null::varchar as flags,
    age_band(c.age, $std_band_lower_bounds) as std_band,
    date_diff('minute', c.end_ts, c.follow_ts) / 60.0 as hours_to_follow
from classified c
left join ref.geography g on g.kom = c.last_kom
