-- core.survey: health-profile respondents (sundhedsprofil), year = survey (file) year.
create or replace table core.survey as
select respondent_id, nullif(trim(pnr), '') as pnr, _year as year, alder, koen, kom, mcs, vaegt
from src_sundhedsprofil;
