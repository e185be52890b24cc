"""The status report with the disclosure cache and a figure worker process writes what the plain run
writes; a figure that fails (here or in the worker) fails the report and leaves the old one in place."""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import numpy as np
import openpyxl
import polars as pl
import pytest
from test_exports_report import P2_YAML, P4_YAML, build_progress, build_values, geography

from pipeline import report
from pipeline.catalogue import load_catalogue
from pipeline.report import FigureJob, ReportInputs, draw_figures, render_status_reports


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportInputs, Path]:
    root = tmp_path_factory.mktemp("parallel_world")
    geo = geography()
    values = build_values(np.random.default_rng(20250101), geo)
    cat_dir = root / "catalogue"
    cat_dir.mkdir()
    (cat_dir / "p4_genindlaeggelse.yaml").write_text(P4_YAML, encoding="utf-8")
    (cat_dir / "p2_tvang_personer.yaml").write_text(P2_YAML, encoding="utf-8")
    return ReportInputs(values, build_progress(values), geo), cat_dir


def svg_text(path: Path) -> bytes:
    """An SVG without what differs between any two draws: the date and matplotlib's random ids."""
    text = re.sub(rb"<dc:date>.*?</dc:date>", b"", path.read_bytes())
    ids: dict[bytes, bytes] = {}
    return re.sub(rb"\b([pm][0-9a-f]{10})\b", lambda m: ids.setdefault(m.group(1), b"id%d" % len(ids)), text)


def cells(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    return {name: list(wb[name].iter_rows(values_only=True)) for name in wb.sheetnames}


def assert_same_report(a: Path, b: Path) -> None:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and any(p.suffix == ".png" for p in files_a)
    for rel in files_a:
        if rel.suffix == ".svg":
            assert svg_text(a / rel) == svg_text(b / rel), rel
        elif rel.suffix == ".xlsx":
            assert cells(a / rel) == cells(b / rel), rel
        else:  # CSV, PNG, HTML (with the PNGs inlined), README
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_cache_and_worker_write_the_same_report(inputs, tmp_path: Path):
    data, cat_dir = inputs
    catalogue = load_catalogue(cat_dir)
    plain = render_status_reports(data, [2024, 2025], tmp_path / "plain", catalogue=catalogue, commit="c")
    cache = report.disclosure_cache_dir(tmp_path / "warehouse.duckdb")
    cold = render_status_reports(data, [2024, 2025], tmp_path / "fast", catalogue=catalogue, commit="c",
                                 cache_dir=cache, workers=1)
    assert len(list(cache.glob("*.bin"))) == data.values.select("indicator_id", "year").unique().height
    for year in (2024, 2025):
        assert_same_report(tmp_path / "plain" / str(year), tmp_path / "fast" / str(year))
        assert not list((tmp_path / "fast" / str(year)).rglob("*.bin"))  # the cache is not in the report
    warm = render_status_reports(data, [2025], tmp_path / "warm", catalogue=catalogue, commit="c",
                                 cache_dir=cache, workers=1)
    assert_same_report(tmp_path / "plain" / "2025", tmp_path / "warm" / "2025")
    assert [r.hidden_cells for r in plain] == [r.hidden_cells for r in cold]
    assert [p.name for p in plain[1].figure_files] == [p.name for p in warm[0].figure_files]


def test_a_failing_figure_fails_the_report_and_keeps_the_old_one(inputs, tmp_path: Path):
    data, cat_dir = inputs
    # a target value the target figure cannot draw (float("not a number") raises)
    progress = data.progress.with_columns(pl.col("target_value").cast(pl.Utf8).fill_null("not a number"))
    progress = progress.with_columns(pl.when(pl.col("age_group") == "adults").then(pl.lit("not a number"))
                                     .otherwise(pl.col("target_value")).alias("target_value"))
    broken = ReportInputs(data.values, progress, data.geography)
    out = tmp_path / "exports"
    (out / "2025").mkdir(parents=True)
    (out / "2025" / "previous.txt").write_text("the last good report", encoding="utf-8")
    for workers in (0, 1):
        with pytest.raises(RuntimeError, match=r"figure p4_genindlaeggelse_share_adults_target failed.*ValueError"):
            render_status_reports(broken, [2025], out, catalogue=load_catalogue(cat_dir), commit="c", workers=workers)
        assert (out / "2025" / "previous.txt").read_text(encoding="utf-8") == "the last good report"
        assert not (out / "2025" / "status_report_2025.xlsx").exists()


def test_a_figure_failing_in_the_worker_names_the_figure(inputs, tmp_path: Path):
    data, _ = inputs
    series = data.values.filter((pl.col("indicator_id") == "p2_tvang_personer") & (pl.col("breakdown_level") == "national")
                                & (pl.col("sex") == "all")).drop("value")  # no value column: the figure cannot draw
    job = FigureJob("target", "caption", {}, "target_figure", (series, {}, "t", "", {}, tmp_path / "lost_target", None))
    pool = report._figure_pool(1)
    try:
        with pytest.raises(RuntimeError, match=r"figure lost_target failed in a worker process: ColumnNotFoundError"):
            # this process waits long enough that the worker has taken the job (nothing left to steal)
            draw_figures([job], pool, while_drawing=lambda: time.sleep(1.0))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    assert not list(tmp_path.glob("lost_target*"))


def test_a_pool_whose_worker_did_not_start_draws_here(inputs, tmp_path: Path, caplog: pytest.LogCaptureFixture):
    data, _ = inputs
    series = data.values.filter((pl.col("indicator_id") == "p2_tvang_personer") & (pl.col("breakdown_level") == "national")
                                & (pl.col("sex") == "all") & (pl.col("age_group") == "all"))
    job = FigureJob("target", "caption", {}, "target_figure", (series, {}, "t", "", {}, tmp_path / "here_target", None))
    pool = report._figure_pool(1)
    try:
        dead = pool.submit(os._exit, 1)  # the worker dies: the pool is broken before it gets a figure
        with pytest.raises(Exception, match="terminated abruptly"):
            dead.result(timeout=60)
        with caplog.at_level(logging.WARNING, logger="pipeline.report"):
            files = draw_figures([job], pool)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    assert [p.name for p in files[0]] == ["here_target.png", "here_target.svg"] and all(p.exists() for p in files[0])
    assert "did not start" in caplog.text


def test_figure_workers_do_not_run_the_callers_script_again(tmp_path: Path):
    # a script that renders without an `if __name__ == "__main__":` guard: a spawned worker would run
    # its top level again (here: another line in the marker file, and another pool) unless the workers
    # start without the main script
    import subprocess
    import sys

    marker = tmp_path / "ran.txt"
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from pathlib import Path\n"
        f"with open({str(marker)!r}, 'a') as f:\n"
        "    f.write('ran\\n')\n"
        "from pipeline import figures, report\n"
        "pool = report._figure_pool(1)\n"
        "assert pool.submit(figures.warm).result(timeout=120) > 0\n"
        "pool.shutdown(wait=True)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert marker.read_text() == "ran\n"
