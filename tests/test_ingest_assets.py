"""The ingest assets under Dagster: blocking checks, counts by rule as metadata (no row contents), drift stops."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from fixtures_ingest import GOOD_ROWS, register_file, write_csv

import assets.ingest as ingest
from pipeline.config import Settings
from pipeline.resources import build_resources

RANGE = {"dagster/asset_partition_range_start": "2015", "dagster/asset_partition_range_end": "2016"}


def _materialize(tmp_path: Path, names: list[str], *, downstream: bool = False) -> dg.ExecuteInProcessResult:
    settings = Settings(raw_dir=tmp_path / "raw", warehouse=tmp_path / "wh.duckdb", marts_dir=tmp_path / "marts",
                        exports_dir=tmp_path / "exports", years=[2015, 2016])
    assets = [a for a in ingest.ingest_assets if a.key.path[-1] in names]
    checks = [c for c in ingest.ingest_checks if next(iter(c.check_keys)).asset_key.path[-1] in names]
    extra = []
    if downstream:
        @dg.asset(deps=[a.key for a in assets])
        def downstream_mart() -> None:
            (tmp_path / "mart_built").write_text("yes")

        extra = [downstream_mart]
    return dg.materialize([*assets, *checks, *extra], resources=build_resources(settings),
                          instance=dg.DagsterInstance.ephemeral(), tags=RANGE, raise_on_error=False,
                          run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {f"{e.asset_key.path[-1]}/{e.check_name}": e for e in result.get_asset_check_evaluations()}


def test_every_register_has_an_asset_and_blocking_checks() -> None:
    by_asset = {a.key.path[-1]: a for a in ingest.ingest_assets}
    assert sorted(by_asset) == sorted(GOOD_ROWS)
    for name, a in by_asset.items():
        assert (a.partitions_def is not None) == (name not in {"dod", "dream", "sociale_indsatser"})
    specs = {(k.asset_key.path[-1], k.name): s for c in ingest.ingest_checks for k, s in zip(
        c.check_keys, c.check_specs, strict=True)}
    for name in by_asset:
        assert specs[(name, "valid_rows")].blocking and specs[(name, "row_conservation")].blocking
    assert {n for n, c in specs if c == "unknown_codes"} == {"tvang", "lpr_markoer", "lpr_f_forloebsmarkoerer", "dream"}
    assert not any(s.blocking for (_n, c), s in specs.items() if c == "unknown_codes")


def test_refused_delivery_fails_the_blocking_check_and_skips_downstream(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(register_file(raw, "bef", 2015), GOOD_ROWS["bef"])
    bad = [{"pnr": "P9", "koen": "3", "foed_dag": "1990-01-01", "kom": "101"}]
    write_csv(register_file(raw, "bef", 2016), GOOD_ROWS["bef"] + bad)
    result = _materialize(tmp_path, ["bef"], downstream=True)
    assert not result.success
    checks = _checks(result)
    valid = checks["bef/valid_rows"]
    assert not valid.passed
    assert valid.description.startswith("bef_2016.csv: 1 of 4 rows quarantined (25.00%)")
    meta = {k: v.value for k, v in valid.metadata.items()}
    assert meta["quarantined_by_rule"] == {"koen:not_in_codes": 1}
    assert (meta["rows_read"], meta["rows_staged"], meta["rows_quarantined"]) == (7, 3, 1)
    assert meta["refused_files"] == ["bef_2016.csv"]
    assert "P9" not in repr(meta) and "P9" not in valid.description  # counts only, never ids
    assert checks["bef/row_conservation"].passed
    assert not (tmp_path / "mart_built").exists()


def test_good_deliveries_pass_and_downstream_runs(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    for year in (2015, 2016):
        write_csv(register_file(raw, "tvang", year), GOOD_ROWS["tvang"])
    write_csv(register_file(raw, "dod", None), GOOD_ROWS["dod"])
    result = _materialize(tmp_path, ["tvang", "dod"], downstream=True)
    assert result.success
    checks = _checks(result)
    assert all(e.passed for e in checks.values())
    assert checks["tvang/unknown_codes"].description == "ref.codes not loaded: check skipped"
    assert (tmp_path / "mart_built").read_text() == "yes"
    mats = result.asset_materializations_for_node("tvang")
    assert mats and mats[0].metadata["rows_staged"].value == 2


def test_unknown_reference_codes_are_a_warning_not_a_quarantine(tmp_path: Path) -> None:
    import duckdb

    raw = tmp_path / "raw"
    rows = [GOOD_ROWS["tvang"][0], {**GOOD_ROWS["tvang"][0], "tvangstype": "ny_foranstaltning", "start_tid": "23:00"}]
    write_csv(register_file(raw, "tvang", 2015), rows)
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        con.execute("create schema ref; create table ref.codes as select 'coercion_type' as list_name, 'baelte' as code")
    result = _materialize(tmp_path, ["tvang"])
    assert result.success
    warn = _checks(result)["tvang/unknown_codes"]
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN
    assert warn.metadata["unknown_by_column_and_year"].value == {"tvangstype:2015": 1}
    assert _checks(result)["tvang/valid_rows"].metadata["rows_staged"].value == 2


def test_schema_drift_fails_the_asset_with_a_clear_message(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    rows = GOOD_ROWS["uddannelse"]
    write_csv(register_file(raw, "uddannelse", 2015), rows, columns=["pnr"])
    result = _materialize(tmp_path, ["uddannelse"], downstream=True)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "uddannelse"
    assert failure.step_failure_data.user_failure_data.description == (
        "uddannelse stopped: uddannelse_2015.csv: required column 'hfaudd_niveau' (str) is missing"
    )
    assert not (tmp_path / "mart_built").exists()


@pytest.mark.parametrize("name", ["lup_psykiatri"])
def test_register_without_files_creates_empty_tables(tmp_path: Path, name: str) -> None:
    import duckdb

    (tmp_path / "raw").mkdir()
    result = _materialize(tmp_path, [name])
    assert result.success
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        assert con.execute(f"select count(*) from staging.{name}").fetchall() == [(0,)]
