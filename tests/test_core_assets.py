"""Core and reference assets run through Dagster in-process against a tmp warehouse."""

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

import assets.core as core
import assets.reference as reference
from pipeline.partitions import SINGLE_RUN, YEARS
from pipeline.resources import SettingsResource


def _resources(tmp_path: Path, warehouse: Path, data_end: str | None) -> dict:
    return {
        "duckdb": DuckDBResource(database=str(warehouse)),
        "settings": SettingsResource(raw_dir=str(tmp_path / "raw"), marts_dir=str(tmp_path / "marts"),
                                     exports_dir=str(tmp_path / "exports"), warehouse=str(warehouse),
                                     years="2018-2020", data_end=data_end),
    }


def test_core_assets_materialise_with_settings_data_end(tmp_path: Path):
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema staging")
    con.execute(
        "create table staging.lpr_adm (recnum varchar, pnr varchar, c_sgh varchar, c_afd varchar, c_spec varchar,"
        " c_pattype varchar, c_indm varchar, d_hendto date, d_inddto date, v_indtime integer, d_uddto date,"
        " v_udtime integer, c_adiag varchar, c_kom integer, _year integer, _source_file varchar,"
        " _source_row bigint, _loaded_at timestamp)")
    con.execute(
        "insert into staging.lpr_adm values"
        " ('r1', 'p1', 's', 'a', '50', '0', '1', null, date '2018-12-30', 20, null, null, 'DF200', 101,"
        "  2018, 'lpr_adm_2018.csv', 1, now())")
    con.close()

    defs_assets = dg.load_assets_from_modules([core, reference])
    checks = dg.load_asset_checks_from_modules([core, reference])
    keys = YEARS.get_partition_keys()
    result = dg.materialize([*defs_assets, *checks], resources=_resources(tmp_path, warehouse, "2018-12-31"),
                            tags={"dagster/asset_partition_range_start": keys[0],
                                  "dagster/asset_partition_range_end": keys[-1]})
    assert result.success
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations == {"contacts_unique_ids": True, "stays_cover_contacts": True}
    keys = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert keys == {t.name for t in core.CORE_TABLES} | {"geography", "codes"}

    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select data_end from core.data_end").fetchall() == [(date(2018, 12, 31),)]
    # open since 2018-12-30 20:00: 28 h by 2019-01-01 00:00 -> an admission
    assert con.execute("select is_open, is_admission from core.stays").fetchall() == [(True, True)]
    con.close()


def test_core_assets_declare_pool_and_upstream_keys():
    by_key = {a.key.to_user_string(): a for a in core.core_assets}
    assert set(by_key) == {t.name for t in core.CORE_TABLES}
    deps = {k.to_user_string() for k in by_key["contacts"].dependency_keys}
    assert deps == {"lpr_adm", "lpr_f_kontakter", "codes"}
    assert {k.to_user_string() for k in by_key["stays"].dependency_keys} == {"contacts", "residence", "data_end"}
    # yearly tables and stays: yearly partitions, one run for a range; the rest unpartitioned
    yearly = {"residence", "contacts", "diagnoses", "stays", "coercion", "survey", "lup", "education"}
    assert {k for k, a in by_key.items() if a.partitions_def is not None} == yearly
    assert all(by_key[k].partitions_def == YEARS and by_key[k].backfill_policy == SINGLE_RUN for k in yearly)
    assert all(a.op.pool == "warehouse" for a in core.core_assets)


def test_stays_check_fails_when_a_contact_is_in_two_stays(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    reference.load_codes(con)
    core.build_core(con)
    con.execute("insert into core.stay_contacts values (1, 'L2:x', 2020), (2, 'L2:x', 2020)")
    physical, members, several, wrong_n, duplicate_ids = con.execute(
        (core.SQL_DIR / "check_stays_cover_contacts.sql").read_text()).fetchone()
    assert (physical, members, several, wrong_n, duplicate_ids) == (0, 2, 1, 0, 0)
    con.execute("insert into core.stays (stay_id, n_contacts) values (7, 0), (7, 0)")
    assert con.execute((core.SQL_DIR / "check_stays_cover_contacts.sql").read_text()).fetchone()[4] == 1
    con.close()


def test_stays_check_screen_gives_the_exact_counts(tmp_path: Path):
    """The cheaper first pass of the stays check (check_stays_screen.sql) gives the plain query's counts
    when no stay id is duplicated; with duplicates the check falls back to the plain query."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    reference.load_codes(con)
    core.build_core(con)

    def exact() -> tuple:
        return tuple(con.execute((core.SQL_DIR / "check_stays_cover_contacts.sql").read_text()).fetchone())

    def screen() -> tuple:
        return tuple(con.execute((core.SQL_DIR / "check_stays_screen.sql").read_text()).fetchone())

    assert screen() == exact() == core.stays_check_counts(con) == (0, 0, 0, 0, 0)
    con.execute("insert into core.stays (stay_id, n_contacts) values (1, 2), (2, 1), (3, null)")
    con.execute("insert into core.stay_contacts values (1, 'L2:a', 2020), (1, 'L2:b', 2020), (2, 'L2:c', 2020),"
                " (2, 'L2:b', 2020), (9, 'L2:d', 2020), (null, 'L2:e', 2020)")
    # L2:b is in two stays; stay 2 has two members but n_contacts 1; no stay id twice
    assert screen() == exact() == core.stays_check_counts(con) == (0, 6, 1, 1, 0)
    con.execute("insert into core.stays (stay_id, n_contacts) values (2, 2), (null, 0), (null, 1)")
    # stay 2 twice (n 1 wrong, n 2 right), NULL ids: n 0 matches no members, n 1 is wrong; 6 rows, 3 ids
    assert core.stays_check_counts(con) == exact() == (0, 6, 1, 2, 3)
    con.close()
