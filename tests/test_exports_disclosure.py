"""Disclosure control (pipeline.disclosure) on hand-built tables with hand-written expected patterns."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from fixtures_disclosure import attack

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


# --- linked measures of one indicator (one table = indicator x year) ---------------------------------


def multi(rows: list[tuple], indicator: str = "ind") -> pl.DataFrame:
    """rows: (measure, unit, level, key, sex, age, numerator, denominator, value)."""
    df = pl.DataFrame(
        rows,
        schema={"measure": pl.Utf8, "unit": pl.Utf8, "breakdown_level": pl.Utf8, "breakdown_key": pl.Utf8,
                "sex": pl.Utf8, "age_group": pl.Utf8, "numerator": pl.Float64, "denominator": pl.Float64,
                "value": pl.Float64},
        orient="row",
    )
    return df.with_columns(pl.lit(indicator).alias("indicator_id"), pl.lit(2025).alias("year"),
                           pl.col("value").alias("ci_low"), pl.col("value").alias("ci_high"),
                           pl.lit(None, dtype=pl.Float64).alias("std_value"))


def hidden_keys(out: pl.DataFrame, measure: str) -> set[str]:
    return set(out.filter((pl.col("measure") == measure) & pl.col("suppressed").is_not_null())
               .get_column("breakdown_key").to_list())


def test_a_count_and_the_share_it_is_the_numerator_of_are_hidden_alike():
    # persons = the share's numerator. Per measure the count would hide 81 + 82 (7 is the next
    # smallest count) and the share 81 + 83 (denominator 40 is its smallest cell): the share would
    # then show 82's numerator 7 and the count 83's 10, and 20 - 7 - 10 = 3 recovers region 81.
    rows = []
    for key, lvl, num, den in [("DK", "national", 20, 290), ("81", "region", 3, 50), ("82", "region", 7, 200),
                               ("83", "region", 10, 40)]:
        rows.append(("persons", "persons", lvl, key, "all", "all", num, None, num))
        rows.append(("share", "percent", lvl, key, "all", "all", num, den, 100 * num / den))
    t = multi(rows)
    apart = suppress_small_cells(t, table_keys=("indicator_id", "measure", "year"))
    assert hidden_keys(apart, "persons") != hidden_keys(apart, "share")  # the leak this closes
    out = suppress_small_cells(t)
    assert hidden_keys(out, "persons") == hidden_keys(out, "share") == {"81", "83"}
    assert out.filter((pl.col("breakdown_key") == "81")).get_column("suppressed").to_list() == ["primary", "primary"]


def test_smr_observed_deaths_are_protected_like_the_death_count():
    # N8: smr numerator = observed deaths = the deaths count; expected deaths (the denominator) are
    # not whole. Region 82 has 3 observed deaths: hidden in both measures, with the same secondary.
    rows = []
    for key, lvl, obs, exp in [("DK", "national", 40, 21.5), ("81", "region", 12, 6.1), ("82", "region", 3, 2.9),
                               ("83", "region", 25, 12.5)]:
        rows.append(("smr", "ratio", lvl, key, "all", "all", obs, exp, obs / exp))
        rows.append(("deaths", "persons", lvl, key, "all", "all", obs, None, obs))
    out = suppress_small_cells(multi(rows, "n8_overdoedelighed"))
    assert hidden_keys(out, "smr") == hidden_keys(out, "deaths") == {"81", "82"}
    shown = out.filter(pl.col("suppressed").is_null())
    assert not shown.get_column("numerator").is_between(1, 4).any()
    # observed deaths are hidden on every hidden row of both measures, expected deaths too
    hid = out.filter(pl.col("suppressed").is_not_null())
    assert hid.get_column("numerator").null_count() == hid.height == 4
    assert hid.get_column("denominator").null_count() == 4


def test_declared_parts_and_total_are_hidden_alike_and_zeros_stay():
    # P2: the total of coercive measures is the sum of the forms. Form 2 = 2 in region 81: showing
    # the total and form 1 there would give it away, so the cell is hidden in every linked measure;
    # form 3 is 0 there and stays 0.
    rows = []
    for key, lvl, f1, f2 in [("DK", "national", 60, 12), ("81", "region", 10, 2), ("82", "region", 20, 5),
                             ("83", "region", 30, 5)]:
        for m, v in [("measures_total", f1 + f2), ("measures_form_1", f1), ("measures_form_2", f2),
                     ("measures_form_3", 0)]:
            rows.append((m, "count", lvl, key, "all", "all", v, None, v))
    t = multi(rows, "p2_tvang_personer")
    apart = suppress_small_cells(t, linked={})
    assert hidden_keys(apart, "measures_total") == set()  # unlinked: 12 - 10 would reveal form 2
    out = suppress_small_cells(t)
    for m in ("measures_total", "measures_form_1", "measures_form_2"):
        assert "81" in hidden_keys(out, m), m
        assert hidden_keys(out, m) == hidden_keys(out, "measures_form_2"), m
    assert hidden_keys(out, "measures_form_3") == set()
    assert out.filter(pl.col("measure") == "measures_form_3").get_column("value").to_list() == [0.0] * 4


def test_a_population_and_its_comparison_group_are_hidden_alike():
    # N7: everyone turning 25 contains the population with a psychiatric contact; in region 81 the
    # comparison group has 3 persons more than the population: a count revealed by the difference.
    rows = []
    for key, lvl, pn, pd, cn, cd in [("DK", "national", 60, 200, 160, 503), ("81", "region", 20, 60, 22, 63),
                                     ("82", "region", 20, 70, 70, 220), ("83", "region", 20, 70, 68, 220)]:
        rows.append(("share", "percent", lvl, key, "all", "all", pn, pd, 100 * pn / pd))
        rows.append(("share_comparison", "percent", lvl, key, "all", "all", cn, cd, 100 * cn / cd))
    t = multi(rows, "n7_uddannelse")
    apart = suppress_small_cells(t, derived={})
    assert "81" not in hidden_keys(apart, "share")  # every count of its own is 20 or more
    out = suppress_small_cells(t)
    # 63 - 60 = 3 persons (2 of them with an education) outside the population in region 81
    assert "81" in hidden_keys(out, "share") and "81" in hidden_keys(out, "share_comparison")
    assert hidden_keys(out, "share") == hidden_keys(out, "share_comparison")
    assert len(hidden_keys(out, "share")) >= 2  # and a second region, so 81 cannot be subtracted out


def test_suicides_attempts_and_either_protect_the_overlap():
    # P3: rate numerator = persons with a suicide or an attempt. In region 81: 9 either, 6 suicides,
    # 5 attempts -> 2 persons with both, a count revealed by the three shown numbers.
    rows = []
    for key, lvl, u, s, a in [("DK", "national", 60, 30, 35), ("81", "region", 9, 6, 5), ("82", "region", 25, 12, 13),
                              ("83", "region", 26, 12, 17)]:
        rows.append(("rate_per_1000", "per_1000", lvl, key, "all", "all", u, 1000, u))
        rows.append(("suicides", "persons", lvl, key, "all", "all", s, None, s))
        rows.append(("attempts", "persons", lvl, key, "all", "all", a, None, a))
    out = suppress_small_cells(multi(rows, "p3_selvmord"))
    for m in ("rate_per_1000", "suicides", "attempts"):
        assert "81" in hidden_keys(out, m), m
    assert hidden_keys(out, "suicides") == hidden_keys(out, "attempts") == hidden_keys(out, "rate_per_1000")


def test_target_overview_shows_the_status_when_the_latest_value_is_hidden():
    from pipeline.report import MARK, _cell_lists, overview_sheet, suppress_progress

    cells = pl.DataFrame({
        "indicator_id": ["a"] * 5, "measure": ["m"] * 5, "age_group": ["all"] * 5, "breakdown_level": ["national"] * 5,
        "sex": ["all"] * 5, "year": [2021, 2022, 2023, 2024, 2025], "suppressed": [None, None, None, None, "primary"],
    })
    progress = pl.DataFrame({
        "indicator_id": ["a"], "code": ["A"], "measure": ["m"], "age_group": ["all"], "direction": ["down"],
        "baseline_year": [2021], "baseline_published": [None], "baseline_computed": [10.0], "latest_year": [2025],
        "latest_value": [4.0], "target_value": [5.0], "target_year": [2025], "needed_change": [1.0],
        "status": ["achieved"], "projection_value": [3.0], "projection_slope": [-1.0],
    })
    sheet = overview_sheet(suppress_progress(progress, cells), {"a": {"code": "A", "name_en": "An indicator"}}, 2025)
    row = dict(zip(sheet.frame.columns, (c[0] for c in _cell_lists(sheet)), strict=True))
    assert row["status"] == "achieved"  # not disclosive: shown
    assert row["latest_value"] == MARK and row["needed_change"] == MARK and row["projection_value"] == MARK
    assert row["baseline_computed"] == 10.0 and row["target_value"] == 5.0


# --- every total of the geography, sexes and age groups: nothing recoverable -------------------------


def _all_totals(cells: pl.DataFrame, geo: pl.DataFrame) -> list[tuple[int, list[int]]]:
    """Written out independently of pipeline.disclosure: every level sums to national; municipalities
    to health councils, regions and 2027 regions; health councils to regions and 2027 regions;
    regions to 2027 regions; sexes and age groups to 'all'."""
    idx = {k: i for i, k in enumerate(cells.select("breakdown_level", "breakdown_key", "sex", "age_group").iter_rows())}
    col = {"kom": "kom", "sundhedsraad": "sundhedsraad_code", "region": "region_code", "region2027": "region2027_code"}
    parent = {}
    for child, parents in [("kom", ["sundhedsraad", "region", "region2027"]), ("sundhedsraad", ["region", "region2027"]),
                           ("region", ["region2027"])]:
        for p in parents:
            pairs = geo.select(pl.col(col[child]).cast(pl.Utf8), pl.col(col[p]).cast(pl.Utf8)).unique()
            parent[(child, p)] = dict(pairs.iter_rows())
    out = []
    for (lvl, key, sex, age), i in idx.items():
        if lvl == "national":
            for other in {k[0] for k in idx} - {"national"}:
                out.append((i, [j for (l2, _, s2, a2), j in idx.items() if l2 == other and (s2, a2) == (sex, age)]))
        for (child, p), mapping in parent.items():
            if p == lvl:
                out.append((i, [j for (l2, k2, s2, a2), j in idx.items()
                                if l2 == child and (s2, a2) == (sex, age) and mapping.get(k2) == key]))
        if sex == "all":
            out.append((i, [j for (l2, k2, s2, a2), j in idx.items() if (l2, k2, a2) == (lvl, key, age) and s2 != "all"]))
        if age == "all":
            out.append((i, [j for (l2, k2, s2, a2), j in idx.items() if (l2, k2, s2) == (lvl, key, sex) and a2 != "all"]))
    return [(t, p) for t, p in out if p]


def test_no_hidden_cell_is_recoverable_from_any_total_of_the_real_geography():
    from pipeline.config import PROJECT_ROOT

    geo = pl.read_csv(PROJECT_ROOT / "pipeline" / "reference" / "geography.csv")
    rng = np.random.default_rng(7)
    n = 900
    w = rng.pareto(1.1, geo.height) + 0.05
    units = pl.DataFrame({"kom": rng.choice(geo.get_column("kom").to_numpy(), size=n, p=w / w.sum()),
                          "sex": rng.choice(["male", "female"], size=n),
                          "age_group": rng.choice(["children", "adults"], size=n, p=[0.2, 0.8])}).join(geo, on="kom")
    frames = []
    for lvl, c in [("national", None), ("region", "region_code"), ("region2027", "region2027_code"),
                   ("sundhedsraad", "sundhedsraad_code"), ("kom", "kom")]:
        for by_sex in (False, True):
            for by_age in (False, True):
                g = units.with_columns((pl.col(c).cast(pl.Utf8) if c else pl.lit("DK")).alias("breakdown_key"),
                                       (pl.col("sex") if by_sex else pl.lit("all")).alias("sex"),
                                       (pl.col("age_group") if by_age else pl.lit("all")).alias("age_group"))
                frames.append(g.group_by("breakdown_key", "sex", "age_group").agg(pl.len().cast(pl.Float64).alias("n"))
                              .with_columns(pl.lit(lvl).alias("breakdown_level")))
    cells = pl.concat(frames, how="diagonal").sort("breakdown_level", "breakdown_key", "sex", "age_group")
    t = cells.select("breakdown_level", "breakdown_key", "sex", "age_group",
                     pl.col("n").alias("numerator"), pl.lit(None, dtype=pl.Float64).alias("denominator"),
                     pl.col("n").alias("value")).with_columns(
        pl.lit("ind").alias("indicator_id"), pl.lit("m").alias("measure"), pl.lit(2025).alias("year"),
        pl.lit("persons").alias("unit"), pl.col("value").alias("ci_low"), pl.col("value").alias("ci_high"),
        pl.lit(None, dtype=pl.Float64).alias("std_value"))
    out = suppress_small_cells(t, geography=geo)
    hidden = out.get_column("suppressed").is_not_null().to_numpy()
    small = t.get_column("numerator").is_between(1, 4).to_numpy()
    assert small.sum() > 50 and hidden[small].all()
    totals = _all_totals(out, geo)
    assert any(t_ for t_ in totals)
    true = t.get_column("numerator").to_numpy()
    leaked = [i for i in attack(hidden, totals) if 0 < true[i] < 5]
    assert leaked == []
    # and the attacker is not toothless: primary suppression alone leaks
    assert [i for i in attack(small.copy(), totals) if 0 < true[i] < 5] != []


def test_the_16_24_share_is_the_16_24_group_of_the_16plus_share():
    # P1: 'share' counts 16-24-year-olds only, so its 'all' cell is share_16plus's 16-24 cell. Apart,
    # share_16plus hides region 82's 16-24 cell (so that 82's 25+ cell, 2 persons, cannot be taken
    # from 82's total) while 'share' shows region 82: the same number, and 2 would follow.
    rows = []
    young = {"DK": (21, 85), "81": (3, 20), "82": (12, 40), "83": (6, 25)}
    old = {"DK": (72, 700), "81": (30, 200), "82": (2, 100), "83": (40, 400)}
    for key in young:
        lvl = "national" if key == "DK" else "region"
        (yn, yd), (on, od) = young[key], old[key]
        for m, age, n, d in [("share_16plus", "16-24", yn, yd), ("share_16plus", "25+", on, od),
                             ("share_16plus", "all", yn + on, yd + od), ("share", "16-24", yn, yd),
                             ("share", "25+", 0, 0), ("share", "all", yn, yd)]:
            rows.append((m, "percent", lvl, key, "all", age, n, d, 100 * n / d if d else None))
    t = multi(rows, "p1_ung_mental_sundhed")

    def pair(out: pl.DataFrame) -> tuple[set, set]:
        a = set(out.filter((pl.col("measure") == "share") & (pl.col("age_group") == "all")
                           & pl.col("suppressed").is_not_null()).get_column("breakdown_key").to_list())
        b = set(out.filter((pl.col("measure") == "share_16plus") & (pl.col("age_group") == "16-24")
                           & pl.col("suppressed").is_not_null()).get_column("breakdown_key").to_list())
        return a, b

    a, b = pair(suppress_small_cells(t, linked={}))
    assert a != b  # the leak
    out = suppress_small_cells(t)
    a, b = pair(out)
    assert a == b and "81" in a
    # the zero 25+ cells of 'share' stay zeros
    assert out.filter((pl.col("measure") == "share") & (pl.col("age_group") == "25+")).get_column(
        "suppressed").null_count() == 4
