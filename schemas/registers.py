"""The row rules of the registers, generated from the contract (`schemas/registers.yaml`), twice over.

1. `compile_rules`: every rule of a register as one DuckDB SQL statement over the rows *as read*
   (every column text, see `pipeline.readers`). It yields `_source_row` and `_reasons` for each broken
   row only: `column:rule` for column rules (`column:missing` for an empty required value), the frame
   rule's own name otherwise (`duplicate_row`, `<id>:duplicate_id`, `<end>:end_before_start`), sorted
   and `;`-separated. This is the production gate that sorts rows into staging or quarantine. Text
   becomes a typed value through the macros of `assets/sql/ingest/parse_macros.sql` (`parse_sql`), the
   single definition used by the type rules and by the cast into staging.
2. `register_model`: the Pandera model of a register over its *typed* staging rows (dtypes,
   nullability, codes, ranges, formats, known municipality, unique ids, periods), run eagerly on
   every accepted delivery's staged rows (`model_reasons`): rows the SQL rules accepted must keep it,
   so a disagreement between the two is a bug that stops the delivery, never data silently staged.

Duplicate checks are aggregate-based (hash groups, then exact grouping of the few candidates), never
per row in Python. Identifiers are quoted by `pipeline.contract.quote_identifier`; values (code lists,
bounds, patterns, the municipalities) are bound as parameters.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from pipeline.contract import TYPE_RULES, ColumnSpec, Period, RegisterSpec, quote_identifier

GEOGRAPHY_FILE = Path(__file__).resolve().parent.parent / "pipeline" / "reference" / "geography.csv"
PARSE_MACROS_FILE = Path(__file__).resolve().parent.parent / "assets" / "sql" / "ingest" / "parse_macros.sql"
INDEX = "_row_index"
REASONS = "_reasons"
SOURCE_ROW = "_source_row"
# duplicate_row is defined on the text as delivered ('20' and '20.0' are different rows); typed staging
# rows can coincide where the text differed, so the typed model cannot check it. Type rules are the
# model's dtypes (an unparseable value never reaches staging).
SQL_ONLY_RULES = ("duplicate_row",)
POLARS_TYPES: dict[str, pl.DataType] = {
    "str": pl.Utf8(), "int": pl.Int32(), "hour": pl.Int32(), "float": pl.Float64(), "date": pl.Date(),
    "time": pl.Time(),
}
_REASON = re.compile(r"^[a-z0-9_]+(:[a-z_]+)?$")


def known_municipalities(path: Path = GEOGRAPHY_FILE) -> frozenset[int] | None:
    """The municipality codes of the shipped geography, or None when the file is not there."""
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as fh:
        return frozenset(int(row["kom"]) for row in csv.DictReader(fh))


# --- text -> typed value, in SQL ------------------------------------------------------------------
def install_parse_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the parse macros (temp, per connection) that `parse_sql` calls."""
    con.execute(PARSE_MACROS_FILE.read_text(encoding="utf-8")).fetchall()


def parse_sql(text: str, type_: str) -> str:
    """SQL: the text expression `text` as a value of the contract type (NULL when it is not one)."""
    if type_ == "str":
        return text
    macro = {"int": "int", "hour": "int", "float": "float", "date": "date", "time": "time"}[type_]
    return f"ingest_parse_{macro}({text})"


# --- the SQL rules --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompiledRules:
    """One statement giving `_source_row`, `_reasons` of the broken rows, its parameters and rule names."""

    sql: str
    params: dict[str, object]
    reasons: tuple[str, ...]  # every reason the statement can produce, sorted


class _Params:
    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def bind(self, value: object) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


