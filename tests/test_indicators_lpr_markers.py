"""N1 (faerdigbehandlingsdage), N3 (waiting time) and N4 (right to assessment) on a hand-built core world
of contacts, courses and markers of both LPR generations. Expected unit rows are written by hand."""

import pytest
from test_indicators_support import contact, d, insert, make_world, outcome, person, run_units, stay


def marker(meaning, day, *, contact_id=None, course_id=None):
    return {
        "generation": "LPR3" if course_id else "LPR2",
        "contact_id": contact_id,
        "course_id": course_id,
        "meaning": meaning,
        "marker_date": d(day),
    }


FB, DONE, JUST = "faerdigbehandlet", "udredning_afsluttet", "udredning_fristbrud_begrundet"

# --- N1 -------------------------------------------------------------------------------------------------
N1_STAYS = [
    stay(1, "l3", "2020-03-01 10:00", "2020-03-20 10:00"),  # two markers on the course: earliest counts
    stay(2, "l2", "2018-05-01 10:00", "2018-05-11 22:00"),  # LPR2 marker on the discharge date: 0 days
    stay(3, "before", "2020-03-01 10:00", "2020-03-20 10:00"),  # marker before the stay: not a unit
    stay(4, "on_start", "2020-06-01 08:00", "2020-06-11 08:00"),  # marker on the start date: 10 days
    stay(5, "other", "2020-06-01 08:00", "2020-06-30 08:00"),  # only another meaning
    stay(6, "open", "2020-06-01 08:00", None),  # open: never a unit
    stay(7, "l3b", "2020-07-01 08:00", "2020-07-12 23:00"),  # marker on the start date: 11 days
]
N1_CONTACTS = [
    contact("L3:1", "l3", "2020-03-01 10:00", "2020-03-20 10:00", course_id="K1"),
    contact("L2:2", "l2", "2018-05-01 10:00", "2018-05-11 22:00"),
    contact("L3:3", "before", "2020-03-01 10:00", "2020-03-20 10:00", course_id="K3"),
    contact("L3:4", "on_start", "2020-06-01 08:00", "2020-06-11 08:00", course_id="K4"),
    contact("L3:5", "other", "2020-06-01 08:00", "2020-06-30 08:00", course_id="K5"),
    contact("L3:6", "open", "2020-06-01 08:00", None, course_id="K6"),
    contact("L3:7", "l3b", "2020-07-01 08:00", "2020-07-12 23:00", course_id="K7"),
]
N1_STAY_CONTACTS = [{"stay_id": i, "contact_id": c} for i, c in
                    [(1, "L3:1"), (2, "L2:2"), (3, "L3:3"), (4, "L3:4"), (5, "L3:5"), (6, "L3:6"), (7, "L3:7")]]
N1_MARKERS = [
    marker(FB, "2020-03-08", course_id="K1"),
    marker(FB, "2020-03-05", course_id="K1"),
    marker(FB, "2018-05-11", contact_id="L2:2"),
    marker(FB, "2020-02-28", course_id="K3"),
    marker(FB, "2020-06-01", course_id="K4"),
    marker(DONE, "2020-06-10", course_id="K5"),
    marker(FB, "2020-06-10", course_id="K6"),
    marker(FB, "2020-07-01", course_id="K7"),
]
# unit -> (value = days, over_10_days)
N1_EXPECTED = {("1", 2020): (15.0, True), ("2", 2018): (0.0, False), ("4", 2020): (10.0, False),
               ("7", 2020): (11.0, True)}

