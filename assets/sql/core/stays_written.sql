-- The stay ids a stays write inserts ($seq: the write's number), for the bounded stays check
-- (check_stays_bounded.sql): every id of core.stays_new and core.stay_contacts_new before they are
-- moved into place (a partial write only; a full rebuild empties the table: its check is full). An id
-- of both tables is recorded twice (no distinct: the check only asks whether an id is among them).
create or replace table meta.stays_written as
select cast($seq as bigint) as seq, stay_id
from (
    select stay_id from core.stays_new
    union all
    select stay_id from core.stay_contacts_new
);
