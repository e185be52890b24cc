"""The yearly status report: `pipeline report --year 2025` and the engine behind the `status_report` asset.

What belongs here: reading the marts for a report year, applying disclosure control
(`pipeline.disclosure`) to every exported table, and writing `<exports>/<year>/`: the XLSX workbook
(one sheet per indicator, a target overview and a method sheet from the catalogue), the same tables
as CSV, the figures (`pipeline.figures`) and one HTML page (template in `pipeline/templates/`).
What does not: computing values (marts), deciding what is small (disclosure), drawing (figures).

Nothing unsuppressed leaves this module: every table is built from the suppressed values, and hidden
cells are written as "[x]". The folder is written next to the old one and renamed into place, so a
failed run leaves the previous report intact.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import multiprocessing
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import polars as pl
import xlsxwriter

from pipeline import figures
from pipeline.config import PROJECT_ROOT, Settings
from pipeline.db import table_exists
from pipeline.disclosure import DEFAULT_THRESHOLD, HIDDEN_COLUMNS, suppress_small_cells

LOG = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
SQL = TEMPLATES / "sql"
MARK = "[x]"
LEGEND = (
    f"{MARK} = hidden by disclosure control: a count of 1 to {{t1}}, a value whose numerator or denominator "
    "is 1 to {t1}, or a cell that would let such a count be recovered from a total. Zeros are shown."
)
NON_ADDITIVE_NOTE = (
    "Regional person counts: a person with measures in two regions counts in each, so the regions can "
    "sum to more than the national total."
)
BREAK_FLAGS = ("lpr3_break", "sei2_break", "lup_digital_break")
LEVEL_ORDER = ["national", "region", "region2027", "sundhedsraad", "kom", "reporting_region"]
TABLE_COLUMNS = [
    "measure", "year", "breakdown_level", "breakdown_key", "area", "sex", "age_group",
    "numerator", "denominator", "value", "ci_low", "ci_high", "std_value", "unit", "flags",
]
OVERVIEW_COLUMNS = [
    "code", "indicator_id", "name_en", "measure", "age_group", "direction", "baseline_year",
    "baseline_published", "baseline_computed", "latest_year", "latest_value", "target_value",
    "target_year", "needed_change", "status", "projection_value",
]
PROVENANCE_COLUMNS = ("run_id", "catalogue_version", "data_version")
# Processes drawing the figures while the main one writes the tables (the machine has two cores).
FIGURE_WORKERS = 1
# target_progress column -> the mask saying it restates (or could be solved back to) a hidden value
PROGRESS_MASKS = {
    "latest_value": "hidden_latest",
    "needed_change": "hidden_latest",
    "baseline_computed": "hidden_baseline",
    "projection_value": "hidden_projection",
    "projection_slope": "hidden_projection",
}


@dataclass
class Sheet:
    """One exported table: a sheet of the workbook and one CSV file."""

    name: str
    title: str
    frame: pl.DataFrame
    masks: dict[str, pl.Series] = field(default_factory=dict)  # column -> rows written as [x]
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of_values(cls, name: str, title: str, rows: pl.DataFrame, notes: list[str]) -> Sheet:
        """A table of suppressed indicator values: a hidden row hides all its HIDDEN_COLUMNS."""
        frame = rows.select([c for c in TABLE_COLUMNS if c in rows.columns])
        hidden = rows.get_column("suppressed").is_not_null()
        return cls(name, title, frame, {c: hidden for c in frame.columns if c in HIDDEN_COLUMNS}, notes)


@dataclass
class ReportResult:
    folder: Path
    workbook: Path
    html: Path
    csv_files: list[Path]
    figure_files: list[Path]
    rows: int
    hidden_cells: int
    synthetic: bool
    table_rows: int = 0  # rows of the exported tables (every sheet / CSV file, header lines not counted)


# --- inputs -----------------------------------------------------------------------------------------


def _query(con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
    sql = (SQL / name).read_text(encoding="utf-8")
    return con.sql(sql, params=dict(params or {}) or None).pl()


def load_inputs(
    con: duckdb.DuckDBPyConnection, year: int, marts_dir: Path | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(indicator values up to `year`, target progress, geography), unsuppressed.

    The warehouse marts are read; where the warehouse has no `marts.indicator_values`, the Parquet
    marts under `marts_dir` are.
    """
    if table_exists(con, "marts", "indicator_values"):
        values = _query(con, "indicator_values.sql", {"year": year})
    else:
        files = sorted(str(p) for p in (marts_dir or Path("/nonexistent")).glob("indicator_values/year=*/*.parquet"))
        if not files:
            raise FileNotFoundError("no marts.indicator_values in the warehouse and no Parquet marts in " f"{marts_dir}")
        values = _query(con, "indicator_values_parquet.sql", {"files": files, "year": year})
    progress = _query(con, "target_progress.sql") if table_exists(con, "marts", "target_progress") else pl.DataFrame()
    geography = _query(con, "geography.sql") if table_exists(con, "ref", "geography") else pl.DataFrame()
    values = values.with_columns(pl.col("breakdown_key").cast(pl.Utf8), pl.col("year").cast(pl.Int64))
    return values, progress, geography


