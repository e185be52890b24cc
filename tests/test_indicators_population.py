"""P3 (suicide and attempts), N7 (youth education), N8 (excess mortality), I2 (somatic care among
psychiatric inpatients), P1 (survey) and N5/N6 (LUP) on hand-built core worlds. Expected unit rows are
written by hand from INDICATORS.md."""

import pytest
from test_indicators_support import contact, d, insert, make_world, outcome, person, run_units, stay


@pytest.fixture()
def con(tmp_path):
    return make_world(tmp_path)


def test_p3_population_numerator_and_lookback(con):
    insert(con, "core.contacts", [
        contact("L3:1", "suicide", "2019-05-01 10:00", source_year=2019),
        contact("L3:2", "attempt_b", "2020-02-01 10:00"),
        contact("L3:3", "attempt_b", "2020-06-01 10:00", psychiatric=False),  # somatic, DX610 as B
        contact("L3:4", "quiet", "2019-01-01 10:00"),  # in the 2019 and 2020 populations
        contact("L3:5", "assault", "2020-01-05 10:00"),  # dies of DX850: outside DX60-DX84
        contact("L3:6", "attempt_a", "2020-03-01 10:00"),  # action diagnosis DX84
        contact("L3:7", "dec31", "2019-12-31 23:00"),  # self-harm on 31 Dec 2019: a 2019 attempt
        contact("L3:8", "somatic_only", "2020-03-01 10:00", psychiatric=False),
    ])
    insert(con, "core.diagnoses", [
        {"contact_id": "L3:3", "code": "DX610", "diag_type": "B"},
        {"contact_id": "L3:6", "code": "DX84", "diag_type": "A"},
        {"contact_id": "L3:7", "code": "DX600", "diag_type": "A"},
        {"contact_id": "L3:8", "code": "DX700", "diag_type": "A"},
    ])
    insert(con, "core.deaths", [
        {"pnr": "suicide", "doddato": d("2020-03-01"), "c_dodsaarsag": "dx700"},
        {"pnr": "assault", "doddato": d("2020-04-01"), "c_dodsaarsag": "DX850"},
        {"pnr": "somatic_only", "doddato": d("2020-04-01"), "c_dodsaarsag": "DX700"},
    ])
    insert(con, "core.persons", [person("suicide", "1980-01-01"), person("attempt_b", "2003-12-31", 2)])
    rows = run_units(con, "p3_selvmord", [2019, 2020])
    got = {k: (r["in_numerator"], r["suicide"], r["attempt"], r["flags"]) for k, r in rows.items()}
    lookback = "incomplete_lookback"  # 2019: the look-back year 2018 is before the first LPR year 2019
    assert got == {
        ("suicide", 2019): (False, False, False, lookback),
        ("quiet", 2019): (False, False, False, lookback),
        ("dec31", 2019): (True, False, True, lookback),
        ("suicide", 2020): (True, True, False, None),
        ("attempt_b", 2020): (True, False, True, None),
        ("quiet", 2020): (False, False, False, None),
        ("assault", 2020): (False, False, False, None),
        ("attempt_a", 2020): (True, False, True, None),
        ("dec31", 2020): (False, False, False, None),
    }
    assert all(r["in_denominator"] for r in rows.values())
    # age on 31 December: born 2003-12-31 -> 17 on 2020-12-31
    assert (rows[("attempt_b", 2020)]["age"], rows[("attempt_b", 2020)]["age_group"]) == (17, "children")


