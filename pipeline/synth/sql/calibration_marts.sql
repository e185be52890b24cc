-- National values of the indicator_values marts (both sexes; pipeline.synth.calibration picks the
-- measure and age group of each published figure). $files: the mart's Parquet files.
select indicator_id, measure, age_group, year::integer as year, value, numerator, denominator
from read_parquet($files, hive_partitioning = false)
where breakdown_level = 'national' and sex = 'all'
