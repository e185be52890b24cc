-- Values of a reference-coded column that ref.codes does not know, by year (counts only).
-- {table} and {column} are contract identifiers filled in by assets/ingest.py.
select _year as year, count(*) as rows_unknown, count(distinct {column}) as codes_unknown
from {table}
where {column} is not null
  and {column} not in (select code from ref.codes where list_name = $list_name)
group by _year
order by year nulls first;
