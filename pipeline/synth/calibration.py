"""Calibration figures computed directly from a generated world's files (no pipeline needed).

Belongs here: reading a synthetic world back (every file of `_synthetic.json`, whatever its format)
into DuckDB, and the simplified indicator SQL in `sql/` that measures the figures the generator is
calibrated to (admissions, readmission shares, coercion, færdigbehandlingsdage, survey shares,
employment retention, suicides, ...). The tests and `python -m pipeline.synth.calibration DIR` use it;
the real indicators are computed by the pipeline, not here.
"""

from __future__ import annotations

import json
import sys
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
# published national figures (INDICATORS.md, "Published reference values for calibration"); counts at scale 1
PUBLISHED = {
    ("psych_admissions", 2015): 46000,
    ("persons_psych_stay", 2011): 127000,
    ("persons_psych_stay", 2019): 164000,
    ("readmission_share", 2010): 0.185,
    ("readmission_share", 2018): 0.227,
    ("coerced_adults", 2017): 5750,
    ("coerced_children", 2017): 330,
    ("form1_measures", 2010): 3100,
    ("form1_measures", 2017): 4500,
    ("belted_persons", 2017): 1435,
    ("ready_days", 2010): 40000,
    ("ready_days", 2015): 21000,
    ("ready_days", 2017): 24000,
    ("poor_mh_16_24", 2017): 0.183,
    ("poor_mh_16_plus", 2017): 0.132,
    ("poor_mh_16_plus", 2021): 0.174,
    ("employment_retention", 2017): 0.47,
    ("suicides", 2017): 600,
    ("population", 2017): 5750000,
}
COUNT_FIGURES = {"psych_admissions", "persons_psych_stay", "coerced_adults", "coerced_children", "form1_measures",
                 "belted_persons", "ready_days", "suicides", "population"}


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


def figures(con: duckdb.DuckDBPyConnection, scale: float) -> pl.DataFrame:
    """One row per (figure, year): the value measured, and counts rescaled to the whole country."""
    run_sql_file(con, SQL_DIR / "calibration_base.sql")
    rows = con.sql((SQL_DIR / "calibration_figures.sql").read_text(encoding="utf-8")).pl()
    return rows.with_columns(
        national=pl.when(pl.col("figure").is_in(list(COUNT_FIGURES))).then(pl.col("value") / scale)
        .otherwise(pl.col("value"))).sort("figure", "year")


def compare(fig: pl.DataFrame) -> pl.DataFrame:
    pub = pl.DataFrame([{"figure": k[0], "year": k[1], "published": v} for k, v in PUBLISHED.items()],
                       schema_overrides={"year": pl.Int32})
    return pub.join(fig.with_columns(pl.col("year").cast(pl.Int32)), on=["figure", "year"], how="left").with_columns(
        ratio=pl.col("national") / pl.col("published"))


def main(argv: list[str] | None = None) -> int:
    root = Path((argv or sys.argv[1:])[0])
    scale = json.loads((root / "_synthetic.json").read_text(encoding="utf-8"))["scale"]
    con = load_world(root)
    fig = figures(con, scale)
    with pl.Config(tbl_rows=400, tbl_cols=10):
        print(fig.pivot(on="year", index="figure", values="national", sort_columns=True))
        print(compare(fig))
    return 0


if __name__ == "__main__":
    sys.exit(main())
