"""The marts: indicator values, target progress, data quality, and the researchers' DuckDB file.

What belongs here: the mart assets and their checks, and the small functions they are made of —
turning unit tables into `marts.indicator_values` through the shared aggregator (pipeline/aggregate.py),
the year-partitioned Parquet copies (temp file + rename), provenance (run id, catalogue version, data
version), target progress with its linear-trend projection, the data-quality table, the researchers'
`research.duckdb` (views over the Parquet marts, comments on everything, rebuilt in a temp file and
renamed into place) and the target table text of the demo summary. What does not: who is in a unit
table (assets/indicators.py), disclosure control (pipeline/disclosure.py, exports).

Layout under the marts folder (PSYK_MARTS_DIR):
    indicator_values/year=YYYY/part-0.parquet   one file per year, replaced whole
    target_progress/part-0.parquet
    data_quality/part-0.parquet
    research.duckdb                             views over the files above, by absolute path
Columns are documented in docs/marts.md (and as comments inside research.duckdb).
"""


import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import numpy as np
import pandera.errors
import polars as pl
from dagster_duckdb import DuckDBResource

from pipeline.aggregate import VALUE_SCHEMA, UnitTableMissing, aggregate_indicator
from pipeline.catalogue import IndicatorSpec, catalogue_version, load_catalogue
from pipeline.db import run_sql_file, table_exists
from pipeline.partitions import SINGLE_RUN, YEARS, partition_years
from pipeline.resources import SettingsResource
from schemas.marts import DataQuality, IndicatorValues, TargetProgress

SQL_DIR = Path(__file__).resolve().parent / "sql" / "marts"
CATALOGUE = load_catalogue()
INDICATOR_KEYS = [dg.AssetKey(i) for i in CATALOGUE]
# Kinds whose numerator is a subset of the denominator (checked: numerator <= denominator).
PROPORTION_KINDS = frozenset({"share", "weighted_share", "std_share", "rate_per_1000"})
COUNT_KINDS = frozenset({"count", "distinct_persons"}) | PROPORTION_KINDS | {"ratio_of_counts"}
PROJECTION_POINTS = 5  # the linear trend uses the last five years with a value

IV_COLUMNS = [*VALUE_SCHEMA, "run_id", "catalogue_version", "data_version"]
TP_COLUMNS = list(TargetProgress.to_schema().columns)
DQ_COLUMNS = list(DataQuality.to_schema().columns)


# --- files ------------------------------------------------------------------------------------------


def write_parquet_atomic(df: pl.DataFrame, path: Path) -> None:
    """Write to a temporary file next to `path` and rename it into place (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.write_parquet(tmp)
    os.replace(tmp, path)


def partition_path(marts_dir: Path, year: int) -> Path:
    return Path(marts_dir) / "indicator_values" / f"year={year}" / "part-0.parquet"


def replace_year_partitions(df: pl.DataFrame, marts_dir: Path, years: Iterable[int]) -> dict[int, int]:
    """Replace the Parquet file of each given year with that year's rows; other years are untouched.

    A year without rows loses its file (the warehouse then has no rows for it either). Returns rows per year.
    """
    written = {}
    for year in sorted(set(years)):
        path = partition_path(marts_dir, year)
        part = df.filter(pl.col("year") == year)
        if part.height:
            write_parquet_atomic(part, path)
        elif path.exists():
            path.unlink()
        written[year] = part.height
    return written


# --- provenance -------------------------------------------------------------------------------------


def data_versions(con: duckdb.DuckDBPyConnection, years: Iterable[int]) -> dict[int, str | None]:
    """Per year: a hash of the input files loaded for it (latest load of each file in meta.load_log).

    A year's files are its yearly files plus the one-file registers (year NULL). None without a load log.
    """
    years = sorted(set(years))
    if not table_exists(con, "meta", "load_log"):
        return {y: None for y in years}
    rows = run_sql_file(con, SQL_DIR / "load_log_latest.sql")
    out: dict[int, str | None] = {}
    for y in years:
        files = sorted((r[0], r[2], r[3] or "") for r in rows if r[1] is None or r[1] == y)
        if not files:
            out[y] = None
            continue
        h = hashlib.sha256()
        for register, file, file_hash in files:
            h.update(f"{register}\0{file}\0{file_hash}\n".encode())
        out[y] = h.hexdigest()[:16]
    return out


# --- indicator values -------------------------------------------------------------------------------


def compute_indicator_values(
    con: duckdb.DuckDBPyConnection,
    catalogue: dict[str, IndicatorSpec],
    years: list[int],
    *,
    run_id: str,
    cat_version: str,
    log: Any = None,
    computed_years: dict[str, set[int]] | None = None,
) -> pl.DataFrame:
    """All value rows of every catalogue indicator for `years`, with provenance columns.

    `computed_years`: per indicator id, the years its unit asset has materialised (see aggregate_indicator).
    """
    frames = []
    computed_years = computed_years or {}
    for spec in catalogue.values():
        try:
            frames.append(aggregate_indicator(con, spec, years, computed_years.get(spec.id, set())))
        except UnitTableMissing as exc:  # the completeness check names the missing (indicator, year)s
            if log is not None:
                log.warning(str(exc))
    values = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=VALUE_SCHEMA)
    versions = data_versions(con, years)
    dv = pl.DataFrame(
        {"year": list(versions), "data_version": list(versions.values())},
        schema={"year": pl.Int32(), "data_version": pl.String()},
    )
    return (
        values.join(dv, on="year", how="left")
        .with_columns(run_id=pl.lit(run_id), catalogue_version=pl.lit(cat_version))
        .select(IV_COLUMNS)
    )


def unit_years(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """(indicator_id, year) pairs the indicator assets recorded as computed (meta.unit_years), if any."""
    if not table_exists(con, "meta", "unit_years"):
        return []
    rows = con.execute("select distinct indicator_id, year from meta.unit_years").fetchall()
    return [(str(i), int(y)) for i, y in rows]


def value_problems(df: pl.DataFrame, catalogue: dict[str, IndicatorSpec]) -> dict[str, int]:
    """Rows breaking the mart's value rules: numerator > denominator (proportions), negative counts."""
    kinds = pl.DataFrame(
        [(s.id, m.id, m.kind) for s in catalogue.values() for m in s.measures],
        schema={"indicator_id": pl.String(), "measure": pl.String(), "kind": pl.String()},
        orient="row",
    )
    d = df.join(kinds, on=["indicator_id", "measure"], how="left")
    over = d.filter(pl.col("kind").is_in(list(PROPORTION_KINDS)) & (pl.col("numerator") > pl.col("denominator")))
    negative = d.filter(
        pl.col("kind").is_in(list(COUNT_KINDS)) & ((pl.col("numerator") < 0) | (pl.col("denominator") < 0))
    )
    unknown = d.filter(pl.col("kind").is_null())
    return {
        "numerator_over_denominator": over.height,
        "negative_counts": negative.height,
        "measure_not_in_catalogue": unknown.height,
    }


