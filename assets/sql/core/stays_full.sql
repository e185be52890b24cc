-- A full rebuild: core.stays and core.stay_contacts are the stays of every contact.
create or replace table core.stays as select * from stays_new;

create or replace table core.stay_contacts as select * from stay_contacts_new;
