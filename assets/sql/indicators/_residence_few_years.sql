-- residence_asof for a run over few years (assets/indicators.py creates it after _macros.sql when the
-- run's range is short): the same rows as the macro in _macros.sql, another plan. Each (pnr, year)
-- finds its own year's core.residence row first (an equi-join on pnr and year: DuckDB reads only the
-- row groups of the years asked); only the pairs without one, of persons in core.persons (a person
-- never in bef has no row in any year), look further back. That set is usually empty in a one-year
-- run, and then the history of core.residence is not read at all.
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
    )
    select pnr, year, kom from same_year
    union all
    select e.pnr, e.year, arg_max(res.kom, res.year) as kom
    from earlier e
    join core.residence res on res.pnr = e.pnr and res.year < e.year
    group by e.pnr, e.year;
