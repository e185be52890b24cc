"""Dagster resources: the warehouse connection and the run settings."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from pipeline.config import Settings, duckdb_memory_limit, parse_years

LOG = logging.getLogger(__name__)


class WarehouseResource(DuckDBResource):
    """The warehouse connection (`duckdb` in every asset): DuckDBResource, closed also when a step fails,
    and one database instance for all the steps of a run.

    dagster-duckdb 0.29 closes its connection only when the step body returns; after a failed step the
    file stayed open (and locked against other processes) until garbage collection, in a long-lived
    process such as the UI's code server. Here the connection is closed in any case.

    During a run (from the resource's setup to its teardown, which Dagster runs also when the run
    fails) one more connection is held open: DuckDB then gives every step's connection the same
    database instance instead of opening the file again, so a step finds the blocks the steps before
    it read in the buffer pool, and closing a step's connection does not checkpoint (commits still do,
    past DuckDB's checkpoint threshold, and the run's end does). Between steps the cached blocks are
    trimmed to KEEP_BETWEEN_STEPS of the memory limit, so the process's peak stays what one step needs.
    The file stays locked for the run:
    the instance admits one run at a time (dagster.yaml), which holds the `warehouse` pool for its
    writing steps anyway. Outside a run (tests, tools) `get_connection` opens and closes the file.
    """

    _run_connection: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)
    _memory_limit: str = PrivateAttr(default="")
    _keep: str = PrivateAttr(default="")  # the lower limit _trim sets for a moment

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        upstream = DuckDBResource.get_connection(self)  # the same configuration as every step's
        self._run_connection = upstream.__enter__()
        self._memory_limit = str(self.connection_config.get("memory_limit") or self._run_connection.execute(
            "select current_setting('memory_limit')").fetchall()[0][0])
        self._keep = f"{int(size_bytes(self._memory_limit) * KEEP_BETWEEN_STEPS) // 2**20}MiB"

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._run_connection is not None:
            self._run_connection.close()
            self._run_connection = None

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        upstream = DuckDBResource.get_connection(self)  # connect, with its retries while the file is locked
        conn = upstream.__enter__()
        try:
            yield conn
        finally:
            conn.close()
            upstream.__exit__(None, None, None)  # finishes upstream's generator (its close is a no-op now)
            self._trim()

    def _trim(self) -> None:
        """Between two steps of a run: evict cached blocks beyond KEEP_BETWEEN_STEPS of the memory limit
        (a lower limit for a moment makes DuckDB evict down to it), so a step that works in Python
        (Pandera frames, the report) does not start beside a full buffer pool the step before filled."""
        con = self._run_connection
        if con is None:
            return
        try:
            con.execute("set memory_limit = $keep", {"keep": self._keep})
        except duckdb.Error as exc:  # nothing to give back is no reason to fail a step
            LOG.warning("warehouse: could not trim the buffer pool between steps: %s", exc)
        finally:
            con.execute("set memory_limit = $limit", {"limit": self._memory_limit})


# Of the memory limit, what a run keeps cached between its steps (see WarehouseResource._trim).
KEEP_BETWEEN_STEPS = 0.7
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def size_bytes(text: str) -> int:
    """Bytes of a DuckDB size setting ('9.3GiB', '8GB', '9.2 GiB')."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]+)\s*", text)
    if m is None or m.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


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
