"""The warehouse resource closes its connection also when the step body fails."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline.resources import WarehouseResource


def test_connection_closed_after_success_and_after_failure(tmp_path: Path) -> None:
    resource = WarehouseResource(database=str(tmp_path / "w.duckdb"))
    with resource.get_connection() as con:
        con.execute("create table t as select 1 as x")
    with pytest.raises(duckdb.ConnectionException):
        con.execute("select 1")

    with pytest.raises(ZeroDivisionError), resource.get_connection() as failing:
        failing.execute("select 1").fetchall()
        raise ZeroDivisionError
    with pytest.raises(duckdb.ConnectionException):
        failing.execute("select 1")

    # the file is free again: another process may open it for writing
    code = "import duckdb, sys; print(duckdb.connect(sys.argv[1]).execute('select x from t').fetchall())"
    other = subprocess.run([sys.executable, "-c", code, str(tmp_path / "w.duckdb")], capture_output=True, text=True)
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == "[(1,)]"


def _memory_limit_of_run_connection(tmp_path: Path) -> str:
    from pipeline.config import Settings
    from pipeline.resources import build_resources

    settings = Settings(raw_dir=tmp_path, warehouse=tmp_path / "w.duckdb", marts_dir=tmp_path, exports_dir=tmp_path)
    with build_resources(settings)["duckdb"].get_connection() as con:
        return con.sql("select current_setting('memory_limit')").fetchall()[0][0]


def test_the_warehouse_connection_has_a_memory_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSYK_DUCKDB_MEMORY", "1500MB")
    assert _memory_limit_of_run_connection(tmp_path) == "1.3 GiB"  # DuckDB shows 1,500,000,000 bytes in GiB
    monkeypatch.delenv("PSYK_DUCKDB_MEMORY")
    # default: 40 % of the machine's memory, well below DuckDB's own 80 %
    total_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    shown = _memory_limit_of_run_connection(tmp_path)
    assert shown.endswith(" GiB") and abs(float(shown.split()[0]) - 0.4 * total_gib) < 0.2
