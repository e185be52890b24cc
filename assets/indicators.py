"""Indicator unit tables: one yearly asset per catalogue entry, writing `units.<indicator_id>`.

What belongs here: the asset factory that turns each catalogue entry (pipeline/catalogue/*.yaml) into a
yearly-partitioned asset, and the write path shared by all of them (run the indicator's unit SQL from
assets/sql/indicators/ with the catalogue parameters bound, replace the run's years in one transaction,
report counts). What does not: the definitions themselves (the .sql files and the catalogue entries)
and the aggregation of units into values (pipeline/aggregate.py). Each materialisation also carries
the figure for indicator assets: the national headline series as an image (pipeline/indicator_figures.py).

Every unit SQL file is one SELECT returning the unit rows of the years `$year_from`..`$year_to`, with the
columns of docs/architecture.md ("Indicator units") plus indicator-specific ones. The shared macros in
`_macros.sql` (completed years, sex labels, age groups, residence) are created first on the same
connection (`create_macros`: a run over few years gets the residence lookup of `_residence_few_years.sql`,
which reads only the years asked where it can).
"""

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipeline.catalogue import IndicatorSpec, load_catalogue
from pipeline.db import run_sql, run_sql_file
from pipeline.indicator_figures import figure_metadata
from pipeline.ops import REACH_AFTER, REACH_BEFORE, year_blocks
from pipeline.partitions import SINGLE_RUN, YEARS, partition_years

SQL_DIR = Path(__file__).resolve().parent / "sql" / "indicators"
MACROS_SQL = SQL_DIR / "_macros.sql"
# meta.unit_years: one row per indicator and year computed, also when the year has no unit at all, so
# "computed, zero units" and "never computed" differ downstream (completeness checks, zero values).
UNIT_YEARS_SQL = SQL_DIR / "_unit_years.sql"
# A run over at most this many years looks residence up with the plan of _residence_few_years.sql (its
# own years' rows first, the history only where needed); a longer run reads the history once instead.
FEW_YEARS = 3
FEW_YEARS_SQL = SQL_DIR / "_residence_few_years.sql"

# Indicators that share one definition with a parameter telling them apart (P4/I1 differ only in the
# domain of the readmission; N5/N6 only in the question). Every other indicator has `<id>.sql`.
SHARED_SQL: dict[str, str] = {
    "p4_genindlaeggelse": "readmission.sql",
    "i1_somatisk_efter_psykiatrisk": "readmission.sql",
    "n5_tilfredshed": "lup.sql",
    "n6_inddragelse": "lup.sql",
}

# The core tables each indicator reads (asset keys = core table names; `codes`/`geography` are ref).
CORE_DEPS: dict[str, tuple[str, ...]] = {
    "p1_ung_mental_sundhed": ("survey", "geography"),
    "p2_tvang_personer": ("coercion", "persons", "residence", "geography"),
    "p3_selvmord": ("contacts", "diagnoses", "deaths", "persons", "residence", "geography"),
    "p4_genindlaeggelse": ("stays", "deaths", "persons", "data_end", "geography"),
    "p5_beskaeftigelse": ("stays", "deaths", "persons", "dream_weeks", "geography"),
    "p6_serviceloven": ("social_support", "persons", "residence", "dream_weeks", "codes", "geography"),
    "n1_faerdigbehandlingsdage": ("stays", "contacts", "markers", "persons", "geography"),
    "n2_baeltefiksering": ("coercion", "stays", "persons", "residence", "geography"),
    "n3_ventetid": ("contacts", "persons", "residence", "geography"),
    "n4_udredningsret": ("contacts", "markers", "persons", "residence", "geography"),
    "n5_tilfredshed": ("lup", "geography"),
    "n6_inddragelse": ("lup", "geography"),
    "n7_uddannelse": ("persons", "residence", "contacts", "education", "geography"),
    "n8_overdoedelighed": ("persons", "residence", "contacts", "deaths", "geography"),
    "i1_somatisk_efter_psykiatrisk": ("stays", "deaths", "persons", "data_end", "geography"),
    "i2_somatisk_kontakt": ("stays", "contacts", "persons", "residence", "geography"),
}