# --- N3 -------------------------------------------------------------------------------------------------
N3_CONTACTS = [
    # K10: first contact planned psychiatric with referral 2020-01-01, starts 2020-02-10 -> 40 days
    contact("L3:10a", "a18", "2020-02-10 09:00", "2020-02-10 10:00", planned=True, course_id="K10",
            referral="2020-01-01"),
    contact("L3:10b", "a18", "2020-03-01 09:00", "2020-03-01 10:00", planned=True, course_id="K10",
            referral="2020-01-01"),
    # K11: first contact acute -> no unit, although the second one is planned with a referral
    contact("L3:11a", "b", "2020-02-01 09:00", "2020-02-01 10:00", acute=True, course_id="K11"),
    contact("L3:11b", "b", "2020-02-05 09:00", "2020-02-05 10:00", planned=True, course_id="K11",
            referral="2020-01-01"),
    # K12: first contact somatic -> no unit
    contact("L3:12a", "b", "2020-02-01 09:00", "2020-02-01 10:00", psychiatric=False, planned=True,
            course_id="K12", referral="2020-01-01"),
    contact("L3:12b", "b", "2020-02-05 09:00", None, planned=True, course_id="K12", referral="2020-01-01"),
    # K13: first contact without a referral date -> no unit
    contact("L3:13a", "b", "2020-02-01 09:00", None, planned=True, course_id="K13"),
    # K14: referral after the first contact -> negative wait, left out
    contact("L3:14a", "c", "2020-01-05 09:00", None, planned=True, course_id="K14", referral="2020-01-10"),
    # K15: a virtual first contact counts (any type); referral in 2019, year = year of the contact
    contact("L3:15a", "a19", "2020-01-02 09:00", None, physical=False, planned=True, course_id="K15",
            referral="2019-12-20"),
    # K16: first contact in 2019 -> a 2019 unit
    contact("L3:16a", "c", "2019-12-30 09:00", None, planned=True, course_id="K16", referral="2019-12-01"),
    # LPR2: per person and referral date, the earliest planned psychiatric contact
    contact("L2:20", "l2", "2018-03-11 09:00", "2018-03-11 10:00", planned=True, referral="2018-03-01"),
    contact("L2:21", "l2", "2018-03-05 09:00", "2018-03-05 10:00", planned=True, referral="2018-03-01"),
    contact("L2:22", "l2", "2018-03-02 09:00", "2018-03-02 10:00", acute=True, referral="2018-03-01"),
    contact("L2:23", "l2", "2018-04-01 09:00", "2018-04-01 10:00", planned=True, referral="2018-04-01"),
]
N3_PERSONS = [person("a18", "2001-06-01"), person("a19", "2001-01-01", 2), person("b", "1990-01-01"),
              person("c", "1990-01-01"), person("l2", "1990-01-01")]
# unit -> (in_denominator, in_numerator, exclusion_reason, value)
N3_EXPECTED = {
    ("L3:K10", 2020): (True, True, None, 40.0),
    ("L3:K14", 2020): (False, False, "negative_wait", -5.0),
    ("L3:K15", 2020): (True, True, None, 13.0),
    ("L3:K16", 2019): (True, True, None, 29.0),
    ("L2:l2:2018-03-01", 2018): (True, True, None, 4.0),
    ("L2:l2:2018-04-01", 2018): (True, True, None, 0.0),
}

