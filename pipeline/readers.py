"""Readers for register extracts: Parquet, CSV (`;` or `,`, UTF-8 or Latin-1) and SAS7BDAT.

A reader gives the rows *as read* as a DuckDB SELECT (`open_source`, run by `run_source`, so that a
caller writes them where they belong in one pass) or puts them into a temp table (`read_into`): every
column as text (so the validation sees exactly what was delivered and the quarantine can keep it),
column names lower-case, blank text as null, and a `_source_row` column (1-based data row in the file). It also
reports each column's kind in the file (`string`, `numeric`, `date`, `datetime`, `time`, `boolean`,
`null`; `text` for CSV, which carries no types) so the ingest can notice a column whose type changed
between deliveries. Parquet and CSV are read by DuckDB itself (no round trip through Python); SAS
through pyreadstat, whose frame is handed to DuckDB as Arrow and normalised by the same SQL.
`read_extract` returns the same rows as a Polars frame (tests, the synthetic generator's checks).

Normalisations that keep the text faithful to the value (`_text_sql`, the one definition for every
format): SAS stores every number as a double, so a whole-number double is written without `.0`;
native dates become `YYYY-MM-DD`, timestamps `YYYY-MM-DD HH:MM:SS`, times `HH:MM:SS`; text is trimmed
(of Unicode white space, where it starts or ends with ASCII white space) and blank text is null.
A CSV's blank lines are not rows. Nothing here knows the contract.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

SOURCE_ROW = "_source_row"
CSV_ROWS = "_csv_rows"  # temp table: a CSV's rows as read (text, file order), while a statement reads them
FORMATS = {".parquet": "parquet", ".csv": "csv", ".sas7bdat": "sas7bdat"}
# what Polars/Rust `str.strip_chars()` strips (Unicode White_Space); DuckDB's trim() takes them as a set
WHITESPACE = (
    " \t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


class ReadError(Exception):
    """A file that cannot be read as a whole (truncated, corrupt, ambiguous): names the file."""


@dataclass(frozen=True)
class ReadInfo:
    """What `read_into` put into its table: the file's columns (lower-case, file order) and their kinds."""

    table: str
    columns: list[str]
    kinds: dict[str, str]  # column -> kind of the column in the file
    file_format: str
    rows: int


@dataclass(frozen=True)
class ReadResult:
    frame: pl.DataFrame  # _source_row (Int64, 1-based) + every column Utf8 (names lower-case)
    kinds: dict[str, str]
    file_format: str


def file_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ReadError(f"{path.name}: unsupported file type {path.suffix!r} (parquet, csv or sas7bdat)") from None


