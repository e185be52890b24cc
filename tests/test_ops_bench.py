"""`make bench`'s accounting (pipeline/bench.py): rows in and out per stage, and its table.

The benchmark itself runs outside the test suite (national scale takes about 15 minutes); these tests
check what it reports from a run: the rows each stage's metadata gives, the rows read from the
warehouse afterwards, and the printed table.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline import bench
from pipeline.config import Settings


def md(**values: object) -> dict[str, dg.MetadataValue]:
    return {k: dg.MetadataValue.int(v) if isinstance(v, int) else dg.MetadataValue.text(str(v))
            for k, v in values.items()}


def test_rows_in_and_out_from_each_stage_metadata():
    # an ingest delivery: rows read in, rows staged out (quarantined rows are neither)
    assert bench._rows_in_out("ingest", md(files=1, rows_read=1000, rows_staged=990, rows_quarantined=10)) == (1000, 990)
    # a core step: every table it wrote (their size after the write); other counts are not rows
    assert bench._rows_in_out("core", md(rows_stays=70, rows_stay_contacts=90, admissions=40,
                                         years_written="2025")) == (None, 160)
    assert bench._rows_in_out("reference", md(rows=98)) == (None, 98)
    assert bench._rows_in_out("marts", md(rows=5000, indicators=16)) == (None, 5000)
    assert bench._rows_in_out("exports", md(years=2, value_rows=800, table_rows=56, figure_files=100)) == (800, 56)
    assert bench._rows_in_out("indicators", md(units=10)) == (None, None)  # read from the unit tables
    assert bench._rows_in_out("ingest", md(rows_read=True)) == (None, None)  # a flag is not a count


def test_rows_from_the_warehouse_after_a_run(tmp_path: Path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema core; create schema ref; create schema units")
        con.execute("create table core.persons as select range as pnr from range(7)")
        con.execute("create table core.residence as select range as pnr from range(30)")
        con.execute("create table core.deaths as select range as pnr from range(2)")
        con.execute("create table ref.geography as select range as kom from range(5)")
        # core.contacts absent: a table the indicator reads that is not there counts nothing
        con.execute("create table units.n8_overdoedelighed as "
                    "select 2020 + range % 3 as year from range(12)")  # 4 units in each of 2020-2022
    stages = {name: bench.Stage(name) for name in ("ingest + validate", "core model", "indicator n8_overdoedelighed",
                                                   "marts")}
    stages["ingest + validate"].rows_out = 1234
    settings = Settings(raw_dir=tmp_path, warehouse=warehouse, marts_dir=tmp_path, exports_dir=tmp_path,
                        years=[2021, 2022])
    bench._table_rows(settings, stages, [2021, 2022])
    n8 = stages["indicator n8_overdoedelighed"]
    assert (n8.rows_in, n8.rows_out) == (7 + 30 + 2 + 5, 8)
    assert stages["marts"].rows_in == 8  # every indicator's units of the years (here N8's only)
    assert stages["core model"].rows_in == 1234  # what this run staged
    bench._table_rows(settings, stages, None)  # a full run: every year
    assert (n8.rows_out, stages["marts"].rows_in) == (12, 12)


def test_table_shows_rows_in_and_out(capsys: pytest.CaptureFixture):
    st = bench.Stage("ingest + validate", seconds=2.0, rows_in=1_000_000, rows_out=990_000, peak_bytes=int(1.5e9))
    bench.print_table([st.row(), bench.Stage("exports", seconds=4.0, rows_out=56).row()])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:7] == ["stage", "seconds", "CPU", "s", "rows", "in", "rows"]
    assert "1,000,000" in lines[1] and "990,000" in lines[1] and "495,000" in lines[1] and "1.50" in lines[1]
    assert st.row()["rows_per_second"] == 495_000  # rows out per second
    assert lines[2].split()[-3:] == ["56", "14", "0.00"]


def test_cpu_seconds_of_a_window_are_interpolated_between_samples():
    sampler = bench.MemorySampler()
    sampler.cpu_samples = [(100.0, 10.0), (100.2, 10.4), (100.4, 10.4), (100.6, 11.0)]  # (time, CPU s)
    assert sampler.cpu(100.1, 100.5) == pytest.approx(10.7 - 10.2)
    assert sampler.cpu(100.2, 100.4) == pytest.approx(0.0)  # idle between two samples
    assert sampler.cpu(99.0, 101.0) == pytest.approx(1.0)  # a window past the samples: their span
    assert sampler.cpu(100.5, 100.1) == 0.0
    stages = {"x": bench.Stage("x", cpu_seconds=1.25)}
    assert stages["x"].row()["cpu_seconds"] == 1.2  # rounded to a tenth


def test_cpu_probe_times_one_and_two_cores_on_the_same_work_per_core(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(bench, "PROBE_ROWS", 1_000_000)
    probe = bench.cpu_probe()
    assert set(probe) == {"one_core_seconds", "two_core_seconds", "two_core_speedup"}
    assert probe["one_core_seconds"] >= 0 and probe["two_core_seconds"] > 0
    assert 0 < probe["two_core_speedup"] < 4
    header = bench._header(1.0, [2010, 2025], {"start": probe})
    assert header["machine"]["cpu_probe"]["start"] == probe and header["years"] == [2010, 2025]
