-- core.lup: patient-experience answers in psychiatry (lup_psykiatri), year = file year, for the
-- years in $years (NULL = every year).
select respondent_id, _year as year, region, lower(trim(maalgruppe)) as maalgruppe,
       tilfredshed, inddragelse
from src_lup_psykiatri
where cast($years as integer[]) is null or list_contains(cast($years as integer[]), _year)
