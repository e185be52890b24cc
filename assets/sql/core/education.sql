-- core.education: highest completed education per person and uddannelse year (status 1 October),
-- for the file years in $years (NULL = every year).
select pnr, _year as year, lower(trim(hfaudd_niveau)) as hfaudd_niveau
from src_uddannelse
where pnr is not null
  and (cast($years as integer[]) is null or list_contains(cast($years as integer[]), _year))
