-- Units per indicator year: all candidate units, those in the denominator, and those left out per
-- exclusion reason (e.g. N3 negative waits). {{unit_table}} is a validated table name.
select year, 'units' as metric, count(*) as n from {{unit_table}} group by year
union all
select year, 'units_in_denominator', count(*) filter (where in_denominator) from {{unit_table}} group by year
union all
select year, 'excluded:' || exclusion_reason, count(*)
from {{unit_table}}
where exclusion_reason is not null
group by year, exclusion_reason
order by year, metric
