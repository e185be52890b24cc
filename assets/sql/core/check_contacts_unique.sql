-- Check: contact ids are unique in core.contacts (a duplicate would count its contact twice in stays),
-- and so are contact keys (stay ids are built on them).
select count(*) as contacts,
       count(*) - count(distinct contact_id) as duplicate_ids,
       count(*) - count(distinct contact_key) as duplicate_keys
from core.contacts;
