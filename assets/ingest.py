"""Ingest assets: one per register, raw extract files -> `raw.*`, `staging.*`, `quarantine.*`, `meta.load_log`.

What belongs here: finding a register's files, judging one delivery (read, schema drift, SQL rules,
threshold, the Pandera gate), writing its rows in one transaction, the Dagster assets (yearly where the
register is yearly) and their checks:
- `valid_rows` (blocking): a delivery whose quarantined rows exceed the register's thresholds is
  refused; the check fails and reports counts by rule (never row contents).
- `row_conservation` (blocking): raw = staging + quarantine for every year.
- `unknown_codes` (warning): values of growing reference lists (coercion types, markers, DREAM codes)
  that `ref.codes` does not know; they are kept, only counted.
A delivery is judged in one pass inside DuckDB: the file's rows go as read (text) straight into
`raw.<register>` in place of that year's (`pipeline.readers.open_source`; a CSV by way of a temp table
of its fields, read on every core, Parquet and SAS directly), the register's
rules compiled from the contract (`schemas.registers.compile_rules`) give the `_reasons` of the broken
rows, and the rows are written with insert-from-select, all in one transaction. Before the commit the
register's Pandera model checks the typed rows just staged (`check_staged`): rows the rules accepted
that break the model mean the two disagree, a bug, so the delivery is rolled back and the asset fails
(`RulesDisagree`).
A refused delivery is rolled back and read again for its quarantine rows (flagged `_refused`) and its
load-log row: the last good raw/staging rows of that year stay (refusals are rare; the common case reads
the file once). Schema drift or an unreadable file stops the register (the
asset fails naming file, column, expected and found type). The rules live in the contract
(`schemas/registers.yaml`) and `schemas/registers.py`, not here.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource

from pipeline.contract import LINEAGE_COLUMNS, REGISTER_NAMES, RegisterSpec, load_contract, quote_identifier
from pipeline.db import run_sql, run_sql_file, table_exists
from pipeline.partitions import SINGLE_RUN, YEARS, partition_years
from pipeline.readers import SOURCE_ROW, ReadError, Source, open_source, run_source
from pipeline.resources import SettingsResource
from schemas.registers import (
    REASONS,
    compile_rules,
    install_parse_macros,
    known_municipalities,
    model_reasons,
    register_model,
    staging_select,
)

SQL_DIR = Path(__file__).resolve().parent / "sql" / "ingest"
GROUP = "ingest"
REFUSED = "_refused"
RAW_ROWS = "_ingest_raw"  # temp view: the delivery's rows in raw.<register> (text), inserted by `_insert_raw`
READ_ROWS = "_ingest_rows"  # temp table: a refused delivery as read again (text), for its quarantine rows
BAD_ROWS = "_ingest_bad"  # temp table: `_source_row`, `_reasons` of its broken rows
# contract type -> kinds a typed file (Parquet, SAS) may deliver for it; text always fits
COMPATIBLE_KINDS = {
    "str": {"string", "numeric"},
    "int": {"numeric", "string"},
    "hour": {"numeric", "string"},
    "float": {"numeric", "string"},
    "date": {"date", "datetime", "string"},
    "time": {"time", "string"},
}
UNTYPED_KINDS = {"text", "null"}  # CSV columns and all-empty columns say nothing about the type


@dataclass
class Delivery:
    """The outcome of judging one file of a register (one row of meta.load_log)."""

    register: str
    year: int | None
    file: str
    status: str  # loaded | refused | schema_drift | unreadable
    rows_read: int = 0
    rows_staged: int = 0
    rows_quarantined: int = 0
    rule_counts: dict[str, int] = field(default_factory=dict)
    message: str | None = None


class DeliveryProblem(Exception):
    """The file cannot be judged row by row (schema drift); the message names file and column."""


# --- files -------------------------------------------------------------------------------------------
def register_files(raw_dir: Path, reg: RegisterSpec) -> dict[int | None, Path]:
    """The register's files under `raw_dir/<register>/`: year -> file (key None for one-file registers)."""
    folder = Path(raw_dir) / reg.name
    if not folder.is_dir():
        return {}
    pattern = reg.file_name_pattern()
    found: dict[int | None, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        m = pattern.match(path.name)
        if m and path.is_file():
            key = int(m.group("year")) if reg.yearly else None
            found.setdefault(key, []).append(path)
    clashes = {k: v for k, v in found.items() if len(v) > 1}
    if clashes:
        names = "; ".join(", ".join(p.name for p in v) for v in clashes.values())
        raise ReadError(f"{reg.name}: more than one file for the same delivery: {names}")
    return {k: v[0] for k, v in found.items()}


def file_hash(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# --- tables ------------------------------------------------------------------------------------------
def _table(schema: str, reg_name: str) -> str:
    return f"{schema}.{quote_identifier(reg_name)}"


def _column_defs(columns: dict[str, str], extra: dict[str, str]) -> str:
    return ", ".join(f"{quote_identifier(c)} {t}" for c, t in {**columns, **extra}.items())


def table_columns(reg: RegisterSpec, weeks: list[str]) -> dict[str, dict[str, str]]:
    """Column -> DuckDB type of raw, staging and quarantine (generated from the contract)."""
    data = reg.column_names + weeks
    text = dict.fromkeys(data, "VARCHAR")
    typed = {c.name: c.staging_type for c in reg.columns} | dict.fromkeys(weeks, "VARCHAR")
    return {
        "raw": text | LINEAGE_COLUMNS,
        "staging": typed | LINEAGE_COLUMNS,
        "quarantine": text | LINEAGE_COLUMNS | {REASONS: "VARCHAR", REFUSED: "BOOLEAN"},
    }


def ensure_tables(con: duckdb.DuckDBPyConnection, reg: RegisterSpec, weeks: list[str] | None = None) -> None:
    """Create the meta tables and the register's three tables if missing (empty tables for downstream)."""
    run_sql_file(con, SQL_DIR / "meta.sql")
    if weeks is None and reg.week_columns and table_exists(con, "staging", reg.name):
        return
    for schema, cols in table_columns(reg, weeks or []).items():
        run_sql(con, f"create table if not exists {_table(schema, reg.name)} ({_column_defs(cols, {})})")


def _add_missing_columns(con: duckdb.DuckDBPyConnection, schema: str, reg: RegisterSpec, cols: list[str]) -> None:
    have = {
        r[0]
        for r in run_sql(
            con,
            "select column_name from information_schema.columns where table_schema = $s and table_name = $t",
            {"s": schema, "t": reg.name},
        )
    }
    for c in cols:
        if c not in have:
            run_sql(con, f"alter table {_table(schema, reg.name)} add column {quote_identifier(c)} VARCHAR")


# --- judging one delivery ----------------------------------------------------------------------------
def previous_kinds(con: duckdb.DuckDBPyConnection, register: str) -> dict[str, tuple[str, str]]:
    """Column -> (kind, file) as last delivered in a typed format by an earlier readable delivery."""
    latest: dict[str, tuple[str, str]] = {}
    for file, types in run_sql_file(con, SQL_DIR / "previous_column_types.sql", {"register": register}):
        for col, kind in json.loads(types).items():
            if kind not in UNTYPED_KINDS:
                latest[col] = (kind, file)
    return latest


def schema_problems(reg: RegisterSpec, result: Source, file: str, previous: dict[str, tuple[str, str]]) -> list[str]:
    """Missing contract columns and columns whose type does not fit the contract or changed since the last delivery."""
    problems = []
    present = set(result.columns)
    for c in reg.columns:
        if c.name not in present:
            problems.append(f"{file}: required column {c.name!r} ({c.type}) is missing")
            continue
        kind = result.kinds[c.name]
        if kind in UNTYPED_KINDS:
            continue
        if kind not in COMPATIBLE_KINDS[c.type]:
            problems.append(f"{file}: column {c.name!r} has type {kind}, expected {c.type} (contract)")
        elif c.name in previous and previous[c.name][0] != kind:
            before, before_file = previous[c.name]
            problems.append(
                f"{file}: column {c.name!r} changed type: expected {before} (as in {before_file}), found {kind}"
            )
    return problems


def rule_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per broken rule of the judged delivery (a row breaking two rules counts under both)."""
    rows = run_sql(
        con,
        f"select rule, count(*) from (select unnest(string_split({REASONS}, ';')) as rule from {BAD_ROWS}) "
        "group by rule order by rule",
    )
    return {rule: n for rule, n in rows}


class RulesDisagree(Exception):
    """Rows the SQL rules accepted break the Pandera model: a bug in the rules; the delivery is not staged."""


def _lineage(data: list[str]) -> str:
    cols = ", ".join(quote_identifier(c) for c in data)
    return (f"{cols}, cast($year as integer) as _year, $file as _source_file, {SOURCE_ROW}, "
            "cast($loaded_at as timestamp) as _loaded_at")


def _year_filter(year: int | None) -> str:
    """SQL condition for the rows of one delivery's year (a one-file register's rows have no year)."""
    return "_year is null" if year is None else f"_year = {int(year)}"


def _delete_year(con: duckdb.DuckDBPyConnection, table: str, year: int | None, extra: str = "") -> None:
    run_sql(con, f"delete from {table} where {_year_filter(year)} {extra}")


def _insert_quarantine(con, reg: RegisterSpec, rows: str, data: list[str], lineage: dict[str, Any],
                       refused: bool) -> None:
    run_sql(
        con,
        f"insert into {_table('quarantine', reg.name)} by name select {_lineage(data)}, {REASONS}, "
        f"{'true' if refused else 'false'} as {REFUSED} from {rows} join {BAD_ROWS} using ({SOURCE_ROW}) "
        f"order by {SOURCE_ROW}",
        lineage,
    )


def _insert_raw(con: duckdb.DuckDBPyConnection, reg: RegisterSpec, year: int | None, src: Source, weeks: list[str],
                lineage: dict[str, Any]) -> int:
    """Begin the delivery's transaction and put its rows, as read, into `raw` in place of the year's; count them.

    The rows go from the file straight into `raw.<register>` (no temp copy): the judging then reads them
    there. A wide file (dream) brings its week columns, so its three tables are rebuilt with them first.
    A CSV that is not UTF-8 after all is read again as Latin-1 (the failed try is rolled back).
    """
    data = reg.column_names + weeks

    def begin() -> None:
        con.begin()
        if reg.week_columns:
            for schema, cols in table_columns(reg, weeks).items():
                run_sql(con, f"create or replace table {_table(schema, reg.name)} ({_column_defs(cols, {})})")
        _delete_year(con, _table("raw", reg.name), year)

    def retry() -> None:
        con.rollback()
        begin()

    begin()
    try:
        rows = run_source(con, src, lambda rows: f"insert into {_table('raw', reg.name)} by name select "
                          f"{_lineage(data)} from {rows}", lineage, before_retry=retry)
    except Exception:
        con.rollback()
        raise
    return int(rows[0][0])


def _write_accepted(con, reg: RegisterSpec, year: int | None, rows: str, data: list[str], weeks: list[str],
                    lineage: dict[str, Any]) -> None:
    """Stage the accepted rows of `rows` (the delivery's raw rows) and quarantine the broken ones."""
    for schema in ("staging", "quarantine"):
        _delete_year(con, _table(schema, reg.name), year)
    typed = staging_select(reg, weeks)
    run_sql(
        con,
        f"insert into {_table('staging', reg.name)} by name select {typed}, cast($year as integer) as _year, "
        f"$file as _source_file, {SOURCE_ROW}, cast($loaded_at as timestamp) as _loaded_at from {rows} "
        f"where {SOURCE_ROW} not in (select {SOURCE_ROW} from {BAD_ROWS})",
        lineage,
    )
    _insert_quarantine(con, reg, rows, data, lineage, refused=False)


def _write_refused(con, reg: RegisterSpec, year: int | None, data: list[str], weeks: list[str],
                   lineage: dict[str, Any]) -> None:
    """Quarantine every broken row of a refused delivery (read again into READ_ROWS), flagged `_refused`."""
    if weeks:
        _add_missing_columns(con, "quarantine", reg, weeks)
    _delete_year(con, _table("quarantine", reg.name), year, f"and {REFUSED}")
    _insert_quarantine(con, reg, READ_ROWS, data, lineage, refused=True)


def check_staged(con: duckdb.DuckDBPyConnection, reg: RegisterSpec, year: int | None, file: str, data: list[str],
                 known_koms: frozenset[int] | None) -> None:
    """Run the register's Pandera model eagerly on the typed rows just staged; raise RulesDisagree if broken.

    Week columns (dream) are checked on the table's shape, not row by row: their only rule is their
    dtype (text, empty allowed), so the model checks them on a frame with no rows, and the contract
    columns on every row (a 650 k x 800 frame of mostly empty weeks is never built).
    """
    model = register_model(reg, known_koms)
    table = _table("staging", reg.name)
    try:
        if reg.week_columns and len(data) > len(reg.column_names):
            shape = con.sql(f"select {', '.join(quote_identifier(c) for c in data)} from {table} limit 0").pl()
            model_reasons(model, shape)
            model = model.remove_columns([f"^{reg.week_columns}$"])
            data = reg.column_names
        cols = ", ".join(quote_identifier(c) for c in data)
        staged = con.sql(f"select {cols} from {table} where {_year_filter(year)}").pl()
        broken = model_reasons(model, staged)
    except ValueError as exc:
        raise RulesDisagree(f"{file}: the staged rows do not fit the Pandera model of {reg.name}: {exc}") from exc
    if broken.height:
        counts = broken.select(pl.col(REASONS).str.split(";")).explode(REASONS)[REASONS].value_counts(sort=True)
        by_rule = ", ".join(f"{r} {n}" for r, n in sorted(counts.rows()))
        raise RulesDisagree(
            f"{file}: {broken.height} row(s) accepted by the SQL rules break the Pandera model of {reg.name} "
            f"({by_rule}); the rules and the model disagree (a bug): nothing of this delivery was staged"
        )


def _log(con, reg: RegisterSpec, d: Delivery, *, loaded_at: datetime, digest: str | None, run_id: str | None,
         result: Source | None) -> None:
    run_sql_file(
        con,
        SQL_DIR / "insert_load_log.sql",
        {
            "register": d.register,
            "year": d.year,
            "file": d.file,
            "rows_read": d.rows_read,
            "rows_staged": d.rows_staged,
            "rows_quarantined": d.rows_quarantined,
            "rule_counts": json.dumps(d.rule_counts, sort_keys=True),
            "status": d.status,
            "loaded_at": loaded_at,
            "file_hash": digest,
            "run_id": run_id,
            "message": d.message,
            "file_format": result.file_format if result else None,
            "column_types": json.dumps(result.kinds, sort_keys=True) if result else None,
            "max_rows": reg.thresholds.max_rows,
            "max_share": reg.thresholds.max_share,
        },
    )


def load_delivery(
    con: duckdb.DuckDBPyConnection,
    reg: RegisterSpec,
    path: Path,
    year: int | None,
    *,
    run_id: str | None = None,
    known_koms: frozenset[int] | None = None,
) -> Delivery:
    """Judge one file and write it: accepted -> raw/staging/quarantine of its year; refused -> quarantine only.

    Every outcome is logged in meta.load_log. Raises nothing for bad data; the returned status says
    what happened (`schema_drift` and `unreadable` leave every table as it was). Raises RulesDisagree
    (nothing written) when staged rows break the Pandera model.
    """
    path = Path(path)
    ensure_tables(con, reg)
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    digest = file_hash(path)
    delivery = Delivery(reg.name, year, path.name, status="loaded")
    log = {"loaded_at": loaded_at, "digest": digest, "run_id": run_id}
    try:
        with open_source(con, path) as src:
            return _judge(con, reg, path, year, src, delivery, log, known_koms=known_koms)
    except ReadError as exc:
        delivery.status, delivery.message = "unreadable", str(exc)
        delivery.rows_read = delivery.rows_staged = delivery.rows_quarantined = 0
        delivery.rule_counts = {}
        _log(con, reg, delivery, result=None, **log)
        return delivery
    finally:
        run_sql(con, f"drop view if exists {RAW_ROWS}; drop table if exists {READ_ROWS}; "
                f"drop table if exists {BAD_ROWS}")


def _judge(con, reg: RegisterSpec, path: Path, year: int | None, src: Source, delivery: Delivery,
           log: dict[str, Any], *, known_koms: frozenset[int] | None) -> Delivery:
    problems = schema_problems(reg, src, path.name, previous_kinds(con, reg.name))
    if problems:
        delivery.rows_read = int(run_source(con, src, lambda rows: f"select count(*) from {rows}")[0][0])
        delivery.status, delivery.message = "schema_drift", "; ".join(problems)
        _log(con, reg, delivery, result=src, **log)
        return delivery

    weeks = sorted(c for c in src.columns if reg.is_week_column(c))
    data = reg.column_names + weeks
    lineage = {"year": year, "file": path.name, "loaded_at": log["loaded_at"]}
    install_parse_macros(con)
    delivery.rows_read = _insert_raw(con, reg, year, src, weeks, lineage)  # the transaction is open from here
    try:
        run_sql(con, f"create or replace temp view {RAW_ROWS} as select * from {_table('raw', reg.name)} "
                f"where {_year_filter(year)}")
        _judge_rows(con, reg, RAW_ROWS, weeks, delivery, known_koms)
        if delivery.status != "refused":
            _write_accepted(con, reg, year, RAW_ROWS, data, weeks, lineage)
            check_staged(con, reg, year, path.name, data, known_koms)
            _log(con, reg, delivery, result=src, **log)
            con.commit()
            return delivery
        con.rollback()  # refused: the last good rows of this year stay
    except Exception:
        con.rollback()
        raise
    # refused: its rows go to quarantine only (flagged), read again; refusals are rare
    run_source(con, src, lambda rows: f"create or replace temp table {READ_ROWS} as select * from {rows}")
    _judge_rows(con, reg, READ_ROWS, weeks, delivery, known_koms)
    con.begin()
    try:
        _write_refused(con, reg, year, data, weeks, lineage)
        _log(con, reg, delivery, result=src, **log)
        con.commit()
    except Exception:
        con.rollback()
        raise
    return delivery


def _judge_rows(con: duckdb.DuckDBPyConnection, reg: RegisterSpec, rows: str, weeks: list[str], delivery: Delivery,
                known_koms: frozenset[int] | None) -> None:
    """Run the rules over the delivery's rows (relation `rows`): BAD_ROWS, counts, refused or not."""
    rules = compile_rules(reg, rows, weeks, known_koms)
    run_sql(con, f"create or replace temp table {BAD_ROWS} as {rules.sql}", rules.params)
    delivery.rule_counts = rule_counts(con)
    delivery.rows_quarantined = run_sql(con, f"select count(*) from {BAD_ROWS}")[0][0]
    if reg.thresholds.exceeded(delivery.rows_quarantined, delivery.rows_read):
        delivery.status, delivery.message, delivery.rows_staged = "refused", refusal_message(reg, delivery), 0
    else:
        delivery.rows_staged = delivery.rows_read - delivery.rows_quarantined


def refusal_message(reg: RegisterSpec, d: Delivery) -> str:
    share = d.rows_quarantined / d.rows_read if d.rows_read else 0.0
    rules = ", ".join(f"{rule} {n}" for rule, n in sorted(d.rule_counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return (
        f"{d.file}: {d.rows_quarantined} of {d.rows_read} rows quarantined ({share:.2%}), above the limit of "
        f"{reg.thresholds.max_rows} rows or {reg.thresholds.max_share:.2%}; by rule: {rules}. "
        "The previous staging rows of this delivery are kept."
    )


def ingest_register(
    con: duckdb.DuckDBPyConnection,
    reg: RegisterSpec,
    raw_dir: Path,
    years: list[int] | None,
    *,
    run_id: str | None = None,
    known_koms: frozenset[int] | None = None,
) -> list[Delivery]:
    """Load the register's files for `years` (all of a one-file register) in year order."""
    ensure_tables(con, reg)
    files = register_files(raw_dir, reg)
    wanted = sorted(k for k in files if k is None or years is None or k in years)
    return [load_delivery(con, reg, files[k], k, run_id=run_id, known_koms=known_koms) for k in wanted]


# --- Dagster ------------------------------------------------------------------------------------------
def _summary(deliveries: list[Delivery]) -> dict[str, Any]:
    return {
        "files": len(deliveries),
        "rows_read": sum(d.rows_read for d in deliveries),
        "rows_staged": sum(d.rows_staged for d in deliveries),
        "rows_quarantined": sum(d.rows_quarantined for d in deliveries),
        "refused_files": [d.file for d in deliveries if d.status == "refused"],
    }


def _run_ingest(context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: SettingsResource,
                reg: RegisterSpec) -> None:
    years = partition_years(context) if reg.yearly else None
    koms = known_municipalities()
    if koms is None and any(c.known_kom for c in reg.columns):
        context.log.warning(f"{reg.name}: pipeline/reference/geography.csv not found; rule unknown_kom skipped")
    try:
        with duckdb.get_connection() as con:
            deliveries = ingest_register(con, reg, settings.raw_path, years, run_id=context.run.run_id, known_koms=koms)
    except (ReadError, RulesDisagree) as exc:
        raise dg.Failure(description=str(exc)) from exc
    for d in deliveries:
        context.log.info(
            f"{d.file}: {d.status}, {d.rows_read} read, {d.rows_staged} staged, {d.rows_quarantined} quarantined"
        )
    summary = _summary(deliveries)
    context.add_output_metadata(
        {
            **{k: v for k, v in summary.items() if k != "refused_files"},
            "years_without_file": [y for y in (years or []) if y not in {d.year for d in deliveries}],
            "refused_files": summary["refused_files"],
        }
    )
    stopped = [d for d in deliveries if d.status in ("schema_drift", "unreadable")]
    if stopped:
        raise dg.Failure(
            description=f"{reg.name} stopped: " + " | ".join(d.message or d.status for d in stopped),
            metadata={"stopped_files": [d.file for d in stopped]},
        )


def _make_asset(reg: RegisterSpec) -> dg.AssetsDefinition:
    @dg.asset(
        name=reg.name,
        group_name=GROUP,
        partitions_def=YEARS if reg.yearly else None,
        backfill_policy=SINGLE_RUN if reg.yearly else None,
        pool="warehouse",
        kinds={"duckdb"},
        description=f"{reg.description}: raw.{reg.name}, staging.{reg.name}, quarantine.{reg.name}",
    )
    def _asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: SettingsResource) -> None:
        _run_ingest(context, duckdb, settings, reg)

    return _asset


def _rows(con: duckdb.DuckDBPyConnection, sql_file: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rel = con.sql((SQL_DIR / sql_file).read_text(encoding="utf-8"), params=params)
    names = rel.columns
    return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]


def valid_rows_result(con: duckdb.DuckDBPyConnection, register: str, run_id: str | None) -> dg.AssetCheckResult:
    """Pass unless a delivery of this run was refused; counts by rule as metadata."""
    if not table_exists(con, "meta", "load_log"):
        return dg.AssetCheckResult(passed=True, description="no deliveries loaded yet")
    rows = _rows(con, "run_deliveries.sql", {"register": register, "run_id": run_id or ""})
    by_rule: dict[str, int] = {}
    for r in rows:
        for rule, n in json.loads(r["rule_counts"] or "{}").items():
            by_rule[rule] = by_rule.get(rule, 0) + n
    refused = [r for r in rows if r["status"] != "loaded"]
    metadata = {
        "deliveries": len(rows),
        "rows_read": sum(r["rows_read"] or 0 for r in rows),
        "rows_staged": sum(r["rows_staged"] or 0 for r in rows),
        "rows_quarantined": sum(r["rows_quarantined"] or 0 for r in rows),
        "quarantined_by_rule": dg.MetadataValue.json(dict(sorted(by_rule.items()))),
        "refused_files": dg.MetadataValue.json([r["file"] for r in refused]),
        "max_rows": rows[0]["max_rows"] if rows else None,
        "max_share": rows[0]["max_share"] if rows else None,
    }
    description = " | ".join(r["message"] or f"{r['file']}: {r['status']}" for r in refused) or None
    return dg.AssetCheckResult(passed=not refused, metadata=metadata, description=description)


def conservation_result(con: duckdb.DuckDBPyConnection, reg: RegisterSpec) -> dg.AssetCheckResult:
    """raw = staging + quarantine for every year, and = rows read by the accepted delivery of that year."""
    sql = (SQL_DIR / "conservation.sql").read_text(encoding="utf-8").format(
        raw=_table("raw", reg.name), staging=_table("staging", reg.name), quarantine=_table("quarantine", reg.name)
    )
    if not table_exists(con, "raw", reg.name):
        return dg.AssetCheckResult(passed=True, description="no tables yet")
    counts = run_sql(con, sql)
    accepted = {r["year"]: r["rows_read"] for r in _rows(con, "accepted_deliveries.sql", {"register": reg.name})}
    broken = []
    for year, raw_n, staging_n, quarantine_n in counts:
        label = year if year is not None else "all"
        if raw_n != staging_n + quarantine_n:
            broken.append(f"{label}: raw {raw_n} != staging {staging_n} + quarantine {quarantine_n}")
        elif year in accepted and accepted[year] != raw_n:
            broken.append(f"{label}: raw {raw_n} != rows read {accepted[year]} by the accepted delivery")
    metadata = {
        "years_checked": len(counts),
        "raw_rows": sum(r[1] for r in counts),
        "staging_rows": sum(r[2] for r in counts),
        "quarantine_rows": sum(r[3] for r in counts),
    }
    return dg.AssetCheckResult(passed=not broken, metadata=metadata, description="; ".join(broken) or None)


def unknown_codes_result(con: duckdb.DuckDBPyConnection, reg: RegisterSpec) -> dg.AssetCheckResult:
    """Counts of values of growing reference lists that ref.codes does not know (WARN, never blocking)."""
    if not table_exists(con, "ref", "codes"):
        return dg.AssetCheckResult(passed=True, description="ref.codes not loaded: check skipped",
                                   metadata={"skipped": True})
    counts: dict[str, int] = {}
    for c in reg.columns:
        if c.reference_list:
            sql = (SQL_DIR / "unknown_codes.sql").read_text(encoding="utf-8").format(
                table=_table("staging", reg.name), column=quote_identifier(c.name)
            )
            for year, rows_unknown, _codes in run_sql(con, sql, {"list_name": c.reference_list}):
                counts[f"{c.name}:{year if year is not None else 'all'}"] = rows_unknown
    if reg.week_reference_list and _has_week_columns(con, reg):
        cells, _codes = run_sql_file(con, SQL_DIR / "unknown_week_codes.sql", {"list_name": reg.week_reference_list})[0]
        if cells:
            counts["week_cells"] = cells
    total = sum(counts.values())
    return dg.AssetCheckResult(
        passed=total == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"unknown_total": total, "unknown_by_column_and_year": dg.MetadataValue.json(counts)},
        description=f"{total} value(s) not in ref.codes (kept in staging)" if total else None,
    )


def _has_week_columns(con: duckdb.DuckDBPyConnection, reg: RegisterSpec) -> bool:
    cols = run_sql(
        con,
        "select column_name from information_schema.columns where table_schema = 'staging' and table_name = $t",
        {"t": reg.name},
    )
    return any(reg.is_week_column(c[0]) for c in cols)


def _make_checks(reg: RegisterSpec, asset: dg.AssetsDefinition) -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(asset=asset, name="valid_rows", blocking=True, pool="warehouse",
                    description=f"rules of {reg.name} (contract; Pandera gate on staged rows): quarantined rows within "
                    f"{reg.thresholds.max_rows} rows and {reg.thresholds.max_share:.2%} per delivery")
    def valid_rows(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            return valid_rows_result(con, reg.name, context.run.run_id)

    @dg.asset_check(asset=asset, name="row_conservation", blocking=True, pool="warehouse",
                    description="raw = staging + quarantine for every year")
    def row_conservation(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            return conservation_result(con, reg)

    checks = [valid_rows, row_conservation]
    if reg.week_reference_list or any(c.reference_list for c in reg.columns):
        @dg.asset_check(asset=asset, name="unknown_codes", blocking=False, pool="warehouse",
                        additional_deps=["codes"],
                        description="values of growing reference lists not in ref.codes (warning only)")
        def unknown_codes(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource) -> dg.AssetCheckResult:
            with duckdb.get_connection() as con:
                return unknown_codes_result(con, reg)

        checks.append(unknown_codes)
    return checks


CONTRACT = load_contract()
ingest_assets: list[dg.AssetsDefinition] = [_make_asset(CONTRACT[name]) for name in REGISTER_NAMES]
ingest_checks: list[dg.AssetChecksDefinition] = [
    check for asset in ingest_assets for check in _make_checks(CONTRACT[asset.key.path[-1]], asset)
]
