"""Marts: target status and projection by hand, Parquet partition replacement, the completeness check,
the atomic researchers' DuckDB file read by the duckdb 1.5 CLI, and the assets run through Dagster."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

import assets.marts as marts
from pipeline.catalogue import parse_entry
from pipeline.resources import SettingsResource

ROOT = Path(__file__).resolve().parent.parent
DUCKDB_CLI = ROOT / ".venv" / "bin" / "duckdb"


def entry(entry_id: str, code: str, **over: object):
    raw = {
        "id": entry_id,
        "version": 1,
        "code": code,
        "group": "target",
        "name_da": f"Test {code}",
        "name_en": f"Test {code}",
        "source_registers": ["bef"],
        "definition": "Test units.",
        "parameters": {},
        "unit_table": f"units.{entry_id}",
        "breakdowns": ["national", "region"],
        "splits": ["age_group"],
        "age_groups": ["children", "adults"],
        "measures": [{"id": "share", "kind": "share", "unit": "percent"}],
        "direction": "down",
        "baseline": {"year": 2017, "published": {"children": 13.6, "adults": 22.7}},
        "target": {"year": 2025, "value": {"children": 11.6, "adults": 19.3}},
        "flags": [],
    }
    raw.update(over)
    return parse_entry(Path(f"{entry_id}.yaml"), raw)


def national(rows: list[tuple[str, str, int, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"indicator_id": i, "measure": "share", "year": y, "breakdown_level": "national", "sex": "all",
             "age_group": g, "value": v}  # fmt: skip
            for i, g, y, v in rows
        ],
        schema={"indicator_id": pl.String(), "measure": pl.String(), "year": pl.Int32(),
                "breakdown_level": pl.String(), "sex": pl.String(), "age_group": pl.String(),
                "value": pl.Float64()},  # fmt: skip
    )


# --- target progress --------------------------------------------------------------------------------


def test_target_status_and_projection_by_hand() -> None:
    p4 = entry("p4_t", "P4")
    p2 = entry("p2_t", "P2", baseline={"year": 2017}, target={"year": 2025, "rule": "half_of_baseline"},
               measures=[{"id": "share", "kind": "count", "unit": "persons"}])  # fmt: skip
    p3 = entry("p3_t", "P3", splits=[], baseline=None, target={"year": 2025, "rule": "direction_only"})
    n2 = entry("n2_t", "N2", splits=[], baseline={"years": [2011, 2012, 2013]},
               target={"year": 2020, "rule": "half_of_baseline"})  # fmt: skip
    cat = {s.id: s for s in (p2, p3, p4, n2)}
    adults = [("p4_t", "adults", y, v) for y, v in zip(range(2014, 2022), [25, 24, 23, 22.7, 22.0, 21.0, 20.5, 19.8], strict=True)]
    children = [("p4_t", "children", 2020, 11.0)]
    p2_rows = [("p2_t", g, 2017, v) for g, v in (("all", 6000.0), ("children", 300.0), ("adults", 5700.0))]
    p2_rows += [("p2_t", "all", 2021, 5000.0)]
    p3_rows = [("p3_t", "all", 2019, 5.0), ("p3_t", "all", 2020, 5.5)]
    n2_rows = [("n2_t", "all", y, v) for y, v in ((2011, 8.0), (2012, 7.0), (2013, 8.1), (2016, 5.9))]
    values = national(adults + children + p2_rows + p3_rows + n2_rows)
    df = marts.target_progress_rows(values, cat, run_id="r1", cat_version="c1")
    marts.TargetProgress.validate(df)
    rows = {(r["indicator_id"], r["age_group"]): r for r in df.to_dicts()}
    assert set(rows) == {("p4_t", "children"), ("p4_t", "adults"), ("p2_t", "all"), ("p2_t", "children"),
                         ("p2_t", "adults"), ("p3_t", "all"), ("n2_t", "all")}  # fmt: skip

    a = rows[("p4_t", "adults")]
    # last five years 2017-2021: 22.7, 22.0, 21.0, 20.5, 19.8; x centred -2..2, mean 21.2,
    # slope = (-2·22.7 - 22.0 + 20.5 + 2·19.8) / 10 = -0.73; projection 2025 = 21.2 - 0.73·6 = 16.82
    assert a["projection_slope"] == pytest.approx(-0.73)
    assert a["projection_value"] == pytest.approx(16.82)
    assert a["projection_years"] == 5
    assert (a["latest_year"], a["latest_value"], a["target_value"]) == (2021, 19.8, 19.3)
    assert a["needed_change"] == pytest.approx(-0.5)
    assert a["status"] == "on_track"
    assert (a["baseline_published"], a["baseline_computed"], a["baseline_year"]) == (22.7, 22.7, 2017)

    c = rows[("p4_t", "children")]  # 11.0 <= 11.6: achieved; one point: no projection
    assert c["status"] == "achieved" and c["projection_value"] is None and c["baseline_computed"] is None

    # P2: no published baseline -> half the computed 2017 value; 5000 > 3000 and one point since -> off track
    assert rows[("p2_t", "all")]["target_value"] == 3000.0
    assert rows[("p2_t", "all")]["status"] == "off_track"
    assert rows[("p2_t", "children")]["target_value"] == 150.0
    assert rows[("p2_t", "children")]["latest_value"] == 300.0

    # P3: direction only, rising trend while it should fall -> off track, no target value
    assert rows[("p3_t", "all")]["status"] == "off_track" and rows[("p3_t", "all")]["target_value"] is None

    # N2: baseline = mean of 2011-2013 = 7.7, target 3.85 by 2020; latest 5.9 in 2016,
    # projection over 2011, 2012, 2013, 2016: slope = Σ(x-x̄)(y-ȳ)/Σ(x-x̄)² with x̄ = 2013, ȳ = 7.25
    # = ((-2)(0.75) + (-1)(-0.25) + 0(0.85) + 3(-1.35)) / (4 + 1 + 0 + 9) = -5.3 / 14 = -0.378571
    # value 2020 = 7.25 - 0.378571·7 = 4.6 > 3.85 -> off track
    # N2's baseline is one published number: the target is for the total only
    n2_split = entry("n2_s", "N2", baseline={"years": [2011, 2012, 2013], "published": 7.7},
                     target={"year": 2020, "rule": "half_of_baseline"})  # fmt: skip
    split = marts.target_progress_rows(national([("n2_s", "all", 2016, 5.9), ("n2_s", "adults", 2016, 6.0)]),
                                       {"n2_s": n2_split}, run_id="r", cat_version="c")  # fmt: skip
    assert split.select("age_group", "target_value", "status").to_dicts() == [
        {"age_group": "all", "target_value": 3.85, "status": "off_track"}
    ]
    # a half_of_baseline target whose baseline years are not in the data: no target, no status
    p2_late = marts.target_progress_rows(national([("p2_t", "all", 2021, 5000.0)]), {"p2_t": p2},
                                         run_id="r", cat_version="c")  # fmt: skip
    assert set(p2_late["status"].to_list()) == {"no_data"}
    n = rows[("n2_t", "all")]
    assert n["baseline_computed"] == pytest.approx(7.7) and n["target_value"] == pytest.approx(3.85)
    assert n["projection_slope"] == pytest.approx(-5.3 / 14)
    assert n["projection_value"] == pytest.approx(4.6)
    assert n["status"] == "off_track"


def test_target_no_data() -> None:
    p5 = entry("p5_t", "P5", splits=[], baseline={"year": 2017, "published": 47.0}, direction="up",
               target={"year": 2025, "value": 51.7})  # fmt: skip
    df = marts.target_progress_rows(national([]), {"p5_t": p5}, run_id="r", cat_version="c")
    assert df.to_dicts()[0]["status"] == "no_data"
    assert df.to_dicts()[0]["baseline_published"] == 47.0


# --- indicator values: partitions, completeness ------------------------------------------------------


def values_frame(years: list[int], tag: str) -> pl.DataFrame:
    rows = [
        {"indicator_id": "p4_t", "indicator_version": 1, "measure": "share", "year": y,
         "breakdown_level": "national", "breakdown_key": "DK", "sex": "all", "age_group": "all",
         "numerator": 1.0, "denominator": 2.0, "value": 50.0, "ci_low": 9.45, "ci_high": 90.55,
         "std_value": None, "unit": "percent", "flags": None, "run_id": tag, "catalogue_version": "c",
         "data_version": None}  # fmt: skip
        for y in years
    ]
    return pl.DataFrame(rows, schema={**marts.VALUE_SCHEMA, "run_id": pl.String(), "catalogue_version": pl.String(),
                                      "data_version": pl.String()})  # fmt: skip


def test_parquet_partition_replace_leaves_other_years(tmp_path: Path) -> None:
    marts.replace_year_partitions(values_frame([2019, 2020, 2021], "first"), tmp_path, [2019, 2020, 2021])
    before_2019 = marts.partition_path(tmp_path, 2019).stat().st_mtime_ns
    written = marts.replace_year_partitions(values_frame([2020], "second"), tmp_path, [2020])
    assert written == {2020: 1}
    assert pl.read_parquet(marts.partition_path(tmp_path, 2020))["run_id"].to_list() == ["second"]
    assert pl.read_parquet(marts.partition_path(tmp_path, 2021))["run_id"].to_list() == ["first"]
    assert marts.partition_path(tmp_path, 2019).stat().st_mtime_ns == before_2019
    assert not list(tmp_path.rglob("*.tmp"))  # no temp files left behind
    # a year re-run without rows loses its file
    marts.replace_year_partitions(values_frame([], "third"), tmp_path, [2021])
    assert not marts.partition_path(tmp_path, 2021).exists()


def test_completeness_fails_on_a_missing_year() -> None:
    p4 = entry("p4_t", "P4")
    p1 = entry("p1_t", "P1", years_defined=[2017, 2021])
    cat = {"p1_t": p1, "p4_t": p4}
    actual = pl.DataFrame({"indicator_id": ["p4_t", "p4_t", "p1_t", "x_old"], "year": [2020, 2021, 2021, 2021]})
    gaps = marts.missing_indicator_years(actual, cat, [2019, 2020, 2021])
    assert gaps.to_dicts() == [
        {"indicator_id": "p4_t", "year": 2019, "problem": "missing"},
        {"indicator_id": "x_old", "year": 2021, "problem": "not_expected"},
    ]
    ok = pl.DataFrame({"indicator_id": ["p4_t", "p4_t", "p1_t"], "year": [2020, 2021, 2021]})
    assert marts.missing_indicator_years(ok, cat, [2020, 2021]).height == 0
    problems = marts.validate_values(values_frame([2020], "r"), {"p4_t": p4}, [2020, 2021])
    assert problems == ["indicator years missing or unexpected: 1: p4_t 2021 (missing)"]


def test_value_rules() -> None:
    p4 = entry("p4_t", "P4")
    bad = values_frame([2020, 2021], "r").with_columns(
        numerator=pl.Series([3.0, -1.0]), denominator=pl.Series([2.0, 2.0])
    )
    assert marts.value_problems(bad, {"p4_t": p4}) == {
        "numerator_over_denominator": 1,
        "negative_counts": 1,
        "measure_not_in_catalogue": 0,
    }


# --- research db ------------------------------------------------------------------------------------


def write_all_marts(marts_dir: Path, cat: dict) -> None:
    marts.replace_year_partitions(values_frame([2020, 2021], "r"), marts_dir, [2020, 2021])
    tp = marts.target_progress_rows(national([("p4_t", "adults", 2021, 20.0)]), cat, run_id="r", cat_version="c")
    marts.write_parquet_atomic(tp, marts_dir / "target_progress" / "part-0.parquet")
    dq = pl.DataFrame(
        [{"kind": "register", "source": "bef", "year": 2020, "file": "bef_2020.csv", "metric": "rows_read",
          "value": 10, "status": "info", "run_id": "r", "catalogue_version": "c"}],  # fmt: skip
        schema={"kind": pl.String(), "source": pl.String(), "year": pl.Int32(), "file": pl.String(),
                "metric": pl.String(), "value": pl.Int64(), "status": pl.String(), "run_id": pl.String(),
                "catalogue_version": pl.String()},  # fmt: skip
    )
    marts.write_parquet_atomic(dq, marts_dir / "data_quality" / "part-0.parquet")


def test_research_db_atomic_and_readable_by_duckdb_cli(tmp_path: Path) -> None:
    cat = {"p4_t": entry("p4_t", "P4")}
    marts_dir = tmp_path / "marts"
    write_all_marts(marts_dir, cat)
    # A reader holding the old file open keeps reading it while the new one is renamed into place.
    (marts_dir / "research.duckdb").write_bytes(b"")  # placeholder the rebuild must replace whole
    path = marts.build_research_db(marts_dir, cat)
    assert path == (marts_dir / "research.duckdb").resolve()
    assert sorted(p.name for p in marts_dir.iterdir()) == [
        "data_quality", "indicator_values", "research.duckdb", "target_progress"
    ]  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sql = (
        "select count(*) from indicator_values;"
        "select count(*) from target_progress;"
        "select name_en from indicators;"
        "select comment from duckdb_views() where view_name = 'indicator_values';"
        "select count(*) from duckdb_columns() where comment is null and table_name in "
        "('indicator_values', 'target_progress', 'data_quality', 'indicators', 'measures');"
    )
    out = subprocess.run(
        [str(DUCKDB_CLI), "-readonly", "-csv", "-noheader", str(path), "-c", sql],
        cwd=elsewhere, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[0] == "2"  # two years of one row each
    assert lines[1] == "2"  # p4_t children and adults
    assert out.stdout.count("Test") == 1
    assert "Indicator values per indicator" in out.stdout
    assert out.stdout.strip().endswith("0")  # every column has a comment
    # Python reads it read-only as well, while the CLI has it open (readers never block each other)
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("select count(*) from measures").fetchall() == [(1,)]
    con.close()


def test_research_db_failure_leaves_previous_file(tmp_path: Path) -> None:
    cat = {"p4_t": entry("p4_t", "P4")}
    marts_dir = tmp_path / "marts"
    write_all_marts(marts_dir, cat)
    path = marts.build_research_db(marts_dir, cat)
    before = path.read_bytes()
    (marts_dir / "data_quality" / "part-0.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="data_quality"):
        marts.build_research_db(marts_dir, cat)
    assert path.read_bytes() == before
    assert not list(marts_dir.glob(".research*"))


# --- the assets through Dagster ---------------------------------------------------------------------


def build_warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema units; create schema meta").fetchall()
    con.execute(
        "create table units.p4_t as select * from (values "
        "(2020, 'a', 'p1', true, true, null, 'male', 30, 'adults', 101, 84, 86, 1, 1.0, null, null),"
        "(2020, 'b', 'p2', true, false, null, 'female', 10, 'children', 101, 84, 86, 1, 1.0, null, null),"
        "(2020, 'c', 'p3', false, false, 'died_during_stay', 'female', 50, 'adults', 101, 84, 86, 1, 1.0, null, null),"
        "(2021, 'd', 'p4', true, false, null, 'male', 40, 'adults', 751, 82, 82, 2, 1.0, null, null)"
        ") v(year, unit_id, pnr, in_denominator, in_numerator, exclusion_reason, sex, age, age_group, kom,"
        " region_code, region2027_code, sundhedsraad_code, weight, value, flags)"
    ).fetchall()
    con.execute(
        "create table meta.load_log as select * from (values "
        "('bef', 2020, 'bef_2020.csv', 10, 9, 1, '{\"kom:unknown_kom\": 1}', 'loaded', timestamp '2024-01-01 10:00', 'h1'),"
        "('bef', 2021, 'bef_2021.csv', 5, 5, 0, '{}', 'loaded', timestamp '2024-01-01 10:00', 'h2'),"
        "('dod', null, 'dod.csv', 3, 2, 0, '{}', 'loaded', timestamp '2024-01-01 10:00', 'h3')"
        ") v(register, year, file, rows_read, rows_staged, rows_quarantined, rule_counts, status, loaded_at, file_hash)"
    ).fetchall()
    con.close()


def test_assets_through_dagster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cat = {"p4_t": entry("p4_t", "P4")}
    monkeypatch.setattr(marts, "load_catalogue", lambda: cat)
    warehouse = tmp_path / "w.duckdb"
    build_warehouse(warehouse)
    marts_dir = tmp_path / "marts"
    resources = {
        "duckdb": DuckDBResource(database=str(warehouse)),
        "settings": SettingsResource(raw_dir=str(tmp_path / "raw"), marts_dir=str(marts_dir),
                                     exports_dir=str(tmp_path / "exp"), warehouse=str(warehouse), years="2020-2021"),
    }  # fmt: skip
    instance = dg.DagsterInstance.ephemeral()
    tags = {"dagster/asset_partition_range_start": "2020", "dagster/asset_partition_range_end": "2021"}
    result = dg.materialize(
        [marts.indicator_values, marts.target_progress, marts.data_quality, marts.research_db,
         marts.indicator_values_schema, marts.indicator_values_counts, marts.indicator_values_complete,
         marts.indicator_values_parquet, marts.target_progress_schema, marts.data_quality_conservation,
         marts.research_db_readable],  # fmt: skip
        resources=resources, instance=instance, tags=tags,
    )  # fmt: skip
    assert result.success
    checks = {e.asset_check_key.name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["indicator_values_complete"] and checks["indicator_values_parquet"]
    assert checks["data_quality_conservation"] is False  # dod.csv: 3 read, 2 staged, 0 quarantined
    con = duckdb.connect(str(warehouse), read_only=True)
    nat = con.execute(
        "select year, numerator, denominator, value, run_id = $r, data_version is not null from marts.indicator_values"
        " where breakdown_level = 'national' and sex = 'all' and age_group = 'all' order by year",
        {"r": result.run_id},
    ).fetchall()
    assert nat == [(2020, 1.0, 2.0, 50.0, True, True), (2021, 0.0, 1.0, 0.0, True, True)]
    versions = con.execute("select distinct year, data_version from marts.indicator_values order by year").fetchall()
    assert versions[0][1] != versions[1][1]  # bef_2020 vs bef_2021 (+ dod in both)
    dq = con.execute(
        "select source, year, metric, value, status from marts.data_quality order by all"
    ).fetchall()
    con.close()
    assert ("bef", 2020, "quarantined:kom:unknown_kom", 1, "info") in dq
    assert ("dod", None, "conservation_difference", 1, "fail") in dq
    assert ("p4_t", 2020, "excluded:died_during_stay", 1, "info") in dq
    assert ("p4_t", 2020, "units_in_denominator", 2, "info") in dq
    assert (marts_dir / "research.duckdb").exists()
    assert len(list((marts_dir / "indicator_values").glob("year=*/part-0.parquet"))) == 2
    text = marts.target_table_text(resources["settings"])
    assert "P4" in text and "children" in text and "22.7 (2017) -> 0.0 (2021) -> 19.3 (2025)" in text
    meta = json.loads(
        str(result.asset_materializations_for_node("indicator_values")[0].metadata["rows_per_year"].value)
    )
    assert set(meta) == {"2020", "2021"}


def test_indicator_values_refuses_to_publish_a_gap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cat = {"p4_t": entry("p4_t", "P4")}
    monkeypatch.setattr(marts, "load_catalogue", lambda: cat)
    warehouse = tmp_path / "w.duckdb"
    build_warehouse(warehouse)
    resources = {
        "duckdb": DuckDBResource(database=str(warehouse)),
        "settings": SettingsResource(raw_dir=str(tmp_path), marts_dir=str(tmp_path / "m"),
                                     exports_dir=str(tmp_path), warehouse=str(warehouse), years="2020-2022"),
    }  # fmt: skip
    tags = {"dagster/asset_partition_range_start": "2021", "dagster/asset_partition_range_end": "2022"}
    result = dg.materialize([marts.indicator_values], resources=resources, tags=tags, raise_on_error=False,
                            instance=dg.DagsterInstance.ephemeral())  # fmt: skip
    assert not result.success  # 2022 has no units: nothing published
    assert not (tmp_path / "m" / "indicator_values").exists()
    # once the indicator records 2022 as computed (with no unit), the year is published as zero cells
    with resources["duckdb"].get_connection() as con:  # same configuration as the run's connections
        con.execute("create table meta.unit_years as select 'p4_t' as indicator_id, 2022 as year").fetchall()
    result = dg.materialize([marts.indicator_values], resources=resources, tags=tags,
                            instance=dg.DagsterInstance.ephemeral())  # fmt: skip
    assert result.success
    flags = pl.read_parquet(marts.partition_path(tmp_path / "m", 2022))["flags"].unique().to_list()
    assert flags == ["no_units,small_denominator"]


def test_national_preview_shows_headline_by_year_and_gaps() -> None:
    import polars as pl

    from assets.marts import national_preview
    from pipeline.catalogue import load_catalogue

    catalogue = load_catalogue()
    base = {"breakdown_level": "national", "sex": "all", "age_group": "all"}
    df = pl.DataFrame([
        {**base, "indicator_id": "p4_genindlaeggelse", "measure": "share", "year": 2020, "value": 20.04},
        {**base, "indicator_id": "p4_genindlaeggelse", "measure": "share", "year": 2021, "value": None},
        # not national / not the headline measure: never shown
        {**base, "indicator_id": "p4_genindlaeggelse", "measure": "share_std", "year": 2020, "value": 99.0},
        {**base, "breakdown_level": "region", "indicator_id": "p4_genindlaeggelse", "measure": "share",
         "year": 2021, "value": 55.0},
    ])
    text = national_preview(df, catalogue)
    lines = text.splitlines()
    assert lines[0] == "| indicator | measure | 2020 | 2021 |"
    assert "| P4 | share | 20.0 | – |" in lines
    assert len(lines) == 2 + len(catalogue)  # one row per catalogue indicator, gaps shown as –
