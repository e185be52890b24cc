-- core.residence: the municipality of each person on 1 January of each bef year in $years (NULL =
-- every year): one row per person and year; a person listed twice in one year keeps the last row of
-- the file. (One year at a time is several times faster than all years at once: the per-person
-- hash table stays small; assets/core.py builds a full rebuild year by year.) The last row is taken by
-- an aggregate, arg_max_null (which keeps a NULL kom of the last row, as the row itself would), not by
-- `qualify row_number() ... = 1`: the same rows at about half the cost (national bef 2017: 2.0 -> 1.1 s).
select pnr, _year as year, arg_max_null(kom, _source_row) as kom
from src_bef
where pnr is not null and _year is not null
  and (cast($years as integer[]) is null or list_contains(cast($years as integer[]), _year))
group by pnr, _year