# --- suppressed tables ------------------------------------------------------------------------------


def area_names(geography: pl.DataFrame) -> pl.DataFrame:
    """breakdown_level, breakdown_key -> display name (from ref.geography)."""
    frames = [pl.DataFrame({"breakdown_level": ["national"], "breakdown_key": [None], "area": ["Danmark"]},
                           schema={"breakdown_level": pl.Utf8, "breakdown_key": pl.Utf8, "area": pl.Utf8})]
    pairs = [("region", "region_code", "region_name"), ("reporting_region", "region_code", "region_name"),
             ("region2027", "region2027_code", "region2027_name"),
             ("sundhedsraad", "sundhedsraad_code", "sundhedsraad_name"), ("kom", "kom", "kom_navn")]
    if not geography.is_empty():
        for level, code, name in pairs:
            frames.append(geography.select(pl.lit(level).alias("breakdown_level"),
                                           pl.col(code).cast(pl.Utf8).alias("breakdown_key"),
                                           pl.col(name).cast(pl.Utf8).alias("area")).unique())
    return pl.concat(frames)


def with_area(values: pl.DataFrame, geography: pl.DataFrame) -> pl.DataFrame:
    names = area_names(geography)
    national = names.filter(pl.col("breakdown_level") == "national").drop("breakdown_key")
    out = values.join(names.filter(pl.col("breakdown_level") != "national"), on=["breakdown_level", "breakdown_key"], how="left")
    out = out.join(national.rename({"area": "_nat"}), on="breakdown_level", how="left")
    return out.with_columns(pl.coalesce("area", "_nat", "breakdown_key").alias("area")).drop("_nat")


def _sorted(values: pl.DataFrame) -> pl.DataFrame:
    order = {lvl: i for i, lvl in enumerate(LEVEL_ORDER)}
    return values.with_columns(
        pl.col("breakdown_level").replace_strict(order, default=len(order)).alias("_lvl"),
        (pl.col("sex") != "all").alias("_sx"),
        (pl.col("age_group") != "all").alias("_ag"),
    ).sort(["measure", "year", "_lvl", "breakdown_key", "_sx", "sex", "_ag", "age_group"], nulls_last=True).drop(
        "_lvl", "_sx", "_ag"
    )


def indicator_sheet_rows(suppressed: pl.DataFrame, indicator_id: str, year: int) -> pl.DataFrame:
    """The report year's rows of one indicator (every breakdown and split) and the national rows of
    the earlier years (the data behind the target figure), suppressed."""
    rows = suppressed.filter(
        (pl.col("indicator_id") == indicator_id)
        & ((pl.col("year") == year) | (pl.col("breakdown_level") == "national"))
    )
    return _sorted(rows)


def non_additive_measures(values: pl.DataFrame) -> set[tuple[str, str]]:
    """(indicator, measure) whose breakdown levels sum to more than national (regional person counts).

    Decided on the counts of the unsuppressed table; only the fact is reported, not the amounts.
    """
    base = values.filter((pl.col("sex") == "all") & (pl.col("age_group") == "all"))
    count = pl.coalesce(pl.col("numerator").cast(pl.Float64), pl.col("value").cast(pl.Float64))
    nat = base.filter(pl.col("breakdown_level") == "national").select(
        "indicator_id", "measure", "year", count.alias("_nat"))
    parts = base.filter(pl.col("breakdown_level") != "national").group_by(
        "indicator_id", "measure", "year", "breakdown_level").agg(count.sum().alias("_sum"))
    over = parts.join(nat, on=["indicator_id", "measure", "year"]).filter(pl.col("_sum") > pl.col("_nat") + 1e-9)
    return {(r[0], r[1]) for r in over.select("indicator_id", "measure").unique().iter_rows()}


