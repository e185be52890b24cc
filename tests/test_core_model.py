"""Core model: staging tables written by hand into a tmp DuckDB, expected values written by hand.

Person ids say what the case is about. Times are given as the registers give them (LPR2 date + hour,
LPR3 date + time), expected values as literal timestamps.
"""

from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from assets.core import CORE_TABLES, build_core, build_table
from assets.reference import load_codes, load_geography

LINEAGE = {"_year": "INTEGER", "_source_file": "VARCHAR", "_source_row": "BIGINT", "_loaded_at": "TIMESTAMP"}

# The contract's columns, typed as docs/architecture.md says staging is typed.
STAGING: dict[str, dict[str, str]] = {
    "bef": {"pnr": "VARCHAR", "koen": "INTEGER", "foed_dag": "DATE", "kom": "INTEGER"},
    "dod": {"pnr": "VARCHAR", "doddato": "DATE", "c_dodsaarsag": "VARCHAR"},
    "lpr_adm": {"recnum": "VARCHAR", "pnr": "VARCHAR", "c_sgh": "VARCHAR", "c_afd": "VARCHAR",
                "c_spec": "VARCHAR", "c_pattype": "VARCHAR", "c_indm": "VARCHAR", "d_hendto": "DATE",
                "d_inddto": "DATE", "v_indtime": "INTEGER", "d_uddto": "DATE", "v_udtime": "INTEGER",
                "c_adiag": "VARCHAR", "c_kom": "INTEGER"},
    "lpr_diag": {"recnum": "VARCHAR", "c_diag": "VARCHAR", "c_diagtype": "VARCHAR"},
    "lpr_markoer": {"recnum": "VARCHAR", "markoer": "VARCHAR", "d_markoer": "DATE"},
    "lpr_f_kontakter": {"dw_ek_kontakt": "VARCHAR", "dw_ek_forloeb": "VARCHAR", "cpr": "VARCHAR",
                        "dato_start": "DATE", "tidspunkt_start": "TIME", "dato_slut": "DATE",
                        "tidspunkt_slut": "TIME", "dato_henvisning": "DATE", "kontakttype": "VARCHAR",
                        "prioritet": "VARCHAR", "hovedspeciale_ans": "VARCHAR", "sorenhed_ans": "VARCHAR",
                        "region_ans": "INTEGER", "aktionsdiagnose": "VARCHAR",
                        "lprindberetningssystem": "VARCHAR", "kom": "INTEGER"},
    "lpr_f_diagnoser": {"dw_ek_kontakt": "VARCHAR", "diagnosekode": "VARCHAR", "diagnosetype": "VARCHAR",
                        "senere_afkraeftet": "VARCHAR"},
    "lpr_f_forloebsmarkoerer": {"dw_ek_forloeb": "VARCHAR", "markoer": "VARCHAR", "dato_markoer": "DATE",
                                "tidspunkt_markoer": "TIME"},
    "tvang": {"pnr": "VARCHAR", "skema": "INTEGER", "tvangstype": "VARCHAR", "begrundelse": "VARCHAR",
              "start_dato": "DATE", "start_tid": "TIME", "slut_dato": "DATE", "slut_tid": "TIME",
              "behandlingsomraade": "VARCHAR", "region": "INTEGER"},
}


def stage(con: duckdb.DuckDBPyConnection, register: str, rows: list[dict[str, Any]],
          columns: dict[str, str] | None = None) -> None:
    """Create staging.<register> with the contract's columns + lineage and insert `rows`."""
    cols = {**(columns or STAGING[register]), **LINEAGE}
    con.execute("create schema if not exists staging")
    ddl = ", ".join(f'"{c}" {t}' for c, t in cols.items())
    con.execute(f'create or replace table staging."{register}" ({ddl})')
    names = list(cols)
    values = [
        {"_source_file": f"{register}.csv", "_source_row": i, "_loaded_at": datetime(2026, 1, 1), **row}
        for i, row in enumerate(rows, start=1)
    ]
    # one set-based insert: every value as text, cast by DuckDB to the column's type
    frame = pl.DataFrame({n: [None if v.get(n) is None else str(v[n]) for v in values] for n in names},
                         schema={n: pl.Utf8 for n in names})
    con.register("stage_frame", frame)
    con.execute(f'insert into staging."{register}" select * from stage_frame')
    con.unregister("stage_frame")


