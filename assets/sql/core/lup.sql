-- core.lup: patient-experience answers in psychiatry (lup_psykiatri), year = file year.
create or replace table core.lup as
select respondent_id, _year as year, region, lower(trim(maalgruppe)) as maalgruppe,
       tilfredshed, inddragelse
from src_lup_psykiatri;