def suppress_progress(progress: pl.DataFrame, suppressed: pl.DataFrame) -> pl.DataFrame:
    """Target progress with every number hidden that restates (or, for the projection, could be
    solved back to) a hidden national value. Adds `hidden_latest`, `hidden_baseline`, `hidden_projection`."""
    if progress.is_empty():
        return progress
    cells = suppressed.filter((pl.col("breakdown_level") == "national") & (pl.col("sex") == "all")).select(
        "indicator_id", "measure", "age_group", "year", pl.col("suppressed").is_not_null().alias("_hidden"))
    p = progress.with_row_index("_row")

    def hidden_at(year_col: str, alias: str) -> pl.DataFrame:
        return p.select("_row", "indicator_id", "measure", "age_group", pl.col(year_col).cast(pl.Int64).alias("year")).join(
            cells, on=["indicator_id", "measure", "age_group", "year"], how="left"
        ).select("_row", (pl.col("_hidden").fill_null(True) & pl.col("year").is_not_null()).alias(alias))

    # the projection is a linear fit over the last five years: one hidden input could be solved back;
    # a year missing from the table counts as hidden (it may lie beyond the report year)
    window = p.select("_row", "indicator_id", "measure", "age_group", pl.col("latest_year").cast(pl.Int64).alias("_ly")).join(
        cells, on=["indicator_id", "measure", "age_group"], how="left"
    ).filter((pl.col("year") > pl.col("_ly") - 5) & (pl.col("year") <= pl.col("_ly"))).group_by("_row").agg(
        pl.col("_hidden").any().alias("hidden_projection"))
    out = (
        p.join(hidden_at("latest_year", "hidden_latest"), on="_row", how="left")
        .join(hidden_at("baseline_year", "hidden_baseline"), on="_row", how="left")
        .join(window, on="_row", how="left")
        .with_columns(pl.col("hidden_latest", "hidden_baseline").fill_null(False), pl.col("hidden_projection").fill_null(True))
        .with_columns(pl.col("hidden_projection") | pl.col("hidden_latest"))
    )
    return out.with_columns(
        [pl.when(pl.col(flag)).then(None).otherwise(pl.col(c)).alias(c) for c, flag in PROGRESS_MASKS.items()
         if c in out.columns]
    ).sort("_row").drop("_row")


# --- catalogue helpers ------------------------------------------------------------------------------


def _spec_attr(spec: Any, name: str, default: Any = None) -> Any:
    if spec is None:
        return default
    if isinstance(spec, Mapping):
        return spec.get(name, default)
    return getattr(spec, name, default)


def method_rows(catalogue: Mapping[str, Any]) -> pl.DataFrame:
    """The method appendix as a table: one row per catalogue entry."""
    rows = []
    for ind_id, spec in catalogue.items():
        measures = _spec_attr(spec, "measures", ()) or ()
        baseline, target = _spec_attr(spec, "baseline"), _spec_attr(spec, "target")
        rows.append({
            "code": str(_spec_attr(spec, "code", "")),
            "indicator_id": ind_id,
            "version": str(_spec_attr(spec, "version", "")),
            "name_da": str(_spec_attr(spec, "name_da", "")),
            "name_en": str(_spec_attr(spec, "name_en", "")),
            "definition": str(_spec_attr(spec, "definition", "")).strip(),
            "parameters": "; ".join(f"{k} = {v}" for k, v in (_spec_attr(spec, "parameters", {}) or {}).items()),
            "measures": "; ".join(
                f"{_spec_attr(m, 'id')} ({_spec_attr(m, 'kind')}, {_spec_attr(m, 'unit')})" for m in measures),
            "breakdowns": ", ".join(_spec_attr(spec, "breakdowns", ()) or ()),
            "source_registers": ", ".join(_spec_attr(spec, "source_registers", ()) or ()),
            "direction": str(_spec_attr(spec, "direction", "")),
            "baseline": _describe(baseline, ("year", "published", "source")),
            "target": _describe(target, ("year", "value", "rule")),
            "flags": ", ".join(str(_spec_attr(f, "name", f)) for f in (_spec_attr(spec, "flags", ()) or ())),
        })
    return pl.DataFrame(rows, schema={k: pl.Utf8 for k in rows[0]}) if rows else pl.DataFrame()


def _describe(obj: Any, keys: Sequence[str]) -> str:
    if obj is None:
        return ""
    return "; ".join(f"{k}: {_spec_attr(obj, k)}" for k in keys if _spec_attr(obj, k) is not None)


def headline_measure(spec: Any, values: pl.DataFrame, indicator_id: str) -> str | None:
    measures = _spec_attr(spec, "measures", ()) or ()
    if measures:
        return str(_spec_attr(measures[0], "id"))
    present = values.filter(pl.col("indicator_id") == indicator_id).get_column("measure").unique().sort().to_list()
    return present[0] if present else None


# --- writers ----------------------------------------------------------------------------------------