def read_into(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> ReadInfo:
    """Read one extract file into the temp table `table` (replaced); raise ReadError naming the file.

    `table` is a plain name chosen by the caller (never data). The table has `_source_row` and one
    VARCHAR column per file column, in file order.
    """
    with open_source(con, path) as src:
        run_source(con, src, lambda rows: f"create or replace temp table {_quote(table)} as {rows}")
        rows = con.execute(f"select count(*) from {_quote(table)}").fetchall()[0][0]
    return ReadInfo(table=table, columns=src.columns, kinds=src.kinds, file_format=src.file_format, rows=rows)


@dataclass(frozen=True)
class Reading:
    """One way to read a file: an optional statement run first (a CSV is read into the temp table
    CSV_ROWS), then the SELECT giving `_source_row` and one VARCHAR column per file column."""

    select: str
    params: dict
    prepare: str | None = None
    prepare_params: dict | None = None


@dataclass(frozen=True)
class Source:
    """A file's rows as text, as SQL not yet run (`open_source`): what `read_into` would put in its table.

    `readings` are the ways to read it, in the order to try: a CSV that looks like UTF-8 has a Latin-1
    reading as the second.
    """

    path: Path
    columns: list[str]
    kinds: dict[str, str]
    file_format: str
    readings: tuple[Reading, ...]


@contextmanager
def open_source(con: duckdb.DuckDBPyConnection, path: Path) -> Iterator[Source]:
    """Describe one extract file (header, column types; no rows read) and yield its rows as SQL.

    The SELECTs are valid inside the `with` block (a SAS file's rows are registered with `con` until
    then). Raise ReadError naming the file when it cannot be described. Run them with `run_source`,
    which turns a failure while reading into a ReadError and tries the next reading on a CSV's
    encoding error. Lets a caller write the rows where they belong in one pass (the ingest inserts
    them straight into `raw.*`) instead of copying them into a temp table first.
    """
    path = Path(path)
    fmt = file_format(path)
    registered: list[str] = []
    try:
        if fmt == "parquet":
            src = _described(path, lambda: _parquet_source(con, path))
        elif fmt == "sas7bdat":
            src = _described(path, lambda: _sas_source(con, path, registered))
        else:
            src = _described(path, lambda: _csv_source(con, path))
        yield src
    finally:
        for name in registered:
            con.unregister(name)


def run_source(con: duckdb.DuckDBPyConnection, src: Source, statement: Callable[[str], str],
               params: dict | None = None, *, used: list[Reading] | None = None) -> list[tuple]:
    """Run `statement(<the rows as a subquery>)` with the source's first reading that works.

    A CSV read as UTF-8 that turns out not to be is read again as Latin-1 (SAS exports of Danish text
    often are). Any other failure while reading raises ReadError naming the file. `used` gets the
    reading that worked.
    """
    for i, reading in enumerate(src.readings):
        try:
            read_params = reading.params
            if reading.prepare is not None:
                _in_file_order(con, reading.prepare, reading.prepare_params)
                read_params = {**read_params, "first_rowid": _first_rowid(con, src.path)}
            rows = con.execute(statement(f"({reading.select})"), {**read_params, **(params or {})}).fetchall()
            if reading.prepare is not None:  # after a failure the caller's rollback or the next reading drops it
                con.execute(f"drop table if exists {CSV_ROWS}").fetchall()
            if used is not None:
                used.append(reading)
            return rows
        except duckdb.Error as exc:
            if i + 1 < len(src.readings) and "unicode" in str(exc).lower():
                continue
            raise ReadError(_read_failed(src.path, exc)) from exc
    raise AssertionError("a source has at least one reading")  # pragma: no cover


def _in_file_order(con: duckdb.DuckDBPyConnection, statement: str, params: dict | None) -> None:
    """Run `statement` with DuckDB keeping the insertion order (its default; a connection may have turned it off)."""
    keep = con.execute("select current_setting('preserve_insertion_order')").fetchall()[0][0]
    if not keep:
        con.execute("set preserve_insertion_order = true").fetchall()
    try:
        con.execute(statement, params).fetchall()
    finally:
        if not keep:
            try:
                con.execute("set preserve_insertion_order = false").fetchall()
            except duckdb.Error:  # an aborted transaction refuses it; the read's own error is what counts
                pass


def _first_rowid(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """The row id of CSV_ROWS's first row, after making sure its row ids are consecutive (so that
    `rowid - first + 1` is each row's place in the file)."""
    first, last, n = con.execute(f"select min(rowid), max(rowid), count(*) from {CSV_ROWS}").fetchall()[0]
    if n and last - first + 1 != n:
        raise ReadError(f"{path.name}: cannot number the rows of the CSV file (row ids not consecutive)")
    return int(first or 0)


def sql_literal(value: str) -> str:
    """A text value as an SQL string literal (quotes doubled), for SQL that cannot take parameters (a view)."""
    return "'" + str(value).replace("'", "''") + "'"


def parquet_view_select(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """The rows of a Parquet file as read (`_source_row` + every column as text, as `open_source` gives
    them) as a SELECT with no parameters, for a view: the path and the white-space set are literals.

    The ingest's view `raw.<register>` reads the delivered Parquet files it archived through this, so
    the rows a view shows are the rows the delivery was judged on. Raise ReadError naming the file.
    """
    path = Path(path)
    (reading,) = _described(path, lambda: _parquet_source(con, path)).readings
    literals = {"path": sql_literal(str(path)), "ws": sql_literal(WHITESPACE)}
    return re.sub(r"\$([a-z_]+)\b", lambda m: literals[m.group(1)], reading.select)


def csv_view_select(con: duckdb.DuckDBPyConnection, path: Path, encoding: str) -> str:
    """A CSV file's rows as read with `encoding` (`_source_row` + every column as text, as `open_source`
    gives them) as a SELECT with no parameters, for a view (`raw.<register>` over an archived CSV).

    The rows are numbered by `row_number() over ()`, which DuckDB computes streaming, on one thread, in
    the order the reader gives the rows: the file's order, as long as `preserve_insertion_order` is on
    (DuckDB's default; the pipeline never turns it off for a read of raw). Raise ReadError naming the file.
    """
    path = Path(path)
    src = _described(path, lambda: _csv_source(con, path))
    reading = next((r for r in src.readings if (r.prepare_params or {}).get("encoding") == encoding), None)
    if reading is None:
        raise ReadError(f"{path.name}: the CSV file cannot be read as {encoding}")
    p = reading.prepare_params or {}
    columns = "{" + ", ".join(f"{sql_literal(c)}: 'VARCHAR'" for c in p["columns"]) + "}"
    source = (f"read_csv({sql_literal(str(path))}, delim = {sql_literal(p['sep'])}, header = true, "
              f"columns = {columns}, quote = '\"', escape = '\"', encoding = {sql_literal(encoding)})")
    texts = [f"{_text_sql(c, 'VARCHAR')} as {_quote(name)}" for c, name in zip(p["columns"], src.columns, strict=True)]
    select = f"select row_number() over () as {SOURCE_ROW}, {', '.join(texts)} from {source}"
    return select.replace("$ws", sql_literal(WHITESPACE))


def _described(path: Path, describe: Callable[[], Source]) -> Source:
    """`describe()`, a file's description; any reader failure becomes one clear ReadError naming the file."""
    try:
        return describe()
    except ReadError:
        raise
    except Exception as exc:
        raise ReadError(_read_failed(path, exc)) from exc


def _read_failed(path: Path, exc: Exception) -> str:
    return f"{path.name}: cannot read the {file_format(path)} file ({type(exc).__name__}: {_short(exc)})"


def read_extract(path: Path) -> ReadResult:
    """Read one extract file (any accepted format) into a Polars frame of text columns, in file order."""
    with duckdb.connect() as con:
        info = read_into(con, path, "_extract")
        frame = con.sql(f'select * from "{info.table}" order by {SOURCE_ROW}').pl()
    text = [c for c in frame.columns if c != SOURCE_ROW]
    frame = frame.with_columns(pl.col(SOURCE_ROW).cast(pl.Int64), pl.col(text).cast(pl.Utf8))
    return ReadResult(frame=frame, kinds=info.kinds, file_format=info.file_format)


def _short(exc: Exception, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "…"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lower_case_names(names: list[str], path: Path) -> list[str]:
    lower = [c.lstrip("\ufeff").strip().lower() for c in names]
    dupes = sorted({n for n in lower if lower.count(n) > 1})
    if dupes:
        raise ReadError(f"{path.name}: column name(s) {dupes} occur more than once (names are case-insensitive)")
    if SOURCE_ROW in lower:
        raise ReadError(f"{path.name}: column name {SOURCE_ROW} is reserved")
    return lower


def kind_of(duckdb_type: str) -> str:
    """The kind of a column from its DuckDB type (what the drift check compares between deliveries)."""
    t = duckdb_type.upper().strip('"')
    if t == "NULL":
        return "null"
    if t == "BOOLEAN":
        return "boolean"
    if t.startswith(_NUMERIC):
        return "numeric"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "datetime"
    if t.startswith("TIME"):
        return "time"
    if t == "VARCHAR" or t.startswith("ENUM"):
        return "string"
    return t.lower()


def _text_sql(column: str, duckdb_type: str) -> str:
    """SQL: the column as faithful, trimmed text, blank -> NULL (typed values never carry blanks)."""
    col = _quote(column)
    kind = kind_of(duckdb_type)
    t = duckdb_type.upper()
    if t in ("FLOAT", "DOUBLE"):
        # whole-number doubles (SAS numbers) as integers; others in their shortest exact form
        return (f"case when isfinite({col}) and {col} = floor({col}) and abs({col}) < 9007199254740992 "
                f"then cast(cast({col} as bigint) as varchar) else cast({col} as varchar) end")
    if kind == "date":
        return f"strftime({col}, '%Y-%m-%d')"
    if kind == "datetime":
        return f"strftime(cast({col} as timestamp), '%Y-%m-%d %H:%M:%S')"
    if kind == "time":
        return f"strftime(date '2000-01-01' + cast({col} as time), '%H:%M:%S')"
    if kind != "string":
        return f"cast({col} as varchar)"
    text = col if t == "VARCHAR" else f"cast({col} as varchar)"
    # trim only where the first or last character is ASCII white space (a space, tab, line end): a
    # test on every value must be cheap (wide DREAM files have ~27 M cells); the trim then removes all
    # Unicode white space at both ends. A value edged by non-ASCII white space alone is kept as it is.
    first, last = f"ascii({text})", f"ascii(right({text}, 1))"
    return f"case when {first} <= 32 or {last} <= 32 then nullif(trim({text}, $ws), '') else nullif({text}, '') end"


def _source(path: Path, *, described: list[tuple[str, str]], names: list[str],
            sources: list[tuple[str, dict]], row_sql: str, prepare: str | None = None) -> Source:
    """The SELECT `<row_sql> as _source_row, <text of each described column>` over each of `sources`
    (relation, parameters), or, with `prepare`, over its table after `prepare` ran with those parameters.

    `described` is (name in DuckDB, DuckDB type) per file column, `names` the file's own names, by position.
    """
    if len(described) != len(names):
        raise ReadError(f"{path.name}: the file has {len(described)} columns, its header names {len(names)}")
    lower = _lower_case_names(names, path)
    selects = [f"{_text_sql(src, typ)} as {_quote(name)}" for (src, typ), name in zip(described, lower, strict=True)]
    head = f"select {row_sql} as {SOURCE_ROW}, {', '.join(selects)} from "
    kinds = {name: kind_of(typ) for (_src, typ), name in zip(described, lower, strict=True)}
    if file_format(path) == "csv":
        kinds = dict.fromkeys(lower, "text")
    return Source(path=path, columns=lower, kinds=kinds, file_format=file_format(path),
                  readings=tuple(Reading(head + CSV_ROWS, {"ws": WHITESPACE}, prepare.format(source=source), params)
                                     if prepare else Reading(head + source, {**params, "ws": WHITESPACE})
                                     for source, params in sources))


def _describe(con: duckdb.DuckDBPyConnection, source: str, params: dict) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"describe select * from {source}", params).fetchall()]


def _parquet_source(con: duckdb.DuckDBPyConnection, path: Path) -> Source:
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names  # the file's own names (DuckDB renames case-insensitive clashes)
    params = {"path": str(path)}
    return _source(path, described=_describe(con, "read_parquet($path)", params), names=names,
                   sources=[("read_parquet($path, file_row_number = true)", params)],
                   row_sql="file_row_number + 1")


def _sas_source(con: duckdb.DuckDBPyConnection, path: Path, registered: list[str]) -> Source:
    import pyreadstat

    # ReadStat honours the encoding declared in the file header (e.g. LATIN1), so text comes back exact.
    frame, _meta = pyreadstat.read_sas7bdat(str(path), output_format="polars")
    names = list(frame.columns)
    positional = [f"c{i}" for i in range(len(names))]  # DuckDB names are case-insensitive: rename first
    arrow = frame.rename(dict(zip(names, positional, strict=True))).with_row_index("_row").to_arrow()
    con.register("_sas_rows", arrow)
    registered.append("_sas_rows")
    described = [d for d in _describe(con, "_sas_rows", {}) if d[0] != "_row"]
    return _source(path, described=described, names=names, sources=[("_sas_rows", {})], row_sql="_row + 1")


def detect_separator(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _csv_source(con: duckdb.DuckDBPyConnection, path: Path) -> Source:
    with path.open("rb") as fh:
        first = fh.readline()
    if not first.strip():
        raise ReadError(f"{path.name}: empty CSV file (no header row)")
    raw_header = first.removeprefix(b"\xef\xbb\xbf")
    header = raw_header.decode("latin-1")
    sep = detect_separator(header)
    _check_csv_complete(path, sep, header.rstrip("\r\n").count(sep) + 1)
    try:
        decoded = raw_header.decode("utf-8")
        encodings = ["utf-8", "latin-1"]  # not UTF-8 after all: DuckDB decodes Latin-1 while streaming
    except UnicodeDecodeError:
        decoded, encodings = header, ["latin-1"]
    names = next(csv.reader([decoded.rstrip("\r\n")], delimiter=sep, quotechar='"'))
    positional = [f"c{i}" for i in range(len(names))]
    # every column declared as text: DuckDB then sniffs nothing, so a row with more or fewer fields than
    # the header stops the read (with `names` + `all_varchar` a small file whose last row had an extra
    # field was sniffed as something else and read as no rows at all, silently)
    source = ("read_csv($path, delim = $sep, header = true, columns = $columns, quote = '\"', escape = '\"', "
              "encoding = $encoding)")
    columns = dict.fromkeys(positional, "VARCHAR")
    # The rows are first read into a temp table, on every core: DuckDB keeps the file's order when it
    # inserts (preserve_insertion_order, its default), so a row's place in the table is its place in the
    # file. Numbering the rows while reading (`row_number() over ()`) would run the whole read and the
    # text normalisation on one core (2.3 x the wall time of a national bef file). The table's row ids
    # are consecutive from its first row (`_first_rowid`; they start at an offset inside a transaction).
    sources = [(source, {"path": str(path), "sep": sep, "encoding": e, "columns": columns}) for e in encodings]
    return _source(path, described=[(c, "VARCHAR") for c in positional], names=names, sources=sources,
                   row_sql="rowid - $first_rowid + 1",
                   prepare=f"create or replace temp table {CSV_ROWS} as select * from {{source}}")


def _check_csv_complete(path: Path, sep: str, n_fields: int) -> None:
    """Refuse a CSV that stops in the middle of its last row (no final newline and too few fields)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 65536), os.SEEK_SET)
        tail = fh.read()
    if tail.endswith(b"\n") or b"\n" not in tail:
        return
    last = tail.rsplit(b"\n", 1)[1].decode("latin-1")
    if last.count(sep) + 1 < n_fields:
        raise ReadError(
            f"{path.name}: the file is truncated: its last row has {last.count(sep) + 1} of {n_fields} "
            "fields and no line end"
        )
