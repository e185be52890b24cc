"""The warehouse resource closes its connection also when the step body fails."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline.resources import KEEP_BETWEEN_STEPS, WarehouseResource


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


def test_a_run_shares_one_instance_trims_it_between_steps_and_frees_the_file(tmp_path: Path) -> None:
    import dagster as dg

    path = tmp_path / "w.duckdb"
    seen: dict[str, object] = {}

    @dg.asset
    def fill(duckdb: WarehouseResource) -> None:
        with duckdb.get_connection() as con:
            con.execute("create table t as select hash(range) as x, hash(range + 1) as y from range(6000000)")
            con.execute("checkpoint")  # 96 MB of random numbers written to the file, more than the limit
            con.execute("select bit_xor(x), bit_xor(y) from t").fetchall()  # read back: blocks cached
            seen["pool_in_step"] = con.execute("select sum(memory_usage_bytes) from duckdb_memory()").fetchall()[0][0]
            con.execute("create temp table only_here as select 1")  # the step's own connection's

    @dg.asset(deps=[fill])
    def read(duckdb: WarehouseResource) -> None:
        seen["run_connection"] = duckdb._run_connection is not None
        with duckdb.get_connection() as con:
            seen["pool_next_step"] = con.execute("select sum(memory_usage_bytes) from duckdb_memory()").fetchall()[0][0]
            seen["limit"] = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
            seen["temp"] = con.execute("select count(*) from duckdb_tables() where table_name = 'only_here'"
                                       ).fetchall()[0][0]
            seen["rows"] = con.execute("select count(*) from t").fetchall()[0][0]

    @dg.asset(deps=[read])
    def fail() -> None:
        raise ZeroDivisionError

    resource = WarehouseResource(database=str(path), connection_config={"memory_limit": "64MiB"})
    result = dg.materialize([fill, read, fail], resources={"duckdb": resource}, raise_on_error=False)
    assert not result.success  # the last step failed: the run's connection is closed all the same
    assert seen["run_connection"] is True and seen["rows"] == 6_000_000 and seen["temp"] == 0
    assert seen["limit"] == "64.0 MiB"  # restored after the trim
    keep = KEEP_BETWEEN_STEPS * 64 * 2**20
    assert seen["pool_in_step"] > keep >= seen["pool_next_step"]  # trimmed to KEEP_BETWEEN_STEPS of the limit
    code = "import duckdb, sys; print(duckdb.connect(sys.argv[1]).execute('select count(*) from t').fetchall())"
    other = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert other.returncode == 0 and "6000000" in other.stdout, other.stderr
    assert resource._run_connection is None


def test_size_settings_in_bytes() -> None:
    from pipeline.resources import size_bytes

    assert size_bytes("9.3GiB") == int(9.3 * 2**30)
    assert size_bytes("8GB") == 8 * 10**9
    assert size_bytes("9.2 GiB") == int(9.2 * 2**30)
    assert size_bytes("512MiB") == 512 * 2**20
    with pytest.raises(ValueError):
        size_bytes("80%")
