-- core.coercion: coercive measures (tvang) of the file years in $years (NULL = every year). Only a
-- belt fixation (baelte) with begrundelse 'frivillig' is voluntary; any other measure with that
-- reason stays coercion.
select pnr,
       skema,
       lower(trim(tvangstype)) as tvangstype,
       lower(trim(begrundelse)) as begrundelse,
       coalesce(lower(trim(tvangstype)) = 'baelte' and lower(trim(begrundelse)) = 'frivillig', false)
           as voluntary,
       coalesce(lower(trim(behandlingsomraade)) = 'psykiatri', false) as psychiatry,
       start_dato + coalesce(start_tid, time '00:00') as start_ts,
       case when slut_dato is not null then slut_dato + coalesce(slut_tid, time '00:00') end as end_ts,
       start_dato as start_date,
       region,
       _year as source_year
from src_tvang
where cast($years as integer[]) is null or list_contains(cast($years as integer[]), _year)