def _column_rules(spec: ColumnSpec, koms: frozenset[int] | None, params: _Params) -> dict[str, str]:
    """reason -> SQL that is true where the row breaks the rule (never NULL)."""
    col = quote_identifier(spec.name)
    value = _value(spec.name)
    rules: dict[str, str] = {}
    if spec.required:
        rules["missing"] = f"{col} is null"
    if spec.type in TYPE_RULES:
        rules[TYPE_RULES[spec.type]] = f"({col} is not null and {value} is null)"
    if spec.codes is not None:
        if spec.type in ("int", "hour"):
            rules["not_in_codes"] = (f"({value} is not null and "
                                     f"not list_contains({params.bind([int(c) for c in spec.codes])}, {value}))")
        else:
            rules["not_in_codes"] = (f"({col} is not null and "
                                     f"not list_contains({params.bind([str(c) for c in spec.codes])}, {col}))")
    number = f"cast({value} as double)"
    bounds = []
    if spec.min is not None:
        bounds.append(f"{number} >= {params.bind(float(spec.min))}")
    if spec.max is not None:
        bounds.append(f"{number} <= {params.bind(float(spec.max))}")
    if spec.gt is not None:
        bounds.append(f"{number} > {params.bind(float(spec.gt))}")
    if bounds:
        rules["out_of_range"] = f"({number} is not null and not ({' and '.join(bounds)}))"
    if spec.pattern is not None:
        rules["bad_format"] = f"({col} is not null and not regexp_full_match({col}, {params.bind(spec.pattern)}))"
    if spec.known_kom and koms is not None:
        rules["unknown_kom"] = f"({value} is not null and not list_contains({params.bind(sorted(koms))}, {value}))"
    return {f"{spec.name}:{rule}": sql for rule, sql in rules.items()}


def _value(column: str) -> str:
    """The parsed value of a typed column inside the rules statement (computed once per row)."""
    return quote_identifier(f"__v_{column}")


def _timestamp_sql(reg: RegisterSpec, date_col: str, time_col: str | None) -> str:
    date = _value(date_col)
    day = f"cast({date} as timestamp)"
    if time_col is None:
        return day
    if reg.column(time_col).type == "hour":
        return f"({day} + to_hours({_value(time_col)}))"
    return f"({date} + {_value(time_col)})"


def _period_broken(reg: RegisterSpec, p: Period) -> str:
    """End before start: on the timestamps where both times are given, else on the dates."""
    start_d, end_d = _value(p.start_date), _value(p.end_date)
    ok = f"{end_d} >= {start_d}"
    if p.start_time is not None and p.end_time is not None:
        both = f"{quote_identifier(p.start_time)} is not null and {quote_identifier(p.end_time)} is not null"
        by_time = f"{_timestamp_sql(reg, p.end_date, p.end_time)} >= {_timestamp_sql(reg, p.start_date, p.start_time)}"
        ok = f"case when {both} then {by_time} else {ok} end"
    return f"not coalesce(({ok}) or {end_d} is null or {start_d} is null, true)"


