-- Check: contact ids are unique in core.contacts (a duplicate would count its contact twice in stays).
select count(*) as contacts, count(*) - count(distinct contact_id) as duplicate_ids
from core.contacts;
