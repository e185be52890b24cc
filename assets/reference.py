"""Reference-data assets: load the shipped files of `pipeline/reference/` into `ref.*`.

`geography` -> `ref.geography` (municipality, region, 2027 region, health council) and `codes` ->
`ref.codes` (every code list in `pipeline/reference/codes/*.csv`). Both replace their whole table, so
re-running is idempotent. The files and their sources are described in `pipeline/reference/README.md`.
"""

from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipeline.db import run_sql, run_sql_file

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "pipeline" / "reference"
GEOGRAPHY_FILE = REFERENCE_DIR / "geography.csv"
CODES_DIR = REFERENCE_DIR / "codes"
SQL_DIR = Path(__file__).resolve().parent / "sql" / "reference"


def code_list_files(codes_dir: Path = CODES_DIR) -> list[Path]:
    """The shipped code-list files, one per list, in a stable order."""
    files = sorted(codes_dir.glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no code lists in {codes_dir}")
    return files


def geography_problems(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Broken sanity rules of ref.geography (rule -> offending count); empty when the table is sound."""
    return {rule: n for rule, n in run_sql_file(con, SQL_DIR / "geography_problems.sql") if n}


def load_geography(con: duckdb.DuckDBPyConnection, path: Path = GEOGRAPHY_FILE) -> int:
    """Replace ref.geography from `path` in one transaction; refuse a file that breaks the rules."""
    con.begin()
    try:
        run_sql_file(con, SQL_DIR / "geography.sql", {"path": str(path)})
        problems = geography_problems(con)
        if problems:
            raise ValueError(f"{path.name}: geography file breaks rules {problems}")
        n = run_sql(con, "select count(*) from ref.geography")[0][0]
    except Exception:
        con.rollback()
        raise
    con.commit()
    return int(n)


def load_codes(con: duckdb.DuckDBPyConnection, files: list[Path] | None = None) -> dict[str, int]:
    """Replace ref.codes from the code-list files in one transaction; return rows per list."""
    paths = [str(p) for p in (files or code_list_files())]
    con.begin()
    try:
        run_sql_file(con, SQL_DIR / "codes.sql", {"paths": paths})
        dupes = run_sql(
            con,
            "select count(*) from (select list_name, code from ref.codes group by all having count(*) > 1)",
        )[0][0]
        if dupes:
            raise ValueError(f"code lists: {dupes} (list_name, code) pairs occur more than once")
        counts = dict(run_sql(con, "select list_name, count(*) from ref.codes group by list_name order by 1"))
    except Exception:
        con.rollback()
        raise
    con.commit()
    return {k: int(v) for k, v in counts.items()}


@dg.asset(group_name="reference", pool="warehouse", description="The 98 municipalities -> ref.geography")
def geography(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> None:
    with duckdb.get_connection() as con:
        n = load_geography(con)
        regions = run_sql(con, "select count(distinct region_code), count(distinct sundhedsraad_code) from ref.geography")[0]
    context.add_output_metadata(
        {"rows": n, "regions": int(regions[0]), "health_councils": int(regions[1]), "file": GEOGRAPHY_FILE.name}
    )


@dg.asset(group_name="reference", pool="warehouse", description="Shipped code lists -> ref.codes")
def codes(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> None:
    with duckdb.get_connection() as con:
        counts = load_codes(con)
    context.add_output_metadata({"rows": sum(counts.values()), "lists": len(counts), **{f"rows_{k}": v for k, v in counts.items()}})
