"""Run settings: where the raw extracts, the warehouse, the marts and the exports live, and which years.

Everything is explicit: nothing here depends on today's date. Settings come from environment variables
(so the Dagster UI, the CLI and the tests all configure the same way) with defaults relative to the
project root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_YEARS = "2010-2025"


def parse_years(spec: str) -> list[int]:
    """Parse '2015-2021', '2019' or '2015,2017,2019-2020' into a sorted list of years."""
    years: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            a, b = int(lo), int(hi)
            if a > b:
                raise ValueError(f"year range {part!r} runs backwards")
            years.update(range(a, b + 1))
        else:
            years.add(int(part))
    if not years:
        raise ValueError(f"no years in {spec!r}")
    return sorted(years)


def duckdb_memory_limit() -> str:
    """DuckDB's memory limit for the warehouse connection: `PSYK_DUCKDB_MEMORY` (e.g. `8GB`), else 40 % of RAM.

    DuckDB's own default (80 % of RAM) lets its buffer pool alone reach about 19 GB on a 24 GB machine;
    with 40 % it spills sorts, joins and aggregates to `<warehouse>.tmp` instead, and the process (the
    Python side included: Pandera frames, figures) stays well inside the machine.
    """
    value = os.environ.get("PSYK_DUCKDB_MEMORY")
    if value:
        return value
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{total * 0.4 / 2**30:.1f}GiB"


def _path(env: str, default: str) -> Path:
    value = os.environ.get(env)
    p = Path(value) if value else PROJECT_ROOT / default
    return p if p.is_absolute() else (Path.cwd() / p)


@dataclass(frozen=True)
class Settings:
    raw_dir: Path
    warehouse: Path
    marts_dir: Path
    exports_dir: Path
    years: list[int] = field(default_factory=lambda: parse_years(DEFAULT_YEARS))
    data_end: date | None = None  # None: 31 December of the latest LPR year in the data

    @classmethod
    def from_env(cls) -> Settings:
        data_end = os.environ.get("PSYK_DATA_END")
        return cls(
            raw_dir=_path("PSYK_RAW_DIR", "data/raw"),
            warehouse=_path("PSYK_WAREHOUSE", "data/warehouse.duckdb"),
            marts_dir=_path("PSYK_MARTS_DIR", "data/marts"),
            exports_dir=_path("PSYK_EXPORTS_DIR", "data/exports"),
            years=parse_years(os.environ.get("PSYK_YEARS", DEFAULT_YEARS)),
            data_end=date.fromisoformat(data_end) if data_end else None,
        )

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings (for subprocesses)."""
        env = {
            "PSYK_RAW_DIR": str(self.raw_dir),
            "PSYK_WAREHOUSE": str(self.warehouse),
            "PSYK_MARTS_DIR": str(self.marts_dir),
            "PSYK_EXPORTS_DIR": str(self.exports_dir),
            "PSYK_YEARS": f"{min(self.years)}-{max(self.years)}",
        }
        if self.data_end:
            env["PSYK_DATA_END"] = self.data_end.isoformat()
        return env
