-- core.education: highest completed education per person and uddannelse year (status 1 October).
create or replace table core.education as
select pnr, _year as year, lower(trim(hfaudd_niveau)) as hfaudd_niveau
from src_uddannelse
where pnr is not null;