def _cell_lists(sheet: Sheet) -> list[list[Any]]:
    """Column-wise values with hidden cells replaced by the marker."""
    cols = []
    for name in sheet.frame.columns:
        values = sheet.frame.get_column(name).to_list()
        if name in sheet.masks:
            values = [MARK if h else v for v, h in zip(values, sheet.masks[name].to_list(), strict=True)]
        cols.append(values)
    return cols


def write_workbook(path: Path, sheets: Sequence[Sheet], legend: str) -> None:
    wb = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True})
    try:
        bold = wb.add_format({"bold": True})
        note = wb.add_format({"italic": True, "font_color": "#555555"})
        for sheet in sheets:
            ws = wb.add_worksheet(sheet.name[:31])
            ws.write(0, 0, sheet.title, bold)
            ws.write(1, 0, legend, note)
            for i, text in enumerate(sheet.notes):
                ws.write(2 + i, 0, text, note)
            header = 3 + len(sheet.notes)
            ws.write_row(header, 0, sheet.frame.columns, bold)
            for j, values in enumerate(_cell_lists(sheet)):
                ws.write_column(header + 1, j, values)
            ws.freeze_panes(header + 1, 0)
    finally:
        wb.close()


def write_csv(path: Path, sheet: Sheet) -> None:
    frame = sheet.frame.with_columns(
        [pl.when(mask).then(pl.lit(MARK)).otherwise(pl.col(c).cast(pl.Utf8)).alias(c) for c, mask in sheet.masks.items()]
    )
    frame.write_csv(path)


def git_commit(root: Path = PROJECT_ROOT) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def provenance(values: pl.DataFrame, commit: str | None) -> dict[str, str]:
    """The run ids, catalogue versions and data versions of the rows behind a figure or table."""
    out = {}
    for c in PROVENANCE_COLUMNS:
        found = sorted({str(v) for v in values.get_column(c).drop_nulls().unique().to_list()}) if c in values.columns else []
        out[c] = ", ".join(found) or "unknown"
    out["git_commit"] = commit or "unknown"
    return out


def _footer(prov: Mapping[str, str]) -> str:
    return " | ".join(f"{k} {v}" for k, v in prov.items())


def series_breaks(rows: pl.DataFrame) -> dict[int, list[str]]:
    """Year -> break flags starting in that year (the first year of each run of a flag)."""
    flagged = rows.select("year", pl.col("flags").fill_null("").str.split(",").alias("flag")).explode("flag")
    flagged = flagged.filter(pl.col("flag").str.strip_chars().is_in(list(BREAK_FLAGS))).with_columns(
        pl.col("flag").str.strip_chars()).unique().sort("year")
    firsts = flagged.sort("flag", "year").filter((pl.col("year").diff().over("flag") != 1).fill_null(True)).select(
        "year", "flag").sort("year", "flag")
    out: dict[int, list[str]] = {}
    for y, f in firsts.iter_rows():
        out.setdefault(int(y), []).append(f)
    return out


