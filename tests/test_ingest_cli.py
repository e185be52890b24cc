"""`pipeline run` through `pipeline.cli.main` on a small extract folder: exit codes, messages, marts kept.

This runs the whole asset graph of `build_defs` (every layer present), so it is also the ingest's
integration test with the layers downstream of it. Schema drift is tested at the asset level
(test_ingest_assets.py): a whole-graph run costs most of this area's test time.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixtures_ingest import GOOD_ROWS, register_file, write_csv, write_extract

from pipeline.cli import main
from pipeline.demo import has_registers, summary_lines
from pipeline.runner import RunOutcome

YEARS = "2018-2019"  # one LPR2 and one LPR3 year keep the whole-graph run short


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # `pipeline run` makes its settings the process environment; give every variable back afterwards
    for var in ("PSYK_RAW_DIR", "PSYK_WAREHOUSE", "PSYK_MARTS_DIR", "PSYK_EXPORTS_DIR", "PSYK_YEARS",
                "PSYK_DATA_END", "DAGSTER_HOME"):
        monkeypatch.delenv(var, raising=False)


def _args(tmp_path: Path) -> list[str]:
    return ["run", "--raw-dir", str(tmp_path / "raw"), "--warehouse", str(tmp_path / "wh.duckdb"),
            "--marts-dir", str(tmp_path / "marts"), "--exports-dir", str(tmp_path / "exports"), "--years", YEARS]


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_run_exit_codes_good_then_bad_delivery(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_extract(tmp_path / "raw", [2018, 2019])
    assert main(_args(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "start   bef" in out and "done    bef" in out
    assert "pipeline run: OK" in out
    # the status report is built for the last year of the run unless --report-years says otherwise
    assert "pipeline run: status report for 2019" in out
    assert (tmp_path / "exports" / "2019" / "status_report_2019.xlsx").is_file()
    assert not (tmp_path / "exports" / "2018").exists()
    marts_before = _snapshot(tmp_path / "marts") if (tmp_path / "marts").exists() else {}

    # a bad delivery: one of the four rows of bef 2019 breaks the contract
    bad = {"pnr": "P777", "koen": "1", "foed_dag": "1990-02-30", "kom": "101"}
    write_csv(register_file(tmp_path / "raw", "bef", 2019), GOOD_ROWS["bef"] + [bad])
    assert main(_args(tmp_path)) != 0
    out = capsys.readouterr().out
    assert "FAILED check bef/valid_rows: bef_2019.csv: 1 of 4 rows quarantined" in out
    assert '"foed_dag:not_a_date": 1' in out
    assert "P777" not in out
    marts_after = _snapshot(tmp_path / "marts") if (tmp_path / "marts").exists() else {}
    assert marts_after == marts_before


def test_run_refuses_a_missing_raw_folder(tmp_path: Path) -> None:
    assert main(_args(tmp_path)) == 2


def test_demo_generates_only_into_an_empty_raw_folder(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    assert not has_registers(raw)
    raw.mkdir()
    (raw / "_synthetic.json").write_text("{}")
    (raw / "bef").mkdir()
    assert not has_registers(raw)  # an empty register folder and the manifest are not data
    write_csv(register_file(raw, "bef", 2015), GOOD_ROWS["bef"])
    assert has_registers(raw)


def test_demo_summary_says_where_things_are(tmp_path: Path) -> None:
    from pipeline.config import Settings

    s = Settings(raw_dir=tmp_path / "raw", warehouse=tmp_path / "wh.duckdb", marts_dir=tmp_path / "marts",
                 exports_dir=tmp_path / "exports", years=[2010, 2025])
    outcome = RunOutcome(success=True, run_id="r1", steps_succeeded=3, seconds=1.0,
                         register_counts={"bef": {"files": 2, "rows_read": 1200, "rows_staged": 1190,
                                                  "rows_quarantined": 10, "files_not_loaded": 0}})
    text = "\n".join(summary_lines(s, outcome))
    assert "bef" in text and "1,200" in text and "1,190" in text
    assert "Rows quarantined in all: 10" in text
    assert f"Warehouse: {tmp_path / 'wh.duckdb'}" in text and "make ui" in text
    assert os.environ.get("PSYK_RAW_DIR") is None
