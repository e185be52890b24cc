"""Reference data: the shipped geography file and code lists, and their loading into ref.*."""

import csv
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from assets.reference import GEOGRAPHY_FILE, load_codes, load_geography


def _rows() -> list[dict[str, str]]:
    with GEOGRAPHY_FILE.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_geography_has_98_unique_municipalities_with_the_expected_columns():
    rows = _rows()
    assert list(rows[0]) == [
        "kom", "kom_navn", "region_code", "region_name", "region2027_code", "region2027_name",
        "sundhedsraad_code", "sundhedsraad_name", "source",
    ]
    codes = [int(r["kom"]) for r in rows]
    assert len(codes) == 98
    assert len(set(codes)) == 98
    assert all(100 <= c <= 999 for c in codes)


def test_geography_known_municipalities_and_regions():
    by_kom = {int(r["kom"]): r for r in _rows()}
    assert by_kom[101]["kom_navn"] == "København" and by_kom[101]["region_code"] == "84"
    assert by_kom[147]["kom_navn"] == "Frederiksberg" and by_kom[147]["region_code"] == "84"
    assert by_kom[851]["kom_navn"] == "Aalborg" and by_kom[851]["region_code"] == "81"
    assert by_kom[751]["kom_navn"] == "Aarhus" and by_kom[751]["region_code"] == "82"
    assert by_kom[461]["kom_navn"] == "Odense" and by_kom[461]["region_code"] == "83"
    assert by_kom[265]["kom_navn"] == "Roskilde" and by_kom[265]["region_code"] == "85"
    assert by_kom[400]["kom_navn"] == "Bornholm" and by_kom[400]["region_code"] == "84"
    assert by_kom[185]["kom_navn"] == "Tårnby"  # UTF-8, not Latin-1 or mojibake


def test_geography_counts_per_region():
    counts = Counter(r["region_code"] for r in _rows())
    assert counts == {"81": 11, "82": 19, "83": 22, "84": 29, "85": 17}


def test_geography_2027_regions_merge_hovedstaden_and_sjaelland_only():
    pairs = {(r["region_code"], r["region2027_code"], r["region2027_name"]) for r in _rows()}
    assert pairs == {
        ("81", "81", "Region Nordjylland"),
        ("82", "82", "Region Midtjylland"),
        ("83", "83", "Region Syddanmark"),
        ("84", "86", "Region Østdanmark"),
        ("85", "86", "Region Østdanmark"),
    }


def test_geography_17_councils_each_inside_one_2027_region_and_marked_provisional():
    rows = _rows()
    councils = {int(r["sundhedsraad_code"]) for r in rows}
    assert councils == set(range(1, 18))
    regions_per_council: dict[str, set[str]] = {}
    names_per_council: dict[str, set[str]] = {}
    for r in rows:
        regions_per_council.setdefault(r["sundhedsraad_code"], set()).add(r["region2027_code"])
        names_per_council.setdefault(r["sundhedsraad_code"], set()).add(r["sundhedsraad_name"])
    assert all(len(v) == 1 for v in regions_per_council.values())
    assert all(len(v) == 1 for v in names_per_council.values())
    assert all("PROVISIONAL" in r["source"] for r in rows)


def test_load_geography_replaces_the_table_idempotently(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert load_geography(con) == 98
    assert load_geography(con) == 98
    got = con.execute(
        "select region2027_code, count(*) from ref.geography group by 1 order by 1"
    ).fetchall()
    assert got == [(81, 11), (82, 19), (83, 22), (86, 46)]
    types = dict(con.execute("select column_name, data_type from information_schema.columns "
                             "where table_schema = 'ref' and table_name = 'geography'").fetchall())
    assert types["kom"] == "INTEGER" and types["sundhedsraad_code"] == "INTEGER"


def test_load_geography_refuses_a_broken_file_and_keeps_the_old_table(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    load_geography(con)
    lines = GEOGRAPHY_FILE.read_text(encoding="utf-8").splitlines()
    broken = tmp_path / "geography.csv"
    broken.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")  # København twice
    with pytest.raises(ValueError, match="kom_not_unique"):
        load_geography(con, broken)
    assert con.execute("select count(*) from ref.geography").fetchone()[0] == 98


def test_load_codes_has_the_shared_conventions(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    counts = load_codes(con)
    assert set(counts) >= {
        "psych_specialty_lpr2", "psych_specialty_lpr3", "acute_priority", "planned_priority",
        "physical_attendance", "coercion_type", "dream_code", "marker", "icd10_group",
    }

    def lst(name: str) -> dict[str, str]:
        return dict(con.execute("select code, meaning from ref.codes where list_name = $n", {"n": name}).fetchall())

    assert lst("marker") == {
        "MFB01": "faerdigbehandlet", "MUA01": "udredning_afsluttet",
        "MUF01": "udredning_fristbrud_begrundet", "MUF02": "udredning_fristbrud_begrundet",
        "MUF03": "udredning_fristbrud_begrundet",
    }
    assert set(lst("psych_specialty_lpr2")) == {"50", "52"}
    assert set(lst("psych_specialty_lpr3")) == {"psykiatri", "børne- og ungdomspsykiatri"}
    assert set(lst("acute_priority")) == {"1", "ATA1"}
    assert set(lst("planned_priority")) == {"2", "ATA3"}
    assert set(lst("physical_attendance")) == {"ALCA00"}
    dream = lst("dream_code")
    assert {c for c, m in dream.items() if m == "su"} == {"651", "652"}
    assert dream["740"] == dream["890"] == "sygedagpenge"
    forms = lst("coercion_type")
    assert len(forms) == 19
    assert forms["baelte"] == "3" and forms["tvangsindlaeggelse"] == "1" and forms["koordinationsplan"] == "5"
    assert forms["arealbegraensning"] == "4" and forms["legemlig_lidelse"] == "2"
    selfharm = {c for c, m in lst("icd10_group").items() if m == "self_harm"}
    assert selfharm == {f"DX{n}" for n in range(60, 85)}
    assert con.execute("select count(*) from ref.codes where source is null or source = ''").fetchone()[0] == 0