def test_n7_population_and_completion(con):
    born = "1995-03-01"  # turns 25 in 2020; 15th birthday 2010-03-01, 25th 2020-03-01
    people = ["ill", "before15", "at25", "day_before25", "noedu", "grund", "ukendt", "notbef"]
    insert(con, "core.persons", [person(p, born) for p in people] + [person("born96", "1996-01-01")])
    insert(con, "core.residence", [{"pnr": p, "year": 2020, "kom": 851} for p in people if p != "notbef"]
           + [{"pnr": "notbef", "year": 2019, "kom": 851}, {"pnr": "born96", "year": 2020, "kom": 851}])
    insert(con, "core.contacts", [
        contact("L2:1", "ill", "2010-03-01 10:00"),  # on the 15th birthday: counts
        contact("L2:2", "before15", "2010-02-28 10:00"),  # the day before: does not
        contact("L3:3", "at25", "2020-03-01 10:00"),  # on the 25th birthday: does not
        contact("L3:4", "day_before25", "2020-02-29 10:00"),  # the day before: counts
        contact("L3:5", "noedu", "2015-01-01 10:00"),
        contact("L3:6", "grund", "2015-01-01 10:00"),
        contact("L3:7", "ukendt", "2015-01-01 10:00", psychiatric=False),
        contact("L3:8", "notbef", "2015-01-01 10:00"),
    ])
    insert(con, "core.education", [
        {"pnr": "ill", "year": 2020, "hfaudd_niveau": "gymnasial"},
        {"pnr": "before15", "year": 2020, "hfaudd_niveau": "erhvervsfaglig"},
        {"pnr": "day_before25", "year": 2019, "hfaudd_niveau": "gymnasial"},  # another year: no
        {"pnr": "grund", "year": 2020, "hfaudd_niveau": "grundskole"},
        {"pnr": "ukendt", "year": 2020, "hfaudd_niveau": "ukendt"},
    ])
    rows = run_units(con, "n7_uddannelse", [2020])
    got = {u: (r["psychiatric_contact"], r["in_numerator"]) for (u, _), r in rows.items()}
    assert got == {
        "ill": (True, True),
        "before15": (False, True),
        "at25": (False, False),
        "day_before25": (True, False),
        "noedu": (True, False),
        "grund": (True, False),
        "ukendt": (False, False),
    }
    assert all(r["in_denominator"] and r["flags"] is None for r in rows.values())


def test_n8_expected_deaths(con):
    bef = {"m1": "1977-06-01", "m2": "1978-06-01", "m3": "1979-06-01", "m4": "1976-01-02",  # 40-44
           "m5": "1975-01-01",  # 45 on 1 January 2020: band 45-49
           "f1": "1937-06-01", "f2": "1938-06-01",  # 80-84
           "old": "1930-01-01"}  # 90: band 85+
    insert(con, "core.persons", [person(p, b, 2 if p.startswith("f") or p == "old" else 1) for p, b in bef.items()])
    insert(con, "core.residence", [{"pnr": p, "year": 2020, "kom": 101} for p in bef])
    insert(con, "core.deaths", [{"pnr": "m1", "doddato": d("2020-05-01")}, {"pnr": "f1", "doddato": d("2020-12-31")},
                                {"pnr": "old", "doddato": d("2020-01-01")}])
    insert(con, "core.contacts", [
        contact("L2:1", "m1", "2017-01-01 10:00"),
        contact("L3:2", "m2", "2019-12-31 10:00"),
        contact("L2:3", "m3", "2014-12-31 10:00"),  # Y-6: outside the look-back
        contact("L3:4", "m4", "2020-01-01 10:00"),  # Y: outside the look-back
        contact("L3:5", "m5", "2019-01-01 10:00"),
        contact("L2:6", "f1", "2015-01-01 10:00"),  # Y-5: inside
        contact("L2:7", "old", "2016-01-01 10:00"),
        contact("L2:8", "f2", "2016-01-01 10:00", psychiatric=False),
    ])
    rows = run_units(con, "n8_overdoedelighed", [2020])
    got = {u: (r["in_numerator"], r["value"], r["age_group"]) for (u, _), r in rows.items()}
    # men 40-44: 4 members, 1 death -> 0.25; women 80-84: 2 members, 1 death -> 0.5;
    # men 45-49: 1 member, 0 deaths -> 0; women 85+: 1 member, 1 death -> 1
    assert got == {
        "m1": (True, 0.25, "40-44"),
        "m2": (False, 0.25, "40-44"),
        "m5": (False, 0.0, "45-49"),
        "f1": (True, 0.5, "80-84"),
        "old": (True, 1.0, "85+"),
    }
    assert all(r["flags"] is None for r in rows.values())  # first LPR year 2014 <= 2015


