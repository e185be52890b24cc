"""P2 (persons subjected to coercion) and N2 (belt fixation among admitted persons) on a hand-built core
world: voluntary belts, forms 4/5, somatics, the age split at the first counted measure, two reporting
regions, the two separate N2 counts. Expected unit rows are written by hand."""

import pytest
from test_indicators_support import insert, make_world, outcome, person, run_units, stay, ts


def measure(pnr, start, skema, tvangstype, *, begrundelse="", psychiatry=True, region=84):
    start_ts = ts(start)
    return {
        "pnr": pnr, "skema": skema, "tvangstype": tvangstype, "begrundelse": begrundelse,
        # as core defines it: only a belt fixation with begrundelse frivillig is voluntary
        "voluntary": tvangstype == "baelte" and begrundelse == "frivillig",
        "psychiatry": psychiatry, "start_ts": start_ts, "end_ts": None, "start_date": start_ts.date(),
        "region": region, "source_year": start_ts.year,
    }


COERCION = [
    measure("vol_belt", "2020-03-01 10:00", 3, "baelte", begrundelse="frivillig"),
    measure("vol_med", "2020-03-01 10:00", 2, "tvangsmedicinering", begrundelse="frivillig"),
    measure("form45", "2020-03-01 10:00", 4, "personlig_skaermning"),
    measure("form45", "2020-04-01 10:00", 5, "udskrivningsaftale"),
    measure("somatik", "2020-03-01 10:00", 3, "baelte", psychiatry=False),
    # child: 17 at the first counted measure (born 2002-06-01), 18 at the second -> children
    measure("child", "2020-05-31 10:00", 3, "baelte"),
    measure("child", "2020-07-01 10:00", 1, "tvangstilbageholdelse"),
    # form 4 at 17, first counted (form 1-3) measure at 18 -> adults
    measure("late", "2020-05-01 10:00", 4, "doeraflaasning"),
    measure("late", "2020-07-01 10:00", 3, "fastholdelse"),
    # two reporting regions
    measure("tworeg", "2020-02-01 10:00", 1, "tvangsindlaeggelse", region=81),
    measure("tworeg", "2020-02-03 10:00", 3, "baelte", region=85),
    # a measure of 2019 is not in 2020
    measure("prev", "2019-12-31 23:00", 3, "baelte"),
    # N2: belted without an admission
    measure("belt_only", "2020-06-01 10:00", 3, "baelte"),
]

PERSONS = [
    person("vol_belt", "1980-01-01"), person("vol_med", "1980-01-01"), person("form45", "1980-01-01"),
    person("somatik", "1980-01-01"), person("child", "2002-06-01", 2), person("late", "2002-06-01"),
    person("tworeg", "1990-01-01"), person("prev", "1990-01-01"), person("belt_only", "1990-01-01"),
    person("open", "1990-01-01"), person("newyear", "1990-01-01"), person("oldyear", "1990-01-01"),
]
RESIDENCE = [
    {"pnr": "child", "year": 2019, "kom": 851},  # latest bef on or before 2020: 2019 (Aalborg, 81)
    {"pnr": "tworeg", "year": 2020, "kom": 101},
]
STAYS = [
    stay(1, "child", "2020-05-30 10:00", "2020-06-10 10:00"),
    stay(2, "tworeg", "2020-02-01 08:00", "2020-02-20 10:00"),
    stay(3, "open", "2019-11-01 08:00", None),  # open, an admission by data end: overlaps 2020
    stay(4, "newyear", "2019-12-20 08:00", "2020-01-01 00:00"),  # ends on 1 January: overlaps
    stay(5, "oldyear", "2019-12-20 08:00", "2019-12-31 23:59"),  # ends before 2020
    stay(6, "vol_belt", "2020-02-25 08:00", "2020-03-10 10:00"),
    stay(7, "vol_belt", "2020-04-25 08:00", "2020-04-25 10:00", is_admission=False),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    con = make_world(tmp_path_factory.mktemp("coercion"))
    insert(con, "core.coercion", COERCION)
    insert(con, "core.persons", PERSONS)
    insert(con, "core.residence", RESIDENCE)
    insert(con, "core.stays", STAYS)
    return con


def test_p2_measure_units(world):
    rows = run_units(world, "p2_tvang_personer", [2020])
    got = {
        (r["pnr"], r["tvangstype"]): (*outcome(r), r["counted_coercion"], r["form"])
        for r in rows.values()
    }
    assert got == {
        ("vol_belt", "baelte"): (False, False, "voluntary_belt", False, 3),
        ("vol_med", "tvangsmedicinering"): (True, True, None, True, 2),
        ("form45", "personlig_skaermning"): (True, True, None, False, 4),
        ("form45", "udskrivningsaftale"): (True, True, None, False, 5),
        ("somatik", "baelte"): (False, False, "not_psychiatry", False, 3),
        ("child", "baelte"): (True, True, None, True, 3),
        ("child", "tvangstilbageholdelse"): (True, True, None, True, 1),
        ("late", "doeraflaasning"): (True, True, None, False, 4),
        ("late", "fastholdelse"): (True, True, None, True, 3),
        ("tworeg", "tvangsindlaeggelse"): (True, True, None, True, 1),
        ("tworeg", "baelte"): (True, True, None, True, 3),
        ("belt_only", "baelte"): (True, True, None, True, 3),
    }


def test_p2_persons_age_split_and_regions(world):
    rows = list(run_units(world, "p2_tvang_personer", [2020]).values())
    persons = {r["pnr"] for r in rows if r["counted_coercion"]}
    # form 4/5 only, voluntary belt only and somatic only never make a person
    assert persons == {"vol_med", "child", "late", "tworeg", "belt_only"}
    groups = {r["pnr"]: (r["age"], r["age_group"]) for r in rows}
    assert groups["child"] == (17, "children")  # 17 at the first counted measure, 18 later
    assert groups["late"] == (18, "adults")  # the form-4 measure at 17 does not decide
    child_rows = [r for r in rows if r["pnr"] == "child"]
    assert {(r["kom"], r["region_code"]) for r in child_rows} == {(851, 81)}  # latest earlier bef
    tworeg = {r["reporting_region"] for r in rows if r["pnr"] == "tworeg"}
    assert tworeg == {81, 85}
    assert {r["region_code"] for r in rows if r["pnr"] == "tworeg"} == {84}
    assert len({r["unit_id"] for r in rows}) == len(rows)


def test_n2_two_separate_counts(world):
    rows = run_units(world, "n2_baeltefiksering", [2020])
    got = {unit_id: (r["in_denominator"], r["in_numerator"]) for (unit_id, _), r in rows.items()}
    assert got == {
        "child": (True, True),  # belted and admitted
        "tworeg": (True, True),
        "belt_only": (False, True),  # belted, not admitted: counted in the numerator all the same
        "open": (True, False),  # open admission from 2019
        "newyear": (True, False),  # ends 1 January 2020
        "vol_belt": (True, False),  # a voluntary belt is no belt fixation; admitted by stay 6
    }
    # not units: late (fastholdelse is no belt, no admission), somatik (belt in somatics), prev (2019
    # belt), oldyear (admission ended 2019-12-31), stay 7 (< 12 h)
