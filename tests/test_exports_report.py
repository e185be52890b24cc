"""The status report (pipeline.report, assets.exports) on hand-built marts in a tmp DuckDB.

The marts are aggregated here from random units (so every total really is the sum of its parts),
for two catalogue entries written here: a share by residence geography with sex and age splits
(P4-like) and a distinct-person count by reporting region where a person can count in two regions
(P2-like). The workbook is read back with openpyxl and compared with the marts; an attacker tries
every total (and every combination of totals) on what was exported.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb
import matplotlib.image as mpimg
import numpy as np
import openpyxl
import polars as pl
import pytest
from fixtures_disclosure import attack

from pipeline.catalogue import load_catalogue
from pipeline.config import PROJECT_ROOT
from pipeline.report import MARK, NON_ADDITIVE_NOTE, write_status_report

YEARS = list(range(2021, 2026))
GEO_CSV = PROJECT_ROOT / "pipeline" / "reference" / "geography.csv"
LEVEL_COLUMNS = {"region": "region_code", "region2027": "region2027_code", "sundhedsraad": "sundhedsraad_code",
                 "kom": "kom"}

P4_YAML = """
id: p4_genindlaeggelse
version: 1
code: P4
group: target
name_da: Akut psykiatrisk genindlæggelse inden for 30 dage
name_en: Acute psychiatric readmission within 30 days
source_registers: [lpr_adm, lpr_f_kontakter, dod]
definition: |
  Index: psychiatric admissions ending in Y. Numerator: an acute psychiatric readmission within 30 x 24 hours.
parameters:
  follow_up_hours: 720
unit_table: units.p4_genindlaeggelse
breakdowns: [national, region, region2027, sundhedsraad, kom]
splits: [sex, age_group]
age_groups: [children, adults]
measures:
  - {id: share, kind: share, unit: percent}
direction: down
baseline: {year: 2017, published: {children: 13.6, adults: 22.7}, source: "eSundhed"}
target: {year: 2025, value: {children: 11.6, adults: 19.3}}
flags: [lpr3_break]
"""

P2_YAML = """
id: p2_tvang_personer
version: 2
code: P2
group: target
name_da: Personer udsat for tvang
name_en: Persons subjected to coercion
source_registers: [tvang]
definition: |
  Distinct persons with a coercive measure (skema 1-3) in psychiatry starting in Y.
parameters:
  child_age_below: 18
unit_table: units.p2_tvang_personer
breakdowns: [national, reporting_region]
splits: []
age_groups: []
measures:
  - {id: persons, kind: distinct_persons, unit: persons}
