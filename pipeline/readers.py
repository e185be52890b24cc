"""Readers for register extracts: Parquet, CSV (`;` or `,`, UTF-8 or Latin-1) and SAS7BDAT.

A reader returns the rows *as read*: every column as text (so the validation sees exactly what was
delivered and the quarantine can keep it), column names lower-case, blank text as null, and a
`_source_row` column (1-based data row in the file). It also reports each column's kind in the file
(`string`, `numeric`, `date`, `datetime`, `time`, `boolean`, `null`; `text` for CSV, which carries
no types) so the ingest can notice a column whose type changed between deliveries.

Normalisations that keep the text faithful to the value: SAS stores every number as a double, so a
numeric column whose values are all whole numbers is written without `.0`; native dates become
`YYYY-MM-DD`, timestamps `YYYY-MM-DD HH:MM:SS`, times `HH:MM:SS`. Nothing here knows the contract.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

SOURCE_ROW = "_source_row"
FORMATS = {".parquet": "parquet", ".csv": "csv", ".sas7bdat": "sas7bdat"}


class ReadError(Exception):
    """A file that cannot be read as a whole (truncated, corrupt, ambiguous): names the file."""


@dataclass(frozen=True)
class ReadResult:
    frame: pl.DataFrame  # every column Utf8 (names lower-case) + _source_row (Int64, 1-based)
    kinds: dict[str, str]  # column -> kind of the column in the file
    file_format: str


def file_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ReadError(f"{path.name}: unsupported file type {path.suffix!r} (parquet, csv or sas7bdat)") from None


def read_extract(path: Path) -> ReadResult:
    """Read one extract file (any accepted format) into text columns; raise ReadError naming the file."""
    path = Path(path)
    fmt = file_format(path)
    try:
        if fmt == "parquet":
            frame = pl.read_parquet(path)
        elif fmt == "sas7bdat":
            frame = _read_sas(path)
        else:
            frame = _read_csv(path)
    except ReadError:
        raise
    except Exception as exc:  # any reader failure becomes one clear message naming the file
        raise ReadError(f"{path.name}: cannot read the {fmt} file ({type(exc).__name__}: {_short(exc)})") from exc
    frame = _lower_case_names(frame, path)
    kinds = {c: ("text" if fmt == "csv" else _kind(frame.schema[c])) for c in frame.columns}
    return ReadResult(frame=_as_text(frame).with_row_index(SOURCE_ROW, offset=1).with_columns(
        pl.col(SOURCE_ROW).cast(pl.Int64)
    ), kinds=kinds, file_format=fmt)


def _short(exc: Exception, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "…"


def _read_sas(path: Path) -> pl.DataFrame:
    import pyreadstat

    # ReadStat honours the encoding declared in the file header (e.g. LATIN1), so text comes back exact.
    frame, _meta = pyreadstat.read_sas7bdat(str(path), output_format="polars")
    return frame


def detect_separator(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _read_csv(path: Path) -> pl.DataFrame:
    with path.open("rb") as fh:
        first = fh.readline()
    if not first.strip():
        raise ReadError(f"{path.name}: empty CSV file (no header row)")
    header = first.removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    sep = detect_separator(header)
    _check_csv_complete(path, sep, header.rstrip("\r\n").count(sep) + 1)
    try:
        return pl.read_csv(path, separator=sep, infer_schema=False, encoding="utf8")
    except pl.exceptions.ComputeError as exc:
        if "utf-8" not in str(exc).lower() and "utf8" not in str(exc).lower():
            raise
    # Not UTF-8: SAS exports of Danish text are often Latin-1. DuckDB decodes it while streaming.
    with duckdb.connect() as con:
        return con.sql(
            "select * from read_csv($path, delim = $sep, header = true, all_varchar = true, "
            "encoding = 'latin-1', quote = '\"', escape = '\"')",
            params={"path": str(path), "sep": sep},
        ).pl()


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


def _lower_case_names(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    names = [c.lstrip("\ufeff").strip().lower() for c in frame.columns]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ReadError(f"{path.name}: column name(s) {dupes} occur more than once (names are case-insensitive)")
    if SOURCE_ROW in names:
        raise ReadError(f"{path.name}: column name {SOURCE_ROW} is reserved")
    return frame.rename(dict(zip(frame.columns, names, strict=True)))


def _kind(dtype: pl.DataType) -> str:
    if dtype == pl.Null:
        return "null"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype.is_numeric():
        return "numeric"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.Time:
        return "time"
    if dtype in (pl.Utf8, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "string"
    return str(dtype).lower()


def _text(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype.is_float():
        # whole-number doubles (SAS numbers) as integers; others in their shortest exact form
        whole = (col == col.floor()) & col.is_finite() & (col.abs() < 2**53)
        return pl.when(whole).then(col.cast(pl.Int64, strict=False).cast(pl.Utf8)).otherwise(col.cast(pl.Utf8))
    if dtype == pl.Date:
        return col.dt.to_string("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        return col.dt.to_string("%Y-%m-%d %H:%M:%S")
    if dtype == pl.Time:
        return col.dt.to_string("%H:%M:%S")
    return col.cast(pl.Utf8)


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text, trimmed, blank -> null (SAS has no missing text value, it writes blanks)."""
    exprs = []
    for name, dtype in frame.schema.items():
        text = _text(name, dtype).str.strip_chars()
        exprs.append(pl.when(text == "").then(None).otherwise(text).alias(name))
    return frame.select(exprs)
