-- The first, cheaper pass of check_stays_cover_contacts.sql (same five counts): the members per stay
-- and the duplicate stay ids come from one aggregate over stays and stay_contacts together, instead
-- of an aggregate, a join and a distinct count. Exact whenever duplicate_stay_ids is 0 (each stay id
-- then has one stays row, whose n_contacts is compared with its members); otherwise assets/core.py
-- runs check_stays_cover_contacts.sql for the exact counts (the check fails either way).
with g as (
    select stay_id,
           count(*) filter (where is_stay) as stay_rows,
           count(*) filter (where not is_stay) as members,
           max(n_contacts) as n_contacts
    from (
        select stay_id, n_contacts, true as is_stay from core.stays
        union all
        select stay_id, null, false from core.stay_contacts
    ) as u
    group by stay_id
)
select
    (select count(*) from core.contacts where physical and pnr is not null and start_ts is not null)
        as physical_contacts,
    (select count(*) from core.stay_contacts) as stay_members,
    (select count(*) - count(distinct contact_id) from core.stay_contacts) as in_several_stays,
    (select count(*) from g where stay_id is not null and stay_rows = 1 and n_contacts <> members)
        as wrong_n_contacts,
    (select coalesce(sum(stay_rows), 0) - count(*) filter (where stay_id is not null and stay_rows > 0) from g)
        as duplicate_stay_ids;