def lpr2(recnum: str, pnr: str, start: str, start_hour: int | None, end: str | None, end_hour: int | None,
         spec: str = "50", indm: str = "1", kom: int | None = 101, year: int | None = None, **extra: Any) -> dict:
    return {"recnum": recnum, "pnr": pnr, "c_spec": spec, "c_pattype": "0", "c_indm": indm,
            "d_inddto": date.fromisoformat(start), "v_indtime": start_hour,
            "d_uddto": date.fromisoformat(end) if end else None, "v_udtime": end_hour,
            "c_adiag": "DF200", "c_kom": kom, "_year": year or int(start[:4]), **extra}


def lpr3(kid: str, cpr: str, start: str, start_time: str | None, end: str | None, end_time: str | None,
         spec: str = "psykiatri", prio: str = "ATA1", ktype: str = "ALCA00", system: str = "LPR3",
         kom: int | None = 101, course: str | None = None, year: int | None = None, **extra: Any) -> dict:
    return {"dw_ek_kontakt": kid, "dw_ek_forloeb": course or f"F{kid}", "cpr": cpr,
            "dato_start": date.fromisoformat(start), "tidspunkt_start": start_time,
            "dato_slut": date.fromisoformat(end) if end else None, "tidspunkt_slut": end_time,
            "kontakttype": ktype, "prioritet": prio, "hovedspeciale_ans": spec, "region_ans": 84,
            "aktionsdiagnose": "DF322", "lprindberetningssystem": system, "kom": kom,
            "_year": year or int(start[:4]), **extra}


def ts(s: str) -> datetime:
    return datetime.fromisoformat(s)


def _warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(str(path))
    load_geography(c)
    load_codes(c)
    return c


@pytest.fixture
def con(tmp_path: Path):
    c = _warehouse(tmp_path / "warehouse.duckdb")
    yield c
    c.close()


def stays_of(con: duckdb.DuckDBPyConnection, pnr: str) -> list[tuple]:
    """(psychiatric, start_ts, end_ts, is_open, acute, last_kom, is_admission, n_contacts) by start."""
    return con.execute(
        "select psychiatric, start_ts, end_ts, is_open, acute, last_kom, is_admission, n_contacts "
        "from core.stays where pnr = $p order by psychiatric desc, start_ts",
        {"p": pnr},
    ).fetchall()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """The stay world, built once for the read-only tests of this module."""
    c = _warehouse(tmp_path_factory.mktemp("world") / "warehouse.duckdb")
    yield build_world(c)
    c.close()