def missing_indicator_years(
    actual: pl.DataFrame, catalogue: dict[str, IndicatorSpec], years: Iterable[int]
) -> pl.DataFrame:
    """Full outer join of expected and actual (indicator_id, year) pairs; rows where either side is missing.

    Expected: every catalogue indicator for every year of `years` it is defined in. `actual` holds the
    distinct pairs found in the mart. Column `problem`: `missing` or `not_expected`.
    """
    expected = pl.DataFrame(
        [(s.id, y) for s in catalogue.values() for y in s.years_in(sorted(set(years)))],
        schema={"indicator_id": pl.String(), "year": pl.Int32()},
        orient="row",
    ).with_columns(expected=pl.lit(True))
    act = actual.select(pl.col("indicator_id").cast(pl.String()), pl.col("year").cast(pl.Int32())).unique()
    act = act.filter(pl.col("year").is_in(sorted(set(years)))).with_columns(present=pl.lit(True))
    joined = expected.join(act, on=["indicator_id", "year"], how="full", coalesce=True)
    return (
        joined.filter(pl.col("expected").is_null() | pl.col("present").is_null())
        .with_columns(
            problem=pl.when(pl.col("present").is_null()).then(pl.lit("missing")).otherwise(pl.lit("not_expected"))
        )
        .select("indicator_id", "year", "problem")
        .sort("indicator_id", "year")
    )


def write_indicator_values(con: duckdb.DuckDBPyConnection, df: pl.DataFrame, years: list[int]) -> None:
    """Replace the given years of marts.indicator_values in one transaction."""
    run_sql_file(con, SQL_DIR / "create_marts.sql")
    con.register("_new_indicator_values", df.to_arrow())
    try:
        con.execute("begin transaction").fetchall()
        try:
            con.execute(
                "delete from marts.indicator_values where year in (select unnest($years))", {"years": years}
            ).fetchall()
            con.execute("insert into marts.indicator_values by name select * from _new_indicator_values").fetchall()
            con.execute("commit").fetchall()
        except Exception:
            con.execute("rollback").fetchall()
            raise
    finally:
        con.unregister("_new_indicator_values")


