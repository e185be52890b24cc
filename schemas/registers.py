"""Pandera models of the registers, generated from the contract (`schemas/registers.yaml`).

A model validates a register's rows *as read* (every column text, see `pipeline.readers`): each rule
of the contract is one named Pandera check (a Polars expression over the whole column or frame, never
per-row Python). `row_reasons` runs a model eagerly and turns its failure cases into one
`_reasons` string per broken row (`column:rule;…`), joined back to the rows by index. `parse` is the
single definition of how text becomes a typed value, used both by the checks and by the cast into
staging, so "valid" and "castable" cannot disagree.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from pipeline.contract import TYPE_RULES, ColumnSpec, Period, RegisterSpec

GEOGRAPHY_FILE = Path(__file__).resolve().parent.parent / "pipeline" / "reference" / "geography.csv"
INDEX = "_row_index"
REASONS = "_reasons"
_INT32 = 2**31 - 1


# --- text -> typed value (null when the text is not a value of the type) ---------------------------
def parse_int(col: pl.Expr) -> pl.Expr:
    num = col.cast(pl.Float64, strict=False)
    ok = num.is_finite() & (num == num.floor()) & (num.abs() <= _INT32)
    return pl.when(ok).then(num).otherwise(None).cast(pl.Int32)


def parse_float(col: pl.Expr) -> pl.Expr:
    # a decimal comma is common in Danish `;`-separated exports
    num = col.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
    return pl.when(num.is_finite()).then(num).otherwise(None)


def parse_date(col: pl.Expr) -> pl.Expr:
    return pl.coalesce(
        col.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        col.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False).dt.date(),
    )


def parse_time(col: pl.Expr) -> pl.Expr:
    return pl.coalesce(
        col.str.strptime(pl.Time, "%H:%M:%S", strict=False),
        col.str.strptime(pl.Time, "%H:%M", strict=False),
    )


PARSERS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "int": parse_int,
    "hour": parse_int,
    "float": parse_float,
    "date": parse_date,
    "time": parse_time,
    "str": lambda col: col,
}


def parse(col: pl.Expr, type_: str) -> pl.Expr:
    return PARSERS[type_](col)


def known_municipalities(path: Path = GEOGRAPHY_FILE) -> frozenset[int] | None:
    """The municipality codes of the shipped geography, or None when the file is not there."""
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as fh:
        return frozenset(int(row["kom"]) for row in csv.DictReader(fh))


# --- checks ------------------------------------------------------------------------------------------
def _column_check(name: str, ok: Callable[[pl.Expr], pl.Expr]) -> pa.Check:
    """A named element-wise check; `ok(text)` is true where the value keeps the rule (nulls pass)."""

    def check(data: PolarsData) -> pl.LazyFrame:
        text = pl.col(data.key)
        return data.lazyframe.select((text.is_null() | ok(text).fill_null(True)).alias(data.key))

    return pa.Check(check, name=name)


def _frame_check(name: str, ok: pl.Expr) -> pa.Check:
    def check(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(ok.fill_null(True).alias("check_output"))

    return pa.Check(check, name=name)


def _codes_check(spec: ColumnSpec) -> pa.Check:
    if spec.type in ("int", "hour"):
        allowed = [int(c) for c in spec.codes or ()]
        return _column_check("not_in_codes", lambda t: parse_int(t).is_in(allowed) | parse_int(t).is_null())
    allowed_text = [str(c) for c in spec.codes or ()]
    return _column_check("not_in_codes", lambda t: t.is_in(allowed_text))


def _range_check(spec: ColumnSpec) -> pa.Check:
    def ok(text: pl.Expr) -> pl.Expr:
        value = parse_float(text) if spec.type == "float" else parse_int(text).cast(pl.Float64)
        keep = pl.lit(True)
        if spec.min is not None:
            keep = keep & (value >= spec.min)
        if spec.max is not None:
            keep = keep & (value <= spec.max)
        if spec.gt is not None:
            keep = keep & (value > spec.gt)
        return keep | value.is_null()

    return _column_check("out_of_range", ok)


def column_checks(spec: ColumnSpec, known_koms: frozenset[int] | None) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if spec.type in TYPE_RULES:
        parser = PARSERS[spec.type]
        checks.append(_column_check(TYPE_RULES[spec.type], lambda t, p=parser: p(t).is_not_null()))
    if spec.codes is not None:
        checks.append(_codes_check(spec))
    if spec.min is not None or spec.max is not None or spec.gt is not None:
        checks.append(_range_check(spec))
    if spec.pattern is not None:
        pattern = f"^(?:{spec.pattern})$"
        checks.append(_column_check("bad_format", lambda t: t.str.contains(pattern)))
    if spec.known_kom and known_koms is not None:
        koms = sorted(known_koms)
        checks.append(_column_check("unknown_kom", lambda t: parse_int(t).is_in(koms) | parse_int(t).is_null()))
    return checks


def _timestamp(date_col: str, time_col: str | None, reg: RegisterSpec) -> pl.Expr:
    day = parse_date(pl.col(date_col)).cast(pl.Datetime("us"))
    if time_col is None:
        return day
    if reg.column(time_col).type == "hour":
        return day + pl.duration(hours=parse_int(pl.col(time_col)))
    return day + (parse_time(pl.col(time_col)).cast(pl.Int64) // 1000).cast(pl.Duration("us"))


def _period_ok(p: Period, reg: RegisterSpec) -> pl.Expr:
    """End not before start: on the timestamps where both times are given, else on the dates."""
    start_d, end_d = parse_date(pl.col(p.start_date)), parse_date(pl.col(p.end_date))
    by_date = end_d >= start_d
    if p.start_time is None or p.end_time is None:
        return by_date | end_d.is_null() | start_d.is_null()
    both_times = pl.col(p.start_time).is_not_null() & pl.col(p.end_time).is_not_null()
    by_time = _timestamp(p.end_date, p.end_time, reg) >= _timestamp(p.start_date, p.start_time, reg)
    return pl.when(both_times).then(by_time).otherwise(by_date) | end_d.is_null() | start_d.is_null()


def frame_checks(reg: RegisterSpec) -> list[pa.Check]:
    every = pl.struct(pl.all())
    checks = [_frame_check("duplicate_row", every.is_first_distinct())]
    for col in reg.unique:
        # the id is shared by rows with different content (exact duplicates are `duplicate_row` only)
        clash = (every.n_unique().over(col) > 1) & pl.col(col).is_not_null() & every.is_first_distinct()
        checks.append(_frame_check(f"{col}:duplicate_id", ~clash))
    for p in reg.periods:
        checks.append(_frame_check(f"{p.end_date}:end_before_start", _period_ok(p, reg)))
    return checks


def register_schema(reg: RegisterSpec, known_koms: frozenset[int] | None = None) -> pa.DataFrameSchema:
    """The Pandera model of one register, over its rows as read (contract columns as text)."""
    columns = {
        c.name: pa.Column(pl.Utf8, nullable=not c.required, checks=column_checks(c, known_koms))
        for c in reg.columns
    }
    if reg.week_columns:
        columns[f"^{reg.week_columns}$"] = pa.Column(pl.Utf8, nullable=True, regex=True)
    return pa.DataFrameSchema(columns, checks=frame_checks(reg), strict=False, name=reg.name)


def row_reasons(schema: pa.DataFrameSchema, rows: pl.DataFrame) -> pl.DataFrame:
    """Validate `rows` eagerly; return one row per broken row: `_row_index` (0-based), `_reasons`.

    Reasons are `column:rule` for column rules (`column:missing` for an empty required value) and the
    frame rule's own name otherwise, sorted and `;`-separated.
    """
    empty = pl.DataFrame(schema={INDEX: pl.Int64, REASONS: pl.Utf8})
    try:
        schema.validate(rows, lazy=True)
        return empty
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    if cases.filter(pl.col("index").is_null()).height:
        problems = cases.filter(pl.col("index").is_null()).select("column", "check").unique().rows()
        raise ValueError(f"the rows do not have the model's shape: {sorted(map(str, problems))}")
    rule = pl.when(pl.col("check") == "not_nullable").then(pl.lit("missing")).otherwise(pl.col("check"))
    reason = pl.when(pl.col("column").is_null() | (pl.col("schema_context") == "DataFrameSchema")).then(
        pl.col("check")
    ).otherwise(pl.col("column") + ":" + rule)
    return (
        cases.select(pl.col("index").cast(pl.Int64).alias(INDEX), reason.alias(REASONS))
        .unique()
        .sort(INDEX, REASONS)
        .group_by(INDEX, maintain_order=True)
        .agg(pl.col(REASONS).str.join(";"))
        .sort(INDEX)
    )
