"""Dirty synthetic worlds (`generate(dirty=True)`): every injected fault is listed in `_faults.json`,
visible in its file, leaves the rest of the world identical to the clean one, and is caught by the
ingestion with the rule the manifest names."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.readers import ReadError, read_extract
from pipeline.synth import generate

YEARS = list(range(2016, 2022))
KINDS = {"unparseable_date", "end_before_start", "unknown_code", "duplicate_row", "missing_id", "column_renamed",
         "truncated_file"}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict]]:
    clean = tmp_path_factory.mktemp("clean")
    dirty = tmp_path_factory.mktemp("dirty")
    generate(clean, scale=0.002, years=YEARS, seed=21, progress=False)
    generate(dirty, scale=0.002, years=YEARS, seed=21, dirty=True, progress=False)
    faults = json.loads((dirty / "_faults.json").read_text(encoding="utf-8"))["faults"]
    return clean, dirty, faults


def _text(path: Path) -> pl.DataFrame:
    return read_extract(path).frame


def test_manifest_lists_one_fault_of_each_kind(worlds) -> None:
    clean, dirty, faults = worlds
    assert {f["kind"] for f in faults} == KINDS and len(faults) == len(KINDS)
    assert not (clean / "_faults.json").exists()
    assert json.loads((dirty / "_synthetic.json").read_text())["dirty"] is True
    for f in faults:
        assert (dirty / f["file"]).exists() and f["rows"] >= 1 and f["rule"], f
        assert f["expected"] in {"quarantine", "schema_drift", "unreadable"}
        if f["expected"] == "quarantine":
            assert len(f["source_rows"]) == f["rows"]


def test_each_fault_is_in_its_file(worlds) -> None:
    _, dirty, faults = worlds
    by_kind = {f["kind"]: f for f in faults}
    for kind in ("unparseable_date", "end_before_start", "unknown_code", "missing_id", "duplicate_row"):
        f = by_kind[kind]
        df = _text(dirty / f["file"])
        rows = df.filter(pl.col("_source_row").is_in(f["source_rows"]))
        assert rows.height == f["rows"], kind
        if kind == "unparseable_date":
            assert rows[f["column"]].str.to_date("%Y-%m-%d", strict=False).is_null().all()
            assert rows[f["column"]].is_not_null().all()
        elif kind == "end_before_start":
            assert (rows["slut_dato"].str.to_date() < rows["start_dato"].str.to_date()).all()
        elif kind == "unknown_code":
            assert (rows["koen"] == "9").all()
        elif kind == "missing_id":
            assert rows[f["column"]].is_null().all()
        else:
            data = [c for c in df.columns if c != "_source_row"]
            earlier = df.filter(~pl.col("_source_row").is_in(f["source_rows"])).select(data)
            assert rows.select(data).join(earlier, on=data, how="semi", nulls_equal=True).height == f["rows"]
    renamed = _text(dirty / by_kind["column_renamed"]["file"])
    assert "hfaudd" in renamed.columns and "hfaudd_niveau" not in renamed.columns
    with pytest.raises(ReadError):
        read_extract(dirty / by_kind["truncated_file"]["file"])


def test_clean_part_of_a_dirty_world_is_the_clean_world(worlds) -> None:
    clean, dirty, faults = worlds
    faulty = {f["file"]: f for f in faults}
    files = json.loads((clean / "_synthetic.json").read_text())["files"]
    assert [f["file"] for f in files] == [f["file"] for f in json.loads((dirty / "_synthetic.json").read_text())["files"]]
    for entry in files:
        name = entry["file"]
        f = faulty.get(name)
        if f is None:
            assert (clean / name).read_bytes() == (dirty / name).read_bytes(), name
        elif f["expected"] == "quarantine":
            a, b = _text(clean / name), _text(dirty / name)
            if f["kind"] == "duplicate_row":
                assert b.head(a.height).equals(a)
            else:
                keep = ~pl.col("_source_row").is_in(f["source_rows"])
                assert a.filter(keep).equals(b.filter(keep)), name


def test_ingestion_catches_every_fault(worlds, tmp_path: Path) -> None:
    ingest = pytest.importorskip("assets.ingest")
    from pipeline.contract import load_contract
    from schemas.registers import known_municipalities

    _, dirty, faults = worlds
    contract = load_contract()
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    status: dict[str, str] = {}
    for register, year in sorted({(f["register"], f["year"]) for f in faults}, key=str):
        for d in ingest.ingest_register(con, contract[register], dirty, [year], known_koms=known_municipalities()):
            status[d.file] = d.status
    for f in faults:
        file = Path(f["file"]).name
        assert f["register"] in contract
        if f["expected"] != "quarantine":
            assert status[file] == f["expected"], f
            continue
        rows = con.execute(
            f"select _source_row from quarantine.{f['register']} "  # register names come from the contract
            "where _source_file = $file and list_contains(string_split(_reasons, ';'), $rule)",
            {"file": file, "rule": f["rule"]}).fetchall()
        assert sorted(r[0] for r in rows) == f["source_rows"], f
