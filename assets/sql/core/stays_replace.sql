-- A partial refresh: the replaced stays (stays_redo, see stays_persons.sql) give way to the rebuilt ones.
delete from core.stay_contacts where stay_id in (select stay_id from stays_redo);

delete from core.stays where stay_id in (select stay_id from stays_redo);

insert into core.stays select * from core.stays_new;

insert into core.stay_contacts select * from core.stay_contacts_new;

drop table core.stays_new;

drop table core.stay_contacts_new;
