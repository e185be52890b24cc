-- What a refresh of the years $years rebuilds of core.stays (a partial build; stays.sql does the work).
--
-- stay_cut: per person, the earliest moment the refresh can change their chain (cut): the start of
-- each of their contacts of those file years now, of each old stay that held a contact of those
-- years (the contact may be gone, changed or moved), of each stay starting or ending in those years
-- (bef of that year may give its last_kom) and of each open stay (data end decides whether it is an
-- admission). Every changed contact of the person starts at or after the cut; persons without a cut
-- keep all their stays.
create or replace temp table stay_cut as
select pnr, min(t) as cut
from (
    select pnr, start_ts as t from core.contacts
    where list_contains(cast($years as integer[]), source_year) and pnr is not null and start_ts is not null
    union all
    select s.pnr, s.start_ts from core.stays as s
    where s.stay_id in (select stay_id from core.stay_contacts
                        where list_contains(cast($years as integer[]), source_year))
    union all
    select pnr, start_ts from core.stays
    where is_open
       or list_contains(cast($years as integer[]), year(start_ts))
       or list_contains(cast($years as integer[]), year(end_ts))
)
group by pnr;

-- stays_redo: the old stays of those persons that the refresh replaces. A stay is kept when it starts
-- before the cut and ends more than 4 h before it: its contacts are all unchanged and no contact at
-- or after the cut can chain into it, so the full rebuild has it as it is (same contacts, same id,
-- same bef look-up, not open). In each domain the kept stays are a prefix of the person's stays.
create or replace temp table stays_redo as
select s.stay_id, s.pnr, s.psychiatric, s.start_ts
from core.stays as s
join stay_cut as c on c.pnr = s.pnr
where not (s.start_ts < c.cut
           and coalesce(s.end_ts, cast('infinity' as timestamp)) + interval 4 hours < c.cut);

-- stay_from: per person and domain, where the replaced part of the chain begins (the first replaced
-- stay's start, else the cut). Every contact from there on is rebuilt, every contact before it is in
-- a kept stay; the rebuilt part starts a new stay at its first contact, as in the full chain.
create or replace temp table stay_from as
select c.pnr, d.psychiatric, least(c.cut, coalesce(min(r.start_ts), c.cut)) as from_ts
from stay_cut as c
cross join (values (true), (false)) as d(psychiatric)
left join stays_redo as r on r.pnr = c.pnr and r.psychiatric = d.psychiatric
group by c.pnr, d.psychiatric, c.cut;

-- The contacts a partial stays build reads.
create or replace temp view stay_source as
select c.*
from core.contacts as c
join stay_from as f on f.pnr = c.pnr and f.psychiatric = c.psychiatric
where c.start_ts >= f.from_ts;