def build_world(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """One world of stay cases; data end is configured as 2021-12-31."""
    stage(con, "lpr_adm", [
        # exactly 4 h between end (2018-03-02 10:00) and next start (14:00): one stay
        lpr2("a1", "stay_gap_4h_chains", "2018-03-01", 8, "2018-03-02", 10),
        lpr2("a2", "stay_gap_4h_chains", "2018-03-02", 14, "2018-03-03", 9),
        # empty LPR2 start hour with the date set counts as 00:00 -> exactly 12 h -> admission
        lpr2("e1", "lpr2_empty_hour_is_0", "2015-05-05", None, "2015-05-05", 12),
        # the 2019 switch: LPR2 contact ends 2018-12-31 23:00, LPR3 starts 2019-01-01 02:00
        lpr2("s1", "switch_2019_chains", "2018-12-30", 10, "2018-12-31", 23, kom=147),
        # acute tie: two contacts share the earliest start; only one of them is acute
        lpr2("t1", "acute_tie_any_acute", "2017-06-01", 9, "2017-06-02", 9, indm="2"),
        lpr2("t2", "acute_tie_any_acute", "2017-06-01", 9, "2017-06-01", 15, indm="1"),
        # earliest contact planned, a later chained contact acute: the stay is not acute
        lpr2("u1", "acute_only_later_contact_not", "2017-07-01", 9, "2017-07-02", 9, indm="2"),
        lpr2("u2", "acute_only_later_contact_not", "2017-07-01", 12, "2017-07-03", 9, indm="1"),
    ])
    stage(con, "lpr_f_kontakter", [
        # 4 h 1 min: two stays
        lpr3("b1", "stay_gap_4h01_splits", "2020-03-01", "08:00", "2020-03-01", "10:00"),
        lpr3("b2", "stay_gap_4h01_splits", "2020-03-01", "14:01", "2020-03-02", "09:00"),
        # chaining uses the latest end so far, not the previous contact's end
        lpr3("c1", "stay_overlap_latest_end", "2020-01-01", "00:00", "2020-01-10", "00:00"),
        lpr3("c2", "stay_overlap_latest_end", "2020-01-02", "00:00", "2020-01-03", "00:00"),
        lpr3("c3", "stay_overlap_latest_end", "2020-01-10", "03:00", "2020-01-11", "00:00"),
        # an open contact chains every later contact of its domain
        lpr3("d1", "stay_open_chains_later", "2020-05-01", "10:00", None, None),
        lpr3("d2", "stay_open_chains_later", "2020-06-01", "10:00", "2020-06-02", "10:00"),
        lpr3("d3", "stay_open_chains_later", "2021-02-01", "10:00", "2021-02-01", "11:00"),
        # domains do not chain: psychiatric 08-12, somatic 13-20 the same day
        lpr3("f1", "stay_domains_separate", "2020-01-01", "08:00", "2020-01-01", "12:00"),
        lpr3("f2", "stay_domains_separate", "2020-01-01", "13:00", "2020-01-01", "20:00", spec="intern medicin"),
        # 12 h exactly is an admission, 11 h 59 min is not
        lpr3("g1", "adm_12h_exact", "2020-02-01", "08:00", "2020-02-01", "20:00"),
        lpr3("h1", "adm_11h59_not", "2020-02-01", "08:00", "2020-02-01", "19:59"),
        # open stays by data end (2021-12-31 -> measured at 2022-01-01 00:00)
        lpr3("o1", "open_12h_by_data_end", "2021-12-31", "12:00", None, None),
        lpr3("o2", "open_11h59_by_data_end_not", "2021-12-31", "12:01", None, None),
        # last contact: latest start; tie on start -> latest end
        lpr3("l1", "last_contact_tie_latest_end", "2020-04-01", "08:00", "2020-04-03", "08:00", kom=851),
        lpr3("l2", "last_contact_tie_latest_end", "2020-04-02", "08:00", "2020-04-02", "20:00", kom=461),
        lpr3("l3", "last_contact_tie_latest_end", "2020-04-02", "08:00", "2020-04-02", "22:00", kom=751),
        # last contact without kom: bef of the end year, not another contact's kom
        lpr3("k1", "last_kom_from_bef", "2020-12-30", "08:00", "2020-12-31", "08:00", kom=851),
        lpr3("k2", "last_kom_from_bef", "2020-12-31", "10:00", "2021-01-02", "10:00", kom=None),
        # the 2019 switch, LPR3 side
        lpr3("s2", "switch_2019_chains", "2019-01-01", "02:00", "2019-01-05", "12:00", kom=265),
        # an LPR3 row reported through LPR2 duplicates an LPR2 contact: dropped
        lpr3("x1", "switch_2019_chains", "2018-12-30", "10:00", "2018-12-31", "23:00", system="LPR2"),
        # LPR3 empty times count as 00:00; virtual contacts are not stays
        lpr3("n1", "lpr3_empty_time_is_0", "2020-09-01", None, "2020-09-01", "12:00"),
        lpr3("v1", "virtual_not_a_stay", "2020-09-01", "08:00", "2020-09-01", "23:00", ktype="ALCA03"),
    ])
    stage(con, "bef", [
        {"pnr": "last_kom_from_bef", "koen": 2, "foed_dag": date(1980, 1, 1), "kom": 101, "_year": 2020},
        {"pnr": "last_kom_from_bef", "koen": 2, "foed_dag": date(1980, 1, 1), "kom": 173, "_year": 2021},
    ])
    build_core(con, data_end=date(2021, 12, 31))
    return con


def test_stay_gap_exactly_4h_chains_and_4h01_splits(world):
    assert stays_of(world, "stay_gap_4h_chains") == [
        (True, ts("2018-03-01 08:00"), ts("2018-03-03 09:00"), False, True, 101, True, 2),
    ]
    assert stays_of(world, "stay_gap_4h01_splits") == [
        (True, ts("2020-03-01 08:00"), ts("2020-03-01 10:00"), False, True, 101, False, 1),
        (True, ts("2020-03-01 14:01"), ts("2020-03-02 09:00"), False, True, 101, True, 1),
    ]


def test_stay_chains_on_latest_end_so_far(world):
    assert stays_of(world, "stay_overlap_latest_end") == [
        (True, ts("2020-01-01 00:00"), ts("2020-01-11 00:00"), False, True, 101, True, 3),
    ]


def test_open_contact_chains_every_later_contact(world):
    assert stays_of(world, "stay_open_chains_later") == [
        (True, ts("2020-05-01 10:00"), None, True, True, 101, True, 3),
    ]


def test_domains_do_not_chain(world):
    assert stays_of(world, "stay_domains_separate") == [
        (True, ts("2020-01-01 08:00"), ts("2020-01-01 12:00"), False, True, 101, False, 1),
        (False, ts("2020-01-01 13:00"), ts("2020-01-01 20:00"), False, True, 101, False, 1),
    ]


def test_admission_boundary_12h(world):
    assert [s[6] for s in stays_of(world, "adm_12h_exact")] == [True]
    assert [s[6] for s in stays_of(world, "adm_11h59_not")] == [False]


def test_open_stays_are_admissions_once_12h_by_data_end(world):
    assert stays_of(world, "open_12h_by_data_end") == [
        (True, ts("2021-12-31 12:00"), None, True, True, 101, True, 1),
    ]
    assert [s[6] for s in stays_of(world, "open_11h59_by_data_end_not")] == [False]


def test_acute_tie_rule(world):
    assert [s[4] for s in stays_of(world, "acute_tie_any_acute")] == [True]
    assert [(s[4], s[7]) for s in stays_of(world, "acute_only_later_contact_not")] == [(False, 2)]


def test_last_contact_latest_start_then_latest_end(world):
    assert [s[5] for s in stays_of(world, "last_contact_tie_latest_end")] == [751]


def test_last_contact_without_kom_falls_back_to_bef_of_end_year(world):
    assert [s[5] for s in stays_of(world, "last_kom_from_bef")] == [173]


def test_lpr2_marked_lpr3_rows_dropped_and_2019_switch_chains(world):
    ids = {r[0] for r in world.execute(
        "select contact_id from core.contacts where pnr = 'switch_2019_chains'").fetchall()}
    assert ids == {"L2:s1", "L3:s2"}
    assert stays_of(world, "switch_2019_chains") == [
        (True, ts("2018-12-30 10:00"), ts("2019-01-05 12:00"), False, True, 265, True, 2),
    ]
    members = world.execute(
        "select sc.contact_id from core.stay_contacts sc join core.stays s using (stay_id) "
        "where s.pnr = 'switch_2019_chains' order by 1").fetchall()
    assert members == [("L2:s1",), ("L3:s2",)]


def test_empty_times_count_as_midnight(world):
    row = world.execute("select start_ts, end_ts from core.contacts where contact_id = 'L2:e1'").fetchone()
    assert row == (ts("2015-05-05 00:00"), ts("2015-05-05 12:00"))
    assert [s[6] for s in stays_of(world, "lpr2_empty_hour_is_0")] == [True]
    row = world.execute("select start_ts from core.contacts where contact_id = 'L3:n1'").fetchone()
    assert row == (ts("2020-09-01 00:00"),)


def test_virtual_contact_is_a_contact_but_not_a_stay(world):
    row = world.execute(
        "select physical, psychiatric, acute, planned from core.contacts where contact_id = 'L3:v1'").fetchone()
    assert row == (False, True, True, False)
    assert stays_of(world, "virtual_not_a_stay") == []


def test_contact_flags_from_code_lists(world):
    got = world.execute(
        "select contact_id, psychiatric, physical, acute, planned, generation, course_id from core.contacts "
        "where contact_id in ('L2:t1', 'L3:f2', 'L3:b1') order by contact_id").fetchall()
    assert got == [
        ("L2:t1", True, True, False, True, "LPR2", None),
        ("L3:b1", True, True, True, False, "LPR3", "Fb1"),
        ("L3:f2", False, True, True, False, "LPR3", "Ff2"),
    ]


def test_stay_ids_unique_and_every_physical_contact_in_exactly_one_stay(world):
    n_phys = world.execute("select count(*) from core.contacts where physical").fetchone()[0]
    assert world.execute("select count(*), count(distinct contact_id) from core.stay_contacts").fetchone() == (
        n_phys, n_phys)
    assert world.execute("select count(*) = count(distinct stay_id) from core.stays").fetchone()[0]
    assert world.execute("select sum(n_contacts) from core.stays").fetchone()[0] == n_phys


def test_data_end_configured_or_last_lpr_year(con):
    world = build_world(con)
    assert world.execute("select data_end from core.data_end").fetchall() == [(date(2021, 12, 31),)]
    build_table(world, "data_end", None)
    # latest LPR file year in the world is 2021 (d3, o1, o2)
    assert world.execute("select data_end from core.data_end").fetchall() == [(date(2021, 12, 31),)]
    build_table(world, "data_end", date(2021, 6, 30))
    assert world.execute("select data_end from core.data_end").fetchall() == [(date(2021, 6, 30),)]
    # with data end 2021-06-30, the open stay of 2021-12-31 has not lasted 12 h by data end
    build_table(world, "stays")
    assert [s[6] for s in stays_of(world, "open_12h_by_data_end")] == [False]


def test_data_end_from_latest_lpr_year_without_configuration(con):
    stage(con, "lpr_adm", [lpr2("r1", "p", "2016-03-01", 8, "2016-03-02", 8)])
    build_core(con)
    assert con.execute("select data_end from core.data_end").fetchall() == [(date(2016, 12, 31),)]


def test_diagnoses_drop_disproved_and_add_action_diagnoses(con):
    stage(con, "lpr_adm", [lpr2("r1", "p1", "2016-03-01", 8, "2016-03-02", 8, c_adiag="DF200")])
    stage(con, "lpr_diag", [
        {"recnum": "r1", "c_diag": "DF200", "c_diagtype": "A"},
        {"recnum": "r1", "c_diag": "DX600", "c_diagtype": "B"},
        {"recnum": "orphan", "c_diag": "DX700", "c_diagtype": "B"},
    ])
    stage(con, "lpr_f_kontakter", [
        lpr3("k1", "p1", "2020-01-01", "08:00", "2020-01-02", "08:00", aktionsdiagnose="DF322"),
        lpr3("k2", "p1", "2020-01-01", "08:00", "2020-01-02", "08:00", system="LPR2", aktionsdiagnose="DF300"),
    ])
    stage(con, "lpr_f_diagnoser", [
        {"dw_ek_kontakt": "k1", "diagnosekode": "DX700", "diagnosetype": "B", "senere_afkraeftet": "Ja"},
        {"dw_ek_kontakt": "k1", "diagnosekode": "DF322", "diagnosetype": "A", "senere_afkraeftet": "Ja"},
        {"dw_ek_kontakt": "k1", "diagnosekode": "DX610", "diagnosetype": "B", "senere_afkraeftet": "Nej"},
        {"dw_ek_kontakt": "k2", "diagnosekode": "DX620", "diagnosetype": "B", "senere_afkraeftet": "Nej"},
    ])
    build_core(con)
    got = con.execute("select contact_id, code, diag_type from core.diagnoses order by all").fetchall()
    assert got == [
        ("L2:r1", "DF200", "A"),
        ("L2:r1", "DX600", "B"),
        ("L3:k1", "DF322", "A"),  # action diagnosis counts although its diagnosis row is disproved
        ("L3:k1", "DX610", "B"),
    ]


def test_markers_mapped_through_code_list(con):
    stage(con, "lpr_markoer", [
        {"recnum": "r1", "markoer": "MFB01", "d_markoer": date(2017, 3, 5)},
        {"recnum": "r1", "markoer": "ZZZ99", "d_markoer": date(2017, 3, 6)},
    ])
    stage(con, "lpr_f_forloebsmarkoerer", [
        {"dw_ek_forloeb": "F1", "markoer": "MUA01", "dato_markoer": date(2020, 2, 1)},
        {"dw_ek_forloeb": "F1", "markoer": "MUF02", "dato_markoer": date(2020, 2, 2)},
    ])
    build_core(con)
    got = con.execute(
        "select generation, contact_id, course_id, meaning, marker_date from core.markers order by all").fetchall()
    assert got == [
        ("LPR2", "L2:r1", None, "faerdigbehandlet", date(2017, 3, 5)),
        ("LPR3", None, "F1", "udredning_afsluttet", date(2020, 2, 1)),
        ("LPR3", None, "F1", "udredning_fristbrud_begrundet", date(2020, 2, 2)),
    ]


def test_coercion_voluntary_only_for_belt_with_frivillig(con):
    base = {"skema": 3, "start_dato": date(2020, 1, 1), "start_tid": "10:00", "slut_dato": None,
            "slut_tid": None, "behandlingsomraade": "psykiatri", "region": 84, "_year": 2020}
    stage(con, "tvang", [
        {**base, "pnr": "belt_voluntary", "tvangstype": "baelte", "begrundelse": "frivillig"},
        {**base, "pnr": "hold_frivillig_still_coercion", "tvangstype": "fastholdelse", "begrundelse": "frivillig"},
        {**base, "pnr": "belt_forced", "tvangstype": "baelte", "begrundelse": "farlighed"},
        {**base, "pnr": "somatic_belt", "tvangstype": "baelte", "begrundelse": None, "behandlingsomraade": "somatik",
         "start_tid": None},
    ])
    build_core(con)
    got = con.execute("select pnr, voluntary, psychiatry, start_ts, end_ts from core.coercion order by pnr").fetchall()
    assert got == [
        ("belt_forced", False, True, ts("2020-01-01 10:00"), None),
        ("belt_voluntary", True, True, ts("2020-01-01 10:00"), None),
        ("hold_frivillig_still_coercion", False, True, ts("2020-01-01 10:00"), None),
        ("somatic_belt", False, False, ts("2020-01-01 00:00"), None),
    ]


def test_dream_unpivot_non_empty_weeks_including_week_53(con):
    cols = {"pnr": "VARCHAR", "y_2052": "VARCHAR", "y_2053": "VARCHAR", "y_2101": "VARCHAR"}
    stage(con, "dream", [
        {"pnr": "p1", "y_2052": "111", "y_2053": None, "y_2101": ""},
        {"pnr": "p2", "y_2052": None, "y_2053": "651", "y_2101": "740"},
        {"pnr": "p3_never", "y_2052": None, "y_2053": None, "y_2101": None},
    ], columns=cols)
    build_core(con)
    assert con.execute("select pnr, iso_year, iso_week, code from core.dream_weeks order by all").fetchall() == [
        ("p1", 2020, 52, "111"),
        ("p2", 2020, 53, "651"),
        ("p2", 2021, 1, "740"),
    ]
    assert con.execute("select iso_year, iso_week from core.dream_coverage order by all").fetchall() == [
        (2020, 52), (2020, 53), (2021, 1),
    ]


def test_dream_weeks_are_stored_in_year_order_whatever_the_column_order(con):
    # one-year indicator runs (P5, P6) skip other years' row groups only if the table is year-ordered
    cols = {"pnr": "VARCHAR", "y_2101": "VARCHAR", "y_1952": "VARCHAR", "y_2053": "VARCHAR", "y_1901": "VARCHAR",
            "Y_1801": "VARCHAR"}
    stage(con, "dream", [
        {"pnr": f"p{i}", "y_2101": "740", "y_1952": "111", "y_2053": "", "y_1901": "651", "Y_1801": "111"}
        for i in range(3)
    ], columns=cols)
    build_core(con)
    stored = [r[0] for r in con.execute("select iso_year from core.dream_weeks order by rowid").fetchall()]
    assert stored == [2019] * 6 + [2021] * 3
    # one row per person and week (P6 counts rows as weeks): staged pnr are unique, week columns distinct
    assert con.execute("select count(*) = count(distinct (pnr, iso_year, iso_week)) from core.dream_weeks").fetchall() == [
        (True,)]
    # an upper-case week column is covered (case-blind) but, as before, holds no weeks
    assert con.execute("select distinct iso_year from core.dream_coverage order by 1").fetchall() == [
        (2018,), (2019,), (2020,), (2021,)]


def test_persons_residence_deaths(con):
    stage(con, "bef", [
        {"pnr": "p1", "koen": 1, "foed_dag": date(1990, 2, 3), "kom": 101, "_year": 2019},
        {"pnr": "p1", "koen": 2, "foed_dag": date(1990, 2, 4), "kom": 851, "_year": 2020},
        {"pnr": "p2", "koen": 2, "foed_dag": date(2000, 1, 1), "kom": None, "_year": 2020},
    ])
    stage(con, "dod", [
        {"pnr": "p1", "doddato": date(2021, 5, 1), "c_dodsaarsag": "DX700"},
        {"pnr": "p1", "doddato": date(2021, 4, 1), "c_dodsaarsag": ""},
    ])
    build_core(con)
    assert con.execute("select * from core.persons order by pnr").fetchall() == [
        ("p1", 2, date(1990, 2, 4), 2019), ("p2", 2, date(2000, 1, 1), 2020)]  # latest bef wins; first bef year
    assert con.execute("select * from core.residence order by all").fetchall() == [
        ("p1", 2019, 101), ("p1", 2020, 851), ("p2", 2020, None)]
    assert con.execute("select * from core.deaths").fetchall() == [("p1", date(2021, 4, 1), None)]


def test_residence_keeps_the_last_row_of_a_person_listed_twice_in_a_year(con):
    # the file's last row wins, also when its kom is empty (not the last known kom); other years apart
    stage(con, "bef", [
        {"pnr": "p1", "koen": 1, "foed_dag": date(1990, 2, 3), "kom": 101, "_year": 2020, "_source_row": 7},
        {"pnr": "p1", "koen": 1, "foed_dag": date(1990, 2, 3), "kom": None, "_year": 2020, "_source_row": 9},
        {"pnr": "p1", "koen": 1, "foed_dag": date(1990, 2, 3), "kom": 851, "_year": 2020, "_source_row": 8},
        {"pnr": "p2", "koen": 2, "foed_dag": date(2000, 1, 1), "kom": 461, "_year": 2020, "_source_row": 2},
        {"pnr": "p2", "koen": 2, "foed_dag": date(2000, 1, 1), "kom": 101, "_year": 2020, "_source_row": 1},
        {"pnr": "p2", "koen": 2, "foed_dag": date(2000, 1, 1), "kom": 751, "_year": 2021, "_source_row": 1},
    ])
    build_core(con)
    assert con.execute("select * from core.residence order by all").fetchall() == [
        ("p1", 2020, None), ("p2", 2020, 461), ("p2", 2021, 751)]


EXPECTED_SHAPES = {
    "contacts": [("contact_id", "VARCHAR"), ("pnr", "VARCHAR"), ("generation", "VARCHAR"),
                 ("course_id", "VARCHAR"), ("psychiatric", "BOOLEAN"), ("physical", "BOOLEAN"),
                 ("acute", "BOOLEAN"), ("planned", "BOOLEAN"), ("start_ts", "TIMESTAMP"),
                 ("end_ts", "TIMESTAMP"), ("referral_date", "DATE"), ("kom", "INTEGER"),
                 ("action_diag", "VARCHAR"), ("region_ans", "INTEGER"), ("source_year", "INTEGER"),
                 ("contact_key", "BIGINT")],
    "diagnoses": [("contact_id", "VARCHAR"), ("code", "VARCHAR"), ("diag_type", "VARCHAR"),
                  ("source_year", "INTEGER")],
    "stay_contacts": [("stay_id", "BIGINT"), ("contact_id", "VARCHAR"), ("source_year", "INTEGER")],
    "stays": [("stay_id", "BIGINT"), ("pnr", "VARCHAR"), ("psychiatric", "BOOLEAN"), ("start_ts", "TIMESTAMP"),
              ("end_ts", "TIMESTAMP"), ("is_open", "BOOLEAN"), ("acute", "BOOLEAN"), ("last_kom", "INTEGER"),
              ("is_admission", "BOOLEAN"), ("n_contacts", "INTEGER")],
    "dream_weeks": [("pnr", "VARCHAR"), ("iso_year", "INTEGER"), ("iso_week", "INTEGER"), ("code", "VARCHAR")],
    "coercion": [("pnr", "VARCHAR"), ("skema", "INTEGER"), ("tvangstype", "VARCHAR"), ("begrundelse", "VARCHAR"),
                 ("voluntary", "BOOLEAN"), ("psychiatry", "BOOLEAN"), ("start_ts", "TIMESTAMP"),
                 ("end_ts", "TIMESTAMP"), ("start_date", "DATE"), ("region", "INTEGER"), ("source_year", "INTEGER")],
    "survey": [("respondent_id", "VARCHAR"), ("pnr", "VARCHAR"), ("year", "INTEGER"), ("alder", "INTEGER"),
               ("koen", "INTEGER"), ("kom", "INTEGER"), ("mcs", "DOUBLE"), ("vaegt", "DOUBLE")],
    "persons": [("pnr", "VARCHAR"), ("koen", "INTEGER"), ("foed_dag", "DATE"), ("first_bef_year", "INTEGER")],
}


def test_missing_staging_tables_give_empty_core_tables_of_the_right_shape(con):
    results = build_core(con)
    assert results["contacts"]["missing_registers"] == ["lpr_adm", "lpr_f_kontakter"]
    for t in CORE_TABLES:
        for name in (t.name, *t.also_writes):
            n = con.execute(f"select count(*) from core.{name}").fetchone()[0]
            assert n == (1 if name == "data_end" else 0), name
    for name, shape in EXPECTED_SHAPES.items():
        got = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'core' and table_name = $t order by ordinal_position", {"t": name}).fetchall()
        assert got == shape, name
    assert con.execute("select data_end from core.data_end").fetchall() == [(None,)]


def test_staging_table_missing_a_column_is_a_clear_error(con):
    stage(con, "tvang", [], columns={"pnr": "VARCHAR", "skema": "INTEGER"})
    with pytest.raises(ValueError, match=r"staging.tvang lacks column\(s\)"):
        build_table(con, "coercion")


def test_stays_match_a_plain_python_chaining_on_random_contacts(con):
    """Set-based chaining agrees with the rule applied contact by contact (written here, in Python)."""
    import random
    from datetime import timedelta

    rng = random.Random(7)
    base = datetime(2019, 1, 1)
    rows, contacts = [], []
    for i in range(1500):
        pnr = f"r{rng.randrange(60)}"
        start = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 60, 30))
        length = timedelta(minutes=rng.choice([0, 60, 240, 600, 720, 1440, 4000]))
        end = None if rng.random() < 0.01 else start + length
        spec = rng.choice(["psykiatri", "intern medicin"])
        rows.append(lpr3(f"c{i}", pnr, start.date().isoformat(), start.time().isoformat("minutes"),
                         end.date().isoformat() if end else None, end.time().isoformat("minutes") if end else None,
                         spec=spec))
        contacts.append((pnr, spec == "psykiatri", start, end or datetime(9000, 1, 1), f"L3:c{i}"))
    stage(con, "lpr_f_kontakter", rows)
    build_core(con)

    expected: set[frozenset[str]] = set()
    contacts.sort()
    current: list[str] = []
    key, max_end = None, None
    for pnr, psych, start, end, cid in contacts:
        if (pnr, psych) == key and start <= max_end + timedelta(hours=4):
            current.append(cid)
            max_end = max(max_end, end)
        else:
            if current:
                expected.add(frozenset(current))
            current, key, max_end = [cid], (pnr, psych), end
    expected.add(frozenset(current))

    got = {frozenset(ids) for (ids,) in con.execute(
        "select list(contact_id) from core.stay_contacts group by stay_id").fetchall()}
    assert len(expected) < 1500  # the world does chain
    assert got == expected
