"""The shared aggregator: indicator unit tables (`units.<id>`) -> indicator value rows.

What belongs here: turning one catalogue entry's unit table into the rows of `marts.indicator_values`
for every measure, every breakdown level the entry names (national, region, region2027, sundhedsraad,
kom, reporting_region where the unit table has it) crossed with the splits (sex, age group; 'all' =
not split): counts, values, intervals, standardised values and value flags. What does not: writing
the marts (assets/marts.py) or deciding who is in a unit table (assets/indicators.py).

The counting is set-based DuckDB SQL (assets/sql/marts/*_cells.sql): one pass over the unit table per
indicator counts every measure into its finest cells (year, sex, age group, the unit's key at every
level asked for), which GROUPING SETS roll up to the breakdown levels and 'all' splits (no SQL per
breakdown, no unit row repeated per level). Distinct persons and medians do not add up: they come
from one row per (person, cell) and from (value, count) pairs per cell, exact. Values and intervals
are computed vectorised on the (small) cell table with numpy/polars. `levels` / `measures` narrow a
call (the indicator assets' national figure). Cells with no unit at all are added (every geography key from
ref.geography, every sex and catalogue age group) so zeros stay visible; a year without any unit row
in the unit table yields no rows, so a missing year is caught by the completeness check.

Per measure kind (numerator / denominator / value / interval):
- share, std_share: units in numerator / in denominator / 100·num/den (Wilson); std_share's value and
  std_value are the directly standardised percentage over the measure's strata.
- weighted_share: unweighted counts / 100·Σw·num/Σw / Wilson at Kish's effective n.
- count: rows in numerator and filter / NULL / count; distinct_persons: distinct pnr / NULL / count.
- sum, mean, median: Σ value / units with a value / the sum, mean or median of `value`.
- ratio_of_counts: numerator rows (in_numerator and filter) / in_denominator rows (filter not
  applied) / 100·num/den (Wilson where num <= den): two separate counts, as N2 publishes them.
- rate_per_1000: num / den / 1000·num/den (exact Poisson on num).
- per_1000_residents: Σ value of numerator units / residents on 1 January / 1000·num/den.
- smr: observed (numerator units) / expected (Σ value) / O/E (exact Poisson on O).
Flags: the catalogue's year flags, `small_denominator` (denominator units below the measure's
threshold), unit flags found in the cell (e.g. `incomplete_lookback`), `std_strata_missing`,
`no_standard_population`, `no_residents`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipeline.catalogue import IndicatorSpec, MeasureSpec
from pipeline.db import run_sql_file, table_exists
from pipeline.stats import direct_standardise, poisson_interval, weighted_wilson_interval, wilson_interval

SQL_DIR = Path(__file__).resolve().parent.parent / "assets" / "sql" / "marts"
LEVEL_COLUMNS = {
    "region": "region_code",
    "region2027": "region2027_code",
    "sundhedsraad": "sundhedsraad_code",
    "kom": "kom",
    "reporting_region": "region_code",  # reporting regions are the regions
}
# The unit table's key column per level (reporting_region is its own column there).
UNIT_KEY_COLUMNS = {**LEVEL_COLUMNS, "reporting_region": "reporting_region"}
SEXES = ("female", "male")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")

VALUE_SCHEMA: dict[str, pl.DataType] = {
    "indicator_id": pl.String(),
    "indicator_version": pl.Int32(),
    "measure": pl.String(),
    "year": pl.Int32(),
    "breakdown_level": pl.String(),
    "breakdown_key": pl.String(),
    "sex": pl.String(),
    "age_group": pl.String(),
    "numerator": pl.Float64(),
    "denominator": pl.Float64(),
    "value": pl.Float64(),
    "ci_low": pl.Float64(),
    "ci_high": pl.Float64(),
    "std_value": pl.Float64(),
    "unit": pl.String(),
    "flags": pl.String(),
}
CELL_KEYS = ["year", "breakdown_level", "breakdown_key", "sex", "age_group"]
_FINE_COUNT_COLUMNS = ["n_rows", "den", "den_all", "num", "num_rows", "n_value"]
_COUNT_COLUMNS = [*_FINE_COUNT_COLUMNS, "num_persons"]
_SUM_COLUMNS = ["sum_w", "sum_w2", "sum_w_num", "sum_value", "sum_value_num"]


class UnitTableMissing(LookupError):
    """The indicator's unit table does not exist in the warehouse."""