# --- N4 -------------------------------------------------------------------------------------------------
N4_CONTACTS = [
    # K20: referral dates 2020-01-03 and 2020-01-01 on later contacts -> 2020-01-01; marker 30 days later
    contact("L3:20a", "p", "2020-01-10 09:00", None, course_id="K20"),
    contact("L3:20b", "p", "2020-01-15 09:00", None, course_id="K20", referral="2020-01-03"),
    contact("L3:20c", "p", "2020-01-20 09:00", None, course_id="K20", referral="2020-01-01"),
    contact("L3:21a", "p", "2020-01-10 09:00", None, course_id="K21", referral="2020-01-01"),
    contact("L3:22a", "p", "2020-01-10 09:00", None, course_id="K22", referral="2020-01-01"),
    contact("L3:23a", "p", "2020-01-10 09:00", None, course_id="K23"),
    contact("L3:24a", "p", "2020-01-10 09:00", None, course_id="K24"),
    contact("L3:25a", "p", "2020-01-10 09:00", None, psychiatric=False, course_id="K25", referral="2020-01-01"),
    contact("L3:25b", "p", "2020-01-11 09:00", None, course_id="K25", referral="2020-01-01"),
    contact("L3:26a", "child", "2019-11-10 09:00", None, course_id="K26", referral="2019-11-01"),
    contact("L2:30", "p", "2018-01-10 09:00", None, referral="2018-01-01"),
]
N4_MARKERS = [
    marker(DONE, "2020-03-01", course_id="K20"),
    marker(DONE, "2020-01-31", course_id="K20"),  # earliest in the year decides: 30 days
    marker(DONE, "2020-02-01", course_id="K21"),  # 31 days
    marker(DONE, "2020-03-01", course_id="K22"),
    marker(JUST, "2020-01-20", course_id="K22"),  # justified
    marker(DONE, "2020-02-01", course_id="K23"),  # no referral date, not justified
    marker(DONE, "2020-02-01", course_id="K24"),
    marker(JUST, "2020-01-25", course_id="K24"),  # no referral date, justified
    marker(DONE, "2020-02-01", course_id="K25"),  # first contact somatic: no unit
    marker(DONE, "2019-11-20", course_id="K26"),  # a 2019 unit and ...
    marker(DONE, "2020-01-20", course_id="K26"),  # ... a 2020 unit (80 days, not met)
    marker(DONE, "2018-01-31", contact_id="L2:30"),
]
N4_PERSONS = [person("p", "1990-01-01"), person("child", "2001-06-01")]
# unit -> (in_numerator, value)
N4_EXPECTED = {
    ("L3:K20", 2020): (True, 30.0),
    ("L3:K21", 2020): (False, 31.0),
    ("L3:K22", 2020): (True, 60.0),
    ("L3:K23", 2020): (False, None),
    ("L3:K24", 2020): (True, None),
    ("L3:K26", 2019): (True, 19.0),
    ("L3:K26", 2020): (False, 80.0),
    ("L2:p:2018-01-01", 2018): (True, 30.0),
    # from the N1 world: course K5 (psychiatric, no referral date) has an udredning_afsluttet marker
    ("L3:K5", 2020): (False, None),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    con = make_world(tmp_path_factory.mktemp("markers"))
    insert(con, "core.stays", N1_STAYS)
    insert(con, "core.contacts", N1_CONTACTS + N3_CONTACTS + N4_CONTACTS)
    insert(con, "core.stay_contacts", N1_STAY_CONTACTS)
    insert(con, "core.markers", N1_MARKERS + N4_MARKERS)
    insert(con, "core.persons", N3_PERSONS + N4_PERSONS)
    return con


def test_n1_units(world):
    rows = run_units(world, "n1_faerdigbehandlingsdage", [2018, 2019, 2020])
    assert {k: (r["value"], r["over_10_days"]) for k, r in rows.items()} == N1_EXPECTED
    assert all(outcome(r) == (True, True, None) for r in rows.values())


def test_n3_units(world):
    rows = run_units(world, "n3_ventetid", [2018, 2019, 2020])
    assert {k: (*outcome(r), r["value"]) for k, r in rows.items()} == N3_EXPECTED
    # age at referral: 18 (born 2001-06-01, referred 2020-01-01) is a child, 19 an adult
    assert (rows[("L3:K10", 2020)]["age"], rows[("L3:K10", 2020)]["age_group"]) == (18, "children")
    assert (rows[("L3:K15", 2020)]["age"], rows[("L3:K15", 2020)]["age_group"]) == (18, "children")
    # 2020 values in the denominator: 40 and 13 -> an even count, median (13 + 40) / 2 = 26.5
    values = sorted(r["value"] for (_, y), r in rows.items() if y == 2020 and r["in_denominator"])
    assert values == [13.0, 40.0]


def test_n4_units(world):
    rows = run_units(world, "n4_udredningsret", [2018, 2019, 2020])
    assert {k: (r["in_numerator"], r["value"]) for k, r in rows.items()} == N4_EXPECTED
    assert all(r["in_denominator"] and r["exclusion_reason"] is None for r in rows.values())
    assert (rows[("L3:K26", 2019)]["age"], rows[("L3:K26", 2019)]["age_group"]) == (18, "children")
    assert rows[("L3:K23", 2020)]["no_referral_date"] and rows[("L3:K24", 2020)]["justified"]
