-- Check: every physical-attendance contact with a person and a start lies in exactly one stay, every
-- stay's n_contacts matches its members, and stay ids are unique.
with members as (
    select stay_id, count(*) as n from core.stay_contacts group by stay_id
)
select
    (select count(*) from core.contacts where physical and pnr is not null and start_ts is not null)
        as physical_contacts,
    (select count(*) from core.stay_contacts) as stay_members,
    (select count(*) - count(distinct contact_id) from core.stay_contacts) as in_several_stays,
    (select count(*) from core.stays as s left join members as m using (stay_id)
      where s.n_contacts <> coalesce(m.n, 0)) as wrong_n_contacts,
    (select count(*) - count(distinct stay_id) from core.stays) as duplicate_stay_ids;
