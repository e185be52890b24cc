"""P4 (acute psychiatric readmission) and I1 (acute somatic admission after psychiatric discharge):
boundary cases on a hand-built core world with hand-written expected unit rows."""

import pytest
from test_indicators_support import d, insert, make_world, outcome, person, run_units, stay

# data end 2021-12-31 -> discharges dated after 2021-12-01 are outside follow-up
DATA_END = d("2021-12-31")

STAYS = [
    # a: readmission exactly 720 h after the index end counts; the readmission is itself an index
    stay(1, "a", "2020-03-01 08:00", "2020-03-10 10:00"),
    stay(2, "a", "2020-04-09 10:00", "2020-04-15 10:00"),
    # b: 720 h + 1 min is too late
    stay(3, "b", "2020-03-01 08:00", "2020-03-10 10:00"),
    stay(4, "b", "2020-04-09 10:01", "2020-04-15 10:00"),
    # c: a readmission starting at the index end is not strictly after it
    stay(5, "c", "2020-04-20 08:00", "2020-05-01 12:00"),
    stay(6, "c", "2020-05-01 12:00", "2020-05-05 12:00"),
    # d: death on discharge date + 30 with no readmission -> left out
    stay(7, "d", "2020-05-20 08:00", "2020-06-01 10:00"),
    # d31: death on discharge date + 31 -> in the denominator, not readmitted
    stay(8, "d31", "2020-05-20 08:00", "2020-06-01 10:00"),
    # e: readmission starting on the date of death counts; the readmission ends with the death
    stay(9, "e", "2020-05-20 08:00", "2020-06-01 10:00"),
    stay(10, "e", "2020-06-20 09:00", "2020-06-20 21:00"),
    # f: death on the discharge date = the stay ended with the death
    stay(11, "f", "2020-06-20 09:00", "2020-07-01 21:00"),
    # g: discharge dated data end - 30 days is followed up; one day later is not
    stay(12, "g", "2021-11-20 09:00", "2021-12-01 21:00"),
    stay(13, "g", "2021-11-25 09:00", "2021-12-02 08:00", acute=False),
    # h17/h18: age at discharge 17 (children) and 18 (adults): both born 2003-05-10
    stay(14, "h17", "2021-05-01 09:00", "2021-05-09 10:00"),
    stay(15, "h18", "2021-05-01 09:00", "2021-05-10 10:00"),
    # i: a planned (not acute) readmission does not count
    stay(16, "i", "2020-08-01 08:00", "2020-08-05 08:00"),
    stay(17, "i", "2020-08-10 08:00", "2020-08-20 08:00", acute=False),
    # j: an open stay is never an index, but an open admission is a readmission
    stay(18, "j", "2021-10-01 08:00", "2021-10-10 08:00"),
    stay(19, "j", "2021-10-20 08:00", None),
    # k: an acute somatic admission: not a P4 readmission, an I1 event
    stay(20, "k", "2020-09-01 08:00", "2020-09-05 08:00"),
    stay(21, "k", "2020-09-06 08:00", "2020-09-08 08:00", psychiatric=False),
    # l: person missing from bef -> unknown sex and age; a following non-admission (< 12 h) is no readmission
    stay(22, "l", "2020-10-01 08:00", "2020-10-05 08:00", kom=None),
    stay(23, "l", "2020-10-06 08:00", "2020-10-06 10:00", is_admission=False),
    # m: not an admission (< 12 h) is never an index; a somatic stay is never an index
    stay(24, "m", "2020-10-01 08:00", "2020-10-01 19:59", is_admission=False),
    stay(25, "m", "2020-10-03 08:00", "2020-10-05 19:59", psychiatric=False),
    # y: the index year is the year of the end (ends 2019-12-31 23:00 -> 2019, outside the run)
    stay(26, "y", "2019-12-20 08:00", "2019-12-31 23:00"),
    stay(27, "y", "2020-01-02 08:00", "2020-01-05 08:00"),
]

PERSONS = [
    person("a", "1980-01-01"), person("b", "1980-01-01", 2), person("c", "1980-01-01"),
    person("d", "1950-01-01"), person("d31", "1950-01-01"), person("e", "1950-01-01"),
    person("f", "1950-01-01"), person("g", "1990-06-15"), person("h17", "2003-05-10"),
    person("h18", "2003-05-10", 2), person("i", "2008-01-01"), person("j", "1970-01-01"),
    person("k", "1960-01-01"), person("m", "1960-01-01"), person("y", "1960-01-01"),
]

