"""Every rule of every register's SQL rules (`schemas.registers.compile_rules`), each with a hand-written bad
row and its expected reasons."""

from __future__ import annotations

import copy

import duckdb
import polars as pl
import pytest
from fixtures_ingest import GOOD_ROWS

from pipeline.contract import TYPE_RULES, load_contract, register
from schemas.registers import SOURCE_ROW, compile_rules, install_parse_macros, known_municipalities

KOMS = known_municipalities()
needs_geography = pytest.mark.skipif(KOMS is None, reason="pipeline/reference/geography.csv not present")


def reasons_of(name: str, rows: list[dict[str, str | None]], koms: frozenset[int] | None = KOMS) -> dict[int, str]:
    """Row index (0-based) -> reasons, as the SQL rules judge the rows (text as delivered)."""
    reg = register(name)
    columns = reg.data_columns(list(rows[0]))
    frame = pl.DataFrame([{c: r.get(c) for c in columns} for r in rows], schema=dict.fromkeys(columns, pl.Utf8))
    frame = frame.with_row_index(SOURCE_ROW, offset=1).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))
    weeks = [c for c in columns if reg.is_week_column(c)]
    with duckdb.connect() as con:
        con.register("_frame", frame)
        con.execute("create temp table rows_as_read as select * from _frame").fetchall()
        install_parse_macros(con)
        rules = compile_rules(reg, "rows_as_read", weeks, koms)
        out = con.execute(rules.sql, rules.params).fetchall()
    return {row - 1: reasons for row, reasons in out}


def with_value(name: str, column: str, value: str | None) -> list[dict[str, str | None]]:
    row = copy.deepcopy(GOOD_ROWS[name][0])
    row[column] = value
    return [row]


