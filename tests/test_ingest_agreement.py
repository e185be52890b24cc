"""The SQL rules and the Pandera model of each register agree: on every per-rule bad-row example, on the
rows the rules accept, and on the set of rules they know; and the production gate stops a delivery when
they do not."""

from __future__ import annotations

import copy
from pathlib import Path

import duckdb
import polars as pl
import pytest
from fixtures_ingest import GOOD_ROWS, register_file, write_csv
from test_ingest_rules import COLUMN_CASES, ID_CLASH, KOM_CASES, PERIOD_CASES

import assets.ingest as ingest
from pipeline.contract import TYPE_RULES, load_contract, register
from schemas.registers import (
    INDEX,
    REASONS,
    SOURCE_ROW,
    SQL_ONLY_RULES,
    compile_rules,
    install_parse_macros,
    known_municipalities,
    model_reasons,
    model_rule_names,
    register_model,
    staging_select,
)

KOMS = known_municipalities() or frozenset({101, 147, 751, 851})
Judgement = dict[int, str]


def judge_both(name: str, rows: list[dict[str, str | None]]) -> tuple[Judgement, Judgement, Judgement]:
    """(SQL reasons on the text, model reasons on all typed rows, model reasons on the typed rows SQL accepts)."""
    reg = register(name)
    columns = reg.data_columns(list(rows[0]))
    weeks = [c for c in columns if reg.is_week_column(c)]
    frame = pl.DataFrame([{c: r.get(c) for c in columns} for r in rows], schema=dict.fromkeys(columns, pl.Utf8))
    frame = frame.with_row_index(SOURCE_ROW, offset=1).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))
    with duckdb.connect() as con:
        con.register("_frame", frame)
        con.execute("create temp table rows_as_read as select * from _frame").fetchall()
        install_parse_macros(con)
        rules = compile_rules(reg, "rows_as_read", weeks, KOMS)
        sql = {row - 1: reasons for row, reasons in con.execute(rules.sql, rules.params).fetchall()}
        # the typed rows exactly as the ingest casts them into staging
        typed = con.sql(f"select {staging_select(reg, weeks)} from rows_as_read order by {SOURCE_ROW}").pl()
    model = register_model(reg, KOMS)
    out = model_reasons(model, typed)
    everything = dict(zip(out[INDEX].to_list(), out[REASONS].to_list(), strict=True))
    accepted_idx = [i for i in range(len(rows)) if i not in sql]
    out = model_reasons(model, typed[accepted_idx])
    on_accepted = {accepted_idx[i]: r for i, r in zip(out[INDEX].to_list(), out[REASONS].to_list(), strict=True)}
    return sql, everything, on_accepted


def as_the_model_sees_it(name: str, sql: Judgement) -> Judgement:
    """What the typed model must report for rows the SQL judged: a value that breaks its type rule is NULL
    once typed (so `missing` where the column is required, nothing otherwise); SQL-only rules vanish."""
    reg = register(name)
    expected: Judgement = {}
    for row, reasons in sql.items():
        seen = set()
        for reason in reasons.split(";"):
            column, _, rule = reason.partition(":")
            if reason in SQL_ONLY_RULES:
                continue
            if rule in TYPE_RULES.values():
                if reg.column(column).required:
                    seen.add(f"{column}:missing")
                continue
            seen.add(reason)
        if seen:
            expected[row] = ";".join(sorted(seen))
    return expected


def _row(name: str, column: str, value: str | None) -> list[dict[str, str | None]]:
    row = copy.deepcopy(GOOD_ROWS[name][0])
    row[column] = value
    return [row]


EXAMPLES = (
    [(f"{n}:{c}={v!r}", n, _row(n, c, v), e) for n, c, v, e in COLUMN_CASES + KOM_CASES]
    + [(f"{n}:period", n, [{**GOOD_ROWS[n][0], **change}], e) for n, (change, e) in PERIOD_CASES.items()]
)


