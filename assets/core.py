"""Core model assets: `staging.*` (+ `ref.*`) -> `core.*`.

What belongs here: the list of core tables, which staging registers and other core tables each one
reads, the typed source views over staging, one Dagster asset per core table, and how a table is
written: rebuilt whole, or (yearly tables) only the years a run asks for. The rules themselves
(LPR2/LPR3 harmonisation, stays, admissions, diagnoses, markers, coercion, DREAM weeks) live in
`assets/sql/core/<table>.sql`, one file per table, readable on their own.

Yearly tables (`year_column` set: residence, contacts, diagnoses, coercion, survey, lup, education)
are `YEARS`-partitioned assets with a single-run backfill. Their SQL file is one SELECT with a
`$years` filter (NULL = every year): a run over some years deletes those years' rows and inserts the
SELECT's rows for them, in one transaction; a run whose years cover every year in the table and its
sources, or a table that does not exist yet (or has another shape), is a full rebuild (create table
as the SELECT over every year), which gives the same rows. `stays` is partitioned too, but by person:
a run over some years rebuilds the stays of the persons those years touch, from all their contacts
(`stays_persons.sql`), and keeps everyone else's. The other tables are rebuilt whole on every run.

Each SQL file reads its registers through temporary views `src_<register>` that carry exactly the
contract's columns the core model uses, typed as the contract says. When a register has not been
delivered (no `staging.<register>` table), its view is an empty relation of the same shape, so every
core table is built, empty but correctly typed, instead of the run crashing.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipeline.contract import LINEAGE_COLUMNS
from pipeline.contract import register as contract_register
from pipeline.db import run_sql, run_sql_file, table_exists
from pipeline.partitions import SINGLE_RUN, YEARS, partition_years
from pipeline.resources import SettingsResource

SQL_DIR = Path(__file__).resolve().parent / "sql" / "core"

# The staging columns the core model reads, per register (lineage columns included where used). Their
# types come from the register contract (pipeline/contract.py), the one place staging types are set.
SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "bef": ("pnr", "koen", "foed_dag", "kom", "_year", "_source_row"),
    "dod": ("pnr", "doddato", "c_dodsaarsag", "_source_row"),
    "lpr_adm": ("recnum", "pnr", "c_spec", "c_indm", "d_hendto", "d_inddto", "v_indtime", "d_uddto",
                "v_udtime", "c_adiag", "c_kom", "_year", "_source_row"),
    "lpr_diag": ("recnum", "c_diag", "c_diagtype"),
    "lpr_markoer": ("recnum", "markoer", "d_markoer"),
    "lpr_f_kontakter": ("dw_ek_kontakt", "dw_ek_forloeb", "cpr", "dato_start", "tidspunkt_start", "dato_slut",
                        "tidspunkt_slut", "dato_henvisning", "kontakttype", "prioritet", "hovedspeciale_ans",
                        "region_ans", "aktionsdiagnose", "lprindberetningssystem", "kom", "_year",
                        "_source_row"),
    "lpr_f_diagnoser": ("dw_ek_kontakt", "diagnosekode", "diagnosetype", "senere_afkraeftet"),
    "lpr_f_forloebsmarkoerer": ("dw_ek_forloeb", "markoer", "dato_markoer"),
    "tvang": ("pnr", "skema", "tvangstype", "begrundelse", "start_dato", "start_tid", "slut_dato", "slut_tid",
              "behandlingsomraade", "region", "_year"),
    "sundhedsprofil": ("respondent_id", "pnr", "alder", "koen", "kom", "mcs", "vaegt", "_year"),
    "sociale_indsatser": ("pnr", "paragraf", "maalgruppe", "start_dato", "slut_dato"),
    "uddannelse": ("pnr", "hfaudd_niveau", "_year"),
    "lup_psykiatri": ("respondent_id", "region", "maalgruppe", "tilfredshed", "inddragelse", "_year"),
    "dream": ("pnr",),  # plus the week columns y_YYWW, read by dream_weeks_unpivot.sql
}


def source_types(register: str) -> dict[str, str]:
    """Column -> staging (DuckDB) type of the columns the core model reads from `register`."""
    spec = contract_register(register)
    return {c: LINEAGE_COLUMNS[c] if c in LINEAGE_COLUMNS else spec.column(c).staging_type
            for c in SOURCE_COLUMNS[register]}


@dataclass(frozen=True)
class CoreTable:
    """One core asset: the table it is named after, what it reads, and extra tables it writes."""

    name: str
    registers: tuple[str, ...] = ()
    core_deps: tuple[str, ...] = ()
    ref_deps: tuple[str, ...] = ()
    also_writes: tuple[str, ...] = ()
    description: str = ""
    year_column: str | None = None  # a yearly table: the column that holds the year a run replaces
    by_year: bool = False  # a full rebuild runs the SELECT one year at a time (much faster for residence)

    @property
    def partitioned(self) -> bool:
        return self.year_column is not None or self.name == "stays"


# In dependency order: building them in this order satisfies every core_deps.
CORE_TABLES: tuple[CoreTable, ...] = (
    CoreTable("persons", ("bef",), description="One row per person in bef (latest bef wins)"),
    CoreTable("residence", ("bef",), description="Municipality per person and bef year (1 January)",
              year_column="year", by_year=True),
    CoreTable("deaths", ("dod",), description="One row per person: the earliest death"),
    CoreTable("contacts", ("lpr_adm", "lpr_f_kontakter"), ref_deps=("codes",),
              description="LPR2 and LPR3 contacts harmonised", year_column="source_year"),
    CoreTable("diagnoses", ("lpr_diag", "lpr_f_diagnoser"), ("contacts",),
              description="Diagnoses per contact (action diagnosis as type A)", year_column="source_year"),
    CoreTable("markers", ("lpr_markoer", "lpr_f_forloebsmarkoerer"), ref_deps=("codes",),
              description="Marker events with their meaning"),
    CoreTable("data_end", (), ("contacts",), description="The last day covered by LPR"),
    CoreTable("stays", (), ("contacts", "residence", "data_end"), also_writes=("stay_contacts",),
              description="Hospital stays (4 h chaining per domain) and admissions (>= 12 h)"),
    CoreTable("coercion", ("tvang",), description="Coercive measures with the voluntary-belt flag",
              year_column="source_year"),
    CoreTable("dream_weeks", ("dream",), also_writes=("dream_coverage",),
              description="DREAM weeks long (non-empty weeks) and the weeks the extract covers"),
    CoreTable("survey", ("sundhedsprofil",), description="Health-profile respondents", year_column="year"),
    CoreTable("lup", ("lup_psykiatri",), description="Patient-experience answers in psychiatry",
              year_column="year"),
    CoreTable("social_support", ("sociale_indsatser",), description="Social Services Act support"),
    CoreTable("education", ("uddannelse",), description="Highest completed education per year",
              year_column="year"),
)
TABLES_BY_NAME: dict[str, CoreTable] = {t.name: t for t in CORE_TABLES}


def _source_view_sql(con: duckdb.DuckDBPyConnection, register: str) -> tuple[str, bool]:
    """The SELECT behind `src_<register>` and whether the staging table exists.

    A present table must carry every column the core model reads (a clear error otherwise); an
    absent one gives an empty relation with the same typed columns.
    """
    cols = source_types(register)
    if table_exists(con, "staging", register):
        present = {
            r[0]
            for r in run_sql(
                con,
                "select lower(column_name) from information_schema.columns "
                "where table_schema = 'staging' and table_name = $t",
                {"t": register},
            )
        }
        missing = [c for c in cols if c not in present]
        if missing:
            raise ValueError(f"staging.{register} lacks column(s) {missing} required by the core model")
        select = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in cols.items())
        return f'select {select} from staging."{register}"', True
    select = ", ".join(f'cast(null as {t}) as "{c}"' for c, t in cols.items())
    return f"select {select} where false", False


def prepare_sources(con: duckdb.DuckDBPyConnection, registers: tuple[str, ...]) -> list[str]:
    """Create the temporary views `src_<register>`; return the registers not delivered."""
    missing = []
    for register in registers:
        sql, exists = _source_view_sql(con, register)
        run_sql(con, f'create or replace temp view "src_{register}" as {sql}')
        if not exists:
            missing.append(register)
    return missing


def _row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(run_sql(con, f'select count(*) from core."{table}"')[0][0])


def _build_dream(con: duckdb.DuckDBPyConnection) -> None:
    """core.dream_coverage, then core.dream_weeks one ISO year at a time, so it is stored in year order."""
    run_sql_file(con, SQL_DIR / "dream_weeks.sql")
    years = run_sql(  # the years of the week columns the unpivot selects (named y_YYWW, lower case)
        con, "select distinct 2000 + cast(substr(column_name, 3, 2) as integer) as y from information_schema.columns "
             "where table_schema = 'staging' and table_name = 'dream' "
             "and regexp_full_match(column_name, 'y_[0-9]{2}(0[1-9]|[1-4][0-9]|5[0-3])') order by y")
    for (year,) in years:
        run_sql_file(con, SQL_DIR / "dream_weeks_unpivot.sql", {"iso_year": year, "yy": f"{year % 100:02d}"})


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return [tuple(r) for r in run_sql(
        con,
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = 'core' and table_name = $t "
        "order by ordinal_position",
        {"t": table},
    )]


def _distinct_years(con: duckdb.DuckDBPyConnection, selects: list[str]) -> set[int | None]:
    return {r[0] for r in run_sql(con, " union ".join(selects))}


def _covers(years: list[int], present: set[int | None]) -> bool:
    """Whether a run over `years` touches every year present (then a full rebuild gives the same rows)."""
    return present <= set(years)


def _build_yearly(con: duckdb.DuckDBPyConnection, table: CoreTable, years: list[int] | None) -> str:
    """Write a yearly table: replace the rows of `years`, or rebuild it whole. Returns the years written."""
    select = (SQL_DIR / f"{table.name}.sql").read_text(encoding="utf-8")
    target = f'core."{table.name}"'
    if years is not None and table_exists(con, "core", table.name):
        shape = [(r[0], r[1]) for r in run_sql(con, f"describe {select}", {"years": None})]
        if _columns(con, table.name) == shape:
            sources = [f'select distinct {table.year_column} from {target}']
            if table.name == "diagnoses":  # a diagnosis has the year of its contact
                sources.append("select distinct source_year from core.contacts")
            else:
                sources += [f'select distinct _year from "src_{r}"' for r in table.registers]
            if not _covers(years, _distinct_years(con, sources)):
                run_sql(con, f"delete from {target} where list_contains(cast($years as integer[]), {table.year_column})",
                        {"years": years})
                for chunk in ([[y] for y in years] if table.by_year else [years]):
                    run_sql(con, f"insert into {target} {select}", {"years": chunk})
                return ",".join(str(y) for y in years)
    if table.by_year:
        run_sql(con, f"create or replace table {target} as {select}", {"years": []})
        present = sorted(y for y in _distinct_years(
            con, [f'select distinct _year from "src_{r}"' for r in table.registers]) if y is not None)
        for y in present:
            run_sql(con, f"insert into {target} {select}", {"years": [y]})
    else:
        run_sql(con, f"create or replace table {target} as {select}", {"years": None})
    return "all"


STAY_CONTACTS_SHAPE = [("stay_id", "BIGINT"), ("contact_id", "VARCHAR"), ("source_year", "INTEGER")]


def _build_stays(con: duckdb.DuckDBPyConnection, years: list[int] | None, seq: int) -> str:
    """Rebuild the part of the stays `years` can change (see stays_persons.sql), or all stays. `seq` is
    the write's number: a partial write records the stay ids it inserts (stays_written.sql)."""
    partial = (
        years is not None
        and table_exists(con, "core", "stays")
        and table_exists(con, "core", "stay_contacts")
        and _columns(con, "stay_contacts") == STAY_CONTACTS_SHAPE
        and not _covers(years, _distinct_years(con, [
            "select distinct source_year from core.contacts",
            "select distinct source_year from core.stay_contacts",
        ]))
    )
    if partial:
        run_sql_file(con, SQL_DIR / "stays_persons.sql", {"years": years})
    else:
        run_sql_file(con, SQL_DIR / "stays_source.sql")
    run_sql_file(con, SQL_DIR / "stays.sql")
    if partial:
        run_sql_file(con, SQL_DIR / "stays_written.sql", {"seq": seq})
    else:
        run_sql(con, "delete from meta.stays_written")
    run_sql_file(con, SQL_DIR / ("stays_replace.sql" if partial else "stays_full.sql"))
    run_sql(con, "drop view stay_source;"
                 + (" drop table stay_cut; drop table stays_redo; drop table stay_from;" if partial else ""))
    return ",".join(str(y) for y in years) if partial and years is not None else "all"