# (register, column, bad value, expected reasons of that row) -- written by hand from the contract
COLUMN_CASES = [
    ("bef", "pnr", None, "pnr:missing"),
    ("bef", "koen", "m", "koen:not_an_integer"),
    ("bef", "koen", "3", "koen:not_in_codes"),
    ("bef", "foed_dag", None, "foed_dag:missing"),
    ("bef", "foed_dag", "2001-02-29", "foed_dag:not_a_date"),
    ("bef", "kom", None, "kom:missing"),
    ("bef", "kom", "1O1", "kom:not_an_integer"),
    ("dod", "pnr", None, "pnr:missing"),
    ("dod", "doddato", None, "doddato:missing"),
    ("dod", "doddato", "01-03-2016", "doddato:not_a_date"),
    ("lpr_adm", "recnum", None, "recnum:missing"),
    ("lpr_adm", "pnr", None, "pnr:missing"),
    ("lpr_adm", "c_pattype", "1", "c_pattype:not_in_codes"),
    ("lpr_adm", "c_indm", "3", "c_indm:not_in_codes"),
    ("lpr_adm", "d_hendto", "2015-13-01", "d_hendto:not_a_date"),
    ("lpr_adm", "d_inddto", None, "d_inddto:missing"),
    ("lpr_adm", "d_inddto", "2015-02-30", "d_inddto:not_a_date"),
    ("lpr_adm", "v_indtime", "10.5", "v_indtime:not_an_integer"),
    ("lpr_adm", "v_indtime", "24", "v_indtime:out_of_range"),
    ("lpr_adm", "d_uddto", "5/3/2015", "d_uddto:not_a_date"),
    ("lpr_adm", "v_udtime", "x", "v_udtime:not_an_integer"),
    ("lpr_adm", "v_udtime", "-1", "v_udtime:out_of_range"),
    ("lpr_adm", "c_kom", "københavn", "c_kom:not_an_integer"),
    ("lpr_diag", "recnum", None, "recnum:missing"),
    ("lpr_diag", "c_diag", None, "c_diag:missing"),
    ("lpr_markoer", "recnum", None, "recnum:missing"),
    ("lpr_markoer", "markoer", None, "markoer:missing"),
    ("lpr_markoer", "d_markoer", None, "d_markoer:missing"),
    ("lpr_markoer", "d_markoer", "2015-03", "d_markoer:not_a_date"),
    ("lpr_f_kontakter", "dw_ek_kontakt", None, "dw_ek_kontakt:missing"),
    ("lpr_f_kontakter", "dw_ek_forloeb", None, "dw_ek_forloeb:missing"),
    ("lpr_f_kontakter", "cpr", None, "cpr:missing"),
    ("lpr_f_kontakter", "dato_start", None, "dato_start:missing"),
    ("lpr_f_kontakter", "dato_start", "2019-02-31", "dato_start:not_a_date"),
    ("lpr_f_kontakter", "tidspunkt_start", "25:00", "tidspunkt_start:not_a_time"),
    ("lpr_f_kontakter", "dato_slut", "i går", "dato_slut:not_a_date"),
    ("lpr_f_kontakter", "tidspunkt_slut", "14.00", "tidspunkt_slut:not_a_time"),
    ("lpr_f_kontakter", "dato_henvisning", "2019", "dato_henvisning:not_a_date"),
    ("lpr_f_kontakter", "kontakttype", "ALCA0", "kontakttype:bad_format"),
    ("lpr_f_kontakter", "prioritet", "akut", "prioritet:bad_format"),
    ("lpr_f_kontakter", "region_ans", "86", "region_ans:not_in_codes"),
    ("lpr_f_kontakter", "region_ans", "Hovedstaden", "region_ans:not_an_integer"),
    ("lpr_f_kontakter", "lprindberetningssystem", "LPR4", "lprindberetningssystem:not_in_codes"),
    ("lpr_f_kontakter", "kom", "101a", "kom:not_an_integer"),
    ("lpr_f_diagnoser", "dw_ek_kontakt", None, "dw_ek_kontakt:missing"),
    ("lpr_f_diagnoser", "diagnosekode", None, "diagnosekode:missing"),
    ("lpr_f_diagnoser", "diagnosetype", "Z", "diagnosetype:not_in_codes"),
    ("lpr_f_diagnoser", "senere_afkraeftet", "ja", "senere_afkraeftet:not_in_codes"),
    ("lpr_f_forloebsmarkoerer", "dw_ek_forloeb", None, "dw_ek_forloeb:missing"),
    ("lpr_f_forloebsmarkoerer", "markoer", None, "markoer:missing"),
    ("lpr_f_forloebsmarkoerer", "dato_markoer", None, "dato_markoer:missing"),
    ("lpr_f_forloebsmarkoerer", "dato_markoer", "2019-02-02T10:00", "dato_markoer:not_a_date"),
    ("lpr_f_forloebsmarkoerer", "tidspunkt_markoer", "10", "tidspunkt_markoer:not_a_time"),
    ("tvang", "pnr", None, "pnr:missing"),
    ("tvang", "skema", None, "skema:missing"),
    ("tvang", "skema", "3.5", "skema:not_an_integer"),
    ("tvang", "skema", "6", "skema:not_in_codes"),
    ("tvang", "tvangstype", None, "tvangstype:missing"),
    ("tvang", "start_dato", None, "start_dato:missing"),
    ("tvang", "start_dato", "2015-3-2x", "start_dato:not_a_date"),
    ("tvang", "start_tid", "22:61", "start_tid:not_a_time"),
    ("tvang", "slut_dato", "ukendt", "slut_dato:not_a_date"),
    ("tvang", "slut_tid", "1 am", "slut_tid:not_a_time"),
    ("tvang", "behandlingsomraade", "psykiatrisk", "behandlingsomraade:not_in_codes"),
    ("tvang", "region", "80", "region:not_in_codes"),
    ("tvang", "region", "R84", "region:not_an_integer"),
    ("dream", "pnr", None, "pnr:missing"),
    ("sundhedsprofil", "respondent_id", None, "respondent_id:missing"),
    ("sundhedsprofil", "alder", "tyve", "alder:not_an_integer"),
    ("sundhedsprofil", "alder", "-1", "alder:out_of_range"),
    ("sundhedsprofil", "koen", "0", "koen:not_in_codes"),
    ("sundhedsprofil", "koen", "k", "koen:not_an_integer"),
    ("sundhedsprofil", "kom", "x", "kom:not_an_integer"),
    ("sundhedsprofil", "mcs", "n/a", "mcs:not_a_number"),
    ("sundhedsprofil", "mcs", "100.01", "mcs:out_of_range"),
    ("sundhedsprofil", "vaegt", None, "vaegt:missing"),
    ("sundhedsprofil", "vaegt", "tung", "vaegt:not_a_number"),
    ("sundhedsprofil", "vaegt", "0", "vaegt:out_of_range"),
    ("sociale_indsatser", "pnr", None, "pnr:missing"),
    ("sociale_indsatser", "paragraf", None, "paragraf:missing"),
    ("sociale_indsatser", "start_dato", None, "start_dato:missing"),
    ("sociale_indsatser", "start_dato", "20160101", "start_dato:not_a_date"),
    ("sociale_indsatser", "slut_dato", "2016-01-32", "slut_dato:not_a_date"),
    ("uddannelse", "pnr", None, "pnr:missing"),
    ("uddannelse", "hfaudd_niveau", None, "hfaudd_niveau:missing"),
    ("uddannelse", "hfaudd_niveau", "kandidat", "hfaudd_niveau:not_in_codes"),
    ("lup_psykiatri", "respondent_id", None, "respondent_id:missing"),
    ("lup_psykiatri", "region", "81.5", "region:not_an_integer"),
    ("lup_psykiatri", "region", "99", "region:not_in_codes"),
    ("lup_psykiatri", "maalgruppe", "voksen", "maalgruppe:not_in_codes"),
    ("lup_psykiatri", "tilfredshed", "god", "tilfredshed:not_an_integer"),
    ("lup_psykiatri", "tilfredshed", "6", "tilfredshed:out_of_range"),
    ("lup_psykiatri", "inddragelse", "meget", "inddragelse:not_an_integer"),
    ("lup_psykiatri", "inddragelse", "0", "inddragelse:out_of_range"),
]
KOM_CASES = [("bef", "kom", "999", "kom:unknown_kom"), ("sundhedsprofil", "kom", "100", "kom:unknown_kom")]

