-- core.markers: dated marker events with their meaning from ref.codes list 'marker'.
-- LPR2 markers sit on a contact (contact_id 'L2:'||recnum), LPR3 markers on a course (course_id).
-- Codes without a meaning in the list are not needed by any indicator and are left out.
create or replace table core.markers as
select 'LPR2' as generation, 'L2:' || m.recnum as contact_id, cast(null as varchar) as course_id,
       c.meaning, m.d_markoer as marker_date
from src_lpr_markoer as m
join ref.codes as c on c.list_name = 'marker' and c.code = upper(trim(m.markoer))
where m.recnum is not null
union all
select 'LPR3', cast(null as varchar), f.dw_ek_forloeb, c.meaning, f.dato_markoer
from src_lpr_f_forloebsmarkoerer as f
join ref.codes as c on c.list_name = 'marker' and c.code = upper(trim(f.markoer))
where f.dw_ek_forloeb is not null;
