"""Dagster resources: the warehouse connection and the run settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from pipeline.config import Settings, duckdb_memory_limit, parse_years


# What a run's DuckDB instance may keep cached between steps; above it a step's end evicts the cache.
RETAINED_BYTES = 2 * 2**30


class WarehouseResource(DuckDBResource):
    """The warehouse connection (`duckdb` in every asset): DuckDBResource, closed also when a step fails,
    with one database instance kept open for the whole run.

    dagster-duckdb 0.29 closes its connection only when the step body returns; after a failed step the
    file stayed open (and locked against other processes) until garbage collection, in a long-lived
    process such as the UI's code server. Here the connection is closed in any case.

    A run holds one more connection from its start to its end (`setup_for_execution`, called once per
    run by the in-process executor, and `teardown_after_execution`, also after a failure). DuckDB shares
    one database instance among a process's connections to the same file, so a step's connection opens
    in no time and its close does not checkpoint (the WAL is checkpointed as it grows, and at the run's
    end). Without it every step opened the file cold and checkpointed on close: a national refresh of
    one year (72 opens) used 180 CPU-s with them and 154 without. The blocks a step read stay cached for
    the next, up to RETAINED_BYTES: above that a step's end evicts them (`_evict`), so between steps the
    process keeps no more than that (the memory limit still bounds each step). The file is locked for
    the whole run instead of step by step (there is one writing process either way). Code running in a
    run opens the warehouse through this resource only: DuckDB refuses a second connection with another
    configuration (read-only, another memory limit) to a file open in the process.
    """

    _keeper: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        keeper = DuckDBResource.get_connection(self)  # connect, with its retries while the file is locked
        self._keeper = (keeper, keeper.__enter__())

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        held, self._keeper = self._keeper, None
        if held is not None:
            held[0].__exit__(None, None, None)  # closes it: the last connection, so DuckDB checkpoints

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        upstream = DuckDBResource.get_connection(self)  # connect, with its retries while the file is locked
        conn = upstream.__enter__()
        try:
            yield conn
        finally:
            conn.close()
            upstream.__exit__(None, None, None)  # finishes upstream's generator (its close is a no-op now)
            if self._keeper is not None:
                _evict(self._keeper[1], self.connection_config.get("memory_limit"), RETAINED_BYTES)


def _evict(keeper: duckdb.DuckDBPyConnection, limit: str | None, retained: int = RETAINED_BYTES) -> None:
    """Drop the instance's cached blocks when they exceed `retained` bytes: DuckDB evicts down to a
    lowered memory limit at once; then the limit is set back to `limit` (the configured one; None: DuckDB's
    default). The setting is global to the instance."""
    try:
        cached = keeper.execute("select coalesce(sum(memory_usage_bytes), 0) from duckdb_memory()").fetchall()[0][0]
    except duckdb.Error:
        return
    if cached <= retained:
        return
    try:
        keeper.execute(f"set memory_limit = '{retained // 2**20}MB'").fetchall()
    except duckdb.Error:  # more is pinned than that (not after a step): it stays cached
        pass
    finally:
        if limit is None:
            keeper.execute("reset memory_limit").fetchall()
        else:
            keeper.execute("set memory_limit = $limit", {"limit": limit}).fetchall()


class SettingsResource(dg.ConfigurableResource):
    """Paths and period of a run (see pipeline.config.Settings)."""

    raw_dir: str
    marts_dir: str
    exports_dir: str
    warehouse: str
    years: str
    data_end: str | None = None

    @classmethod
    def from_settings(cls, s: Settings) -> SettingsResource:
        return cls(
            raw_dir=str(s.raw_dir),
            marts_dir=str(s.marts_dir),
            exports_dir=str(s.exports_dir),
            warehouse=str(s.warehouse),
            years=f"{min(s.years)}-{max(s.years)}",
            data_end=s.data_end.isoformat() if s.data_end else None,
        )

    @property
    def raw_path(self) -> Path:
        return Path(self.raw_dir)

    @property
    def marts_path(self) -> Path:
        return Path(self.marts_dir)

    @property
    def exports_path(self) -> Path:
        return Path(self.exports_dir)

    @property
    def year_list(self) -> list[int]:
        return parse_years(self.years)

    @property
    def data_end_date(self) -> date | None:
        return date.fromisoformat(self.data_end) if self.data_end else None


def build_resources(s: Settings) -> dict[str, object]:
    s.warehouse.parent.mkdir(parents=True, exist_ok=True)
    return {
        "duckdb": WarehouseResource(database=str(s.warehouse),
                                    connection_config={"memory_limit": duckdb_memory_limit()}),
        "settings": SettingsResource.from_settings(s),
    }
