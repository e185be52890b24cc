-- The indicator values behind a status report: every year up to the report year (the national
-- series for the target figures), all breakdowns and splits. Read from the warehouse mart.
select *
from marts.indicator_values
where year <= $year
