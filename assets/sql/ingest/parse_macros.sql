-- How text as delivered becomes a typed value: NULL when the text is not a value of the type.
-- The single definition used both by the row rules (a non-null text whose parse is NULL breaks
-- `not_an_integer` / `not_a_number` / `not_a_date` / `not_a_time`) and by the cast into staging, so
-- "valid" and "castable" cannot disagree. Temp macros: created per connection by assets/ingest.py.
--   int, hour: a finite whole number within the INTEGER range ('20.0' and '1e3' are whole numbers)
--   float:     a finite number; a decimal comma is common in Danish `;`-separated exports
--   date:      YYYY-MM-DD, or YYYY-MM-DD HH:MM:SS (the date part)
--   time:      HH:MM:SS or HH:MM
-- Underscores are refused (DuckDB's cast reads '1_000' as 1000; a delivered value never means that).
create or replace temp macro ingest_parse_int(x) as
    case when regexp_full_match(x, '[+-]?[0-9]{1,9}') then cast(x as integer)  -- the common case, fast
         when strpos(x, '_') = 0
          and isfinite(try_cast(x as double))
          and try_cast(x as double) = floor(try_cast(x as double))
          and abs(try_cast(x as double)) <= 2147483647
         then cast(try_cast(x as double) as integer) end;

create or replace temp macro ingest_parse_float(x) as
    case when strpos(x, '_') = 0 and isfinite(try_cast(replace(x, ',', '.') as double))
         then try_cast(replace(x, ',', '.') as double) end;

-- date and time skip a format the text cannot match (its literal ' ' or ':' is not in the text): text
-- without a space is no date-time, text with one ':' no HH:MM:SS, text with another number of ':' no
-- HH:MM. The same values as trying both formats in turn (text with a space still does), without a
-- failed parse of every value of the second form (a failed try_strptime costs about ten parses: 2 s
-- of a national LPR3 CSV delivery, whose times are HH:MM).
create or replace temp macro ingest_parse_date(x) as
    case when strpos(x, ' ') = 0 then cast(try_strptime(x, '%Y-%m-%d') as date)
         else coalesce(cast(try_strptime(x, '%Y-%m-%d') as date),
                       cast(try_strptime(x, '%Y-%m-%d %H:%M:%S') as date)) end;

create or replace temp macro ingest_parse_time(x) as
    case when length(x) - length(replace(x, ':', '')) = 1 then cast(try_strptime(x, '%H:%M') as time)
         else cast(try_strptime(x, '%H:%M:%S') as time) end;
