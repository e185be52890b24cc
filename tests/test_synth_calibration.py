"""The generator's calibration through the pipeline (issue #3): a small synthetic world runs through the
whole asset graph (`run_pipeline`), and the national values the pipeline computed — the
indicator_values marts and the core tables — are compared with the published figures by
`pipeline.synth.calibration.compare`, counts divided by the scale.

The rule (`calibration.tolerance`): a figure passes within max(15 %, 3 standard errors of the noise
of a world this size), relative to the published value. Counts: Poisson, band max(0.15, 3/sqrt(E)) with
E = published x scale. Shares: binomial over the pipeline's denominator n, band
max(0.15, 3 sqrt(p(1-p)/n) / p). Sums of days: compound Poisson over the k admissions with days,
band max(0.15, 3 sqrt(2/k)). At this scale the large counts and the survey shares are held to the 15 % band;
the rest to their noise band (the national check at scale 1.0, where the band is 15 %, is `make bench`).
"""

from __future__ import annotations

import math
import os

import duckdb
import polars as pl
import pytest

from pipeline.config import Settings
from pipeline.runner import run_pipeline
from pipeline.synth import generate
from pipeline.synth.calibration import FIGURES, compare, core_values, tolerance

SCALE = 0.03  # 170,000 residents: counts of 13,500 or more nationally are held to the 15 % band
# 2017 (survey, coercion, N1, P5 followed up 182 days), P4 2018 followed up into 2019, the LPR3 switch in 2019;
# three years keep the whole run near 40 s of CPU
YEARS = [2017, 2018, 2019]
# Any seed: with the bench's seed 20250101 this world's 2017 N1 days come out 1.47 times the published
# figure (189 admissions with days where 149 are expected, a 3.3-sigma draw); seeds 7 and 8 give 0.78 and
# 0.89, and the 0.1-scale worlds 1.03 and 0.98.
SEED = 7


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, object, pl.DataFrame]:
    root = tmp_path_factory.mktemp("synth_calibration")
    s = Settings(raw_dir=root / "raw", warehouse=root / "warehouse.duckdb", marts_dir=root / "marts",
                 exports_dir=root / "exports", years=YEARS)
    generate(s.raw_dir, scale=SCALE, years=YEARS, seed=SEED, progress=False)
    saved = dict(os.environ)
    os.environ.pop("DAGSTER_HOME", None)  # an ephemeral instance
    try:
        outcome = run_pipeline(s, echo=lambda _: None, report_years=[])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return s, outcome, compare(s.warehouse, s.marts_dir, SCALE)


def test_the_pipeline_runs_on_a_generated_world(pipeline_run) -> None:
    _, outcome, _ = pipeline_run
    assert outcome.success, (outcome.failed_steps, outcome.failed_checks)
    assert not outcome.failed_checks and not outcome.warnings


def test_every_figure_of_the_years_has_a_pipeline_value(pipeline_run) -> None:
    _, _, fig = pipeline_run
    inside = fig.filter(pl.col("year").is_in(YEARS))
    assert inside.height == sum(f.year in YEARS for f in FIGURES) >= 12
    assert inside.filter(pl.col("value").is_null() | (pl.col("value") <= 0)).is_empty(), inside


def test_published_figures_within_the_band(pipeline_run) -> None:
    _, _, fig = pipeline_run
    inside = fig.filter(pl.col("year").is_in(YEARS))
    bad = inside.filter(~pl.col("ok")).select("name", "year", "published", "national", "ratio", "tolerance", "n")
    assert bad.is_empty(), f"outside the band:\n{bad}"
    # the noise band only widens what a world this size cannot measure to 15 %
    held_to_15 = inside.filter(pl.col("tolerance") == 0.15)["name"].to_list()
    assert {"population", "persons_psych_stay", "poor_mh_16_plus"} <= set(held_to_15)


def test_forced_admissions_from_core_equal_p2_form_1(pipeline_run) -> None:
    s, _, _ = pipeline_run
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        core = core_values(con).filter(pl.col("name") == "forced_admissions")
    finally:
        con.close()
    marts = pl.read_parquet(s.marts_dir / "indicator_values" / "*" / "*.parquet", hive_partitioning=False).filter(
        (pl.col("indicator_id") == "p2_tvang_personer") & (pl.col("measure") == "measures_form_1")
        & (pl.col("breakdown_level") == "national") & (pl.col("sex") == "all") & (pl.col("age_group") == "all"))
    joined = core.join(marts.select(pl.col("year").cast(pl.Int32), "value"), on="year", how="full")
    assert joined.height == len(YEARS) and (joined["value"] == joined["value_right"]).all(), joined


def test_psychiatric_patients_die_more_often(pipeline_run) -> None:
    """Admitted psychiatric patients born 1956-1996 die more often than others of those ages (about 2.3x
    in the generator; ~1,500 patients here)."""
    s, _, _ = pipeline_run
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        rates = dict(con.execute("""
            with psych as (select distinct pnr from core.stays where psychiatric and is_admission),
            pop as (select pnr from core.persons where foed_dag between date '1956-01-01' and date '1996-12-31')
            select pnr in (select pnr from psych), avg((pnr in (select pnr from core.deaths))::int)
            from pop group by 1""").fetchall())
    finally:
        con.close()
    assert rates[True] > 1.5 * rates[False]


def test_tolerance_rule() -> None:
    # counts: Poisson; 15 % once 3 / sqrt(E) <= 0.15, i.e. E >= 400
    assert tolerance("count", 46_000, 1.0, None) == 0.15
    assert tolerance("count", 330, 1.0, None) == pytest.approx(3 / math.sqrt(330))
    assert tolerance("count", 600, 0.02, None) == pytest.approx(3 / math.sqrt(12))
    # shares: binomial over the denominator
    assert tolerance("share", 0.227, 1.0, 40_000) == 0.15
    assert tolerance("share", 0.227, 0.02, 400) == pytest.approx(3 * math.sqrt(0.227 * 0.773 / 400) / 0.227)
    # sums of days: compound Poisson over the admissions with days
    assert tolerance("days", 24_000, 1.0, 4_000) == 0.15
    assert tolerance("days", 24_000, 0.02, 80) == pytest.approx(3 * math.sqrt(2 / 80))


def test_calibration_cli_reports_every_figure(pipeline_run, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.synth.calibration import main

    s, _, fig = pipeline_run
    code = main(["--raw-dir", str(s.raw_dir), "--warehouse", str(s.warehouse), "--marts-dir", str(s.marts_dir)])
    out = capsys.readouterr().out
    assert "scale 0.03" in out and "p4_genindlaeggelse/share" in out and "core (population)" in out
    # figures of other years have no value in this run: the CLI exits 1 for them
    assert code == (0 if fig["ok"].all() else 1) == 1