class _FastStringWrites:
    """DuckDB's DICT_FSST string compression makes writing high-cardinality text (person and contact
    ids) 3-4 times slower than plain/FSST/dictionary storage; core tables are written without it.
    The setting is global to the database instance, so the previous value is restored afterwards."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def __enter__(self) -> None:
        self.previous = run_sql(self.con, "select current_setting('disabled_compression_methods')")[0][0] or ""
        methods = {m for m in self.previous.split(",") if m} | {"dict_fsst"}
        run_sql(self.con, "set disabled_compression_methods = $m", {"m": ",".join(sorted(methods))})

    def __exit__(self, *exc: object) -> None:
        run_sql(self.con, "set disabled_compression_methods = $m", {"m": self.previous})


# The tables whose checks can look at a partial write's rows only, and the tables each one writes.
CHECKED_TABLES: dict[str, tuple[str, ...]] = {"contacts": ("contacts",), "stays": ("stays", "stay_contacts")}


def _checked_row_counts(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """Row counts of the tables a checked table's write writes ('' when one is absent): recorded with
    each write and each check, so a write outside build_table shows as a change of counts."""
    if not all(table_exists(con, "core", t) for t in CHECKED_TABLES[name]):
        return ""
    return ",".join(str(_row_count(con, t)) for t in CHECKED_TABLES[name])


def build_table(
    con: duckdb.DuckDBPyConnection, name: str, data_end: date | None = None, years: list[int] | None = None
) -> dict[str, int | str | list[str]]:
    """Write core.<name> (and the tables it also writes) in one transaction; return counts.

    `data_end` is the configured data end (PSYK_DATA_END), used by `data_end` only. `years` (yearly
    tables and stays): the years to replace; None rebuilds the table whole. Other tables ignore it.
    """
    table = TABLES_BY_NAME[name]
    run_sql(con, "create schema if not exists core")
    with _FastStringWrites(con):
        con.begin()
        try:
            missing = prepare_sources(con, table.registers)
            written = "all"
            if name in CHECKED_TABLES:
                run_sql_file(con, SQL_DIR / "check_meta.sql")
                seq = int(run_sql(con, "select coalesce(max(seq), 0) + 1 from meta.core_writes where table_name = $t",
                                  {"t": name})[0][0])
                rows_before = _checked_row_counts(con, name)
            if name == "dream_weeks":
                _build_dream(con)
            elif name == "stays":
                written = _build_stays(con, years, seq)
            elif table.year_column is not None:
                written = _build_yearly(con, table, years)
            else:
                params: Mapping[str, object] = {"configured": data_end}
                run_sql_file(con, SQL_DIR / f"{name}.sql", params)
            counts: dict[str, int | str | list[str]] = {
                f"rows_{t}": _row_count(con, t) for t in (name, *table.also_writes)}
            counts.update(_extra_counts(con, name))
            counts["years_written"] = written
            counts["missing_registers"] = missing
            if name in CHECKED_TABLES:
                run_sql(con, "insert into meta.core_writes values ($t, $seq, $years, $before, $after, now())",
                        {"t": name, "seq": seq, "years": written, "before": rows_before,
                         "after": _checked_row_counts(con, name)})
        except Exception:
            con.rollback()
            raise
        con.commit()
    return counts


def _extra_counts(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, int]:
    """Aggregate counts worth showing in the UI for some tables (counts only, never ids)."""
    queries = {
        "contacts": "select count(*) filter (where generation = 'LPR2'), count(*) filter (where generation = 'LPR3'),"
        " count(*) filter (where psychiatric), count(*) filter (where end_ts is null) from core.contacts",
        "stays": "select count(*) filter (where is_admission), count(*) filter (where is_open),"
        " count(*) filter (where psychiatric and is_admission) from core.stays",
    }
    labels = {
        "contacts": ["lpr2_contacts", "lpr3_contacts", "psychiatric_contacts", "open_contacts"],
        "stays": ["admissions", "open_stays", "psychiatric_admissions"],
    }
    if name not in queries:
        return {}
    return {k: int(v) for k, v in zip(labels[name], run_sql(con, queries[name])[0], strict=True)}


def build_core(
    con: duckdb.DuckDBPyConnection, data_end: date | None = None, years: list[int] | None = None
) -> dict[str, dict]:
    """Write every core table in dependency order (for tests and scripts; the assets do the same):
    whole, or the yearly tables and stays for `years` only."""
    return {t.name: build_table(con, t.name, data_end, years) for t in CORE_TABLES}


def _make_asset(table: CoreTable) -> dg.AssetsDefinition:
    @dg.asset(
        name=table.name,
        group_name="core",
        pool="warehouse",
        deps=[*table.registers, *table.ref_deps, *table.core_deps],
        description=table.description,
        partitions_def=YEARS if table.partitioned else None,
        backfill_policy=SINGLE_RUN if table.partitioned else None,
    )
    def _asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: SettingsResource) -> None:
        years = partition_years(context) if table.partitioned else None
        with duckdb.get_connection() as con:
            counts = build_table(con, table.name, settings.data_end_date, years)
        missing = counts.pop("missing_registers")
        if missing:
            context.log.warning(f"core.{table.name}: register(s) not delivered, read as empty: {missing}")
        context.add_output_metadata({**counts, "missing_registers": ", ".join(missing) or "none"})

    return _asset


core_assets = [_make_asset(t) for t in CORE_TABLES]


def contacts_check_counts(con: duckdb.DuckDBPyConnection, years: list[int] | None = None) -> tuple[int, int, int]:
    """Contacts, duplicate contact ids, duplicate contact keys. `years` None: the whole table
    (check_contacts_unique.sql); else the same counts after a partial write of `years`, from the
    written rows (check_contacts_bounded.sql), exact when the table had no duplicate before the write."""
    if years is None:
        row = run_sql_file(con, SQL_DIR / "check_contacts_unique.sql")[0]
    else:
        row = run_sql_file(con, SQL_DIR / "check_contacts_bounded.sql", {"years": years})[0]
    return tuple(int(v) for v in row)  # type: ignore[return-value]


def stays_check_counts(con: duckdb.DuckDBPyConnection, written_seq: int | None = None) -> tuple[int, int, int, int, int]:
    """The five counts of check_stays_cover_contacts.sql: physical contacts, stay members, contacts in
    several stays, stays with a wrong n_contacts, duplicate stay ids.

    `written_seq` None: over the whole tables. The cheaper check_stays_screen.sql gives them exactly when
    no stay id is duplicated; otherwise (a failing check) the plain query runs. `written_seq` given:
    the same counts after the partial stays write of that number, from the stay ids it wrote
    (meta.stays_written, check_stays_bounded.sql), exact when every count but the two totals was zero
    before the write."""
    if written_seq is not None:
        run_sql(con, "create or replace temp table stays_check_ids as "
                     "select stay_id from meta.stays_written where seq = $seq", {"seq": written_seq})
        try:
            counts = tuple(int(v) for v in run_sql_file(con, SQL_DIR / "check_stays_bounded.sql")[0])
        finally:
            run_sql(con, "drop table if exists stays_check_ids")
        return counts  # type: ignore[return-value]
    counts = tuple(int(v) for v in run_sql_file(con, SQL_DIR / "check_stays_screen.sql")[0])
    if counts[4]:
        counts = tuple(int(v) for v in run_sql_file(con, SQL_DIR / "check_stays_cover_contacts.sql")[0])
    return counts  # type: ignore[return-value]


@dataclass(frozen=True)
class CheckRun:
    """One run of a core check: the write it checked, full or bounded, its counts and verdict."""

    seq: int | None
    mode: str  # "full" | "bounded"
    counts: dict[str, int]
    passed: bool


def check_mode(con: duckdb.DuckDBPyConnection, check: str, table: str) -> tuple[str, int | None, str | None]:
    """How `check` of core.<table> runs now: ("bounded", seq, years) when the last write (seq) was a
    partial one recorded by build_table, the table still has the row counts it left, and this check
    passed on the state that write started from (its last run on write seq - 1 passed and saw the
    row counts the write started with); else ("full", seq or None, None)."""
    if not table_exists(con, "meta", "core_writes"):
        return "full", None, None
    last = run_sql(con, "select seq, years, rows_before, rows_after from meta.core_writes where table_name = $t "
                        "order by seq desc limit 1", {"t": table})
    if not last:
        return "full", None, None
    seq, years, rows_before, rows_after = last[0]
    if years == "all" or rows_after != _checked_row_counts(con, table) or not table_exists(con, "meta", "core_checks"):
        return "full", seq, None
    previous = run_sql(con, "select passed, row_counts from meta.core_checks where check_name = $c and seq = $s "
                            "order by checked_at desc limit 1", {"c": check, "s": seq - 1})
    if not previous or not previous[0][0] or previous[0][1] != rows_before:
        return "full", seq, None
    return "bounded", seq, years


CONTACTS_LABELS = ("contacts", "duplicate_ids", "duplicate_keys")
STAYS_LABELS = ("physical_contacts", "stay_members", "contacts_in_several_stays", "stays_with_wrong_n_contacts",
                "duplicate_stay_ids")
CORE_CHECKS: dict[str, str] = {"contacts_unique_ids": "contacts", "stays_cover_contacts": "stays"}


def run_core_check(con: duckdb.DuckDBPyConnection, check: str) -> CheckRun:
    """Run a core check, full or bounded (check_mode), and record it in meta.core_checks."""
    table = CORE_CHECKS[check]
    mode, seq, years = check_mode(con, check, table)
    if table == "contacts":
        values = contacts_check_counts(con, None if years is None else [int(y) for y in years.split(",")])
        counts = dict(zip(CONTACTS_LABELS, values, strict=True))
        passed = counts["duplicate_ids"] == 0 and counts["duplicate_keys"] == 0
    else:
        values = stays_check_counts(con, seq if mode == "bounded" else None)
        counts = dict(zip(STAYS_LABELS, values, strict=True))
        passed = (counts["physical_contacts"] == counts["stay_members"] and counts["contacts_in_several_stays"] == 0
                  and counts["stays_with_wrong_n_contacts"] == 0 and counts["duplicate_stay_ids"] == 0)
    run_sql_file(con, SQL_DIR / "check_meta.sql")
    run_sql(con, "insert into meta.core_checks values ($c, $t, $seq, $mode, $passed, $counts, $rows, now())",
            {"c": check, "t": table, "seq": seq, "mode": mode, "passed": passed, "counts": json.dumps(counts),
             "rows": _checked_row_counts(con, table)})
    return CheckRun(seq, mode, counts, passed)


@dg.asset_check(asset="contacts", pool="warehouse",
                description="Contact ids and keys are unique (a duplicate would count twice in stays)")
def contacts_unique_ids(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        run = run_core_check(con, "contacts_unique_ids")
    return dg.AssetCheckResult(passed=run.passed, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"mode": run.mode, **run.counts})


@dg.asset_check(asset="stays", blocking=True, pool="warehouse",
                description="Every physical-attendance contact is in exactly one stay; n_contacts is right; "
                            "stay ids are unique")
def stays_cover_contacts(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        run = run_core_check(con, "stays_cover_contacts")
    return dg.AssetCheckResult(passed=run.passed, metadata={"mode": run.mode, **run.counts})
