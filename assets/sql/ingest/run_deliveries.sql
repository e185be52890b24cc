-- The deliveries of a register judged in one run; if the run loaded none (a check run on its own),
-- the latest delivery of each year instead.
with this_run as (
    select * from meta.load_log where register = $register and run_id = $run_id
), latest as (
    select * from meta.load_log
    where register = $register
    qualify row_number() over (partition by year order by loaded_at desc) = 1
)
select year, file, status, rows_read, rows_staged, rows_quarantined, rule_counts, message, max_rows, max_share
from this_run
union all
select year, file, status, rows_read, rows_staged, rows_quarantined, rule_counts, message, max_rows, max_share
from latest
where not exists (select 1 from this_run)
order by year nulls first, file;
