"""The core checks after a partial write look at the written rows only (bounded) and give exactly the
counts of the full query. Each failure kind is planted into the rows a refresh of 2021 writes, and the
check is run both ways on the same state; a failed check, a full rebuild or a write outside the build
make the next check full."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource
from test_core_assets import _resources
from test_core_model import _warehouse, lpr3, stage
from test_core_refresh import COLUMNS_FOR, _full_world, _numbered

import assets.core as core
import assets.reference as reference
from pipeline.partitions import YEARS

Rows = list[dict[str, Any]]


def _stage(con: duckdb.DuckDBPyConnection, world: dict[str, Rows], plant: Callable[[Rows], Rows] | None = None) -> None:
    for register, rows in world.items():
        numbered = _numbered(rows)
        if register == "lpr_f_kontakter" and plant is not None:
            numbered = plant(numbered)
        stage(con, register, numbered, columns=COLUMNS_FOR.get(register))


def _checked_world(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A warehouse built whole from the world before the 2021 correction, both checks run (full, passed)."""
    con = _warehouse(tmp_path / "w.duckdb")
    _stage(con, _full_world(False))
    core.build_core(con)
    for check in core.CORE_CHECKS:
        run = core.run_core_check(con, check)
        assert (run.mode, run.passed, run.seq) == ("full", True, 1)
    return con


def _refresh(con: duckdb.DuckDBPyConnection, plant: Callable[[Rows], Rows] | None = None) -> None:
    _stage(con, _full_world(True), plant)
    results = core.build_core(con, years=[2021])
    assert results["contacts"]["years_written"] == "2021" and results["stays"]["years_written"] == "2021"


def _both_ways(con: duckdb.DuckDBPyConnection, check: str) -> tuple[core.CheckRun, tuple[int, ...]]:
    """The recorded check (which must be bounded here) and the full query's counts on the same state."""
    mode, seq, years = core.check_mode(con, check, core.CORE_CHECKS[check])
    assert (mode, years) == ("bounded", "2021")
    if check == "contacts_unique_ids":
        full = core.contacts_check_counts(con)
        assert core.contacts_check_counts(con, [2021]) == full
    else:
        full = core.stays_check_counts(con)
        assert core.stays_check_counts(con, seq) == full
    run = core.run_core_check(con, check)
    assert run.mode == "bounded" and run.seq == 2
    return run, full


def _row(kid: str, year: int = 2021, **extra: Any) -> dict[str, Any]:
    return lpr3(kid, "planted", f"{year}-09-01", "08:00", f"{year}-09-02", "08:00", year=year, **extra)


# Each plant adds rows to the corrected delivery of lpr_f_kontakter (already numbered per year).
CONTACT_PLANTS: dict[str, tuple[Callable[[Rows], Rows], tuple[int, int]]] = {
    # the same contact id twice within the written year
    "duplicate_id_within_new_year": (lambda rows: [*rows, {**_row("dup"), "_source_row": 901},
                                                   {**_row("dup"), "_source_row": 902}], (1, 0)),
    # a written id held by an unchanged year's contact (k1 is a 2019 contact)
    "duplicate_id_new_vs_old_year": (lambda rows: [*rows, {**_row("k1"), "_source_row": 903}], (1, 0)),
    # the same delivery row number twice within the year: the same contact key
    "duplicate_key_within_new_year": (lambda rows: [*rows, {**_row("r1"), "_source_row": 904},
                                                    {**_row("r2"), "_source_row": 904}], (0, 1)),
    # a 2021 key equal to the key of the 2019 file's first LPR3 row: (2021*2+1)*2^32 + s = (2019*2+1)*2^32 + 1
    "duplicate_key_new_vs_old_year": (lambda rows: [*rows, {**_row("r3"), "_source_row": 1 - 4 * 2**32}], (0, 1)),
}


@pytest.mark.parametrize("kind", list(CONTACT_PLANTS))
def test_contacts_check_bounded_gives_the_full_counts(tmp_path: Path, kind: str):
    con = _checked_world(tmp_path)
    plant, (dup_ids, dup_keys) = CONTACT_PLANTS[kind]
    _refresh(con, plant)
    run, full = _both_ways(con, "contacts_unique_ids")
    assert full[1:] == (dup_ids, dup_keys)  # the plant is found (else the comparison proves nothing)
    assert tuple(run.counts.values()) == full and not run.passed


