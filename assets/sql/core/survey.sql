-- core.survey: health-profile respondents (sundhedsprofil), year = survey (file) year, for the years
-- in $years (NULL = every year).
select respondent_id, nullif(trim(pnr), '') as pnr, _year as year, alder, koen, kom, mcs, vaegt
from src_sundhedsprofil
where cast($years as integer[]) is null or list_contains(cast($years as integer[]), _year)
