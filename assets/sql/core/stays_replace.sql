-- A partial refresh: the stays of the persons in stay_persons are replaced by the rebuilt ones.
delete from core.stay_contacts
where stay_id in (select stay_id from core.stays where pnr in (select pnr from stay_persons));

delete from core.stays where pnr in (select pnr from stay_persons);

insert into core.stays select * from stays_new;

insert into core.stay_contacts select * from stay_contacts_new;