def test_contacts_bounded_counts_null_ids_and_keys_as_the_full_query(tmp_path: Path):
    """contacts.sql writes no NULL id or key; rows of the written year without them (as a wrong build
    would write) count as the full query counts them."""
    con = _checked_world(tmp_path)
    _refresh(con)
    con.execute("insert into core.contacts (contact_id, contact_key, source_year) values"
                " (null, 1, 2021), (null, null, 2021), ('L3:zz', null, 2021)")
    full = core.contacts_check_counts(con)
    assert full[1:] == (2, 2)
    assert core.contacts_check_counts(con, [2021]) == full


def test_contacts_check_bounded_passes_a_clean_refresh(tmp_path: Path):
    con = _checked_world(tmp_path)
    _refresh(con)
    run, full = _both_ways(con, "contacts_unique_ids")
    assert run.passed and full[1:] == (0, 0) and run.counts["contacts"] == full[0] > 0


# Each plant changes the rows stays.sql wrote (core.stays_new, core.stay_contacts_new) before they are
# recorded and moved into place: what a wrong stays build would write. `kept` is an old stay the
# refresh keeps (stays_redo holds the replaced ones).
KEPT = "(select min(stay_id) from core.stays where stay_id not in (select stay_id from stays_redo))"
NEW = "(select min(stay_id) from core.stays_new)"
STAY_PLANTS: dict[str, tuple[str, int]] = {  # plant SQL, the count that must become non-zero
    "contact_in_a_new_and_a_kept_stay": (
        f"insert into core.stay_contacts_new select {NEW}, contact_id, source_year from core.stay_contacts "
        f"where stay_id = {KEPT}", 2),
    "contact_in_two_new_stays": (
        "insert into core.stay_contacts_new select (select max(stay_id) from core.stays_new), contact_id, "
        f"source_year from core.stay_contacts_new where stay_id = {NEW}", 2),
    "wrong_n_contacts_in_a_new_stay": (f"update core.stays_new set n_contacts = n_contacts + 1 where stay_id = {NEW}", 3),
    "duplicate_stay_id_new_vs_kept": (f"insert into core.stays_new select * from core.stays where stay_id = {KEPT}", 4),
    "duplicate_stay_id_within_new": (f"insert into core.stays_new select * from core.stays_new where stay_id = {NEW}", 4),
    "physical_contact_missing": (
        "delete from core.stay_contacts_new where contact_id = (select min(contact_id) from core.stay_contacts_new)", 3),
    "member_of_no_stay_and_null_ids": (
        "insert into core.stay_contacts_new values (424242, 'L3:zz', 2021), (null, 'L3:zy', 2021), (7, null, 2021); "
        "insert into core.stays_new (stay_id, n_contacts) values (null, 1), (null, 0); "
        f"insert into core.stay_contacts_new select null, contact_id, source_year from core.stay_contacts "
        f"where stay_id = {KEPT}", 4),
}


def _planting(monkeypatch: pytest.MonkeyPatch, plant_sql: str) -> None:
    original = core.run_sql_file

    def run_sql_file(con: duckdb.DuckDBPyConnection, path: Path, params: Any = None) -> list:
        out = original(con, path, params)
        if path.name == "stays.sql":
            for statement in plant_sql.split(";"):
                con.execute(statement).fetchall()
        return out

    monkeypatch.setattr(core, "run_sql_file", run_sql_file)


@pytest.mark.parametrize("kind", list(STAY_PLANTS))
def test_stays_check_bounded_gives_the_full_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str):
    con = _checked_world(tmp_path)
    plant_sql, broken = STAY_PLANTS[kind]
    _planting(monkeypatch, plant_sql)
    _refresh(con)
    monkeypatch.undo()
    run, full = _both_ways(con, "stays_cover_contacts")
    assert full[broken] > 0 or full[0] != full[1]  # the plant is found
    assert tuple(run.counts.values()) == full and not run.passed


def test_stays_check_bounded_passes_a_clean_refresh(tmp_path: Path):
    con = _checked_world(tmp_path)
    _refresh(con)
    run, full = _both_ways(con, "stays_cover_contacts")
    assert run.passed and full[0] == full[1] > 0 and full[2:] == (0, 0, 0)
    written = con.execute("select count(distinct stay_id) from meta.stays_written where seq = 2").fetchone()[0]
    assert 0 < written < con.execute("select count(*) from core.stays").fetchone()[0]


