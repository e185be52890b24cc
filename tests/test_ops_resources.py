"""The warehouse resource closes its connection also when the step body fails."""

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