def _img(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


# --- the report -------------------------------------------------------------------------------------


def write_status_report(
    con: duckdb.DuckDBPyConnection,
    year: int,
    exports_dir: Path,
    raw_dir: Path | None = None,
    marts_dir: Path | None = None,
    catalogue: Mapping[str, Any] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    commit: str | None = None,
) -> ReportResult:
    """Write `<exports_dir>/<year>/` (workbook, CSV, figures, HTML) and return what was written."""
    return write_status_reports(con, [year], exports_dir, raw_dir, marts_dir, catalogue, threshold, commit)[0]


def write_status_reports(
    con: duckdb.DuckDBPyConnection,
    years: Sequence[int],
    exports_dir: Path,
    raw_dir: Path | None = None,
    marts_dir: Path | None = None,
    catalogue: Mapping[str, Any] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    commit: str | None = None,
) -> list[ReportResult]:
    """The reports of several years from one suppression pass (tables are suppressed independently,
    so suppressing up to the last year once gives every year exactly what it would get alone)."""
    inputs = load_report_inputs(con, years, marts_dir)
    return render_status_reports(inputs, years, exports_dir, raw_dir, catalogue, threshold, commit)


@dataclass
class ReportInputs:
    """Everything a report reads from the warehouse / marts, read once (unsuppressed)."""

    values: pl.DataFrame
    progress: pl.DataFrame
    geography: pl.DataFrame


def load_report_inputs(con: duckdb.DuckDBPyConnection, years: Sequence[int], marts_dir: Path | None = None) -> ReportInputs:
    """Read the marts for the reports of `years` (one read; the connection is free afterwards)."""
    values, progress, geography = load_inputs(con, max(years), marts_dir)
    return ReportInputs(values, progress, geography)


def disclosure_cache_dir(warehouse: Path) -> Path:
    """Where the asset and the command line keep the disclosure cache: beside the warehouse file, not
    under the exports (those are handed on; the cache tells primary from secondary hidden cells, so it
    is as confidential as the marts)."""
    return Path(warehouse).parent / ".cache" / "disclosure"


def render_status_reports(
    inputs: ReportInputs,
    years: Sequence[int],
    exports_dir: Path,
    raw_dir: Path | None = None,
    catalogue: Mapping[str, Any] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    commit: str | None = None,
    cache_dir: Path | None = None,
    workers: int = 0,
) -> list[ReportResult]:
    """Suppress and write the reports of `years` from inputs already read (no database needed).

    `cache_dir`: the disclosure cache (`suppress_small_cells`); None computes every table. `workers`:
    processes that draw the figures while this one writes the workbook and the CSV files (0: all here,
    one after the other). The output is the same either way."""
    if catalogue is None:
        from pipeline.catalogue import load_catalogue  # the catalogue is optional for tests

        catalogue = load_catalogue()
    values, progress, geography = inputs.values, inputs.progress, inputs.geography
    present = set(values.get_column("year").unique().to_list())
    missing = sorted(set(years) - present)
    if missing:
        raise ValueError(f"the marts have no indicator values for {', '.join(map(str, missing))}")
    # started first: the workers import matplotlib while this process suppresses
    pool = _figure_pool(workers) if workers > 0 else None
    try:
        suppressed = with_area(suppress_small_cells(values, threshold=threshold, geography=geography,
                                                    cache_dir=cache_dir), geography)
        commit = commit if commit is not None else git_commit()
        synthetic = bool(raw_dir and (raw_dir / "_synthetic.json").exists())
        return [
            _write_year(year, values.filter(pl.col("year") <= year), suppressed.filter(pl.col("year") <= year),
                        progress, exports_dir, catalogue, threshold, commit, synthetic, pool)
            for year in sorted(years)
        ]
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _figure_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes for the figures (spawned: nothing of this process's threads is inherited).

    A spawned process normally runs the caller's main script again (as `__mp_main__`): a script that
    runs the pipeline without an `if __name__ == "__main__":` guard would then run it a second time in
    the worker. The workers need nothing from the main script (they draw with `pipeline.figures`), so
    they are started while `__main__` is an empty module (`_no_main_script`); all of them start here,
    with the warm-up jobs (a pool starts a process per job until it has `workers`)."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    with _no_main_script():
        for _ in range(workers):
            pool.submit(figures.warm)
    return pool


@contextmanager
def _no_main_script() -> Iterator[None]:
    """`__main__` as an empty module for a moment: processes spawned meanwhile do not run the main script."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


@dataclass
class FigureJob:
    """One figure of the report: what `figures.draw` is called with, and what the HTML says about it."""

    kind: str
    caption: str
    prov: dict[str, str]
    draw: str
    args: tuple


def draw_figures(jobs: Sequence[FigureJob], pool: ProcessPoolExecutor | None,
                 while_drawing: Any = None) -> list[list[Path]]:
    """The files of each job, in job order. With a pool, the jobs go to the workers, `while_drawing()`
    runs here meanwhile, and then this process draws the jobs no worker has started yet. A figure that
    fails fails the report, naming the figure. A pool broken before it got a job (its workers could not
    start) draws nothing: everything is drawn here, with a warning."""
    if pool is None:
        if while_drawing is not None:
            while_drawing()
        return [_draw_here(job) for job in jobs]
    try:
        futures: list[Future] = [pool.submit(figures.draw, job.draw, job.args) for job in jobs]
    except BrokenProcessPool as exc:  # the workers did not start (e.g. a __main__ spawn cannot re-import)
        LOG.warning("status report: the figure workers did not start (%s); drawing the figures here", exc)
        return draw_figures(jobs, None, while_drawing)
    try:
        if while_drawing is not None:
            while_drawing()
        out: list[list[Path] | None] = [None] * len(jobs)
        for i in reversed(range(len(jobs))):  # the last jobs are the ones the workers reach last
            if futures[i].cancel():
                out[i] = _draw_here(jobs[i])
        for i, (job, fut) in enumerate(zip(jobs, futures, strict=True)):
            if out[i] is None:
                try:
                    out[i] = fut.result()
                except Exception as exc:
                    raise RuntimeError(f"status report: figure {_figure_name(job)} failed in a worker process: "
                                       f"{type(exc).__name__}: {exc}") from exc
        return out  # type: ignore[return-value]
    finally:
        for fut in futures:
            fut.cancel()


def _draw_here(job: FigureJob) -> list[Path]:
    try:
        return figures.draw(job.draw, job.args)
    except Exception as exc:
        raise RuntimeError(f"status report: figure {_figure_name(job)} failed: {type(exc).__name__}: {exc}") from exc


def _figure_name(job: FigureJob) -> str:
    base = next((a for a in job.args if isinstance(a, Path)), None)
    return base.name if base is not None else job.kind


def _write_year(year: int, values: pl.DataFrame, suppressed: pl.DataFrame, progress: pl.DataFrame, exports_dir: Path,
                catalogue: Mapping[str, Any], threshold: int, commit: str | None, synthetic: bool,
                pool: ProcessPoolExecutor | None = None) -> ReportResult:
    progress_s = suppress_progress(progress, suppressed)
    final = exports_dir / str(year)
    work = exports_dir / f".{year}.partial"
    shutil.rmtree(work, ignore_errors=True)
    (work / "tables").mkdir(parents=True)
    (work / "figures").mkdir()

    legend = LEGEND.format(t1=threshold - 1)
    non_additive = non_additive_measures(values.filter(pl.col("year") == year))
    present = set(values.get_column("indicator_id").unique().to_list())
    indicator_ids = [i for i in catalogue if i in present]
    indicator_ids += sorted(present - set(indicator_ids))

    sheets: list[Sheet] = [overview_sheet(progress_s, catalogue, year)]
    jobs: list[list[FigureJob]] = []
    all_notes: list[list[str]] = []
    # each indicator's rows once (every step below starts by selecting one indicator)
    by_indicator = {key[0]: part for key, part in
                    suppressed.partition_by("indicator_id", as_dict=True, maintain_order=True).items()}
    for ind in indicator_ids:
        spec = catalogue.get(ind)
        rows = indicator_sheet_rows(by_indicator[ind], ind, year)
        notes = [NON_ADDITIVE_NOTE + f" (measure: {m})" for (i, m) in sorted(non_additive) if i == ind]
        code = _spec_attr(spec, "code", "")
        title = f"{code} {_spec_attr(spec, 'name_en', ind)}: {year} (earlier years: national only)".strip()
        sheets.append(Sheet.of_values(ind[:31], title, rows, notes))
        jobs.append(figure_jobs(by_indicator[ind], progress_s, spec, ind, year, work / "figures", commit))
        all_notes.append(notes)
    method = method_rows(catalogue)
    sheets.append(Sheet(name="method", title="Method appendix (from the indicator catalogue)", frame=method))

    workbook = work / f"status_report_{year}.xlsx"
    csv_files = [work / "tables" / f"{sheet.name}.csv" for sheet in sheets]

    def write_tables() -> None:
        write_workbook(workbook, sheets, legend)
        for sheet, path in zip(sheets, csv_files, strict=True):
            write_csv(path, sheet)
        (work / "tables" / "README.txt").write_text(legend + "\n" + NON_ADDITIVE_NOTE + "\n", encoding="utf-8")

    flat = [job for per in jobs for job in per]
    drawn = iter(draw_figures(flat, pool, while_drawing=write_tables))
    sections = []
    figure_files: list[Path] = []
    for ind, per, notes in zip(indicator_ids, jobs, all_notes, strict=True):
        figs = [{"kind": job.kind, "caption": job.caption, "files": next(drawn), "prov": job.prov} for job in per]
        figure_files += [p for f in figs for p in f["files"]]
        sections.append(indicator_section(by_indicator[ind], catalogue.get(ind), ind, year, figs, notes, commit))

    html = work / f"status_report_{year}.html"
    html.write_text(render_html(year, sheets[0], sections, method, legend, synthetic, threshold,
                                provenance(values.filter(pl.col("year") == year), commit)), encoding="utf-8")

    shutil.rmtree(final, ignore_errors=True)
    work.rename(final)
    relocate = lambda p: final / p.relative_to(work)  # noqa: E731
    hidden_cells = int(suppressed.get_column("suppressed").is_not_null().sum())
    return ReportResult(final, relocate(workbook), relocate(html), [relocate(p) for p in csv_files],
                        [relocate(p) for p in figure_files], suppressed.height, hidden_cells, synthetic,
                        sum(sheet.frame.height for sheet in sheets))


def overview_sheet(progress_s: pl.DataFrame, catalogue: Mapping[str, Any], year: int) -> Sheet:
    if progress_s.is_empty():
        return Sheet(name="targets", title=f"Target overview {year}: no target progress in the marts",
                     frame=pl.DataFrame({"note": ["no marts.target_progress"]}))
    names = pl.DataFrame({
        "indicator_id": list(catalogue),
        "code": [str(_spec_attr(s, "code", "")) for s in catalogue.values()],
        "name_en": [str(_spec_attr(s, "name_en", "")) for s in catalogue.values()],
    }, schema={"indicator_id": pl.Utf8, "code": pl.Utf8, "name_en": pl.Utf8})
    frame = progress_s.join(names, on="indicator_id", how="left")
    frame = frame.select([c for c in OVERVIEW_COLUMNS if c in frame.columns])
    # the overview hides single numbers, not rows: each hidden column has its own mask
    masks = {c: progress_s.get_column(f) for c, f in PROGRESS_MASKS.items() if c in frame.columns}
    title = f"Target overview {year} (national values; projection: linear trend over the last five years)"
    return Sheet(name="targets", title=title, frame=frame, masks=masks)


def indicator_figures(suppressed: pl.DataFrame, progress_s: pl.DataFrame, spec: Any, ind: str, year: int,
                      folder: Path, commit: str | None) -> list[dict[str, Any]]:
    """Every figure of one indicator drawn here: a target figure per target row, regions side by side, the P4 funnel."""
    jobs = figure_jobs(suppressed, progress_s, spec, ind, year, folder, commit)
    return [{"kind": job.kind, "caption": job.caption, "files": files, "prov": job.prov}
            for job, files in zip(jobs, draw_figures(jobs, None), strict=True)]


def figure_jobs(suppressed: pl.DataFrame, progress_s: pl.DataFrame, spec: Any, ind: str, year: int,
                folder: Path, commit: str | None) -> list[FigureJob]:
    """The figures of one indicator, not yet drawn (only suppressed rows go into them)."""
    out = []
    name = str(_spec_attr(spec, "name_en", ind))
    national = suppressed.filter((pl.col("indicator_id") == ind) & (pl.col("breakdown_level") == "national")
                                 & (pl.col("sex") == "all"))
    breaks = series_breaks(national)
    if not progress_s.is_empty():
        for t in progress_s.filter(pl.col("indicator_id") == ind).iter_rows(named=True):
            series = national.filter((pl.col("measure") == t["measure"]) & (pl.col("age_group") == t["age_group"]))
            if series.is_empty():
                continue
            prov = provenance(series, commit)
            base = folder / f"{ind}_{t['measure']}_{t['age_group']}_target"
            unit = str(series.get_column("unit").drop_nulls().first() or "")
            out.append(FigureJob("target", f"{name}: national series, {t['measure']}, age group "
                                 f"{t['age_group']}, with baseline, target and projection", prov, "target_figure",
                                 (series, t, f"{name} ({t['age_group']})", unit, breaks, base, _footer(prov))))
    measure = headline_measure(spec, suppressed, ind)
    cur = suppressed.filter((pl.col("indicator_id") == ind) & (pl.col("measure") == measure) & (pl.col("year") == year)
                            & (pl.col("sex") == "all") & (pl.col("age_group") == "all"))
    regions = cur.filter(pl.col("breakdown_level") == "region")
    if regions.is_empty():
        regions = cur.filter(pl.col("breakdown_level") == "reporting_region")
    regions27 = cur.filter(pl.col("breakdown_level") == "region2027")
    if not regions.is_empty() or not regions27.is_empty():
        prov = provenance(pl.concat([regions, regions27]), commit)
        unit = str(cur.get_column("unit").drop_nulls().first() or "")
        out.append(FigureJob("regions", f"{name}, {year}: regions before and from 2027, with 95 % CI", prov,
                             "regions_figure", (regions, regions27, f"{name}, {year} ({measure})", unit,
                                                folder / f"{ind}_{measure}_regions", _footer(prov))))
    if ind == "p4_genindlaeggelse" or _spec_attr(spec, "code") == "P4":
        councils = cur.filter(pl.col("breakdown_level") == "sundhedsraad")
        nat = cur.filter(pl.col("breakdown_level") == "national").get_column("value").to_list()
        if not councils.is_empty() and nat and nat[0] is not None:
            unit = str(cur.get_column("unit").drop_nulls().first() or "")
            prov = provenance(councils, commit)
            out.append(FigureJob("funnel", f"{name}, {year}: funnel plot of the health councils "
                                 "(95 % and 99.8 % limits around the national value)", prov, "funnel_figure",
                                 (councils, float(nat[0]), 100.0 if unit == "percent" else 1.0,
                                  f"{name}, {year}: health councils", folder / f"{ind}_{measure}_funnel",
                                  _footer(prov))))
    return out


def indicator_section(suppressed: pl.DataFrame, spec: Any, ind: str, year: int, figs: list[dict[str, Any]],
                      notes: list[str], commit: str | None) -> dict[str, Any]:
    """What the HTML shows for one indicator: figures and the report year's table down to health councils."""
    rows = _sorted(suppressed.filter(
        (pl.col("indicator_id") == ind) & (pl.col("year") == year) & (pl.col("sex") == "all")
        & (pl.col("age_group") == "all") & (pl.col("breakdown_level") != "kom")))
    cols = ["measure", "breakdown_level", "area", "numerator", "denominator", "value", "ci_low", "ci_high", "flags"]
    hidden = rows.get_column("suppressed").is_not_null().to_list()
    table = []
    for r, h in zip(rows.select(cols).iter_rows(), hidden, strict=True):
        table.append([MARK if (h and c in HIDDEN_COLUMNS) else _fmt(v) for c, v in zip(cols, r, strict=True)])
    breaks = series_breaks(suppressed.filter((pl.col("indicator_id") == ind) & (pl.col("breakdown_level") == "national")))
    return {
        "id": ind, "code": _spec_attr(spec, "code", ""), "name_da": _spec_attr(spec, "name_da", ""),
        "name_en": _spec_attr(spec, "name_en", ind), "version": _spec_attr(spec, "version", ""),
        "figures": [{"caption": f["caption"], "src": _img(f["files"][0]), "svg": f"figures/{f['files'][1].name}",
                     "prov": f["prov"]} for f in figs],
        "columns": cols, "rows": table, "notes": notes,
        "breaks": [f"{', '.join(v)} from {y}" for y, v in sorted(breaks.items())],
        "prov": provenance(suppressed.filter(pl.col("indicator_id") == ind), commit),
    }


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.2f}"
    return str(v)


def render_html(year: int, overview: Sheet, sections: list[dict[str, Any]], method: pl.DataFrame, legend: str,
                synthetic: bool, threshold: int, prov: Mapping[str, str]) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined)
    cells = _cell_lists(overview)
    overview_rows = [[_fmt(c[i]) for c in cells] for i in range(overview.frame.height)]
    return env.get_template("status_report.html.j2").render(
        year=year, synthetic=synthetic, legend=legend, threshold=threshold, prov=prov,
        overview_columns=overview.frame.columns, overview_rows=overview_rows, overview_title=overview.title,
        sections=sections, method=method.to_dicts() if not method.is_empty() else [],
    )


