-- The delivery behind each year's current staging rows: the latest accepted one.
select year, file, rows_read, rows_staged, rows_quarantined, loaded_at
from meta.load_log
where register = $register and status = 'loaded'
qualify row_number() over (partition by year order by loaded_at desc) = 1
order by year nulls first;