def validate_values(df: pl.DataFrame, catalogue: dict[str, IndicatorSpec], years: list[int]) -> list[str]:
    """Everything that must hold before a year is published; the problems found, as messages."""
    problems = []
    try:
        IndicatorValues.validate(df, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        problems.append(f"schema: {exc.failure_cases.height} failure case(s): {str(exc)[:500]}")
    problems += [f"{name}: {n} row(s)" for name, n in value_problems(df, catalogue).items() if n]
    gaps = missing_indicator_years(df, catalogue, years)
    if gaps.height:
        listed = ", ".join(f"{r['indicator_id']} {r['year']} ({r['problem']})" for r in gaps.head(20).to_dicts())
        problems.append(f"indicator years missing or unexpected: {gaps.height}: {listed}")
    return problems


# --- target progress --------------------------------------------------------------------------------


def _meets(value: float | None, target: float | None, direction: str) -> bool:
    if value is None or target is None:
        return False
    return value <= target if direction == "down" else value >= target


def _per_group(x: float | dict[str, float] | None, group: str) -> float | None:
    if isinstance(x, dict):
        return x.get(group)
    return x if group == "all" else None


def _target_groups(spec: IndicatorSpec) -> list[str]:
    t = spec.target
    if isinstance(t.value, dict):
        return list(t.value)
    # Half of a baseline that is computed (P2: "for each age group and the total") or published per
    # age group; a single published number (N2) sets a target for the total only.
    published = spec.baseline.published if spec.baseline else None
    by_age = published is None or isinstance(published, dict)
    if t.rule == "half_of_baseline" and by_age and "age_group" in spec.splits and spec.age_groups:
        return ["all", *spec.age_groups]
    return ["all"]


def linear_projection(years: list[int], values: list[float], to_year: int | None) -> tuple[float | None, float | None]:
    """Least-squares line through the points; (value at `to_year`, slope per year). None below 2 points."""
    if len(years) < 2:
        return None, None
    x = np.asarray(years, dtype=float)
    y = np.asarray(values, dtype=float)
    slope = float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())
    if to_year is None:
        return None, slope
    return float(y.mean() + slope * (to_year - x.mean())), slope


def target_progress_rows(
    values: pl.DataFrame, catalogue: dict[str, IndicatorSpec], *, run_id: str, cat_version: str
) -> pl.DataFrame:
    """One row per indicator with a target and per age group the target is split by (national level)."""
    rows = []
    national = values.filter(
        (pl.col("breakdown_level") == "national") & (pl.col("sex") == "all") & pl.col("value").is_not_null()
    )
    for spec in catalogue.values():
        if spec.target is None:
            continue
        measure = spec.headline.id
        for group in _target_groups(spec):
            series = (
                national.filter(
                    (pl.col("indicator_id") == spec.id) & (pl.col("measure") == measure) & (pl.col("age_group") == group)
                )
                .sort("year")
                .select("year", "value")
            )
            by_year = dict(zip(series["year"].to_list(), series["value"].to_list(), strict=True))
            rows.append(_progress_row(spec, measure, group, by_year) | {"run_id": run_id, "catalogue_version": cat_version})
    return pl.DataFrame(rows, schema=_tp_schema(), orient="row").select(TP_COLUMNS)


def _tp_schema() -> dict[str, pl.DataType]:
    ints = {"baseline_year", "latest_year", "target_year", "projection_years"}
    strs = {"indicator_id", "code", "measure", "age_group", "target_rule", "direction", "status", "run_id", "catalogue_version"}
    return {c: pl.Int32() if c in ints else pl.String() if c in strs else pl.Float64() for c in TP_COLUMNS}


def _progress_row(spec: IndicatorSpec, measure: str, group: str, by_year: dict[int, float]) -> dict[str, Any]:
    b, t = spec.baseline, spec.target
    baseline_published = _per_group(b.published, group) if b else None
    baseline_computed = None
    if b and all(y in by_year for y in b.years):
        baseline_computed = float(np.mean([by_year[y] for y in b.years]))
    target_value = _per_group(t.value, group)
    if target_value is None and t.rule == "half_of_baseline":
        base = baseline_published if baseline_published is not None else baseline_computed
        target_value = None if base is None else base / 2.0
    latest_year = max(by_year) if by_year else None
    latest_value = by_year[latest_year] if latest_year is not None else None
    recent = sorted(by_year)[-PROJECTION_POINTS:]
    projection, slope = linear_projection(recent, [by_year[y] for y in recent], t.year)
    if latest_value is None:
        status = "no_data"
    elif target_value is None:
        if t.rule != "direction_only" or slope is None:  # e.g. a baseline that cannot be computed
            status = "no_data"
        # direction only: judged by the sign of the trend
        elif slope is None:
            status = "no_data"
        else:
            status = "on_track" if (slope < 0 if spec.direction == "down" else slope > 0) else "off_track"
    elif _meets(latest_value, target_value, spec.direction):
        status = "achieved"
    elif t.year is not None and latest_year < t.year and _meets(projection, target_value, spec.direction):
        status = "on_track"
    else:
        status = "off_track"
    return {
        "indicator_id": spec.id,
        "code": spec.code,
        "measure": measure,
        "age_group": group,
        "baseline_year": b.year if b else None,
        "baseline_published": baseline_published,
        "baseline_computed": baseline_computed,
        "latest_year": latest_year,
        "latest_value": latest_value,
        "target_value": target_value,
        "target_year": t.year,
        "target_rule": t.rule,
        "direction": spec.direction,
        "needed_change": None if target_value is None or latest_value is None else target_value - latest_value,
        "status": status,
        "projection_value": projection,
        "projection_slope": slope,
        "projection_years": len(recent),
    }


