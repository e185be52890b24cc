"""Dagster resources: the warehouse connection and the run settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipeline.config import Settings, duckdb_memory_limit, parse_years


class WarehouseResource(DuckDBResource):
    """The warehouse connection (`duckdb` in every asset): DuckDBResource, closed also when a step fails.

    dagster-duckdb 0.29 closes its connection only when the step body returns; after a failed step the
    file stayed open (and locked against other processes) until garbage collection, in a long-lived
    process such as the UI's code server. Here the connection is closed in any case.
    """

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        upstream = DuckDBResource.get_connection(self)  # connect, with its retries while the file is locked
        conn = upstream.__enter__()
        try:
            yield conn
        finally:
            conn.close()
            upstream.__exit__(None, None, None)  # finishes upstream's generator (its close is a no-op now)


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