_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")

# Year reach: a unit of year U reads event data of the years U - before .. U + after, so data of year Y
# can change the units of Y - after .. Y + before. Every indicator but the survey ones is taken to reach
# one year either way at least: stays and courses cross the turn of the year, the follow-up windows (P4/I1 30 days,
# N4's 30 days, P5's 182) end in the next year, and a year's file may hold events of the year before.
# Longer look-backs come from the parameters: N7 reads contacts from the $contact_from_age birthday to
# the $age one, N8 the $lookback_years before Y. A raw-folder refresh of year Y also re-runs the
# indicators (and what is downstream of them) for those neighbour years (pipeline/ops.py, which
# reads the asset metadata keys REACH_BEFORE / REACH_AFTER).

# Core tables that hold one year's answers each and are read for the unit's own year only.
_SAME_YEAR_ONLY = {"survey", "lup", "geography", "codes"}


def year_reach(spec: IndicatorSpec) -> tuple[int, int]:
    """(before, after): how many years before and after its unit year an indicator reads event data."""
    if set(CORE_DEPS.get(spec.id, ())) <= _SAME_YEAR_ONLY:
        return 0, 0  # survey indicators (P1, N5, N6): respondents of the year only
    p = spec.parameters
    before = 1
    if spec.id == "n7_uddannelse":
        before = max(before, int(p["age"]) - int(p["contact_from_age"]))
    if spec.id == "n8_overdoedelighed":
        before = max(before, int(p["lookback_years"]))
    return before, 1


def sql_path(spec: IndicatorSpec) -> Path:
    return SQL_DIR / SHARED_SQL.get(spec.id, f"{spec.id}.sql")


def year_ranges(years: Iterable[int]) -> list[tuple[int, int]]:
    """Contiguous (first, last) runs of the given years, so a delete by range never touches a gap."""
    return year_blocks(years)


def unit_params(spec: IndicatorSpec, year_from: int, year_to: int) -> dict[str, Any]:
    return {**spec.parameters, "year_from": year_from, "year_to": year_to}


def _select_sql(spec: IndicatorSpec) -> str:
    sql = sql_path(spec).read_text(encoding="utf-8").strip().rstrip(";")
    if len(duckdb.extract_statements(sql)) != 1:
        raise ValueError(f"{sql_path(spec).name}: a unit SQL file must hold exactly one SELECT")
    return sql


def create_macros(con: duckdb.DuckDBPyConnection, year_from: int, year_to: int) -> None:
    """The shared macros for a run over `year_from`..`year_to` (same rows whatever the plan chosen)."""
    run_sql_file(con, MACROS_SQL)
    if year_to - year_from + 1 <= FEW_YEARS:
        run_sql_file(con, FEW_YEARS_SQL)


def select_units(con: duckdb.DuckDBPyConnection, spec: IndicatorSpec, year_from: int, year_to: int) -> list[tuple]:
    """The unit rows of `spec` for the years (for tests and inspection; the asset writes them instead)."""
    create_macros(con, year_from, year_to)
    return run_sql(con, _select_sql(spec), unit_params(spec, year_from, year_to))


