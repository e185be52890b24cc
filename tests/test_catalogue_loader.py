"""The catalogue loader: validation errors name file and key, order by code, stable version hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.catalogue import CatalogueError, catalogue_version, load_catalogue

P4 = """\
id: p4_genindlaeggelse
version: 1
code: P4
group: target
name_da: Akut psykiatrisk genindlæggelse inden for 30 dage
name_en: Acute psychiatric readmission within 30 days
source_registers: [lpr_adm, lpr_f_kontakter, dod]
definition: |
  Index: psychiatric admissions ending in Y.
parameters:
  follow_up_hours: 720
unit_table: units.p4_genindlaeggelse
breakdowns: [national, region, region2027, sundhedsraad, kom]
splits: [sex, age_group]
age_groups: [children, adults]
measures:
  - id: share
    kind: share
    unit: percent
    filter: null
  - id: share_std
    kind: std_share
    unit: percent
    strata: [sex, std_band]
    standard_year: 2017
direction: down
baseline: {year: 2017, published: {children: 13.6, adults: 22.7}, source: "eSundhed"}
target: {year: 2025, value: {children: 11.6, adults: 19.3}}
flags: [lpr3_break]
"""

P1 = """\
id: p1_ung_mental_sundhed
version: 2
code: P1
group: target
name_da: Unge med dårlig mental sundhed
name_en: Young people with poor mental health
source_registers: [sundhedsprofil]
definition: Respondents 16-24.
parameters: {mcs_cutoff: 35.76, min_denominator: 30}
unit_table: units.p1_ung_mental_sundhed
breakdowns: [national, region]
splits: [sex]
age_groups: {young: [16, 24], adults: [25, null]}
measures:
  - {id: share, kind: weighted_share, unit: percent, filter: "age between 16 and 24"}
direction: down
baseline: {year: 2017, published: 18.3}
target: {year: 2025, value: 13.7}
flags:
  - {name: survey_method_change, years: [2021]}
years_defined: "2010,2013,2017,2021,2025"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


def test_loads_and_orders_by_code(tmp_path: Path) -> None:
    write(tmp_path, "p4_genindlaeggelse.yaml", P4)
    write(tmp_path, "p1_ung_mental_sundhed.yaml", P1)
    cat = load_catalogue(tmp_path)
    assert list(cat) == ["p1_ung_mental_sundhed", "p4_genindlaeggelse"]
    p4 = cat["p4_genindlaeggelse"]
    assert p4.code == "P4" and p4.version == 1 and p4.unit_table_name == "p4_genindlaeggelse"
    assert p4.headline.kind == "share"
    std = p4.measure("share_std")
    assert std.strata == ("sex", "std_band") and std.standard_year == 2017
    assert p4.baseline.published == {"children": 13.6, "adults": 22.7}
    assert p4.target.value == {"children": 11.6, "adults": 19.3} and p4.target.year == 2025
    assert p4.flags_for(2019) == ["lpr3_break"] and p4.flags_for(2018) == []
    assert p4.defined_in(1999) and p4.min_denominator() == 20
    p1 = cat["p1_ung_mental_sundhed"]
    assert p1.years_defined == (2010, 2013, 2017, 2021, 2025)
    assert p1.years_in([2016, 2017, 2018, 2021]) == [2017, 2021]
    assert p1.age_groups == ("young", "adults") and p1.age_bounds["adults"] == (25, None)
    assert p1.min_denominator() == 30
    assert p1.flags_for(2021) == ["survey_method_change"]


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("kind: std_share", "kind: geometric_mean", "measures[1].kind"),
        ("breakdowns: [national, region,", "breakdowns: [national, county,", "breakdowns"),
        ("splits: [sex, age_group]", "splits: [sex, ethnicity]", "splits"),
        ("unit_table: units.p4_genindlaeggelse", "unit_table: staging.p4", "unit_table"),
        ("direction: down", "direction: sideways", "direction"),
        ("    standard_year: 2017\n", "", "measures[1]"),
        ("code: P4", "code: P9", "code"),
        ("flags: [lpr3_break]", "flags: [made_up]", "flags[0]"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    assert old in P4
    write(tmp_path, "p4_genindlaeggelse.yaml", P4.replace(old, new))
    with pytest.raises(CatalogueError) as err:
        load_catalogue(tmp_path)
    assert "p4_genindlaeggelse.yaml" in str(err.value)
    assert f"'{key}'" in str(err.value)


def test_missing_required_key(tmp_path: Path) -> None:
    write(tmp_path, "p4_genindlaeggelse.yaml", P4.replace("name_en: Acute psychiatric readmission within 30 days\n", ""))
    with pytest.raises(CatalogueError, match=r"p4_genindlaeggelse.yaml: key 'name_en': required key missing"):
        load_catalogue(tmp_path)


def test_id_must_match_file_and_codes_unique(tmp_path: Path) -> None:
    write(tmp_path, "other.yaml", P4)
    with pytest.raises(CatalogueError, match=r"other.yaml: key 'id'"):
        load_catalogue(tmp_path)
    (tmp_path / "other.yaml").unlink()
    write(tmp_path, "p4_genindlaeggelse.yaml", P4)
    write(tmp_path, "p4_copy.yaml", P4.replace("id: p4_genindlaeggelse", "id: p4_copy").replace(
        "units.p4_genindlaeggelse", "units.p4_copy"))
    with pytest.raises(CatalogueError, match=r"key 'code': P4 is already used"):
        load_catalogue(tmp_path)


def test_version_is_stable_and_content_sensitive(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write(a, "p4_genindlaeggelse.yaml", P4)
    write(b, "p4_genindlaeggelse.yaml", P4)
    assert catalogue_version(a) == catalogue_version(b)
    assert len(catalogue_version(a)) == 16
    write(b, "p4_genindlaeggelse.yaml", P4.replace("follow_up_hours: 720", "follow_up_hours: 721"))
    assert catalogue_version(a) != catalogue_version(b)


def test_repository_catalogue_is_valid() -> None:
    # Whatever entries exist in the repository must pass validation (none yet is also fine).
    cat = load_catalogue()
    for spec in cat.values():
        assert spec.unit_table == f"units.{spec.id}"
