-- core.residence: the municipality of each person on 1 January of each bef year in $years (NULL =
-- every year): one row per person and year; a person listed twice in one year keeps the last row of
-- the file. (One year at a time is several times faster than all years at once: the per-person
-- hash table stays small; assets/core.py builds a full rebuild year by year.)
select pnr, _year as year, kom
from src_bef
where pnr is not null and _year is not null
  and (cast($years as integer[]) is null or list_contains(cast($years as integer[]), _year))
qualify row_number() over (partition by pnr, _year order by _source_row desc) = 1