# --- data quality -----------------------------------------------------------------------------------


def _rule_counts(rules: Any) -> dict[str, int]:
    if rules is None or rules == "":
        return {}
    parsed = json.loads(rules) if isinstance(rules, str) else rules
    if isinstance(parsed, dict):
        return {str(k): int(v) for k, v in parsed.items()}
    return {}


def data_quality_rows(
    con: duckdb.DuckDBPyConnection, catalogue: dict[str, IndicatorSpec], *, run_id: str, cat_version: str
) -> pl.DataFrame:
    """Per register file: rows read/staged/quarantined, quarantined per rule, conservation; per
    indicator and year: units, units in the denominator, units left out per exclusion reason."""
    out: list[dict[str, Any]] = []
    if table_exists(con, "meta", "load_log"):
        for register, year, file, read, staged, quarantined, rules in run_sql_file(
            con, SQL_DIR / "load_log_counts.sql"
        ):
            base = {"kind": "register", "source": register, "year": year, "file": file}
            read, staged, quarantined = int(read or 0), int(staged or 0), int(quarantined or 0)
            out += [
                base | {"metric": "rows_read", "value": read, "status": "info"},
                base | {"metric": "rows_staged", "value": staged, "status": "info"},
                base | {"metric": "rows_quarantined", "value": quarantined, "status": "info"},
                # rows lost or invented between reading and staging + quarantine (0 = conserved)
                base
                | {
                    "metric": "conservation_difference",
                    "value": read - staged - quarantined,
                    "status": "ok" if read == staged + quarantined else "fail",
                },
            ]
            out += [
                base | {"metric": f"quarantined:{rule}", "value": n, "status": "info"}
                for rule, n in sorted(_rule_counts(rules).items())
            ]
    for spec in catalogue.values():
        schema, table = spec.unit_table.split(".", 1)
        if not table_exists(con, schema, table):
            continue
        sql = (SQL_DIR / "unit_exclusions.sql").read_text(encoding="utf-8").replace(
            "{{unit_table}}", f'"{schema}"."{table}"'
        )
        for year, metric, n in con.execute(sql).fetchall():
            out.append(
                {"kind": "indicator", "source": spec.id, "year": year, "file": None, "metric": metric,
                 "value": int(n), "status": "info"}  # fmt: skip
            )
    schema = {
        "kind": pl.String(), "source": pl.String(), "year": pl.Int32(), "file": pl.String(),
        "metric": pl.String(), "value": pl.Int64(), "status": pl.String(),
    }  # fmt: skip
    df = pl.DataFrame(out, schema=schema, orient="row") if out else pl.DataFrame(schema=schema)
    return df.with_columns(run_id=pl.lit(run_id), catalogue_version=pl.lit(cat_version)).select(DQ_COLUMNS)


def replace_table(con: duckdb.DuckDBPyConnection, table: str, df: pl.DataFrame) -> None:
    """Replace a whole unpartitioned mart table in one transaction."""
    run_sql_file(con, SQL_DIR / "create_marts.sql")
    con.register("_new_rows", df.to_arrow())
    try:
        con.execute("begin transaction").fetchall()
        try:
            con.execute(f"delete from marts.{table}").fetchall()
            con.execute(f"insert into marts.{table} by name select * from _new_rows").fetchall()
            con.execute("commit").fetchall()
        except Exception:
            con.execute("rollback").fetchall()
            raise
    finally:
        con.unregister("_new_rows")


# --- researchers' DuckDB file -----------------------------------------------------------------------

