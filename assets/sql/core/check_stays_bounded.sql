-- The five counts of check_stays_cover_contacts.sql after a partial stays write, exactly, given that
-- before the write every count but the two totals was zero (the last check passed; assets/core.py runs
-- this file only then). The temp table stays_check_ids holds every stay id the write inserted, into
-- core.stays or core.stay_contacts (meta.stays_written of the write). Before the write stay ids were
-- unique and not NULL, contacts were in at most one stay, and every n_contacts matched; the write
-- deleted whole stays (with all their members) and inserted new ones. So:
-- - a contact in several stays, or a stay id held twice, has a written row, whose stay id is a written
--   one (or NULL): the surplus over the contact (stay) ids of the rows of the written stay ids (and NULL
--   ids), counted in the whole table, is the full query's; a NULL contact or stay id adds one as in the
--   full query. The contacts' surplus is the members holding such a contact id less the distinct ids;
-- - a stay whose n_contacts can be wrong has a written id (members or stays row), or a NULL id
--   (written: it matches no member, as in the full query's join);
-- - physical contacts and stay members are totals over the whole tables, as in the full query.
with ids as materialized (select stay_id from stays_check_ids where stay_id is not null),
m_written as materialized (
    select stay_id, contact_id from core.stay_contacts
    where stay_id in (select stay_id from ids) or stay_id is null
),
m_ids as materialized (select distinct contact_id from m_written where contact_id is not null),
m_per_stay as (select stay_id, count(*) as n from m_written where stay_id is not null group by stay_id),
s_written as materialized (
    select stay_id, n_contacts from core.stays
    where stay_id in (select stay_id from ids) or stay_id is null
),
s_total as (select count(*) as n from s_written where stay_id is not null group by stay_id)
select
    (select count(*) from core.contacts where physical and pnr is not null and start_ts is not null)
        as physical_contacts,
    (select count(*) from core.stay_contacts) as stay_members,
    (select count(*) from core.stay_contacts where contact_id in (select contact_id from m_ids))
      - (select count(*) from m_ids)
      + (select count(*) - count(contact_id) from core.stay_contacts) as in_several_stays,
    (select count(*) from s_written as s left join m_per_stay as m using (stay_id)
      where s.n_contacts <> coalesce(m.n, 0)) as wrong_n_contacts,
    (select coalesce(sum(n - 1), 0) from s_total)
      + (select count(*) from s_written where stay_id is null) as duplicate_stay_ids;