def compile_rules(reg: RegisterSpec, table: str, weeks: list[str], koms: frozenset[int] | None) -> CompiledRules:
    """The register's rules as one statement over `table` (text columns + `_source_row`).

    `weeks` are the delivery's dream week columns (part of the row for `duplicate_row`); `koms` the
    known municipalities (None: rule `unknown_kom` skipped). `table` is a plain name chosen by the caller.
    """
    params = _Params()
    data = [quote_identifier(c) for c in [*reg.column_names, *weeks]]
    t = quote_identifier(table)
    every = ", ".join(data)
    rules: dict[str, str] = {}
    for spec in reg.columns:
        rules |= _column_rules(spec, koms, params)
    ctes = []
    if reg.unique:
        # an exact copy shares its id: only rows whose id occurs more than once (or is missing) can be copies
        ids = [quote_identifier(c) for c in reg.unique]
        for i, c in enumerate(ids):
            ctes.append(f"__repeated_{i} as (select {c} from {t} where {c} is not null group by {c} having count(*) > 1)")
        candidates = " or ".join(f"{c} is null or {c} in (select {c} from __repeated_{i})" for i, c in enumerate(ids))
    else:
        # hash groups of more than one row; their rows are compared exactly below
        ctes.append(f"__hash_groups as (select hash({every}) as __h from {t} group by __h having count(*) > 1)")
        candidates = f"hash({every}) in (select __h from __hash_groups)"
    ctes.append(
        f"__dup_rows as (select {SOURCE_ROW} from (select {SOURCE_ROW}, row_number() over "
        f"(partition by {every} order by {SOURCE_ROW}) as __n from {t} where {candidates}) where __n > 1)"
    )
    rules["duplicate_row"] = f"{SOURCE_ROW} in (select {SOURCE_ROW} from __dup_rows)"
    for i, col in enumerate(reg.unique):
        c = quote_identifier(col)
        # the id is shared by rows with different content (exact copies are `duplicate_row` only)
        ctes.append(
            f"__clash_{i} as (select {c} from (select distinct {every} from {t} where {c} in "
            f"(select {c} from __repeated_{i})) group by {c} having count(*) > 1)"
        )
        rules[f"{col}:duplicate_id"] = (f"({c} in (select {c} from __clash_{i}) and "
                                         f"{SOURCE_ROW} not in (select {SOURCE_ROW} from __dup_rows))")
    for p in reg.periods:
        rules[f"{p.end_date}:end_before_start"] = _period_broken(reg, p)
    order = sorted(rules)
    for reason in order:
        if not _REASON.match(reason):
            raise ValueError(f"not a plain rule name: {reason!r}")
    labels = ", ".join(f"case when {rules[r]} then '{r}' end" for r in order)
    broken = " or ".join(rules[r] for r in order)
    parsed = ", ".join(
        f"{parse_sql(quote_identifier(c.name), c.type)} as {_value(c.name)}" for c in reg.columns if c.type != "str"
    )
    rows = f"(select *, {parsed} from {t})" if parsed else t
    sql = (
        f"with {', '.join(ctes)}\n"
        f"select {SOURCE_ROW}, concat_ws(';', {labels}) as {REASONS} from {rows} where {broken}"
    )
    return CompiledRules(sql=sql, params=params.values, reasons=tuple(order))


def staging_select(reg: RegisterSpec, weeks: list[str]) -> str:
    """SQL select list: each contract column cast to its staging type by `parse_sql`, week columns as text."""
    cols = [f"{parse_sql(quote_identifier(c.name), c.type)} as {quote_identifier(c.name)}" for c in reg.columns]
    return ", ".join(cols + [quote_identifier(w) for w in weeks])


# --- the Pandera model of the typed rows ------------------------------------------------------------
def _column_check(name: str, ok: Callable[[pl.Expr], pl.Expr]) -> pa.Check:
    """A named element-wise check; `ok(value)` is true where the value keeps the rule (nulls pass)."""

    def check(data: PolarsData) -> pl.LazyFrame:
        value = pl.col(data.key)
        return data.lazyframe.select((value.is_null() | ok(value).fill_null(True)).alias(data.key))

    return pa.Check(check, name=name)


