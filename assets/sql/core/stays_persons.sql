-- The persons whose stays a refresh of the years $years rebuilds (temporary table stay_persons):
-- everyone with a contact of those file years now, everyone whose stays held a contact of those
-- years before (their contact may be gone or moved), everyone with a stay that starts or ends in
-- those years (bef of that year may give its last_kom) and everyone with an open stay (data end
-- decides whether it is an admission). Every other person's contacts, bef look-ups and stays are
-- untouched by the refresh, so their stays are kept as they are.
create or replace temp table stay_persons as
select pnr from core.contacts
where list_contains(cast($years as integer[]), source_year) and pnr is not null
union
select s.pnr from core.stays as s
where s.stay_id in (select stay_id from core.stay_contacts
                    where list_contains(cast($years as integer[]), source_year))
union
select pnr from core.stays
where is_open
   or list_contains(cast($years as integer[]), year(start_ts))
   or list_contains(cast($years as integer[]), year(end_ts));

-- The contacts a partial stays build reads: every contact, of every year, of those persons.
create or replace temp view stay_source as
select * from core.contacts where pnr in (select pnr from stay_persons);
