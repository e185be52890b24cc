-- The current delivery of every register and year: the latest meta.load_log row with status 'loaded'
-- (refused deliveries leave the previous one in staging). Used for the data version of a mart year.
select register, year, file, file_hash
from meta.load_log
where status = 'loaded'
qualify row_number() over (partition by register, year order by loaded_at desc) = 1
order by register, year, file
