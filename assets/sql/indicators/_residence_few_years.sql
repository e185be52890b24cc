-- residence_asof for a run over few years (assets/indicators.py creates it after _macros.sql when the
-- run's range is short): the same rows as the macro in _macros.sql, another plan. Each (pnr, year)
-- finds its own year's core.residence row first (an equi-join on pnr and year: DuckDB reads only the
-- row groups of the years asked); only the pairs without one, of persons in core.persons (a person
-- never in bef has no row in any year), look further back: first in the year before (again an
-- equi-join on the year: that year's row, when it has a kom, is the latest earlier one), and only the
-- pairs still without one in the whole history, and of those only the persons whose first bef year
-- (core.persons.first_bef_year) lies before the year before: a person first in bef in Y - 1 or later
-- has no earlier row to find. That last set is usually empty in a one-year run (nationally, P3's 2025
-- run has ~3 k persons without a 2025 row, all with a 2024 one; I2's 2024 run 268 without a 2023 or
-- 2024 row, all first in bef in 2025), and then the history of core.residence (92 M rows, 2-4 s a
-- scan) is not read at all. An unknown first year (NULL) searches the history.
create or replace temp macro residence_asof(source) as table
    with q as materialized (
        select distinct pnr, year from query_table(source)
    ),
    same_year as materialized (
        select q.pnr, q.year, res.kom
        from q
        join core.residence res on res.pnr = q.pnr and res.year = q.year
        where res.kom is not null
    ),
    earlier as materialized (
        -- a person never in bef (not in core.persons) has no earlier row either
        select q.pnr, q.year
        from q
        anti join same_year s on s.pnr = q.pnr and s.year = q.year
        semi join core.persons p on p.pnr = q.pnr
    ),
    year_before as materialized (
        select e.pnr, e.year, res.kom
        from earlier e
        join core.residence res on res.pnr = e.pnr and res.year = e.year - 1
        where res.kom is not null
    ),
    further_back as materialized (
        select e.pnr, e.year
        from earlier e
        anti join year_before b on b.pnr = e.pnr and b.year = e.year
        semi join core.persons p
          on p.pnr = e.pnr and (p.first_bef_year is null or p.first_bef_year < e.year - 1)
    )
    select pnr, year, kom from same_year
    union all
    select pnr, year, kom from year_before
    union all
    select f.pnr, f.year, arg_max(res.kom, res.year) as kom
    from further_back f
    join core.residence res on res.pnr = f.pnr and res.year < f.year
    group by f.pnr, f.year;
