-- Target progress as computed by the marts layer (one row per indicator, measure and age group).
select *
from marts.target_progress
order by indicator_id, measure, age_group