@pytest.mark.parametrize(("label", "name", "rows", "expected"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_rules_and_model_agree_on_each_bad_row(label: str, name: str, rows: list[dict], expected: str) -> None:
    sql, model, _ = judge_both(name, rows)
    assert sql == {0: expected}
    assert model == as_the_model_sees_it(name, sql)


@pytest.mark.parametrize("name", list(ID_CLASH))
def test_rules_and_model_agree_on_a_clashing_id(name: str) -> None:
    column, change = ID_CLASH[name]
    first = GOOD_ROWS[name][0]
    sql, model, _ = judge_both(name, [first, {**first, **change}])
    assert sql == model == {0: f"{column}:duplicate_id", 1: f"{column}:duplicate_id"}


@pytest.mark.parametrize("name", list(GOOD_ROWS))
def test_model_accepts_what_the_rules_accept(name: str) -> None:
    row = GOOD_ROWS[name][0]
    rows = [*GOOD_ROWS[name], dict(row), dict(row)]  # exact copies: duplicate_row, a SQL-only rule
    sql, _, on_accepted = judge_both(name, rows)
    n = len(GOOD_ROWS[name])
    assert sql == {n: "duplicate_row", n + 1: "duplicate_row"}
    assert on_accepted == {}


def test_model_accepts_the_good_rows_of_a_mixed_delivery() -> None:
    rows = [*_row("lpr_adm", "v_indtime", "24"), *_row("lpr_adm", "d_inddto", "x"), GOOD_ROWS["lpr_adm"][1]]
    rows[1]["recnum"] = "R7"
    sql, _, on_accepted = judge_both("lpr_adm", rows)
    assert sql == {0: "v_indtime:out_of_range", 1: "d_inddto:not_a_date"}
    assert on_accepted == {}


@pytest.mark.parametrize("name", list(load_contract()))
def test_rules_and_model_know_the_same_rules(name: str) -> None:
    reg = register(name)
    sql_rules = set(compile_rules(reg, "t", [], KOMS).reasons)
    model_rules = model_rule_names(reg, register_model(reg, KOMS))
    assert sql_rules == model_rules | set(SQL_ONLY_RULES)
    assert set(compile_rules(reg, "t", [], None).reasons) == sql_rules - {f"{c.name}:unknown_kom" for c in reg.columns}


def test_a_rule_the_sql_lacks_stops_the_delivery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The production gate: rules without `unknown_kom` stage a row the model refuses -> nothing is written."""
    reg = register("bef")
    compile_all = ingest.compile_rules
    monkeypatch.setattr(ingest, "compile_rules", lambda r, t, w, koms: compile_all(r, t, w, None))
    rows = [*GOOD_ROWS["bef"], {"pnr": "P9", "koen": "1", "foed_dag": "1990-01-01", "kom": "999"}]
    path = write_csv(register_file(tmp_path / "raw", "bef", 2015), rows)
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    with pytest.raises(ingest.RulesDisagree, match=r"bef_2015\.csv: 1 row\(s\) accepted by the SQL rules break the "
                                                  r"Pandera model of bef \(kom:unknown_kom 1\)"):
        ingest.load_delivery(con, reg, path, 2015, known_koms=KOMS)
    assert con.execute("select count(*) from staging.bef").fetchall() == [(0,)]
    assert con.execute("select count(*) from raw.bef").fetchall() == [(0,)]
    assert con.execute("select count(*) from meta.load_log").fetchall() == [(0,)]
    con.close()


def _dream_staging(con: duckdb.DuckDBPyConnection, week_type: str, pnrs: list[str]) -> None:
    con.execute(f"create schema staging; create table staging.dream (pnr varchar, y_1501 {week_type}, "
                "y_1502 varchar, _year integer)")
    con.execute("insert into staging.dream select unnest($p), null, '111', null", {"p": pnrs}).fetchall()


def test_the_gate_checks_dream_weeks_on_the_table_shape_and_pnr_on_every_row() -> None:
    dream, data = register("dream"), ["pnr", "y_1501", "y_1502"]
    with duckdb.connect() as con:
        _dream_staging(con, "varchar", ["P1", "P2"])
        ingest.check_staged(con, dream, None, "dream.csv", data, None)  # passes
    with duckdb.connect() as con:
        _dream_staging(con, "integer", ["P1", "P2"])  # a week column that is not text
        with pytest.raises(ingest.RulesDisagree, match="do not fit the Pandera model of dream"):
            ingest.check_staged(con, dream, None, "dream.csv", data, None)
    with duckdb.connect() as con:
        _dream_staging(con, "varchar", ["P1", "P1", "P2"])  # the id rule still sees every row
        with pytest.raises(ingest.RulesDisagree, match=r"2 row\(s\) .*\(pnr:duplicate_id 2\)"):
            ingest.check_staged(con, dream, None, "dream.csv", data, None)
