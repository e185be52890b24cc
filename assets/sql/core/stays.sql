-- core.stays and core.stay_contacts: hospital stays (sygehusophold) in one set-based pass.
-- A person's physical-attendance contacts of one domain (psychiatric or somatic) chain when the next
-- starts at most 4 hours after the latest end so far (exactly 4 h chains); an open contact (no end)
-- counts as ending at +infinity, so it chains every later contact of its domain. LPR2 and LPR3
-- contacts chain across the 2019 switch alike.
-- stay_id = the row number of the stay's first contact among the physical contacts of core.contacts (scan order, which DuckDB
-- preserves: deterministic for a given core.contacts, unique, and needs neither a global sort nor a join).
create or replace temp table stay_chain as
with phys as (
    select contact_id, pnr, psychiatric, start_ts, end_ts, acute, kom,
           coalesce(end_ts, cast('infinity' as timestamp)) as eff_end,
           row_number() over () as rn
    from core.contacts
    where physical and pnr is not null and start_ts is not null
),
ordered as (
    select *,
           max(eff_end) over (partition by pnr, psychiatric order by start_ts, eff_end, contact_id
                              rows between unbounded preceding and 1 preceding) as prev_max_end
    from phys
),
flagged as (
    select *, (prev_max_end is null or start_ts > prev_max_end + interval 4 hours) as new_stay
    from ordered
)
select contact_id, pnr, psychiatric, start_ts, end_ts, eff_end, acute, kom,
       last_value(case when new_stay then rn end ignore nulls) over w as stay_id,
       max(case when new_stay then start_ts end) over w as stay_start
from flagged
window w as (partition by pnr, psychiatric order by start_ts, eff_end, contact_id
             rows between unbounded preceding and current row);

create or replace table core.stay_contacts as
select stay_id, contact_id from stay_chain;

-- Acute: any contact sharing the stay's earliest start is acute (tie rule).
-- Last contact: latest start, ties latest end (open = latest), then contact id; its kom may be NULL,
-- in which case bef of the end year (closed stays), else of the start year, is used.
-- Admission: lasting >= 12 h (exactly 12 h counts); an open stay once it has lasted 12 h by data end,
-- i.e. at data end + 1 day 00:00.
create or replace table core.stays as
with agg as (
    select stay_id,
           any_value(pnr) as pnr,
           any_value(psychiatric) as psychiatric,
           min(start_ts) as start_ts,
           bool_or(end_ts is null) as is_open,
           max(end_ts) as max_end,
           bool_or(acute and start_ts = stay_start) as acute,
           arg_max_null(kom, struct_pack(s := start_ts, e := eff_end, c := contact_id)) as contact_kom,
           cast(count(*) as integer) as n_contacts
    from stay_chain
    group by stay_id
)
select a.stay_id,
       a.pnr,
       a.psychiatric,
       a.start_ts,
       case when a.is_open then null else a.max_end end as end_ts,
       a.is_open,
       a.acute,
       coalesce(a.contact_kom, r_end.kom, r_start.kom) as last_kom,
       coalesce(case when a.is_open
                     then d.data_end + interval 1 day >= a.start_ts + interval 12 hours
                     else a.max_end >= a.start_ts + interval 12 hours end, false) as is_admission,
       a.n_contacts
from agg as a
cross join (select max(data_end) as data_end from core.data_end) as d
left join core.residence as r_end
       on r_end.pnr = a.pnr and r_end.year = year(a.max_end) and not a.is_open
left join core.residence as r_start
       on r_start.pnr = a.pnr and r_start.year = year(a.start_ts);

drop table stay_chain;
