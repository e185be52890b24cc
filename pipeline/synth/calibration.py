"""Calibration of the synthetic generator through the pipeline: published national figures against
the values the pipeline computed from a generated world.

Belongs here: the list of published figures (INDICATORS.md, "Published reference values for
calibration") with the pipeline value each is compared to — a national cell of the `indicator_values`
marts for figures that are indicators, a count over the warehouse's core tables (read-only,
`sql/calibration_core.sql`) for figures that are not — counts divided by the world's scale, and the
tolerance rule. Nothing here recomputes an indicator: a world is checked by running the pipeline on it
(`pipeline run`, or `run_pipeline` in a test) and then `python -m pipeline.synth.calibration`.

Tolerance rule (`tolerance`): a figure passes when the pipeline's national value lies within
max(15 %, 3 standard errors of sampling noise at the world's size) of the published value, relative.
Counts: the expected count at scale s is E = published * s and the noise is Poisson, so the relative
band is max(0.15, 3 / sqrt(E)). Shares: the noise is binomial over the share's denominator n (units
counted by the pipeline), so the band is max(0.15, 3 * sqrt(p (1 - p) / n) / p). Sums of days (N1):
compound Poisson over the k admissions with days; the generator's days are geometric, E[X^2] ~ 2 E[X]^2,
so the relative standard error is sqrt(2 / k) and the band max(0.15, 3 * sqrt(2 / k)), k from the
marts (N1 `admissions_with_days`). At scale 1.0 every figure's band is 15 % except the smallest count
(330 coerced children: 3 / sqrt(330) = 16.5 %).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline.db import run_sql_file

SQL_DIR = Path(__file__).with_name("sql")
RELATIVE = 0.15  # the band
SIGMAS = 3.0  # the noise band for small worlds


@dataclass(frozen=True)
class Figure:
    """A published national figure and where the pipeline's value for it comes from."""

    name: str
    year: int
    published: float
    kind: str  # "count", "days" (both divided by the scale) or "share" (a fraction: marts' percent / 100)
    source: str  # "marts" or "core"
    indicator: str | None = None
    measure: str | None = None
    age_group: str = "all"


def _m(name: str, year: int, published: float, kind: str, indicator: str, measure: str, age: str = "all") -> Figure:
    return Figure(name, year, published, kind, "marts", indicator, measure, age)


def _c(name: str, year: int, published: float) -> Figure:
    return Figure(name, year, published, "count", "core")


# The published figures (national, both sexes) and their pipeline value. Marts: the national cell of
# indicator/measure/age group at sex `all`. Core: sql/calibration_core.sql.
FIGURES: list[Figure] = [
    _c("population", 2017, 5_750_000),
    _c("psych_admissions", 2015, 46_000),
    _c("persons_psych_stay", 2011, 127_000),
    _c("persons_psych_stay", 2019, 164_000),
    _c("forced_admissions", 2010, 3_100),
    _c("forced_admissions", 2017, 4_500),
    _c("suicides", 2017, 600),
    _m("readmission_share", 2010, 0.185, "share", "p4_genindlaeggelse", "share"),
    _m("readmission_share", 2018, 0.227, "share", "p4_genindlaeggelse", "share"),
    _m("coerced_adults", 2017, 5_750, "count", "p2_tvang_personer", "persons", "adults"),
    _m("coerced_children", 2017, 330, "count", "p2_tvang_personer", "persons", "children"),
    _m("belted_persons", 2017, 1_435, "count", "n2_baeltefiksering", "persons_belted"),
    _m("ready_days", 2010, 40_000, "days", "n1_faerdigbehandlingsdage", "days_total"),
    _m("ready_days", 2015, 21_000, "days", "n1_faerdigbehandlingsdage", "days_total"),
    _m("ready_days", 2017, 24_000, "days", "n1_faerdigbehandlingsdage", "days_total"),
    _m("poor_mh_16_24", 2017, 0.183, "share", "p1_ung_mental_sundhed", "share", "16-24"),
    _m("poor_mh_16_plus", 2017, 0.132, "share", "p1_ung_mental_sundhed", "share_16plus"),
    _m("poor_mh_16_plus", 2021, 0.174, "share", "p1_ung_mental_sundhed", "share_16plus"),
    _m("employment_retention", 2017, 0.47, "share", "p5_beskaeftigelse", "share"),
]


def published_table() -> pl.DataFrame:
    return pl.DataFrame([vars(f) for f in FIGURES], schema_overrides={"year": pl.Int32})