COLUMN_DOCS: dict[str, dict[str, str]] = {
    "indicator_values": {
        "indicator_id": "Catalogue id of the indicator (see table indicators)",
        "indicator_version": "Version of the indicator's catalogue entry",
        "measure": "Measure id within the indicator (see table measures); the first measure is the headline",
        "year": "Indicator year",
        "breakdown_level": "national, region (2007-2026 regions), region2027, sundhedsraad, kom or reporting_region",
        "breakdown_key": "Key within the level: DK for national, else the region/municipality/health council code; unknown where the unit had none",
        "sex": "all (not split), male, female or unknown",
        "age_group": "all (not split) or the indicator's age group label (unknown = age not known)",
        "numerator": "Numerator: units in the numerator (shares, rates, counts), the sum of value (sum/mean/per_1000_residents) or observed deaths (smr)",
        "denominator": "Denominator: units in the denominator, residents on 1 January (per_1000_residents) or expected deaths (smr); NULL for plain counts",
        "value": "The value in the measure's unit (percent, count, persons, days, per_1000, ratio)",
        "ci_low": "Lower limit of the 95 % interval (Wilson for shares, exact Poisson for rates and ratios)",
        "ci_high": "Upper limit of the 95 % interval",
        "std_value": "Directly standardised value (std_share measures), else NULL",
        "unit": "Unit of value",
        "flags": "Comma-separated value flags (e.g. lpr3_break, small_denominator, incomplete_lookback)",
        "run_id": "Dagster run that computed the row",
        "catalogue_version": "Hash of the indicator catalogue files used",
        "data_version": "Hash of the input files loaded for the year (from the load log)",
    },
    "target_progress": {
        "indicator_id": "Catalogue id of the indicator",
        "code": "Indicator code (P1-P6, N1-N8, I1, I2)",
        "measure": "The headline measure the target is about",
        "age_group": "all or the age group the target is set for",
        "baseline_year": "Baseline year (the last year when the baseline is a mean over several years)",
        "baseline_published": "Baseline as published by the source",
        "baseline_computed": "Baseline computed from the data (mean over the baseline years)",
        "latest_year": "Latest year with a value",
        "latest_value": "Value in the latest year",
        "target_value": "Target value (given, or half the baseline for half_of_baseline targets)",
        "target_year": "Year the target is for",
        "target_rule": "half_of_baseline, direction_only (no number) or NULL for a given number",
        "direction": "down: lower is better; up: higher is better",
        "needed_change": "target_value - latest_value",
        "status": "achieved, on_track (the projection meets the target), off_track or no_data",
        "projection_value": "Linear-trend projection to the target year over the last five years with a value",
        "projection_slope": "Slope of that trend per year",
        "projection_years": "Number of years the trend is fitted over",
        "run_id": "Dagster run that computed the row",
        "catalogue_version": "Hash of the indicator catalogue files used",
    },
    "data_quality": {
        "kind": "register (a loaded file) or indicator (a unit table)",
        "source": "Register name or indicator id",
        "year": "File year (NULL for one-file registers) or indicator year",
        "file": "File name (registers only)",
        "metric": "rows_read, rows_staged, rows_quarantined, quarantined:<rule>, conservation_difference; units, units_in_denominator, excluded:<reason>",
        "value": "The count",
        "status": "ok / fail for conservation, info otherwise",
        "run_id": "Dagster run that computed the row",
        "catalogue_version": "Hash of the indicator catalogue files used",
    },
    "indicators": {
        "indicator_id": "Catalogue id",
        "code": "Indicator code",
        "version": "Catalogue entry version",
        "indicator_group": "target (2025 targets), nationale_maal or integration",
        "name_da": "Name in Danish",
        "name_en": "Name in English",
        "definition": "Population, numerator and exclusions in words",
        "source_registers": "Registers the indicator is computed from",
        "direction": "down: lower is better; up: higher is better",
        "breakdowns": "Breakdown levels computed",
        "splits": "Splits crossed with every breakdown",
        "age_groups": "Age group labels",
        "flags": "Value flags by year",
        "parameters": "Parameters (conventions) as JSON",
    },
    "measures": {
        "indicator_id": "Catalogue id",
        "measure": "Measure id",
        "position": "1 = headline measure",
        "kind": "How the aggregator computes it (share, weighted_share, count, ...; see docs/marts.md)",
        "unit": "Unit of value",
        "filter": "SQL predicate on the unit table narrowing the measure, or NULL",
        "strata": "Strata of direct standardisation",
        "standard_year": "Year of the standard population",
    },
}
TABLE_DOCS = {
    "indicator_values": "Indicator values per indicator, measure, year, breakdown and split (unsuppressed: stays on the research server)",
    "target_progress": "Progress towards the targets: baseline, latest value, target, status and linear projection",
    "data_quality": "Rows loaded and quarantined per register file, and units left out per indicator",
    "indicators": "The indicator catalogue",
    "measures": "The measures of each catalogue indicator",
}


def _lit(text: str) -> str:
    """A SQL string literal (DDL such as COMMENT and ATTACH takes no bound parameters)."""
    return "'" + str(text).replace("'", "''") + "'"


