"""Every notebook in notebooks/ runs top to bottom (nbclient) against marts built in tmp_path.

The marts here are hand-built in the documented shape (docs/architecture.md, `marts.indicator_values`
as Parquet, one file per year) with values chosen so the expected answers are known: every health
council has 200 readmissions per 1000 admissions (20 %) except Aarhus (30 % from 2019) and Fyn (10 %
from 2019); Sjælland Syd has no admissions before 2019, Byen only 5 a year (1 readmitted), and 10
admissions a year (2 readmitted) have no council. Denmark stays at exactly 20 % before and after.
`target_progress` holds three target rows (P4 children achieved, P4 adults off track, P2 on track) and
one non-target row (N1) the targets notebook must leave out; research.duckdb is built over them by the
pipeline's own builder.

Every notebook also runs against marts from a real pipeline run (the assets up to `research_db`) on
tiny synthetic registers, so the notebooks keep working with what the pipeline actually writes.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import nbformat
import polars as pl
import pytest
from nbclient import NotebookClient

from assets.marts import build_research_db
from pipeline.catalogue import load_catalogue
from pipeline.config import PROJECT_ROOT, Settings, parse_years

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
YEARS = range(2015, 2023)
COUNCILS = range(1, 18)
AARHUS, FYN, BYEN, SJAELLAND_SYD = 3, 8, 12, 17  # sundhedsraad codes in pipeline/reference/geography.csv
DENOMINATOR = 1000

VALUE_COLUMNS = {
    "indicator_id": pl.String, "indicator_version": pl.Int32, "measure": pl.String, "year": pl.Int32,
    "breakdown_level": pl.String, "breakdown_key": pl.String, "sex": pl.String, "age_group": pl.String,
    "numerator": pl.Float64, "denominator": pl.Float64, "value": pl.Float64, "ci_low": pl.Float64,
    "ci_high": pl.Float64, "std_value": pl.Float64, "unit": pl.String, "flags": pl.String, "run_id": pl.String,
    "catalogue_version": pl.String, "data_version": pl.String,
}


def _council_counts(code: int, year: int) -> tuple[int, int]:
    """(readmitted, admissions) of a council in a year."""
    if code == SJAELLAND_SYD and year < 2019:
        return 0, 0
    if code == BYEN:
        return 1, 5
    if year >= 2019 and code == AARHUS:
        return 300, DENOMINATOR
    if year >= 2019 and code == FYN:
        return 100, DENOMINATOR
    return 200, DENOMINATOR


def _row(indicator: str, measure: str, year: int, level: str, key: str, num: float, den: float, **kw) -> dict:
    value = 100 * num / den if den else None
    return {
        "indicator_id": indicator, "indicator_version": 1, "measure": measure, "year": year,
        "breakdown_level": level, "breakdown_key": key, "sex": kw.get("sex", "all"),
        "age_group": kw.get("age_group", "all"), "numerator": num, "denominator": den, "value": value,
        "ci_low": value and value - 2.5, "ci_high": value and value + 2.5, "std_value": None, "unit": "percent",
        "flags": "lpr3_break" if year == 2019 else None, "run_id": "test-run", "catalogue_version": "test",
        "data_version": "test",
    }


def write_marts(marts: Path) -> None:
    for year in YEARS:
        rows = []
        counts = {str(c): _council_counts(c, year) for c in COUNCILS} | {"unknown": (2, 10)}
        for key, (n, d) in counts.items():
            rows.append(_row("p4_genindlaeggelse", "share", year, "sundhedsraad", key, n, d))
            # rows the notebook must leave out: another split, another measure, another indicator
            rows.append(_row("p4_genindlaeggelse", "share", year, "sundhedsraad", key, 900, DENOMINATOR, sex="female"))
            rows.append(_row("p4_genindlaeggelse", "share_std", year, "sundhedsraad", key, 5, DENOMINATOR))
            rows.append(_row("p2_tvang_personer", "share", year, "sundhedsraad", key, 999, DENOMINATOR))
        num, den = (sum(c[i] for c in counts.values()) for i in (0, 1))
        rows.append(_row("p4_genindlaeggelse", "share", year, "national", "DK", num, den))
        folder = marts / "indicator_values" / f"year={year}"
        folder.mkdir(parents=True)
        pl.DataFrame(rows, schema=VALUE_COLUMNS, orient="row").write_parquet(folder / "part-0.parquet")


TP_SCHEMA = {
    "indicator_id": pl.String, "code": pl.String, "measure": pl.String, "age_group": pl.String,
    "baseline_year": pl.Int32, "baseline_published": pl.Float64, "baseline_computed": pl.Float64,
    "latest_year": pl.Int32, "latest_value": pl.Float64, "target_value": pl.Float64, "target_year": pl.Int32,
    "target_rule": pl.String, "direction": pl.String, "needed_change": pl.Float64, "status": pl.String,
    "projection_value": pl.Float64, "projection_slope": pl.Float64, "projection_years": pl.Int32,
    "run_id": pl.String, "catalogue_version": pl.String,
}
TP_ROWS = [  # indicator, code, measure, age group, baseline, latest, target, projection, status
    ("p4_genindlaeggelse", "P4", "share", "children", 13.0, 10.0, 11.6, 9.0, "achieved"),
    ("p4_genindlaeggelse", "P4", "share", "adults", 22.0, 21.0, 19.3, 20.5, "off_track"),
    ("p2_tvang_personer", "P2", "persons", "all", 100.0, 80.0, 50.0, 45.0, "on_track"),
    ("n1_faerdigbehandlingsdage", "N1", "days", "all", 10.0, 12.0, 5.0, 14.0, "off_track"),
]


def write_research_file(marts: Path) -> None:
    """target_progress, data_quality and research.duckdb next to the indicator values."""
    rows = [
        {"indicator_id": i, "code": c, "measure": m, "age_group": a, "baseline_year": 2017, "baseline_published": None,
         "baseline_computed": b, "latest_year": 2022, "latest_value": latest, "target_value": t, "target_year": 2025,
         "target_rule": None, "direction": "down", "needed_change": t - latest, "status": st, "projection_value": pr,
         "projection_slope": None, "projection_years": 5, "run_id": "test-run", "catalogue_version": "test"}  # fmt: skip
        for i, c, m, a, b, latest, t, pr, st in TP_ROWS
    ]
    (marts / "target_progress").mkdir(parents=True)
    pl.DataFrame(rows, schema=TP_SCHEMA).write_parquet(marts / "target_progress" / "part-0.parquet")
    (marts / "data_quality").mkdir(parents=True)
    pl.DataFrame(
        {"kind": ["register"], "source": ["bef"], "year": [2020], "file": ["bef_2020.csv"], "metric": ["rows_read"],
         "value": [10], "status": ["info"], "run_id": ["test-run"], "catalogue_version": ["test"]}  # fmt: skip
    ).write_parquet(marts / "data_quality" / "part-0.parquet")
    build_research_db(marts, load_catalogue())


def run_notebook(path: Path, marts: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PSYK_MARTS_DIR", str(marts))  # the kernel inherits the environment
        NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, nbformat.NotebookNode]:
    """Every notebook, executed once against the hand-built marts."""
    marts = tmp_path_factory.mktemp("notebooks") / "marts"
    write_marts(marts)
    write_research_file(marts)
    return {path.stem: run_notebook(path, marts) for path in NOTEBOOKS}


def _stream_text(nb: nbformat.NotebookNode) -> str:
    return "".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
        if out.output_type == "stream"
    )


def _images(nb: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in out.get("data", {})
        for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ holds no notebook"


def pipeline_marts(tmp: Path) -> Path:
    """Synthetic registers (a few hundred persons, 2018-2020) through every asset up to research_db."""
    from pipeline.definitions import build_defs
    from pipeline.synth import generate

    s = Settings(
        raw_dir=tmp / "raw", warehouse=tmp / "warehouse.duckdb", marts_dir=tmp / "marts",
        exports_dir=tmp / "exports", years=parse_years("2018-2020"),
    )  # fmt: skip
    generate(out_dir=s.raw_dir, scale=0.0003, years=s.years, seed=7, progress=False)
    defs = build_defs(s)
    result = dg.materialize(
        list(defs.assets),
        selection=dg.AssetSelection.assets("research_db").upstream(),
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
        tags={"dagster/asset_partition_range_start": "2018", "dagster/asset_partition_range_end": "2020"},
    )
    assert result.success
    return s.marts_dir


@pytest.fixture(scope="module")
def executed_on_pipeline_marts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, nbformat.NotebookNode]:
    marts = pipeline_marts(tmp_path_factory.mktemp("pipeline"))
    return {path.stem: run_notebook(path, marts) for path in NOTEBOOKS}


@pytest.mark.parametrize("name", [p.stem for p in NOTEBOOKS])
def test_notebook_runs_on_pipeline_marts(name: str, executed_on_pipeline_marts: dict[str, nbformat.NotebookNode]) -> None:
    # execution errors raise inside the fixture (nbclient's CellExecutionError names the cell)
    assert _images(executed_on_pipeline_marts[name]) >= 1, "a notebook answering with figures shows at least one"


def test_readmission_notebook_finds_the_councils_that_moved(executed: dict[str, nbformat.NotebookNode]) -> None:
    nb = executed["readmission_by_health_council"]
    text = _stream_text(nb)
    assert "Denmark: 20.0 % before, 20.0 % after, change +0.0 pp" in text
    assert "Largest rise: Sundhedsråd Aarhus (+10.0 pp, 20.0 % -> 30.0 %)" in text
    assert "Largest fall: Sundhedsråd Fyn (-10.0 pp, 20.0 % -> 10.0 %)" in text
    assert (
        "Councils whose change differs from Denmark's: 2 of 15 with at least 20 admissions in each period: "
        "Sundhedsråd Aarhus; Sundhedsråd Fyn"
    ) in text
    assert "Too few admissions to judge: Sundhedsråd Byen (København og Amager)" in text
    assert "Not comparable (no admissions before or after 2019): Sundhedsråd Sjælland Syd" in text
    assert "Admissions with no health council (residence unknown), in Denmark's figures only: 30 before, 30 after" in text
    assert _images(nb) == 3


def test_targets_notebook_reads_the_research_file(executed: dict[str, nbformat.NotebookNode]) -> None:
    nb = executed["targets_from_research_db"]
    text = _stream_text(nb)
    assert "Targets achieved or on track: 2 of 3 (target x age group)" in text
    assert "achieved: P4 (children)\non_track: P2 (all)\noff_track: P4 (adults)\n" in text
    assert "N1" not in text  # a Nationale mål indicator, not a 2025 target
    assert _images(nb) == 1
