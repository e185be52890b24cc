-- Published national figures that are not indicators, counted from the warehouse's core tables
-- (read-only; pipeline.synth.calibration). One row per (figure, year); counts at the world's scale.
--   population          residents on 1 January (core.residence = bef of the year)
--   psych_admissions    psychiatric admissions (core.stays: is_admission) ending in the year
--   persons_psych_stay  distinct persons with a psychiatric physical-attendance contact starting in the year
--   forced_admissions   form 1 measures (tvangsindlæggelse and tvangstilbageholdelse) in psychiatry
--                       starting in the year (core.coercion; the same count as P2 measures_form_1)
--   suicides            deaths in the year with underlying cause DX60-DX84 (everyone, not only P3's
--                       population of psychiatric patients)
select 'population' as figure, year::integer as year, count(*)::double as value
from core.residence group by all
union all
select 'psych_admissions', year(end_ts)::integer, count(*)::double
from core.stays where psychiatric and is_admission and end_ts is not null group by all
union all
select 'persons_psych_stay', year(start_ts)::integer, count(distinct pnr)::double
from core.contacts where psychiatric and physical group by all
union all
select 'forced_admissions', year(start_date)::integer, count(*)::double
from core.coercion where psychiatry and skema = 1 and not voluntary group by all
union all
select 'suicides', year(doddato)::integer, count(*)::double
from core.deaths where upper(substr(c_dodsaarsag, 1, 4)) between 'DX60' and 'DX84' group by all
