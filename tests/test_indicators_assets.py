"""The indicator assets as Dagster runs them: one asset per catalogue entry, yearly partitions, a range
run in one go, counts-only metadata, and a failed run leaving the previous rows in place."""

import dagster as dg
import duckdb
import pytest
from test_indicators_support import d, insert, make_world, person, stay

from assets import indicators
from pipeline.catalogue import load_catalogue
from pipeline.partitions import SINGLE_RUN, YEARS
from pipeline.resources import WarehouseResource


def test_one_asset_per_catalogue_entry():
    catalogue = load_catalogue()
    keys = {a.key.to_user_string() for a in indicators.indicator_assets}
    assert keys == set(catalogue)
    assert len(keys) == 16
    for a in indicators.indicator_assets:
        assert a.partitions_def == YEARS
        assert a.backfill_policy == SINGLE_RUN
        assert a.op.pool == "warehouse"
        assert indicators.sql_path(catalogue[a.key.to_user_string()]).is_file()
    p4 = next(a for a in indicators.indicator_assets if a.key.to_user_string() == "p4_genindlaeggelse")
    deps = {k.to_user_string() for k in p4.asset_deps[p4.key]}
    assert deps == {"stays", "deaths", "persons", "data_end", "geography"}


def test_year_ranges():
    assert indicators.year_ranges([2019, 2015, 2016, 2017, 2021]) == [(2015, 2017), (2019, 2019), (2021, 2021)]


@pytest.fixture()
def warehouse(tmp_path):
    con = make_world(tmp_path)
    insert(con, "core.stays", [
        stay(1, "a", "2019-03-01 08:00", "2019-03-10 10:00"),
        stay(2, "a", "2019-03-12 08:00", "2019-03-20 10:00"),
        stay(3, "b", "2020-03-01 08:00", "2020-03-10 10:00"),
        stay(4, "c", "2021-03-01 08:00", "2021-03-10 10:00"),
    ])
    insert(con, "core.persons", [person("a", "1980-01-01"), person("b", "1980-01-01")])
    insert(con, "core.deaths", [{"pnr": "c", "doddato": d("2021-03-20")}])
    insert(con, "core.data_end", [{"data_end": d("2021-12-31")}])
    con.close()
    return tmp_path / "warehouse.duckdb"


def _materialize(path, start: str, end: str) -> dg.ExecuteInProcessResult:
    p4 = next(a for a in indicators.indicator_assets if a.key.to_user_string() == "p4_genindlaeggelse")
    return dg.materialize(
        [p4],
        resources={"duckdb": WarehouseResource(database=str(path))},
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
        raise_on_error=False,
    )


def test_range_run_writes_years_and_counts(warehouse):
    result = _materialize(warehouse, "2019", "2021")
    assert result.success
    mats = result.asset_materializations_for_node("p4_genindlaeggelse")
    meta = mats[0].metadata
    # 2019: stays 1 (readmitted 46 h later) and 2; 2020: stay 3; 2021: stay 4 (died 10 days later)
    assert meta["units"].value == 4
    assert meta["denominator"].value == 3
    assert meta["numerator"].value == 1
    assert meta["exclusions_by_reason"].value == {"died_within_30_days": 1}
    # counts only: no ids, birth dates or free text in the metadata (the national series figure is
    # tested in test_indicators_figure.py)
    assert set(meta) == {
        "years", "units", "denominator", "numerator", "exclusions_by_reason",
        "national_series_figure", "national_series_years",
    }  # fmt: skip
    assert meta["years"].value == "2019, 2020, 2021"
    assert _years(warehouse) == [(2019, 2), (2020, 1), (2021, 1)]


def test_unit_years_record_computed_years_with_zero_units(warehouse):
    assert _materialize(warehouse, "2019", "2022").success
    with duckdb.connect(str(warehouse)) as con:
        got = con.execute(
            "select year, units, denominator, numerator from meta.unit_years "
            "where indicator_id = 'p4_genindlaeggelse' order by year"
        ).fetchall()
    # 2022 was computed and has no unit: recorded with zeros, unlike a year never computed
    assert got == [(2019, 2, 2, 1), (2020, 1, 1, 0), (2021, 1, 0, 0), (2022, 0, 0, 0)]


def _years(path) -> list[tuple]:
    with duckdb.connect(str(path)) as con:
        return con.execute("select year, count(*) from units.p4_genindlaeggelse group by 1 order by 1").fetchall()


def test_failed_run_keeps_previous_rows(warehouse, monkeypatch):
    assert _materialize(warehouse, "2020", "2021").success
    real_sql = indicators._select_sql

    def broken_sql(spec):
        # same columns, but `year` cannot be inserted: the insert fails after the year's delete
        return f"select * replace ('not a year' as year) from ({real_sql(spec)})"

    monkeypatch.setattr(indicators, "_select_sql", broken_sql)
    result = _materialize(warehouse, "2020", "2021")
    assert not result.success
    assert _years(warehouse) == [(2020, 1), (2021, 1)]


def test_a_new_years_stays_reach_the_year_before_through_the_sensors_indicator_run(warehouse):
    # stay 4's person "c" also had a stay ending 30 December 2020; a new 2021 delivery adds an acute
    # readmission on 2 January 2021. A run of P4 for 2021 alone leaves 2020's unit as it was; the
    # indicator run the sensor queues after the load (pipeline.ops.refresh_plan: P4 reaches one year
    # ahead, so it runs for 2020-2021) corrects it.
    from pipeline.ops import refresh_plan

    with duckdb.connect(str(warehouse)) as con:
        insert(con, "core.stays", [stay(5, "d", "2020-12-20 08:00", "2020-12-30 10:00")])
        insert(con, "core.persons", [person("d", "1980-01-01")])
    assert _materialize(warehouse, "2019", "2021").success
    assert _unit(warehouse, "5", 2020) == (True, False)
    with duckdb.connect(str(warehouse)) as con:  # the 2021 core refresh brings the readmission
        insert(con, "core.stays", [stay(6, "d", "2021-01-02 08:00", "2021-01-09 10:00")])
    assert _materialize(warehouse, "2021", "2021").success
    assert _unit(warehouse, "5", 2020) == (True, False)  # a run for the year alone does not reach back
    p4 = next(a for a in indicators.indicator_assets if a.key.to_user_string() == "p4_genindlaeggelse")
    graph = dg.Definitions(assets=[p4], resources={"duckdb": WarehouseResource(database=str(warehouse))}).resolve_asset_graph()
    years = [int(y) for y in YEARS.get_partition_keys()]
    runs = refresh_plan(graph, {dg.AssetKey("stays"): {2021}}, years)
    assert [(r.label, r.first, r.last, r.selection) for r in runs] == [
        ("stays", 2021, 2021, [dg.AssetKey("stays")]), ("indicators", 2020, min(2022, max(years)), [p4.key])]
    assert _materialize(warehouse, "2020", "2021").success
    assert _unit(warehouse, "5", 2020) == (True, True)


def _unit(path, unit_id: str, year: int) -> tuple[bool, bool] | None:
    with duckdb.connect(str(path)) as con:
        rows = con.execute("select in_denominator, in_numerator from units.p4_genindlaeggelse "
                           "where unit_id = $u and year = $y", {"u": unit_id, "y": year}).fetchall()
    return rows[0] if rows else None
