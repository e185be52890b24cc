"""Readers: Parquet, CSV with either separator, Latin-1, upper-case names, SAS7BDAT (incl. the Latin-1 file)."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date, datetime, time
from pathlib import Path

import polars as pl
import pytest

from pipeline.readers import ReadError, detect_separator, read_extract

SAS = Path("/work/shared/testdata/sas")
needs_sas = pytest.mark.skipif(not SAS.is_dir(), reason="shared SAS test files not available")


def _values(path: Path) -> dict[str, list]:
    return read_extract(path).frame.drop("_source_row").to_dict(as_series=False)


def test_parquet_native_types_become_faithful_text(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    pl.DataFrame(
        {
            "PNR": ["A1", "A2"],
            "koen": pl.Series([1, 2], dtype=pl.Int8),
            "foed_dag": [date(1980, 5, 17), None],
            "mcs": [41.5, 35.0],
            "stamp": [datetime(2019, 2, 1, 8, 30), datetime(2019, 2, 1, 0, 0)],
            "tid": [time(14, 0), time(9, 5, 30)],
        }
    ).write_parquet(path)
    result = read_extract(path)
    assert result.file_format == "parquet"
    assert result.kinds == {"pnr": "string", "koen": "numeric", "foed_dag": "date", "mcs": "numeric",
                            "stamp": "datetime", "tid": "time"}
    assert result.frame["_source_row"].to_list() == [1, 2]
    assert _values(path) == {
        "pnr": ["A1", "A2"],
        "koen": ["1", "2"],
        "foed_dag": ["1980-05-17", None],
        "mcs": ["41.5", "35"],
        "stamp": ["2019-02-01 08:30:00", "2019-02-01 00:00:00"],
        "tid": ["14:00:00", "09:05:30"],
    }


@pytest.mark.parametrize("sep", [";", ","])
def test_csv_either_separator(tmp_path: Path, sep: str) -> None:
    path = tmp_path / "bef_2019.csv"
    path.write_text(f"pnr{sep}koen{sep}foed_dag{sep}kom\nA1{sep}1{sep}1980-05-17{sep}101\nA2{sep}{sep}2001-01-01{sep}0147\n")
    result = read_extract(path)
    assert result.kinds == dict.fromkeys(["pnr", "koen", "foed_dag", "kom"], "text")
    assert _values(path) == {"pnr": ["A1", "A2"], "koen": ["1", None], "foed_dag": ["1980-05-17", "2001-01-01"],
                             "kom": ["101", "0147"]}
    assert detect_separator(f"a{sep}b{sep}c") == sep


def test_csv_latin1_with_danish_letters_and_upper_case_names(tmp_path: Path) -> None:
    path = tmp_path / "tvang_2018.csv"
    text = "PNR;BEGRUNDELSE;Behandlingsomraade\nA1;Nærliggende fare;psykiatri\nA2;Øget fare for selvskade;psykiatri\nA3;Forsøg på at påføre andre skade;somatik\n"
    path.write_bytes(text.encode("latin-1"))
    assert _values(path) == {
        "pnr": ["A1", "A2", "A3"],
        "begrundelse": ["Nærliggende fare", "Øget fare for selvskade", "Forsøg på at påføre andre skade"],
        "behandlingsomraade": ["psykiatri", "psykiatri", "somatik"],
    }


def test_csv_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes("\ufeffPNR,hovedspeciale_ans\nA1,børne- og ungdomspsykiatri\n".encode())
    assert _values(path) == {"pnr": ["A1"], "hovedspeciale_ans": ["børne- og ungdomspsykiatri"]}


def test_blank_text_is_null_and_values_are_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('pnr,c\n" A1 ",""\nA2,"  "\n')
    assert _values(path) == {"pnr": ["A1", "A2"], "c": [None, None]}


def test_truncated_parquet_names_the_file(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    pl.DataFrame({"pnr": [f"P{i}" for i in range(1000)]}).write_parquet(good)
    bad = tmp_path / "lpr_adm_2017.parquet"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ReadError, match=r"^lpr_adm_2017\.parquet: cannot read"):
        read_extract(bad)


def test_truncated_csv_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bef_2019.csv"
    path.write_text("pnr,koen,foed_dag,kom\nA1,1,1980-05-17,101\nA2,2,19")
    with pytest.raises(ReadError, match=r"^bef_2019\.csv: the file is truncated"):
        read_extract(path)


def test_duplicate_names_after_lower_casing_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("PNR,pnr\nA,B\n")
    with pytest.raises(ReadError, match="more than once"):
        read_extract(path)


def test_unsupported_type(tmp_path: Path) -> None:
    path = tmp_path / "bef_2019.xlsx"
    path.write_text("x")
    with pytest.raises(ReadError, match="unsupported file type"):
        read_extract(path)


@needs_sas
def test_sas_bef_floats_become_integers() -> None:
    result = read_extract(SAS / "bef_2018.sas7bdat")
    assert result.file_format == "sas7bdat"
    assert result.kinds == {"pnr": "string", "koen": "numeric", "foed_dag": "date", "kom": "numeric"}
    f = result.frame
    assert f.height == 50
    assert f["pnr"].to_list() == [f"S{i:04d}" for i in range(1, 51)]
    assert Counter(f["koen"].to_list()) == {"1": 30, "2": 20}
    assert f["kom"].to_list()[:11] == ["101", "147", "751", "461", "851", "259", "330", "400", "157", "615", "101"]
    assert (f["foed_dag"].min(), f["foed_dag"].max()) == ("1941-07-31", "2004-07-11")


BEGRUNDELSE = {
    "Nærliggende fare": 9,
    "Udsigt til væsentlig bedring": 6,
    "Betydelig fare for andre": 4,
    "Forsøg på at påføre andre skade": 4,
    "Øget fare for selvskade": 4,
    "frivillig": 3,
}


@needs_sas
@pytest.mark.parametrize("path", [SAS / "tvang_2018.sas7bdat", SAS / "latin1" / "tvang_2018.sas7bdat"])
def test_sas_tvang_exact_strings_blanks_and_dates(path: Path) -> None:
    f = read_extract(path).frame
    assert f.height == 30
    assert f["pnr"].n_unique() == 20
    assert Counter(f["begrundelse"].to_list()) == BEGRUNDELSE
    assert Counter(f["skema"].to_list()) == {"1": 7, "2": 5, "3": 18}
    assert Counter(f["region"].to_list()) == {"81": 4, "82": 6, "83": 2, "84": 12, "85": 6}
    open_end = f.filter(pl.col("slut_dato").is_null())
    assert sorted(open_end["pnr"].to_list()) == ["S0045", "S0047"]
    assert open_end["slut_tid"].to_list() == [None, None]  # SAS blanks come back as nulls
    s45 = open_end.filter(pl.col("pnr") == "S0045").row(0, named=True)
    assert (s45["tvangstype"], s45["start_dato"], s45["start_tid"]) == ("tvangsindlaeggelse", "2018-11-03", "04:20")
    assert f["slut_dato"].max() == "2019-01-10"


@needs_sas
def test_sas_latin1_file_reads_exactly_like_the_utf8_file() -> None:
    utf8 = read_extract(SAS / "tvang_2018.sas7bdat").frame
    latin1 = read_extract(SAS / "latin1" / "tvang_2018.sas7bdat").frame
    assert latin1.equals(utf8)


@needs_sas
def test_sas_file_loads_through_the_register_folder(tmp_path: Path) -> None:
    from assets.ingest import register_files
    from pipeline.contract import register

    (tmp_path / "tvang").mkdir()
    shutil.copy(SAS / "latin1" / "tvang_2018.sas7bdat", tmp_path / "tvang" / "TVANG_2018.sas7bdat")
    assert register_files(tmp_path, register("tvang")) == {2018: tmp_path / "tvang" / "TVANG_2018.sas7bdat"}


@needs_sas
def test_sas_delivery_is_kept_as_read_in_the_raw_archive(tmp_path: Path) -> None:
    import duckdb

    from assets.ingest import load_delivery
    from pipeline.contract import register

    tvang = register("tvang")
    path = tmp_path / "tvang_2018.sas7bdat"
    shutil.copy(SAS / "latin1" / "tvang_2018.sas7bdat", path)
    expected = read_extract(path).frame.select(["_source_row", *tvang.column_names])
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        d = load_delivery(con, tvang, path, 2018)
        path.unlink()  # raw reads the archive, not the delivered file
        cols = ", ".join(tvang.column_names)
        shown = con.sql(f"select _source_row, {cols} from raw.tvang order by _source_row").pl()
        kinds = con.execute("select archive_format from meta.raw_files").fetchall()
    assert d.status == "loaded" and d.rows_read == expected.height
    assert shown.equals(expected) and kinds == [("text",)]


@pytest.mark.parametrize("body", ["pnr,kom\nP1,101\nP2,101,7\n", "pnr,kom\nP1,101\nP2\nP3,101\n",
                                  "pnr,kom\n" + "P1,101\n" * 3000 + "P2,101,7\n"])
def test_a_csv_row_with_more_or_fewer_fields_than_the_header_stops_the_read(tmp_path: Path, body: str) -> None:
    # a small file whose last row had an extra field was once read as no rows at all, silently
    path = tmp_path / "bef_2015.csv"
    path.write_text(body)
    with pytest.raises(ReadError, match=r"^bef_2015\.csv: cannot read the csv file"):
        read_extract(path)


def test_csv_rows_are_numbered_in_file_order_when_read_on_every_core(tmp_path: Path) -> None:
    # the rows are read in parallel (a file of many read buffers) and numbered by their place in the
    # temp table they are read into; each row carries its own line number, so any reordering shows
    n = 500_000
    path = tmp_path / "bef_2015.csv"
    lines = "".join(f"P{i:07d};{i};{'x' * (i % 37)}\n" for i in range(1, n + 1))
    path.write_text("pnr;kom;note\n" + lines)
    assert path.stat().st_size > 16_000_000  # several of DuckDB's CSV buffers
    frame = read_extract(path).frame
    assert frame.height == n
    assert frame.get_column("_source_row").to_list() == list(range(1, n + 1))
    assert (frame.get_column("kom").cast(pl.Int64) == frame.get_column("_source_row")).all()
    # also on a connection that lets DuckDB reorder results (without the reader keeping the order,
    # most rows were misnumbered: checked)
    import duckdb

    from pipeline.readers import open_source, run_source

    with duckdb.connect() as con, open_source(con, path) as src:
        con.execute("set preserve_insertion_order = false")
        misnumbered = run_source(con, src, lambda rows: f"select count(*) from {rows} where _source_row <> kom::bigint")
        assert misnumbered == [(0,)]
        assert con.execute("select current_setting('preserve_insertion_order')").fetchall() == [(False,)]


def test_csv_rows_are_numbered_from_one_inside_a_transaction(tmp_path: Path) -> None:
    # inside a transaction DuckDB gives a new table's rows ids from an offset: numbering must not depend on it
    import duckdb

    from pipeline.readers import open_source, run_source

    path = tmp_path / "bef_2015.csv"
    path.write_text("pnr;kom\nP1;101\n\nP2;102\nP3;103\n")
    with duckdb.connect() as con, open_source(con, path) as src:
        con.begin()
        rows = run_source(con, src, lambda rows: f"select _source_row, pnr from {rows} order by _source_row")
        con.rollback()
    assert rows == [(1, "P1"), (2, "P2"), (3, "P3")]


def test_a_csv_view_numbers_the_rows_in_file_order_and_reads_them_as_the_ingest_did(tmp_path: Path) -> None:
    # raw.<register> over an archived CSV numbers its rows in the view (row_number() over ()); each row
    # carries its own line number, so any reordering across DuckDB's read buffers shows
    import duckdb

    from pipeline.readers import csv_view_select

    n = 500_000
    path = tmp_path / "bef_2015.csv"
    lines = "".join(f"P{i:07d};{i}; {'x' * (i % 37)}Ø \n" for i in range(1, n + 1))
    path.write_bytes(("pnr;kom;note\n" + lines).encode("latin-1"))
    assert path.stat().st_size > 16_000_000
    with duckdb.connect() as con:
        con.execute("set threads = 2").fetchall()
        view = con.sql(csv_view_select(con, path, "latin-1")).pl()
        with pytest.raises(ReadError, match="cannot be read as cp1252"):
            csv_view_select(con, path, "cp1252")  # only the readings the ingest tries (UTF-8, Latin-1)
    assert view.height == n
    assert (view.get_column("kom").cast(pl.Int64) == view.get_column("_source_row")).all()
    assert view.equals(read_extract(path).frame.cast(view.schema))