def test_a_failed_check_makes_the_next_check_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    con = _checked_world(tmp_path)
    _planting(monkeypatch, STAY_PLANTS["duplicate_stay_id_new_vs_kept"][0])
    _refresh(con)
    monkeypatch.undo()
    assert not core.run_core_check(con, "stays_cover_contacts").passed
    _refresh(con)  # a clean partial write on top of the failed state
    assert core.check_mode(con, "stays_cover_contacts", "stays")[0] == "full"
    run = core.run_core_check(con, "stays_cover_contacts")
    assert (run.mode, run.seq) == ("full", 3)
    assert tuple(run.counts.values()) == core.stays_check_counts(con)
    # the contacts check never ran on write 2: write 3 is checked full, and write 4 bounded
    assert core.run_core_check(con, "contacts_unique_ids").mode == "full"
    _refresh(con)
    assert core.run_core_check(con, "contacts_unique_ids").mode == "bounded"


def test_full_rebuilds_unrecorded_writes_and_unchecked_writes_are_checked_full(tmp_path: Path):
    con = _checked_world(tmp_path)
    # a full rebuild: full
    core.build_core(con)
    assert core.check_mode(con, "contacts_unique_ids", "contacts") == ("full", 2, None)
    assert core.run_core_check(con, "contacts_unique_ids").passed
    # a partial write after a passed check: bounded; a row written outside the build: full
    _refresh(con)
    assert core.check_mode(con, "contacts_unique_ids", "contacts")[0] == "bounded"
    con.execute("insert into core.contacts (contact_id, contact_key, source_year) values ('L3:k1', 1, 2019)")
    run = core.run_core_check(con, "contacts_unique_ids")
    assert (run.mode, run.counts["duplicate_ids"], run.passed) == ("full", 1, False)
    # a write whose predecessor was not checked: full (stays: write 3 checked, write 4 not)
    core.run_core_check(con, "stays_cover_contacts")
    _refresh(con)
    _refresh(con)
    assert core.check_mode(con, "stays_cover_contacts", "stays")[0] == "full"
    # a warehouse without the record (built before it existed): full
    con.execute("drop table meta.core_writes")
    assert core.check_mode(con, "stays_cover_contacts", "stays") == ("full", None, None)


def test_checks_record_counts_only_and_report_their_mode(tmp_path: Path):
    con = _checked_world(tmp_path)
    _refresh(con)
    con.close()
    resource = DuckDBResource(database=str(tmp_path / "w.duckdb"))
    for check in (core.contacts_unique_ids, core.stays_cover_contacts):
        result = check(duckdb=resource)
        assert result.passed and result.metadata["mode"].value == "bounded"
        assert all(k == "mode" or isinstance(v.value, int) for k, v in result.metadata.items())
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    rows = con.execute("select check_name, seq, mode, passed, counts from meta.core_checks order by checked_at").fetchall()
    assert [r[:4] for r in rows] == [("contacts_unique_ids", 1, "full", True), ("stays_cover_contacts", 1, "full", True),
                                     ("contacts_unique_ids", 2, "bounded", True),
                                     ("stays_cover_contacts", 2, "bounded", True)]
    assert all(isinstance(v, int) for r in rows for v in json.loads(r[4]).values())
    writes = con.execute("select table_name, seq, years from meta.core_writes order by table_name, seq").fetchall()
    assert writes == [("contacts", 1, "all"), ("contacts", 2, "2021"), ("stays", 1, "all"), ("stays", 2, "2021")]


def test_dagster_refresh_of_a_year_checks_bounded(tmp_path: Path):
    """Through Dagster as a run does it: the full build's checks run full, a one-year refresh's bounded."""
    warehouse = tmp_path / "warehouse.duckdb"
    con = _warehouse(warehouse)
    _stage(con, _full_world(False))
    con.close()
    run = {"assets": [*dg.load_assets_from_modules([core, reference]),
                      *dg.load_asset_checks_from_modules([core, reference])],
           "resources": _resources(tmp_path, warehouse, None)}
    keys = YEARS.get_partition_keys()
    full = dg.materialize(**run, tags={"dagster/asset_partition_range_start": keys[0],
                                       "dagster/asset_partition_range_end": keys[-1]})
    con = duckdb.connect(str(warehouse))
    _stage(con, _full_world(True))
    con.close()
    refresh = dg.materialize(**run, partition_key="2021",
                             selection=dg.AssetSelection.assets("contacts", "diagnoses", "stays"))
    modes = []
    for result in (full, refresh):
        assert result.success
        modes.append({e.check_name: (e.passed, e.metadata["mode"].value) for e in result.get_asset_check_evaluations()})
    assert modes == [{"contacts_unique_ids": (True, "full"), "stays_cover_contacts": (True, "full")},
                     {"contacts_unique_ids": (True, "bounded"), "stays_cover_contacts": (True, "bounded")}]