def write_units(con: duckdb.DuckDBPyConnection, spec: IndicatorSpec, years: Iterable[int]) -> dict[str, Any]:
    """Replace the rows of `years` in `units.<id>` in one transaction; return count metadata."""
    table = spec.unit_table_name
    if not _IDENT.match(table):  # an identifier cannot be bound; the loader checked it, check again
        raise ValueError(f"bad unit table name {table!r}")
    select = _select_sql(spec)
    run_sql(con, "create schema if not exists units")
    con.execute("begin transaction")
    try:
        for i, (y0, y1) in enumerate(year_ranges(years)):
            params = unit_params(spec, y0, y1)
            create_macros(con, y0, y1)
            run_sql(con, f"create or replace temp table _units_new as {select}", params)
            if i == 0:
                run_sql(con, f"create table if not exists units.{table} as select * from _units_new limit 0")
                _check_shape(con, table)
            run_sql(con, f"delete from units.{table} where year between $year_from and $year_to", params)
            run_sql(con, f"insert into units.{table} by name select * from _units_new")
            run_sql_file(con, UNIT_YEARS_SQL, {**params, "indicator_id": spec.id})
        run_sql(con, "drop table if exists _units_new")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return unit_counts(con, table, list(years))


def _check_shape(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """A unit table written by an older definition with other columns must be dropped on purpose."""
    new = run_sql(con, "select column_name from (describe _units_new)")
    old = run_sql(con, "select column_name from (describe units." + table + ")")
    if {r[0] for r in new} != {r[0] for r in old}:
        raise RuntimeError(
            f"units.{table} has columns {sorted(r[0] for r in old)} but the definition now gives "
            f"{sorted(r[0] for r in new)}; drop the table and re-run every year"
        )


def unit_counts(con: duckdb.DuckDBPyConnection, table: str, years: list[int]) -> dict[str, Any]:
    """Counts only (no ids): units, denominator, numerator, exclusions by reason."""
    rows = run_sql(
        con,
        f"""
        select count(*), count(*) filter (where in_denominator), count(*) filter (where in_numerator)
        from units.{table} where list_contains($years, year)
        """,
        {"years": years},
    )
    units, den, num = rows[0]
    reasons = run_sql(
        con,
        f"""
        select exclusion_reason, count(*) from units.{table}
        where list_contains($years, year) and exclusion_reason is not null
        group by all order by 1
        """,
        {"years": years},
    )
    return {
        "units": int(units),
        "denominator": int(den),
        "numerator": int(num),
        "exclusions": {r[0]: int(r[1]) for r in reasons},
    }


def build_indicator_asset(spec: IndicatorSpec) -> dg.AssetsDefinition:
    deps = [dg.AssetKey(k) for k in CORE_DEPS.get(spec.id, ())]
    return _indicator_asset(spec, deps)


def _indicator_asset(spec: IndicatorSpec, deps: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        name=spec.id,
        group_name="indicators",
        partitions_def=YEARS,
        backfill_policy=SINGLE_RUN,
        pool="warehouse",
        deps=deps,
        description=f"{spec.code} {spec.name_en}: unit table {spec.unit_table} (one row per unit).",
        kinds={"duckdb"},
        metadata=dict(zip((REACH_BEFORE, REACH_AFTER), year_reach(spec), strict=True)),
    )
    def _asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> None:
        years = partition_years(context)
        with duckdb.get_connection() as con:  # closed also on failure (pipeline.resources.WarehouseResource)
            counts = write_units(con, spec, years)
            # the national headline series of every year computed so far (aggregates only)
            figure = figure_metadata(con, spec)
        context.log.info(
            f"{spec.unit_table} years {years}: {counts['units']} units, {counts['denominator']} in "
            f"denominator, {counts['numerator']} in numerator"
        )
        context.add_output_metadata(
            {
                "years": dg.MetadataValue.text(", ".join(str(y) for y in years)),
                "units": dg.MetadataValue.int(counts["units"]),
                "denominator": dg.MetadataValue.int(counts["denominator"]),
                "numerator": dg.MetadataValue.int(counts["numerator"]),
                "exclusions_by_reason": dg.MetadataValue.json(counts["exclusions"]),
                **figure,
            }
        )

    return _asset


CATALOGUE = load_catalogue()
indicator_assets = [build_indicator_asset(spec) for spec in CATALOGUE.values()]
