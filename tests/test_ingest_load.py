"""Loading deliveries into the warehouse: lineage, conservation, replacing a year, refusal, schema drift."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from fixtures_ingest import GOOD_ROWS, register_file, write_csv

from assets.ingest import conservation_result, ingest_register, load_delivery, register_files
from pipeline.contract import register
from pipeline.readers import ReadError

LPR = register("lpr_adm")


def lpr_rows(n: int, *, start: int = 0, bad: int = 0, prefix: str = "R") -> list[dict[str, str | None]]:
    """n valid lpr_adm rows with distinct recnums, the last `bad` of them with an impossible hour."""
    base = GOOD_ROWS["lpr_adm"][0]
    rows = [{**base, "recnum": f"{prefix}{start + i}"} for i in range(n)]
    for r in rows[n - bad:]:
        r["v_indtime"] = "25"
    return rows


@pytest.fixture
def con(tmp_path: Path):
    c = duckdb.connect(str(tmp_path / "wh.duckdb"))
    yield c
    c.close()


def q(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[tuple]:
    return con.execute(sql, params or {}).fetchall()


def test_accepted_delivery_lineage_and_load_log(con, tmp_path: Path) -> None:
    path = write_csv(register_file(tmp_path / "raw", "lpr_adm", 2015), lpr_rows(200, bad=1), sep=";")
    d = load_delivery(con, LPR, path, 2015, run_id="run-1")
    assert (d.status, d.rows_read, d.rows_staged, d.rows_quarantined) == ("loaded", 200, 199, 1)
    assert d.rule_counts == {"v_indtime:out_of_range": 1}
    assert q(con, "select count(*), min(_source_row), max(_source_row), any_value(_source_file) from staging.lpr_adm") == [
        (199, 1, 199, "lpr_adm_2015.csv")
    ]
    assert q(con, "select recnum, v_indtime, _source_row, _year, _reasons, _refused from quarantine.lpr_adm") == [
        ("R199", "25", 200, 2015, "v_indtime:out_of_range", False)
    ]
    assert q(con, "select count(*) from raw.lpr_adm where _year = 2015") == [(200,)]
    typed = q(con, "select d_inddto, v_indtime, c_kom, c_spec from staging.lpr_adm where recnum = 'R0'")
    assert typed == [(date(2015, 3, 1), 10, 101, "50")]
    log = q(con, "select register, year, file, rows_read, rows_staged, rows_quarantined, rule_counts, status, "
                 "run_id, file_hash, file_format from meta.load_log")
    assert log == [("lpr_adm", 2015, "lpr_adm_2015.csv", 200, 199, 1, '{"v_indtime:out_of_range": 1}', "loaded",
                    "run-1", hashlib.sha256(path.read_bytes()).hexdigest(), "csv")]
    assert conservation_result(con, LPR).passed


def test_reloading_a_year_replaces_exactly_that_year(con, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(200, prefix="A"))
    write_csv(register_file(raw, "lpr_adm", 2016), lpr_rows(120, prefix="B"))
    ingest_register(con, LPR, raw, [2015, 2016])
    write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(150, prefix="C", bad=1))
    ingest_register(con, LPR, raw, [2015])
    assert q(con, "select _year, count(*), min(left(recnum, 1)), max(left(recnum, 1)) from staging.lpr_adm "
                  "group by 1 order by 1") == [(2015, 149, "C", "C"), (2016, 120, "B", "B")]
    assert q(con, "select _year, count(*) from raw.lpr_adm group by 1 order by 1") == [(2015, 150), (2016, 120)]
    assert q(con, "select _year, count(*) from quarantine.lpr_adm group by 1") == [(2015, 1)]
    result = conservation_result(con, LPR)
    assert result.passed and result.metadata["raw_rows"].value == 270


def test_refused_delivery_keeps_the_previous_staging_rows(con, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(200))
    (good,) = ingest_register(con, LPR, raw, [2015])
    before = q(con, "select recnum, _loaded_at from staging.lpr_adm order by recnum")
    # 3 bad rows of 200 = 1.5 % > the 1 % share limit of lpr_adm
    write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(200, prefix="N", bad=3))
    (refused,) = ingest_register(con, LPR, raw, [2015])
    assert (refused.status, refused.rows_staged, refused.rows_quarantined) == ("refused", 0, 3)
    assert refused.message.startswith("lpr_adm_2015.csv: 3 of 200 rows quarantined (1.50%)")
    assert "v_indtime:out_of_range 3" in refused.message
    assert q(con, "select recnum, _loaded_at from staging.lpr_adm order by recnum") == before
    assert q(con, "select count(*), min(left(recnum, 1)) from raw.lpr_adm") == [(200, "R")]
    assert q(con, "select count(*), bool_and(_refused) from quarantine.lpr_adm") == [(3, True)]
    assert q(con, "select status from meta.load_log order by loaded_at") == [("loaded",), ("refused",)]
    assert conservation_result(con, LPR).passed
    assert good.status == "loaded"


def test_absolute_threshold_refuses_even_a_small_share(con, tmp_path: Path, monkeypatch) -> None:
    from pipeline.contract import Thresholds

    strict = LPR.__class__(**{**LPR.__dict__, "thresholds": Thresholds(max_rows=2, max_share=0.5)})
    path = write_csv(register_file(tmp_path / "raw", "lpr_adm", 2015), lpr_rows(200, bad=3))
    assert load_delivery(con, strict, path, 2015).status == "refused"
    path = write_csv(register_file(tmp_path / "raw", "lpr_adm", 2016), lpr_rows(200, bad=2))
    assert load_delivery(con, strict, path, 2016).status == "loaded"


def test_missing_column_stops_the_register_with_file_column_and_type(con, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(10))
    ingest_register(con, LPR, raw, [2015])
    rows = lpr_rows(10, prefix="X")
    cols = [c for c in rows[0] if c != "c_indm"]
    write_csv(register_file(raw, "lpr_adm", 2015), rows, columns=cols)
    (d,) = ingest_register(con, LPR, raw, [2015])
    assert d.status == "schema_drift"
    assert d.message == "lpr_adm_2015.csv: required column 'c_indm' (str) is missing"
    assert q(con, "select count(*), min(left(recnum, 1)) from staging.lpr_adm") == [(10, "R")]


def _parquet(path: Path, rows: list[dict], **casts: pl.DataType) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.Utf8)).with_columns(
        [pl.col(c).cast(t) for c, t in casts.items()]
    )
    frame.write_parquet(path)
    return path


def test_changed_column_type_between_deliveries_is_drift(con, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _parquet(register_file(raw, "lpr_adm", 2015, "parquet"), lpr_rows(10), c_kom=pl.Int32, v_indtime=pl.Int8)
    _parquet(register_file(raw, "lpr_adm", 2016, "parquet"), lpr_rows(10, prefix="B"), v_indtime=pl.Int8)
    first, second = ingest_register(con, LPR, raw, [2015, 2016])
    assert first.status == "loaded"
    assert second.status == "schema_drift"
    assert second.message == (
        "lpr_adm_2016.parquet: column 'c_kom' changed type: expected numeric (as in lpr_adm_2015.parquet), found string"
    )
    assert q(con, "select distinct _year from staging.lpr_adm") == [(2015,)]


def test_csv_after_parquet_is_not_drift(con, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _parquet(register_file(raw, "lpr_adm", 2015, "parquet"), lpr_rows(10), c_kom=pl.Int32)
    write_csv(register_file(raw, "lpr_adm", 2016), lpr_rows(10, prefix="B"))
    assert [d.status for d in ingest_register(con, LPR, raw, [2015, 2016])] == ["loaded", "loaded"]


def test_type_that_does_not_fit_the_contract_is_drift(con, tmp_path: Path) -> None:
    rows = lpr_rows(5)
    path = _parquet(register_file(tmp_path / "raw", "lpr_adm", 2015, "parquet"), rows)
    pl.read_parquet(path).with_columns(pl.col("d_inddto").str.to_date()).write_parquet(path)
    assert load_delivery(con, LPR, path, 2015).status == "loaded"
    frame = pl.read_parquet(path).with_columns(pl.col("d_inddto").cast(pl.Int32))  # days as a number
    frame.write_parquet(path)
    d = load_delivery(con, LPR, path, 2015)
    assert d.status == "schema_drift"
    assert "column 'd_inddto' has type numeric, expected date (contract)" in d.message


def test_unreadable_file_is_logged_and_changes_nothing(con, tmp_path: Path) -> None:
    path = register_file(tmp_path / "raw", "lpr_adm", 2015, "parquet")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PAR1 not really")
    d = load_delivery(con, LPR, path, 2015)
    assert d.status == "unreadable" and d.message.startswith("lpr_adm_2015.parquet: cannot read")
    assert q(con, "select status, rows_read from meta.load_log") == [("unreadable", 0)]


def test_two_files_for_one_year_are_refused(tmp_path: Path) -> None:
    write_csv(register_file(tmp_path, "bef", 2015), GOOD_ROWS["bef"])
    _parquet(register_file(tmp_path, "bef", 2015, "parquet"), GOOD_ROWS["bef"])
    with pytest.raises(ReadError, match="more than one file"):
        register_files(tmp_path, register("bef"))


def test_files_outside_the_naming_rule_are_ignored(tmp_path: Path) -> None:
    write_csv(register_file(tmp_path, "bef", 2015), GOOD_ROWS["bef"])
    (tmp_path / "bef" / "README.txt").write_text("notes")
    (tmp_path / "bef" / "bef_2015_old.csv").write_text("x")
    assert list(register_files(tmp_path, register("bef"))) == [2015]


def test_dream_wide_columns_follow_the_delivery(con, tmp_path: Path) -> None:
    dream = register("dream")
    path = write_csv(register_file(tmp_path / "raw", "dream", None), GOOD_ROWS["dream"])
    assert load_delivery(con, dream, path, None).status == "loaded"
    rows = [{**r, "y_1503": "740"} for r in GOOD_ROWS["dream"]]
    write_csv(path, rows)
    assert load_delivery(con, dream, path, None).status == "loaded"
    cols = [r[0] for r in q(con, "select column_name from information_schema.columns where table_schema = 'staging' "
                                 "and table_name = 'dream' order by ordinal_position")]
    assert cols[:4] == ["pnr", "y_1501", "y_1502", "y_1503"]
    assert q(con, "select pnr, y_1501, y_1503, _year from staging.dream order by pnr") == [
        ("P001", "111", "740", None), ("P002", None, "740", None)
    ]
    # a refused delivery with a new week column lands in quarantine only
    write_csv(path, [{**r, "pnr": None, "y_1504": "111"} for r in rows])
    d = load_delivery(con, dream, path, None)
    assert (d.status, d.rule_counts) == ("refused", {"pnr:missing": 2})
    assert q(con, "select count(*) from staging.dream") == [(2,)]
    assert q(con, "select y_1504, _refused from quarantine.dream") == [("111", True), ("111", True)]
    assert conservation_result(con, dream).passed


def test_conservation_check_catches_a_lost_row(con, tmp_path: Path) -> None:
    path = write_csv(register_file(tmp_path / "raw", "lpr_adm", 2015), lpr_rows(20))
    load_delivery(con, LPR, path, 2015)
    con.execute("delete from staging.lpr_adm where recnum = 'R3'")
    result = conservation_result(con, LPR)
    assert not result.passed
    assert result.description == "2015: raw 20 != staging 19 + quarantine 0"


def test_rule_counts_are_json_counts_only(con, tmp_path: Path) -> None:
    rows = lpr_rows(300, bad=1)
    rows[5]["pnr"] = None
    path = write_csv(register_file(tmp_path / "raw", "lpr_adm", 2015), rows)
    load_delivery(con, LPR, path, 2015)
    (counts,) = q(con, "select rule_counts from meta.load_log")[0]
    assert json.loads(counts) == {"pnr:missing": 1, "v_indtime:out_of_range": 1}


def test_a_latin1_csv_with_an_ascii_header_is_read_again_within_the_delivery(con, tmp_path: Path) -> None:
    # the rows go straight from the file into raw.*: a body that is not UTF-8 shows only while inserting,
    # so the delivery's transaction is rolled back and begun again with the Latin-1 reading
    raw = tmp_path / "raw"
    write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(20, prefix="A"))
    ingest_register(con, LPR, raw, [2015])
    rows = lpr_rows(30, prefix="B")
    rows[-1]["c_afd"] = "Afd. Ø"
    write_csv(register_file(raw, "lpr_adm", 2015), rows, sep=";", encoding="latin-1")
    (d,) = ingest_register(con, LPR, raw, [2015])
    assert (d.status, d.rows_read, d.rows_staged) == ("loaded", 30, 30)
    assert q(con, "select count(*), min(left(recnum, 1)) from raw.lpr_adm") == [(30, "B")]
    assert q(con, "select c_afd, _source_row from staging.lpr_adm where recnum = 'B29'") == [("Afd. Ø", 30)]
    # raw reads the archived file in the encoding the ingest found (its header alone looks like UTF-8)
    assert q(con, "select c_afd, _source_row from raw.lpr_adm where recnum = 'B29'") == [("Afd. Ø", 30)]
    assert q(con, "select csv_encoding from meta.raw_files") == [("latin-1",)]
    assert conservation_result(con, LPR).passed


def test_a_file_that_breaks_while_read_keeps_the_year_as_it_was(con, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(20, prefix="A"))
    ingest_register(con, LPR, raw, [2015])
    before = q(con, "select recnum, _loaded_at from raw.lpr_adm order by recnum")
    # a row with more fields than the header after many good ones: DuckDB stops in the middle of the insert
    path = write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(5000, prefix="B"))
    with path.open("a", encoding="utf-8") as fh:
        fh.write(",".join(["x"] * 40) + "\n")
    (d,) = ingest_register(con, LPR, raw, [2015])
    assert d.status == "unreadable" and d.message.startswith("lpr_adm_2015.csv: cannot read the csv file")
    assert q(con, "select recnum, _loaded_at from raw.lpr_adm order by recnum") == before
    assert q(con, "select count(*) from staging.lpr_adm") == [(20,)]
    assert conservation_result(con, LPR).passed


# --- the raw archive behind raw.<register> ------------------------------------------------------------
def _archived(con: duckdb.DuckDBPyConnection, register_name: str) -> list[str]:
    from assets.ingest import archive_dir

    folder = archive_dir(con) / register_name
    return sorted(f.name for f in folder.iterdir()) if folder.is_dir() else []


def _raw_as_read(con: duckdb.DuckDBPyConnection, year: int) -> pl.DataFrame:
    cols = ", ".join(LPR.column_names)
    return con.sql(f"select _source_row, {cols} from raw.lpr_adm where _year = {year} order by _source_row").pl()


def test_raw_shows_each_years_accepted_delivery_as_read_from_its_archive(con, tmp_path: Path) -> None:
    from pipeline.readers import read_extract

    raw = tmp_path / "raw"
    rows = lpr_rows(40, prefix="A")
    rows[3]["c_afd"] = "  Afd. Ø  "  # kept as read: trimmed text, as the rules saw it
    csv_path = write_csv(register_file(raw, "lpr_adm", 2015), rows, sep=";")
    pq_path = _parquet(register_file(raw, "lpr_adm", 2016, "parquet"), lpr_rows(25, prefix="B"), c_kom=pl.Int32)
    ingest_register(con, LPR, raw, [2015, 2016])
    for year, path in ((2015, csv_path), (2016, pq_path)):
        expected = read_extract(path).frame.select(["_source_row", *LPR.column_names])
        assert _raw_as_read(con, year).cast(expected.schema).equals(expected)
    assert q(con, "select c_afd from raw.lpr_adm where _source_row = 4 and _year = 2015") == [("Afd. Ø",)]
    assert q(con, "select _year, count(*), any_value(_source_file) from raw.lpr_adm group by 1 order by 1") == [
        (2015, 40, "lpr_adm_2015.csv"), (2016, 25, "lpr_adm_2016.parquet")]
    # both files are kept as delivered (the CSV with the encoding it was read in)
    files = q(con, "select year, archive_format, rows, csv_encoding, file_hash from meta.raw_files order by year")
    assert [(y, f, n, e) for y, f, n, e, _h in files] == [(2015, "delivered", 40, "utf-8"),
                                                        (2016, "delivered", 25, None)]
    assert files[0][4] == hashlib.sha256(csv_path.read_bytes()).hexdigest()
    assert files[1][4] == hashlib.sha256(pq_path.read_bytes()).hexdigest()
    assert _archived(con, "lpr_adm") == sorted(q(con, "select archive from meta.raw_files")[i][0] for i in (0, 1))
    # the delivered files may go (a new delivery replaces them): raw still shows what was staged
    csv_path.unlink()
    pq_path.unlink()
    assert q(con, "select count(*) from raw.lpr_adm") == [(65,)]
    assert conservation_result(con, LPR).passed


def test_a_new_delivery_replaces_the_years_archive_file_and_a_refused_one_leaves_it(con, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(200, prefix="A"))
    ingest_register(con, LPR, raw, [2015])
    first = _archived(con, "lpr_adm")
    write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(200, prefix="N", bad=3))  # refused (1.5 %)
    assert ingest_register(con, LPR, raw, [2015])[0].status == "refused"
    assert _archived(con, "lpr_adm") == first
    assert q(con, "select count(*), min(left(recnum, 1)) from raw.lpr_adm") == [(200, "A")]
    write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(90, prefix="C"))
    assert ingest_register(con, LPR, raw, [2015])[0].status == "loaded"
    second = _archived(con, "lpr_adm")
    assert len(second) == 1 and second != first  # the replaced year's file is removed
    assert q(con, "select count(*), min(left(recnum, 1)) from raw.lpr_adm") == [(90, "C")]


def test_a_delivery_rolled_back_leaves_no_archive_file(con, tmp_path: Path, monkeypatch) -> None:
    import assets.ingest as ingest

    raw = tmp_path / "raw"
    write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(20, prefix="A"))
    ingest_register(con, LPR, raw, [2015])
    first = _archived(con, "lpr_adm")

    def broken_log(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "_log", broken_log)
    write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(30, prefix="B"))
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_register(con, LPR, raw, [2015])
    assert _archived(con, "lpr_adm") == first
    assert q(con, "select count(*), min(left(recnum, 1)) from raw.lpr_adm") == [(20, "A")]
    assert q(con, "select count(*) from staging.lpr_adm") == [(20,)]


def test_a_changed_archive_file_fails_the_conservation_check(con, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(20))
    ingest_register(con, LPR, raw, [2015])
    from assets.ingest import archive_dir

    (archived,) = (archive_dir(con) / "lpr_adm").iterdir()
    archived.write_text(archived.read_text(encoding="utf-8") + "R999,P1\n", encoding="utf-8")  # a row added
    result = conservation_result(con, LPR)
    assert not result.passed and "changed" in result.description


def test_a_missing_archive_file_fails_the_conservation_check_clearly(con, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(register_file(raw, "lpr_adm", 2015), lpr_rows(20))
    ingest_register(con, LPR, raw, [2015])
    from assets.ingest import archive_dir

    for f in (archive_dir(con) / "lpr_adm").iterdir():
        f.unlink()
    result = conservation_result(con, LPR)
    assert not result.passed
    assert result.description.startswith("raw.lpr_adm: the raw archive is not as written (2015_")
    assert "missing" in result.description


def test_a_raw_table_of_an_older_warehouse_moves_to_the_archive_without_loss(con, tmp_path: Path) -> None:
    from assets.ingest import ensure_tables

    con.execute("create schema raw").fetchall()
    cols = ", ".join(f"{c} varchar" for c in LPR.column_names)
    con.execute(f"create table raw.lpr_adm ({cols}, _year integer, _source_file varchar, _source_row bigint, "
                "_loaded_at timestamp)").fetchall()
    rows = lpr_rows(30)
    values = [[r[c] for c in LPR.column_names] for r in rows]
    for i, v in enumerate(values):
        year, stamp = (2015, "2020-01-01 10:00:00") if i < 20 else (2016, "2021-01-01 10:00:00")
        con.execute(f"insert into raw.lpr_adm values ({', '.join('?' * len(v))}, ?, ?, ?, ?)",
                    [*v, year, f"lpr_adm_{year}.csv", i + 1, stamp]).fetchall()
    before = q(con, "select * from raw.lpr_adm order by _year, _source_row")
    ensure_tables(con, LPR)
    assert q(con, "select table_type from information_schema.tables where table_schema = 'raw'") == [("VIEW",)]
    assert q(con, "select * from raw.lpr_adm order by _year, _source_row") == before
    assert q(con, "select year, rows, archive_format from meta.raw_files order by year") == [
        (2015, 20, "text"), (2016, 10, "text")]
    assert len(_archived(con, "lpr_adm")) == 2
