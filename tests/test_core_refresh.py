"""Partial refresh of the core model: replacing some years gives exactly the tables of a full rebuild.

Every test builds two warehouses from the same final staging: one rebuilt whole, one built from the
earlier staging and then refreshed for the changed year(s) only. Every core table must be equal, row
for row and column for column. Staging rows carry their data row per file year, as ingest writes
them (`_source_row` restarts at 1 in every file), so unchanged years keep their contact keys.
"""

import random
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_core_model import _warehouse, lpr2, lpr3, stage

from assets.core import CORE_TABLES, build_core

YEARS = [2018, 2019, 2020, 2021, 2022]


def _numbered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every row its data row within its file year (1-based), as ingest does."""
    seen: dict[Any, int] = {}
    out = []
    for r in rows:
        seen[r.get("_year")] = seen.get(r.get("_year"), 0) + 1
        out.append({**r, "_source_row": seen[r.get("_year")]})
    return out


def _core_tables(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[list, list]]:
    names = [n for t in CORE_TABLES for n in (t.name, *t.also_writes)]
    out = {}
    for n in names:
        shape = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'core' and table_name = $t order by ordinal_position", {"t": n}).fetchall()
        out[n] = (shape, con.execute(f"select * from core.{n} order by all").fetchall())
    return out


def _assert_equal(expected: dict, got: dict) -> None:
    assert expected.keys() == got.keys()
    for name in expected:
        assert got[name][0] == expected[name][0], f"core.{name}: columns differ"
        assert got[name][1] == expected[name][1], f"core.{name}: rows differ"


def _register_rows(years: list[int], changed: int | None) -> dict[str, list[dict[str, Any]]]:
    """One small row set per yearly register and year; the year `changed` is a corrected delivery."""
    world: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "bef", "tvang", "sundhedsprofil", "lup_psykiatri", "uddannelse")}
    for y in years:
        fix = y == changed
        world["bef"] += [
            {"pnr": "p1", "koen": 1, "foed_dag": date(1980, 1, 1), "kom": 851 if fix else 101, "_year": y},
            {"pnr": "p2", "koen": 2, "foed_dag": date(1990, 1, 1), "kom": 461, "_year": y},
            {"pnr": "p4_bef_2021", "koen": 2, "foed_dag": date(1960, 1, 1), "kom": 751 if fix else 165, "_year": y},
        ] + ([] if fix else [{"pnr": "p3_leaves", "koen": 2, "foed_dag": date(1970, 1, 1), "kom": 147, "_year": y}])
        world["tvang"] += [
            {"pnr": "p1", "skema": 3, "tvangstype": "baelte", "begrundelse": "frivillig" if fix else "farlighed",
             "start_dato": date(y, 3, 1), "start_tid": "10:00", "slut_dato": None, "slut_tid": None,
             "behandlingsomraade": "psykiatri", "region": 84, "_year": y},
        ]
        world["sundhedsprofil"] += [
            {"respondent_id": f"s{y}", "pnr": "p1", "alder": 40, "koen": 1, "kom": 101, "mcs": 30.0 if fix else 50.0,
             "vaegt": 1.5, "_year": y}]
        world["lup_psykiatri"] += [
            {"respondent_id": f"l{y}", "region": 84, "maalgruppe": "Voksne", "tilfredshed": 4 if fix else 5,
             "inddragelse": 3, "_year": y}]
        world["uddannelse"] += [{"pnr": "p1", "hfaudd_niveau": "H40" if fix else "H30", "_year": y}]
    return world


COLUMNS_FOR = {
    "sundhedsprofil": {"respondent_id": "VARCHAR", "pnr": "VARCHAR", "alder": "INTEGER", "koen": "INTEGER",
                       "kom": "INTEGER", "mcs": "DOUBLE", "vaegt": "DOUBLE"},
    "lup_psykiatri": {"respondent_id": "VARCHAR", "region": "INTEGER", "maalgruppe": "VARCHAR",
                      "tilfredshed": "INTEGER", "inddragelse": "INTEGER"},
    "uddannelse": {"pnr": "VARCHAR", "hfaudd_niveau": "VARCHAR"},
}


def _stage_world_typed(con: duckdb.DuckDBPyConnection, world: dict[str, list[dict[str, Any]]]) -> None:
    for register, rows in world.items():
        stage(con, register, _numbered(rows), columns=COLUMNS_FOR.get(register))


def _contacts_world(changed: bool) -> dict[str, list[dict[str, Any]]]:
    """Stays that cross the year ends around the refreshed year 2021, persons who lose or gain 2021
    contacts, and persons the refresh must leave alone."""
    adm = [
        lpr2("a1", "kept_2018_only", "2018-02-01", 8, "2018-02-03", 8),
        # LPR2 2018 contact chained with an LPR3 2019 contact across the switch
        lpr2("a2", "switch_2019", "2018-12-31", 20, "2019-01-01", 1, kom=None),
    ]
    kontakter = [
        lpr3("s1", "switch_2019", "2019-01-01", "03:00", "2019-01-03", "10:00", kom=None),
        # a stay crossing 2020 -> 2021: the 2021 contact's end is corrected (longer stay)
        lpr3("x1", "crosses_into_2021", "2020-12-31", "20:00", "2021-01-01", "06:00", year=2020),
        lpr3("x2", "crosses_into_2021", "2021-01-01", "09:00",
             "2021-01-05" if changed else "2021-01-01", "10:00" if changed else "11:00"),
        # a stay crossing 2021 -> 2022: the 2021 contact now ends later, so it chains the 2022 contact
        lpr3("y1", "crosses_out_of_2021", "2021-12-31", "08:00", "2022-01-01", "02:00" if changed else "00:30",
             year=2021),
        lpr3("y2", "crosses_out_of_2021", "2022-01-01", "05:00", "2022-01-02", "05:00"),
        # every 2021 contact of this person disappears; the 2020 and 2022 ones stay
        lpr3("z0", "loses_2021", "2020-06-01", "08:00", "2020-06-02", "08:00"),
        lpr3("z2", "loses_2021", "2022-06-01", "08:00", "2022-06-02", "08:00"),
        # a person whose only stays are in other years, one of them open since 2019: kept (open: rebuilt)
        lpr3("k1", "kept_other_years", "2019-05-01", "08:00", "2019-05-03", "08:00"),
        lpr3("k2", "kept_other_years", "2022-05-01", "08:00", None, None),
        # last contact without kom: bef of the end year 2021 (p1's bef changes in 2021)
        lpr3("b1", "p1", "2021-03-01", "08:00", "2021-03-02", "08:00", kom=None),
        lpr3("b2", "p1", "2020-12-30", "08:00", "2021-01-02", "08:00", kom=None, year=2020),
        # a 2020 stay of p2 ending in 2021 with a 2021 virtual contact (not a stay member)
        lpr3("v1", "p2", "2021-02-01", "08:00", "2021-02-01", "09:00", ktype="ALCA03"),
        # no 2021 contact, but a 2020 stay ending in 2021 without kom: its last_kom is bef 2021's
        lpr3("q1", "p4_bef_2021", "2020-12-30", "08:00", "2021-01-02", "08:00", kom=None, year=2020),
        lpr3("w0", "late_row_vanishes", "2020-03-01", "08:00", "2020-03-02", "08:00"),
        lpr3("c0", "chains_into_2020_stay", "2020-12-31", "10:00", "2020-12-31", "22:00", year=2020),
    ]
    if changed:
        kontakter += [
            # a contact moved to another person within the refreshed year
            lpr3("m1", "gains_2021", "2021-07-01", "08:00", "2021-07-02", "08:00"),
            lpr3("n1", "new_in_2021", "2021-08-01", "08:00", None, None),
            # a new 2021 contact 3 h after a 2020 stay's end: it chains into that stay
            lpr3("c1", "chains_into_2020_stay", "2021-01-01", "01:00", "2021-01-01", "05:00"),
        ]
    else:
        kontakter += [
            lpr3("z1", "loses_2021", "2021-06-01", "08:00", "2021-06-02", "08:00"),
            lpr3("z3", "loses_2021", "2021-06-02", "10:00", "2021-06-03", "08:00"),
            lpr3("m1", "loses_moved_contact", "2021-07-01", "08:00", "2021-07-02", "08:00"),
            # a late row of the 2021 file with a 2020 date, gone from the corrected delivery
            lpr3("w1", "late_row_vanishes", "2020-12-20", "08:00", "2020-12-21", "08:00", year=2021),
        ]
    diag = [{"recnum": "a1", "c_diag": "DF200", "c_diagtype": "B", "_year": 2018}]
    fdiag = [
        {"dw_ek_kontakt": "x2", "diagnosekode": "DX600" if changed else "DX610", "diagnosetype": "B",
         "senere_afkraeftet": "Nej", "_year": 2021},
        {"dw_ek_kontakt": "y2", "diagnosekode": "DX620", "diagnosetype": "B", "senere_afkraeftet": "Nej",
         "_year": 2022},
        # a 2021 diagnosis file row of a 2020 contact: it belongs to the 2020 contact's rows
        {"dw_ek_kontakt": "x1", "diagnosekode": "DX630", "diagnosetype": "B", "senere_afkraeftet": "Nej",
         "_year": 2021},
    ]
    return {"lpr_adm": adm, "lpr_f_kontakter": kontakter, "lpr_diag": diag, "lpr_f_diagnoser": fdiag}


def _full_world(changed: bool) -> dict[str, list[dict[str, Any]]]:
    return {**_register_rows(YEARS, 2021 if changed else None), **_contacts_world(changed)}


def _run(tmp_path: Path, before: dict, after: dict, years: list[int], data_end: date | None = None):
    full = _warehouse(tmp_path / "full.duckdb")
    _stage_world_typed(full, after)
    build_core(full, data_end)
    expected = _core_tables(full)
    full.close()

    con = _warehouse(tmp_path / "refreshed.duckdb")
    _stage_world_typed(con, before)
    build_core(con, data_end)
    _stage_world_typed(con, after)
    results = build_core(con, data_end, years)
    got = _core_tables(con)
    con.close()
    return expected, got, results


def test_refreshing_a_changed_year_gives_the_full_rebuild(tmp_path: Path):
    expected, got, results = _run(tmp_path, _full_world(False), _full_world(True), [2021])
    # the refresh really was partial (else the test would prove nothing)
    for name in ("residence", "contacts", "diagnoses", "stays", "coercion", "survey", "lup", "education"):
        assert results[name]["years_written"] == "2021", name
    _assert_equal(expected, got)
    stays = {r[1]: r for r in got["stays"][1]}
    assert "loses_moved_contact" not in stays and "gains_2021" in stays
    # the corrected 2021 end chains the 2022 contact: one stay across the year end
    crossing = [r for r in got["stays"][1] if r[1] == "crosses_out_of_2021"]
    assert [(r[3], r[4], r[9]) for r in crossing] == [(datetime(2021, 12, 31, 8), datetime(2022, 1, 2, 5), 2)]
    loses = [r for r in got["stays"][1] if r[1] == "loses_2021"]
    assert len(loses) == 2
    assert [r[7] for r in got["stays"][1] if r[1] == "p4_bef_2021"] == [751]
    assert len([r for r in got["stays"][1] if r[1] == "late_row_vanishes"]) == 1
    assert [(r[3], r[4], r[9]) for r in got["stays"][1] if r[1] == "chains_into_2020_stay"] == [
        (datetime(2020, 12, 31, 10), datetime(2021, 1, 1, 5), 2)]


def test_refreshing_years_without_changes_changes_nothing(tmp_path: Path):
    world = _full_world(False)
    expected, got, results = _run(tmp_path, world, world, [2019, 2021], data_end=date(2022, 12, 31))
    assert results["stays"]["years_written"] == "2019,2021"
    _assert_equal(expected, got)


def test_refreshing_every_year_is_a_full_rebuild(tmp_path: Path):
    expected, got, results = _run(tmp_path, _full_world(False), _full_world(True), YEARS)
    assert all(results[n]["years_written"] == "all" for n in ("contacts", "stays", "residence"))
    _assert_equal(expected, got)


def test_refreshing_the_year_a_stay_crosses_into(tmp_path: Path):
    """The 2020 -> 2021 stay: refreshing 2021 alone rebuilds the stay that starts in 2020."""
    expected, got, _ = _run(tmp_path, _full_world(False), _full_world(True), [2021])
    crossing = [r for r in got["stays"][1] if r[1] == "crosses_into_2021"]
    assert [(r[3], r[4], r[9]) for r in crossing] == [(datetime(2020, 12, 31, 20), datetime(2021, 1, 5, 10), 2)]
    _assert_equal(expected, got)


@pytest.mark.parametrize(("seed", "changed"), [(1, [2021]), (2, [2021]), (3, [2020]), (4, [2019, 2021]), (5, [2022])])
def test_random_contacts_refreshed_year_equals_full_rebuild(tmp_path: Path, seed: int, changed: list[int]):
    """Random contacts of 40 persons over 2019-2022, both domains interleaved, some open, some without
    kom; the deliveries of the `changed` years are redrawn (and bef of 2021 changes)."""
    rng = random.Random(seed)

    def contacts(year: int, redraw: bool) -> list[dict[str, Any]]:
        r = random.Random(seed * 100 + year + (1000 if redraw else 0))
        rows = []
        for i in range(120):
            pnr = f"r{r.randrange(40)}"
            start = datetime(year, 1, 1) - timedelta(hours=6) + timedelta(minutes=r.randrange(0, 60 * 24 * 366, 60))
            if start.year != year:
                start = datetime(year, 1, 1)
            end = None if r.random() < 0.02 else start + timedelta(minutes=r.choice([0, 60, 240, 600, 720, 2880]))
            rows.append(lpr3(f"{year}_{i}_{'b' if redraw else 'a'}", pnr, start.date().isoformat(),
                             start.time().isoformat("minutes"), end.date().isoformat() if end else None,
                             end.time().isoformat("minutes") if end else None,
                             spec=r.choice(["psykiatri", "intern medicin"]),
                             kom=r.choice([101, None]), ktype=r.choice(["ALCA00", "ALCA00", "ALCA03"]), year=year))
        return rows

    bef = [{"pnr": f"r{i}", "koen": 1, "foed_dag": date(1980, 1, 1), "kom": 100 + rng.randrange(5), "_year": y}
           for y in (2019, 2020, 2021, 2022) for i in range(40)]
    before = {"lpr_f_kontakter": [c for y in (2019, 2020, 2021, 2022) for c in contacts(y, False)], "bef": bef}
    after = {"lpr_f_kontakter": [c for y in (2019, 2020, 2021, 2022) for c in contacts(y, y in changed)],
             "bef": [{**b, "kom": 200} if b["_year"] == 2021 and b["pnr"] < "r2" else b for b in bef]}
    if 2021 not in changed:  # bef changes in 2021 only when 2021 is refreshed
        after["bef"] = bef
    expected, got, results = _run(tmp_path, before, after, changed)
    assert results["stays"]["years_written"] == ",".join(map(str, changed))
    assert len(got["stays"][1]) > 100
    _assert_equal(expected, got)
