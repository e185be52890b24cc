-- Column kinds of the earlier readable deliveries of a register, oldest first (schema-drift check).
select file, column_types
from meta.load_log
where register = $register and status in ('loaded', 'refused') and column_types is not null
order by loaded_at, file;
