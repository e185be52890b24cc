"""Shared test support for the indicator unit tests: a hand-built core world in a tmp DuckDB.

The `core.*` tables are created empty with the shapes of docs/architecture.md (so the unit SQL is
tested against the contract, not against the core code), `ref.geography` and `ref.codes` come from the
shipped reference files, and each test inserts its own literal rows. Also tests the shared SQL macros.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from assets.indicators import CATALOGUE, MACROS_SQL, write_units
from pipeline.db import run_sql_file

REFERENCE = Path(__file__).resolve().parent.parent / "pipeline" / "reference"

CORE_DDL = """
create schema if not exists core;
create schema if not exists ref;
create table core.persons (pnr varchar, koen integer, foed_dag date, first_bef_year integer);
create table core.residence (pnr varchar, year integer, kom integer);
create table core.deaths (pnr varchar, doddato date, c_dodsaarsag varchar);
create table core.contacts (
    contact_id varchar, pnr varchar, generation varchar, course_id varchar, psychiatric boolean,
    physical boolean, acute boolean, planned boolean, start_ts timestamp, end_ts timestamp,
    referral_date date, kom integer, action_diag varchar, region_ans integer, source_year integer);
create table core.diagnoses (contact_id varchar, code varchar, diag_type varchar);
create table core.markers (generation varchar, contact_id varchar, course_id varchar, meaning varchar,
    marker_date date);
create table core.stays (stay_id bigint, pnr varchar, psychiatric boolean, start_ts timestamp,
    end_ts timestamp, is_open boolean, acute boolean, last_kom integer, is_admission boolean,
    n_contacts integer);
create table core.stay_contacts (stay_id bigint, contact_id varchar);
create table core.data_end (data_end date);
create table core.coercion (pnr varchar, skema integer, tvangstype varchar, begrundelse varchar,
    voluntary boolean, psychiatry boolean, start_ts timestamp, end_ts timestamp, start_date date,
    region integer, source_year integer);
create table core.dream_weeks (pnr varchar, iso_year integer, iso_week integer, code varchar);
create table core.dream_coverage (iso_year integer, iso_week integer);
create table core.survey (respondent_id varchar, pnr varchar, year integer, alder integer, koen integer,
    kom integer, mcs double, vaegt double);
create table core.lup (respondent_id varchar, year integer, region integer, maalgruppe varchar,
    tilfredshed integer, inddragelse integer);
create table core.social_support (pnr varchar, paragraf varchar, maalgruppe varchar, start_dato date,
    slut_dato date);
create table core.education (pnr varchar, year integer, hfaudd_niveau varchar);
"""


def make_world(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A tmp warehouse with empty core tables and the shipped reference data."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for stmt in duckdb.extract_statements(CORE_DDL):
        con.execute(stmt).fetchall()
    con.execute(
        "create table ref.geography as select * from read_csv($p, header = true, all_varchar = true)",
        {"p": str(REFERENCE / "geography.csv")},
    ).fetchall()
    con.execute(
        """
        create or replace table ref.geography as select
            kom::integer as kom, kom_navn, region_code::integer as region_code, region_name,
            region2027_code::integer as region2027_code, region2027_name,
            sundhedsraad_code::integer as sundhedsraad_code, sundhedsraad_name, source
        from ref.geography
        """
    ).fetchall()
    con.execute(
        "create table ref.codes as select list_name, code, meaning from "
        "read_csv($p, header = true, all_varchar = true, union_by_name = true)",
        {"p": str(REFERENCE / "codes" / "*.csv")},
    ).fetchall()
    return con


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert literal rows (dicts) into `table`; columns not given are NULL."""
    for row in rows:
        cols = list(row)
        names = ", ".join(cols)
        marks = ", ".join(f"${c}" for c in cols)
        con.execute(f"insert into {table} ({names}) values ({marks})", row).fetchall()


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def d(text: str) -> date:
    return date.fromisoformat(text)


def stay(
    stay_id: int,
    pnr: str,
    start: str,
    end: str | None,
    *,
    psychiatric: bool = True,
    acute: bool = True,
    kom: int | None = 101,
    is_admission: bool = True,
) -> dict[str, Any]:
    return {
        "stay_id": stay_id,
        "pnr": pnr,
        "psychiatric": psychiatric,
        "start_ts": ts(start),
        "end_ts": ts(end) if end else None,
        "is_open": end is None,
        "acute": acute,
        "last_kom": kom,
        "is_admission": is_admission,
        "n_contacts": 1,
    }