direction: down
baseline: {year: 2017, published: null, source: "computed"}
target: {year: 2025, rule: half_of_baseline}
flags: [sei2_break]
"""


# --- the hand-built marts ---------------------------------------------------------------------------


def geography() -> pl.DataFrame:
    return pl.read_csv(GEO_CSV, columns=["kom", "kom_navn", "region_code", "region_name", "region2027_code",
                                         "region2027_name", "sundhedsraad_code", "sundhedsraad_name"])


def p4_units(rng: np.random.Generator, geo: pl.DataFrame, year: int) -> pl.DataFrame:
    n = 700
    weights = rng.pareto(1.2, geo.height) + 0.05  # skewed: many small municipalities
    kom = rng.choice(geo.get_column("kom").to_numpy(), size=n, p=weights / weights.sum())
    units = pl.DataFrame({
        "kom": kom,
        "sex": rng.choice(["male", "female"], size=n),
        "age_group": rng.choice(["children", "adults"], size=n, p=[0.15, 0.85]),
        "num": (rng.random(n) < 0.2).astype(np.int64),
    })
    return units.join(geo, on="kom").with_columns(pl.lit(year, dtype=pl.Int64).alias("year"))


def aggregate(units: pl.DataFrame, levels: dict[str, str | None], splits: bool, agg: pl.Expr) -> pl.DataFrame:
    """Every breakdown level x (sex: all + each) x (age: all + each), as the marts lay them out."""
    frames = []
    for level, col in levels.items():
        key = pl.col(col).cast(pl.Utf8) if col else pl.lit("DK")
        for by_sex in ([False, True] if splits else [False]):
            for by_age in ([False, True] if splits else [False]):
                g = units.with_columns(
                    key.alias("breakdown_key"),
                    (pl.col("sex") if by_sex else pl.lit("all")).alias("sex"),
                    (pl.col("age_group") if by_age else pl.lit("all")).alias("age_group"),
                )
                frames.append(g.group_by("year", "breakdown_key", "sex", "age_group").agg(agg)
                              .with_columns(pl.lit(level).alias("breakdown_level")))
    return pl.concat(frames, how="diagonal")


def build_values(rng: np.random.Generator, geo: pl.DataFrame) -> pl.DataFrame:
    p4 = pl.concat([p4_units(rng, geo, y) for y in YEARS])
    p4v = aggregate(p4, {"national": None, **LEVEL_COLUMNS}, True,
                    [pl.col("num").sum().alias("numerator"), pl.len().cast(pl.Int64).alias("denominator")])
    p = pl.col("numerator") / pl.col("denominator")
    half = 1.96 * (p * (1 - p) / pl.col("denominator")).sqrt()
    p4v = p4v.with_columns(
        pl.lit("p4_genindlaeggelse").alias("indicator_id"), pl.lit(1).alias("indicator_version"),
        pl.lit("share").alias("measure"), (100 * p).alias("value"), (100 * (p - half)).clip(0).alias("ci_low"),
        (100 * (p + half)).clip(upper_bound=100).alias("ci_high"), pl.lit(None, dtype=pl.Float64).alias("std_value"),
        pl.lit("percent").alias("unit"),
        # the break year moved into the test's years; a plain flag must not be taken for a break
        pl.when(pl.col("year") == 2022).then(pl.lit("lpr3_break,small_denominator")).otherwise(None).alias("flags"),
    )
    # P2: persons with measures in one or two reporting regions; national counts each person once
    n = 260 * len(YEARS)
    persons = pl.DataFrame({
        "pid": np.arange(n), "year": np.repeat(np.array(YEARS, dtype=np.int64), 260),
        "r1": rng.choice([81, 82, 83, 84, 85], size=n, p=[0.1, 0.25, 0.2, 0.435, 0.015]),
        "r2": rng.choice([81, 82, 83, 84, 85], size=n), "two": rng.random(n) < 0.05,
    })
    measures = pl.concat([persons.select("pid", "year", pl.col("r1").alias("reporting_region")),
                          persons.filter("two").select("pid", "year", pl.col("r2").alias("reporting_region"))])
    measures = measures.with_columns(pl.lit("all").alias("sex"), pl.lit("all").alias("age_group"))
    p2v = aggregate(measures, {"national": None, "reporting_region": "reporting_region"}, False,
                    [pl.col("pid").n_unique().cast(pl.Int64).alias("persons")])
    p2v = p2v.with_columns(
        pl.lit("p2_tvang_personer").alias("indicator_id"), pl.lit(2).alias("indicator_version"),
        pl.lit("persons").alias("measure"), pl.lit(None, dtype=pl.Int64).alias("numerator"),
        pl.lit(None, dtype=pl.Int64).alias("denominator"), pl.col("persons").cast(pl.Float64).alias("value"),
        (pl.col("persons") - 2 * pl.col("persons").sqrt()).alias("ci_low"),
        (pl.col("persons") + 2 * pl.col("persons").sqrt()).alias("ci_high"),
        pl.lit(None, dtype=pl.Float64).alias("std_value"), pl.lit("persons").alias("unit"),
        # a flag on every year from 2023 on: one break, where the run starts
        pl.when(pl.col("year") >= 2023).then(pl.lit("lup_digital_break")).otherwise(None).alias("flags"),
    ).drop("persons")
    cols = ["indicator_id", "indicator_version", "measure", "year", "breakdown_level", "breakdown_key", "sex",
            "age_group", "numerator", "denominator", "value", "ci_low", "ci_high", "std_value", "unit", "flags"]
    out = pl.concat([p4v.select(cols), p2v.select(cols)])
    return out.with_columns(pl.lit("run-abc").alias("run_id"), pl.lit("cat-123").alias("catalogue_version"),
                            pl.lit("data-2026-01").alias("data_version"))


def build_progress(values: pl.DataFrame) -> pl.DataFrame:
    nat = values.filter((pl.col("breakdown_level") == "national") & (pl.col("sex") == "all"))
    rows = []
    for ind, measure, ages, target in [("p4_genindlaeggelse", "share", ["children", "adults"], {"children": 11.6, "adults": 19.3}),
                                       ("p2_tvang_personer", "persons", ["all"], {"all": None})]:
        for age in ages:
            s = nat.filter((pl.col("indicator_id") == ind) & (pl.col("age_group") == age)).sort("year")
            base = s.filter(pl.col("year") == YEARS[0]).get_column("value")[0]
            latest = s.filter(pl.col("year") == 2025).get_column("value")[0]
            tv = target[age] if target[age] is not None else base / 2
            rows.append({"indicator_id": ind, "measure": measure, "age_group": age, "baseline_year": YEARS[0],
                         "baseline_published": 13.6 if age == "children" else (22.7 if age == "adults" else None),
                         "baseline_computed": base, "latest_year": 2025, "latest_value": latest, "target_value": tv,
                         "target_year": 2025, "direction": "down", "needed_change": tv - latest,
                         "status": "achieved" if latest <= tv else "off_track", "projection_value": latest * 0.98,
                         "projection_slope": -0.1, "run_id": "run-abc", "catalogue_version": "cat-123"})
    return pl.DataFrame(rows)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("exports_world")
    rng = np.random.default_rng(20250101)
    geo = geography()
    values = build_values(rng, geo)
    progress = build_progress(values)
    warehouse = write_warehouse(root / "warehouse.duckdb", values, progress, geo)
    # a cheap copy with the person counts only, for the tests that only run the report again
    small = write_warehouse(root / "small.duckdb", values.filter(pl.col("indicator_id") == "p2_tvang_personer"),
                            progress.filter(pl.col("indicator_id") == "p2_tvang_personer"), geo)
    cat_dir = root / "catalogue"
    cat_dir.mkdir()
    (cat_dir / "p4_genindlaeggelse.yaml").write_text(P4_YAML, encoding="utf-8")
    (cat_dir / "p2_tvang_personer.yaml").write_text(P2_YAML, encoding="utf-8")
    raw = root / "raw"
    raw.mkdir()
    (raw / "_synthetic.json").write_text(json.dumps({"seed": 1}), encoding="utf-8")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        result = write_status_report(con, 2025, root / "exports", raw_dir=raw, catalogue=load_catalogue(cat_dir),
                                     commit="abc123def456")
    finally:
        con.close()
    return {"root": root, "values": values, "progress": progress, "geo": geo, "result": result, "warehouse": warehouse,
            "small": small, "catalogue": cat_dir, "raw": raw}


def write_warehouse(path: Path, values: pl.DataFrame, progress: pl.DataFrame, geo: pl.DataFrame) -> Path:
    con = duckdb.connect(str(path))
    try:
        for schema in ("marts", "ref"):
            con.execute(f"create schema {schema}")
        con.register("v", values.to_arrow())
        con.execute("create table marts.indicator_values as select * from v")
        con.register("p", progress.to_arrow())
        con.execute("create table marts.target_progress as select * from p")
        con.register("g", geo.to_arrow())
        con.execute("create table ref.geography as select *, 'test' as source from g")
    finally:
        con.close()
    return path


# --- reading the export back ------------------------------------------------------------------------


def read_sheet(path: Path, name: str) -> pl.DataFrame:
    """A sheet as strings-or-numbers rows under its header row (the row starting with 'measure'/'code')."""
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb[name].iter_rows(values_only=True))
    wb.close()
    header = next(i for i, r in enumerate(rows) if r and r[0] in ("measure", "code"))
    cols = [c for c in rows[header] if c is not None]
    data = [dict(zip(cols, r[: len(cols)], strict=True)) for r in rows[header + 1:]]
    return pl.DataFrame(data, schema={c: pl.Object for c in cols}), rows[:header]


def exported_cells(world: dict, sheet: str) -> pl.DataFrame:
    """Exported rows joined to the marts row they show (keys as in the marts)."""
    df, _ = read_sheet(world["result"].workbook, sheet)
    keys = pl.DataFrame({
        "measure": [str(x) for x in df.get_column("measure").to_list()],
        "year": [int(x) for x in df.get_column("year").to_list()],
        "breakdown_level": [str(x) for x in df.get_column("breakdown_level").to_list()],
        "breakdown_key": [str(x) for x in df.get_column("breakdown_key").to_list()],
        "sex": [str(x) for x in df.get_column("sex").to_list()],
        "age_group": [str(x) for x in df.get_column("age_group").to_list()],
        "x_numerator": [repr(x) for x in df.get_column("numerator").to_list()],
        "x_denominator": [repr(x) for x in df.get_column("denominator").to_list()],
        "x_value": [repr(x) for x in df.get_column("value").to_list()],
        "x_ci_low": [repr(x) for x in df.get_column("ci_low").to_list()],
        "x_ci_high": [repr(x) for x in df.get_column("ci_high").to_list()],
        "hidden": [x == MARK for x in df.get_column("value").to_list()],
        "shown_value": [x if isinstance(x, (int, float)) else None for x in df.get_column("value").to_list()],
        "shown_num": [x if isinstance(x, (int, float)) else None for x in df.get_column("numerator").to_list()],
        "shown_den": [x if isinstance(x, (int, float)) else None for x in df.get_column("denominator").to_list()],
    }, schema_overrides={"shown_value": pl.Float64, "shown_num": pl.Float64, "shown_den": pl.Float64})
    return keys


def marts_rows(world: dict, ind: str) -> pl.DataFrame:
    return world["values"].filter(pl.col("indicator_id") == ind)


# --- the attacker -----------------------------------------------------------------------------------


def totals(cells: pl.DataFrame, geo: pl.DataFrame) -> list[tuple[int, list[int]]]:
    """Every total of a table, written out independently of pipeline.disclosure: (total row, part rows)."""
    idx = {k: i for i, k in enumerate(cells.select("breakdown_level", "breakdown_key", "sex", "age_group").iter_rows())}
    out = []
    kom_to = {lvl: dict(zip(geo.get_column("kom").cast(pl.Utf8), geo.get_column(c).cast(pl.Utf8), strict=True))
              for lvl, c in LEVEL_COLUMNS.items() if lvl != "kom"}
    reg_to_27 = dict(zip(geo.get_column("region_code").cast(pl.Utf8), geo.get_column("region2027_code").cast(pl.Utf8),
                         strict=True))
    sr_to_reg = dict(zip(geo.get_column("sundhedsraad_code").cast(pl.Utf8), geo.get_column("region_code").cast(pl.Utf8),
                         strict=True))
    for (lvl, key, sex, age), i in idx.items():
        if lvl == "national":  # national = every other level
            for other in {k[0] for k in idx} - {"national"}:
                out.append((i, [j for (l2, _, s2, a2), j in idx.items() if l2 == other and s2 == sex and a2 == age]))
        children = []
        if lvl in ("region", "region2027", "sundhedsraad"):  # municipalities in it
            children.append([j for (l2, k2, s2, a2), j in idx.items()
                             if l2 == "kom" and s2 == sex and a2 == age and kom_to[lvl].get(k2) == key])
        if lvl == "region2027":
            children.append([j for (l2, k2, s2, a2), j in idx.items()
                             if l2 == "region" and s2 == sex and a2 == age and reg_to_27.get(k2) == key])
        if lvl == "region":
            children.append([j for (l2, k2, s2, a2), j in idx.items()
                             if l2 == "sundhedsraad" and s2 == sex and a2 == age and sr_to_reg.get(k2) == key])
        if sex == "all":
            children.append([j for (l2, k2, s2, a2), j in idx.items() if (l2, k2, a2) == (lvl, key, age) and s2 != "all"])
        if age == "all":
            children.append([j for (l2, k2, s2, a2), j in idx.items() if (l2, k2, s2) == (lvl, key, sex) and a2 != "all"])
        out += [(i, c) for c in children if c]
    return out


def attack_table(world: dict, exported: pl.DataFrame, columns: list[str], truth: pl.DataFrame) -> list[tuple]:
    """Attack one (measure, year) table; return the small counts (in `columns`) recovered."""
    cells = exported.join(truth, on=["measure", "year", "breakdown_level", "breakdown_key", "sex", "age_group"])
    got = attack(cells.get_column("hidden").to_numpy().copy(), totals(cells, world["geo"]))
    leaks = []
    for column in columns:
        true = cells.get_column(column).cast(pl.Float64).fill_null(0).to_numpy()
        leaks += [(column, cells.row(i, named=True)["breakdown_key"], true[i]) for i in got if 0 < true[i] < 5]
    return leaks


# --- tests ------------------------------------------------------------------------------------------


def test_files_are_written(world: dict):
    r = world["result"]
    assert r.folder == world["root"] / "exports" / "2025"
    assert r.workbook.exists() and r.html.exists()
    assert {p.name for p in r.csv_files} == {"targets.csv", "p4_genindlaeggelse.csv", "p2_tvang_personer.csv",
                                             "method.csv"}
    assert not (world["root"] / "exports" / ".2025.partial").exists()


def test_workbook_matches_the_marts(world: dict):
    wb = openpyxl.load_workbook(world["result"].workbook, read_only=True)
    assert wb.sheetnames == ["targets", "p2_tvang_personer", "p4_genindlaeggelse", "method"]
    wb.close()
    for ind in ("p4_genindlaeggelse", "p2_tvang_personer"):
        exported = exported_cells(world, ind)
        truth = marts_rows(world, ind)
        expected = truth.filter((pl.col("year") == 2025) | (pl.col("breakdown_level") == "national"))
        assert exported.height == expected.height  # every row exported, none dropped
        joined = exported.join(truth, on=["measure", "year", "breakdown_level", "breakdown_key", "sex", "age_group"])
        assert joined.height == exported.height
        shown = joined.filter(~pl.col("hidden"))
        assert shown.height > 0 and joined.filter(pl.col("hidden")).height > 0
        assert np.allclose(shown.get_column("shown_value").to_numpy(), shown.get_column("value").to_numpy())
        if ind == "p4_genindlaeggelse":
            assert (shown.get_column("shown_num") == shown.get_column("numerator").cast(pl.Float64)).all()
            assert (shown.get_column("shown_den") == shown.get_column("denominator").cast(pl.Float64)).all()
        # a hidden row hides every column that can reveal a count
        hid = joined.filter(pl.col("hidden"))
        for c in ("x_numerator", "x_denominator", "x_ci_low", "x_ci_high"):
            assert set(hid.get_column(c).to_list()) == {repr(MARK)}, c


def test_no_small_count_is_shown_directly(world: dict):
    p4 = exported_cells(world, "p4_genindlaeggelse").join(
        marts_rows(world, "p4_genindlaeggelse"), on=["measure", "year", "breakdown_level", "breakdown_key", "sex", "age_group"])
    small = p4.filter(pl.col("numerator").is_between(1, 4) | pl.col("denominator").is_between(1, 4))
    assert small.height > 20 and small.get_column("hidden").all()
    zeros = p4.filter(pl.col("denominator") == 0)
    assert not zeros.get_column("hidden").any()
    p2 = exported_cells(world, "p2_tvang_personer").join(
        marts_rows(world, "p2_tvang_personer"), on=["measure", "year", "breakdown_level", "breakdown_key", "sex", "age_group"])
    assert p2.filter(pl.col("value").is_between(1, 4)).get_column("hidden").all()
    for col in ("shown_num", "shown_den"):
        assert not p4.get_column(col).is_between(1, 4).any()


def test_attacker_recovers_no_small_count_from_any_total(world: dict):
    exported = exported_cells(world, "p4_genindlaeggelse")
    truth = marts_rows(world, "p4_genindlaeggelse").filter(pl.col("year") == 2025)
    cells = exported.filter(pl.col("year") == 2025)
    assert cells.get_column("hidden").sum() > 50  # the world has plenty to protect
    assert attack_table(world, cells, ["numerator", "denominator"], truth) == []


def test_attacker_finds_what_naive_primary_suppression_would_leak(world: dict):
    # the attacker is not toothless: with only the primary cells hidden it recovers small counts
    truth = marts_rows(world, "p4_genindlaeggelse").filter(pl.col("year") == 2025)
    naive = truth.select("measure", "year", "breakdown_level", "breakdown_key", "sex", "age_group",
                         (pl.col("numerator").is_between(1, 4) | pl.col("denominator").is_between(1, 4)).alias("hidden"))
    assert attack_table(world, naive, ["numerator", "denominator"], truth) != []


def test_person_counts_by_reporting_region_carry_the_note_and_stay_protected(world: dict):
    _, preamble = read_sheet(world["result"].workbook, "p2_tvang_personer")
    assert any(r[0] and str(r[0]).startswith(NON_ADDITIVE_NOTE) for r in preamble)
    exported = exported_cells(world, "p2_tvang_personer")
    truth = marts_rows(world, "p2_tvang_personer")
    cells = exported.filter(pl.col("year") == 2025)
    assert cells.get_column("hidden").any()
    assert attack_table(world, cells, ["value"], truth.filter(pl.col("year") == 2025)) == []


def test_target_overview_hides_numbers_restating_hidden_values(world: dict):
    df, _ = read_sheet(world["result"].workbook, "targets")
    assert df.height == world["progress"].height
    vals = world["values"].filter((pl.col("breakdown_level") == "national") & (pl.col("sex") == "all"))
    for row in df.iter_rows(named=True):
        cell = vals.filter((pl.col("indicator_id") == row["indicator_id"]) & (pl.col("age_group") == row["age_group"])
                           & (pl.col("year") == 2025))
        small = cell.select((pl.col("numerator").is_between(1, 4) | pl.col("denominator").is_between(1, 4)
                             | ((pl.col("unit") == "persons") & pl.col("value").is_between(1, 4))).any()).item()
        if small:
            assert row["latest_value"] == MARK and row["needed_change"] == MARK
        else:
            assert row["latest_value"] == pytest.approx(cell.get_column("value")[0])


def test_method_sheet_comes_from_the_catalogue(world: dict):
    df, _ = read_sheet(world["result"].workbook, "method")
    rows = {r["indicator_id"]: r for r in df.iter_rows(named=True)}
    assert set(rows) == {"p4_genindlaeggelse", "p2_tvang_personer"}
    assert rows["p4_genindlaeggelse"]["parameters"] == "follow_up_hours = 720"
    assert rows["p4_genindlaeggelse"]["name_da"] == "Akut psykiatrisk genindlæggelse inden for 30 dage"
    assert "30 x 24 hours" in rows["p4_genindlaeggelse"]["definition"]
    assert rows["p2_tvang_personer"]["version"] == "2"


def test_csv_equals_the_workbook(world: dict):
    csv = pl.read_csv(world["result"].folder / "tables" / "p4_genindlaeggelse.csv", infer_schema=False)
    exported = exported_cells(world, "p4_genindlaeggelse")
    assert csv.height == exported.height
    assert (csv.get_column("value") == MARK).to_list() == exported.get_column("hidden").to_list()


def test_table_rows_count_every_exported_row(world: dict):
    # what the asset reports as its rows out (and `make bench` as the exports' rows): the data rows of
    # every table, counted here from the CSV files and from the workbook read back (rows below each
    # sheet's column names)
    result = world["result"]
    wb = openpyxl.load_workbook(result.workbook, read_only=True)
    csv_rows = sheet_rows = 0
    for path in result.csv_files:
        csv = pl.read_csv(path, infer_schema=False)
        rows = list(wb[path.stem].iter_rows(values_only=True))
        header = next(i for i, row in enumerate(rows) if tuple(row[: csv.width]) == tuple(csv.columns))
        csv_rows += csv.height
        sheet_rows += len(rows) - header - 1
    assert result.table_rows == csv_rows == sheet_rows > 0


def test_figures_are_written_and_not_blank(world: dict):
    files = world["result"].figure_files
    names = {p.name for p in files}
    assert {"p4_genindlaeggelse_share_children_target.png", "p4_genindlaeggelse_share_adults_target.svg",
            "p4_genindlaeggelse_share_regions.png", "p4_genindlaeggelse_share_funnel.png",
            "p2_tvang_personer_persons_all_target.png", "p2_tvang_personer_persons_regions.png"} <= names
    for p in files:
        assert p.exists() and p.stat().st_size > 2000, p.name
        if p.suffix == ".png":
            img = mpimg.imread(p)[..., :3]
            assert (img < 0.9).any(axis=-1).mean() > 0.01, p.name  # some pixels are drawn, not white


def test_html_has_banner_provenance_breaks_and_method(world: dict):
    html = world["result"].html.read_text(encoding="utf-8")
    assert 'id="synthetic-banner"' in html and "SYNTHETIC DATA" in html
    assert "run-abc" in html and "cat-123" in html and "data-2026-01" in html and "abc123def456" in html
    assert "Series breaks: lpr3_break from 2022." in html and "Series breaks: lup_digital_break from 2023." in html
    assert "Method appendix" in html and "follow_up_hours = 720" in html
    assert html.count("data:image/png;base64,") == len([p for p in world["result"].figure_files if p.suffix == ".png"])
    assert MARK in html


def test_html_has_no_banner_without_the_manifest(world: dict, tmp_path: Path):
    con = duckdb.connect(str(world["small"]), read_only=True)
    try:
        result = write_status_report(con, 2025, tmp_path / "exports", raw_dir=tmp_path,
                                     catalogue=load_catalogue(world["catalogue"]), commit="x")
    finally:
        con.close()
    html = result.html.read_text(encoding="utf-8")
    assert 'id="synthetic-banner"' not in html and "SYNTHETIC DATA" not in html
    assert not result.synthetic


def test_rerun_replaces_the_year_folder(world: dict, tmp_path: Path):
    out = tmp_path / "exports"
    (out / "2025").mkdir(parents=True)
    (out / "2025" / "stale.txt").write_text("old", encoding="utf-8")
    con = duckdb.connect(str(world["small"]), read_only=True)
    try:
        write_status_report(con, 2025, out, catalogue=load_catalogue(world["catalogue"]), commit="x")
        with pytest.raises(ValueError, match="no indicator values for 2030"):
            write_status_report(con, 2030, out, catalogue=load_catalogue(world["catalogue"]), commit="x")
    finally:
        con.close()
    assert not (out / "2025" / "stale.txt").exists() and (out / "2025" / "status_report_2025.html").exists()


def test_cli_report(world: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    from pipeline import report

    monkeypatch.setattr("pipeline.catalogue.load_catalogue", lambda *a, **k: load_catalogue(world["catalogue"]))
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    args = parser.parse_args(["--year", "2025", "--warehouse", str(world["small"]), "--exports-dir",
                              str(tmp_path / "out"), "--raw-dir", str(world["raw"]), "--marts-dir", str(tmp_path)])
    assert report.main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["synthetic"] is True and summary["figures"] > 0
    assert (tmp_path / "out" / "2025" / "status_report_2025.xlsx").exists()
    args.warehouse = tmp_path / "missing.duckdb"
    assert report.main(args) == 2


def test_status_report_asset(world: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import dagster as dg
    from dagster_duckdb import DuckDBResource

    import assets.exports
    from pipeline import report
    from pipeline.config import Settings
    from pipeline.resources import SettingsResource

    def with_test_catalogue(*args, **kwargs):
        return report.render_status_reports(*args, catalogue=load_catalogue(world["catalogue"]), **kwargs)

    monkeypatch.setattr(assets.exports, "render_status_reports", with_test_catalogue)
    settings = Settings(raw_dir=world["raw"], warehouse=world["small"], marts_dir=tmp_path / "marts",
                        exports_dir=tmp_path / "exports", years=YEARS)
    result = dg.materialize(
        [assets.exports.status_report],
        tags={"dagster/asset_partition_range_start": "2024", "dagster/asset_partition_range_end": "2025"},
        resources={"duckdb": DuckDBResource(database=str(world["small"])),
                   "settings": SettingsResource.from_settings(settings)},
    )
    assert result.success
    for year in (2024, 2025):
        assert (tmp_path / "exports" / str(year) / f"status_report_{year}.html").exists()
    meta = result.asset_materializations_for_node("status_report")[0].metadata
    assert meta["years"].value == 2 and meta["synthetic"].value is True
    with duckdb.connect(str(world["small"]), read_only=True) as con:
        values = con.execute("select count(*) from marts.indicator_values where year <= 2025").fetchall()[0][0]
    csv_rows = sum(pl.read_csv(p, infer_schema=False).height
                   for year in (2024, 2025) for p in (tmp_path / "exports" / str(year) / "tables").glob("*.csv"))
    assert meta["value_rows"].value == values > 0
    assert meta["table_rows"].value == csv_rows > 0


def test_progress_hides_what_restates_a_hidden_or_unexported_value():
    from pipeline.report import suppress_progress

    cells = pl.DataFrame({
        "indicator_id": ["a"] * 4, "measure": ["m"] * 4, "age_group": ["all"] * 4, "breakdown_level": ["national"] * 4,
        "sex": ["all"] * 4, "year": [2019, 2023, 2024, 2025], "suppressed": [None, "primary", None, None],
    })
    progress = pl.DataFrame({
        "indicator_id": ["a", "a"], "measure": ["m", "m"], "age_group": ["all", "all"], "baseline_year": [2019, 2023],
        "baseline_computed": [10.0, 3.0], "latest_year": [2025, 2026], "latest_value": [40.0, 41.0],
        "needed_change": [-20.0, -21.0], "projection_value": [30.0, 31.0], "projection_slope": [-1.0, -1.0],
    })
    out = suppress_progress(progress, cells)
    # row 1: latest 2025 shown; 2023 (in the five-year window) hidden -> projection hidden
    # row 2: baseline 2023 hidden; latest 2026 is not in the report -> latest and projection hidden
    assert out.get_column("latest_value").to_list() == [40.0, None]
    assert out.get_column("needed_change").to_list() == [-20.0, None]
    assert out.get_column("baseline_computed").to_list() == [10.0, None]
    assert out.get_column("projection_value").to_list() == [None, None]
    assert out.get_column("projection_slope").to_list() == [None, None]


def test_reads_the_parquet_marts_when_the_warehouse_has_none(world: dict, tmp_path: Path):
    p2 = world["values"].filter(pl.col("indicator_id") == "p2_tvang_personer")
    for year in YEARS:
        folder = tmp_path / "marts" / "indicator_values" / f"year={year}"
        folder.mkdir(parents=True)
        p2.filter(pl.col("year") == year).write_parquet(folder / "part-0.parquet")
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    try:
        with pytest.raises(FileNotFoundError, match="no marts.indicator_values"):
            write_status_report(con, 2025, tmp_path / "exports", marts_dir=tmp_path / "nowhere",
                                catalogue=load_catalogue(world["catalogue"]), commit="x")
        result = write_status_report(con, 2025, tmp_path / "exports", marts_dir=tmp_path / "marts",
                                     catalogue=load_catalogue(world["catalogue"]), commit="x")
    finally:
        con.close()
    df, _ = read_sheet(result.workbook, "p2_tvang_personer")
    assert df.height == p2.filter((pl.col("year") == 2025) | (pl.col("breakdown_level") == "national")).height
    targets = pl.read_csv(result.folder / "tables" / "targets.csv")
    assert targets.get_column("note").to_list() == ["no marts.target_progress"]