def catalogue_frames(catalogue: dict[str, IndicatorSpec]) -> tuple[pl.DataFrame, pl.DataFrame]:
    ind = pl.DataFrame(
        [
            {
                "indicator_id": s.id, "code": s.code, "version": s.version, "indicator_group": s.group,
                "name_da": s.name_da, "name_en": s.name_en, "definition": s.definition,
                "source_registers": ", ".join(s.source_registers), "direction": s.direction,
                "breakdowns": ", ".join(s.breakdowns), "splits": ", ".join(s.splits),
                "age_groups": ", ".join(s.age_groups), "flags": ", ".join(f.name for f in s.flags),
                "parameters": json.dumps(s.parameters, sort_keys=True, default=str),
            }  # fmt: skip
            for s in catalogue.values()
        ],
        schema={c: pl.Int64() if c == "version" else pl.String() for c in COLUMN_DOCS["indicators"]},
    )
    mea = pl.DataFrame(
        [
            {
                "indicator_id": s.id, "measure": m.id, "position": i + 1, "kind": m.kind, "unit": m.unit,
                "filter": m.filter, "strata": ", ".join(m.strata) or None, "standard_year": m.standard_year,
            }  # fmt: skip
            for s in catalogue.values()
            for i, m in enumerate(s.measures)
        ],
        schema={
            c: pl.Int64() if c in ("position", "standard_year") else pl.String() for c in COLUMN_DOCS["measures"]
        },
    )
    return ind, mea


def build_research_db(marts_dir: Path, catalogue: dict[str, IndicatorSpec], storage_version: str = "v1.5.0") -> Path:
    """Rebuild `<marts>/research.duckdb` in a temp file and rename it into place.

    Views read the Parquet marts by ABSOLUTE path, so the file works from any working directory (it
    must be rebuilt if the marts folder moves). The storage version is one DuckDB 1.5 can open.
    """
    marts_dir = Path(marts_dir).resolve()
    final = marts_dir / "research.duckdb"
    tmp = marts_dir / f".research.duckdb.{os.getpid()}.tmp"
    for p in (tmp, Path(str(tmp) + ".wal")):
        p.unlink(missing_ok=True)
    sources = {
        "indicator_values": marts_dir / "indicator_values" / "*" / "part-0.parquet",
        "target_progress": marts_dir / "target_progress" / "part-0.parquet",
        "data_quality": marts_dir / "data_quality" / "part-0.parquet",
    }
    ind, mea = catalogue_frames(catalogue)
    con = duckdb.connect()
    try:
        con.execute(f"attach {_lit(tmp)} as research (storage_version {_lit(storage_version)})").fetchall()
        for name, pattern in sources.items():
            if not list(pattern.parent.parent.glob(f"{pattern.parent.name}/{pattern.name}")):
                raise FileNotFoundError(f"no Parquet files for mart {name} under {pattern.parent}")
            con.execute(
                f"create view research.main.{name} as select * from read_parquet({_lit(pattern)}, hive_partitioning = false)"
            ).fetchall()
        for name, frame in (("indicators", ind), ("measures", mea)):
            con.register(f"_{name}", frame.to_arrow())
            con.execute(f"create table research.main.{name} as select * from _{name}").fetchall()
            con.unregister(f"_{name}")
        for name, cols in COLUMN_DOCS.items():
            kind = "view" if name in sources else "table"
            con.execute(f"comment on {kind} research.main.{name} is {_lit(TABLE_DOCS[name])}").fetchall()
            for col, doc in cols.items():
                con.execute(f"comment on column research.main.{name}.{col} is {_lit(doc)}").fetchall()
        con.execute("detach research").fetchall()
        con.close()
        os.replace(tmp, final)
    except BaseException:
        con.close()
        for p in (tmp, Path(str(tmp) + ".wal")):  # a failed rebuild leaves only the previous file
            p.unlink(missing_ok=True)
        raise
    return final


# --- demo summary -----------------------------------------------------------------------------------


def target_table_text(settings: Any) -> str:
    """The 2025 target table of the demo summary: indicator, age group, baseline -> latest -> target, status."""
    path = Path(settings.marts_dir) / "target_progress" / "part-0.parquet"
    if not path.exists():
        return "Target progress: not computed yet (no target_progress mart)."
    df = pl.read_parquet(path).sort("code", "age_group")

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    def yr(y: int | None) -> str:
        return "" if y is None else f" ({y})"

    lines = [f"{'indicator':<10}{'age group':<12}{'baseline -> latest -> target':<46}status"]
    for r in df.to_dicts():
        base = r["baseline_published"] if r["baseline_published"] is not None else r["baseline_computed"]
        target = num(r["target_value"]) if r["target_value"] is not None else (
            "falling" if r["direction"] == "down" else "rising"
        )
        span = f"{num(base)}{yr(r['baseline_year'])} -> {num(r['latest_value'])}{yr(r['latest_year'])} -> {target}{yr(r['target_year'])}"
        lines.append(f"{r['code']:<10}{r['age_group']:<12}{span:<46}{r['status']}")
    return "\n".join(lines)


# --- assets -----------------------------------------------------------------------------------------