def core_values(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    rows = run_sql_file(con, SQL_DIR / "calibration_core.sql")
    return pl.DataFrame(rows, schema={"name": pl.String, "year": pl.Int32, "value": pl.Float64}, orient="row")


def marts_values(marts_dir: Path) -> pl.DataFrame:
    files = sorted(str(p) for p in (Path(marts_dir) / "indicator_values").glob("year=*/*.parquet"))
    schema = {"indicator": pl.String, "measure": pl.String, "age_group": pl.String, "year": pl.Int32,
              "value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64}
    if not files:
        return pl.DataFrame(schema=schema)
    con = duckdb.connect()
    try:
        rows = run_sql_file(con, SQL_DIR / "calibration_marts.sql", {"files": files})
    finally:
        con.close()
    return pl.DataFrame(rows, schema=schema, orient="row")


def tolerance(kind: str, published: float, scale: float, n: float | None) -> float:
    """The relative band a figure must land in (see the module docstring)."""
    if kind == "count":
        expected = published * scale
        return max(RELATIVE, SIGMAS / math.sqrt(expected)) if expected > 0 else math.inf
    if not n:  # no units: nothing to compare (the row fails on its missing value)
        return RELATIVE
    if kind == "days":
        return max(RELATIVE, SIGMAS * math.sqrt(2 / n))
    return max(RELATIVE, SIGMAS * math.sqrt(published * (1 - published) / n) / published)


def compare(warehouse: Path, marts_dir: Path, scale: float) -> pl.DataFrame:
    """One row per published figure: the pipeline's value, rescaled to the nation, and whether it passes."""
    pub = published_table()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        core = core_values(con)
    finally:
        con.close()
    marts = marts_values(marts_dir)
    from_core = pub.filter(pl.col("source") == "core").join(core, on=["name", "year"], how="left").with_columns(
        n=pl.lit(None, pl.Float64))
    with_days = marts.filter(pl.col("measure") == "admissions_with_days").select(
        "indicator", "age_group", "year", k=pl.col("value"))
    from_marts = pub.filter(pl.col("source") == "marts").join(
        marts, on=["indicator", "measure", "age_group", "year"], how="left").join(
        with_days, on=["indicator", "age_group", "year"], how="left").with_columns(
        # shares are percent in the marts; the noise of a share is over its denominator units, of a
        # sum of days over the admissions with days
        value=pl.when(pl.col("kind") == "share").then(pl.col("value") / 100).otherwise(pl.col("value")),
        n=pl.when(pl.col("kind") == "share").then(pl.col("denominator"))
        .when(pl.col("kind") == "days").then(pl.col("k")).otherwise(None),
    ).drop("numerator", "denominator", "k")
    out = pl.concat([from_core, from_marts.select(from_core.columns)])
    out = out.with_columns(
        national=pl.when(pl.col("kind") != "share").then(pl.col("value") / scale).otherwise(pl.col("value")),
    ).with_columns(ratio=pl.col("national") / pl.col("published"))
    band = [tolerance(k, p, scale, n) for k, p, n in zip(out["kind"], out["published"], out["n"], strict=True)]
    out = out.with_columns(tolerance=pl.Series(band, dtype=pl.Float64)).with_columns(
        within_15=(pl.col("ratio") - 1).abs() <= RELATIVE,
        ok=(pl.col("ratio") - 1).abs() <= pl.col("tolerance"),
    ).with_columns(pl.col("within_15").fill_null(False), pl.col("ok").fill_null(False))
    order = {f"{f.name}/{f.year}": i for i, f in enumerate(FIGURES)}
    return out.with_columns(_o=pl.format("{}/{}", "name", "year").replace_strict(order, return_dtype=pl.Int32)
                            ).sort("_o").drop("_o")


def where(f: pl.DataFrame) -> pl.Series:
    """A short description of the pipeline value behind each row."""
    return pl.Series([
        f"core ({name})" if src == "core" else f"{ind}/{mea} age {age}"
        for name, src, ind, mea, age in zip(f["name"], f["source"], f["indicator"], f["measure"], f["age_group"],
                                            strict=True)])


def main(argv: list[str] | None = None) -> int:
    from pipeline.config import Settings

    env = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m pipeline.synth.calibration", description=__doc__.split("\n")[0])
    parser.add_argument("--raw-dir", type=Path, default=env.raw_dir, help="the generated world (its _synthetic.json)")
    parser.add_argument("--warehouse", type=Path, default=env.warehouse, help="warehouse of a pipeline run on it")
    parser.add_argument("--marts-dir", type=Path, default=env.marts_dir, help="marts of that run")
    parser.add_argument("--scale", type=float, default=None, help="default: the scale in _synthetic.json")
    args = parser.parse_args(argv)
    scale = args.scale or json.loads((args.raw_dir / "_synthetic.json").read_text(encoding="utf-8"))["scale"]
    f = compare(args.warehouse, args.marts_dir, scale)
    print(f"scale {scale}: pipeline values (counts / scale) against the published national figures")
    print(f"{'figure':<22}{'year':>5}{'published':>12}{'pipeline':>12}{'ratio':>8}{'band':>7}  ok   source")
    for row, src in zip(f.iter_rows(named=True), where(f), strict=True):
        fmt = "{:>12,.0f}" if row["kind"] != "share" else "{:>12.3f}"
        national = fmt.format(row["national"]) if row["national"] is not None else f"{'-':>12}"
        ratio = f"{row['ratio']:>8.3f}" if row["ratio"] is not None else f"{'-':>8}"
        print(f"{row['name']:<22}{row['year']:>5}{fmt.format(row['published'])}{national}{ratio}"
              f"{row['tolerance']:>7.1%}  {'yes' if row['ok'] else 'NO ':<4} {src}")
    return 0 if f["ok"].all() else 1


if __name__ == "__main__":
    sys.exit(main())
