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


def _marker_run(warehouse: Path, *, fail: bool) -> tuple[bool, list[int]]:
    """Two assets in one run: the first attaches an in-memory database to the warehouse's DuckDB instance,
    the second counts it (an attached database belongs to the instance, not to a connection)."""
    import dagster as dg

    seen: list[int] = []

    @dg.asset
    def first(duckdb: WarehouseResource) -> None:
        with duckdb.get_connection() as con:
            con.execute("attach ':memory:' as _run_marker").fetchall()

    @dg.asset(deps=[first])
    def second(duckdb: WarehouseResource) -> None:
        with duckdb.get_connection() as con:
            seen.append(con.execute(
                "select count(*) from duckdb_databases() where database_name = '_run_marker'").fetchall()[0][0])
        if fail:
            raise RuntimeError("planned failure")

    result = dg.materialize([first, second], resources={"duckdb": WarehouseResource(database=str(warehouse))},
                            raise_on_error=False)
    return result.success, seen


@pytest.mark.parametrize("fail", [False, True])
def test_a_run_keeps_one_database_instance_and_releases_it_at_the_end(tmp_path: Path, fail: bool) -> None:
    warehouse = tmp_path / "w.duckdb"
    ok, seen = _marker_run(warehouse, fail=fail)
    assert ok is not fail
    # the second step's connection opened the instance the first step left open (kept by the run)
    assert seen == [1]
    # after the run (also a failed one) the instance is closed: the marker is gone, and a connection with
    # another configuration (read-only), which DuckDB refuses while the file is open in this process, opens
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from duckdb_databases() where database_name = '_run_marker'"
                           ).fetchall()[0][0] == 0
    # and another process may open it for writing
    code = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('create table t as select 1').fetchall()"
    other = subprocess.run([sys.executable, "-c", code, str(warehouse)], capture_output=True, text=True)
    assert other.returncode == 0, other.stderr


def _cache_run(warehouse: Path) -> tuple[int, str]:
    """Two steps: the first writes and reads a table (~17 MB of blocks cached); the second reports what the instance
    holds cached when it starts, and the memory limit it runs under."""
    import dagster as dg

    seen: list[tuple[int, str]] = []

    @dg.asset
    def writes(duckdb: WarehouseResource) -> None:
        with duckdb.get_connection() as con:
            con.execute("create or replace table big as select range as i, range::varchar || 'x' as s "
                        "from range(4000000)").fetchall()
            con.execute("select sum(i), max(s) from big").fetchall()

    @dg.asset(deps=[writes])
    def reads(duckdb: WarehouseResource) -> None:
        with duckdb.get_connection() as con:
            seen.append(con.execute("select (select sum(memory_usage_bytes) from duckdb_memory()), "
                                    "current_setting('memory_limit')").fetchall()[0])

    resource = WarehouseResource(database=str(warehouse), connection_config={"memory_limit": "1500MB"})
    assert dg.materialize([writes, reads], resources={"duckdb": resource}).success
    return seen[0]


def test_blocks_stay_cached_between_steps_up_to_the_retained_size(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.resources as resources

    cached, limit = _cache_run(tmp_path / "kept.duckdb")
    assert cached > 12 * 2**20  # the first step's blocks are still cached (2 GiB may stay)
    assert limit == "1.3 GiB"

    monkeypatch.setattr(resources, "RETAINED_BYTES", 2**20)
    cached, limit = _cache_run(tmp_path / "evicted.duckdb")
    assert cached <= 2**20  # above 1 MiB the step's end dropped them
    assert limit == "1.3 GiB"  # and the configured limit is back