def national_preview(df: pl.DataFrame, catalogue: dict[str, IndicatorSpec]) -> str:
    """Markdown table of each indicator's headline measure, national, all sexes and ages, by year.

    Aggregate values only (no person-level data); shown as asset metadata in the UI.
    """
    years = sorted(df["year"].unique().to_list())
    head = "| indicator | measure | " + " | ".join(map(str, years)) + " |"
    lines = [head, "|" + "---|" * (len(years) + 2)]
    national = df.filter(
        (pl.col("breakdown_level") == "national") & (pl.col("sex") == "all") & (pl.col("age_group") == "all")
    )
    for spec in catalogue.values():
        measure = spec.measures[0].id
        rows = national.filter((pl.col("indicator_id") == spec.id) & (pl.col("measure") == measure))
        by_year = {r["year"]: r["value"] for r in rows.iter_rows(named=True)}
        cells = [f"{by_year[y]:.1f}" if by_year.get(y) is not None else "–" for y in years]
        lines.append(f"| {spec.code} | {measure} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dg.asset(
    partitions_def=YEARS,
    backfill_policy=SINGLE_RUN,
    deps=INDICATOR_KEYS,
    pool="warehouse",
    group_name="marts",
    description="Indicator values (long table) per indicator, measure, year, breakdown and split; "
    "marts.indicator_values and one Parquet file per year.",
)
def indicator_values(context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: SettingsResource) -> None:
    years = partition_years(context)
    catalogue = load_catalogue()
    cat_version = catalogue_version()
    # Years each indicator asset has computed: a year computed with no unit at all still gets (zero) cells.
    computed = {
        spec.id: {int(k) for k in context.instance.get_materialized_partitions(dg.AssetKey(spec.id)) if k.isdigit()}
        for spec in catalogue.values()
    }
    with duckdb.get_connection() as con:
        for ind_id, year in unit_years(con):
            computed.setdefault(ind_id, set()).add(year)
        df = compute_indicator_values(
            con, catalogue, years, run_id=context.run.run_id, cat_version=cat_version, log=context.log,
            computed_years=computed,
        )  # fmt: skip
        problems = validate_values(df, catalogue, years)
        if problems:  # nothing written: the previous marts stay in place
            raise dg.Failure(description="indicator values not published: " + "; ".join(problems))
        write_indicator_values(con, df, years)
    written = replace_year_partitions(df, settings.marts_path, years)
    context.add_output_metadata(
        {
            "rows": df.height,
            "years": ", ".join(map(str, years)),
            "rows_per_year": json.dumps({str(k): v for k, v in written.items()}),
            "indicators": df["indicator_id"].n_unique(),
            "catalogue_version": cat_version,
            "national_series": dg.MetadataValue.md(national_preview(df, catalogue)),
        }
    )


@dg.asset(deps=[indicator_values], pool="warehouse", group_name="marts",
          description="Progress towards the 2025 targets (and N2's) at national level.")  # fmt: skip
def target_progress(context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: SettingsResource) -> None:
    catalogue = load_catalogue()
    cat_version = catalogue_version()
    with duckdb.get_connection() as con:
        run_sql_file(con, SQL_DIR / "create_marts.sql")
        values = con.sql(
            "select indicator_id, measure, year, breakdown_level, sex, age_group, value from marts.indicator_values"
        ).pl()
        df = target_progress_rows(values, catalogue, run_id=context.run.run_id, cat_version=cat_version)
        TargetProgress.validate(df)
        replace_table(con, "target_progress", df)
    write_parquet_atomic(df, settings.marts_path / "target_progress" / "part-0.parquet")
    counts = df.group_by("status").len().to_dicts()
    context.add_output_metadata({"rows": df.height, "status": json.dumps({r["status"]: r["len"] for r in counts})})


@dg.asset(deps=[indicator_values], pool="warehouse", group_name="marts",
          description="Rows loaded/quarantined per register file and units left out per indicator.")  # fmt: skip
def data_quality(context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: SettingsResource) -> None:
    catalogue = load_catalogue()
    with duckdb.get_connection() as con:
        df = data_quality_rows(con, catalogue, run_id=context.run.run_id, cat_version=catalogue_version())
        DataQuality.validate(df)
        replace_table(con, "data_quality", df)
    write_parquet_atomic(df, settings.marts_path / "data_quality" / "part-0.parquet")
    fails = df.filter(pl.col("status") == "fail").height
    context.add_output_metadata({"rows": df.height, "conservation_failures": fails})


@dg.asset(deps=[indicator_values, target_progress, data_quality], group_name="marts",
          description="The researchers' DuckDB file: documented views over the Parquet marts.")  # fmt: skip
def research_db(context: dg.AssetExecutionContext, settings: SettingsResource) -> None:
    path = build_research_db(settings.marts_path, load_catalogue())
    context.add_output_metadata({"path": str(path), "bytes": path.stat().st_size})


# --- checks -----------------------------------------------------------------------------------------