def contact(
    contact_id: str,
    pnr: str,
    start: str,
    end: str | None = None,
    *,
    psychiatric: bool = True,
    physical: bool = True,
    acute: bool = False,
    planned: bool = False,
    course_id: str | None = None,
    referral: str | None = None,
    kom: int | None = 101,
    source_year: int | None = None,
) -> dict[str, Any]:
    start_ts = ts(start)
    return {
        "contact_id": contact_id,
        "pnr": pnr,
        "generation": "LPR3" if contact_id.startswith("L3:") else "LPR2",
        "course_id": course_id,
        "psychiatric": psychiatric,
        "physical": physical,
        "acute": acute,
        "planned": planned,
        "start_ts": start_ts,
        "end_ts": ts(end) if end else None,
        "referral_date": d(referral) if referral else None,
        "kom": kom,
        "source_year": source_year or start_ts.year,
    }


def person(pnr: str, born: str, koen: int = 1) -> dict[str, Any]:
    return {"pnr": pnr, "koen": koen, "foed_dag": d(born)}


def run_units(con: duckdb.DuckDBPyConnection, indicator_id: str, years: list[int]) -> dict[tuple[str, int], dict]:
    """Write units.<id> for the years through the asset's write path; return rows keyed by (unit_id, year)."""
    write_units(con, CATALOGUE[indicator_id], years)
    cur = con.execute(
        f"select * from units.{indicator_id} where list_contains($years, year) order by year, unit_id",
        {"years": sorted(years)},
    )
    cols = [c[0] for c in cur.description]
    fetched = cur.fetchall()
    out = {}
    for r in fetched:
        row = dict(zip(cols, r, strict=True))
        out[(row["unit_id"], row["year"])] = row
    assert len(out) == len(fetched), f"units.{indicator_id}: (unit_id, year) is not unique"
    return out


def outcome(row: dict) -> tuple[bool, bool, str | None]:
    return (row["in_denominator"], row["in_numerator"], row["exclusion_reason"])


# --- the shared macros --------------------------------------------------------------------------------


@pytest.fixture()
def macro_con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    run_sql_file(con, MACROS_SQL)
    return con


@pytest.mark.parametrize(
    ("born", "on", "expected"),
    [
        ("2000-02-29", "2017-02-28", 16),  # non-leap year: still 16 on 28 February
        ("2000-02-29", "2017-03-01", 17),  # ... and 17 on 1 March
        ("2000-02-29", "2016-02-29", 16),  # leap year: the birthday itself
        ("2000-02-29", "2016-02-28", 15),
        ("2001-07-01", "2019-07-01", 18),  # on the birthday
        ("2001-07-02", "2019-07-01", 17),  # the day before the birthday
        ("2001-12-31", "2002-01-01", 0),
    ],
)
def test_completed_years(macro_con, born, on, expected):
    got = macro_con.execute("select completed_years($b::date, $o::date)", {"b": born, "o": on}).fetchone()[0]
    assert got == expected


@pytest.mark.parametrize(
    ("age", "expected"),
    [(0, "0-12"), (12, "0-12"), (13, "13-17"), (17, "13-17"), (18, "18-29"), (44, "30-44"),
     (45, "45-64"), (64, "45-64"), (65, "65+"), (101, "65+"), (None, "unknown")],
)
def test_age_band(macro_con, age, expected):
    got = macro_con.execute(
        "select age_band($a::integer, [0, 13, 18, 30, 45, 65])", {"a": age}
    ).fetchone()[0]
    assert got == expected


@pytest.mark.parametrize(
    ("day", "iso"),
    [("2021-01-03", (2020, 53)), ("2020-12-28", (2020, 53)), ("2021-01-04", (2021, 1)),
     ("2019-12-30", (2020, 1)), ("2018-12-31", (2019, 1)), ("2016-01-03", (2015, 53))],
)
def test_iso_key_across_year_boundaries(macro_con, day, iso):
    got = macro_con.execute("select iso_key($d::date).iso_year, iso_key($d::date).iso_week", {"d": day}).fetchone()
    assert got == iso
