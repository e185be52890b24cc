"""Ingest assets: one per register, raw extract files -> `raw.*`, `staging.*`, `quarantine.*`, `meta.load_log`.

What belongs here: finding a register's files, judging one delivery (read, schema drift, SQL rules,
threshold, the Pandera gate), writing its rows in one transaction, the Dagster assets (yearly where the
register is yearly) and their checks:
- `valid_rows` (blocking): a delivery whose quarantined rows exceed the register's thresholds is
  refused; the check fails and reports counts by rule (never row contents).
- `row_conservation` (blocking): raw = staging + quarantine for every year, the raw archive intact.
- `unknown_codes` (warning): values of growing reference lists (coercion types, markers, DREAM codes)
  that `ref.codes` does not know; they are kept, only counted.
A delivery is judged in one pass inside DuckDB: the file's rows are read as text into a temp table
(`pipeline.readers.open_source`; a CSV by way of a temp table of its fields, read on every core,
Parquet and SAS directly), the register's rules compiled from the contract
(`schemas.registers.compile_rules`) give the `_reasons` of the broken rows, and the rows are written
with insert-from-select in one transaction. Before the commit the register's Pandera model checks the
typed rows just staged (`check_staged`): rows the rules accepted that break the model mean the two
disagree, a bug, so the delivery is rolled back and the asset fails (`RulesDisagree`).
The raw layer is an archive of files beside the warehouse (`<warehouse file>.raw/<register>/`), not a
copy inside it: an accepted Parquet or CSV delivery is kept as delivered (a CSV with the encoding it
was read in), a SAS file's rows as read are written as Parquet, and `raw.<register>` is a view over the
year's current files (meta.raw_files), switched in the delivery's transaction; the replaced file is
removed after the commit.
A refused delivery's broken rows go to quarantine only (flagged `_refused`) with its load-log row: the
last good raw/staging rows of that year stay. Schema drift or an unreadable file stops the register (the
asset fails naming file, column, expected and found type). The rules live in the contract
(`schemas/registers.yaml`) and `schemas/registers.py`, not here.
"""

import atexit
import hashlib
import json
import os
import shutil
import tempfile
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
from pipeline.readers import (
    SOURCE_ROW,
    ReadError,
    Reading,
    Source,
    csv_view_select,
    open_source,
    parquet_view_select,
    run_source,
    sql_literal,
)
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
RAW_ROWS = "_ingest_raw"  # temp table: the delivery's rows as read (text), judged and written from here
ARCHIVE_DELIVERED = "delivered"  # raw archive: a Parquet or CSV file as delivered, read through the reader's SQL
ARCHIVE_TEXT = "text"  # raw archive: a SAS file's rows as read, written as Parquet (text columns)
RAW_FILES_COLUMNS = ("register, year, file, archive, archive_format, file_hash, rows, loaded_at, csv_encoding, "
                     "archive_bytes")
ARCHIVE_PARQUET = "format parquet, compression zstd, compression_level 1"  # how a text archive is written
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
    """Column -> DuckDB type of staging and quarantine (generated from the contract); `raw` is a view."""
    data = reg.column_names + weeks
    text = dict.fromkeys(data, "VARCHAR")
    typed = {c.name: c.staging_type for c in reg.columns} | dict.fromkeys(weeks, "VARCHAR")
    return {
        "staging": typed | LINEAGE_COLUMNS,
        "quarantine": text | LINEAGE_COLUMNS | {REASONS: "VARCHAR", REFUSED: "BOOLEAN"},
    }


def ensure_tables(con: duckdb.DuckDBPyConnection, reg: RegisterSpec, weeks: list[str] | None = None) -> None:
    """Create the meta tables, the register's staging and quarantine tables and its view `raw.<register>`
    if missing (empty for downstream). A warehouse from before the raw archive (`raw.<register>` a
    table) has the table's rows written to the archive first (`_migrate_raw_table`), nothing lost."""
    run_sql_file(con, SQL_DIR / "meta.sql")
    if not (weeks is None and reg.week_columns and table_exists(con, "staging", reg.name)):
        for schema, cols in table_columns(reg, weeks or []).items():
            run_sql(con, f"create table if not exists {_table(schema, reg.name)} ({_column_defs(cols, {})})")
    kind = _relation_kind(con, "raw", reg.name)
    if kind == "BASE TABLE":
        _migrate_raw_table(con, reg)
    elif kind is None:
        rebuild_raw_view(con, reg)


