"""Every notebook in notebooks/ runs top to bottom (nbclient) against marts built in tmp_path.

The marts here are hand-built in the documented shape (docs/architecture.md, `marts.indicator_values`
as Parquet, one file per year) with values chosen so the expected answers are known: every health
council has 200 readmissions per 1000 admissions (20 %) except Aarhus (30 % from 2019) and Fyn (10 %
from 2019); Sjælland Syd has no admissions before 2019, Byen only 5 a year (1 readmitted), and 10
admissions a year (2 readmitted) have no council. Denmark stays at exactly 20 % before and after.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import polars as pl
import pytest
from nbclient import NotebookClient

from pipeline.config import PROJECT_ROOT

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


@pytest.mark.parametrize("name", [p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_shows_figures(name: str, executed: dict[str, nbformat.NotebookNode]) -> None:
    # execution errors raise inside the fixture (nbclient's CellExecutionError names the cell)
    assert _images(executed[name]) >= 1, "a notebook that answers a question with figures shows at least one"


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