def _quote(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


def _render(sql_name: str, **parts: str) -> str:
    """Fill the identifier markers of a .sql file (never values: those are bound parameters)."""
    sql = (SQL_DIR / sql_name).read_text(encoding="utf-8")
    for key, text in parts.items():
        sql = sql.replace("{{" + key + "}}", text)
    if "{{" in sql:
        raise ValueError(f"{sql_name}: unfilled marker in {sql[sql.index('{{') : sql.index('{{') + 40]!r}")
    return sql




def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = $s and table_name = $t",
        {"s": schema, "t": table},
    ).fetchall()
    return {r[0] for r in rows}


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pl.DataFrame:
    run_sql_file(con, SQL_DIR / "_macros.sql")  # temp macros the cell SQL uses (cheap: create or replace)
    return con.sql(sql, params=params).pl()


def _table_parts(spec: IndicatorSpec) -> tuple[str, str]:
    schema, table = spec.unit_table.split(".", 1)
    return schema, table


def _sql_parts(spec: IndicatorSpec, measure: MeasureSpec | None, has_reporting: bool) -> dict[str, str]:
    """Identifier markers of the cell SQL; `measure` None = every measure at once ({{filters}})."""
    schema, table = _table_parts(spec)
    levels = _levels(spec, has_reporting)
    parts = {"unit_table": f"{_quote(schema)}.{_quote(table)}"}
    # The key column of each level, or NULL for a level not asked for (nothing to group by).
    # The unit's cell: its split values and its key at every level ('unknown' where it has none); a
    # level not asked for is NULL, so a national-only run groups by no geography at all.
    keys = ["coalesce(sex, 'unknown') as sex", "coalesce(age_group, 'unknown') as age_group"]
    for level, column in UNIT_KEY_COLUMNS.items():
        source = column if level in levels else "cast(null as integer)"
        keys.append(f"coalesce(cast({source} as varchar), 'unknown') as k_{level}")
    parts["cell_keys"] = ",\n        ".join(keys)
    if measure is None:
        parts["filters"] = "list_value(" + ", ".join(f"coalesce(({m.filter or 'true'}), false)" for m in spec.measures) + ")"
    else:
        parts["measure_filter"] = measure.filter or "true"
    return parts


def _levels(spec: IndicatorSpec, has_reporting: bool) -> list[str]:
    return [b for b in spec.breakdowns if b != "reporting_region" or has_reporting]


def _keep_splits(spec: IndicatorSpec, df: pl.DataFrame) -> pl.DataFrame:
    """Drop the split cells the catalogue entry does not ask for ('all' = not split)."""
    if "sex" not in spec.splits:
        df = df.filter(pl.col("sex") == "all")
    if "age_group" not in spec.splits:
        df = df.filter(pl.col("age_group") == "all")
    return df


def _flag_tokens(con: duckdb.DuckDBPyConnection, spec: IndicatorSpec, years: list[int]) -> list[str]:
    schema, table = _table_parts(spec)
    rows = con.execute(
        f"select distinct unnest(string_split(flags, ',')) as t from {_quote(schema)}.{_quote(table)}"
        " where year in (select unnest($y)) and flags is not null",
        {"y": years},
    ).fetchall()
    tokens = sorted(r[0] for r in rows if r[0])
    if len(tokens) > 62:
        raise ValueError(f"{spec.unit_table}: more than 62 distinct unit flags")
    return tokens


def _grid(
    con: duckdb.DuckDBPyConnection, spec: IndicatorSpec, years: list[int], levels: list[str], seen: pl.DataFrame
) -> pl.DataFrame:
    """Every cell that should exist: the years with units x every key per level x sexes x age groups."""
    keys = []
    has_geo = table_exists(con, "ref", "geography")
    for level in levels:
        if level == "national":
            level_keys = {"DK"}
        else:
            level_keys = set(seen.filter(pl.col("breakdown_level") == level)["breakdown_key"].to_list())
            if has_geo:
                col = LEVEL_COLUMNS[level]
                rows = con.execute(f"select distinct cast({_quote(col)} as varchar) from ref.geography").fetchall()
                level_keys |= {r[0] for r in rows if r[0] is not None}
        keys += [(level, k) for k in sorted(level_keys)]
    sexes = {"all"}
    if "sex" in spec.splits:
        sexes |= set(SEXES) | set(seen["sex"].to_list())
    ages = {"all"}
    if "age_group" in spec.splits:
        ages |= set(spec.age_groups) | set(seen["age_group"].to_list())
    return (
        pl.DataFrame({"year": years}, schema={"year": pl.Int32()})
        .join(
            pl.DataFrame(keys, schema={"breakdown_level": pl.String(), "breakdown_key": pl.String()}, orient="row"),
            how="cross",
        )
        .join(pl.DataFrame({"sex": sorted(sexes)}), how="cross")
        .join(pl.DataFrame({"age_group": sorted(ages)}), how="cross")
    )