DEATHS = [
    {"pnr": "d", "doddato": d("2020-07-01")},  # 2020-06-01 + 30 days
    {"pnr": "d31", "doddato": d("2020-07-02")},  # + 31 days
    {"pnr": "e", "doddato": d("2020-06-20")},
    {"pnr": "f", "doddato": d("2020-07-01")},
]

# (in_denominator, in_numerator, exclusion_reason) per stay id, written by hand from INDICATORS.md
P4_EXPECTED = {
    "1": (True, True, None),  # exactly 720 h
    "2": (True, False, None),
    "3": (True, False, None),  # 720 h + 1 min
    "4": (True, False, None),
    "5": (True, False, None),  # readmission at the index end: not strictly after
    "6": (True, False, None),
    "7": (False, False, "died_within_30_days"),
    "8": (True, False, None),
    "9": (True, True, None),  # readmitted on the date of death
    "10": (False, False, "died_during_stay"),
    "11": (False, False, "died_during_stay"),
    "12": (True, False, None),  # discharged on data end - 30; the 2021-12-02 stay is planned
    "13": (False, False, "follow_up_after_data_end"),
    "14": (True, False, None),
    "15": (True, False, None),
    "16": (True, False, None),  # planned readmission
    "17": (True, False, None),
    "18": (True, True, None),  # open admission 10 days later
    "20": (True, False, None),  # somatic follow-up only
    "22": (True, False, None),
    "27": (True, False, None),
}
# I1: the same index stays; the event is an acute somatic admission within 720 h
I1_EXPECTED = {**{k: (v[0], False, v[2]) for k, v in P4_EXPECTED.items()}, "20": (True, True, None)}
# the death rule reads "acute somatic admission": e has no somatic admission -> died within 30 days
I1_EXPECTED["9"] = (False, False, "died_within_30_days")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    con = make_world(tmp_path_factory.mktemp("readmission"))
    insert(con, "core.stays", STAYS)
    insert(con, "core.persons", PERSONS)
    insert(con, "core.deaths", DEATHS)
    insert(con, "core.data_end", [{"data_end": DATA_END}])
    return con


@pytest.mark.parametrize(("indicator", "expected"), [("p4_genindlaeggelse", P4_EXPECTED),
                                                     ("i1_somatisk_efter_psykiatrisk", I1_EXPECTED)])
def test_unit_outcomes(world, indicator, expected):
    rows = run_units(world, indicator, [2020, 2021])
    got = {unit_id: outcome(r) for (unit_id, _), r in rows.items()}
    assert got == expected


def test_age_sex_year_and_geography(world):
    rows = run_units(world, "p4_genindlaeggelse", [2020, 2021])
    assert rows[("14", 2021)]["age"] == 17 and rows[("14", 2021)]["age_group"] == "children"
    assert rows[("15", 2021)]["age"] == 18 and rows[("15", 2021)]["age_group"] == "adults"
    assert rows[("14", 2021)]["std_band"] == "13-17" and rows[("15", 2021)]["std_band"] == "18-29"
    assert rows[("15", 2021)]["sex"] == "female"
    unknown = rows[("22", 2020)]
    assert (unknown["sex"], unknown["age"], unknown["age_group"], unknown["std_band"]) == (
        "unknown", None, "unknown", "unknown")
    assert unknown["kom"] is None and unknown["region_code"] is None
    # kom 101 Koebenhavn: region 84 Hovedstaden, 2027 region 86 Oestdanmark
    a = rows[("1", 2020)]
    assert (a["kom"], a["region_code"], a["region2027_code"]) == (101, 84, 86)
    assert a["hours_to_follow"] == 720.0 and a["weight"] == 1.0
    assert {y for (_, y) in rows} == {2020, 2021}


def test_rerun_replaces_only_its_years(world):
    run_units(world, "p4_genindlaeggelse", [2020, 2021])
    before = world.execute("select year, count(*) from units.p4_genindlaeggelse group by 1 order by 1").fetchall()
    world.execute("delete from core.stays where stay_id = 27").fetchall()
    run_units(world, "p4_genindlaeggelse", [2020])
    after = world.execute("select year, count(*) from units.p4_genindlaeggelse group by 1 order by 1").fetchall()
    # 2020: stays 1-11, 16, 17, 20, 22, 27 = 16 units; 2021: stays 12-15, 18 = 5 units
    assert before == [(2020, 16), (2021, 5)]
    assert after == [(2020, 15), (2021, 5)]
    insert(world, "core.stays", [s for s in STAYS if s["stay_id"] == 27])
