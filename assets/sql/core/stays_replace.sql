-- A partial refresh: the replaced stays (stays_redo, see stays_persons.sql) give way to the rebuilt ones.
delete from core.stay_contacts where stay_id in (select stay_id from stays_redo);

delete from core.stays where stay_id in (select stay_id from stays_redo);

insert into core.stays select * from stays_new;

insert into core.stay_contacts select * from stay_contacts_new;
