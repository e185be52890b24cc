-- The counts of check_contacts_unique.sql after a partial write of the years $years, exactly, given
-- that the rows of every other year held no duplicate id and no duplicate key before the write (their
-- last check passed with zero counts; assets/core.py runs this file only then). The written rows are
-- those of $years (the write deleted them and inserted the SELECT of contacts.sql for $years); a
-- duplicate is then either within the written rows, or a written id (key) also held by an unchanged
-- row, which holds it once: count(*) - count(distinct) over the table equals the written rows' own
-- surplus (NULLs counted as in the full query) plus the distinct written ids found among the others.
with written as materialized (
    select contact_id, contact_key from core.contacts
    where list_contains(cast($years as integer[]), source_year)
),
written_ids as materialized (select distinct contact_id from written where contact_id is not null),
written_keys as materialized (select distinct contact_key from written where contact_key is not null)
select
    (select count(*) from core.contacts) as contacts,
    (select count(*) - count(distinct contact_id) from written)
      + (select count(*) from core.contacts
         where not coalesce(list_contains(cast($years as integer[]), source_year), false)
           and contact_id in (select contact_id from written_ids)) as duplicate_ids,
    (select count(*) - count(distinct contact_key) from written)
      + (select count(*) from core.contacts
         where not coalesce(list_contains(cast($years as integer[]), source_year), false)
           and contact_key in (select contact_key from written_keys)) as duplicate_keys;