def _warehouse_values(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    run_sql_file(con, SQL_DIR / "create_marts.sql")
    return con.sql("select * from marts.indicator_values").pl()


@dg.asset_check(asset=indicator_values, blocking=True, description="Pandera model of marts.indicator_values")
def indicator_values_schema(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        df = _warehouse_values(con)
    try:
        IndicatorValues.validate(df, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        return dg.AssetCheckResult(passed=False, metadata={"failure_cases": exc.failure_cases.height})
    return dg.AssetCheckResult(passed=True, metadata={"rows": df.height})


@dg.asset_check(asset=indicator_values, blocking=True,
                description="numerator <= denominator for proportions; no negative counts")  # fmt: skip
def indicator_values_counts(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        df = _warehouse_values(con)
    problems = value_problems(df, load_catalogue())
    return dg.AssetCheckResult(passed=not any(problems.values()), metadata=problems)


@dg.asset_check(asset=indicator_values, blocking=True,
                description="Every catalogue indicator present for every materialised year it is defined in "
                "(full outer join of expected and actual pairs)")  # fmt: skip
def indicator_values_complete(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        df = _warehouse_values(con)
    materialised = context.instance.get_materialized_partitions(dg.AssetKey("indicator_values"))
    years = {int(k) for k in materialised} | set(df["year"].unique().to_list())
    gaps = missing_indicator_years(df, load_catalogue(), years)
    return dg.AssetCheckResult(
        passed=gaps.height == 0,
        metadata={
            "years_checked": len(years),
            "missing": gaps.filter(pl.col("problem") == "missing").height,
            "not_expected": gaps.filter(pl.col("problem") == "not_expected").height,
            "first_gaps": ", ".join(f"{r['indicator_id']} {r['year']}" for r in gaps.head(10).to_dicts()),
        },
    )


def parquet_vs_warehouse(con: duckdb.DuckDBPyConnection, marts_dir: Path) -> pl.DataFrame:
    """Rows per year in the warehouse and in the Parquet partitions (full outer join); mismatches only."""
    run_sql_file(con, SQL_DIR / "create_marts.sql")
    wh = con.sql("select year, count(*) as warehouse_rows from marts.indicator_values group by year").pl()
    wh = wh.with_columns(pl.col("year").cast(pl.Int32()), pl.col("warehouse_rows").cast(pl.Int64()))
    files = sorted((Path(marts_dir) / "indicator_values").glob("year=*/part-0.parquet"))
    pq = pl.DataFrame(
        [(int(p.parent.name.split("=", 1)[1]), pl.scan_parquet(p).select(pl.len()).collect().item()) for p in files],
        schema={"year": pl.Int32(), "parquet_rows": pl.Int64()},
        orient="row",
    )
    joined = wh.join(pq, on="year", how="full", coalesce=True)
    return joined.filter(
        pl.col("warehouse_rows").is_null()
        | pl.col("parquet_rows").is_null()
        | (pl.col("warehouse_rows") != pl.col("parquet_rows"))
    ).sort("year")


@dg.asset_check(asset=indicator_values, blocking=True, description="Parquet partitions match the warehouse rows per year")
def indicator_values_parquet(duckdb: DuckDBResource, settings: SettingsResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        bad = parquet_vs_warehouse(con, settings.marts_path)
    return dg.AssetCheckResult(
        passed=bad.height == 0,
        metadata={"years_differing": bad.height, "years": ", ".join(str(y) for y in bad["year"].to_list())},
    )


@dg.asset_check(asset=target_progress, blocking=True, description="Pandera model of marts.target_progress")
def target_progress_schema(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        run_sql_file(con, SQL_DIR / "create_marts.sql")
        df = con.sql("select * from marts.target_progress").pl()
    try:
        TargetProgress.validate(df, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        return dg.AssetCheckResult(passed=False, metadata={"failure_cases": exc.failure_cases.height})
    return dg.AssetCheckResult(passed=True, metadata={"rows": df.height})


@dg.asset_check(asset=data_quality, description="Every loaded file conserves its rows (read = staged + quarantined)")
def data_quality_conservation(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        run_sql_file(con, SQL_DIR / "create_marts.sql")
        df = con.sql("select * from marts.data_quality").pl()
    DataQuality.validate(df)
    fails = df.filter(pl.col("status") == "fail")
    return dg.AssetCheckResult(passed=fails.height == 0, metadata={"files_failing": fails.height})


@dg.asset_check(asset=research_db, description="research.duckdb opens read-only and every view reads")
def research_db_readable(settings: SettingsResource) -> dg.AssetCheckResult:
    path = settings.marts_path / "research.duckdb"
    con = duckdb.connect(str(path), read_only=True)
    try:
        counts = {n: con.execute(f"select count(*) from {n}").fetchall()[0][0] for n in COLUMN_DOCS}
    finally:
        con.close()
    return dg.AssetCheckResult(passed=True, metadata={f"rows_{k}": v for k, v in counts.items()})
