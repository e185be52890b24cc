-- The contacts a full stays build reads: every contact.
create or replace temp view stay_source as select * from core.contacts;
