"""The shared aggregator on hand-built unit tables; every expected figure is worked out by hand below."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.aggregate import UnitTableMissing, aggregate_indicator
from pipeline.catalogue import parse_entry

UNIT_COLUMNS = """
    year INTEGER, unit_id VARCHAR, pnr VARCHAR, in_denominator BOOLEAN, in_numerator BOOLEAN,
    exclusion_reason VARCHAR, sex VARCHAR, age INTEGER, age_group VARCHAR, kom INTEGER,
    region_code INTEGER, region2027_code INTEGER, sundhedsraad_code INTEGER, weight DOUBLE,
    value DOUBLE, flags VARCHAR
"""
GEO = {101: (84, 86, 1), 751: (82, 82, 2), 851: (81, 81, 3)}


def spec_of(entry_id: str, measures: list[dict], **over: object):
    raw = {
        "id": entry_id,
        "version": 3,
        "code": "N2",
        "group": "nationale_maal",
        "name_da": "Test",
        "name_en": "Test",
        "source_registers": ["bef"],
        "definition": "Hand-built test units.",
        "parameters": {},
        "unit_table": f"units.{entry_id}",
        "breakdowns": ["national", "region", "kom"],
        "splits": ["sex", "age_group"],
        "age_groups": ["children", "adults"],
        "measures": measures,
        "direction": "down",
        "baseline": None,
        "target": None,
        "flags": [{"name": "test_break", "years": [2021]}],
    }
    raw.update(over)
    return parse_entry(Path(f"{entry_id}.yaml"), raw)


def make_db(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for s in ("ref", "units", "core"):
        con.execute(f"create schema {s}")
    con.execute(
        "create table ref.geography (kom INTEGER, kom_navn VARCHAR, region_code INTEGER, region_name VARCHAR,"
        " region2027_code INTEGER, region2027_name VARCHAR, sundhedsraad_code INTEGER,"
        " sundhedsraad_name VARCHAR, source VARCHAR)"
    )
    for kom, (r, r27, sr) in GEO.items():
        con.execute(
            "insert into ref.geography values ($k, 'x', $r, 'x', $r27, 'x', $sr, 'x', 'test')",
            {"k": kom, "r": r, "r27": r27, "sr": sr},
        )
    return con


def add_units(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple], extra_cols: str = "") -> None:
    con.execute(f"create table units.{table} ({UNIT_COLUMNS}{extra_cols})")
    n = len(rows[0])
    con.executemany(f"insert into units.{table} values ({', '.join('?' * n)})", rows)


def unit(year, uid, pnr, den, num, sex, age_group, kom, value=None, weight=1.0, flags=None, reason=None, *extra):
    r, r27, sr = GEO[kom]
    return (year, uid, pnr, den, num, reason, sex, 40, age_group, kom, r, r27, sr, weight, value, flags, *extra)


BASIC = [
    unit(2020, "u1", "a", True, True, "male", "adults", 101, 10.0),
    unit(2020, "u2", "b", True, False, "female", "adults", 101, 2.0),
    unit(2020, "u3", "c", True, False, "female", "children", 751, 4.0),
    unit(2020, "u4", "d", False, False, "male", "adults", 751, None, 1.0, None, "died"),
    unit(2020, "u5", "a", True, True, "male", "adults", 101, 1.0),
    unit(2021, "u6", "e", True, False, "female", "children", 851, 3.0, 1.0, "incomplete_lookback"),
]
MEASURES = [
    {"id": "share", "kind": "share", "unit": "percent"},
    {"id": "n_rows", "kind": "count", "unit": "count"},
    {"id": "persons", "kind": "distinct_persons", "unit": "persons"},
    {"id": "days", "kind": "sum", "unit": "days"},
    {"id": "mean_days", "kind": "mean", "unit": "days"},
    {"id": "median_days", "kind": "median", "unit": "days"},
    {"id": "rate", "kind": "rate_per_1000", "unit": "per_1000"},
    {"id": "big_days", "kind": "count", "unit": "count", "filter": "value > 3"},
    {"id": "ratio", "kind": "ratio_of_counts", "unit": "percent", "filter": "pnr in ('a', 'd')"},
]


def cell(df: pl.DataFrame, measure: str, year: int, level: str, key: str, sex: str = "all", age: str = "all") -> dict:
    rows = df.filter(
        (pl.col("measure") == measure)
        & (pl.col("year") == year)
        & (pl.col("breakdown_level") == level)
        & (pl.col("breakdown_key") == key)
        & (pl.col("sex") == sex)
        & (pl.col("age_group") == age)
    ).to_dicts()
    assert len(rows) == 1, (measure, year, level, key, sex, age, len(rows))
    return rows[0]


@pytest.fixture(scope="module")
def basic(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    con = make_db(tmp_path_factory.mktemp("basic"))
    add_units(con, "t_basic", BASIC)
    return aggregate_indicator(con, spec_of("t_basic", MEASURES), [2019, 2020, 2021])


def test_shape_and_zero_cells(basic: pl.DataFrame) -> None:
    # 2019 has no units at all -> no rows (a missing year must stay visible to the completeness check).
    assert sorted(basic["year"].unique().to_list()) == [2020, 2021]
    # per measure and year: keys national 1 + regions 81, 82, 84 + koms 101, 751, 851 = 7,
    # x sex (all, female, male) x age group (all, adults, children) = 63 cells
    assert basic.filter(pl.col("measure") == "share").height == 2 * 7 * 9
    assert set(basic["breakdown_level"].unique()) == {"national", "region", "kom"}
    assert basic.filter(pl.col("indicator_version") != 3).height == 0


def test_share_by_breakdown(basic: pl.DataFrame) -> None:
    nat = cell(basic, "share", 2020, "national", "DK")
    assert (nat["numerator"], nat["denominator"], nat["value"]) == (2, 4, 50.0)  # u4 is excluded
    assert nat["ci_low"] == pytest.approx(15.004, abs=1e-3)  # Wilson 2/4: 0.15004 .. 0.84996
    assert nat["ci_high"] == pytest.approx(84.996, abs=1e-3)
    r84 = cell(basic, "share", 2020, "region", "84")
    assert (r84["numerator"], r84["denominator"]) == (2, 3)
    assert r84["value"] == pytest.approx(200 / 3)
    r82 = cell(basic, "share", 2020, "region", "82")  # u3 only: a zero numerator stays
    assert (r82["numerator"], r82["denominator"], r82["value"]) == (0, 1, 0.0)
    r81 = cell(basic, "share", 2020, "region", "81")  # nobody in 2020: a zero cell, value undefined
    assert (r81["numerator"], r81["denominator"], r81["value"]) == (0, 0, None)
    male = cell(basic, "share", 2020, "national", "DK", sex="male")
    assert (male["numerator"], male["denominator"], male["value"]) == (2, 2, 100.0)
    fem_child = cell(basic, "share", 2020, "kom", "751", sex="female", age="children")
    assert (fem_child["numerator"], fem_child["denominator"]) == (0, 1)
    assert cell(basic, "share", 2020, "kom", "101", sex="female", age="children")["denominator"] == 0


def test_counts_sums_means_medians(basic: pl.DataFrame) -> None:
    assert cell(basic, "n_rows", 2020, "national", "DK")["value"] == 2  # u1, u5
    assert cell(basic, "n_rows", 2020, "national", "DK")["denominator"] is None
    assert cell(basic, "persons", 2020, "national", "DK")["value"] == 1  # both rows are person a
    assert cell(basic, "days", 2020, "national", "DK")["value"] == 17.0  # 10 + 2 + 4 + 1
    assert cell(basic, "mean_days", 2020, "national", "DK")["value"] == 4.25
    # values 1, 2, 4, 10: an even count, the median is the mean of 2 and 4
    assert cell(basic, "median_days", 2020, "national", "DK")["value"] == 3.0
    assert cell(basic, "median_days", 2020, "region", "84")["value"] == 2.0  # 1, 2, 10
    assert cell(basic, "days", 2020, "region", "81")["value"] == 0.0
    assert cell(basic, "mean_days", 2020, "region", "81")["value"] is None
    assert cell(basic, "big_days", 2020, "national", "DK")["value"] == 1  # numerator rows with value > 3: u1


def test_ratio_of_counts(basic: pl.DataFrame) -> None:
    # numerator rows with in_numerator and the filter: u1, u5 (u4 is not in the numerator) = 2;
    # denominator: every in_denominator row, the filter not applied = 4
    r = cell(basic, "ratio", 2020, "national", "DK")
    assert (r["numerator"], r["denominator"], r["value"]) == (2, 4, 50.0)
    r82 = cell(basic, "ratio", 2020, "region", "82")
    assert (r82["numerator"], r82["denominator"], r82["value"]) == (0, 1, 0.0)


def test_rate_per_1000_poisson(basic: pl.DataFrame) -> None:
    r = cell(basic, "rate", 2020, "national", "DK")
    assert r["value"] == 500.0
    # Garwood limits for 2 are 0.2422 and 7.2247 -> 1000 * limit / 4
    assert r["ci_low"] == pytest.approx(60.55, abs=0.01)
    assert r["ci_high"] == pytest.approx(1806.17, abs=0.01)


def test_flags(basic: pl.DataFrame) -> None:
    nat21 = cell(basic, "share", 2021, "national", "DK")
    assert nat21["flags"] == "incomplete_lookback,small_denominator,test_break"
    nat20 = cell(basic, "share", 2020, "national", "DK")
    assert nat20["flags"] == "small_denominator"  # 4 < 20, no year flag in 2020
    assert cell(basic, "n_rows", 2020, "national", "DK")["flags"] is None  # counts have no denominator


def test_weighted_share_kish(tmp_path: Path) -> None:
    con = make_db(tmp_path)
    rows = [
        unit(2021, "r1", "a", True, False, "male", "adults", 101, None, 1.0),
        unit(2021, "r2", "b", True, False, "male", "adults", 101, None, 1.0),
        unit(2021, "r3", "c", True, True, "female", "adults", 101, None, 2.0),
        unit(2021, "r4", "d", True, True, "female", "adults", 751, None, 4.0),
        unit(2021, "r5", "e", False, False, "female", "adults", 751, None, 9.0),
    ]
    add_units(con, "t_w", rows)
    spec = spec_of("t_w", [{"id": "share", "kind": "weighted_share", "unit": "percent"}], parameters={"min_denominator": 3})
    df = aggregate_indicator(con, spec, [2021])
    nat = cell(df, "share", 2021, "national", "DK")
    # Σw = 8, Σw·num = 6 -> 75 %; Kish n = 64/22; Wilson limits worked out in test_stats_intervals
    assert (nat["numerator"], nat["denominator"], nat["value"]) == (2, 4, 75.0)
    assert nat["ci_low"] == pytest.approx(25.145, abs=0.01)
    assert nat["ci_high"] == pytest.approx(96.402, abs=0.01)
    assert nat["flags"] == "test_break"  # 4 >= min_denominator 3
    fem = cell(df, "share", 2021, "national", "DK", sex="female")
    assert fem["value"] == 100.0 and fem["ci_high"] == 100.0


def test_smr(tmp_path: Path) -> None:
    con = make_db(tmp_path)
    rows = [
        unit(2020, "c1", "a", True, True, "male", "adults", 101, 0.5),
        unit(2020, "c2", "b", True, True, "male", "adults", 101, 0.5),
        unit(2020, "c3", "c", True, False, "female", "adults", 751, 0.5),
    ]
    add_units(con, "t_smr", rows)
    df = aggregate_indicator(con, spec_of("t_smr", [{"id": "smr", "kind": "smr", "unit": "ratio"}]), [2020])
    nat = cell(df, "smr", 2020, "national", "DK")
    # O = 2, E = 1.5 -> 1.3333; Garwood limits of 2 (0.2422, 7.2247) / 1.5
    assert (nat["numerator"], nat["denominator"]) == (2, 1.5)
    assert nat["value"] == pytest.approx(4 / 3)
    assert nat["ci_low"] == pytest.approx(0.16147, abs=1e-4)
    assert nat["ci_high"] == pytest.approx(4.81647, abs=1e-4)


def test_std_share_by_hand(tmp_path: Path) -> None:
    con = make_db(tmp_path)
    y, o = "y", "o"
    rows = [
        # standard year 2019: band y 3 units, band o 1 unit -> weights 0.75 and 0.25
        unit(2019, "s1", "p1", True, False, "male", "adults", 101, None, 1.0, None, None, y),
        unit(2019, "s2", "p2", True, False, "male", "adults", 101, None, 1.0, None, None, y),
        unit(2019, "s3", "p3", True, True, "female", "adults", 751, None, 1.0, None, None, y),
        unit(2019, "s4", "p4", True, False, "female", "adults", 751, None, 1.0, None, None, o),
        unit(2019, "s5", "p5", False, False, "female", "adults", 751, None, 1.0, None, "x", o),  # not standard
        # 2020: band y 4 units in kom 101 (1 numerator), band o 2 units in kom 751 (both numerator)
        unit(2020, "a1", "q1", True, True, "male", "adults", 101, None, 1.0, None, None, y),
        unit(2020, "a2", "q2", True, False, "male", "adults", 101, None, 1.0, None, None, y),
        unit(2020, "a3", "q3", True, False, "male", "adults", 101, None, 1.0, None, None, y),
        unit(2020, "a4", "q4", True, False, "male", "adults", 101, None, 1.0, None, None, y),
        unit(2020, "a5", "q5", True, True, "female", "adults", 751, None, 1.0, None, None, o),
        unit(2020, "a6", "q6", True, True, "female", "adults", 751, None, 1.0, None, None, o),
    ]
    add_units(con, "t_std", rows, ", std_band VARCHAR")
    measures = [
        {"id": "share", "kind": "share", "unit": "percent"},
        {"id": "share_std", "kind": "std_share", "unit": "percent", "strata": ["std_band"], "standard_year": 2019},
    ]
    spec = spec_of("t_std", measures, splits=[], breakdowns=["national", "region"])
    df = aggregate_indicator(con, spec, [2020])
    assert df.height == 2 * 4  # national + 3 regions, no splits
    crude = cell(df, "share", 2020, "national", "DK")
    assert crude["value"] == 50.0  # 3 / 6
    std = cell(df, "share_std", 2020, "national", "DK")
    # 0.75 * 25 % + 0.25 * 100 % = 43.75 %
    assert std["value"] == pytest.approx(43.75) and std["std_value"] == pytest.approx(43.75)
    assert (std["numerator"], std["denominator"]) == (3, 6)
    assert std["flags"] == "small_denominator"
    r84 = cell(df, "share_std", 2020, "region", "84")  # only band y present: 25 %, flagged
    assert r84["std_value"] == pytest.approx(25.0)
    assert r84["flags"] == "small_denominator,std_strata_missing"
    r82 = cell(df, "share_std", 2020, "region", "82")
    assert r82["std_value"] == pytest.approx(100.0)
    r81 = cell(df, "share_std", 2020, "region", "81")  # no units: no standardised value
    assert r81["std_value"] is None and r81["denominator"] == 0


def test_per_1000_residents(tmp_path: Path) -> None:
    con = make_db(tmp_path)
    add_units(con, "t_res", BASIC)
    con.execute("create table core.persons (pnr VARCHAR, koen INTEGER, foed_dag DATE)")
    con.execute("create table core.residence (pnr VARCHAR, year INTEGER, kom INTEGER)")
    # residents on 1 January 2020: four in kom 101, one in kom 751; r5 turns 18 on 1 January 2020
    people = [("r1", 1, "1980-05-05", 101), ("r2", 2, "1970-01-01", 101), ("r3", 2, "2010-03-03", 101),
              ("r4", 1, "1990-12-31", 101), ("r5", 1, "2002-01-01", 751)]  # fmt: skip
    con.executemany("insert into core.persons values (?, ?, ?)", [p[:3] for p in people])
    con.executemany("insert into core.residence values (?, 2020, ?)", [(p[0], p[3]) for p in people])
    spec = spec_of(
        "t_res",
        [{"id": "days_per_1000", "kind": "per_1000_residents", "unit": "per_1000"}],
        age_groups={"children": [0, 17], "adults": [18, None]},
    )
    df = aggregate_indicator(con, spec, [2020])
    nat = cell(df, "days_per_1000", 2020, "national", "DK")
    # numerator units u1 (10 days) and u5 (1 day) = 11 days; 5 residents -> 2200 per 1,000
    assert (nat["numerator"], nat["denominator"], nat["value"]) == (11.0, 5.0, 2200.0)
    assert cell(df, "days_per_1000", 2020, "region", "84")["value"] == 2750.0  # 11 / 4
    r82 = cell(df, "days_per_1000", 2020, "region", "82")
    assert (r82["numerator"], r82["denominator"], r82["value"]) == (0.0, 1.0, 0.0)
    r81 = cell(df, "days_per_1000", 2020, "region", "81")
    assert (r81["denominator"], r81["value"]) == (0.0, None)
    # adults: r1, r2, r4, r5 (18 on the day) = 4; the 11 days are adults' days
    adults = cell(df, "days_per_1000", 2020, "national", "DK", age="adults")
    assert (adults["denominator"], adults["value"]) == (4.0, 2750.0)
    children = cell(df, "days_per_1000", 2020, "national", "DK", age="children")
    assert (children["numerator"], children["denominator"], children["value"]) == (0.0, 1.0, 0.0)
    male_adults = cell(df, "days_per_1000", 2020, "national", "DK", sex="male", age="adults")
    assert male_adults["denominator"] == 3.0  # r1, r4, r5


def test_missing_table_and_undefined_years(tmp_path: Path) -> None:
    con = make_db(tmp_path)
    with pytest.raises(UnitTableMissing, match="units.t_none"):
        aggregate_indicator(con, spec_of("t_none", MEASURES[:1]), [2020])
    add_units(con, "t_years", BASIC)
    df = aggregate_indicator(con, spec_of("t_years", MEASURES[:1], years_defined=[2021]), [2020, 2021])
    assert df["year"].unique().to_list() == [2021]
    # a year the indicator asset computed without any unit gets zero cells flagged no_units;
    # a year it never computed stays absent
    df = aggregate_indicator(con, spec_of("t_years", MEASURES[:1]), [2019, 2020, 2022], computed_years=[2019])
    assert sorted(df["year"].unique().to_list()) == [2019, 2020]
    empty = cell(df, "share", 2019, "national", "DK")
    assert (empty["numerator"], empty["denominator"], empty["value"]) == (0, 0, None)
    assert empty["flags"] == "no_units,small_denominator"
    assert not any(math.isnan(v) for v in df["value"].drop_nulls().to_list())
