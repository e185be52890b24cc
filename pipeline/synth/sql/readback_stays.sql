-- Simplified building blocks for the coherence tests of a synthetic world (pipeline.synth.readback):
-- contacts of both LPR generations, stays chained per domain (overlap or a gap of at most 4 hours),
-- admissions (>= 12 hours), persons and deaths. Not a calibration: the pipeline computes the figures.
create or replace table cal_contacts as
select 'L2:' || recnum as cid, pnr, null::varchar as course, c_spec in ('50', '52') as psych, true as physical,
       c_indm = '1' as acute, d_hendto as referral_date,
       d_inddto::timestamp + to_hours(coalesce(v_indtime, 0)) as start_ts,
       d_uddto::timestamp + to_hours(coalesce(v_udtime, 0)) as end_ts
from lpr_adm
union all
select 'L3:' || dw_ek_kontakt, cpr, dw_ek_forloeb,
       hovedspeciale_ans in ('psykiatri', 'børne- og ungdomspsykiatri'), kontakttype = 'ALCA00',
       prioritet = 'ATA1', dato_henvisning,
       dato_start + coalesce(tidspunkt_start::time, time '00:00'), dato_slut + coalesce(tidspunkt_slut::time, time '00:00')
from lpr_f_kontakter
where lprindberetningssystem = 'LPR3';

create or replace table cal_data_end as
select make_date(max(year(start_ts))::bigint, 12, 31) as data_end from cal_contacts;

create or replace table cal_chain as
with ordered as (
    select *, max(coalesce(end_ts, 'infinity'::timestamp)) over (
                  partition by pnr, psych order by start_ts, cid rows between unbounded preceding and 1 preceding
              ) as prev_end
    from cal_contacts where physical
), numbered as (
    select *, sum(case when prev_end is null or start_ts > prev_end + interval 4 hour then 1 else 0 end)
              over (partition by pnr, psych order by start_ts, cid) as stay_no
    from ordered
)
select *, min(start_ts) over (partition by pnr, psych, stay_no) as stay_start from numbered;

create or replace table cal_stays as
select pnr, psych, stay_no, min(start_ts) as start_ts,
       case when bool_or(end_ts is null) then null else max(end_ts) end as end_ts,
       bool_or(acute and start_ts = stay_start) as acute
from cal_chain group by all;

create or replace table cal_admissions as
select s.* from cal_stays s, cal_data_end d
where (s.end_ts is not null and s.end_ts >= s.start_ts + interval 12 hour)
   or (s.end_ts is null and d.data_end::timestamp + interval 1 day >= s.start_ts + interval 12 hour);

create or replace table cal_persons as
select pnr, any_value(foed_dag) as foed_dag from bef group by pnr;

create or replace table cal_deaths as
select pnr, min(doddato) as doddato from dod group by pnr;
