-- Row counts of the current delivery of every register and year (latest 'loaded' row of
-- meta.load_log), for marts.data_quality. rule_counts is JSON {"column:rule": rows}.
select register, year, file, rows_read, rows_staged, rows_quarantined, cast(rule_counts as varchar) as rule_counts
from meta.load_log
where status = 'loaded'
qualify row_number() over (partition by register, year order by loaded_at desc) = 1
order by register, year, file
