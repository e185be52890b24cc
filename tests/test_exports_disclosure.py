"""Disclosure control (pipeline.disclosure) on hand-built tables with hand-written expected patterns."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipeline.disclosure import (
    Equations,
    build_equations,
    exposed_cells,
    geography_nesting,
    suppress_small_cells,
    suppression_pattern,
)


def table(rows: list[tuple], unit: str = "count", measure: str = "m") -> pl.DataFrame:
    """rows: (level, key, sex, age, numerator, denominator, value)."""
    df = pl.DataFrame(
        rows,
        schema={"breakdown_level": pl.Utf8, "breakdown_key": pl.Utf8, "sex": pl.Utf8, "age_group": pl.Utf8,
                "numerator": pl.Int64, "denominator": pl.Int64, "value": pl.Float64},
        orient="row",
    )
    return df.with_columns(
        pl.lit("ind").alias("indicator_id"), pl.lit(measure).alias("measure"), pl.lit(2025).alias("year"),
        pl.lit(unit).alias("unit"), (pl.col("value") - 1).alias("ci_low"), (pl.col("value") + 1).alias("ci_high"),
        pl.lit(None, dtype=pl.Float64).alias("std_value"),
    )


def marks(out: pl.DataFrame) -> dict[str, str | None]:
    return {f"{lvl}:{key}:{sex}:{age}": s for lvl, key, sex, age, s in
            out.select("breakdown_level", "breakdown_key", "sex", "age_group", "suppressed").iter_rows()}


def test_primary_and_next_smallest_secondary_in_the_same_total():
    t = table([("national", "DK", "all", "all", 20, None, 20.0), ("region", "81", "all", "all", 3, None, 3.0),
               ("region", "82", "all", "all", 7, None, 7.0), ("region", "83", "all", "all", 10, None, 10.0)])
    out = suppress_small_cells(t)
    assert marks(out) == {"national:DK:all:all": None, "region:81:all:all": "primary",
                          "region:82:all:all": "secondary", "region:83:all:all": None}
    assert out.height == t.height  # never dropped
    hidden = out.filter(pl.col("suppressed").is_not_null())
    for c in ("numerator", "value", "ci_low", "ci_high"):
        assert hidden.get_column(c).null_count() == 2, c
    visible = out.filter(pl.col("breakdown_key") == "83")
    assert visible.get_column("value").to_list() == [10.0] and visible.get_column("ci_high").to_list() == [11.0]


def test_zeros_stay_zeros_and_are_never_the_secondary_cell():
    t = table([("national", "DK", "all", "all", 13, None, 13.0), ("region", "81", "all", "all", 0, None, 0.0),
               ("region", "82", "all", "all", 3, None, 3.0), ("region", "83", "all", "all", 10, None, 10.0)])
    out = suppress_small_cells(t)
    assert marks(out) == {"national:DK:all:all": None, "region:81:all:all": None,
                          "region:82:all:all": "primary", "region:83:all:all": "secondary"}
    assert out.filter(pl.col("breakdown_key") == "81").get_column("value").to_list() == [0.0]


def test_share_hidden_when_numerator_or_denominator_small_on_every_derived_column():
    t = table([("national", "DK", "all", "all", 2, 50, 4.0), ("national", "DK", "male", "all", 0, 3, 0.0),
               ("national", "DK", "female", "all", 2, 47, 4.3)], unit="percent")
    out = suppress_small_cells(t)
    m = marks(out)
    # all: numerator 2; male: denominator 3 (numerator 0 does not make it a zero cell); female: numerator 2
    assert m == {"national:DK:all:all": "primary", "national:DK:male:all": "primary",
                 "national:DK:female:all": "primary"}
    for c in ("numerator", "denominator", "value", "ci_low", "ci_high"):
        assert out.get_column(c).null_count() == 3, c


def test_threshold_is_a_parameter():
    t = table([("national", "DK", "all", "all", 30, None, 30.0), ("region", "81", "all", "all", 3, None, 3.0),
               ("region", "82", "all", "all", 2, None, 2.0), ("region", "83", "all", "all", 25, None, 25.0)])
    assert marks(suppress_small_cells(t, threshold=3)) == {
        "national:DK:all:all": None, "region:81:all:all": "secondary", "region:82:all:all": "primary",
        "region:83:all:all": None}
    # default 5: both small ones are primary and hide each other; 25 stays
    assert marks(suppress_small_cells(t)) == {
        "national:DK:all:all": None, "region:81:all:all": "primary", "region:82:all:all": "primary",
        "region:83:all:all": None}
    with pytest.raises(ValueError):
        suppress_small_cells(t, threshold=0)


def test_sex_and_age_splits_sum_to_all():
    t = table([("national", "DK", "all", "all", 40, None, 40.0),
               ("national", "DK", "male", "all", 2, None, 2.0), ("national", "DK", "female", "all", 38, None, 38.0),
               ("national", "DK", "all", "children", 9, None, 9.0), ("national", "DK", "all", "adults", 31, None, 31.0)])
    assert marks(suppress_small_cells(t)) == {
        "national:DK:all:all": None, "national:DK:male:all": "primary", "national:DK:female:all": "secondary",
        "national:DK:all:children": None, "national:DK:all:adults": None}


def test_nested_geography_hides_within_the_parent_region():
    geo = pl.DataFrame({"kom": [1, 2, 3, 4], "region_code": [81, 81, 82, 82], "region2027_code": [81, 81, 82, 82],
                        "sundhedsraad_code": [1, 1, 2, 2]})
    t = table([("national", "DK", "all", "all", 60, None, 60.0),
               ("region", "81", "all", "all", 23, None, 23.0), ("region", "82", "all", "all", 37, None, 37.0),
               ("kom", "1", "all", "all", 3, None, 3.0), ("kom", "2", "all", "all", 20, None, 20.0),
               ("kom", "3", "all", "all", 6, None, 6.0), ("kom", "4", "all", "all", 31, None, 31.0)])
    # without geography only national = sum(kom) is known: the next smallest kom anywhere (6) is hidden
    assert marks(suppress_small_cells(t))["kom:3:all:all"] == "secondary"
    m = marks(suppress_small_cells(t, geography=geo.select("kom", "region_code")))
    # with region = kom 1 + kom 2, kom 2 must go (and then national = sum(kom) has two hidden: enough)
    assert m == {"national:DK:all:all": None, "region:81:all:all": None, "region:82:all:all": None,
                 "kom:1:all:all": "primary", "kom:2:all:all": "secondary", "kom:3:all:all": None, "kom:4:all:all": None}


def test_geography_nesting_is_derived_from_the_table():
    geo = pl.DataFrame({"kom": [1, 2, 3], "region_code": [81, 81, 84], "region2027_code": [81, 81, 86],
                        "sundhedsraad_code": [1, 2, 1]})
    nest = geography_nesting(geo)
    assert nest[("region", "kom")] == {"1": "81", "2": "81", "3": "84"}
    assert nest[("region2027", "region")] == {"81": "81", "84": "86"}
    assert ("region", "sundhedsraad") not in nest  # council 1 lies in two regions: no such total


def test_audit_catches_a_cell_determined_only_by_combining_totals():
    # cells: T1 = A + B, T2 = A + C, T3 = B + C. Greedy leaves A, B, C hidden (two per total), but
    # A = (T1 + T2 - T3) / 2. The audit must hide one more: the smallest total containing A, T1.
    eq = Equations()
    t1, t2, t3, a, b, c = range(6)
    eq.add(t1, [a, b])
    eq.add(t2, [a, c])
    eq.add(t3, [b, c])
    counts = np.array([[5.0], [12.0], [13.0], [2.0], [3.0], [10.0]])
    primary, hidden = suppression_pattern(counts, eq, 5)
    assert primary.tolist() == [False, False, False, True, True, False]
    assert hidden.tolist() == [True, False, False, True, True, True]
    m = eq.matrix(6)
    assert exposed_cells(m, np.array([False, False, False, True, True, True])).tolist() == [
        False, False, False, True, True, True]
    assert not exposed_cells(m, hidden).any()


def test_build_equations_lists_every_total():
    cells = pl.DataFrame({"breakdown_level": ["national", "region", "region", "national", "national"],
                          "breakdown_key": ["DK", "81", "82", "DK", "DK"],
                          "sex": ["all", "all", "all", "male", "female"], "age_group": ["all"] * 5})
    eq = build_equations(cells, {})
    assert sorted(zip(eq.totals, [sorted(p) for p in eq.parts], strict=True)) == [(0, [1, 2]), (0, [3, 4])]


def test_non_additive_person_counts_treated_conservatively():
    # reporting regions: 3 + 8 persons > 10 nationally (one person in both). Region 81 is primary; as
    # if the regions summed to national, 82 is hidden too, so 81 cannot be bounded to a point.
    t = table([("national", "DK", "all", "all", None, None, 10.0), ("reporting_region", "81", "all", "all", None, None, 3.0),
               ("reporting_region", "82", "all", "all", None, None, 8.0)], unit="persons")
    assert marks(suppress_small_cells(t)) == {"national:DK:all:all": None, "reporting_region:81:all:all": "primary",
                                              "reporting_region:82:all:all": "secondary"}


def test_tables_are_independent_and_keep_row_order():
    a = table([("national", "DK", "all", "all", 3, None, 3.0)], measure="a")
    b = table([("national", "DK", "all", "all", 30, None, 30.0)], measure="b")
    out = suppress_small_cells(pl.concat([b, a, b.with_columns(pl.lit(2024).alias("year"))]))
    assert out.get_column("measure").to_list() == ["b", "a", "b"]
    assert out.get_column("suppressed").to_list() == [None, "primary", None]


def test_size_flags_are_dropped_from_hidden_rows_only():
    t = table([("national", "DK", "all", "all", 30, None, 30.0), ("region", "81", "all", "all", 3, None, 3.0),
               ("region", "82", "all", "all", 12, None, 12.0), ("region", "83", "all", "all", 15, None, 15.0)])
    t = t.with_columns(pl.Series("flags", ["lpr3_break", "small_denominator,lpr3_break", "small_denominator",
                                           "small_denominator"]))
    out = suppress_small_cells(t)
    assert out.get_column("suppressed").to_list() == [None, "primary", "secondary", None]
    assert out.get_column("flags").to_list() == ["lpr3_break", "lpr3_break", None, "small_denominator"]


def test_a_share_whose_complement_is_small_is_hidden():
    # 98 of 100 readmitted reveals that 2 were not: a count of 2 by subtraction from the denominator
    t = table([("national", "DK", "all", "all", 198, 300, 66.0), ("region", "81", "all", "all", 98, 100, 98.0),
               ("region", "82", "all", "all", 50, 100, 50.0), ("region", "83", "all", "all", 50, 100, 50.0)],
              unit="percent")
    out = suppress_small_cells(t)
    m = marks(out)
    assert m["region:81:all:all"] == "primary"
    assert m["national:DK:all:all"] is None
    assert sum(v == "secondary" for v in m.values()) == 1  # one more region, so 81 cannot be subtracted out
    # a complement of 0 (everyone) and of 5 stay visible
    t2 = table([("national", "DK", "all", "all", 15, 20, 75.0), ("region", "81", "all", "all", 10, 10, 100.0),
                ("region", "82", "all", "all", 5, 10, 50.0)], unit="percent")
    assert all(v is None for v in marks(suppress_small_cells(t2)).values())
