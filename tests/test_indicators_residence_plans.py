"""The residence lookup of the indicator SQL has two plans (assets/indicators.py `create_macros`): a run
over many years reads core.residence once; a run over few years takes each pair's own year first and
looks back only where needed. Both must give the same rows, at the boundaries too."""

import pytest
from test_indicators_support import insert, make_world, person

from assets.indicators import FEW_YEARS, create_macros
from pipeline.db import run_sql

# (pnr, year asked) -> kom expected: bef on 1 January of the year, else the latest earlier bef with a kom
EXPECTED = {
    ("same", 2021): 101,        # own year's row
    ("back", 2021): 202,        # no row in 2021: the latest earlier (2019, not 2018)
    ("nullkom", 2021): 303,     # own year's row has no kom: the latest earlier with one
    ("later", 2021): None,      # only a later row: nothing
    ("absent", 2021): None,     # never in bef
    ("two", 2020): 401,         # the same person in two years asked
    ("two", 2021): 402,
    ("gap", 2021): 501,         # own year missing, the earlier years' rows hold one without kom
    ("prev", 2021): 801,        # own year missing: the year before's row, not an older one
    ("prevnull", 2021): 701,    # own year missing, the year before's row has no kom: an older one
    ("arrived", 2021): None,    # first in bef the year after: no earlier row (the history is not searched)
    ("nofirst", 2021): 901,     # first bef year unknown (NULL): the history is searched
}
# core.persons.first_bef_year of each person: the first year of their core.residence rows
FIRST_BEF_YEAR = {"same": 2020, "back": 2018, "nullkom": 2020, "later": 2022, "two": 2020, "gap": 2017,
                  "prev": 2018, "prevnull": 2019, "arrived": 2022, "nofirst": None}


@pytest.fixture()
def con(tmp_path):
    con = make_world(tmp_path)
    insert(con, "core.persons", [person(p, "1980-05-05") | {"first_bef_year": y} for p, y in FIRST_BEF_YEAR.items()])
    insert(con, "core.residence", [
        {"pnr": "same", "year": 2021, "kom": 101}, {"pnr": "same", "year": 2020, "kom": 999},
        {"pnr": "back", "year": 2018, "kom": 201}, {"pnr": "back", "year": 2019, "kom": 202},
        {"pnr": "nullkom", "year": 2020, "kom": 303}, {"pnr": "nullkom", "year": 2021, "kom": None},
        {"pnr": "later", "year": 2022, "kom": 601},
        {"pnr": "two", "year": 2020, "kom": 401}, {"pnr": "two", "year": 2021, "kom": 402},
        {"pnr": "gap", "year": 2017, "kom": 501}, {"pnr": "gap", "year": 2019, "kom": None},
        {"pnr": "prev", "year": 2018, "kom": 802}, {"pnr": "prev", "year": 2020, "kom": 801},
        {"pnr": "prevnull", "year": 2019, "kom": 701}, {"pnr": "prevnull", "year": 2020, "kom": None},
        {"pnr": "arrived", "year": 2022, "kom": 951},
        {"pnr": "nofirst", "year": 2018, "kom": 901},
    ])
    run_sql(con, "create table asked (pnr varchar, year integer)")
    insert(con, "asked", [{"pnr": p, "year": y} for p, y in EXPECTED])
    insert(con, "asked", [{"pnr": "two", "year": 2021}])  # a pair asked twice is looked up once
    return con


@pytest.mark.parametrize("year_from, year_to", [(2021, 2021), (2020, 2021), (2010, 2025)])
def test_both_plans_give_bef_of_the_year_else_the_latest_earlier(con, year_from, year_to):
    create_macros(con, year_from, year_to)
    rows = run_sql(con, """
        select a.pnr, a.year, r.kom
        from (select distinct pnr, year from asked) a
        left join residence_asof(asked) r on r.pnr = a.pnr and r.year = a.year
        order by 1, 2
    """)
    assert {(p, y): k for p, y, k in rows} == EXPECTED
    assert len(rows) == len(EXPECTED)  # one row per pair asked


def test_few_years_plan_searches_the_history_only_of_persons_first_in_bef_before_the_year_before(con):
    # core.persons.first_bef_year says "no row before 2020": the few-years plan trusts it and does not
    # search the history for 2021 (the whole-history plan, which does not read it, finds the 2018 row);
    # this is what spares a one-year run the scan of every residence row
    run_sql(con, "update core.persons set first_bef_year = 2020 where pnr = 'gap'")
    run_sql(con, "create table gap_2021 as select 'gap' as pnr, 2021 as year")
    create_macros(con, 2021, 2021)
    assert run_sql(con, "select kom from residence_asof(gap_2021)") == []
    create_macros(con, 2010, 2025)
    assert run_sql(con, "select kom from residence_asof(gap_2021)") == [(501,)]


def test_few_year_runs_use_the_few_years_plan(con):
    # the plan is visible in the macro's definition: the few-years one joins on the year itself
    def macro_sql() -> str:
        return run_sql(con, "select macro_definition from duckdb_functions() "
                            "where function_name = 'residence_asof'")[0][0]

    create_macros(con, 2021, 2021 + FEW_YEARS - 1)
    assert "same_year" in macro_sql()
    create_macros(con, 2021, 2021 + FEW_YEARS)
    assert "same_year" not in macro_sql()
