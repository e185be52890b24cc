-- The same rows from the published Parquet marts (when the warehouse has no mart table).
select *
from read_parquet($files, hive_partitioning = false, union_by_name = true)
where year <= $year