def _relation_kind(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str | None:
    rows = run_sql(con, "select table_type from information_schema.tables where table_schema = $s and table_name = $t",
                   {"s": schema, "t": name})
    return rows[0][0] if rows else None


# --- the raw archive: `raw.<register>` -----------------------------------------------------------------
# The rows of each year's accepted delivery, as read, are kept as files beside the warehouse (not copied
# into it): a delivered Parquet or CSV file as it came, a SAS file's rows as read written as Parquet.
# `raw.<register>` is a view over them (meta.raw_files says which file is each year's), rebuilt in the
# transaction that stages a delivery, so the view, staging and quarantine change together.
def raw_archive_dir(warehouse: Path) -> Path:
    """The raw archive of a warehouse file: `<warehouse file>.raw/` beside it."""
    warehouse = Path(warehouse).resolve()
    return warehouse.with_name(warehouse.name + ".raw")


def archive_dir(con: duckdb.DuckDBPyConnection) -> Path:
    """The raw archive of the connection's warehouse (`raw_archive_dir`; a temporary folder, kept for the
    connection, for an in-memory database)."""
    path = run_sql(con, "select path from duckdb_databases() where database_name = current_database()")[0][0]
    if path:
        return raw_archive_dir(Path(path))
    held = run_sql(con, "select getvariable('psyk_raw_archive')")[0][0]
    if held is None:
        held = tempfile.mkdtemp(prefix="psyk-raw-")
        atexit.register(shutil.rmtree, held, True)
        run_sql(con, "set variable psyk_raw_archive = $dir", {"dir": held})
    return Path(held)


def _archive_select(con: duckdb.DuckDBPyConnection, reg: RegisterSpec, year: int | None, file: str, archive: str,
                    kind: str, loaded_at: datetime, csv_encoding: str | None) -> str:
    """One archived delivery's rows as `raw.<register>` shows them: the contract's columns (and a wide
    file's week columns) as text, then the lineage columns. Literals, not parameters: it is a view."""
    path = archive_dir(con) / reg.name / archive
    if kind == ARCHIVE_DELIVERED and path.suffix == ".csv":
        rows = csv_view_select(con, path, csv_encoding or "utf-8")
    elif kind == ARCHIVE_DELIVERED:
        rows = parquet_view_select(con, path)
    else:
        rows = f"select * from read_parquet({sql_literal(str(path))})"
    present = [r[0] for r in run_sql(con, f"describe {rows}")]
    data = reg.column_names + sorted(c for c in present if reg.is_week_column(c))
    cols = ", ".join(quote_identifier(c) for c in data)
    year_sql = "null" if year is None else str(int(year))
    return (f"select {cols}, cast({year_sql} as integer) as _year, {sql_literal(file)} as _source_file, "
            f"{SOURCE_ROW}, cast({sql_literal(loaded_at.isoformat(sep=' '))} as timestamp) as _loaded_at "
            f"from ({rows})")


def rebuild_raw_view(con: duckdb.DuckDBPyConnection, reg: RegisterSpec) -> None:
    """(Re)create `raw.<register>` over the archived deliveries meta.raw_files lists (no rows if none)."""
    files = run_sql(con, "select year, file, archive, archive_format, loaded_at, csv_encoding from meta.raw_files "
                    "where register = $register order by year nulls first", {"register": reg.name})
    if files:
        body = " union all by name ".join(_archive_select(con, reg, *f) for f in files)
    else:
        cols = {**dict.fromkeys(reg.column_names, "VARCHAR"), **LINEAGE_COLUMNS}
        body = "select " + ", ".join(f"cast(null as {t}) as {quote_identifier(c)}" for c, t in cols.items()) + " where false"
    run_sql(con, f"create or replace view {_table('raw', reg.name)} as {body}")


def _archive_delivery(con: duckdb.DuckDBPyConnection, reg: RegisterSpec, year: int | None, path: Path, src: Source,
                      reading: Reading, data: list[str], digest: str, rows: int, loaded_at: datetime) -> None:
    """Keep the accepted delivery's rows as read in the archive (inside the delivery's transaction) and
    point meta.raw_files and `raw.<register>` at them. The file is written under a temporary name and
    renamed; the year's previous file is removed after the commit (`prune_archive`). A Parquet or CSV
    file is kept as delivered (a CSV with the encoding it was read in), a SAS file's rows as read as
    Parquet (DuckDB cannot read SAS)."""
    folder = archive_dir(con) / reg.name
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{'all' if year is None else int(year)}_{digest[:16]}"
    encoding = None
    if src.file_format in ("parquet", "csv"):
        kind, name = ARCHIVE_DELIVERED, f"{stem}.{src.file_format}"
        shutil.copyfile(path, folder / f"{name}.tmp")
        if src.file_format == "csv":
            encoding = (reading.prepare_params or {})["encoding"]
    else:
        kind, name = ARCHIVE_TEXT, f"{stem}.text.parquet"
        cols = ", ".join(quote_identifier(c) for c in [SOURCE_ROW, *data])
        # zstd level 1: as fast as the default snappy here, half the size (national bef CSV: 52 / 107 MB)
        run_sql(con, f"copy (select {cols} from {RAW_ROWS}) to {sql_literal(str(folder / (name + '.tmp')))} "
                f"({ARCHIVE_PARQUET})")
    os.replace(folder / f"{name}.tmp", folder / name)
    run_sql(con, "delete from meta.raw_files where register = $register and year is not distinct from $year; "
            f"insert into meta.raw_files ({RAW_FILES_COLUMNS}) values ($register, $year, $file, $archive, $kind, $hash, "
            "$rows, $loaded_at, $encoding, $bytes)",
            {"register": reg.name, "year": year, "file": path.name, "archive": name, "kind": kind, "hash": digest,
             "rows": rows, "loaded_at": loaded_at, "encoding": encoding, "bytes": (folder / name).stat().st_size})
    rebuild_raw_view(con, reg)


def prune_archive(con: duckdb.DuckDBPyConnection, reg: RegisterSpec) -> None:
    """Remove the register's archive files meta.raw_files no longer names (replaced years, a rolled-back
    delivery's file, a temporary file a killed run left)."""
    folder = archive_dir(con) / reg.name
    if not folder.is_dir():
        return
    keep = {r[0] for r in run_sql(con, "select archive from meta.raw_files where register = $register",
                                  {"register": reg.name})}
    for f in folder.iterdir():
        if f.name not in keep:
            f.unlink(missing_ok=True)


def _migrate_raw_table(con: duckdb.DuckDBPyConnection, reg: RegisterSpec) -> None:
    """A warehouse from before the raw archive: write each delivery's rows of the table `raw.<register>`
    to the archive (as read, in file order), list them in meta.raw_files, and put the view in its place."""
    table = _table("raw", reg.name)
    lineage = set(LINEAGE_COLUMNS)
    cols = [r[0] for r in run_sql(con, f"describe {table}") if r[0] not in lineage]
    folder = archive_dir(con) / reg.name
    folder.mkdir(parents=True, exist_ok=True)
    con.begin()
    try:
        deliveries = run_sql(con, f"select _year, _source_file, _loaded_at, count(*) from {table} group by all")
        for year, file, loaded_at, rows in deliveries:
            name = f"{'all' if year is None else int(year)}_migrated_{loaded_at:%Y%m%dT%H%M%S%f}.text.parquet"
            select = ", ".join(quote_identifier(c) for c in [SOURCE_ROW, *cols])
            run_sql(con, f"copy (select {select} from {table} where _year is not distinct from $year and "
                    f"_source_file = $file and _loaded_at = $loaded_at order by {SOURCE_ROW}) to "
                    f"{sql_literal(str(folder / name))} ({ARCHIVE_PARQUET})",
                    {"year": year, "file": file, "loaded_at": loaded_at})
            run_sql(con, f"insert into meta.raw_files ({RAW_FILES_COLUMNS}) values ($register, $year, $file, $archive, "
                    "$kind, null, $rows, $loaded_at, null, $bytes)",
                    {"register": reg.name, "year": year, "file": file, "archive": name, "kind": ARCHIVE_TEXT,
                     "rows": rows, "loaded_at": loaded_at, "bytes": (folder / name).stat().st_size})
        run_sql(con, f"drop table {table}")
        rebuild_raw_view(con, reg)
        con.commit()
    except Exception:
        con.rollback()
        prune_archive(con, reg)
        raise


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


def _read_rows(con: duckdb.DuckDBPyConnection, src: Source) -> tuple[int, Reading]:
    """Read the delivery's rows as read (text) into the temp table RAW_ROWS; count them; and the reading
    that worked (a CSV's encoding).

    A temp table lives in memory (spilled past the memory limit) and is never written to the warehouse
    file: the judging and the writes read it, and the raw archive keeps the rows (`_archive_delivery`).
    A CSV that is not UTF-8 after all is read again as Latin-1 (`run_source`).
    """
    used: list[Reading] = []
    run_source(con, src, lambda rows: f"create or replace temp table {RAW_ROWS} as select * from {rows}", used=used)
    return int(run_sql(con, f"select count(*) from {RAW_ROWS}")[0][0]), used[0]


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
    """Quarantine every broken row of a refused delivery (RAW_ROWS), flagged `_refused`."""
    if weeks:
        _add_missing_columns(con, "quarantine", reg, weeks)
    _delete_year(con, _table("quarantine", reg.name), year, f"and {REFUSED}")
    _insert_quarantine(con, reg, RAW_ROWS, data, lineage, refused=True)


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
        run_sql(con, f"drop table if exists {RAW_ROWS}; drop table if exists {BAD_ROWS}")


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
    delivery.rows_read, reading = _read_rows(con, src)
    _judge_rows(con, reg, RAW_ROWS, weeks, delivery, known_koms)
    con.begin()
    try:
        if delivery.status != "refused":
            if reg.week_columns:  # a wide file brings its week columns: its tables are rebuilt with them
                for schema, cols in table_columns(reg, weeks).items():
                    run_sql(con, f"create or replace table {_table(schema, reg.name)} ({_column_defs(cols, {})})")
            _write_accepted(con, reg, year, RAW_ROWS, data, weeks, lineage)
            check_staged(con, reg, year, path.name, data, known_koms)
            _archive_delivery(con, reg, year, path, src, reading, data, log["digest"], delivery.rows_read,
                              log["loaded_at"])
        else:  # refused: its broken rows go to quarantine only (flagged); the year's last good rows stay
            _write_refused(con, reg, year, data, weeks, lineage)
        _log(con, reg, delivery, result=src, **log)
        con.commit()
    except Exception:
        con.rollback()
        raise
    finally:
        prune_archive(con, reg)
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


def archive_problems(con: duckdb.DuckDBPyConnection, reg: RegisterSpec) -> list[str]:
    """The register's archive files (meta.raw_files) that are missing or no longer of their written size."""
    folder = archive_dir(con) / reg.name
    problems = []
    for archive, size in run_sql(con, "select archive, archive_bytes from meta.raw_files where register = $register "
                                      "order by year nulls first", {"register": reg.name}):
        path = folder / archive
        if not path.is_file():
            problems.append(f"{archive} missing")
        elif size is not None and path.stat().st_size != size:
            problems.append(f"{archive} changed ({path.stat().st_size} bytes, written {size})")
    return problems


def conservation_result(con: duckdb.DuckDBPyConnection, reg: RegisterSpec) -> dg.AssetCheckResult:
    """raw = staging + quarantine for every year, and = rows read by the accepted delivery of that year.

    A year's raw rows are those its archive file holds, counted when they were read and written
    (meta.raw_files), not counted again here (a delivered CSV would be parsed once more); the check
    makes sure every archive file is still there with the size it was written with."""
    sql = (SQL_DIR / "conservation.sql").read_text(encoding="utf-8").format(
        staging=_table("staging", reg.name), quarantine=_table("quarantine", reg.name)
    )
    if not table_exists(con, "raw", reg.name):
        return dg.AssetCheckResult(passed=True, description="no tables yet")
    missing = archive_problems(con, reg)
    if missing:
        return dg.AssetCheckResult(
            passed=False, metadata={"archive": str(archive_dir(con) / reg.name)},
            description=f"raw.{reg.name}: the raw archive is not as written ({'; '.join(missing)}); "
                        "load the register's files again to rebuild it",
        )
    counts = run_sql(con, sql, {"register": reg.name})
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
