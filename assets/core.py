"""Core model assets: `staging.*` (+ `ref.*`) -> `core.*`, rebuilt whole on every run.

What belongs here: the list of core tables, which staging registers and other core tables each one
reads, the typed source views over staging, and one unpartitioned Dagster asset per core table. The
rules themselves (LPR2/LPR3 harmonisation, stays, admissions, diagnoses, markers, coercion, DREAM
weeks) live in `assets/sql/core/<table>.sql`, one file per table, readable on their own.

Each SQL file reads its registers through temporary views `src_<register>` that carry exactly the
contract's columns the core model uses, typed as the contract says. When a register has not been
delivered (no `staging.<register>` table), its view is an empty relation of the same shape, so every
core table is built, empty but correctly typed, instead of the run crashing.
"""

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
from pipeline.resources import SettingsResource

SQL_DIR = Path(__file__).resolve().parent / "sql" / "core"

# The staging columns the core model reads, per register (lineage columns included where used). Their
# types come from the register contract (pipeline/contract.py), the one place staging types are set.
SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "bef": ("pnr", "koen", "foed_dag", "kom", "_year", "_source_row"),
    "dod": ("pnr", "doddato", "c_dodsaarsag", "_source_row"),
    "lpr_adm": ("recnum", "pnr", "c_spec", "c_indm", "d_hendto", "d_inddto", "v_indtime", "d_uddto",
                "v_udtime", "c_adiag", "c_kom", "_year"),
    "lpr_diag": ("recnum", "c_diag", "c_diagtype"),
    "lpr_markoer": ("recnum", "markoer", "d_markoer"),
    "lpr_f_kontakter": ("dw_ek_kontakt", "dw_ek_forloeb", "cpr", "dato_start", "tidspunkt_start", "dato_slut",
                        "tidspunkt_slut", "dato_henvisning", "kontakttype", "prioritet", "hovedspeciale_ans",
                        "region_ans", "aktionsdiagnose", "lprindberetningssystem", "kom", "_year"),
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


# In dependency order: building them in this order satisfies every core_deps.
CORE_TABLES: tuple[CoreTable, ...] = (
    CoreTable("persons", ("bef",), description="One row per person in bef (latest bef wins)"),
    CoreTable("residence", ("bef",), description="Municipality per person and bef year (1 January)"),
    CoreTable("deaths", ("dod",), description="One row per person: the earliest death"),
    CoreTable("contacts", ("lpr_adm", "lpr_f_kontakter"), ref_deps=("codes",),
              description="LPR2 and LPR3 contacts harmonised"),
    CoreTable("diagnoses", ("lpr_diag", "lpr_f_diagnoser"), ("contacts",),
              description="Diagnoses per contact (action diagnosis as type A)"),
    CoreTable("markers", ("lpr_markoer", "lpr_f_forloebsmarkoerer"), ref_deps=("codes",),
              description="Marker events with their meaning"),
    CoreTable("data_end", (), ("contacts",), description="The last day covered by LPR"),
    CoreTable("stays", (), ("contacts", "residence", "data_end"), also_writes=("stay_contacts",),
              description="Hospital stays (4 h chaining per domain) and admissions (>= 12 h)"),
    CoreTable("coercion", ("tvang",), description="Coercive measures with the voluntary-belt flag"),
    CoreTable("dream_weeks", ("dream",), also_writes=("dream_coverage",),
              description="DREAM weeks long (non-empty weeks) and the weeks the extract covers"),
    CoreTable("survey", ("sundhedsprofil",), description="Health-profile respondents"),
    CoreTable("lup", ("lup_psykiatri",), description="Patient-experience answers in psychiatry"),
    CoreTable("social_support", ("sociale_indsatser",), description="Social Services Act support"),
    CoreTable("education", ("uddannelse",), description="Highest completed education per year"),
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
    run_sql_file(con, SQL_DIR / "dream_weeks.sql")
    if run_sql(con, "select count(*) from core.dream_coverage")[0][0]:
        run_sql_file(con, SQL_DIR / "dream_weeks_unpivot.sql")


def build_table(
    con: duckdb.DuckDBPyConnection, name: str, data_end: date | None = None
) -> dict[str, int | list[str]]:
    """Rebuild core.<name> (and the tables it also writes) in one transaction; return counts.

    `data_end` is the configured data end (PSYK_DATA_END), used by `data_end` only.
    """
    table = TABLES_BY_NAME[name]
    run_sql(con, "create schema if not exists core")
    con.begin()
    try:
        missing = prepare_sources(con, table.registers)
        if name == "dream_weeks":
            _build_dream(con)
        else:
            params: Mapping[str, object] = {"configured": data_end}
            run_sql_file(con, SQL_DIR / f"{name}.sql", params)
        counts: dict[str, int | list[str]] = {f"rows_{t}": _row_count(con, t) for t in (name, *table.also_writes)}
        counts.update(_extra_counts(con, name))
        counts["missing_registers"] = missing
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


def build_core(con: duckdb.DuckDBPyConnection, data_end: date | None = None) -> dict[str, dict]:
    """Rebuild every core table in dependency order (for tests and scripts; the assets do the same)."""
    return {t.name: build_table(con, t.name, data_end) for t in CORE_TABLES}


def _make_asset(table: CoreTable) -> dg.AssetsDefinition:
    @dg.asset(
        name=table.name,
        group_name="core",
        pool="warehouse",
        deps=[*table.registers, *table.ref_deps, *table.core_deps],
        description=table.description,
    )
    def _asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: SettingsResource) -> None:
        with duckdb.get_connection() as con:
            counts = build_table(con, table.name, settings.data_end_date)
        missing = counts.pop("missing_registers")
        if missing:
            context.log.warning(f"core.{table.name}: register(s) not delivered, read as empty: {missing}")
        context.add_output_metadata({**counts, "missing_registers": ", ".join(missing) or "none"})

    return _asset


core_assets = [_make_asset(t) for t in CORE_TABLES]


@dg.asset_check(asset="contacts", description="Contact ids are unique (a duplicate would count twice in stays)")
def contacts_unique_ids(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        contacts, duplicates = run_sql_file(con, SQL_DIR / "check_contacts_unique.sql")[0]
    return dg.AssetCheckResult(
        passed=duplicates == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"contacts": int(contacts), "duplicate_ids": int(duplicates)},
    )


@dg.asset_check(asset="stays", blocking=True,
                description="Every physical-attendance contact is in exactly one stay; n_contacts is right")
def stays_cover_contacts(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        physical, members, several, wrong_n = run_sql_file(con, SQL_DIR / "check_stays_cover_contacts.sql")[0]
    return dg.AssetCheckResult(
        passed=physical == members and several == 0 and wrong_n == 0,
        metadata={"physical_contacts": int(physical), "stay_members": int(members),
                  "contacts_in_several_stays": int(several), "stays_with_wrong_n_contacts": int(wrong_n)},
    )
