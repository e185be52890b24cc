-- Row conservation per year: every raw row is in staging or in quarantine (refused deliveries'
-- quarantine rows excluded: their rows never reached raw). A year's raw rows: those of its archive file
-- (raw.<register>), as counted when read (meta.raw_files). Identifiers {staging}, {quarantine} are
-- contract table names, filled in by assets/ingest.py; no values are formatted in.
with r as (select year as _year, rows as n from meta.raw_files where register = $register),
     s as (select _year, count(*) as n from {staging} group by _year),
     q as (select _year, count(*) as n from {quarantine} where not _refused group by _year)
select coalesce(r._year, s._year, q._year) as year,
       coalesce(r.n, 0) as raw_rows,
       coalesce(s.n, 0) as staging_rows,
       coalesce(q.n, 0) as quarantine_rows
from r
full outer join s on r._year is not distinct from s._year
full outer join q on coalesce(r._year, s._year) is not distinct from q._year
order by year nulls first;
