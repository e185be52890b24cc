"""DuckDB helpers shared by every layer: open the warehouse, run `.sql` files with bound parameters.

SQL that researchers may want to read lives in `.sql` files next to the assets that run it. Values are
always bound as named parameters (`$year`), never formatted into the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
    """Run every statement of `sql` in order; return the rows of the last one.

    DuckDB 2.0 streams results, so each statement's result is fetched before the next one runs. Each
    statement gets only the named parameters it uses.
    """
    params = dict(params or {})
    rows: list[tuple] = []
    for stmt in duckdb.extract_statements(sql):
        used = {k: params[k] for k in stmt.named_parameters}
        missing = set(stmt.named_parameters) - set(params)
        if missing:
            raise KeyError(f"SQL parameter(s) not given: {sorted(missing)}")
        result = con.execute(stmt, used) if used else con.execute(stmt)
        rows = result.fetchall()
    return rows


def run_sql_file(con: duckdb.DuckDBPyConnection, path: Path | str, params: Mapping[str, Any] | None = None) -> list[tuple]:
    return run_sql(con, Path(path).read_text(encoding="utf-8"), params)


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = $s and table_name = $t",
            {"s": schema, "t": table},
        ).fetchall()[0][0]
    )
