-- Stays (sygehusophold) of the contacts in the temporary view stay_source (every contact, or the
-- contacts of the persons a partial refresh rebuilds: see stays_persons.sql), into the tables
-- core.stays_new and core.stay_contacts_new, which live only inside the build's transaction: a full
-- build renames them to core.stays / core.stay_contacts (stays_full.sql, no copy of the rows), a
-- partial one inserts them (stays_replace.sql).
-- A person's physical-attendance contacts of one domain (psychiatric or somatic) chain when the next
-- starts at most 4 hours after the latest end so far (exactly 4 h chains); an open contact (no end)
-- counts as ending at +infinity, so it chains every later contact of its domain. LPR2 and LPR3
-- contacts chain across the 2019 switch alike.
-- Order within a person and domain: start, end, contact_key (unique, so the order is total).
-- stay_id = contact_key of the stay's first contact: unique, and a function of the stay's own
-- contacts only, so a stay keeps its id when other persons' stays are rebuilt.
--
-- One sorted window pass flags, per contact, whether it starts a stay (start > latest end before it
-- + 4 h) and whether it ends one (the next start > latest end up to it + 4 h). Most stays are one
-- contact (both flags): they are written as they are; only the contacts of longer stays get a
-- second window pass (their stay's first contact) and an aggregate.
create or replace temp table stay_chain as
with phys as (
    select contact_key, contact_id, pnr, psychiatric, start_ts, end_ts, acute, kom, source_year,
           coalesce(end_ts, cast('infinity' as timestamp)) as eff_end
    from stay_source
    where physical and pnr is not null and start_ts is not null
),
flagged as (
    select *,
           max(eff_end) over (w rows between unbounded preceding and 1 preceding) as prev_max_end,
           max(eff_end) over (w rows between unbounded preceding and current row) as max_end_so_far,
           lead(start_ts) over w as next_start
    from phys
    window w as (partition by pnr, psychiatric order by start_ts, eff_end, contact_key)
)
select contact_key, contact_id, pnr, psychiatric, start_ts, end_ts, eff_end, acute, kom, source_year,
       prev_max_end is null or start_ts > prev_max_end + interval 4 hours as new_stay,
       next_start is null or next_start > max_end_so_far + interval 4 hours as ends_stay
from flagged;

create or replace temp table stay_multi as
select contact_key, contact_id, pnr, psychiatric, start_ts, end_ts, eff_end, acute, kom, source_year,
       last_value(case when new_stay then contact_key end ignore nulls) over w as stay_id,
       last_value(case when new_stay then start_ts end ignore nulls) over w as stay_start
from stay_chain
where not (new_stay and ends_stay)
window w as (partition by pnr, psychiatric order by start_ts, eff_end, contact_key
             rows between unbounded preceding and current row);

create or replace table core.stay_contacts_new as
select contact_key as stay_id, contact_id, source_year from stay_chain where new_stay and ends_stay
union all
select stay_id, contact_id, source_year from stay_multi;

-- Acute: any contact sharing the stay's earliest start is acute (tie rule).
-- Last contact: latest start, ties latest end (open = latest), then contact id; its kom may be NULL,
-- in which case bef of the end year (closed stays), else of the start year, is used (looked up for
-- those stays only).
-- Admission: lasting >= 12 h (exactly 12 h counts); an open stay once it has lasted 12 h by data end,
-- i.e. at data end + 1 day 00:00.
create or replace table core.stays_new as
with agg as (
    select contact_key as stay_id, pnr, psychiatric, start_ts, end_ts is null as is_open, end_ts as max_end,
           acute, kom as contact_kom, 1 as n_contacts
    from stay_chain
    where new_stay and ends_stay
    union all
    select stay_id,
           any_value(pnr),
           any_value(psychiatric),
           min(start_ts),
           bool_or(end_ts is null),
           max(end_ts),
           bool_or(acute and start_ts = stay_start),
           arg_max_null(kom, struct_pack(s := start_ts, e := eff_end, c := contact_id)),
           cast(count(*) as integer)
    from stay_multi
    group by stay_id
),
bef_kom as (
    select a.stay_id, coalesce(r_end.kom, r_start.kom) as kom
    from (select * from agg where contact_kom is null) as a
    left join core.residence as r_end
           on r_end.pnr = a.pnr and r_end.year = year(a.max_end) and not a.is_open
    left join core.residence as r_start
           on r_start.pnr = a.pnr and r_start.year = year(a.start_ts)
)
select a.stay_id,
       a.pnr,
       a.psychiatric,
       a.start_ts,
       case when a.is_open then null else a.max_end end as end_ts,
       a.is_open,
       a.acute,
       coalesce(a.contact_kom, b.kom) as last_kom,
       coalesce(case when a.is_open
                     then d.data_end + interval 1 day >= a.start_ts + interval 12 hours
                     else a.max_end >= a.start_ts + interval 12 hours end, false) as is_admission,
       cast(a.n_contacts as integer) as n_contacts
from agg as a
cross join (select max(data_end) as data_end from core.data_end) as d
left join bef_kom as b on b.stay_id = a.stay_id;

drop table stay_chain;
drop table stay_multi;