def _complete(cells: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    cells = cells.with_columns(pl.col("year").cast(pl.Int32()))
    out = grid.join(cells, on=CELL_KEYS, how="full", coalesce=True)
    return out.with_columns(
        [pl.col(c).fill_null(0) for c in _COUNT_COLUMNS]
        + [pl.col(c).cast(pl.Float64()) for c in _SUM_COLUMNS + ["mean_value", "median_value"]]
    )


def _nan_to_null(a: np.ndarray) -> pl.Series:
    return pl.Series(a, dtype=pl.Float64()).fill_nan(None)


def _values(kind: str, c: pl.DataFrame) -> dict[str, np.ndarray]:
    """numerator, denominator, value, ci_low, ci_high, n_den (the unit count behind small_denominator)."""
    f = {k: c[k].cast(pl.Float64()).to_numpy() for k in _COUNT_COLUMNS + _SUM_COLUMNS}
    f["mean_value"] = c["mean_value"].fill_null(np.nan).to_numpy()
    f["median_value"] = c["median_value"].fill_null(np.nan).to_numpy()
    nan = np.full(c.height, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind in ("share", "std_share"):
            num, den = f["num"], f["den"]
            lo, hi = wilson_interval(num, den)
            value = np.where(den > 0, 100.0 * num / den, np.nan)
            return dict(num=num, den=den, value=value, lo=100 * lo, hi=100 * hi, n_den=den)
        if kind == "ratio_of_counts":
            # Two separate counts: the filter narrows only the numerator, which need not be a subset
            # of the denominator; Wilson only where it is a proportion (num <= den).
            num, den = f["num_rows"], f["den_all"]
            lo, hi = wilson_interval(num, den)
            proper = (den > 0) & (num <= den)
            value = np.where(den > 0, 100.0 * num / den, np.nan)
            lo, hi = np.where(proper, lo, np.nan), np.where(proper, hi, np.nan)
            return dict(num=num, den=den, value=value, lo=100 * lo, hi=100 * hi, n_den=den)
        if kind == "weighted_share":
            share, lo, hi = weighted_wilson_interval(
                np.nan_to_num(f["sum_w_num"]), np.nan_to_num(f["sum_w"]), np.nan_to_num(f["sum_w2"])
            )
            return dict(num=f["num"], den=f["den"], value=100 * share, lo=100 * lo, hi=100 * hi, n_den=f["den"])
        if kind == "count":
            return dict(num=f["num_rows"], den=nan, value=f["num_rows"], lo=nan, hi=nan, n_den=nan)
        if kind == "distinct_persons":
            return dict(num=f["num_persons"], den=nan, value=f["num_persons"], lo=nan, hi=nan, n_den=nan)
        if kind in ("sum", "mean", "median"):
            total = np.nan_to_num(f["sum_value"])  # a cell without units sums to 0
            value = {"sum": total, "mean": f["mean_value"], "median": f["median_value"]}[kind]
            return dict(num=total, den=f["n_value"], value=value, lo=nan, hi=nan, n_den=f["n_value"])
        if kind == "per_1000_residents":  # the denominator (residents) is joined in by the caller
            num = np.nan_to_num(f["sum_value_num"])
            return dict(num=num, den=nan, value=nan, lo=nan, hi=nan, n_den=nan)
        if kind == "rate_per_1000":
            num, den = f["num"], f["den"]
            lo, hi = poisson_interval(num)
            ok = den > 0
            return dict(
                num=num,
                den=den,
                value=np.where(ok, 1000 * num / den, np.nan),
                lo=np.where(ok, 1000 * lo / den, np.nan),
                hi=np.where(ok, 1000 * hi / den, np.nan),
                n_den=den,
            )
        if kind == "smr":
            obs, exp = f["num"], np.nan_to_num(f["sum_value"])
            lo, hi = poisson_interval(obs)
            ok = exp > 0
            return dict(
                num=obs,
                den=exp,
                value=np.where(ok, obs / exp, np.nan),
                lo=np.where(ok, lo / exp, np.nan),
                hi=np.where(ok, hi / exp, np.nan),
                n_den=f["den"],
            )
    raise ValueError(f"measure kind {kind!r} has no value rule")


def _indicator_cells(
    con: duckdb.DuckDBPyConnection,
    spec: IndicatorSpec,
    years: list[int],
    has_reporting: bool,
    tokens: list[str],
) -> dict[str, pl.DataFrame]:
    """Per measure id: its complete cells (every grid cell, zeros included) with the aggregates
    `_values` needs and the decoded unit flags. One pass over the unit table for all measures
    (aggregate_cells.sql); distinct persons and medians, which do not add up, per measure that uses them."""
    levels = _levels(spec, has_reporting)
    params = {"years": years, "levels": levels, "n_measures": len(spec.measures), "flag_tokens": tokens or ["\x00"]}
    sql = _render("aggregate_cells.sql", **_sql_parts(spec, None, has_reporting))
    cells = _keep_splits(spec, _frame(con, sql, params))
    cells = cells.with_columns(
        [pl.col("measure_ix").cast(pl.Int64()), pl.col("year").cast(pl.Int32())]
        + [pl.col(c).cast(pl.Int64()) for c in _FINE_COUNT_COLUMNS + ["flag_bits"]]
        + [pl.col(c).cast(pl.Float64()) for c in _SUM_COLUMNS + ["mean_value"]]
    )
    # Every measure sees every unit row, so the keys met are the same for all: one grid.
    grid = _grid(con, spec, years, levels, cells)
    names = [pl.when((pl.col("flag_bits") // (1 << i)) % 2 == 1).then(pl.lit(t)) for i, t in enumerate(tokens)]
    unit_flags = pl.concat_str(names, separator=",", ignore_nulls=True) if names else pl.lit(None, pl.String())
    out = {}
    for ix, measure in enumerate(spec.measures, start=1):
        m = cells.filter(pl.col("measure_ix") == ix).drop("measure_ix")
        m = m.join(_holistic(con, spec, measure, years, levels, has_reporting), on=CELL_KEYS, how="left")
        out[measure.id] = _complete(m, grid).with_columns(unit_flags.alias("unit_flags"))
    return out


def _holistic(
    con: duckdb.DuckDBPyConnection,
    spec: IndicatorSpec,
    measure: MeasureSpec,
    years: list[int],
    levels: list[str],
    has_reporting: bool,
) -> pl.DataFrame:
    """num_persons (distinct_persons) and median_value (median) per cell; NULL for the other kinds."""
    schema = {**{k: VALUE_SCHEMA[k] for k in CELL_KEYS}, "num_persons": pl.Int64(), "median_value": pl.Float64()}
    if measure.kind not in ("distinct_persons", "median"):
        return pl.DataFrame(schema=schema)
    name = "distinct_persons_cells.sql" if measure.kind == "distinct_persons" else "median_cells.sql"
    df = _keep_splits(spec, _frame(con, _render(name, **_sql_parts(spec, measure, has_reporting)),
                                   {"years": years, "levels": levels}))  # fmt: skip
    for col in ("num_persons", "median_value"):
        if col not in df.columns:
            df = df.with_columns(pl.lit(None).alias(col))
    return df.select([pl.col(k).cast(t) for k, t in schema.items()])


def _residents(con: duckdb.DuckDBPyConnection, spec: IndicatorSpec, years: list[int]) -> pl.DataFrame | None:
    if not all(table_exists(con, s, t) for s, t in (("core", "residence"), ("core", "persons"), ("ref", "geography"))):
        return None
    labels = list(spec.age_bounds) or ["__none__"]
    lows = [spec.age_bounds[k][0] if spec.age_bounds else 0 for k in labels]
    highs = [spec.age_bounds[k][1] if spec.age_bounds else None for k in labels]
    levels = [b for b in spec.breakdowns if b != "reporting_region"]
    res = _frame(
        con,
        _render("residents_cells.sql"),
        {"years": years, "levels": levels, "ag_labels": labels, "ag_lo": lows, "ag_hi": highs},
    ).with_columns(pl.col("year").cast(pl.Int32()), pl.col("residents").cast(pl.Float64()))
    if not spec.age_bounds:  # no bounds in the catalogue: residents only for age group 'all'
        res = res.filter(pl.col("age_group") == "all")
    return res


def _std_values(
    con: duckdb.DuckDBPyConnection,
    spec: IndicatorSpec,
    measure: MeasureSpec,
    years: list[int],
    has_reporting: bool,
    columns: set[str],
) -> pl.DataFrame:
    """std_value and its flags per cell (direct standardisation, see pipeline.stats)."""
    missing = [s for s in measure.strata if s not in columns]
    if missing:
        raise ValueError(f"{spec.source_file}: measure {measure.id}: strata column(s) {missing} not in {spec.unit_table}")
    stratum = " || '|' || ".join(f"coalesce(cast({_quote(s)} as varchar), 'unknown')" for s in measure.strata)
    levels = _levels(spec, has_reporting)
    params = {"years": years, "levels": levels, "standard_year": measure.standard_year}
    sql = _render("std_strata.sql", stratum=stratum, **_sql_parts(spec, measure, has_reporting))
    strata = _keep_splits(spec, _frame(con, sql, params))
    empty = pl.DataFrame(schema={**{k: VALUE_SCHEMA[k] for k in CELL_KEYS}, "std_value": pl.Float64(), "std_flag": pl.String()})
    if strata.height == 0:
        return empty
    strata = strata.with_columns(pl.col("year").cast(pl.Int32()))
    group = pl.concat_str([pl.col(k).cast(pl.String()) for k in CELL_KEYS], separator="\x1f")
    strata = strata.with_columns(group.alias("_g"))
    groups, value = direct_standardise(
        strata["num"].to_numpy(), strata["den"].to_numpy(), strata["std_n"].to_numpy(), strata["_g"].to_numpy()
    )
    per_cell = (
        strata.group_by(["_g", *CELL_KEYS])
        .agg(
            ((pl.col("den") > 0) & (pl.col("std_n") > 0)).sum().alias("used"),
            pl.col("n_std_strata").max().alias("n_std"),
        )
        .join(pl.DataFrame({"_g": groups, "std_value": 100.0 * value}).with_columns(pl.col("std_value").fill_nan(None)), on="_g")
        .with_columns(
            pl.when(pl.col("n_std") == 0)
            .then(pl.lit("no_standard_population"))
            .when(pl.col("used") < pl.col("n_std"))
            .then(pl.lit("std_strata_missing"))
            .otherwise(pl.lit(None, dtype=pl.String()))
            .alias("std_flag")
        )
    )
    return per_cell.select([*CELL_KEYS, "std_value", "std_flag"])


def _flags(
    spec: IndicatorSpec, measure: MeasureSpec, c: pl.DataFrame, n_den: np.ndarray, extra: list[pl.Expr]
) -> pl.Series:
    threshold = spec.min_denominator(measure)
    year_flags = {y: spec.flags_for(y) for y in c["year"].unique().to_list()}
    parts = [
        pl.col("year").replace_strict(
            {y: ",".join(fl) if fl else None for y, fl in year_flags.items()}, return_dtype=pl.String()
        ),
        pl.when(pl.Series(n_den) < threshold).then(pl.lit("small_denominator")).otherwise(None),
        pl.col("unit_flags"),
        *extra,
    ]
    joined = c.select(pl.concat_str(parts, separator=",", ignore_nulls=True).alias("f"))["f"]
    # One sorted, de-duplicated list per row (unit flags arrive as ','-joined strings).
    return (
        joined.str.split(",")
        .list.eval(pl.element().filter(pl.element() != "").unique().sort())
        .list.join(",")
        .replace("", None)
    )


def aggregate_measure(
    con: duckdb.DuckDBPyConnection,
    spec: IndicatorSpec,
    measure: MeasureSpec,
    years: list[int],
    c: pl.DataFrame,
    *,
    columns: set[str],
    residents: pl.DataFrame | None = None,
    empty_years: list[int] | None = None,
) -> pl.DataFrame:
    """Value rows of one measure from its complete cells `c` (see _indicator_cells)."""
    has_reporting = "reporting_region" in columns
    if c.height == 0:
        return pl.DataFrame(schema=VALUE_SCHEMA)
    v = _values(measure.kind, c)
    extra: list[pl.Expr] = []
    c = c.with_columns(
        numerator=_nan_to_null(v["num"]),
        denominator=_nan_to_null(v["den"]),
        value=_nan_to_null(v["value"]),
        ci_low=_nan_to_null(v["lo"]),
        ci_high=_nan_to_null(v["hi"]),
        std_value=pl.lit(None, dtype=pl.Float64()),
    )
    n_den = v["n_den"]
    if empty_years:
        extra.append(pl.when(pl.col("year").is_in(empty_years)).then(pl.lit("no_units")))
    if measure.kind == "per_1000_residents":
        if residents is None:
            c = c.with_columns(residents=pl.lit(None, dtype=pl.Float64()))
        else:
            # A cell nobody lives in has 0 residents; reporting regions have no residents at all.
            c = c.join(residents, on=CELL_KEYS, how="left").with_columns(
                residents=pl.when(
                    (pl.col("breakdown_level") == "reporting_region")
                    | ((pl.col("age_group") != "all") & pl.lit(not spec.age_bounds))
                )
                .then(None)
                .otherwise(pl.col("residents").fill_null(0.0))
            )
        c = c.with_columns(
            denominator=pl.col("residents"),
            value=pl.when(pl.col("residents") > 0).then(1000.0 * pl.col("numerator") / pl.col("residents")),
        )
        extra.append(pl.when(pl.col("residents").is_null()).then(pl.lit("no_residents")))
        n_den = np.full(c.height, np.nan)  # residents are never a small denominator of units
    if measure.kind == "std_share":
        std = _std_values(con, spec, measure, years, has_reporting, columns)
        c = c.drop("std_value").join(std, on=CELL_KEYS, how="left")
        c = c.with_columns(value=pl.col("std_value"), ci_low=None, ci_high=None)
        extra.append(pl.col("std_flag"))
    c = c.with_columns(flags=_flags(spec, measure, c, n_den, extra))
    return c.with_columns(
        indicator_id=pl.lit(spec.id),
        indicator_version=pl.lit(spec.version, dtype=pl.Int32()),
        measure=pl.lit(measure.id),
        unit=pl.lit(measure.unit),
    ).select([pl.col(k).cast(t) for k, t in VALUE_SCHEMA.items()])


def aggregate_indicator(
    con: duckdb.DuckDBPyConnection,
    spec: IndicatorSpec,
    years: Iterable[int],
    computed_years: Iterable[int] = (),
    *,
    levels: Sequence[str] | None = None,
    measures: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Value rows of every measure of one catalogue entry, for the given years where it is defined.

    `levels` / `measures` narrow the work to some breakdown levels and measure ids (e.g. the national
    headline series of an indicator asset's figure); the cells computed are the same as in a full run.

    A year appears when the unit table has rows for it, or when it is in `computed_years` (the years
    the indicator asset has materialised): an indicator computed for a year with no unit at all (e.g.
    N8's first year, whose look-back lies before the data) gets zero cells flagged `no_units`, while a
    year never computed stays absent so the completeness check catches it.
    """
    if levels is not None:
        spec = dataclasses.replace(spec, breakdowns=tuple(b for b in spec.breakdowns if b in levels))
    if measures is not None:
        spec = dataclasses.replace(spec, measures=tuple(spec.measure(m) for m in measures))
    schema, table = _table_parts(spec)
    if not table_exists(con, schema, table):
        raise UnitTableMissing(f"{spec.unit_table} does not exist (indicator {spec.code} {spec.id})")
    wanted = spec.years_in(list(years))
    if not wanted:
        return pl.DataFrame(schema=VALUE_SCHEMA)
    present = con.execute(
        f"select distinct year from {_quote(schema)}.{_quote(table)} where year in (select unnest($y))",
        {"y": wanted},
    ).fetchall()
    with_units = {int(r[0]) for r in present}
    present_years = sorted(with_units | (set(computed_years) & set(wanted)))
    empty_years = sorted(set(present_years) - with_units)
    if not present_years:
        return pl.DataFrame(schema=VALUE_SCHEMA)
    columns = _columns(con, schema, table)
    residents = None
    if any(m.kind == "per_1000_residents" for m in spec.measures):
        residents = _residents(con, spec, present_years)
    tokens = _flag_tokens(con, spec, present_years)
    cells = _indicator_cells(con, spec, present_years, "reporting_region" in columns, tokens)
    frames = [
        aggregate_measure(
            con, spec, m, present_years, cells[m.id], columns=columns, residents=residents, empty_years=empty_years
        )
        for m in spec.measures
    ]
    return pl.concat(frames, how="vertical").sort(["measure", *CELL_KEYS])