# register -> (the two columns that make the period end before its start, expected reason)
PERIOD_CASES = {
    "lpr_adm": ({"d_uddto": "2015-02-28"}, "d_uddto:end_before_start"),
    "lpr_f_kontakter": ({"dato_slut": "2019-01-31"}, "dato_slut:end_before_start"),
    "tvang": ({"slut_dato": "2015-03-01"}, "slut_dato:end_before_start"),
    "sociale_indsatser": ({"slut_dato": "2015-12-31"}, "slut_dato:end_before_start"),
}
# register -> a change to a non-id column, so a second row with the same id has different content
ID_CLASH = {
    "bef": ("pnr", {"kom": "147"}),
    "lpr_adm": ("recnum", {"c_kom": "147"}),
    "lpr_f_kontakter": ("dw_ek_kontakt", {"kom": "147"}),
    "dream": ("pnr", {"y_1501": "130"}),
    "sundhedsprofil": ("respondent_id", {"mcs": "50"}),
    "uddannelse": ("pnr", {"hfaudd_niveau": "ukendt"}),
    "lup_psykiatri": ("respondent_id", {"tilfredshed": "5"}),
}


@pytest.mark.parametrize("name", list(GOOD_ROWS))
def test_good_rows_pass(name: str) -> None:
    assert reasons_of(name, GOOD_ROWS[name]) == {}


@pytest.mark.parametrize(("name", "column", "value", "expected"), COLUMN_CASES)
def test_column_rule(name: str, column: str, value: str | None, expected: str) -> None:
    assert reasons_of(name, with_value(name, column, value)) == {0: expected}


@needs_geography
@pytest.mark.parametrize(("name", "column", "value", "expected"), KOM_CASES)
def test_unknown_municipality(name: str, column: str, value: str, expected: str) -> None:
    assert reasons_of(name, with_value(name, column, value)) == {0: expected}


def test_kom_rule_is_skipped_without_geography() -> None:
    assert reasons_of("bef", with_value("bef", "kom", "999"), koms=None) == {}


@pytest.mark.parametrize("name", list(GOOD_ROWS))
def test_exact_duplicate_row_quarantines_the_later_copy_only(name: str) -> None:
    row = GOOD_ROWS[name][0]
    assert reasons_of(name, [row, dict(row), dict(row)]) == {1: "duplicate_row", 2: "duplicate_row"}


@pytest.mark.parametrize("name", list(ID_CLASH))
def test_duplicate_id_with_different_content_quarantines_every_row_of_that_id(name: str) -> None:
    column, change = ID_CLASH[name]
    first = GOOD_ROWS[name][0]
    assert reasons_of(name, [first, {**first, **change}]) == {0: f"{column}:duplicate_id", 1: f"{column}:duplicate_id"}


@pytest.mark.parametrize("name", list(PERIOD_CASES))
def test_end_before_start(name: str) -> None:
    change, expected = PERIOD_CASES[name]
    assert reasons_of(name, [{**GOOD_ROWS[name][0], **change}]) == {0: expected}


