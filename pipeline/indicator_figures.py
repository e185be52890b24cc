"""The figure for indicator assets: an indicator's national headline series, for the Dagster UI.

What belongs here: computing an indicator's national headline values per year from its unit table
(through the shared aggregator, national level and headline measure only) and turning them into the
asset's materialisation metadata: a PNG (value, 95 % CI band, series breaks) embedded as a data URI
in a markdown entry, which the UI shows as an image under "[Show Markdown]". What does not: the
drawing itself (pipeline/figures.py, the status report's target figure, reused here), unit tables
(assets/indicators.py), the marts (assets/marts.py).

Only aggregated national values reach the figure (one value, interval and flags per year); no unit
row, person id or count below the national total. The series covers every year the unit table holds
(this run's years and those of earlier runs), computed from the unit table itself: one aggregation
pass at national level, so the figure never waits for the marts and never shows a stale mart value.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from pipeline.aggregate import UnitTableMissing, aggregate_indicator
from pipeline.catalogue import IndicatorSpec
from pipeline.db import table_exists
from pipeline.figures import target_figure

SERIES_COLUMNS = ["year", "numerator", "denominator", "value", "ci_low", "ci_high", "flags"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _years_computed(con: duckdb.DuckDBPyConnection, spec: IndicatorSpec) -> tuple[list[int], list[int]]:
    """(years with unit rows, years recorded as computed in meta.unit_years) of the indicator."""
    schema, table = spec.unit_table.split(".", 1)
    if not table_exists(con, schema, table):
        raise UnitTableMissing(f"{spec.unit_table} does not exist (indicator {spec.code} {spec.id})")
    with_units = [int(r[0]) for r in con.execute(f'select distinct year from "{schema}"."{table}"').fetchall()]
    recorded: list[int] = []
    if table_exists(con, "meta", "unit_years"):
        rows = con.execute("select distinct year from meta.unit_years where indicator_id = $i", {"i": spec.id})
        recorded = [int(r[0]) for r in rows.fetchall()]
    return sorted(set(with_units) | set(recorded)), recorded


def national_series(con: duckdb.DuckDBPyConnection, spec: IndicatorSpec) -> pl.DataFrame:
    """The headline measure at national level, all sexes and ages, for every year computed so far."""
    years, recorded = _years_computed(con, spec)
    values = aggregate_indicator(
        con, spec, years, recorded, levels=["national"], measures=[spec.headline.id]
    )
    return (
        values.filter((pl.col("sex") == "all") & (pl.col("age_group") == "all"))
        .select(SERIES_COLUMNS)
        .sort("year")
    )


def series_breaks(series: pl.DataFrame) -> dict[int, list[str]]:
    """Series breaks to mark: the first year of each run of years whose value carries a `*_break` flag."""
    breaks: dict[int, list[str]] = {}
    before: set[str] = set()
    for year, flags in zip(series["year"].to_list(), series["flags"].to_list(), strict=True):
        now = {f for f in (flags or "").split(",") if f.endswith("_break")}
        for name in sorted(now - before):
            breaks.setdefault(int(year), []).append(name)
        before = now
    return breaks


def series_png(spec: IndicatorSpec, series: pl.DataFrame) -> bytes:
    """The national series drawn by the status report's target figure (no baseline or target lines)."""
    measure = spec.headline
    title = f"{spec.code} {spec.name_en}: national, {measure.id}"
    with tempfile.TemporaryDirectory(prefix="indicator_figure_") as tmp:
        paths = target_figure(
            series.select("year", "value", "ci_low", "ci_high"),
            {},
            title,
            measure.unit,
            series_breaks(series),
            Path(tmp) / spec.id,
            footer="All sexes and ages. Band: 95 % interval. Dotted line: series break.",
            formats=("png",),  # the UI shows the PNG only: no SVG drawn for it
        )
        return paths[0].read_bytes()


def figure_markdown(spec: IndicatorSpec, png: bytes) -> str:
    """Markdown embedding the PNG as a data URI (what the Dagster UI renders as an image)."""
    data = base64.b64encode(png).decode("ascii")
    return f"![{spec.code} national series](data:image/png;base64,{data})"


def figure_metadata(con: duckdb.DuckDBPyConnection, spec: IndicatorSpec) -> dict[str, object]:
    """The indicator asset's figure metadata: the markdown image and the years it shows (aggregates only)."""
    series = national_series(con, spec)
    png = series_png(spec, series)
    return {
        "national_series_figure": dg.MetadataValue.md(figure_markdown(spec, png)),
        "national_series_years": dg.MetadataValue.text(
            ", ".join(str(y) for y in series["year"].to_list()) or "none"
        ),
    }
