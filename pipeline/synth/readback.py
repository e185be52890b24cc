"""Reading a generated synthetic world back, for the generator's coherence tests.

Belongs here: loading every file of `_synthetic.json` (whatever its format) into an in-memory DuckDB,
one table per register, and `sql/readback_stays.sql`, simplified stays and admissions that tests use to
check one person's story across registers (coercion inside a stay, no contact after death, ...). The
published figures are checked through the pipeline instead (`pipeline.synth.calibration`).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl

from pipeline.db import run_sql_file
from pipeline.synth.writers import YEARLY

SQL_DIR = Path(__file__).with_name("sql")
INT_COLS = {"koen", "kom", "c_kom", "v_indtime", "v_udtime", "region_ans", "skema", "region", "alder",
            "tilfredshed", "inddragelse"}
FLOAT_COLS = {"mcs", "vaegt"}
DATE_COLS = {"foed_dag", "doddato", "d_hendto", "d_inddto", "d_uddto", "d_markoer", "dato_start", "dato_slut",
             "dato_henvisning", "dato_markoer", "start_dato", "slut_dato"}
TIME_COLS = {"tidspunkt_start", "tidspunkt_slut", "tidspunkt_markoer", "start_tid", "slut_tid"}


def read_file(path: Path, fmt: str) -> pl.DataFrame:
    """One generated file, typed (CSV columns are read as text and cast by the column's kind)."""
    if fmt == "parquet":
        df = pl.read_parquet(path)
    else:
        sep = fmt.split("'")[1]
        enc = fmt.rsplit(",", 1)[1].rstrip(")")
        text = path.read_bytes().decode(enc)
        df = pl.read_csv(text.encode("utf-8"), separator=sep, infer_schema=False)
    casts = []
    for c, dt in df.schema.items():
        if dt != pl.String:
            continue
        if c in INT_COLS:
            casts.append(pl.col(c).cast(pl.Int32))
        elif c in FLOAT_COLS:
            casts.append(pl.col(c).cast(pl.Float64))
        elif c in DATE_COLS:
            casts.append(pl.col(c).str.to_date("%Y-%m-%d"))
        elif c in TIME_COLS:
            casts.append(pl.coalesce(pl.col(c).str.to_time("%H:%M:%S", strict=False),
                                     pl.col(c).str.to_time("%H:%M", strict=False)).alias(c))
    return df.with_columns(casts) if casts else df


def load_world(root: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one table per register (all files of the world, typed)."""
    root = Path(root)
    manifest = json.loads((root / "_synthetic.json").read_text(encoding="utf-8"))
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    by_register: dict[str, list[pl.DataFrame]] = {}
    for f in manifest["files"]:
        df = read_file(root / f["file"], f["format"]).with_columns(_year=pl.lit(f["year"], pl.Int32))
        by_register.setdefault(f["register"], []).append(df)
    for register, frames in by_register.items():
        if register not in YEARLY:
            raise ValueError(f"not a register: {register!r}")
        df = pl.concat(frames, how="diagonal_relaxed")
        con.register(f"_{register}", df.to_arrow())
        con.execute(f'create table "{register}" as select * from "_{register}"')  # names from the manifest
        con.unregister(f"_{register}")
    for name in ("lpr_adm", "lpr_markoer", "lpr_f_kontakter", "lpr_f_forloebsmarkoerer", "lpr_diag",
                 "lpr_f_diagnoser"):
        if name not in by_register:  # a world of only LPR2 or only LPR3 years
            run_sql_file(con, SQL_DIR / f"empty_{name}.sql")
    return con


def build_stays(con: duckdb.DuckDBPyConnection) -> None:
    """The simplified `cal_*` tables (contacts, stays, admissions, persons, deaths) of a loaded world."""
    run_sql_file(con, SQL_DIR / "readback_stays.sql")
