-- A full rebuild: core.stays and core.stay_contacts are the stays of every contact. The tables stays.sql
-- wrote are renamed into place (a catalog change inside the build's transaction, no copy of the rows).
drop table if exists core.stays;

alter table core.stays_new rename to stays;

drop table if exists core.stay_contacts;

alter table core.stay_contacts_new rename to stay_contacts;