# --- command line -----------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    s = Settings.from_env()
    parser.add_argument("--year", type=int, required=True, help="the report year, e.g. 2025")
    parser.add_argument("--warehouse", type=Path, default=s.warehouse, help=f"DuckDB warehouse (default {s.warehouse})")
    parser.add_argument("--marts-dir", type=Path, default=s.marts_dir, help=f"Parquet marts (default {s.marts_dir})")
    parser.add_argument("--exports-dir", type=Path, default=s.exports_dir, help=f"output root (default {s.exports_dir})")
    parser.add_argument("--raw-dir", type=Path, default=s.raw_dir,
                        help=f"raw extracts, only to detect synthetic data (default {s.raw_dir})")
    parser.add_argument("--threshold", type=int, default=DEFAULT_THRESHOLD,
                        help="smallest count shown (counts 1 to threshold-1 are hidden; default 5)")
    parser.add_argument("--no-cache", action="store_true",
                        help="suppress every table afresh (default: reuse .cache/disclosure beside the warehouse)")
    parser.add_argument("--workers", type=int, default=FIGURE_WORKERS,
                        help=f"processes drawing the figures meanwhile (0: none; default {FIGURE_WORKERS})")


def main(args: argparse.Namespace) -> int:
    if not Path(args.warehouse).exists():
        print(f"pipeline report: no warehouse at {args.warehouse}; run the pipeline first")
        return 2
    con = duckdb.connect(str(args.warehouse), read_only=True)
    try:  # read once, let go of the warehouse, then suppress and render
        inputs = load_report_inputs(con, [args.year], Path(args.marts_dir))
    except FileNotFoundError as exc:
        print(f"pipeline report: {exc}")
        return 2
    finally:
        con.close()
    try:
        cache = None if getattr(args, "no_cache", False) else disclosure_cache_dir(Path(args.warehouse))
        result = render_status_reports(inputs, [args.year], Path(args.exports_dir), Path(args.raw_dir),
                                       threshold=args.threshold, cache_dir=cache,
                                       workers=getattr(args, "workers", FIGURE_WORKERS))[0]
    except ValueError as exc:
        print(f"pipeline report: {exc}")
        return 2
    print(json.dumps({"folder": str(result.folder), "rows": result.rows, "hidden_rows": result.hidden_cells,
                      "figures": len(result.figure_files), "csv_files": len(result.csv_files),
                      "synthetic": result.synthetic}))
    return 0