def test_period_uses_times_when_both_are_given() -> None:
    base = GOOD_ROWS["lpr_adm"][0]  # 2015-03-01 10h -> 2015-03-05 12h
    same_day_earlier_hour = {**base, "d_uddto": "2015-03-01", "v_udtime": "9"}
    same_day_same_hour = {**base, "d_uddto": "2015-03-01", "v_udtime": "10", "recnum": "R9"}
    same_day_no_end_hour = {**base, "d_uddto": "2015-03-01", "v_udtime": None, "recnum": "R8"}
    assert reasons_of("lpr_adm", [same_day_earlier_hour, same_day_same_hour, same_day_no_end_hour]) == {
        0: "d_uddto:end_before_start"
    }
    kontakt = GOOD_ROWS["lpr_f_kontakter"][0]  # 2019-02-01 08:30
    minute_before = {**kontakt, "dato_slut": "2019-02-01", "tidspunkt_slut": "08:29:59"}
    assert reasons_of("lpr_f_kontakter", [minute_before]) == {0: "dato_slut:end_before_start"}


def test_several_broken_rules_are_all_named_sorted() -> None:
    row = {**GOOD_ROWS["tvang"][0], "skema": "7", "start_dato": None, "region": "86"}
    assert reasons_of("tvang", [row]) == {0: "region:not_in_codes;skema:not_in_codes;start_dato:missing"}


def test_type_tolerance_for_sas_and_danish_numbers() -> None:
    # SAS-style whole doubles and a decimal comma are values, not errors
    row = {**GOOD_ROWS["sundhedsprofil"][0], "alder": "20.0", "mcs": "41,5", "vaegt": "0,8"}
    assert reasons_of("sundhedsprofil", [row]) == {}


def test_dream_week_columns_are_validated_as_text_and_duplicates_span_them() -> None:
    a = {"pnr": "P1", "y_1801": "111", "y_1802": None}
    b = {"pnr": "P2", "y_1801": "111", "y_1802": None}
    assert reasons_of("dream", [a, b, dict(a)]) == {2: "duplicate_row"}


def _rules_of_contract() -> set[tuple[str, str]]:
    """(register, reason) for every rule the contract declares."""
    rules = set()
    for name, reg in load_contract().items():
        rules.add((name, "duplicate_row"))
        rules |= {(name, f"{c}:duplicate_id") for c in reg.unique}
        rules |= {(name, f"{p.end_date}:end_before_start") for p in reg.periods}
        for c in reg.columns:
            if c.required:
                rules.add((name, f"{c.name}:missing"))
            if c.type in TYPE_RULES:
                rules.add((name, f"{c.name}:{TYPE_RULES[c.type]}"))
            if c.codes is not None:
                rules.add((name, f"{c.name}:not_in_codes"))
            if c.min is not None or c.max is not None or c.gt is not None:
                rules.add((name, f"{c.name}:out_of_range"))
            if c.pattern:
                rules.add((name, f"{c.name}:bad_format"))
            if c.known_kom:
                rules.add((name, f"{c.name}:unknown_kom"))
    return rules


def test_every_rule_of_the_contract_has_a_bad_row_example() -> None:
    covered = {(n, e) for n, _c, _v, e in COLUMN_CASES + KOM_CASES}
    covered |= {(n, "duplicate_row") for n in GOOD_ROWS}
    covered |= {(n, f"{col}:duplicate_id") for n, (col, _) in ID_CLASH.items()}
    covered |= {(n, e) for n, (_c, e) in PERIOD_CASES.items()}
    assert _rules_of_contract() - covered == set()


EDGE_TEXTS = ["12:30", "12:30:45", "1:2", "01:02:03", "24:00", "23:59:60", "12:30:45.5", " 12:30", "12:30 ",
              "12::30", "12:3a", "2024-01-31", "2024-01-31 12:00:00", "2024-02-30", "2024-1-5", "2024-01-31 12:00",
              "2024-01-31T12:00:00", " 2024-01-31", "2024-01-31 ", "2024-01-31  12:00:00", "12:30:45:00", "99:99",
              "0:0", "+12:30", "", "abc", None]


def test_date_and_time_parse_as_trying_both_formats_in_turn() -> None:
    # the macros skip a format the text cannot match (speed); the values must be those of trying both
    both = ("coalesce(cast(try_strptime(v, '%Y-%m-%d') as date), cast(try_strptime(v, '%Y-%m-%d %H:%M:%S') as date)), "
            "coalesce(cast(try_strptime(v, '%H:%M:%S') as time), cast(try_strptime(v, '%H:%M') as time))")
    with duckdb.connect() as con:
        install_parse_macros(con)
        rows = con.execute(f"select v, ingest_parse_date(v), ingest_parse_time(v), {both} "
                           "from unnest($v) as t(v)", {"v": EDGE_TEXTS}).fetchall()
    assert [(v, d, t) for v, d, t, _d, _t in rows] == [(v, d, t) for v, _d, _t, d, t in rows]
    assert sum(d is not None for _v, d, *_ in rows) >= 4 and sum(t is not None for _v, _d, t, *_ in rows) >= 5