def test_i2_somatic_contact(con):
    insert(con, "core.stays", [
        stay(1, "yes", "2020-02-01 10:00", "2020-02-10 10:00"),
        stay(2, "virtual", "2020-02-01 10:00", "2020-02-10 10:00"),
        stay(3, "psych_only", "2019-12-01 10:00", None),
        stay(4, "prev", "2020-02-01 10:00", "2020-02-10 10:00"),
        stay(5, "not_admitted", "2020-02-01 10:00", "2020-02-01 11:00", is_admission=False),
    ])
    insert(con, "core.contacts", [
        contact("L3:1", "yes", "2020-05-01 10:00", psychiatric=False),
        contact("L3:2", "virtual", "2020-05-01 10:00", psychiatric=False, physical=False),
        contact("L3:3", "psych_only", "2020-05-01 10:00"),
        contact("L3:4", "prev", "2019-12-31 23:00", psychiatric=False),
        contact("L3:5", "not_admitted", "2020-05-01 10:00", psychiatric=False),
    ])
    rows = run_units(con, "i2_somatisk_kontakt", [2020])
    assert {u: outcome(r) for (u, _), r in rows.items()} == {
        "yes": (True, True, None),
        "virtual": (True, False, None),
        "psych_only": (True, False, None),
        "prev": (True, False, None),
    }


def test_p1_survey_units(con):
    insert(con, "core.survey", [
        {"respondent_id": "r1", "year": 2017, "alder": 16, "koen": 2, "kom": 101, "mcs": 35.75, "vaegt": 2.0},
        {"respondent_id": "r2", "year": 2017, "alder": 24, "koen": 1, "kom": 101, "mcs": 35.76, "vaegt": 1.5},
        {"respondent_id": "r3", "year": 2017, "alder": 25, "koen": 1, "kom": 851, "mcs": 20.0, "vaegt": 0.5},
        {"respondent_id": "r4", "year": 2017, "alder": 15, "koen": 1, "kom": 851, "mcs": 20.0, "vaegt": 1.0},
        {"respondent_id": "r5", "year": 2017, "alder": 30, "koen": 1, "kom": 851, "mcs": None, "vaegt": 1.0},
        {"respondent_id": "r6", "year": 2016, "alder": 30, "koen": 1, "kom": 851, "mcs": 1.0, "vaegt": 1.0},
    ])
    rows = run_units(con, "p1_ung_mental_sundhed", [2017])
    got = {u: (*outcome(r), r["age_group"], r["weight"]) for (u, _), r in rows.items()}
    assert got == {
        "r1": (True, True, None, "16-24", 2.0),
        "r2": (True, False, None, "16-24", 1.5),  # exactly at the cut-off is not below
        "r3": (True, True, None, "25+", 0.5),
        "r4": (False, False, "under_min_age", "under_16", 1.0),
        "r5": (False, False, "mcs_missing", "25+", 1.0),
    }
    assert rows[("r3", 2017)]["region_code"] == 81


@pytest.mark.parametrize(("indicator", "column"), [("n5_tilfredshed", "tilfredshed"), ("n6_inddragelse", "inddragelse")])
def test_lup_answers(con, indicator, column):
    other = "inddragelse" if column == "tilfredshed" else "tilfredshed"
    answers = {"a5": 5, "a4": 4, "a3": 3, "a1": 1, "dk": None, "bad": 7}
    insert(con, "core.lup", [
        {"respondent_id": rid, "year": 2022, "region": 85, "maalgruppe": "bu_indlagt" if rid == "a5" else "voksen_ambulant",
         column: answer, other: 5}
        for rid, answer in answers.items()
    ])
    rows = run_units(con, indicator, [2022])
    assert {u: outcome(r) for (u, _), r in rows.items()} == {
        "a5": (True, True, None),
        "a4": (True, True, None),
        "a3": (True, False, None),
        "a1": (True, False, None),
        "dk": (False, False, "dont_know"),
        "bad": (False, False, "invalid_answer"),
    }
    assert rows[("a5", 2022)]["age_group"] == "children" and rows[("a4", 2022)]["age_group"] == "adults"
    assert {(r["region_code"], r["region2027_code"]) for r in rows.values()} == {(85, 86)}