def _frame_check(name: str, ok: pl.Expr) -> pa.Check:
    def check(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(ok.fill_null(True).alias("check_output"))

    return pa.Check(check, name=name)


def _unique_id_check(col: str) -> pa.Check:
    """`<col>:duplicate_id`: no non-null id twice. Exact, but compares strings only where 64-bit hashes repeat.

    A hash table of millions of distinct strings is the costly part of `is_duplicated`; hashing first and
    comparing the (few) rows whose hash repeats gives the same answer at about half the CPU.
    """

    def check(data: PolarsData) -> pl.LazyFrame:
        value = pl.col(col)
        candidates = data.lazyframe.select(value).filter(value.is_not_null() & value.hash().is_duplicated())
        repeated = candidates.filter(value.is_duplicated()).select(value.unique()).collect().to_series()
        return data.lazyframe.select((~value.is_in(repeated.implode())).fill_null(True).alias("check_output"))

    return pa.Check(check, name=f"{col}:duplicate_id")


def typed_checks(spec: ColumnSpec, koms: frozenset[int] | None) -> list[pa.Check]:
    """The column's rules over its typed values (the type rule is the column's dtype)."""
    checks: list[pa.Check] = []
    if spec.codes is not None:
        allowed = [int(c) for c in spec.codes] if spec.type in ("int", "hour") else [str(c) for c in spec.codes]
        checks.append(_column_check("not_in_codes", lambda v, a=allowed: v.is_in(a)))
    if spec.min is not None or spec.max is not None or spec.gt is not None:
        def in_range(v: pl.Expr, s: ColumnSpec = spec) -> pl.Expr:
            number, keep = v.cast(pl.Float64), pl.lit(True)
            if s.min is not None:
                keep = keep & (number >= s.min)
            if s.max is not None:
                keep = keep & (number <= s.max)
            if s.gt is not None:
                keep = keep & (number > s.gt)
            return keep

        checks.append(_column_check("out_of_range", in_range))
    if spec.pattern is not None:
        pattern = f"^(?:{spec.pattern})$"
        checks.append(_column_check("bad_format", lambda v, p=pattern: v.str.contains(p)))
    if spec.known_kom and koms is not None:
        known = sorted(koms)
        checks.append(_column_check("unknown_kom", lambda v: v.is_in(known)))
    return checks


def _typed_timestamp(reg: RegisterSpec, date_col: str, time_col: str | None) -> pl.Expr:
    day = pl.col(date_col).cast(pl.Datetime("us"))
    if time_col is None:
        return day
    if reg.column(time_col).type == "hour":
        return day + pl.duration(hours=pl.col(time_col))
    return day + (pl.col(time_col).cast(pl.Int64) // 1000).cast(pl.Duration("us"))


def _typed_period_ok(reg: RegisterSpec, p: Period) -> pl.Expr:
    start_d, end_d = pl.col(p.start_date), pl.col(p.end_date)
    ok = end_d >= start_d
    if p.start_time is not None and p.end_time is not None:
        both = pl.col(p.start_time).is_not_null() & pl.col(p.end_time).is_not_null()
        by_time = _typed_timestamp(reg, p.end_date, p.end_time) >= _typed_timestamp(reg, p.start_date, p.start_time)
        ok = pl.when(both).then(by_time).otherwise(ok)
    return ok | end_d.is_null() | start_d.is_null()


def register_model(reg: RegisterSpec, koms: frozenset[int] | None = None) -> pa.DataFrameSchema:
    """The Pandera model of one register over its typed staging rows (contract columns, dream weeks)."""
    columns = {
        c.name: pa.Column(POLARS_TYPES[c.type], nullable=not c.required, checks=typed_checks(c, koms))
        for c in reg.columns
    }
    if reg.week_columns:
        columns[f"^{reg.week_columns}$"] = pa.Column(pl.Utf8, nullable=True, regex=True)
    checks = []
    for col in reg.unique:
        # among accepted rows an id is unique: clashing rows are quarantined, copies keep the first
        checks.append(_unique_id_check(col))
    for p in reg.periods:
        checks.append(_frame_check(f"{p.end_date}:end_before_start", _typed_period_ok(reg, p)))
    return pa.DataFrameSchema(columns, checks=checks, strict=False, name=reg.name)


def model_rule_names(reg: RegisterSpec, schema: pa.DataFrameSchema) -> set[str]:
    """The reasons the model can give (`column:check`, `column:missing`, frame checks), for the parity test."""
    names = {c.name for c in schema.checks}
    for name, column in schema.columns.items():
        if column.regex:
            continue
        names |= {f"{name}:{c.name}" for c in column.checks}
        if not column.nullable:
            names.add(f"{name}:missing")
        if reg.column(name).type in TYPE_RULES:
            names.add(f"{name}:{TYPE_RULES[reg.column(name).type]}")  # the dtype
    return names


def model_reasons(schema: pa.DataFrameSchema, rows: pl.DataFrame) -> pl.DataFrame:
    """Validate `rows` eagerly; return one row per broken row: `_row_index` (0-based), `_reasons`.

    Reasons are spelled as the SQL rules spell them. Raises ValueError when the frame does not have the
    model's shape (a column missing or of another dtype).
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
