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
}


@pytest.fixture()
def con(tmp_path):
    con = make_world(tmp_path)
    insert(con, "core.persons", [person(p, "1980-05-05") for p in
                                 ("same", "back", "nullkom", "later", "two", "gap", "prev", "prevnull")])
    insert(con, "core.residence", [
        {"pnr": "same", "year": 2021, "kom": 101}, {"pnr": "same", "year": 2020, "kom": 999},
        {"pnr": "back", "year": 2018, "kom": 201}, {"pnr": "back", "year": 2019, "kom": 202},
        {"pnr": "nullkom", "year": 2020, "kom": 303}, {"pnr": "nullkom", "year": 2021, "kom": None},
        {"pnr": "later", "year": 2022, "kom": 601},
        {"pnr": "two", "year": 2020, "kom": 401}, {"pnr": "two", "year": 2021, "kom": 402},
        {"pnr": "gap", "year": 2017, "kom": 501}, {"pnr": "gap", "year": 2019, "kom": None},
        {"pnr": "prev", "year": 2018, "kom": 802}, {"pnr": "prev", "year": 2020, "kom": 801},
        {"pnr": "prevnull", "year": 2019, "kom": 701}, {"pnr": "prevnull", "year": 2020, "kom": None},
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


def test_few_year_runs_use_the_few_years_plan(con):
    # the plan is visible in the macro's definition: the few-years one joins on the year itself
    def macro_sql() -> str:
        return run_sql(con, "select macro_definition from duckdb_functions() "
                            "where function_name = 'residence_asof'")[0][0]

    create_macros(con, 2021, 2021 + FEW_YEARS - 1)
    assert "same_year" in macro_sql()
    create_macros(con, 2021, 2021 + FEW_YEARS)
    assert "same_year" not in macro_sql()
