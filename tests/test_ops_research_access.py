"""Researchers read `<marts>/research.duckdb` read-only, from the DuckDB CLI and from Python, while the
pipeline is writing.

A second process plays the running pipeline: it holds the warehouse open for writing, rewrites the
Parquet marts under the views (as `indicator_values` does, file by file) and rebuilds the research file
through Dagster (`research_db`, temp file + rename) several times. Meanwhile this process opens the
research file (first built in this process by
the same builder) read-only again and again with Python's duckdb and with the pinned duckdb CLI (1.5.6,
which also proves the storage version), and every read must succeed with the whole marts. A connection
opened before the rebuilds keeps answering after them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from test_ops_notebooks import write_marts

from assets.marts import COLUMN_DOCS, build_research_db
from pipeline.catalogue import load_catalogue
from pipeline.config import PROJECT_ROOT

DUCKDB_CLI = Path(sys.executable).parent / "duckdb"
# write_marts: 8 years x (18 council keys x 4 rows + 1 national row) = 8 x 73
EXPECTED_VALUE_ROWS = 584
EXPECTED_INDICATORS = len(list((PROJECT_ROOT / "pipeline" / "catalogue").glob("*.yaml")))
QUERY = "select (select count(*) from indicator_values), (select count(*) from indicators), (select count(*) from target_progress)"
WRITER_ITERATIONS = 3

WRITER = r"""
import sys
import duckdb
import dagster as dg
import polars as pl
from assets.marts import replace_year_partitions, research_db
from pipeline.config import Settings
from pipeline.resources import SettingsResource

s = Settings.from_env()
warehouse = duckdb.connect(str(s.warehouse))  # a running pipeline holds the warehouse for writing
warehouse.execute("create table if not exists busy (i integer)").fetchall()
frame = pl.read_parquet(str(s.marts_dir / "indicator_values" / "*" / "part-0.parquet"), hive_partitioning=False)
years = sorted(frame["year"].unique().to_list())
print("ready", flush=True)
for i in range(int(sys.argv[1])):
    warehouse.execute("insert into busy values ($i)", {"i": i}).fetchall()
    replace_year_partitions(frame.with_columns(pl.lit(f"writer-{i}").alias("run_id")), s.marts_dir, years)
    result = dg.materialize(
        [research_db], resources={"settings": SettingsResource.from_settings(s)}, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    print("built", i, flush=True)
warehouse.close()
"""


def _write_other_marts(marts: Path) -> None:
    """target_progress (2 rows) and data_quality (1 row) in their documented columns; the research file
    needs every mart. Only the row counts matter here, so the values are placeholders."""
    for name, rows in (("target_progress", 2), ("data_quality", 1)):
        (marts / name).mkdir(parents=True)
        cols = list(COLUMN_DOCS[name])
        pl.DataFrame({c: [f"{c}-{i}" for i in range(rows)] for c in cols}).write_parquet(marts / name / "part-0.parquet")


@pytest.fixture(scope="module")
def marts_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Hand-built marts and a first research file from the pipeline's own builder."""
    tmp = tmp_path_factory.mktemp("research")
    marts = tmp / "marts"
    write_marts(marts)
    _write_other_marts(marts)
    build_research_db(marts, load_catalogue())
    env = {
        **os.environ,
        "PSYK_RAW_DIR": str(tmp / "raw"),
        "PSYK_WAREHOUSE": str(tmp / "warehouse.duckdb"),
        "PSYK_MARTS_DIR": str(marts),
        "PSYK_EXPORTS_DIR": str(tmp / "exports"),
        "PSYK_YEARS": "2015-2022",
    }
    env.pop("DAGSTER_HOME", None)
    return env


def _research_file(env: dict[str, str]) -> Path:
    return Path(env["PSYK_MARTS_DIR"]) / "research.duckdb"


def _read_python(path: Path) -> tuple[int, int, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return tuple(con.execute(QUERY).fetchall()[0])


def _read_cli(path: Path) -> tuple[int, int, int]:
    out = subprocess.run(
        [str(DUCKDB_CLI), "-readonly", "-csv", "-noheader", str(path), "-c", QUERY],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 0, f"duckdb CLI could not read {path.name}: {out.stderr.strip()}"
    return tuple(int(x) for x in out.stdout.strip().split(","))


def test_duckdb_cli_is_the_pinned_1_5() -> None:
    out = subprocess.run([str(DUCKDB_CLI), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("v1.5."), out.stdout


def test_research_file_opens_read_only_and_refuses_writes(marts_env: dict[str, str]) -> None:
    path = _research_file(marts_env)
    expected = (EXPECTED_VALUE_ROWS, EXPECTED_INDICATORS, 2)
    assert _read_python(path) == expected
    assert _read_cli(path) == expected
    with duckdb.connect(str(path), read_only=True) as con:
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("create table mine (x integer)").fetchall()
        comments = con.execute(
            "select count(*) from duckdb_columns() where table_name = 'indicator_values' and comment is not null"
        ).fetchall()[0][0]
        assert comments == 19  # every documented column of indicator_values carries its comment


def test_researchers_read_while_the_pipeline_writes(marts_env: dict[str, str], tmp_path: Path) -> None:
    path = _research_file(marts_env)
    expected = (EXPECTED_VALUE_ROWS, EXPECTED_INDICATORS, 2)
    held = duckdb.connect(str(path), read_only=True)  # a researcher's session left open all along
    assert tuple(held.execute(QUERY).fetchall()[0]) == expected

    log = tmp_path / "writer.log"  # a file, not a pipe: Dagster's logs must never block the writer
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(WRITER_ITERATIONS)],
        env=marts_env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=log.open("w"), text=True,
    )  # fmt: skip
    assert writer.stdout.readline().strip() == "ready", log.read_text()[-3000:]
    reads: list[tuple[str, int, tuple]] = []
    try:
        while writer.poll() is None:
            inode = path.stat().st_ino
            reads.append(("python", inode, _read_python(path)))
            reads.append(("cli", path.stat().st_ino, _read_cli(path)))
            time.sleep(0.05)
        built = writer.communicate(timeout=60)[0].split()
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 0, log.read_text()[-3000:]
    assert built.count("built") == WRITER_ITERATIONS

    wrong = [r for r in reads if r[2] != expected]
    assert not wrong, f"reads that did not see the whole marts: {wrong[:5]}"
    assert {kind for kind, _, _ in reads} == {"python", "cli"}
    # The reads spanned rebuilds: the file was replaced (a new inode) while researchers kept reading.
    assert len({inode for _, inode, _ in reads}) >= 2, f"only {len(reads)} reads, all of one file version"
    assert tuple(held.execute(QUERY).fetchall()[0]) == expected
    held.close()
    assert _read_python(path) == expected and _read_cli(path) == expected
